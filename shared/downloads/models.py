"""Handouts: documents a webcast offers its viewers, stored in `downloads/{tenant}/{webcast}/`.

A handout is created with its declared file name, type and size and gets a write-only upload
URL for `{tenant}/{webcast}/{handout}/{file name}`. When the file lands, its real size, its
first bytes and the malware scan decide: available (offered to viewers with a grant) or
rejected (the file is deleted, the record keeps the reason).
"""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.blob_sas import UploadTicket
from shared.cosmos.repository import Document
from shared.text import InputModel

CONTAINER = "downloads"
MAX_HANDOUTS = 100


class HandoutStatus(StrEnum):
    awaiting_upload = "awaiting_upload"
    scanning = "scanning"  # the file is there; size, type and malware scan are being checked
    available = "available"
    rejected = "rejected"


class HandoutRejection(BaseModel):
    code: str  # too-large, size-mismatch, wrong-type, malware, unscanned, missing
    reason: str


class Handout(Document):
    """Stored in the webcast's partition of `downloads`; holds no personal data."""

    doc_type = "handout"

    tenant_id: str
    webcast_id: str
    title: str
    filename: str  # offered to viewers; keeps the extension of the uploaded file
    content_type: str  # the type the file kind is served with
    size: int  # declared when created, the real size once the file is there
    position: int
    status: HandoutStatus = HandoutStatus.awaiting_upload
    rejection: HandoutRejection | None = None
    blob_name: str
    file_etag: str | None = None  # the version of the file that was checked and is offered
    created_by: str
    created_at: str
    updated_at: str
    uploaded_at: str | None = None
    available_at: str | None = None


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Filename = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class HandoutCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    filename: Filename
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    size: int = Field(gt=0)


class HandoutUpdate(InputModel):
    """A new title, or a new file name for the download (with the same extension)."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    filename: Filename | None = None


class HandoutOrder(InputModel):
    """Handout ids in the order viewers see them; handouts not named follow in their order."""

    model_config = ConfigDict(extra="forbid")

    ids: Annotated[list[str], Field(min_length=1, max_length=MAX_HANDOUTS)]


class HandoutView(BaseModel):
    id: str
    webcast_id: str
    title: str
    filename: str
    content_type: str
    size: int
    position: int
    status: HandoutStatus
    rejection: HandoutRejection | None
    created_at: str
    updated_at: str
    available_at: str | None

    @classmethod
    def of(cls, handout: Handout) -> "HandoutView":
        return cls.model_validate(handout.model_dump(include=set(cls.model_fields)))


class CreatedHandout(BaseModel):
    handout: HandoutView
    upload: UploadTicket


class ViewerHandout(BaseModel):
    """What viewers see of an available handout."""

    id: str
    title: str
    filename: str
    content_type: str
    size: int

    @classmethod
    def of(cls, handout: Handout) -> "ViewerHandout":
        return cls.model_validate(handout.model_dump(include=set(cls.model_fields)))
