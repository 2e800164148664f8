"""The media worker's upload steps stop as soon as the webcast is gone (decision 0048)."""

from pathlib import Path
from typing import Any

import pytest

from media_pipelines import transcode
from media_pipelines.transcode import MANIFEST, WebcastGoneError
from shared.media.models import MediaResult, TranscodeJob

PREFIX = "t1/w1/a1/"


class RecordingContainer:
    """Stands in for the media container: keeps the names uploaded and deleted."""

    def __init__(self) -> None:
        self.uploaded: list[str] = []

    def upload_blob(self, name: str, data: Any, **_: Any) -> None:
        self.uploaded.append(name)

    def list_blobs(self, **_: Any) -> list[Any]:
        return []


def _output(folder: Path) -> Path:
    for name in ("240p/init.mp4", "240p/seg_00000.m4s", "240p/index.m3u8", "master.m3u8"):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return folder


def _result() -> MediaResult:
    return MediaResult(tenant_id="t1", webcast_id="w1", asset_id="a1", outcome="ready")


def test_an_upload_step_after_the_webcast_went_uploads_nothing_more(tmp_path: Path) -> None:
    media = RecordingContainer()
    checks: list[int] = []

    def gone_after_the_segments() -> None:
        checks.append(1)
        if len(checks) > 1:
            raise WebcastGoneError("w1")

    with pytest.raises(WebcastGoneError):
        transcode._publish(
            media,  # type: ignore[arg-type]
            PREFIX,
            _output(tmp_path),
            fingerprint="f",
            result=_result(),
            before_upload=gone_after_the_segments,
        )
    assert sorted(media.uploaded) == [f"{PREFIX}240p/init.mp4", f"{PREFIX}240p/seg_00000.m4s"]


def test_every_upload_step_asks_first(tmp_path: Path) -> None:
    media = RecordingContainer()
    asked: list[int] = []

    def still_there() -> None:
        asked.append(len(media.uploaded))

    transcode._publish(
        media,  # type: ignore[arg-type]
        PREFIX,
        _output(tmp_path),
        fingerprint="f",
        result=_result(),
        before_upload=still_there,
    )
    # Segments, playlists, master, manifest: each step asked before it uploaded.
    assert asked == [0, 2, 3, 4]
    assert media.uploaded[-2:] == [f"{PREFIX}master.m3u8", f"{PREFIX}{MANIFEST}"]


def test_a_job_of_a_gone_webcast_deletes_its_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    deleted: list[tuple[str, str]] = []

    def delete_prefix(container: str, prefix: str) -> int:
        deleted.append((container, prefix))
        return 0

    monkeypatch.setattr(transcode, "is_gone", lambda **_: True)
    monkeypatch.setattr(transcode, "delete_prefix", delete_prefix)
    job = TranscodeJob(
        tenant_id="t1",
        webcast_id="w1",
        asset_id="a1",
        source_container="uploads",
        source_blob=f"{PREFIX}source",
        output_prefix=PREFIX,
        ladder="tiny",
    )
    with pytest.raises(WebcastGoneError):
        transcode.require_webcast(job)
    assert deleted == [("media", PREFIX)]
