"""Create, read, change and delete webcast projects, with permission checks and audit."""

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth.models import Principal
from shared.auth.permissions import require_manager, require_member
from shared.clock import utc_iso
from shared.cosmos.repository import Page
from shared.errors import DomainError, conflict, not_found, precondition_failed
from shared.ids import new_id
from shared.webcasts.models import (
    SlugReservation,
    Webcast,
    WebcastCreate,
    WebcastKey,
    WebcastUpdate,
)
from shared.webcasts.repository import forget_webcast, slugs, webcast_keys, webcasts


def _reserve_slug(tenant_id: str, slug: str, webcast_id: str) -> None:
    try:
        slugs.create(
            tenant_id=tenant_id,
            item=SlugReservation(id=f"slug:{slug}", tenant_id=tenant_id, webcast_id=webcast_id),
        )
    except DomainError as error:
        raise conflict("Another webcast of this account uses this slug", "slug") from error


def create_webcast(
    *, principal: Principal, data: WebcastCreate, context: RequestContext
) -> Webcast:
    tenant_id = require_manager(principal, write=True)
    webcast_id = new_id()
    _reserve_slug(tenant_id, data.slug, webcast_id)
    webcast_keys.create(WebcastKey(id=webcast_id, tenant_id=tenant_id))
    moment = utc_iso()
    return operations.create(
        webcasts,
        tenant_id=tenant_id,
        item=Webcast(
            id=webcast_id,
            tenant_id=tenant_id,
            created_at=moment,
            updated_at=moment,
            created_by=principal.account_id,
            **data.model_dump(),
        ),
        actor=principal.actor,
        action="webcast.create",
        entity_type="webcast",
        changed_fields=sorted(data.model_fields_set | {"title", "slug"}),
        context=context,
    )


def get_webcast(*, principal: Principal, webcast_id: str) -> Webcast:
    tenant_id = require_member(principal)
    webcast = webcasts.get(tenant_id=tenant_id, item_id=webcast_id)
    if webcast is None:
        raise not_found("Webcast")
    return webcast


def list_webcasts(
    *, principal: Principal, max_items: int, continuation: str | None
) -> Page[Webcast]:
    tenant_id = require_member(principal)
    return webcasts.page(
        tenant_id=tenant_id,
        max_items=max_items,
        continuation=continuation,
        order_by="c.created_at DESC",
    )


def update_webcast(
    *,
    principal: Principal,
    webcast_id: str,
    data: WebcastUpdate,
    if_match: str | None,
    context: RequestContext,
) -> Webcast:
    tenant_id = require_manager(principal, write=True)
    webcast = webcasts.get(tenant_id=tenant_id, item_id=webcast_id)
    if webcast is None:
        raise not_found("Webcast")
    if if_match is not None and if_match.strip('"') != (webcast.etag or "").strip('"'):
        raise precondition_failed()
    changed = operations.changed_fields(data, webcast)
    old_slug = webcast.slug
    if data.slug is not None and data.slug != old_slug:
        _reserve_slug(tenant_id, data.slug, webcast.id)
    for name in changed:
        setattr(webcast, name, getattr(data, name))
    webcast.updated_at = utc_iso()
    try:
        webcast = operations.replace(
            webcasts,
            tenant_id=tenant_id,
            item=webcast,
            actor=principal.actor,
            action="webcast.update",
            entity_type="webcast",
            changed_fields=changed,
            context=context,
        )
        forget_webcast(webcast.id)
    except DomainError:
        if "slug" in changed:
            slugs.delete(tenant_id=tenant_id, item_id=f"slug:{data.slug}")
        raise
    if "slug" in changed:
        slugs.delete(tenant_id=tenant_id, item_id=f"slug:{old_slug}")
    return webcast


def delete_webcast(*, principal: Principal, webcast_id: str, context: RequestContext) -> None:
    """Removes the project document; data-protection deletion of its data comes with issue 6."""
    tenant_id = require_manager(principal, write=True)
    webcast = webcasts.get(tenant_id=tenant_id, item_id=webcast_id, include_blocked=True)
    if webcast is None:
        raise not_found("Webcast")
    operations.delete(
        webcasts,
        tenant_id=tenant_id,
        item_id=webcast.id,
        actor=principal.actor,
        action="webcast.delete",
        entity_type="webcast",
        context=context,
    )
    forget_webcast(webcast.id)
    webcast_keys.delete(webcast.id)
    slugs.delete(tenant_id=tenant_id, item_id=f"slug:{webcast.slug}")
