"""Create the database, containers and queues on the local emulators (Bicep does it in Azure)."""

from contextlib import suppress

from azure.core.exceptions import ResourceExistsError
from azure.cosmos import PartitionKey

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
    for queue_spec in QUEUES:
        with suppress(ResourceExistsError):
            queue_service().create_queue(queue_name(queue_spec.name))
