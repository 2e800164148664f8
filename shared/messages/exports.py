"""Message export (P05) as CSV or XLSX, streamed; every cell passes `safe_cell`.

Sender columns appear only while the moderators switch is on (P15, P19)."""

from collections.abc import Iterator

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth.models import Permission, Principal
from shared.messages.models import Message
from shared.messages.repository import messages
from shared.messages.service import moderator_views
from shared.spreadsheet import ExportFile, ExportFormat, export_file, safe_cell
from shared.webcasts.models import Webcast
from shared.webcasts.service import admin_webcast

_COLUMNS = ["Id", "Sent at", "Message", "Status", "Priority", "Starred", "Published", "Replies"]
_SENDER_COLUMNS = ["Anonymous", "Sender name", "Sender e-mail"]
_PAGE = 100


def _rows(webcast: Webcast, with_sender: bool) -> Iterator[list[str]]:
    batch: list[Message] = []
    source = messages.iterate(
        tenant_id=webcast.tenant_id, partition_key=webcast.id, order_by="c.created_at"
    )
    while True:
        batch = [m for _, m in zip(range(_PAGE), source, strict=False)]
        if not batch:
            return
        for view in moderator_views(webcast, batch):
            row: list[object] = [
                view.id,
                view.created_at,
                view.text,
                view.status.value,
                view.priority,
                "yes" if view.starred else "no",
                "yes" if view.published else "no",
                " | ".join(
                    f"[{'public' if r.public else 'private'}] {r.text}" for r in view.replies
                ),
            ]
            if with_sender:
                row += [
                    "yes" if view.anonymous else "no",
                    view.sender.name if view.sender else "",
                    (view.sender.email or "") if view.sender else "",
                ]
            yield [safe_cell(value) for value in row]


def export_messages(
    *,
    principal: Principal,
    webcast_id: str,
    file_format: ExportFormat,
    context: RequestContext,
) -> ExportFile:
    """The export as a stream; permission checked and the export audited before it starts."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.moderation, write=False)
    with_sender = webcast.privacy.messages_show_sender_to_moderators
    header = _COLUMNS + (_SENDER_COLUMNS if with_sender else [])
    operations.record_event(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="message.export",
        entity_type="webcast",
        entity_id=webcast.id,
        changed_fields=["text", "status", "priority", "starred", "published", "replies"]
        + (["sender"] if with_sender else []),
        context=context,
    )
    rows = _rows(webcast, with_sender)
    return export_file(
        filename=f"messages-{webcast.slug}.{file_format}",
        file_format=file_format,
        header=header,
        rows=rows,
        sheet="Messages",
    )
