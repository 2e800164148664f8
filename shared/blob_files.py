"""Blobs as files: one version of a blob as a seekable, read-only file (range requests pinned
to its etag, so that a ZIP is read where it lies without a copy on disk or in memory, and a
file changed meanwhile fails instead of mixing versions), and a write-only file that streams
into a block blob (a ZIP or an export of many gigabytes never sits in memory or on disk)."""

import hashlib
import io
from typing import Any

from azure.core import MatchConditions


class BlobRangeReader(io.RawIOBase):
    """`max_read` bounds one read (a caller that reads only a directory and small parts)."""

    def __init__(self, blob: Any, properties: Any, *, max_read: int | None = None) -> None:
        super().__init__()
        self._blob = blob
        self.size: int = properties.size
        self._etag: str = properties.etag
        self._max_read = max_read
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError("seek before the start of the blob")
        self._position = base + offset
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        remaining = max(self.size - self._position, 0)
        wanted = remaining if size is None or size < 0 else min(size, remaining)
        if self._max_read is not None and wanted > self._max_read:
            raise OSError("a larger read than this file's reader allows")
        if wanted == 0:
            return b""
        data: bytes = self._blob.download_blob(
            offset=self._position,
            length=wanted,
            etag=self._etag,
            match_condition=MatchConditions.IfNotModified,
        ).readall()
        self._position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


_BLOCK_BYTES = 4 * 1024 * 1024


class BlockBlobWriter:
    """A write-only, unseekable file over a block blob: 4 MiB blocks staged as they fill,
    committed at the end, so that the blob exists only once it is whole."""

    def __init__(self, blob: Any, *, content_type: str) -> None:
        self._blob = blob
        self._content_type = content_type
        self._buffer = bytearray()
        self._blocks: list[str] = []
        self._written = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._buffer += data
        self._written += len(data)
        self.sha256.update(data)
        while len(self._buffer) >= _BLOCK_BYTES:
            self._stage(bytes(self._buffer[:_BLOCK_BYTES]))
            del self._buffer[:_BLOCK_BYTES]
        return len(data)

    def _stage(self, data: bytes) -> None:
        block_id = f"{len(self._blocks):08d}"
        self._blob.stage_block(block_id, data)
        self._blocks.append(block_id)

    def tell(self) -> int:
        return self._written

    def seek(self, *_: object) -> int:
        raise OSError("not seekable")

    def flush(self) -> None:
        """Blocks are staged when full; the rest goes with `commit`."""

    def close(self) -> None:
        """A ZipFile leaves a file it was given open; `commit` ends the blob."""

    def commit(self) -> int:
        """Stage the rest and commit every block: the blob exists from now on; its size."""
        from azure.storage.blob import BlobBlock, ContentSettings

        if self._buffer:
            self._stage(bytes(self._buffer))
            self._buffer.clear()
        self._blob.commit_block_list(
            [BlobBlock(block_id=block) for block in self._blocks],
            content_settings=ContentSettings(content_type=self._content_type),
        )
        return self._written
