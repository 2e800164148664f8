"""What the load recorded and what the stack holds afterwards: merging, percentiles, checks.

Pure functions over plain data (no I/O, no locust), so that the counting that decides
pass or fail is tested on its own (tests/unit/test_loadtest_ledger.py).
"""

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SLOT_SECONDS = 30


@dataclass
class Ledger:
    """What one swarm process sent and the API accepted.

    heartbeats: viewer cookie token -> heartbeats answered 202 (each one 30 s slot: the next
    one is sent an interval after the previous answer, so no two share a slot).
    messages: ids of messages answered 201. votes: poll id -> option id -> answers answered
    201. upvotes: message id -> upvotes answered with new_vote true. refused_closed: answers
    refused with 409 because the poll closed meanwhile (expected, not errors). polls: the
    polls the moderators opened. unknown: requests of each kind without an answer (timeout,
    lost connection) or with a server error, which the API may have stored or not: keyed
    like the accepted ones ("heartbeats" by token, "votes" by poll, "upvotes" by message,
    "messages" under "")."""

    heartbeats: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    votes: dict[str, dict[str, int]] = field(default_factory=dict)
    upvotes: dict[str, int] = field(default_factory=dict)
    refused_closed: int = 0
    polls: list[str] = field(default_factory=list)
    requests_sent: int = 0
    budget_exhausted: bool = False
    unknown: dict[str, dict[str, int]] = field(default_factory=dict)

    def count_unknown(self, kind: str, key: str = "") -> None:
        counts = self.unknown.setdefault(kind, {})
        counts[key] = counts.get(key, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "heartbeats": self.heartbeats,
            "messages": self.messages,
            "votes": self.votes,
            "upvotes": self.upvotes,
            "refused_closed": self.refused_closed,
            "polls": self.polls,
            "requests_sent": self.requests_sent,
            "budget_exhausted": self.budget_exhausted,
            "unknown": self.unknown,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Ledger":
        return cls(
            heartbeats=dict(data["heartbeats"]),
            messages=list(data["messages"]),
            votes={poll: dict(options) for poll, options in data["votes"].items()},
            upvotes=dict(data["upvotes"]),
            refused_closed=int(data["refused_closed"]),
            polls=list(data["polls"]),
            requests_sent=int(data["requests_sent"]),
            budget_exhausted=bool(data["budget_exhausted"]),
            unknown={kind: dict(counts) for kind, counts in data.get("unknown", {}).items()},
        )


def merge_ledgers(ledgers: Iterable[Ledger]) -> Ledger:
    merged = Ledger()
    heartbeats: Counter[str] = Counter()
    upvotes: Counter[str] = Counter()
    for ledger in ledgers:
        heartbeats.update(ledger.heartbeats)
        upvotes.update(ledger.upvotes)
        merged.messages.extend(ledger.messages)
        for poll, options in ledger.votes.items():
            target = merged.votes.setdefault(poll, {})
            for option, count in options.items():
                target[option] = target.get(option, 0) + count
        merged.refused_closed += ledger.refused_closed
        merged.polls.extend(p for p in ledger.polls if p not in merged.polls)
        merged.requests_sent += ledger.requests_sent
        merged.budget_exhausted |= ledger.budget_exhausted
        for kind, counts in ledger.unknown.items():
            for key, count in counts.items():
                target = merged.unknown.setdefault(kind, {})
                target[key] = target.get(key, 0) + count
    merged.heartbeats = dict(heartbeats)
    merged.upvotes = dict(upvotes)
    return merged


# ---- latency -------------------------------------------------------------------------------


def merge_histograms(histograms: Iterable[Mapping[str, int] | Mapping[int, int]]) -> dict[int, int]:
    """Response-time histograms (milliseconds -> count, keys as JSON gives them) added up."""
    total: Counter[int] = Counter()
    for histogram in histograms:
        for milliseconds, count in histogram.items():
            total[int(milliseconds)] += count
    return dict(total)


def percentile(histogram: Mapping[int, int], fraction: float) -> int:
    """The smallest recorded time with at least `fraction` of the requests at or below it."""
    count = sum(histogram.values())
    if count == 0:
        return 0
    needed = max(1, math.ceil(fraction * count))
    seen = 0
    for milliseconds in sorted(histogram):
        seen += histogram[milliseconds]
        if seen >= needed:
            return milliseconds
    return max(histogram)


@dataclass
class EndpointFigures:
    name: str
    requests: int
    failures: int
    per_second: float
    p50_ms: int
    p95_ms: int
    p99_ms: int
    max_ms: int


def endpoint_figures(entries: Iterable[Mapping[str, Any]], seconds: float) -> list[EndpointFigures]:
    """Per endpoint over every swarm process: `entries` are {name, requests, failures,
    histogram} rows, several per name when several processes ran."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        grouped.setdefault(entry["name"], []).append(entry)
    figures = []
    for name in sorted(grouped):
        rows = grouped[name]
        histogram = merge_histograms(row["histogram"] for row in rows)
        requests = sum(int(row["requests"]) for row in rows)
        figures.append(
            EndpointFigures(
                name=name,
                requests=requests,
                failures=sum(int(row["failures"]) for row in rows),
                per_second=round(requests / seconds, 2) if seconds > 0 else 0.0,
                p50_ms=percentile(histogram, 0.50),
                p95_ms=percentile(histogram, 0.95),
                p99_ms=percentile(histogram, 0.99),
                max_ms=max(histogram, default=0),
            )
        )
    return figures


# ---- what the stack holds against what was accepted ----------------------------------------


@dataclass
class Check:
    """One comparison: `expected` is what the scenario saw accepted, `found` what is stored."""

    name: str
    expected: int
    found: int
    problems: list[str] = field(default_factory=list)
    # Requests of unknown outcome, and what no such request can explain: `lost` were
    # accepted and are missing, `unexplained` are stored beyond accepted plus unknown.
    unknown: int = 0
    lost: int = 0
    unexplained: int = 0

    @property
    def passed(self) -> bool:
        return not self.problems and self.expected == self.found

    @property
    def nothing_lost(self) -> bool:
        """What an overloaded run can still show: no accepted item is missing, and every
        extra one may stem from a request whose answer never came."""
        return self.lost == 0 and self.unexplained == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "found": self.found,
            "passed": self.passed,
            "unknown": self.unknown,
            "lost": self.lost,
            "unexplained": self.unexplained,
            "nothing_lost": self.nothing_lost,
            "problems": self.problems[:20],
            "problem_count": len(self.problems),
        }


def check_votes(
    expected: Mapping[str, Mapping[str, int]],
    counted: Mapping[str, Mapping[str, int]],
    unknown: Mapping[str, int] | None = None,
) -> Check:
    """Poll results (poll -> option -> count) equal the accepted answers, option by option;
    `unknown` answers per poll may or may not be counted."""
    unknown = unknown or {}
    problems = []
    lost = unexplained = 0
    for poll in sorted(set(expected) | set(counted)):
        want, got = expected.get(poll, {}), counted.get(poll, {})
        for option in sorted(set(want) | set(got)):
            if want.get(option, 0) != got.get(option, 0):
                problems.append(
                    f"poll {poll} option {option}: {want.get(option, 0)} accepted, "
                    f"{got.get(option, 0)} counted"
                )
            lost += max(0, want.get(option, 0) - got.get(option, 0))
        extra = sum(max(0, got.get(o, 0) - want.get(o, 0)) for o in got)
        unexplained += max(0, extra - unknown.get(poll, 0))
    return Check(
        name="votes",
        expected=sum(sum(o.values()) for o in expected.values()),
        found=sum(sum(o.values()) for o in counted.values()),
        problems=problems,
        unknown=sum(unknown.values()),
        lost=lost,
        unexplained=unexplained,
    )


def check_heartbeats(
    expected: Mapping[str, int],
    recorded_seconds: Mapping[str, int],
    unknown: Mapping[str, int] | None = None,
) -> Check:
    """Each viewer's recorded live seconds are its accepted heartbeats times the slot, and
    no viewer is recorded that the scenario did not send for (all keyed by viewer id);
    `unknown` heartbeats per viewer may or may not be recorded."""
    unknown = unknown or {}
    problems = []
    lost = unexplained = 0
    for viewer in sorted(set(expected) | set(recorded_seconds) | set(unknown)):
        want = expected.get(viewer, 0) * SLOT_SECONDS
        got = recorded_seconds.get(viewer, 0)
        if want != got:
            problems.append(f"viewer {viewer[:12]}: {want} s sent, {got} s recorded")
        lost += max(0, want - got) // SLOT_SECONDS
        unexplained += max(0, (got - want) // SLOT_SECONDS - unknown.get(viewer, 0))
    return Check(
        name="heartbeat slots",
        expected=sum(expected.values()),
        found=sum(recorded_seconds.values()) // SLOT_SECONDS,
        problems=problems,
        unknown=sum(unknown.values()),
        lost=lost,
        unexplained=unexplained,
    )


def check_report(
    expected: Mapping[str, int], unique_viewers: int, live_minutes: float
) -> list[str]:
    """The attendance report's totals against the heartbeats (it rounds minutes to 0.1)."""
    viewers = sum(1 for count in expected.values() if count)
    minutes = round(sum(expected.values()) * SLOT_SECONDS / 60, 1)
    problems = []
    if unique_viewers != viewers:
        problems.append(f"report: {unique_viewers} unique viewers, {viewers} sent heartbeats")
    if not math.isclose(live_minutes, minutes, abs_tol=0.05):
        problems.append(f"report: {live_minutes} live minutes, {minutes} sent")
    return problems


def check_messages(posted: Iterable[str], listed: Iterable[str], unknown: int = 0) -> Check:
    """The moderators' queue lists every message accepted, and nothing else; up to
    `unknown` more may come from messages whose answer never came."""
    sent, found = Counter(posted), set(listed)
    missing = [m for m in sent if m not in found]
    extra = [m for m in found if m not in sent]
    problems = [f"message {m} accepted twice" for m, n in sent.items() if n > 1]
    problems += [f"message {m} accepted, not in the moderators' list" for m in missing]
    problems += [f"message {m} listed, never accepted" for m in extra]
    return Check(
        name="messages",
        expected=len(sent),
        found=len(found),
        problems=sorted(problems),
        unknown=unknown,
        lost=len(missing),
        unexplained=max(0, len(extra) - unknown),
    )


def check_upvotes(
    expected: Mapping[str, int],
    feed_votes: Mapping[str, int],
    unknown: Mapping[str, int] | None = None,
) -> Check:
    """The published feed's vote counts equal the upvotes accepted (messages upvoted at
    least once; the feed shows 0 for the others); `unknown` upvotes per message may count."""
    unknown = unknown or {}
    problems = [
        f"message {m}: {n} upvotes accepted, {feed_votes.get(m, 0)} in the feed"
        for m, n in sorted(expected.items())
        if feed_votes.get(m, 0) != n
    ]
    problems += [
        f"message {m}: {n} upvotes in the feed, none accepted"
        for m, n in sorted(feed_votes.items())
        if n and m not in expected
    ]
    keys = set(expected) | set(feed_votes)
    return Check(
        name="upvotes",
        expected=sum(expected.values()),
        found=sum(feed_votes.values()),
        problems=problems,
        unknown=sum(unknown.values()),
        lost=sum(max(0, expected.get(m, 0) - feed_votes.get(m, 0)) for m in keys),
        unexplained=sum(
            max(0, feed_votes.get(m, 0) - expected.get(m, 0) - unknown.get(m, 0)) for m in keys
        ),
    )


def request_budget(
    *, viewers: int, moderators: int, seconds: float, heartbeat_seconds: float = SLOT_SECONDS
) -> int:
    """A ceiling twice the planned requests: per viewer a heartbeat per interval, a feed poll
    and a poll-list poll every 10 s and a results poll while results are shown, plus
    answers, upvotes and messages (well under one more request every 10 s); per moderator a
    queue poll every 5 s and a report poll every 15 s, plus publishing and polls."""
    per_viewer = seconds * (1 / heartbeat_seconds + 4 / 10) + 2
    per_moderator = seconds * (1 / 5 + 1 / 15 + 1 / 10) + 2
    return math.ceil(2 * (viewers * per_viewer + moderators * per_moderator))
