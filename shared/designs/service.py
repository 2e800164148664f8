"""Page designs: admins edit a draft, preview it and publish it (an audited write that renders
the rich text once); viewers read the published version, or a default page without one.

Every version is a document in the webcast's partition of `designs`: the draft (version 0)
names the published version, and each publication adds one, so what viewers saw stays as it
was until the next one.
"""

from dataclasses import dataclass

from shared import richtext
from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth.models import Principal
from shared.cache import ShortCache
from shared.clock import utc_iso
from shared.designs import images
from shared.designs import theme as contrast
from shared.designs.models import (
    Block,
    BlockKind,
    BlockText,
    Design,
    DesignInput,
    DraftView,
    ImagePurpose,
    ImageStatus,
    PageImage,
    PageState,
    PageTheme,
    PublishedDesign,
    PublishResult,
    RenderedBlock,
    RenderedSpeaker,
    RenderedText,
    Speaker,
    Theme,
)
from shared.designs.repository import designs
from shared.errors import DomainError, InvalidField, conflict, invalid_fields
from shared.webcasts.models import AccessMode, Webcast
from shared.webcasts.service import MANAGER, admin_webcast, viewer_webcast

DRAFT = 0
# Viewers of a webcast read its design with every page load: each process keeps it briefly.
VIEWER_CACHE_SECONDS = 5.0
# Blocks whose texts are Markdown.
_MARKDOWN_KINDS = {BlockKind.intro, BlockKind.rich_text, BlockKind.footer}
_TALK = [PageState.live, PageState.on_demand]
# Versions a publication may find stored but unnamed by the draft; draft re-reads it tries.
_MAX_UNNAMED_VERSIONS = 5
_NAMING_ATTEMPTS = 5

_published: ShortCache[PublishedDesign | None] = ShortCache(seconds=VIEWER_CACHE_SECONDS)


def design_id(webcast_id: str, version: int) -> str:
    return f"design:{webcast_id}:{'draft' if version == DRAFT else f'v{version}'}"


def default_blocks() -> list[Block]:
    """The page of a webcast without a design: everything a viewer needs, in a sensible order."""
    return [
        Block(id="intro", kind=BlockKind.intro),
        Block(id="countdown", kind=BlockKind.countdown, states=[PageState.waiting]),
        Block(id="entry", kind=BlockKind.entry),
        Block(id="recording", kind=BlockKind.recording_notice, states=[PageState.live]),
        Block(id="player", kind=BlockKind.player, states=[*_TALK, PageState.ended]),
        Block(id="messages", kind=BlockKind.messages, states=_TALK),
        Block(id="poll", kind=BlockKind.poll, states=_TALK),
        Block(id="downloads", kind=BlockKind.downloads),
        Block(id="legal", kind=BlockKind.legal),
    ]


def _check(webcast: Webcast, data: DesignInput) -> None:
    """Everything a publication would refuse, named by field, so that a draft saves only
    what can be published."""
    errors: list[InvalidField] = []
    languages = set(webcast.languages)
    seen: set[str] = set()
    found = images.images_of(webcast) if images.referenced(data.theme, data.blocks) else {}
    for index, block in enumerate(data.blocks):
        where = f"blocks.{index}"
        if block.id in seen:
            errors.append(InvalidField(f"{where}.id", "is used by another block"))
        seen.add(block.id)
        for language, text in block.texts.items():
            if language not in languages:
                errors.append(
                    InvalidField(
                        f"{where}.texts.{language.value}", "is not a language of the webcast"
                    )
                )
            if text.body and block.kind not in _MARKDOWN_KINDS:
                errors.append(
                    InvalidField(f"{where}.texts.{language.value}.body", "this block has no text")
                )
            try:
                richtext.render(text.body)
            except richtext.RichTextError as refused:
                errors.append(InvalidField(f"{where}.texts.{language.value}.body", str(refused)))
        speakers = [speaker.id for speaker in block.speakers]
        if len(set(speakers)) != len(speakers):
            errors.append(InvalidField(f"{where}.speakers", "speaker ids must differ"))
        for position, speaker in enumerate(block.speakers):
            errors += _image_errors(
                found, speaker.photo, ImagePurpose.speaker, f"{where}.speakers.{position}.photo"
            )
    errors += _theme_image_errors(webcast, data.theme, found)
    pairs = (("text", data.theme.text), ("accent", data.theme.accent))
    for name, colour in pairs:
        ratio = contrast.contrast(colour, data.theme.background)
        if ratio < contrast.MIN_CONTRAST:
            errors.append(
                InvalidField(
                    f"theme.{name}",
                    f"has a contrast of {ratio:.2f}:1 with the background; WCAG AA needs "
                    f"{contrast.MIN_CONTRAST}:1",
                )
            )
    if errors:
        raise invalid_fields(errors)


def _image_errors(
    found: dict[str, PageImage], image_id: str | None, purpose: ImagePurpose, field: str
) -> list[InvalidField]:
    if image_id is None:
        return []
    image = found.get(image_id)
    if image is None or image.purpose != purpose:
        return [InvalidField(field, f"is not a {purpose.value} image of this webcast")]
    if image.status != ImageStatus.ready:
        return [InvalidField(field, f"is {image.status.value.replace('_', ' ')}, not ready")]
    return []


def _theme_image_errors(
    webcast: Webcast, theme: Theme, found: dict[str, PageImage]
) -> list[InvalidField]:
    errors = _image_errors(found, theme.logo, ImagePurpose.logo, "theme.logo")
    errors += _image_errors(
        found, theme.background_image, ImagePurpose.background, "theme.background_image"
    )
    for language in theme.logo_alt:
        if language not in webcast.languages:
            errors.append(
                InvalidField(f"theme.logo_alt.{language.value}", "is not a language of the webcast")
            )
    if theme.logo is not None:
        for language in webcast.languages:
            if not theme.logo_alt.get(language):
                errors.append(
                    InvalidField(
                        f"theme.logo_alt.{language.value}",
                        "must say what the logo shows (screen readers read it out)",
                    )
                )
    return errors


def _draft(webcast: Webcast) -> Design | None:
    return designs.get(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        item_id=design_id(webcast.id, DRAFT),
    )


def _draft_view(webcast: Webcast, draft: Design | None) -> DraftView:
    if draft is None:
        return DraftView(
            webcast_id=webcast.id,
            theme=Theme(),
            blocks=default_blocks(),
            updated_at=None,
            published_version=None,
        )
    return DraftView(
        webcast_id=webcast.id,
        theme=draft.theme,
        blocks=draft.blocks,
        updated_at=draft.updated_at,
        published_version=draft.published_version,
    )


def _rendered_text(kind: BlockKind, text: BlockText) -> RenderedText:
    html = richtext.render(text.body) if kind in _MARKDOWN_KINDS else ""
    return RenderedText(heading=text.heading, html=html)


def _image_url(webcast_id: str, image_id: str | None) -> str | None:
    return images.image_path(webcast_id, image_id) if image_id else None


def _rendered_speaker(webcast_id: str, speaker: Speaker) -> RenderedSpeaker:
    return RenderedSpeaker(
        id=speaker.id,
        name=speaker.name,
        role={language.value: role for language, role in speaker.role.items()},
        photo_url=_image_url(webcast_id, speaker.photo),
    )


def render(
    *, webcast_id: str, version: int, published_at: str | None, theme: Theme, blocks: list[Block]
) -> PublishedDesign:
    """The design as viewers get it: rich text as sanitised HTML, the button text colour,
    images as paths on the page's origin."""
    return PublishedDesign(
        webcast_id=webcast_id,
        version=version,
        published_at=published_at,
        theme=PageTheme(
            background=theme.background,
            text=theme.text,
            accent=theme.accent,
            accent_text=contrast.text_on(theme.accent),
            font=theme.font,
            logo_url=_image_url(webcast_id, theme.logo),
            logo_alt={language.value: alt for language, alt in theme.logo_alt.items()},
            background_image_url=_image_url(webcast_id, theme.background_image),
        ),
        blocks=[
            RenderedBlock(
                id=block.id,
                kind=block.kind,
                states=block.states,
                texts={
                    language.value: _rendered_text(block.kind, text)
                    for language, text in block.texts.items()
                },
                agenda=block.agenda,
                speakers=[_rendered_speaker(webcast_id, s) for s in block.speakers],
                imprint_url=block.imprint_url,
                privacy_url=block.privacy_url,
            )
            for block in blocks
        ],
    )


def get_draft(*, principal: Principal, webcast_id: str) -> DraftView:
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=False)
    return _draft_view(webcast, _draft(webcast))


def save_draft(
    *, principal: Principal, webcast_id: str, data: DesignInput, context: RequestContext
) -> DraftView:
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    _check(webcast, data)
    saved = _store_draft(webcast, principal, data)
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="design.save",
        entity_type="design",
        entity_id=webcast.id,
        changed_fields=["blocks", "theme"],
        context=context,
    )
    return _draft_view(webcast, saved)


def _store_draft(webcast: Webcast, principal: Principal, data: DesignInput) -> Design:
    """The new draft, keeping the version it names: written only over the draft it read, so
    that a publication naming its version meanwhile is not undone."""
    for _ in range(_NAMING_ATTEMPTS):
        current = _draft(webcast)
        draft = Design(
            id=design_id(webcast.id, DRAFT),
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            version=DRAFT,
            theme=data.theme,
            blocks=data.blocks,
            updated_at=utc_iso(),
            updated_by=principal.account_id,
            published_version=current.published_version if current else None,
        )
        try:
            if current is None:
                return designs.create(tenant_id=webcast.tenant_id, item=draft)
            draft.etag = current.etag
            return designs.replace(tenant_id=webcast.tenant_id, item=draft)
        except DomainError as error:
            if error.status not in (409, 412):
                raise
    raise conflict("The draft kept changing while it was saved: save again")


def preview(*, principal: Principal, webcast_id: str) -> PublishedDesign:
    """The draft as viewers would see it once published (nothing is stored)."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=False)
    view = _draft_view(webcast, _draft(webcast))
    return render(
        webcast_id=webcast.id,
        version=DRAFT,
        published_at=None,
        theme=view.theme,
        blocks=view.blocks,
    )


def _next_version(webcast: Webcast, draft: Design) -> int:
    """The version after the one the draft names, past any that a publication stored
    without getting to name it (a draft saved meanwhile, or a crash in between)."""
    version = (draft.published_version or 0) + 1
    for _ in range(_MAX_UNNAMED_VERSIONS):
        taken = designs.get(
            tenant_id=webcast.tenant_id,
            partition_key=webcast.id,
            item_id=design_id(webcast.id, version),
        )
        if taken is None:
            return version
        version += 1
    raise conflict("The design's versions are out of step: publish again")


def _name_published(webcast: Webcast, version: int) -> None:
    """The draft names the new version; a draft saved meanwhile keeps its content and is
    read again (its etag changed), so the publication is never lost."""
    for _ in range(_NAMING_ATTEMPTS):
        draft = _draft(webcast)
        if draft is None or (draft.published_version or 0) >= version:
            return
        draft.published_version = version
        try:
            designs.replace(tenant_id=webcast.tenant_id, item=draft)
            return
        except DomainError as error:
            if error.status != 412:
                raise
    raise conflict("The draft kept changing while it was published: publish again")


def publish(*, principal: Principal, webcast_id: str, context: RequestContext) -> PublishResult:
    """The draft becomes the next published version; viewers see it within seconds."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    draft = _draft(webcast)
    if draft is None:
        raise conflict("There is no draft to publish: save one first")
    _check(webcast, DesignInput(theme=draft.theme, blocks=draft.blocks))
    version = _next_version(webcast, draft)
    moment = utc_iso()
    operations.create(
        designs,
        tenant_id=webcast.tenant_id,
        item=Design(
            id=design_id(webcast.id, version),
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            version=version,
            theme=draft.theme,
            blocks=draft.blocks,
            rendered=render(
                webcast_id=webcast.id,
                version=version,
                published_at=moment,
                theme=draft.theme,
                blocks=draft.blocks,
            ),
            updated_at=moment,
            updated_by=principal.account_id,
        ),
        actor=principal.actor,
        action="design.publish",
        entity_type="design",
        entity_id=webcast.id,
        changed_fields=["version"],
        context=context,
    )
    _name_published(webcast, version)
    _published.forget(webcast.id)
    return PublishResult(webcast_id=webcast.id, version=version, published_at=moment)


@dataclass(frozen=True)
class ViewerDesign:
    design: PublishedDesign
    # Only a public webcast's design may sit in shared caches.
    public: bool


def _load_published(webcast: Webcast) -> PublishedDesign | None:
    draft = _draft(webcast)
    if draft is None or draft.published_version is None:
        return None
    found = designs.get(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        item_id=design_id(webcast.id, draft.published_version),
    )
    return found.rendered if found is not None else None


def viewer_design(webcast_id: str) -> ViewerDesign:
    """The published design, or the default page; readable before entering, like the
    webcast's public information (the entry page shows it)."""
    webcast = viewer_webcast(webcast_id)
    published = _published.get(webcast.id, lambda: _load_published(webcast))
    design = published or render(
        webcast_id=webcast.id,
        version=DRAFT,
        published_at=None,
        theme=Theme(),
        blocks=default_blocks(),
    )
    return ViewerDesign(design=design, public=webcast.access_mode == AccessMode.public)


@dataclass(frozen=True)
class ViewerImage:
    url: str
    public: bool  # the redirect may sit in shared caches, as the design may


def viewer_image(webcast_id: str, image_id: str) -> ViewerImage:
    """A read URL of an image that the webcast's published design shows."""
    webcast = viewer_webcast(webcast_id)
    found = viewer_design(webcast_id)
    url = images.viewer_image_url(
        tenant_id=webcast.tenant_id, design=found.design, image_id=image_id
    )
    return ViewerImage(url=url, public=found.public)


def rendered_again(design: Design) -> Design:
    """A published version restored from a backup, rendered again from its blocks: no
    HTML of the backup reaches viewers."""
    if design.rendered is None:
        return design
    return design.model_copy(
        update={
            "rendered": render(
                webcast_id=design.webcast_id,
                version=design.version,
                published_at=design.rendered.published_at,
                theme=design.theme,
                blocks=design.blocks,
            )
        }
    )
