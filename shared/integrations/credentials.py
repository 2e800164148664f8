"""Server credentials: a customer's server registers participants and gets sign-in links (P35)."""

import hmac
import logging
from dataclasses import dataclass

from shared.audit import operations
from shared.audit.models import Actor, ActorKind, RequestContext
from shared.auth import throttle
from shared.auth.models import Permission, Principal
from shared.clock import now, utc_iso
from shared.config import get_settings
from shared.errors import DomainError, forbidden, not_found
from shared.ids import lookup_hash, new_id, new_secret_token
from shared.integrations.models import ServerCredential
from shared.integrations.repository import credential_doc_id, credentials
from shared.participants.access import issue_link
from shared.participants.models import ParticipantInput, ParticipantStatus
from shared.participants.service import Saved, save_participant
from shared.webcasts.models import Webcast
from shared.webcasts.service import admin_webcast, find_public

LINK_SECONDS = 10 * 60
_WRONG = "The server credential is missing, wrong or revoked"
log = logging.getLogger("webcast.server_credentials")


@dataclass
class Registered:
    saved: Saved
    link: str
    link_expires_at: float


def _secret_hash(credential_id: str, secret: str) -> str:
    """A keyed hash: the secrets are random 256-bit values, so a fast hash suffices."""
    return lookup_hash("server-credential", f"{credential_id}:{secret}")


def create_credential(
    *, principal: Principal, webcast_id: str, label: str, context: RequestContext
) -> tuple[ServerCredential, str]:
    """A new credential for the webcast; the secret is returned once and stored as a hash."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    credential_id = new_id()
    secret = new_secret_token()
    credential = operations.create(
        credentials,
        tenant_id=webcast.tenant_id,
        item=ServerCredential(
            id=credential_doc_id(credential_id),
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            credential_id=credential_id,
            label=label,
            secret_hash=_secret_hash(credential_id, secret),
            created_at=utc_iso(),
            created_by=principal.account_id,
        ),
        actor=principal.actor,
        action="server_credential.create",
        entity_type="server_credential",
        entity_id=credential_id,
        changed_fields=["label", "secret"] if label else ["secret"],
        context=context,
    )
    return credential, secret


def list_credentials(*, principal: Principal, webcast_id: str) -> list[ServerCredential]:
    """The webcast's credentials, revoked ones included (without their secrets)."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    return credentials.query(
        tenant_id=webcast.tenant_id,
        where="c.webcast_id = @w",
        parameters={"@w": webcast.id},
        order_by="c.created_at",
    )


def revoke_credential(
    *, principal: Principal, webcast_id: str, credential_id: str, context: RequestContext
) -> ServerCredential:
    """Revoke at once; the record stays (without a usable secret) so the list shows it."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    credential = credentials.get(
        tenant_id=webcast.tenant_id, item_id=credential_doc_id(credential_id)
    )
    if credential is None or credential.webcast_id != webcast.id:
        raise not_found("Server credential")
    if credential.revoked_at is None:
        credential.revoked_at = utc_iso()
        credential = operations.replace(
            credentials,
            tenant_id=webcast.tenant_id,
            item=credential,
            actor=principal.actor,
            action="server_credential.revoke",
            entity_type="server_credential",
            entity_id=credential_id,
            changed_fields=["revoked_at"],
            context=context,
        )
    return credential


def _refused() -> DomainError:
    return DomainError(
        detail=_WRONG,
        status=401,
        code="invalid-credential",
        title="Unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="webcast-server"'},
    )


def _parse(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, value = (authorization or "").strip().partition(" ")
    credential_id, dot, secret = value.strip().partition(".")
    if scheme.lower() != "bearer" or not dot or not credential_id or not secret:
        return None
    if len(credential_id) > 64 or len(secret) > 256 or not credential_id.isalnum():
        return None
    return credential_id, secret


def authenticate(
    *, webcast_id: str, authorization: str | None, client_ip: str | None
) -> tuple[Webcast, ServerCredential]:
    """The webcast and the credential of a server call; failures count against the
    credential id and the client address (exponential lock, as for password sign-in)."""
    parsed = _parse(authorization)
    if parsed is None:
        raise _refused()
    credential_id, secret = parsed
    counters = throttle.keys(email=f"server-credential:{credential_id}", client_ip=client_ip)
    throttle.attempt(counters)
    webcast = find_public(webcast_id, cached=False)
    credential = (
        credentials.get(tenant_id=webcast.tenant_id, item_id=credential_doc_id(credential_id))
        if webcast is not None
        else None
    )
    valid = credential is not None and hmac.compare_digest(
        credential.secret_hash, _secret_hash(credential_id, secret)
    )
    if webcast is None or credential is None or not valid or credential.revoked_at is not None:
        log.info("server credential refused for webcast %s", webcast_id)
        raise _refused()
    throttle.succeeded(counters)
    if credential.webcast_id != webcast.id:
        raise forbidden("This server credential belongs to another webcast")
    return webcast, credential


def register_participant(
    *,
    webcast_id: str,
    authorization: str | None,
    data: ParticipantInput,
    context: RequestContext,
) -> Registered:
    """Create or update the participant (same e-mail or user name: the same person) and
    issue a single-use sign-in link that expires after ten minutes."""
    webcast, credential = authenticate(
        webcast_id=webcast_id, authorization=authorization, client_ip=context.client_ip
    )
    actor = Actor(
        kind=ActorKind.system,
        id=f"server-credential:{credential.credential_id}",
        role="server-credential",
    )
    saved = save_participant(
        webcast=webcast, data=data, source="server", actor=actor, context=context
    )
    if saved.participant.status != ParticipantStatus.active:
        raise forbidden("This participant is disabled for the webcast")
    issued_at = now()
    token = issue_link(participant=saved.participant, single_use=True, lifetime=LINK_SECONDS)
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=actor,
        action="participant.link_issue",
        entity_type="participant",
        entity_id=saved.participant.id,
        context=context,
    )
    base = get_settings().public_base_url.rstrip("/")
    return Registered(
        saved=saved,
        link=f"{base}/w/{webcast.id}#token={token}",  # out of server logs, as mailed links
        link_expires_at=issued_at + LINK_SECONDS,
    )
