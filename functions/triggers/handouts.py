"""Handouts: a file landing in the `downloads` container is checked before it is offered."""

from shared.downloads import service
from shared.downloads.models import CONTAINER
from shared.events import service as blob_events

blob_events.register_consumer(CONTAINER, service.on_file_created)
