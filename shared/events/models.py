"""Event Grid BlobCreated events, as Event Grid delivers them into a Storage queue."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

BLOB_CREATED = "Microsoft.Storage.BlobCreated"


class BlobCreatedData(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    api: str = "PutBlob"
    e_tag: str | None = Field(default=None, alias="eTag")
    content_type: str | None = Field(default=None, alias="contentType")
    content_length: int = Field(default=0, alias="contentLength")
    blob_type: str = Field(default="BlockBlob", alias="blobType")
    url: str


class EventGridEvent(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    id: str
    topic: str = ""
    subject: str
    event_type: str = Field(alias="eventType")
    event_time: str = Field(alias="eventTime")
    data: BlobCreatedData
    data_version: str = Field(default="", alias="dataVersion")
    metadata_version: str = Field(default="1", alias="metadataVersion")

    @property
    def container(self) -> str:
        return self.subject.split("/containers/", 1)[1].split("/", 1)[0]

    @property
    def happened_at(self) -> datetime:
        return datetime.fromisoformat(self.event_time.replace("Z", "+00:00")).astimezone(UTC)

    @property
    def blob_name(self) -> str:
        return self.subject.split("/blobs/", 1)[1]

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
