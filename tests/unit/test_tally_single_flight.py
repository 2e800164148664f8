"""Viewers' live poll results are read from the shard tallies by one thread per process at
a time (the feed's fault, found by make loadtest, in the poll results' copy): when the copy
expired, every request arriving meanwhile read all 32 tallies again."""

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from shared.polls import tally
from shared.polls.repository import VOTE_SHARDS

THREADS = 8
# Long enough for every reader to arrive while the first one reads the tallies.
HOLD_SECONDS = 0.4


def _concurrent_reads(monkeypatch: pytest.MonkeyPatch, poll_id: str) -> tuple[int, list[Any]]:
    reads = 0
    counting = threading.Lock()

    def slow_read(poll: Any, shard: int) -> Any:
        nonlocal reads
        with counting:
            reads += 1
        if shard == 0:
            time.sleep(HOLD_SECONDS)
        return SimpleNamespace(shard=shard, fresh=True)

    monkeypatch.setattr(tally, "_read", slow_read)
    poll = SimpleNamespace(id=poll_id)
    answers: list[Any] = []

    def read() -> None:
        answers.append(tally.shard_tallies(poll=poll, cached=True))  # type: ignore[arg-type]

    threads = [threading.Thread(target=read) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10 * HOLD_SECONDS * THREADS)
    return reads, answers


def test_one_thread_rereads_expired_tallies_the_others_serve_the_previous_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stale = [SimpleNamespace(shard=0, fresh=False)]
    monkeypatch.setitem(tally._cache, "poll-stale", (time.monotonic() - 60, stale))
    reads, answers = _concurrent_reads(monkeypatch, "poll-stale")
    assert reads == VOTE_SHARDS
    assert len(answers) == THREADS
    assert all(a is stale or len(a) == VOTE_SHARDS for a in answers)
    tally.forget("poll-stale")


def test_without_a_copy_the_readers_wait_for_the_first_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tally.forget("poll-new")
    reads, answers = _concurrent_reads(monkeypatch, "poll-new")
    assert reads == VOTE_SHARDS
    assert [len(a) for a in answers] == [VOTE_SHARDS] * THREADS
    tally.forget("poll-new")
