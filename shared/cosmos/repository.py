"""Generic Cosmos repositories over pydantic models.

Every query names its partition key and, for tenant data, the tenant in the query text:
the emulator ignores the SDK's partition_key argument, and the text is our tenant guard.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, ClassVar, Generic, TypeVar

from azure.core import MatchConditions
from azure.cosmos import ContainerProxy
from azure.cosmos import exceptions as cosmos_errors
from pydantic import BaseModel, ConfigDict, Field

from shared.clients import cosmos_container
from shared.config import get_settings
from shared.errors import DomainError, conflict, precondition_failed, validation_error

# Records that data protection has blocked (legal hold instead of erasure) carry this field;
# repositories leave them out of every read unless asked explicitly.
BLOCKED_FIELD = "blocked_at"
_NOT_BLOCKED = f"(NOT IS_DEFINED(c.{BLOCKED_FIELD}) OR IS_NULL(c.{BLOCKED_FIELD}))"
MAX_BATCH_OPERATIONS = 100


# Cosmos DB ids have at most 1,023 bytes and partition keys at most 2,048; a longer one
# (an id from a URL) names no document, and the service answers it with an error, not 404.
MAX_ID_BYTES = 1023
MAX_PARTITION_KEY_BYTES = 2048


def _can_exist(item_id: str, partition_key: str) -> bool:
    return (
        len(item_id.encode(errors="surrogatepass")) <= MAX_ID_BYTES
        and len(partition_key.encode(errors="surrogatepass")) <= MAX_PARTITION_KEY_BYTES
    )


class Document(BaseModel):
    """Base of every stored document: id, type discriminator and the Cosmos etag."""

    # pydantic-core caches up to 16,384 value strings; values of documents rarely repeat, and
    # the cached ones pin memory arenas, so a long import's worker grew by 60 MiB.
    model_config = ConfigDict(populate_by_name=True, extra="ignore", cache_strings="keys")
    doc_type: ClassVar[str]

    id: str
    type: str = ""
    etag: str | None = Field(default=None, alias="_etag")
    blocked_at: str | None = None

    def model_post_init(self, context: Any, /) -> None:
        if not self.type:
            self.type = self.doc_type

    def to_item(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"etag"})


T = TypeVar("T", bound=Document)


@dataclass
class Page(Generic[T]):
    items: list[T]
    continuation: str | None


Parameters = dict[str, Any]


def is_missing(error: cosmos_errors.CosmosHttpResponseError) -> bool:
    # The local emulator answers a read of a missing item with 500 instead of 404.
    return error.status_code == 404 or (error.status_code == 500 and get_settings().cosmos_emulator)


class _Base(Generic[T]):
    def __init__(self, *, container: str, model: type[T], partition_field: str) -> None:
        self.container_name = container
        self.model = model
        self.partition_field = partition_field

    @property
    def container(self) -> ContainerProxy:
        return cosmos_container(self.container_name)

    def _parse(self, item: dict[str, Any]) -> T:
        return self.model.model_validate(item)

    def _write(self, item: T, *, create: bool) -> T:
        body = item.to_item()
        try:
            if create:
                stored = self.container.create_item(body)
            else:
                stored = self.container.upsert_item(body)
        except cosmos_errors.CosmosResourceExistsError as error:
            raise conflict(f"{self.model.doc_type} {item.id} exists already") from error
        return self._parse(stored)

    def _replace(self, item: T) -> T:
        """Replace with optimistic concurrency when the model carries an etag."""
        kwargs: dict[str, Any] = {}
        if item.etag:
            kwargs = {"etag": item.etag, "match_condition": MatchConditions.IfNotModified}
        try:
            stored = self.container.replace_item(item.id, item.to_item(), **kwargs)
        except cosmos_errors.CosmosAccessConditionFailedError as error:
            raise precondition_failed() from error
        return self._parse(stored)

    def _read(self, item_id: str, partition_key: str) -> dict[str, Any] | None:
        if not _can_exist(item_id, partition_key):
            return None
        try:
            item: dict[str, Any] = self.container.read_item(item_id, partition_key=partition_key)
        except cosmos_errors.CosmosHttpResponseError as error:
            if is_missing(error):
                return None
            raise
        return item

    def _delete(self, item_id: str, partition_key: str) -> bool:
        if not _can_exist(item_id, partition_key):
            return False
        try:
            self.container.delete_item(item_id, partition_key=partition_key)
        except cosmos_errors.CosmosHttpResponseError as error:
            if is_missing(error):
                return False
            raise
        return True

    def _select(
        self,
        *,
        guards: list[tuple[str, Any]],
        where: str,
        parameters: Parameters | None,
        order_by: str | None,
        include_blocked: bool,
        select: str = "*",
    ) -> tuple[str, list[dict[str, Any]]]:
        clauses = [f"c.{field} = @_g{index}" for index, (field, _) in enumerate(guards)]
        params = [
            {"name": f"@_g{index}", "value": value} for index, (_, value) in enumerate(guards)
        ]
        clauses.append("c.type = @_type")
        params.append({"name": "@_type", "value": self.model.doc_type})
        if not include_blocked:
            clauses.append(_NOT_BLOCKED)
        if where:
            clauses.append(f"({where})")
        for name, value in (parameters or {}).items():
            params.append({"name": name, "value": value})
        # Only code-defined clauses are joined here; every value travels as a parameter.
        text = f"SELECT {select} FROM c WHERE " + " AND ".join(clauses)  # noqa: S608
        if order_by:
            text += f" ORDER BY {order_by}"
        return text, params


class TenantRepository(_Base[T]):
    """Tenant data: every call names the tenant, and nothing of another tenant comes back."""

    def __init__(
        self, *, container: str, model: type[T], partition_field: str = "tenant_id"
    ) -> None:
        super().__init__(container=container, model=model, partition_field=partition_field)

    def _guards(self, tenant_id: str, partition_key: str | None) -> list[tuple[str, Any]]:
        guards: list[tuple[str, Any]] = [("tenant_id", tenant_id)]
        if self.partition_field != "tenant_id":
            if partition_key is None:
                raise ValueError(f"{self.container_name} queries need the partition key")
            guards.insert(0, (self.partition_field, partition_key))
        return guards

    def _check_tenant(self, tenant_id: str, item: T) -> None:
        if getattr(item, "tenant_id", None) != tenant_id:
            raise PermissionError("document of another tenant")

    def create(self, *, tenant_id: str, item: T) -> T:
        self._check_tenant(tenant_id, item)
        return self._write(item, create=True)

    def upsert(self, *, tenant_id: str, item: T) -> T:
        self._check_tenant(tenant_id, item)
        return self._write(item, create=False)

    def create_together(
        self, *, tenant_id: str, partition_key: str, items: Sequence[Document]
    ) -> None:
        """Create documents of one partition (of any type in this container) in one
        transactional batch; raises a 409 DomainError when any of them cannot be created.

        Real Cosmos rolls a failed batch back; the local emulator keeps the creates before
        the failing one, so callers must go on correctly from either state."""
        if len(items) > MAX_BATCH_OPERATIONS:
            raise ValueError(f"a batch holds at most {MAX_BATCH_OPERATIONS} operations")
        for item in items:
            if getattr(item, "tenant_id", None) != tenant_id:
                raise PermissionError("document of another tenant")
            if getattr(item, self.partition_field, None) != partition_key:
                raise ValueError("every document of a batch must be in its partition")
        operations = [("create", (item.to_item(),)) for item in items]
        try:
            self.container.execute_item_batch(operations, partition_key=partition_key)
        except cosmos_errors.CosmosBatchOperationError as error:
            raise conflict(f"a batch of {len(items)} documents was refused") from error

    def replace(self, *, tenant_id: str, item: T) -> T:
        self._check_tenant(tenant_id, item)
        return self._replace(item)

    def get(
        self,
        *,
        tenant_id: str,
        item_id: str,
        partition_key: str | None = None,
        include_blocked: bool = False,
    ) -> T | None:
        raw = self._read(item_id, partition_key or tenant_id)
        if (
            raw is None
            or raw.get("tenant_id") != tenant_id
            or raw.get("type") != self.model.doc_type
        ):
            return None
        if raw.get(BLOCKED_FIELD) and not include_blocked:
            return None
        return self._parse(raw)

    def delete(self, *, tenant_id: str, item_id: str, partition_key: str | None = None) -> bool:
        if (
            self.get(
                tenant_id=tenant_id,
                item_id=item_id,
                partition_key=partition_key,
                include_blocked=True,
            )
            is None
        ):
            return False
        return self._delete(item_id, partition_key or tenant_id)

    def query(
        self,
        *,
        tenant_id: str,
        where: str = "",
        parameters: Parameters | None = None,
        order_by: str | None = None,
        partition_key: str | None = None,
        include_blocked: bool = False,
    ) -> list[T]:
        return list(
            self.iterate(
                tenant_id=tenant_id,
                where=where,
                parameters=parameters,
                order_by=order_by,
                partition_key=partition_key,
                include_blocked=include_blocked,
            )
        )

    def iterate(
        self,
        *,
        tenant_id: str,
        where: str = "",
        parameters: Parameters | None = None,
        order_by: str | None = None,
        partition_key: str | None = None,
        include_blocked: bool = False,
    ) -> Iterator[T]:
        text, params = self._select(
            guards=self._guards(tenant_id, partition_key),
            where=where,
            parameters=parameters,
            order_by=order_by,
            include_blocked=include_blocked,
        )
        for raw in self.container.query_items(
            text, parameters=params, partition_key=partition_key or tenant_id
        ):
            yield self._parse(raw)

    def iterate_webcast(self, *, tenant_id: str, webcast_id: str) -> Iterator[T]:
        """The tenant's documents of this type for one webcast in every partition of the
        container (a webcast's shard partitions, in one query instead of one per shard): for
        bulk erasure; blocked documents are left out."""
        text, params = self._select(
            guards=[("tenant_id", tenant_id), ("webcast_id", webcast_id)],
            where="",
            parameters=None,
            order_by=None,
            include_blocked=False,
        )
        # Tenant and webcast are in the text: a bounded reader of one webcast's documents.
        for raw in self.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
            text, parameters=params, enable_cross_partition_query=True
        ):
            yield self._parse(raw)

    def iterate_tenant(
        self, *, tenant_id: str, where: str, parameters: Parameters, max_items: int
    ) -> Iterator[T]:
        """Up to `max_items` of the tenant's documents of this type that match `where`, in
        every partition of the container: for a data-subject request across webcasts;
        blocked documents are left out."""
        text, params = self._select(
            guards=[("tenant_id", tenant_id)],
            where=where,
            parameters=parameters,
            order_by=None,
            include_blocked=False,
        )
        # The tenant is in the text; `where` narrows it to one person's documents.
        found = self.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
            text, parameters=params, enable_cross_partition_query=True, max_item_count=max_items
        )
        for raw in islice(found, max_items):
            yield self._parse(raw)

    def page(
        self,
        *,
        tenant_id: str,
        max_items: int,
        continuation: str | None = None,
        where: str = "",
        parameters: Parameters | None = None,
        order_by: str | None = None,
        partition_key: str | None = None,
    ) -> Page[T]:
        text, params = self._select(
            guards=self._guards(tenant_id, partition_key),
            where=where,
            parameters=parameters,
            order_by=order_by,
            include_blocked=False,
        )
        # A token travels in an HTTP header to Cosmos DB: printable ASCII only.
        if continuation is not None and not (continuation.isascii() and continuation.isprintable()):
            raise _bad_continuation()
        pager = self.container.query_items(
            text,
            parameters=params,
            partition_key=partition_key or tenant_id,
            max_item_count=max_items,
        ).by_page(continuation)
        try:
            raw_items = list(next(pager))
        except StopIteration:
            raw_items = []
        except cosmos_errors.CosmosHttpResponseError as error:
            if continuation is not None and error.status_code == 400:
                raise _bad_continuation() from error
            raise
        items = [self._parse(raw) for raw in raw_items]
        token: str | None = getattr(pager, "continuation_token", None)
        return Page(items=items, continuation=token if items else None)


def _bad_continuation() -> DomainError:
    return validation_error("continuation", "is not a continuation token of this list")


class KeyedRepository(_Base[T]):
    """Lookup containers partitioned by id (sessions, tokens, login keys, throttles)."""

    def __init__(self, *, container: str, model: type[T]) -> None:
        super().__init__(container=container, model=model, partition_field="id")

    def create(self, item: T) -> T:
        return self._write(item, create=True)

    def upsert(self, item: T) -> T:
        return self._write(item, create=False)

    def replace(self, item: T) -> T:
        return self._replace(item)

    def get(self, item_id: str) -> T | None:
        raw = self._read(item_id, item_id)
        if raw is None or raw.get("type") != self.model.doc_type:
            return None
        return self._parse(raw)

    def delete(self, item_id: str) -> bool:
        return self._delete(item_id, item_id)

    def scan(self, *, where: str, parameters: Parameters) -> list[T]:
        """A cross-partition query; only for data-subject requests and maintenance jobs."""
        text, params = self._select(
            guards=[], where=where, parameters=parameters, order_by=None, include_blocked=True
        )
        # Keyed containers are partitioned by id: a lookup by any other field (an account's
        # sessions, expired tokens) spans partitions. No caller lists these documents.
        return [
            self._parse(raw)
            for raw in self.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
                text, parameters=params, enable_cross_partition_query=True
            )
        ]
