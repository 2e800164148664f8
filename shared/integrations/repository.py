"""Embed settings, embed keys and server credentials live in the tenant's webcast partition."""

from shared.cosmos.repository import TenantRepository
from shared.integrations.models import EmbedKeys, EmbedSettings, ServerCredential

embed_settings = TenantRepository(container="webcasts", model=EmbedSettings)
embed_keys = TenantRepository(container="webcasts", model=EmbedKeys)
credentials = TenantRepository(container="webcasts", model=ServerCredential)


def settings_id(webcast_id: str) -> str:
    return f"embed:{webcast_id}"


def keys_id(webcast_id: str) -> str:
    return f"embed-keys:{webcast_id}"


def credential_doc_id(credential_id: str) -> str:
    return f"server-credential:{credential_id}"


def get_settings_of(*, tenant_id: str, webcast_id: str) -> EmbedSettings:
    """The webcast's embed settings; embedding is off until the customer turns it on."""
    found = embed_settings.get(tenant_id=tenant_id, item_id=settings_id(webcast_id))
    return found or EmbedSettings(
        id=settings_id(webcast_id), tenant_id=tenant_id, webcast_id=webcast_id
    )


def load_keys(*, tenant_id: str, webcast_id: str) -> EmbedKeys | None:
    """The webcast's signing secrets (Key Vault in Azure, a document locally)."""
    return embed_keys.get(tenant_id=tenant_id, item_id=keys_id(webcast_id))


def store_keys(*, keys: EmbedKeys) -> EmbedKeys:
    """Store rotated secrets; an etag makes two concurrent rotations fail instead of mixing."""
    if keys.etag:
        return embed_keys.replace(tenant_id=keys.tenant_id, item=keys)
    return embed_keys.create(tenant_id=keys.tenant_id, item=keys)
