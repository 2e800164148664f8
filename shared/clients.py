"""Lazy, process-wide Azure SDK clients: emulator keys locally, managed identity in Azure."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from azure.core.utils import CaseInsensitiveDict
from azure.cosmos import ContainerProxy, CosmosClient, DatabaseProxy
from azure.cosmos._cosmos_client_connection import CosmosClientConnection

from shared.config import Settings, get_settings

# The storage SDKs are imported when first used: most API requests never touch them, and
# importing them eagerly costs a cold start about 0.2 s (make bench, cold_import).
if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueClient, QueueServiceClient

_lock = threading.RLock()
_cache: dict[str, Any] = {}


def _credential() -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def _cached(key: str, build: Any) -> Any:
    value = _cache.get(key)
    if value is None:
        with _lock:
            value = _cache.get(key)
            if value is None:
                value = build()
                _cache[key] = value
    return value


def reset_clients() -> None:
    """Forget every client (tests call this after changing settings)."""
    with _lock:
        _cache.clear()


class _PerThreadHeadersConnection(CosmosClientConnection):  # type: ignore[misc]
    """The SDK's connection with `last_response_headers` kept per thread.

    azure-cosmos (4.16 and later) stores the headers of the last response on the connection
    that every thread shares; a query then iterates the dict it stored there (`__QueryFeed`:
    clear() and update()) while another thread's retry wrapper writes throttle counts into
    whatever dict is stored there at that moment, and the query fails with "OrderedDict
    mutated during iteration" (a 500 under load, found by make loadtest). The SDK reads
    these headers only right after a request of the same thread, so per thread is enough."""

    _per_thread: threading.local

    @property
    def last_response_headers(self) -> Any:
        headers = getattr(self._per_thread, "headers", None)
        if headers is None:
            headers = self._per_thread.headers = CaseInsensitiveDict()
        return headers

    @last_response_headers.setter
    def last_response_headers(self, value: Any) -> None:
        self._per_thread.headers = value


def _headers_per_thread(client: CosmosClient) -> CosmosClient:
    connection = client.client_connection
    connection.__dict__["_per_thread"] = threading.local()
    connection.__dict__.pop("last_response_headers", None)
    connection.__class__ = _PerThreadHeadersConnection
    return client


def cosmos_client(settings: Settings | None = None) -> CosmosClient:
    s = settings or get_settings()

    def build() -> CosmosClient:
        if s.cosmos_key and not s.is_azure:
            # The emulator's account answer points the SDK at https; endpoint discovery off
            # keeps it on the plain-http endpoint we started it on.
            return _headers_per_thread(
                CosmosClient(
                    s.cosmos_endpoint,
                    credential=s.cosmos_key,
                    enable_endpoint_discovery=False,
                    connection_verify=False,
                )
            )
        return _headers_per_thread(CosmosClient(s.cosmos_endpoint, credential=_credential()))

    return _cached("cosmos", build)  # type: ignore[no-any-return]


def cosmos_database(settings: Settings | None = None) -> DatabaseProxy:
    s = settings or get_settings()
    return _cached("db", lambda: cosmos_client(s).get_database_client(s.cosmos_database))  # type: ignore[no-any-return]


def physical_name(logical: str, settings: Settings | None = None) -> str:
    """The container name in Cosmos for a registered logical name (per-run prefix in tests)."""
    from shared.stores import cosmos_container_spec

    s = settings or get_settings()
    cosmos_container_spec(logical)
    return f"{s.cosmos_container_prefix}{logical}"


def cosmos_container(logical: str) -> ContainerProxy:
    """The container proxy for a registered logical container name."""
    return _cached(  # type: ignore[no-any-return]
        f"container:{logical}",
        lambda: cosmos_database().get_container_client(physical_name(logical)),
    )


def blob_service() -> BlobServiceClient:
    s = get_settings()

    from azure.storage.blob import BlobServiceClient

    def build() -> BlobServiceClient:
        if s.storage_connection_string and not s.is_azure:
            return BlobServiceClient.from_connection_string(s.storage_connection_string)
        return BlobServiceClient(
            f"https://{s.storage_account_name}.blob.core.windows.net", credential=_credential()
        )

    return _cached("blob", build)  # type: ignore[no-any-return]


def blob_container_name(logical: str) -> str:
    from shared.stores import blob_container_spec

    blob_container_spec(logical)
    return f"{get_settings().storage_prefix}{logical}"


def queue_name(logical: str) -> str:
    from shared.stores import queue_spec

    queue_spec(logical)
    return f"{get_settings().storage_prefix}{logical}"


def queue_service() -> QueueServiceClient:
    s = get_settings()

    from azure.storage.queue import QueueServiceClient

    def build() -> QueueServiceClient:
        if s.storage_connection_string and not s.is_azure:
            return QueueServiceClient.from_connection_string(s.storage_connection_string)
        return QueueServiceClient(
            f"https://{s.storage_account_name}.queue.core.windows.net", credential=_credential()
        )

    return _cached("queue", build)  # type: ignore[no-any-return]


def queue_client(logical_or_physical: str, *, physical: bool = False) -> QueueClient:
    """A queue client speaking base64, as the Functions queue trigger expects."""
    name = logical_or_physical if physical else queue_name(logical_or_physical)

    from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy

    def build() -> QueueClient:
        return queue_service().get_queue_client(
            name,
            message_encode_policy=BinaryBase64EncodePolicy(),
            message_decode_policy=BinaryBase64DecodePolicy(),
        )

    return _cached(f"queue:{name}", build)  # type: ignore[no-any-return]
