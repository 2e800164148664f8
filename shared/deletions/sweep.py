"""Delete, then count, everything of one webcast in every store of the catalogue.

Stores are found from `shared.stores`, not from the features: a document names its webcast
by `webcast_id`, by being the webcast or naming it in its `id` (job markers and mail
throttles are keyed `{kind}:{webcast}:...`), by a participant-side owner (`{webcast}/...`)
or by a session grant. A store added to the catalogue is swept and counted without a change
here; its documents only have to name their webcast in one of these ways (decision 0047).
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.cosmos import ContainerProxy
from azure.cosmos import exceptions as cosmos_errors

from shared.clients import blob_container_name, blob_service, cosmos_container
from shared.cosmos.repository import is_missing
from shared.deletions.models import StoreCount
from shared.participants.sessions import revoke_webcast
from shared.privacy.blobs import delete_prefix
from shared.stores import BLOB_CONTAINERS, COSMOS_CONTAINERS, CosmosContainerSpec

# Every document that belongs to a webcast matches; values travel as parameters. The tenant
# guard keeps a forged `webcast_id` in another tenant's document out of reach.
_OF_WEBCAST = (
    "(NOT IS_DEFINED(c.tenant_id) OR c.tenant_id = @tenant) AND ("
    "c.webcast_id = @webcast OR CONTAINS(c.id, @webcast) OR STARTSWITH(c.account_id, @owner) "
    "OR IS_DEFINED(c.grants[@webcast]))"
)
_BLOCKED = "(IS_DEFINED(c.blocked_at) AND NOT IS_NULL(c.blocked_at))"
# Deletes run side by side: one at a time, a webcast of 100,000 documents takes minutes.
DELETE_WORKERS = 16
# Counting reads every store: side by side as well.
COUNT_WORKERS = 8
# Participant sessions hold grants for several webcasts: only this webcast's grant goes.
_GRANT_HOLDERS = "sessions"


def swept_containers() -> tuple[CosmosContainerSpec, ...]:
    """The Cosmos containers the deletion empties of the webcast: all but those kept."""
    return tuple(spec for spec in COSMOS_CONTAINERS if spec.kept_after_deletion is None)


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


def _sweep_container(spec: CosmosContainerSpec, tenant_id: str, webcast_id: str) -> int:
    revoked = revoke_webcast(webcast_id) if spec.name == _GRANT_HOLDERS else 0
    container = cosmos_container(spec.name)
    field = spec.partition_key.lstrip("/")
    # `pk` is a computed alias: a document's own field of that name must not shadow it.
    text = f"SELECT c.id, c.{field} AS _pk FROM c WHERE {_OF_WEBCAST} AND NOT {_BLOCKED}"  # noqa: S608
    found = [(item["id"], item["_pk"]) for item in _query(container, text, tenant_id, webcast_id)]
    with ThreadPoolExecutor(max_workers=DELETE_WORKERS) as pool:
        deleted = sum(pool.map(lambda key: _delete_one(container, *key), found))
    return revoked + deleted


def _count(spec: CosmosContainerSpec, tenant_id: str, webcast_id: str, blocked: bool) -> int:
    container = cosmos_container(spec.name)
    state = _BLOCKED if blocked else f"NOT {_BLOCKED}"
    text = f"SELECT VALUE COUNT(1) FROM c WHERE {_OF_WEBCAST} AND {state}"  # noqa: S608
    return sum(int(value) for value in _query(container, text, tenant_id, webcast_id))


def _blob_prefix(tenant_id: str, webcast_id: str) -> str:
    return f"{tenant_id}/{webcast_id}/"


def _count_blobs(container: str, prefix: str) -> int:
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
        return store_key("cosmos", spec.name), StoreCount(
            remaining=_count(spec, tenant_id, webcast_id, blocked=False),
            kept_blocked=_count(spec, tenant_id, webcast_id, blocked=True),
        )

    def blobs(name: str) -> tuple[str, StoreCount]:
        return store_key("blob", name), StoreCount(remaining=_count_blobs(name, prefix))

    # Every count is a scan of its own: one after the other, they take seconds.
    with ThreadPoolExecutor(max_workers=COUNT_WORKERS) as pool:
        found = [
            *pool.map(cosmos, swept_containers()),
            *pool.map(blobs, [spec.name for spec in BLOB_CONTAINERS]),
        ]
    return dict(found)
