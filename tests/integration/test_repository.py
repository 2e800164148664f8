"""The generic repository: tenant guard in every call, blocked records hidden, etags, paging."""

import pytest

from shared.cosmos.repository import TenantRepository
from shared.errors import DomainError
from shared.ids import new_id
from shared.webcasts.models import SlugReservation

slugs = TenantRepository(container="webcasts", model=SlugReservation)


def _slug(tenant: str, name: str) -> SlugReservation:
    return SlugReservation(id=f"slug:{name}", tenant_id=tenant, webcast_id=new_id())


@pytest.mark.claim("P30")
def test_reads_and_queries_never_cross_tenants(stack):
    tenant_a, tenant_b = new_id(), new_id()
    stored = slugs.create(tenant_id=tenant_a, item=_slug(tenant_a, "a"))
    assert slugs.get(tenant_id=tenant_a, item_id=stored.id) is not None
    assert slugs.get(tenant_id=tenant_b, item_id=stored.id) is None
    assert slugs.query(tenant_id=tenant_b) == []
    assert slugs.delete(tenant_id=tenant_b, item_id=stored.id) is False
    with pytest.raises(PermissionError):
        slugs.create(tenant_id=tenant_b, item=_slug(tenant_a, "sneaky"))
    text, _ = slugs._select(
        guards=slugs._guards(tenant_a, None),
        where="",
        parameters=None,
        order_by=None,
        include_blocked=False,
    )
    assert "c.tenant_id = @_g0" in text, "the tenant is in the query text itself"


def test_blocked_records_are_left_out_unless_asked_for(stack):
    tenant = new_id()
    kept = slugs.create(tenant_id=tenant, item=_slug(tenant, "kept"))
    blocked = _slug(tenant, "blocked")
    blocked.blocked_at = "2026-11-27T10:00:00Z"
    blocked = slugs.create(tenant_id=tenant, item=blocked)
    assert [s.id for s in slugs.query(tenant_id=tenant)] == [kept.id]
    assert slugs.get(tenant_id=tenant, item_id=blocked.id) is None
    assert slugs.get(tenant_id=tenant, item_id=blocked.id, include_blocked=True) is not None
    assert len(slugs.query(tenant_id=tenant, include_blocked=True)) == 2


def test_replace_with_a_stale_etag_is_refused_and_changes_nothing(stack):
    tenant = new_id()
    first = slugs.create(tenant_id=tenant, item=_slug(tenant, "etag"))
    second = first.model_copy()
    first.webcast_id = "winner"
    slugs.replace(tenant_id=tenant, item=first)
    second.webcast_id = "loser"
    with pytest.raises(DomainError) as refused:
        slugs.replace(tenant_id=tenant, item=second)
    assert refused.value.status == 412
    current = slugs.get(tenant_id=tenant, item_id=first.id)
    assert current is not None and current.webcast_id == "winner"
    with pytest.raises(DomainError) as duplicate:
        slugs.create(tenant_id=tenant, item=_slug(tenant, "etag"))
    assert duplicate.value.status == 409


def test_pages_follow_continuation_tokens_to_the_end(stack):
    tenant = new_id()
    for index in range(5):
        slugs.create(tenant_id=tenant, item=_slug(tenant, f"p{index}"))
    seen, token = [], None
    while True:
        page = slugs.page(tenant_id=tenant, max_items=2, continuation=token, order_by="c.id")
        seen += [s.id for s in page.items]
        token = page.continuation
        if not token:
            break
    assert seen == [f"slug:p{i}" for i in range(5)]
