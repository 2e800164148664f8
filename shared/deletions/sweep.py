"""Delete, then count, everything of one webcast in every store of the catalogue.

Stores are found from `shared.stores`, not from the features: a document names its webcast
by `webcast_id`, by being the webcast or naming it in its `id` (job markers and mail
throttles are keyed `{kind}:{webcast}:...`), by a participant-side owner (`{webcast}/...`)
or by a session grant, and the catalogue says which of these ways each container uses, so
that each search is one the index serves. A store added to the catalogue is swept and
counted without a change here (decision 0047).
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.cosmos import ContainerProxy
from azure.cosmos import exceptions as cosmos_errors

from shared.clients import blob_container_name, blob_service, cosmos_container
from shared.cosmos.repository import BLOCKED_FIELD, is_missing
from shared.deletions.models import StoreCount
from shared.participants.sessions import revoke_webcast
from shared.privacy.blobs import delete_prefix
from shared.stores import (
    BLOB_CONTAINERS,
    COSMOS_CONTAINERS,
    CosmosContainerSpec,
    WebcastReference,
)

# The condition for each way a document names its webcast; values travel as parameters.
_REFERENCES = {
    WebcastReference.field: "c.webcast_id = @webcast",
    WebcastReference.own_id: "c.id = @webcast",
    WebcastReference.in_id: "CONTAINS(c.id, @webcast)",
    WebcastReference.owner: "STARTSWITH(c.account_id, @owner)",
    WebcastReference.grant: "IS_DEFINED(c.grants[@webcast])",
}
# The tenant guard keeps a forged `webcast_id` in another tenant's document out of reach.
_TENANT_GUARD = "(NOT IS_DEFINED(c.tenant_id) OR c.tenant_id = @tenant)"
_BLOCKED = f"(IS_DEFINED(c.{BLOCKED_FIELD}) AND NOT IS_NULL(c.{BLOCKED_FIELD}))"
# Deletes run side by side: one at a time, a webcast of 100,000 documents takes minutes.
DELETE_WORKERS = 16
# Counting reads every store: side by side as well.
COUNT_WORKERS = 8
# Participant sessions hold grants for several webcasts: only this webcast's grant goes.
_GRANT_HOLDERS = "sessions"


def swept_containers() -> tuple[CosmosContainerSpec, ...]:
    """The Cosmos containers the deletion empties of the webcast: all but those kept."""
    return tuple(spec for spec in COSMOS_CONTAINERS if spec.kept_after_deletion is None)


def of_webcast(spec: CosmosContainerSpec) -> str:
    """The query condition for the container's documents of the webcast: the ways it names
    them, or every way for a container that declares none (where nothing should be found)."""
    ways = spec.webcast_references or tuple(WebcastReference)
    return f"{_TENANT_GUARD} AND (" + " OR ".join(_REFERENCES[way] for way in ways) + ")"


def _parameters(tenant_id: str, webcast_id: str) -> list[dict[str, Any]]:
    return [
        {"name": "@tenant", "value": tenant_id},
        {"name": "@webcast", "value": webcast_id},
        {"name": "@owner", "value": f"{webcast_id}/"},
    ]


def _query(container: ContainerProxy, text: str, tenant_id: str, webcast_id: str) -> Iterator[Any]:
    # A webcast's documents lie in its own partitions, in the tenant's partition and in keyed
    # containers (by id): finding them all spans partitions. Only the deletion job does this.
    return iter(
        container.query_items(  # nosemgrep: cosmos-query-without-partition-key
            text, parameters=_parameters(tenant_id, webcast_id), enable_cross_partition_query=True
        )
    )


def _delete_one(container: ContainerProxy, item_id: str, partition_key: str) -> bool:
    try:
        container.delete_item(item_id, partition_key=partition_key)
    except cosmos_errors.CosmosHttpResponseError as error:
        if is_missing(error):
            return False  # deleted meanwhile (a second run of the job, a TTL)
        raise
    return True


def delete_documents(container: ContainerProxy, keys: list[tuple[str, str]]) -> int:
    """Delete the documents named by (id, partition key), side by side; how many went."""
    with ThreadPoolExecutor(max_workers=DELETE_WORKERS) as pool:
        return sum(pool.map(lambda key: _delete_one(container, *key), keys))


def _sweep_container(spec: CosmosContainerSpec, tenant_id: str, webcast_id: str) -> int:
    if not spec.webcast_references:
        return 0
    revoked = revoke_webcast(webcast_id) if spec.name == _GRANT_HOLDERS else 0
    container = cosmos_container(spec.name)
    field = spec.partition_key.lstrip("/")
    # `_pk` is a computed alias: a document's own field of that name must not shadow it.
    text = f"SELECT c.id, c.{field} AS _pk FROM c WHERE {of_webcast(spec)} AND NOT {_BLOCKED}"  # noqa: S608
    found = [(item["id"], item["_pk"]) for item in _query(container, text, tenant_id, webcast_id)]
    return revoked + delete_documents(container, found)


def _count(spec: CosmosContainerSpec, tenant_id: str, webcast_id: str) -> StoreCount:
    """What is left of the webcast in the container, and how much of it is kept blocked."""
    container = cosmos_container(spec.name)
    # One read of what is left (normally nothing), counted here rather than in two queries.
    text = f"SELECT c.{BLOCKED_FIELD} FROM c WHERE {of_webcast(spec)}"  # noqa: S608
    left = list(_query(container, text, tenant_id, webcast_id))
    blocked = sum(1 for item in left if item.get(BLOCKED_FIELD))
    return StoreCount(remaining=len(left) - blocked, kept_blocked=blocked)


def _blob_prefix(tenant_id: str, webcast_id: str) -> str:
    return f"{tenant_id}/{webcast_id}/"


def count_blobs(container: str, prefix: str) -> int:
    """How many blobs lie under `prefix` in `container` (logical name)."""
    client = blob_service().get_container_client(blob_container_name(container))
    return sum(1 for _ in client.list_blob_names(name_starts_with=prefix))


def store_key(kind: str, name: str) -> str:
    """A store's name in the counts: `cosmos:participants`, `blob:media`."""
    return f"{kind}:{name}"


def sweep(*, tenant_id: str, webcast_id: str) -> dict[str, StoreCount]:
    """Delete the webcast's documents and blobs from every store, then count what is left;
    blocked records stay and are counted apart."""
    counts: dict[str, StoreCount] = {}
    for spec in swept_containers():
        deleted = _sweep_container(spec, tenant_id, webcast_id)
        counts[store_key("cosmos", spec.name)] = StoreCount(deleted=deleted)
    prefix = _blob_prefix(tenant_id, webcast_id)
    for blob_spec in BLOB_CONTAINERS:
        deleted = delete_prefix(blob_spec.name, prefix)
        counts[store_key("blob", blob_spec.name)] = StoreCount(deleted=deleted)
    for name, left in remaining(tenant_id=tenant_id, webcast_id=webcast_id).items():
        counts[name].remaining = left.remaining
        counts[name].kept_blocked = left.kept_blocked
    return counts


def remaining(*, tenant_id: str, webcast_id: str) -> dict[str, StoreCount]:
    """What every swept store still holds of the webcast (blocked records apart)."""
    prefix = _blob_prefix(tenant_id, webcast_id)

    def cosmos(spec: CosmosContainerSpec) -> tuple[str, StoreCount]:
        return store_key("cosmos", spec.name), _count(spec, tenant_id, webcast_id)

    def blobs(name: str) -> tuple[str, StoreCount]:
        return store_key("blob", name), StoreCount(remaining=count_blobs(name, prefix))

    # One query per store: side by side, they take a fraction of the time.
    with ThreadPoolExecutor(max_workers=COUNT_WORKERS) as pool:
        found = [
            *pool.map(cosmos, swept_containers()),
            *pool.map(blobs, [spec.name for spec in BLOB_CONTAINERS]),
        ]
    return dict(found)
