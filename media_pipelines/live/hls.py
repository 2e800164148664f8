"""Uploading a session's live HLS from ffmpeg's output directory to the `live` container.

One thread per rung polls its media playlist. ffmpeg renames a segment into place when it is
complete and then renames the playlist that lists it, so a new playlist names only complete
segments: each new segment is uploaded first, then the playlist. The master playlist goes up
once every rung has a playlist in Blob. Segments that left the window are deleted from Blob
(after as many again), so the container holds the live edge, not the whole stream.
"""

import json
import logging
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from media_pipelines.ladder import Ladder
from media_pipelines.live.ladder import LIST_SIZE, PLAYLIST, output_frame_rate
from media_pipelines.live.master import live_master
from media_pipelines.segments import playlist_segments, read_video_timing
from media_pipelines.tools import ToolFailedError
from shared.clock import utc_iso
from shared.live.models import MASTER_PLAYLIST

log = logging.getLogger("webcast.live.hls")

MPEGURL = "application/vnd.apple.mpegurl"
POLL_SECONDS = 0.05
_RETRY_SECONDS = 1.0
_UPLOAD_ATTEMPTS = 3
_LIVE_PLAYLIST = ContentSettings(content_type=MPEGURL, cache_control="max-age=1")
_FINAL_PLAYLIST = ContentSettings(content_type=MPEGURL, cache_control="max-age=60")
_SEGMENT = ContentSettings(content_type="video/mp2t", cache_control="max-age=86400")
ENDLIST = "#EXT-X-ENDLIST"


PROGRAM_DATE_TIME = "#EXT-X-PROGRAM-DATE-TIME:"


@dataclass
class Playlist:
    media_sequence: int
    segments: list[str]
    durations: list[float]
    ended: bool


def parse_playlist(text: str) -> Playlist | None:
    """A media playlist's window; None for text that is not a whole playlist."""
    if not text.startswith("#EXTM3U") or not text.endswith("\n"):
        return None
    sequence, segments, durations, ended = 0, [], [], False
    duration = 0.0
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line.strip() == ENDLIST:
            ended = True
        elif line and not line.startswith("#"):
            segments.append(line.strip())
            durations.append(duration)
    return Playlist(media_sequence=sequence, segments=segments, durations=durations, ended=ended)


def with_capture_times(text: str, *, media_sequence: int, starts: dict[int, float]) -> str:
    """The playlist with an EXT-X-PROGRAM-DATE-TIME before each segment: `starts` maps a
    media sequence number to the capture time (epoch seconds) of the segment's first frame."""
    lines: list[str] = []
    sequence = media_sequence
    for line in text.splitlines():
        if line.startswith(PROGRAM_DATE_TIME):
            continue
        if line.startswith("#EXTINF:") and sequence in starts:
            lines.append(PROGRAM_DATE_TIME + utc_iso(starts[sequence]))
        if line and not line.startswith("#"):
            sequence += 1
        lines.append(line)
    return "\n".join(lines) + "\n"


class EventLog:
    """JSON lines of upload events (for the benchmark); one file per ingest process."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    def write(self, **event: Any) -> None:
        line = json.dumps(event) + "\n"
        with self._lock, self._path.open("a", encoding="utf-8") as handle:
            handle.write(line)


class LiveOutput:
    """The blobs of one session under `prefix` in the `live` container."""

    def __init__(
        self,
        *,
        container: ContainerClient,
        prefix: str,
        session_id: str,
        ladder: Ladder,
        ffmpeg: str,
        output_dir: Path,
        events: EventLog | None,
        withdrawn: threading.Event | None = None,
        source_frame_rate: Callable[[], float | None] | None = None,
        on_master: Callable[[], None] | None = None,
    ) -> None:
        self.container = container
        self.prefix = prefix
        self.session_id = session_id
        self.ladder = ladder
        self.ffmpeg = ffmpeg
        self.output_dir = output_dir
        self.events = events
        # Set once the webcast is gone: nothing more is uploaded (decision 0048).
        self.withdrawn = withdrawn or threading.Event()
        # The input's frame rate as ffmpeg read it: the rungs' rate follows from it without
        # reading a segment (which would hold the master back by an ffmpeg run per rung).
        self._source_frame_rate = source_frame_rate
        self._on_master = on_master
        self._waiting_rungs = {rung.name for rung in ladder.rungs}
        self._frame_rates: dict[str, float | None] = {}
        self._master_done = False
        self._lock = threading.Lock()
        # When the encoder's stream began (epoch seconds): its segments' program date-times
        # count from it. The ingest subscribes before it accepts a publish (server.py), so the
        # stream's first frame is the output's first frame.
        self.capture_started_at: float | None = None

    @property
    def master_in_blob(self) -> bool:
        """The master playlist is uploaded, after every rung's first playlist: viewers can play."""
        return self._master_done

    def upload(self, name: str, data: bytes, settings: ContentSettings) -> None:
        for attempt in range(_UPLOAD_ATTEMPTS):
            if self.withdrawn.is_set():
                return
            try:
                self.container.upload_blob(
                    f"{self.prefix}{name}", data, overwrite=True, content_settings=settings
                )
                return
            except AzureError:
                if attempt == _UPLOAD_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def delete(self, name: str) -> None:
        try:
            self.container.delete_blob(f"{self.prefix}{name}")
        except ResourceNotFoundError:
            return

    def delete_all(self) -> int:
        """Delete every blob of the session (its webcast is gone); how many went."""
        names = list(self.container.list_blob_names(name_starts_with=self.prefix))
        # Batches of 256, the service's limit; a blob deleted meanwhile is no failure.
        for start in range(0, len(names), 256):
            self.container.delete_blobs(
                *names[start : start + 256], delete_snapshots="include", raise_on_any_failure=False
            )
        return len(names)

    def event(self, kind: str, **fields: Any) -> None:
        if self.events is not None:
            self.events.write(kind=kind, session=self.session_id, **fields)

    def _frame_rate(self, rung: str) -> float | None:
        """The frame rate of the rung's first listed segment; None when it cannot be read
        (FRAME-RATE is left out then: the stream must not wait for it)."""
        source = self._source_frame_rate() if self._source_frame_rate else None
        if source:
            return output_frame_rate(source)
        try:
            segments = playlist_segments((self.output_dir / rung / PLAYLIST).read_text("utf-8"))
            if not segments:
                return None
            segment = self.output_dir / rung / segments[0][1]
            return read_video_timing(self.ffmpeg, segment, fmp4=False).frame_rate
        except (OSError, ValueError, ToolFailedError, subprocess.TimeoutExpired):
            log.warning("no frame rate for rung %s of session %s", rung, self.session_id)
            return None

    def rung_in_blob(self, rung: str) -> None:
        """A rung's playlist is in Blob; the master goes up once all of them are, completed
        by `live_master` (each rung's frame rate is read in its own uploader's thread)."""
        if self._master_done:
            return
        if rung not in self._frame_rates:
            self._frame_rates[rung] = self._frame_rate(rung)
        with self._lock:
            self._waiting_rungs.discard(rung)
            if self._master_done or self._waiting_rungs:
                return
            master = self.output_dir / MASTER_PLAYLIST
            if not master.exists():
                return
            text = live_master(
                master.read_text(encoding="utf-8"),
                ladder=self.ladder,
                frame_rates=self._frame_rates,
            )
            self.upload(MASTER_PLAYLIST, text.encode(), _FINAL_PLAYLIST)
            self._master_done = True
        self.event("master", uploaded=time.time())
        if self._on_master is not None:
            self._on_master()


class RungUploader(threading.Thread):
    """Follows one rung's playlist until `stop`, then uploads its final state (ENDLIST)."""

    def __init__(
        self, *, rung: str, output: LiveOutput, on_segment: Callable[[], None] | None
    ) -> None:
        super().__init__(name=f"live-rung-{rung}", daemon=True)
        self.rung = rung
        self.output = output
        self.directory = output.output_dir / rung
        self.on_segment = on_segment
        self.segments_uploaded = 0
        self.failed = False
        self._stop_event = threading.Event()
        self._signature: tuple[int, int] | None = None
        self._uploaded_text: str | None = None
        self._in_blob: deque[tuple[int, str]] = deque()
        self._known: set[str] = set()
        # (start, end) in seconds from the stream's start of each listed segment, by media
        # sequence number.
        self._spans: dict[int, tuple[float, float]] = {}

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            pause = POLL_SECONDS if self._synced(final=False) else _RETRY_SECONDS
            self._stop_event.wait(pause)
        self.failed = not self._synced(final=True)

    def _synced(self, *, final: bool) -> bool:
        try:
            self.sync(final=final)
        except Exception:
            # Blob trouble: what is not uploaded yet is tried again on the next round.
            log.exception("live rung %s of session %s", self.rung, self.output.session_id)
            return False
        return True

    def sync(self, *, final: bool) -> None:
        path = self.directory / PLAYLIST
        try:
            stat = path.stat()
            signature = (stat.st_mtime_ns, stat.st_size)
            if signature == self._signature and not final:
                return
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        playlist = parse_playlist(text)
        if playlist is None:
            return
        for index, name in enumerate(playlist.segments):
            if name not in self._known:
                self._upload_segment(name, playlist.media_sequence + index)
        text = self._dated(text, playlist)
        if final and not playlist.ended:
            text += ENDLIST + "\n"
        if text != self._uploaded_text:
            self.output.upload(
                f"{self.rung}/{PLAYLIST}",
                text.encode(),
                _FINAL_PLAYLIST if final or playlist.ended else _LIVE_PLAYLIST,
            )
            self._uploaded_text = text
            self.output.event(
                "playlist",
                rung=self.rung,
                segments=len(playlist.segments),
                media_sequence=playlist.media_sequence,
                uploaded=time.time(),
            )
            self.output.rung_in_blob(self.rung)
        self._signature = signature
        self._forget_old(playlist.media_sequence)

    def _dated(self, text: str, playlist: Playlist) -> str:
        """The playlist with program date-times from the stream's capture time."""
        for index, duration in enumerate(playlist.durations):
            sequence = playlist.media_sequence + index
            if sequence not in self._spans:
                # Each segment is seen when it first appears (the playlist is polled far more
                # often than segments end), right after the one before it.
                before = self._spans.get(sequence - 1)
                start = before[1] if before is not None else 0.0
                self._spans[sequence] = (start, start + duration)
        for sequence in [s for s in self._spans if s < playlist.media_sequence - 1]:
            del self._spans[sequence]
        anchor = self.output.capture_started_at
        if anchor is None:
            return text
        starts = {sequence: anchor + span[0] for sequence, span in self._spans.items()}
        return with_capture_times(text, media_sequence=playlist.media_sequence, starts=starts)

    def _upload_segment(self, name: str, sequence: int) -> None:
        path = self.directory / name
        try:
            completed = path.stat().st_mtime
            data = path.read_bytes()
        except FileNotFoundError:
            # ffmpeg deletes segments long out of the window; this one was never caught up.
            log.warning("segment %s/%s vanished before its upload", self.rung, name)
            self._known.add(name)
            return
        self.output.upload(f"{self.rung}/{name}", data, _SEGMENT)
        uploaded = time.time()
        self._known.add(name)
        self._in_blob.append((sequence, name))
        self.segments_uploaded += 1
        self.output.event(
            "segment",
            rung=self.rung,
            name=name,
            bytes=len(data),
            completed=completed,
            uploaded=uploaded,
            uploaded_at=utc_iso(uploaded),
        )
        if self.on_segment is not None:
            self.on_segment()

    def _forget_old(self, media_sequence: int) -> None:
        while self._in_blob and self._in_blob[0][0] < media_sequence - LIST_SIZE:
            _, name = self._in_blob.popleft()
            self.output.delete(f"{self.rung}/{name}")
            self._known.discard(name)
