"""Back-off against guessing secrets, per account (or credential) and per client address, and
limits on the mails that anyone can trigger.

Every attempt is counted before its secret is checked, each counter in one etag-guarded
write, so that concurrent attempts can neither share a read nor slip past a lock (ADR 0024).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from azure.cosmos import exceptions as cosmos_errors

from shared.auth.models import Throttle
from shared.auth.repository import throttles
from shared.clock import now
from shared.config import get_settings
from shared.cosmos.repository import is_missing
from shared.errors import DomainError, too_many_requests
from shared.ids import lookup_hash

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


def _write(key: str, change: Callable[[Throttle | None], Throttle | None]) -> Throttle | None:
    """Store `change(stored counter)` in one etag-guarded write (a create for a new counter),
    reading again after a lost race; None when `change` leaves the counter as it is."""
    for _ in range(_MAX_WRITE_TRIES):
        stored = throttles.get(key)
        counter = change(stored.model_copy() if stored else None)
        if counter is None:
            return None
        counter.etag = stored.etag if stored else None
        try:
            return throttles.create(counter) if stored is None else throttles.replace(counter)
        except DomainError as error:
            if error.status not in _LOST_RACE:
                raise
        except cosmos_errors.CosmosHttpResponseError as error:
            if not is_missing(error):  # deleted meanwhile by a success or an erasure
                raise
    raise too_many_requests(math.ceil(_lock_seconds(0)))


def _in_window(stored: Throttle | None, key: str, moment: float) -> Throttle:
    """The stored counter, or a new one when there is none or its hour is over (and no lock
    holds)."""
    if stored is None or (
        moment - stored.first_failure_at > _WINDOW_SECONDS and stored.locked_until <= moment
    ):
        return Throttle(id=key, first_failure_at=moment)
    return stored


def _lock_seconds(earlier_locks: int) -> float:
    s = get_settings()
    return float(
        min(s.login_lock_base_seconds * (2 ** min(earlier_locks, 16)), s.login_lock_max_seconds)
    )


def _count(key: str, allowed: int, moment: float) -> tuple[Throttle, bool, bool]:
    """Add one attempt to a counter: (the counter, it was locked, this attempt locked it)."""
    locked = locking = False

    def add(stored: Throttle | None) -> Throttle:
        nonlocal locked, locking
        counter = _in_window(stored, key, moment)
        locked = counter.locked_until > moment
        counter.failures += 1
        locking = not locked and counter.failures >= allowed
        if locking:
            counter.locked_until = moment + _lock_seconds(counter.locks)
            counter.locks += 1
        return counter

    counter = _write(key, add)
    assert counter is not None, "add always writes"
    return counter, locked, locking


def attempt(counters: Counters) -> None:
    """Count an attempt on every counter before its secret is checked; 429 with Retry-After
    while any counter is locked (the refused attempt still counts).

    The attempt that reaches a limit locks that counter in the same write, so that attempts
    running beside it are refused; `succeeded` lifts such a lock again."""
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

    def remove(stored: Throttle | None) -> Throttle | None:
        if stored is None:
            return None
        stored.failures = max(stored.failures - 1, 0)
        if lock_started is not None and stored.locked_until == lock_started:
            stored.locked_until = 0
            stored.locks = max(stored.locks - 1, 0)
        return stored

    _write(key, remove)


def succeeded(counters: Counters) -> None:
    """Forget the account's attempts after a success; the client address only loses this
    one, so one valid account cannot be used to reset guessing against others."""
    account_key, _ = counters.limits[0]
    throttles.delete(account_key)
    for key, _ in counters.limits[1:]:
        _take_back(key, counters.locks_started.get(key))


def mail_slot_key(*, kind: str, address: str) -> str:
    """The counter of mails of one kind to one address."""
    return f"mail:{kind}:{lookup_hash('email', address.strip().lower())}"


def allow_mail(*, kind: str, address: str, client_ip: str | None) -> bool:
    """Whether a mail that anyone can trigger may go out now: one per address and kind in
    `mail_slot_seconds`, and `mail_client_max_per_hour` per client address. Callers answer
    the same whatever this says, so the answer never shows that a mail was held back.

    `kind` names the mail and, where one address may rightly get it from several places at
    once, its scope (e.g. `participant_confirmation:{webcast_id}`)."""
    s = get_settings()
    moment = now()
    slot_key = mail_slot_key(kind=kind, address=address)

    def claim(stored: Throttle | None) -> Throttle | None:
        if stored is not None and moment - stored.first_failure_at < s.mail_slot_seconds:
            return None
        return Throttle(
            id=slot_key, failures=1, first_failure_at=moment, ttl=s.mail_slot_seconds + 60
        )

    client_key = f"mail-ip:{lookup_hash('ip', client_ip)}" if client_ip else ""

    def count(stored: Throttle | None) -> Throttle:
        counter = _in_window(stored, client_key, moment)
        counter.failures += 1
        return counter

    # The client address is counted first: a mail it holds back claims no slot, so whoever
    # holds the slot of an address sent that address a real mail.
    try:
        if client_key:
            counted = _write(client_key, count)
            if counted is None or counted.failures > s.mail_client_max_per_hour:
                return False
        return _write(slot_key, claim) is not None
    except DomainError as error:
        if error.status == 429:  # a flood of writes on one counter: hold the mail back
            return False
        raise
