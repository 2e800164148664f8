"""The published feed is rendered by one thread per process at a time (found by make loadtest).

When the rendering expired, every request in the next rendering's time rendered the feed
again (a feed read, 16 tally reads or folds each): under load the renderings got slower and
more of them overlapped, and feed polls timed out. Now one thread renders; the others serve
the previous rendering meanwhile, or wait for the first one when there is none yet.
"""

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from shared import clock
from shared.messages import feed

THREADS = 8
# Long enough for every reader to arrive while the first rendering runs.
HOLD_SECONDS = 0.4


def _concurrent_reads(monkeypatch: pytest.MonkeyPatch, webcast_id: str) -> tuple[int, list[Any]]:
    """THREADS readers at once while a rendering takes HOLD_SECONDS; (renderings, answers)."""
    renders = 0
    counting = threading.Lock()

    def slow_render(webcast: Any) -> feed.RenderedFeed:
        nonlocal renders
        with counting:
            renders += 1
        time.sleep(HOLD_SECONDS)
        return feed.RenderedFeed(
            body=b"{}", etag='"new"', expires_at=clock.now() + 3, items=frozenset()
        )

    monkeypatch.setattr(feed, "_render", slow_render)
    webcast = SimpleNamespace(id=webcast_id)
    answers: list[Any] = []

    def read() -> None:
        answers.append(feed.published(webcast))  # type: ignore[arg-type]

    threads = [threading.Thread(target=read) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10 * HOLD_SECONDS * THREADS)
    return renders, answers


def test_one_thread_renders_an_expired_feed_the_others_serve_the_previous_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stale = feed.RenderedFeed(
        body=b"{}", etag='"old"', expires_at=clock.now() - 1, items=frozenset()
    )
    monkeypatch.setitem(feed._cache, "webcast-stale", stale)
    renders, answers = _concurrent_reads(monkeypatch, "webcast-stale")
    assert renders == 1
    assert len(answers) == THREADS
    assert {a.etag for a in answers} <= {'"old"', '"new"'}
    assert feed._cache["webcast-stale"].etag == '"new"'
    feed.invalidate("webcast-stale")


def test_without_any_rendering_the_readers_wait_for_the_first_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed.invalidate("webcast-new")
    renders, answers = _concurrent_reads(monkeypatch, "webcast-new")
    assert renders == 1
    assert [a.etag for a in answers] == ['"new"'] * THREADS
    feed.invalidate("webcast-new")
