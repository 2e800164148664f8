"""A webcast's page design: a theme and an ordered list of blocks, each shown in some of the
page's states, with texts per language. Stored as a draft and as published versions."""

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.cosmos.repository import Document
from shared.text import LINE_BREAKS, InputModel
from shared.webcasts.models import Language

CONTAINER = "designs"
MAX_BLOCKS = 40
MAX_AGENDA_ITEMS = 50
MAX_SPEAKERS = 50
MAX_TITLE = 300
MAX_MARKDOWN = 20_000

BlockId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TITLE)]
Markdown = Annotated[str, StringConstraints(max_length=MAX_MARKDOWN), LINE_BREAKS]
HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s<>\"']{1,2000}$")]


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


class DesignInput(Strict):
    """What an admin saves as the draft."""

    theme: Theme = Theme()
    blocks: Annotated[list[Block], Field(max_length=MAX_BLOCKS)]


class RenderedText(BaseModel):
    heading: str
    # Sanitised HTML rendered from the block's Markdown when the design was published.
    html: str


class RenderedBlock(BaseModel):
    id: str
    kind: BlockKind
    states: list[PageState]
    texts: dict[str, RenderedText]
    agenda: list[AgendaItem]
    speakers: list[Speaker]
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
