"""A short per-process cache for viewer hot paths: many readers, a value kept a few seconds."""

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class ShortCache(Generic[V]):
    """Values by key for `seconds`; a change made elsewhere shows within that time, one made in
    this process at once (`forget`). Full means cleared: the keys are webcasts, few at once."""

    def __init__(self, *, seconds: float, max_entries: int = 1000) -> None:
        self.seconds = seconds
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], V]) -> V:
        moment = time.monotonic()
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and cached[0] > moment:
            return cached[1]
        value = load()
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (moment + self.seconds, value)
        return value

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
