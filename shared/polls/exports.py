"""Poll answers as CSV or XLSX (P04): one row per answer, one column per question.

Rows are read shard by shard and written as they come; every cell passes `safe_cell`. The
participant column exists only when the webcast ties poll results to participants.
"""

from collections.abc import Iterator
from typing import Any

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth.models import Principal
from shared.polls.models import CHOICE_TYPES, Poll, PollKind, Question
from shared.polls.repository import VOTE_SHARDS, shard_partition, votes
from shared.polls.service import get as get_poll
from shared.spreadsheet import ExportFile, ExportFormat, export_file, safe_cell
from shared.webcasts.service import find_in_tenant


def _cell(question: Question, value: Any) -> str:
    if value is None:
        return ""
    labels = {o.id: o.label for o in question.options} if question.type in CHOICE_TYPES else {}
    if isinstance(value, list):
        return "; ".join(labels.get(str(v), str(v)) for v in value)
    return labels.get(str(value), str(value))


def _header(poll: Poll, tied: bool) -> list[str]:
    fixed = ["Submitted at"] + (["Participant id"] if tied else [])
    if poll.kind == PollKind.quiz:
        fixed.append("Score")
    return [safe_cell(h) for h in fixed + [q.text for q in poll.questions]]


def _rows(poll: Poll, tied: bool) -> Iterator[list[str]]:
    for shard in range(VOTE_SHARDS):
        partition = shard_partition(webcast_id=poll.webcast_id, poll_id=poll.id, shard=shard)
        for vote in votes.iterate(tenant_id=poll.tenant_id, partition_key=partition):
            fixed: list[Any] = [vote.created_at]
            if tied:
                fixed.append(vote.participant_id or "")
            if poll.kind == PollKind.quiz:
                fixed.append(vote.score)
            cells = [_cell(q, vote.answers.get(q.id)) for q in poll.questions]
            yield [safe_cell(v) for v in (*fixed, *cells)]


def export_answers(
    *,
    principal: Principal,
    webcast_id: str,
    poll_id: str,
    file_format: ExportFormat,
    context: RequestContext,
) -> ExportFile:
    """The answers as a stream; permission checked and the export audited before it starts."""
    poll = get_poll(principal=principal, webcast_id=webcast_id, poll_id=poll_id)
    webcast = find_in_tenant(tenant_id=poll.tenant_id, webcast_id=poll.webcast_id)
    tied = bool(webcast and webcast.privacy.poll_results_tied_to_participant)
    operations.record_event(
        tenant_id=poll.tenant_id,
        actor=principal.actor,
        action="poll.export",
        entity_type="poll",
        entity_id=poll.id,
        changed_fields=["answers", "participant_id"] if tied else ["answers"],
        context=context,
    )
    header = _header(poll, tied)
    rows = _rows(poll, tied)
    return export_file(
        filename=f"poll-{poll.id}.{file_format}",
        file_format=file_format,
        header=header,
        rows=rows,
        sheet="Answers",
    )
