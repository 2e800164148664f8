"""Sets of time slots as sorted, merged inclusive ranges."""

from collections.abc import Iterable

from shared.tracking.models import SlotRange


def merge(ranges: Iterable[SlotRange]) -> list[SlotRange]:
    """Sorted ranges with overlapping and adjacent ones joined."""
    merged: list[SlotRange] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def add(ranges: list[SlotRange], first: int, count: int) -> list[SlotRange]:
    return merge([*ranges, (first, first + count - 1)])


def size(ranges: Iterable[SlotRange]) -> int:
    return sum(last - first + 1 for first, last in ranges)


def scale(ranges: Iterable[SlotRange], factor: int) -> list[SlotRange]:
    """The ranges of coarser units (e.g. minutes of 30-second slots) that they touch."""
    return merge((first // factor, last // factor) for first, last in ranges)
