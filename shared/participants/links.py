"""Links to a webcast's participant page (mails carry them) and its two registration links
(public and internal).

The internal link carries a per-webcast key: HMAC(lookup key, webcast id + generation). Only
the generation is stored, so reading the links writes nothing; rotating bumps the generation
and every older internal link stops working. Self-registration checks a key it is given
with `check_internal_key` and marks such registrations `via_internal_link` (ADR 0021).
"""

import hmac
from urllib.parse import quote

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth.models import Permission, Principal
from shared.clock import utc_iso
from shared.config import get_settings
from shared.ids import lookup_hash
from shared.participants.models import RegistrationLinks
from shared.participants.repository import get_link_settings, link_settings
from shared.webcasts.service import admin_webcast, find_public

_KEY_LENGTH = 32  # hex characters: 128 bits


def page_url(webcast_id: str, path: str = "") -> str:
    """The participant page of a webcast (public, no personal data in it)."""
    return f"{get_settings().public_base_url}/w/{quote(webcast_id, safe='')}{path}"


def with_token(url: str, token: str) -> str:
    """The link with its token after `#`: browsers never send the fragment, so no server or
    CDN log holds it; the page reads it and sends it by POST. Pages still accept `?token=`
    from links mailed before."""
    return f"{url}#token={quote(token, safe='')}"


def internal_key(*, webcast_id: str, generation: int) -> str:
    return lookup_hash("internal-registration-link", f"{webcast_id}:{generation}")[:_KEY_LENGTH]


def _links(tenant_id: str, webcast_id: str) -> RegistrationLinks:
    stored = get_link_settings(tenant_id=tenant_id, webcast_id=webcast_id)
    key = internal_key(webcast_id=webcast_id, generation=stored.generation)
    return RegistrationLinks(
        public=page_url(webcast_id),
        internal=f"{page_url(webcast_id)}#key={key}",
        internal_key_rotated_at=stored.rotated_at,
    )


def registration_links(*, principal: Principal, webcast_id: str) -> RegistrationLinks:
    """The public link and the internal link with the webcast's current key."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    return _links(webcast.tenant_id, webcast.id)


def rotate_internal_key(
    *, principal: Principal, webcast_id: str, context: RequestContext
) -> RegistrationLinks:
    """A new internal key; internal links sent earlier stop working."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    stored = get_link_settings(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    stored.generation += 1
    stored.rotated_at = utc_iso()
    operations.upsert(
        link_settings,
        tenant_id=webcast.tenant_id,
        item=stored,
        actor=principal.actor,
        action="webcast.links.rotate",
        entity_type="webcast",
        entity_id=webcast.id,
        changed_fields=["internal_key"],
        context=context,
    )
    return _links(webcast.tenant_id, webcast.id)


def check_internal_key(*, webcast_id: str, key: str) -> bool:
    """True when `key` is the webcast's current internal key (constant-time comparison)."""
    webcast = find_public(webcast_id, cached=False)
    if webcast is None or not key:
        return False
    stored = get_link_settings(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    expected = internal_key(webcast_id=webcast.id, generation=stored.generation)
    return hmac.compare_digest(expected.encode(), key.encode())
