"""Embedding a webcast in a customer site: settings, signing secret, token exchange (P35)."""

import html
import logging
from typing import Any

from shared.audit import operations
from shared.audit.models import Actor, ActorKind, RequestContext
from shared.auth.models import Permission, Principal
from shared.auth.tokens import remember_spent
from shared.clock import now, utc_iso
from shared.config import get_settings
from shared.errors import DomainError, InvalidField, forbidden, not_found
from shared.ids import new_id, new_secret_token
from shared.integrations.models import (
    EmbedKey,
    EmbedKeys,
    EmbedSettings,
    EmbedSettingsInput,
    EmbedSettingsView,
    RotatedSecret,
)
from shared.integrations.repository import (
    embed_settings,
    get_settings_of,
    keys_id,
    load_keys,
    store_keys,
)
from shared.participants import sessions
from shared.participants.access import participant_actor
from shared.participants.models import ParticipantInput, ParticipantStatus
from shared.participants.service import (
    participant_by_external_id,
    registration_form,
    save_participant,
)
from shared.webcasts.models import Webcast
from shared.webcasts.service import admin_webcast, viewer_webcast

ALGORITHM = "HS256"
LEEWAY_SECONDS = 30
MAX_TOKEN_LIFETIME = 5 * 60
# The replaced secret still verifies for a while, so pages that are open keep working.
ROTATION_GRACE_SECONDS = 10 * 60
JTI_PURPOSE = "embed_jti"
_MAX_SUB = 200
log = logging.getLogger("webcast.embed")


# Where the customer's server puts the token it signs for each page view.
TOKEN_PLACEHOLDER = "{EMBED_TOKEN}"  # noqa: S105 (a placeholder, not a secret)


def snippet(webcast: Webcast) -> str:
    """The iframe a customer's page carries: the token after `#` (never sent to a server
    or logged), no referrer, the player allowed to autoplay and go full screen."""
    source = f"{get_settings().public_base_url.rstrip('/')}/embed/{webcast.id}"
    return (
        f'<iframe src="{html.escape(source)}#token={TOKEN_PLACEHOLDER}" '
        f'title="{html.escape(webcast.title)}" width="960" height="720" '
        'style="max-width: 100%; border: 0" allow="autoplay; fullscreen" '
        'referrerpolicy="no-referrer"></iframe>'
    )


def _view(settings: EmbedSettings, keys: EmbedKeys | None, webcast: Webcast) -> EmbedSettingsView:
    until = keys.previous_valid_until if keys else None
    return EmbedSettingsView(
        webcast_id=settings.webcast_id,
        enabled=settings.enabled,
        allowed_origins=settings.allowed_origins,
        updated_at=settings.updated_at,
        has_secret=keys is not None,
        secret_kid=keys.current.kid if keys else None,
        previous_secret_valid_until=until if until and until > now() else None,
        snippet=snippet(webcast),
    )


def read_settings(*, principal: Principal, webcast_id: str) -> EmbedSettingsView:
    """The webcast's embed settings and whether it has a signing secret (never the secret)."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    return _view(
        get_settings_of(tenant_id=webcast.tenant_id, webcast_id=webcast.id),
        load_keys(tenant_id=webcast.tenant_id, webcast_id=webcast.id),
        webcast,
    )


def save_settings(
    *,
    principal: Principal,
    webcast_id: str,
    data: EmbedSettingsInput,
    context: RequestContext,
) -> EmbedSettingsView:
    """Turn embedding on or off and set the sites that may frame the webcast."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    origins = list(dict.fromkeys(data.allowed_origins))
    if data.enabled and not origins:
        raise DomainError(
            detail="Name at least one site that may embed the webcast",
            status=422,
            code="validation-error",
            title="Invalid input",
            errors=[InvalidField(field="allowed_origins", reason="must not be empty")],
        )
    settings = get_settings_of(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    changed = [
        name
        for name, value in (("enabled", data.enabled), ("allowed_origins", origins))
        if getattr(settings, name) != value
    ]
    settings.enabled = data.enabled
    settings.allowed_origins = origins
    settings.updated_at = utc_iso()
    settings = operations.upsert(
        embed_settings,
        tenant_id=webcast.tenant_id,
        item=settings,
        actor=principal.actor,
        action="embed.update",
        entity_type="webcast",
        entity_id=webcast.id,
        changed_fields=changed,
        context=context,
    )
    return _view(settings, load_keys(tenant_id=webcast.tenant_id, webcast_id=webcast.id), webcast)


def rotate_secret(
    *, principal: Principal, webcast_id: str, context: RequestContext
) -> RotatedSecret:
    """A new signing secret, returned once; the one it replaces verifies for a grace period."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    moment = now()
    fresh = EmbedKey(kid=new_id(), secret=new_secret_token(), created_at=moment)
    keys = load_keys(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    if keys is None:
        keys = EmbedKeys(
            id=keys_id(webcast.id),
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            current=fresh,
        )
    else:
        keys.previous = keys.current
        keys.previous_valid_until = moment + ROTATION_GRACE_SECONDS
        keys.current = fresh
    keys = store_keys(keys=keys)
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="embed.secret_rotate",
        entity_type="webcast",
        entity_id=webcast.id,
        changed_fields=["secret"],
        context=context,
    )
    return RotatedSecret(
        webcast_id=webcast.id,
        kid=fresh.kid,
        secret=fresh.secret,
        previous_secret_valid_until=keys.previous_valid_until,
    )


def frame_ancestors(*, webcast_id: str) -> tuple[Webcast, list[str]]:
    """The webcast and the sites that may frame it; 404 unless embedding is on."""
    webcast = viewer_webcast(webcast_id, cached=False)
    settings = get_settings_of(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    if not settings.enabled or not settings.allowed_origins:
        raise not_found("Embeddable webcast")
    return webcast, settings.allowed_origins


def _refused(reason: str, webcast_id: str) -> DomainError:
    log.info("embed token refused for webcast %s: %s", webcast_id, reason)
    return DomainError(
        detail=f"The embed token {reason}",
        status=401,
        code="invalid-token",
        title="Unauthorized",
        errors=[InvalidField(field="token", reason=reason)],
    )


def _number(claims: dict[str, Any], name: str, webcast_id: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refused(f"has a '{name}' claim that is not a number", webcast_id)
    return float(value)


def _optional_text(claims: dict[str, Any], name: str, limit: int, webcast_id: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _refused(
            f"has a '{name}' claim that is not a text of 1-{limit} characters", webcast_id
        )
    return value.strip()


def _candidates(keys: EmbedKeys, kid: object) -> list[EmbedKey]:
    found = [keys.current]
    if keys.previous and keys.previous_valid_until and now() < keys.previous_valid_until:
        found.append(keys.previous)
    if kid is not None:
        found = [key for key in found if key.kid == kid]
    return found


def _decode(token: str, keys: EmbedKeys, webcast_id: str) -> tuple[dict[str, Any], EmbedKey]:
    """Signature, algorithm and audience by PyJWT; times against the platform clock."""
    import jwt  # on first use: the API's cold start need not pay for it

    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise _refused("is not a well-formed JWT", webcast_id) from error
    if header.get("alg") != ALGORITHM:
        raise _refused(f"must be signed with {ALGORITHM}", webcast_id)
    for key in _candidates(keys, header.get("kid")):
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.secret,
                algorithms=[ALGORITHM],
                audience=webcast_id,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "iat", "aud", "jti"],
                    "strict_aud": True,
                    "enforce_minimum_key_length": True,
                    # Checked below against the platform clock (shared.clock), with the
                    # same leeway: one notion of time for tokens, sessions and the jti store.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.MissingRequiredClaimError as error:
            raise _refused(f"lacks the '{error.claim}' claim", webcast_id) from error
        except jwt.InvalidAudienceError as error:
            raise _refused("is meant for another audience than this webcast", webcast_id) from error
        except jwt.InvalidTokenError as error:
            raise _refused("is not valid", webcast_id) from error
        return claims, key
    raise _refused("is not signed with a current secret of this webcast", webcast_id)


def _check_times(claims: dict[str, Any], webcast_id: str) -> float:
    """The moment the token expires; refuses expired, future and long-lived tokens."""
    moment = now()
    issued = _number(claims, "iat", webcast_id)
    expires = _number(claims, "exp", webcast_id)
    if expires <= moment - LEEWAY_SECONDS:
        raise _refused("has expired", webcast_id)
    if issued > moment + LEEWAY_SECONDS:
        raise _refused("is issued in the future", webcast_id)
    if "nbf" in claims and _number(claims, "nbf", webcast_id) > moment + LEEWAY_SECONDS:
        raise _refused("is not valid yet", webcast_id)
    if expires <= issued or expires - issued > MAX_TOKEN_LIFETIME:
        raise _refused(f"must expire within {MAX_TOKEN_LIFETIME} seconds of 'iat'", webcast_id)
    return expires


def _spend_jti(webcast: Webcast, jti: str, expires: float) -> None:
    """Each token works once: its jti is kept (as a hash) until the token has expired."""
    spent_first = remember_spent(
        key=f"embed-jti:{webcast.id}:{jti}",
        purpose=JTI_PURPOSE,
        tenant_id=webcast.tenant_id,
        owner=f"{webcast.id}/embed",
        until=expires + LEEWAY_SECONDS,
    )
    if not spent_first:
        raise _refused("was used already", webcast.id)


def _form_answers(webcast: Webcast, name: str | None) -> dict[str, Any]:
    """The token's name goes into the form's `name` field, only when the form asks for one."""
    if not name:
        return {}
    form = registration_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    if any(f.id == "name" and not f.removed for f in form.fields):
        return {"name": name}
    return {}


def _participant_for(
    webcast: Webcast, claims: dict[str, Any], key: EmbedKey, context: RequestContext
) -> str:
    """Create or update the participant the customer's server vouches for; its id."""
    sub = _optional_text(claims, "sub", _MAX_SUB, webcast.id)
    assert sub is not None
    email = _optional_text(claims, "email", 320, webcast.id)
    name = _optional_text(claims, "name", 200, webcast.id)
    answers = _form_answers(webcast, name)
    # Found by its own key space, which self-registrations and imports cannot write.
    known = participant_by_external_id(
        tenant_id=webcast.tenant_id, webcast_id=webcast.id, external_id=sub
    )
    unchanged = (
        known is not None
        and (email is None or (known.email or "") == email.lower())
        and all(known.answers.get(k) == v for k, v in answers.items())
    )
    if known is not None and unchanged:
        participant = known
    else:
        participant = save_participant(
            webcast=webcast,
            data=ParticipantInput(email=email, answers=answers),
            source="embed",
            actor=Actor(kind=ActorKind.system, id=f"embed-key:{key.kid}", role="embed-token"),
            context=context,
            external_id=sub,
        ).participant
    if participant.status != ParticipantStatus.active:
        raise forbidden("This participant is disabled for the webcast")
    operations.record_event(
        tenant_id=webcast.tenant_id,
        actor=participant_actor(participant.id),
        action="participant.sign_in_embed",
        entity_type="participant",
        entity_id=participant.id,
        context=context,
    )
    return participant.id


def exchange(
    *, webcast_id: str, token: str, current_token: str | None, context: RequestContext
) -> sessions.IssuedViewerSession:
    """Verify a customer server's embed token once and grant the embedded session; a token
    without identity claims grants anonymous viewing."""
    webcast = viewer_webcast(webcast_id, cached=False)
    settings = get_settings_of(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    if not settings.enabled:
        raise forbidden("Embedding is not enabled for this webcast")
    keys = load_keys(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    if keys is None:
        raise forbidden("This webcast has no embed signing secret yet")
    claims, key = _decode(token, keys, webcast.id)
    expires = _check_times(claims, webcast.id)
    jti = _optional_text(claims, "jti", 200, webcast.id)
    if jti is None:
        raise _refused("lacks the 'jti' claim", webcast.id)
    identified = any(claims.get(name) is not None for name in ("sub", "email", "name"))
    if identified and claims.get("sub") is None:
        raise _refused("names a person without a 'sub' claim", webcast.id)
    if identified:
        _optional_text(claims, "sub", _MAX_SUB, webcast.id)
    _spend_jti(webcast, jti, expires)
    participant_id = _participant_for(webcast, claims, key, context) if identified else None
    return sessions.grant(
        current_token=current_token,
        webcast_id=webcast.id,
        participant_id=participant_id,
        embedded=True,
    )
