"""Back-off against password guessing, per e-mail address and per client address."""

import math

from shared.auth.models import Throttle
from shared.clock import now
from shared.config import get_settings
from shared.cosmos.repository import KeyedRepository
from shared.errors import too_many_requests
from shared.ids import lookup_hash

throttles = KeyedRepository(container="throttles", model=Throttle)
_WINDOW_SECONDS = 60 * 60


def keys(*, email: str, client_ip: str | None) -> list[tuple[str, int]]:
    """Throttle ids with the failures each allows before locking."""
    s = get_settings()
    found = [(f"account:{lookup_hash('email', email)}", s.login_max_failures)]
    if client_ip:
        found.append((f"ip:{lookup_hash('ip', client_ip)}", s.login_ip_max_failures))
    return found


def check(throttle_keys: list[tuple[str, int]]) -> None:
    """Raise 429 with Retry-After while any key is locked."""
    moment = now()
    for key, _ in throttle_keys:
        throttle = throttles.get(key)
        if throttle and throttle.locked_until > moment:
            raise too_many_requests(math.ceil(throttle.locked_until - moment))


def fail(throttle_keys: list[tuple[str, int]]) -> None:
    s = get_settings()
    moment = now()
    for key, allowed in throttle_keys:
        throttle = throttles.get(key)
        if throttle is None or moment - throttle.first_failure_at > _WINDOW_SECONDS:
            throttle = Throttle(id=key, first_failure_at=moment)
        throttle.failures += 1
        if throttle.failures >= allowed:
            over = throttle.failures - allowed
            throttle.locked_until = moment + min(
                s.login_lock_base_seconds * (2 ** min(over, 16)), s.login_lock_max_seconds
            )
        throttles.upsert(throttle)


def clear_account(throttle_keys: list[tuple[str, int]]) -> None:
    """Forget an account's failures after a success; the client address keeps its count, so
    one valid account cannot be used to reset guessing against others."""
    account_key, _ = throttle_keys[0]
    throttles.delete(account_key)
