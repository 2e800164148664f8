"""Create the database, containers, queues and the Blob CORS rule on the local emulators (Bicep
does it in Azure)."""

from contextlib import suppress

from azure.core.exceptions import ResourceExistsError
from azure.cosmos import PartitionKey
from azure.storage.blob import CorsRule

from shared.clients import (
    blob_container_name,
    blob_service,
    cosmos_client,
    physical_name,
    queue_name,
    queue_service,
)
from shared.config import get_settings, runs_in_azure
from shared.stores import BLOB_CONTAINERS, COSMOS_CONTAINERS, QUEUES

# What the browser sends to Blob (decision 0052): the player's GETs (a Range on byte-range
# segments) and the SAS uploads' PUTs with their x-ms-* headers; what the player and an uploader
# read back. In Azure the Bicep template sets the same rule on the storage account.
BLOB_CORS_METHODS = ["GET", "HEAD", "PUT", "OPTIONS"]
BLOB_CORS_ALLOWED_HEADERS = [
    "x-ms-*",
    "content-type",
    "content-md5",
    "range",
    "if-match",
    "if-none-match",
    "if-modified-since",
]
BLOB_CORS_EXPOSED_HEADERS = [
    "x-ms-*",
    "content-length",
    "content-range",
    "content-type",
    "accept-ranges",
    "etag",
    "last-modified",
    "date",
]
# Browsers cap a cached preflight at 2 h (Chromium) or 24 h (Firefox); one hour is plenty.
BLOB_CORS_MAX_AGE_SECONDS = 3600


def blob_cors_rules(origins: list[str]) -> list[CorsRule]:
    """One rule for the browser origins of the platform; any other origin is refused."""
    return [
        CorsRule(
            allowed_origins=[origin.rstrip("/") for origin in origins],
            allowed_methods=BLOB_CORS_METHODS,
            allowed_headers=BLOB_CORS_ALLOWED_HEADERS,
            exposed_headers=BLOB_CORS_EXPOSED_HEADERS,
            max_age_in_seconds=BLOB_CORS_MAX_AGE_SECONDS,
        )
    ]


class LocalOnlyError(RuntimeError):
    """A command for the emulators or demo data was started in Azure."""


def refuse_in_azure(what: str) -> None:
    """Stop emulator set-up and demo seeding in a process that runs in Azure."""
    if runs_in_azure():
        raise LocalOnlyError(f"{what} is for local work only and refused in Azure")


def ensure_local_resources() -> None:
    refuse_in_azure("Creating containers and queues (Bicep creates them in Azure)")
    settings = get_settings()
    database = cosmos_client().create_database_if_not_exists(settings.cosmos_database)
    for spec in COSMOS_CONTAINERS:
        database.create_container_if_not_exists(
            id=physical_name(spec.name),
            partition_key=PartitionKey(path=spec.partition_key),
            default_ttl=spec.default_ttl,
        )
    for blob_spec in BLOB_CONTAINERS:
        with suppress(ResourceExistsError):
            blob_service().create_container(blob_container_name(blob_spec.name))
    blob_service().set_service_properties(cors=blob_cors_rules(settings.allowed_origins))
    for queue_spec in QUEUES:
        with suppress(ResourceExistsError):
            queue_service().create_queue(queue_name(queue_spec.name))
