"""A webcast's page design: a theme and an ordered list of blocks, each shown in some of the
page's states, with texts per language. Stored as a draft and as published versions."""

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.blob_sas import UploadTicket
from shared.cosmos.repository import Document
from shared.text import LINE_BREAKS, HttpsUrl, InputModel
from shared.webcasts.models import Language

CONTAINER = "designs"
# Page images: the browser's upload lands in the gated container; what pages show is the
# re-encoded copy in the other (the upload is deleted once it has been read).
IMAGE_UPLOADS = "page-uploads"
IMAGES = "page-images"
MAX_IMAGES = 200
MAX_BLOCKS = 40
MAX_AGENDA_ITEMS = 50
MAX_SPEAKERS = 50
MAX_TITLE = 300
MAX_MARKDOWN = 20_000

BlockId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TITLE)]
Markdown = Annotated[str, StringConstraints(max_length=MAX_MARKDOWN), LINE_BREAKS]
ImageId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class PageState(StrEnum):
    """What the page shows depends on where the webcast stands."""

    waiting = "waiting"  # before the start: the waiting room
    live = "live"
    on_demand = "on_demand"
    ended = "ended"


ALL_STATES = list(PageState)


class BlockKind(StrEnum):
    intro = "intro"  # the title and a teaser
    rich_text = "rich_text"
    agenda = "agenda"
    speakers = "speakers"
    player = "player"
    messages = "messages"
    poll = "poll"
    downloads = "downloads"
    countdown = "countdown"
    entry = "entry"  # the registration or login form, by the webcast's access mode
    recording_notice = "recording_notice"
    legal = "legal"  # imprint and privacy links (required in Germany)
    footer = "footer"


class Font(StrEnum):
    """The fonts a page may use: stacks of fonts that systems ship, so no font file (and no
    font CDN) is needed."""

    system = "system"
    humanist = "humanist"
    serif = "serif"
    rounded = "rounded"
    mono = "mono"


def _distinct_states(states: list[PageState]) -> list[PageState]:
    if len(set(states)) != len(states):
        raise ValueError("each state at most once")
    return states


States = Annotated[
    list[PageState], Field(min_length=1, max_length=4), AfterValidator(_distinct_states)
]


class Strict(InputModel):
    model_config = ConfigDict(extra="forbid")


class BlockText(Strict):
    """A block's texts in one language; which of them a block uses depends on its kind."""

    heading: ShortText = ""
    # Markdown (decision 0056): rich text, the title's teaser, the footer.
    body: Markdown = ""


class AgendaItem(Strict):
    starts_at: Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    title: dict[Language, ShortText]


class Speaker(Strict):
    """A person on stage: personal data of someone who is neither an account nor a
    participant (their own kind of data subject, `speaker_id`)."""

    id: BlockId
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    role: dict[Language, ShortText] = {}
    photo: ImageId | None = None  # a ready `speaker` image of the webcast


class Block(Strict):
    id: BlockId
    kind: BlockKind
    states: States = Field(default_factory=lambda: list(ALL_STATES))
    texts: dict[Language, BlockText] = {}
    agenda: Annotated[list[AgendaItem], Field(max_length=MAX_AGENDA_ITEMS)] = []
    speakers: Annotated[list[Speaker], Field(max_length=MAX_SPEAKERS)] = []
    imprint_url: HttpsUrl | None = None
    privacy_url: HttpsUrl | None = None


class Theme(Strict):
    background: Colour = "#ffffff"
    text: Colour = "#1b1f24"
    accent: Colour = "#0b5cad"
    font: Font = Font.system
    logo: ImageId | None = None  # a ready `logo` image of the webcast
    # What the logo says, in every language of the webcast (it is the page's banner).
    logo_alt: dict[Language, ShortText] = {}
    # A ready `background` image, shown around the page's content (which keeps the colours).
    background_image: ImageId | None = None


class DesignInput(Strict):
    """What an admin saves as the draft."""

    theme: Theme = Theme()
    blocks: Annotated[list[Block], Field(max_length=MAX_BLOCKS)]


class RenderedText(BaseModel):
    heading: str
    # Sanitised HTML rendered from the block's Markdown when the design was published.
    html: str


class RenderedSpeaker(BaseModel):
    id: str
    name: str
    role: dict[str, str]
    photo_url: str | None  # a path on the page's own origin


class RenderedBlock(BaseModel):
    id: str
    kind: BlockKind
    states: list[PageState]
    texts: dict[str, RenderedText]
    agenda: list[AgendaItem]
    speakers: list[RenderedSpeaker]
    imprint_url: str | None
    privacy_url: str | None


class PageTheme(BaseModel):
    """The theme as pages use it: the colours, the button text colour that reads on the
    accent, and the font."""

    background: str
    text: str
    accent: str
    accent_text: str
    font: Font
    # Paths on the page's own origin, which answer with a redirect to the image.
    logo_url: str | None
    logo_alt: dict[str, str]
    background_image_url: str | None


class PublishedDesign(BaseModel):
    """What the participant page renders; the same for every viewer."""

    webcast_id: str
    version: int  # 0: the default page of a webcast without a published design
    published_at: str | None
    theme: PageTheme
    blocks: list[RenderedBlock]


class Design(Document):
    """One version of a webcast's design: the draft (`version` 0) or a published one."""

    doc_type = "page-design"
    tenant_id: str
    webcast_id: str
    version: int
    theme: Theme
    blocks: list[Block]
    # Published versions only: what viewers get, rendered once at publication.
    rendered: PublishedDesign | None = None
    updated_at: str
    updated_by: str | None = None
    published_version: int | None = None  # on the draft: the version viewers see


class DraftView(BaseModel):
    webcast_id: str
    theme: Theme
    blocks: list[Block]
    updated_at: str | None
    published_version: int | None


class PublishResult(BaseModel):
    webcast_id: str
    version: int
    published_at: str


class ImagePurpose(StrEnum):
    """Where an image may be used; it sets the largest size it is scaled to."""

    logo = "logo"
    background = "background"
    speaker = "speaker"


class ImageStatus(StrEnum):
    awaiting_upload = "awaiting_upload"
    processing = "processing"  # the file is there: size, malware scan and decoding are checked
    ready = "ready"
    rejected = "rejected"


class ImageRejection(BaseModel):
    code: (
        str  # too-large, size-mismatch, malware, unscanned, missing, not-an-image, too-many-pixels
    )
    reason: str


class PageImage(Document):
    """An image for a webcast's page, stored beside its designs. A speaker's photo is their
    personal data: it goes with them (`designs.privacy.erase_speaker`)."""

    doc_type = "page-image"
    tenant_id: str
    webcast_id: str
    purpose: ImagePurpose
    size: int  # declared when created
    status: ImageStatus = ImageStatus.awaiting_upload
    rejection: ImageRejection | None = None
    upload_blob: str  # in IMAGE_UPLOADS, deleted once read
    image_blob: str | None = None  # in IMAGES once ready: the re-encoded WebP
    width: int | None = None
    height: int | None = None
    created_by: str
    created_at: str
    updated_at: str
    ready_at: str | None = None


class PageImageCreate(Strict):
    purpose: ImagePurpose
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    size: int = Field(gt=0)


class PageImageView(BaseModel):
    id: str
    webcast_id: str
    purpose: ImagePurpose
    size: int
    status: ImageStatus
    rejection: ImageRejection | None
    width: int | None
    height: int | None
    created_at: str
    ready_at: str | None
    # Once ready: a short-lived read URL of the re-encoded image, for the admins' preview.
    preview_url: str | None

    @classmethod
    def of(cls, image: PageImage, preview_url: str | None) -> "PageImageView":
        fields = image.model_dump(include=set(cls.model_fields))
        return cls.model_validate(
            {**fields, "id": image.id.removeprefix("image:"), "preview_url": preview_url}
        )


class CreatedPageImage(BaseModel):
    image: PageImageView
    upload: UploadTicket
