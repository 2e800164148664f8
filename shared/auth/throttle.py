"""Back-off against password guessing, per e-mail address and per client address."""

import math
from dataclasses import dataclass, field

from shared.auth.models import Throttle
from shared.clock import now
from shared.config import get_settings
from shared.cosmos.repository import KeyedRepository
from shared.errors import too_many_requests
from shared.ids import lookup_hash

throttles = KeyedRepository(container="throttles", model=Throttle)
_WINDOW_SECONDS = 60 * 60


@dataclass
class Counters:
    """The throttle ids of one attempt, with the limit of each and what `check` found."""

    limits: list[tuple[str, int]]
    found: dict[str, Throttle] = field(default_factory=dict)


def keys(*, email: str, client_ip: str | None) -> Counters:
    """Counters for the e-mail address and, when known, the client address."""
    s = get_settings()
    limits = [(f"account:{lookup_hash('email', email)}", s.login_max_failures)]
    if client_ip:
        limits.append((f"ip:{lookup_hash('ip', client_ip)}", s.login_ip_max_failures))
    return Counters(limits=limits)


def check(counters: Counters) -> None:
    """Raise 429 with Retry-After while any counter is locked."""
    moment = now()
    for key, _ in counters.limits:
        throttle = throttles.get(key)
        if throttle is None:
            continue
        counters.found[key] = throttle
        if throttle.locked_until > moment:
            raise too_many_requests(math.ceil(throttle.locked_until - moment))


def fail(counters: Counters) -> None:
    """Count a failure on every counter; locks with doubling back-off past the limit."""
    s = get_settings()
    moment = now()
    for key, allowed in counters.limits:
        throttle = counters.found.get(key)
        if throttle is None or moment - throttle.first_failure_at > _WINDOW_SECONDS:
            throttle = Throttle(id=key, first_failure_at=moment)
        throttle.failures += 1
        if throttle.failures >= allowed:
            over = throttle.failures - allowed
            throttle.locked_until = moment + min(
                s.login_lock_base_seconds * (2 ** min(over, 16)), s.login_lock_max_seconds
            )
        counters.found[key] = throttles.upsert(throttle)


def clear_account(counters: Counters) -> None:
    """Forget an account's failures after a success; the client address keeps its count, so
    one valid account cannot be used to reset guessing against others."""
    account_key, _ = counters.limits[0]
    if counters.found.pop(account_key, None) is not None:
        throttles.delete(account_key)
