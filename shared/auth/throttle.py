"""Back-off against guessing secrets, per account (or credential) and per client address.

Every attempt is counted before its secret is checked, each counter in one etag-guarded
write, so that concurrent attempts can neither share a read nor slip past a lock (ADR 0025).
"""

import math
from dataclasses import dataclass, field

from shared.auth.models import Throttle
from shared.clock import now
from shared.config import get_settings
from shared.cosmos.repository import KeyedRepository
from shared.errors import DomainError, too_many_requests
from shared.ids import lookup_hash

throttles = KeyedRepository(container="throttles", model=Throttle)
_WINDOW_SECONDS = 60 * 60
# Each try loses only to a write that counted another attempt; past this many the caller is
# part of a flood and is refused like a locked one.
_MAX_WRITE_TRIES = 64
_LOST_RACE = {409, 412}


@dataclass
class Counters:
    """The throttle ids of one attempt with the limit of each, and the locks it started."""

    limits: list[tuple[str, int]]
    locks_started: dict[str, float] = field(default_factory=dict)


def keys(*, email: str, client_ip: str | None) -> Counters:
    """Counters for the e-mail address and, when known, the client address."""
    s = get_settings()
    limits = [(f"account:{lookup_hash('email', email)}", s.login_max_failures)]
    if client_ip:
        limits.append((f"ip:{lookup_hash('ip', client_ip)}", s.login_ip_max_failures))
    return Counters(limits=limits)


def _lock_seconds(earlier_locks: int) -> float:
    s = get_settings()
    return float(
        min(s.login_lock_base_seconds * (2 ** min(earlier_locks, 16)), s.login_lock_max_seconds)
    )


def _count(key: str, allowed: int, moment: float) -> tuple[Throttle, bool, bool]:
    """Add one attempt to a counter: (the counter, it was locked, this attempt locked it).

    The attempt that reaches the limit locks the counter before its secret is checked, so
    that attempts running beside it are refused; a success lifts that lock again."""
    for _ in range(_MAX_WRITE_TRIES):
        stored = throttles.get(key)
        if stored is None or (
            moment - stored.first_failure_at > _WINDOW_SECONDS and stored.locked_until <= moment
        ):
            counter = Throttle(
                id=key, first_failure_at=moment, etag=stored.etag if stored else None
            )
        else:
            counter = stored.model_copy()
        locked = counter.locked_until > moment
        counter.failures += 1
        locking = not locked and counter.failures >= allowed
        if locking:
            counter.locked_until = moment + _lock_seconds(counter.locks)
            counter.locks += 1
        try:
            saved = throttles.create(counter) if stored is None else throttles.replace(counter)
        except DomainError as error:
            if error.status in _LOST_RACE:
                continue
            raise
        return saved, locked, locking
    raise too_many_requests(math.ceil(_lock_seconds(0)))


def attempt(counters: Counters) -> None:
    """Count an attempt on every counter before its secret is checked; 429 with Retry-After
    while any counter is locked (the refused attempt still counts)."""
    moment = now()
    wait = 0.0
    for key, allowed in counters.limits:
        counter, locked, locking = _count(key, allowed, moment)
        if locked:
            wait = max(wait, counter.locked_until - moment)
        elif locking:
            counters.locks_started[key] = counter.locked_until
    if wait > 0:
        raise too_many_requests(math.ceil(wait))


def _take_back(key: str, lock_started: float | None) -> None:
    """Remove one successful attempt from a counter, with the lock it started, if any."""
    for _ in range(_MAX_WRITE_TRIES):
        counter = throttles.get(key)
        if counter is None:
            return
        counter.failures = max(counter.failures - 1, 0)
        if lock_started is not None and counter.locked_until == lock_started:
            counter.locked_until = 0
            counter.locks = max(counter.locks - 1, 0)
        try:
            throttles.replace(counter)
        except DomainError as error:
            if error.status in _LOST_RACE:
                continue
            raise
        return


def succeeded(counters: Counters) -> None:
    """Forget the account's attempts after a success; the client address only loses this
    one, so one valid account cannot be used to reset guessing against others."""
    account_key, _ = counters.limits[0]
    throttles.delete(account_key)
    for key, _ in counters.limits[1:]:
        _take_back(key, counters.locks_started.get(key))
