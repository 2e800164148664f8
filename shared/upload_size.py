"""The size check every uploaded file passes before anything reads it (P38).

A write-only upload URL cannot limit what is sent: the browser announces a size when it asks
for the URL, and the file that arrived must have exactly that size and stay within the limit.
Checked on the blob's properties, so nothing of its content is read.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class SizeRefusal:
    too_large: bool  # over the limit; otherwise it differs from what was announced
    reason: str


def size_refusal(*, actual: int, declared: int | None, limit: int) -> SizeRefusal | None:
    """Why a file of `actual` bytes is not taken (None: it is); `declared` None: not announced."""
    if actual > limit:
        return SizeRefusal(too_large=True, reason=f"the file is larger than {limit} bytes")
    if declared is not None and actual != declared:
        return SizeRefusal(
            too_large=False, reason=f"the file has {actual} bytes, not the {declared} announced"
        )
    return None
