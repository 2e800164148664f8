"""Webcasts are tenant data: one document per webcast in the tenant's partition."""

from typing import Any

from shared.cache import ShortCache
from shared.cosmos.repository import KeyedRepository, TenantRepository
from shared.webcasts.models import SlugReservation, Webcast, WebcastKey

webcasts = TenantRepository(container="webcasts", model=Webcast)
slugs = TenantRepository(container="webcasts", model=SlugReservation)
webcast_keys = KeyedRepository(container="webcast_keys", model=WebcastKey)


def present(webcast: Webcast | None) -> Webcast | None:
    """The webcast unless its deletion has started (a tombstoned webcast is gone)."""
    if webcast is None or webcast.deletion_started_at is not None:
        return None
    return webcast


def find_webcast(webcast_id: str) -> Webcast | None:
    """The webcast for a public page, found by its id alone."""
    key = webcast_keys.get(webcast_id)
    if key is None:
        return None
    return present(webcasts.get(tenant_id=key.tenant_id, item_id=webcast_id))


_SCHEDULED = (
    "SELECT c.id, c.tenant_id, c.schedule FROM c WHERE c.type = 'webcast' "
    "AND IS_DEFINED(c.schedule) AND NOT IS_NULL(c.schedule) "
    "AND c.schedule.starts_at >= @lo AND c.schedule.starts_at <= @hi "
    "AND (NOT IS_DEFINED(c.blocked_at) OR IS_NULL(c.blocked_at)) "
    "AND (NOT IS_DEFINED(c.deletion_started_at) OR IS_NULL(c.deletion_started_at))"
)


def scheduled_between(lo: str, hi: str) -> list[dict[str, Any]]:
    """Id, tenant and schedule of every tenant's unblocked webcasts whose stored start text
    lies between lo and hi."""
    parameters: list[dict[str, Any]] = [{"name": "@lo", "value": lo}, {"name": "@hi", "value": hi}]
    # The reminder timer serves every tenant by design; it reads ids, tenants and schedules only.
    return list(
        webcasts.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
            _SCHEDULED, parameters=parameters, enable_cross_partition_query=True
        )
    )


_LIVE = (
    "SELECT * FROM c WHERE c.type = 'webcast' "
    "AND (NOT IS_DEFINED(c.blocked_at) OR IS_NULL(c.blocked_at)) "
    "AND (NOT IS_DEFINED(c.deletion_started_at) OR IS_NULL(c.deletion_started_at))"
)


def live_webcasts_page(
    *, max_items: int, continuation: str | None, tenant_id: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the unblocked webcasts not being deleted, of every tenant or of one, and
    the token of the next page (None after the last)."""
    text = _LIVE
    parameters: list[dict[str, object]] = []
    if tenant_id is not None:
        text += " AND c.tenant_id = @tenant"
        parameters.append({"name": "@tenant", "value": tenant_id})
    # The retention timer serves every tenant by design, one bounded page at a time.
    pager = webcasts.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        text,
        parameters=parameters,
        enable_cross_partition_query=True,
        max_item_count=max_items,
    ).by_page(continuation)
    try:
        items = list(next(pager))
    except StopIteration:
        items = []
    token: str | None = getattr(pager, "continuation_token", None)
    return items, token if items else None


# Viewer hot paths (heartbeats, votes, messages) would otherwise read the webcast key and the
# webcast on every request: at 100,000 viewers that is thousands of RU/s on the tenant's one
# logical partition. A change made elsewhere reaches a process within this many seconds; a
# change made in the process itself at once (`forget_webcast`).
VIEWER_CACHE_SECONDS = 5.0
_viewer_cache: ShortCache[Webcast | None] = ShortCache(seconds=VIEWER_CACHE_SECONDS)


def find_webcast_cached(webcast_id: str) -> Webcast | None:
    """`find_webcast` for viewer hot paths, kept for a few seconds per process."""
    return _viewer_cache.get(webcast_id, lambda: find_webcast(webcast_id))


def forget_webcast(webcast_id: str) -> None:
    """Drop the cached copy after a change, so this process sees the change at once."""
    _viewer_cache.forget(webcast_id)
