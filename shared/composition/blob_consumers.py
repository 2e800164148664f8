"""Which feature consumes the BlobCreated events of which blob container.

The `blob_created` trigger dispatches over this table, and the local runner watches exactly
these containers; a container missing here has its events dropped as unconsumed.
"""

from collections.abc import Mapping

from shared.downloads import models as downloads_models
from shared.downloads import service as downloads
from shared.events.service import BlobConsumer
from shared.media import service as media
from shared.media.models import UPLOADS
from shared.participants.imports import files as import_files
from shared.participants.imports import worker as import_worker

BLOB_CONSUMERS: Mapping[str, BlobConsumer] = {
    UPLOADS: media.on_upload_created,
    import_files.CONTAINER: import_worker.on_source_created,
    downloads_models.CONTAINER: downloads.on_file_created,
}
