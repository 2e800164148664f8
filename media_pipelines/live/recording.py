"""The recording of a session: ffmpeg's stream copy of the input, as MPEG-TS on its stdout.

A reader thread measures the input bitrate from it and, when the session is recorded, spools
it into files of BLOCK_BYTES. A stager thread puts each full file into the recording blob as
a staged block (so the stop does not start a big upload) and deletes it; at the end the block
list is committed, which makes the blob appear (BlobCreated starts the VOD pipeline).
MPEG-TS bytes concatenate, so block boundaries need not fall on packets.
"""

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO, TypeVar

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobClient, BlobServiceClient, ContentSettings

from shared.clients import blob_container_name
from shared.live.models import RecordingTarget

log = logging.getLogger("webcast.live.recording")

BLOCK_BYTES = 4 * 1024 * 1024
_READ_BYTES = 64 * 1024
_BITRATE_WINDOW_SECONDS = 6.0
_ATTEMPTS = 4
T = TypeVar("T")


def _retry(what: str, call: Callable[[], T]) -> T:
    for attempt in range(_ATTEMPTS):
        try:
            return call()
        except Exception as error:
            if attempt == _ATTEMPTS - 1:
                raise
            log.warning("%s failed (%s); retrying", what, error)
            time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


class BitrateMeter:
    """Bits per second over the last few seconds of input."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()
        self.total_bytes = 0

    def add(self, count: int) -> None:
        moment = time.monotonic()
        with self._lock:
            self.total_bytes += count
            self._samples.append((moment, count))
            while self._samples and self._samples[0][0] < moment - _BITRATE_WINDOW_SECONDS:
                self._samples.popleft()

    def bitrate(self) -> int | None:
        with self._lock:
            if len(self._samples) < 2:
                return None
            span = self._samples[-1][0] - self._samples[0][0]
            if span <= 0:
                return None
            counted = sum(count for _, count in list(self._samples)[1:])
            return int(counted * 8 / span)


class Recorder:
    def __init__(
        self,
        *,
        stream: IO[bytes],
        spool_dir: Path,
        record: bool,
        target: Callable[[], RecordingTarget],
        blobs: BlobServiceClient,
        withdrawn: threading.Event | None = None,
    ) -> None:
        self.meter = BitrateMeter()
        self.record = record
        self.recorded_bytes = 0
        self.asset_id: str | None = None
        self.committed = False
        self._stream = stream
        self._spool_dir = spool_dir
        self._target = target
        self._blobs = blobs
        # Set once the webcast is gone: nothing more is staged or committed (decision 0048).
        self._withdrawn = withdrawn or threading.Event()
        self._blob: BlobClient | None = None
        self._chunks: queue.Queue[Path | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="live-recording-read", daemon=True)
        self._stager = threading.Thread(
            target=self._stage, name="live-recording-stage", daemon=True
        )

    def start(self) -> None:
        self._spool_dir.mkdir(parents=True, exist_ok=True)
        self._reader.start()
        self._stager.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the input ended and the recording is committed."""
        self._reader.join(timeout)
        self._stager.join(timeout)

    def _read(self) -> None:
        number, spool, filled = 0, None, 0
        try:
            while chunk := self._stream.read1(_READ_BYTES):  # type: ignore[attr-defined]
                self.meter.add(len(chunk))
                if not self.record:
                    continue
                if spool is None:
                    number += 1
                    spool = (self._spool_dir / f"{number:08d}.part").open("wb")
                spool.write(chunk)
                filled += len(chunk)
                if filled >= BLOCK_BYTES:
                    spool.close()
                    self._chunks.put(Path(spool.name))
                    spool, filled = None, 0
        except Exception:
            log.exception("reading the recording stream failed")
        finally:
            if spool is not None:
                spool.close()
                self._chunks.put(Path(spool.name))
            self._chunks.put(None)

    def discard(self) -> None:
        """Delete the committed recording (its webcast is gone); staged blocks that were
        never committed are no blob, and the service drops them within a week."""
        if self._blob is None:
            return
        with contextlib.suppress(ResourceNotFoundError):
            self._blob.delete_blob(delete_snapshots="include")

    def _stage(self) -> None:
        blob = None
        blocks: list[BlobBlock] = []
        while (path := self._chunks.get()) is not None:
            if self._withdrawn.is_set():
                path.unlink(missing_ok=True)
                continue
            try:
                if blob is None:
                    target = _retry("asking for the recording target", self._target)
                    self.asset_id = target.asset_id
                    blob = self._blobs.get_blob_client(
                        blob_container_name(target.container), target.blob
                    )
                    self._blob = blob
                data = path.read_bytes()
                block_id = f"{len(blocks):010d}"  # the SDK base64-encodes it
                _retry("staging a recording block", partial(blob.stage_block, block_id, data))
            except Exception:
                if self._withdrawn.is_set():
                    path.unlink(missing_ok=True)
                    continue
                # Keep the chunk on disk (its name says where it belongs) and go on with the
                # rest: a gap in MPEG-TS costs a moment of the recording, not all of it.
                log.exception("recording chunk %s was not staged; kept on disk", path)
                continue
            blocks.append(BlobBlock(block_id=block_id))
            self.recorded_bytes += len(data)
            path.unlink()
        if blob is None or not blocks or self._withdrawn.is_set():
            return
        commit = partial(
            blob.commit_block_list,
            blocks,
            content_settings=ContentSettings(content_type="video/mp2t"),
        )
        try:
            _retry("committing the recording", commit)
            self.committed = True
        except AzureError:
            log.exception("the recording of asset %s was not committed", self.asset_id)
