"""One version of a blob as a seekable, read-only file: range requests pinned to its etag,
so that a ZIP is read where it lies (its directory at the end, then its members) without a
copy on disk or in memory, and a file changed meanwhile fails instead of mixing versions."""

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
