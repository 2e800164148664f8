"""Which feature consumes the BlobCreated events of which blob container.

The `blob_created` trigger dispatches over this table, and the local runner watches exactly
these containers; a container missing here has its events dropped as unconsumed. A blob of a
webcast that is gone (being deleted) reaches no consumer: it is deleted (decision 0048).
"""

from collections.abc import Mapping

from shared.composition import restores
from shared.composition.restore_uploads import CONTAINER as RESTORES
from shared.designs import images as page_images
from shared.designs.models import IMAGE_UPLOADS
from shared.downloads import models as downloads_models
from shared.downloads import service as downloads
from shared.events.models import EventGridEvent
from shared.events.service import BlobConsumer, EventDroppedError, webcast_of_blob
from shared.media import service as media
from shared.media.models import UPLOADS
from shared.participants.imports import files as import_files
from shared.participants.imports import worker as import_worker
from shared.privacy.blobs import delete_prefix
from shared.webcasts.service import is_gone


def unless_gone(container: str, consumer: BlobConsumer) -> BlobConsumer:
    """`consumer`, except for a blob of a webcast that is gone: that blob is deleted."""

    def consume(event: EventGridEvent) -> None:
        owner = webcast_of_blob(event.blob_name)
        if owner is not None and is_gone(tenant_id=owner[0], webcast_id=owner[1]):
            delete_prefix(container, event.blob_name)
            raise EventDroppedError(event.blob_name)
        consumer(event)

    return consume


BLOB_CONSUMERS: Mapping[str, BlobConsumer] = {
    UPLOADS: unless_gone(UPLOADS, media.on_upload_created),
    import_files.CONTAINER: unless_gone(import_files.CONTAINER, import_worker.on_source_created),
    downloads_models.CONTAINER: unless_gone(downloads_models.CONTAINER, downloads.on_file_created),
    IMAGE_UPLOADS: unless_gone(IMAGE_UPLOADS, page_images.on_upload_created),
    # The webcast a restore writes into does not exist until it is done: not `unless_gone`.
    RESTORES: restores.on_upload_created,
}
