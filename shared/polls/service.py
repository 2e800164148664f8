"""Poll and quiz management (P04): create, edit, duplicate, delete, open, close, evaluate.

A poll manager is the owner or a sub-account with the `polls` permission (support under a
grant as well); every write is audited with ids and field names only.
"""

from pydantic import ValidationError

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth.models import Permission, Principal
from shared.clock import now, utc_iso
from shared.errors import conflict, not_found, validation_error
from shared.ids import new_id
from shared.polls import tally
from shared.polls.models import (
    CHOICE_TYPES,
    OpenPoll,
    OptionResult,
    Poll,
    PollInput,
    PollKind,
    PollResults,
    PollStatus,
    PollUpdate,
    PollView,
    Question,
    QuestionResult,
    QuestionType,
    QuestionView,
    Tally,
)
from shared.polls.repository import (
    VOTE_SHARDS,
    failure_id,
    failures,
    get_poll,
    polls,
    shard_partition,
    tallies,
    votes,
)
from shared.webcasts.service import admin_webcast

TEXT_ANSWER_LIMIT = 200


def _poll(principal: Principal, webcast_id: str, poll_id: str, *, write: bool) -> Poll:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.polls, write=write)
    poll = get_poll(tenant_id=webcast.tenant_id, webcast_id=webcast.id, poll_id=poll_id)
    if poll is None:
        raise not_found("Poll")
    return poll


def effective_status(poll: Poll) -> PollStatus:
    """An open poll whose timer ran out is closed, whether or not anyone closed it."""
    if poll.status == PollStatus.open and poll.closes_at is not None and now() >= poll.closes_at:
        return PollStatus.closed
    return poll.status


def max_score(poll: Poll) -> int | None:
    if poll.kind != PollKind.quiz:
        return None
    return sum(q.points for q in poll.questions if q.correct)


def view(poll: Poll, *, reveal: bool = True) -> PollView:
    """The poll as shown; viewers see correct answers only once results are shown."""
    closes_at = utc_iso(poll.closes_at) if poll.closes_at is not None else None
    return PollView(
        id=poll.id,
        webcast_id=poll.webcast_id,
        title=poll.title,
        kind=poll.kind,
        status=effective_status(poll),
        results_shown=poll.results_shown,
        closes_at=closes_at,
        opened_at=poll.opened_at,
        closed_at=poll.closed_at,
        questions=[
            QuestionView(
                id=q.id,
                type=q.type,
                text=q.text,
                options=q.options,
                correct=q.correct if reveal and poll.kind == PollKind.quiz else None,
                points=q.points,
                scale_min=q.scale_min,
                scale_max=q.scale_max,
                max_length=q.max_length,
                required=q.required,
            )
            for q in poll.questions
        ],
        created_at=poll.created_at,
        updated_at=poll.updated_at,
    )


def _replace(
    principal: Principal,
    poll: Poll,
    action: str,
    context: RequestContext,
    changed_fields: list[str],
) -> Poll:
    return operations.replace(
        polls,
        tenant_id=poll.tenant_id,
        item=poll,
        actor=principal.actor,
        action=action,
        entity_type="poll",
        changed_fields=changed_fields,
        context=context,
    )


def create_poll(
    *, principal: Principal, webcast_id: str, data: PollInput, context: RequestContext
) -> Poll:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.polls, write=True)
    at = utc_iso()
    poll = Poll(
        id=new_id(),
        tenant_id=webcast.tenant_id,
        webcast_id=webcast.id,
        partition=webcast.id,
        title=data.title,
        kind=data.kind,
        questions=data.questions,
        created_at=at,
        updated_at=at,
        created_by=principal.account_id,
    )
    saved = operations.create(
        polls,
        tenant_id=webcast.tenant_id,
        item=poll,
        actor=principal.actor,
        action="poll.create",
        entity_type="poll",
        changed_fields=["title", "kind", "questions"],
        context=context,
    )
    return saved


def list_polls(*, principal: Principal, webcast_id: str) -> list[Poll]:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.polls, write=False)
    return polls.query(
        tenant_id=webcast.tenant_id, partition_key=webcast.id, order_by="c.created_at"
    )


def get(*, principal: Principal, webcast_id: str, poll_id: str) -> Poll:
    return _poll(principal, webcast_id, poll_id, write=False)


def _structure(question: Question) -> tuple[object, ...]:
    """What answers, tallies and scores depend on; wording is not part of it."""
    return (
        question.id,
        question.type,
        tuple(o.id for o in question.options),
        tuple(sorted(question.correct)),
        question.points,
        question.scale_min,
        question.scale_max,
        question.max_length,
        question.required,
    )


def _checked_questions(poll: Poll, questions: list[Question]) -> list[Question]:
    """The edited questions under the rules of a whole poll (ids unique, a quiz answerable),
    which the partial edit alone cannot check; a breach is a 422 naming the questions."""
    try:
        return PollInput(title=poll.title, kind=poll.kind, questions=questions).questions
    except ValidationError as error:
        reason = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise validation_error("questions", reason) from None


def update_poll(
    *,
    principal: Principal,
    webcast_id: str,
    poll_id: str,
    data: PollUpdate,
    context: RequestContext,
) -> Poll:
    """A draft changes freely; once opened (votes may exist) only wording may change."""
    poll = _poll(principal, webcast_id, poll_id, write=True)
    changed: list[str] = []
    if data.title is not None and data.title != poll.title:
        poll.title = data.title
        changed.append("title")
    if data.questions is not None and data.questions != poll.questions:
        if poll.status != PollStatus.draft and [_structure(q) for q in data.questions] != [
            _structure(q) for q in poll.questions
        ]:
            raise conflict(
                "Votes may exist: only the wording of questions and options may change; "
                "duplicate the poll to change more",
                "questions",
            )
        poll.questions = _checked_questions(poll, data.questions)
        changed.append("questions")
    if not changed:
        return poll
    poll.updated_at = utc_iso()
    saved = _replace(principal, poll, "poll.update", context, changed)
    return saved


def duplicate_poll(
    *, principal: Principal, webcast_id: str, poll_id: str, context: RequestContext
) -> Poll:
    """A new draft with the same questions and no votes."""
    source = _poll(principal, webcast_id, poll_id, write=True)
    at = utc_iso()
    copy = Poll(
        id=new_id(),
        tenant_id=source.tenant_id,
        webcast_id=source.webcast_id,
        partition=source.partition,
        title=f"{source.title} (copy)"[:1000],
        kind=source.kind,
        questions=source.questions,
        created_at=at,
        updated_at=at,
        created_by=principal.account_id,
    )
    saved = polls.create(tenant_id=copy.tenant_id, item=copy)
    # One entry names both the source and the copy.
    operations.record_bulk(
        tenant_id=saved.tenant_id,
        actor=principal.actor,
        action="poll.duplicate",
        entity_type="poll",
        entity_id=saved.id,
        entity_ids=[source.id, saved.id],
        changed_fields=["title", "kind", "questions"],
        context=context,
    )
    return saved


def remove_votes(poll: Poll) -> int:
    """Delete every vote and tally of the poll, shard by shard."""
    removed = 0
    for shard in range(VOTE_SHARDS):
        partition = shard_partition(webcast_id=poll.webcast_id, poll_id=poll.id, shard=shard)
        for vote in votes.iterate(
            tenant_id=poll.tenant_id, partition_key=partition, include_blocked=True
        ):
            removed += votes.delete(
                tenant_id=poll.tenant_id, partition_key=partition, item_id=vote.id
            )
        for found in tallies.iterate(tenant_id=poll.tenant_id, partition_key=partition):
            tallies.delete(tenant_id=poll.tenant_id, partition_key=partition, item_id=found.id)
        failures.delete(
            tenant_id=poll.tenant_id,
            partition_key=poll.webcast_id,
            item_id=failure_id(poll_id=poll.id, shard=shard),
        )
    return removed


def delete_poll(
    *, principal: Principal, webcast_id: str, poll_id: str, context: RequestContext
) -> None:
    """The poll goes first (no one can answer any more), then its votes and tallies."""
    poll = _poll(principal, webcast_id, poll_id, write=True)
    operations.delete(
        polls,
        tenant_id=poll.tenant_id,
        partition_key=poll.partition,
        item_id=poll.id,
        actor=principal.actor,
        action="poll.delete",
        entity_type="poll",
        context=context,
    )
    remove_votes(poll)
    tally.forget(poll.id)


def open_poll(
    *,
    principal: Principal,
    webcast_id: str,
    poll_id: str,
    data: OpenPoll,
    context: RequestContext,
) -> Poll:
    """Open a draft (or reopen a closed poll), optionally with a timer."""
    poll = _poll(principal, webcast_id, poll_id, write=True)
    if effective_status(poll) == PollStatus.open:
        raise conflict("The poll is open already")
    poll.status = PollStatus.open
    poll.opened_at = poll.opened_at or utc_iso()
    poll.closes_at = now() + data.duration_seconds if data.duration_seconds else None
    poll.closed_at = None
    poll.updated_at = utc_iso()
    saved = _replace(principal, poll, "poll.open", context, ["status", "closes_at"])
    return saved


def close_poll(
    *, principal: Principal, webcast_id: str, poll_id: str, context: RequestContext
) -> Poll:
    """Close and count every vote, so the final results are exact."""
    poll = _poll(principal, webcast_id, poll_id, write=True)
    if poll.status == PollStatus.draft:
        raise conflict("A draft has never been opened")
    if poll.status == PollStatus.open:
        poll.status = PollStatus.closed
        ended = min(now(), poll.closes_at) if poll.closes_at is not None else now()
        poll.closed_at = utc_iso(ended)
        poll.closes_at = None
        poll.updated_at = utc_iso()
        poll = _replace(principal, poll, "poll.close", context, ["status"])
    tally.fold_all(poll=poll)
    return poll


def show_results(
    *, principal: Principal, webcast_id: str, poll_id: str, shown: bool, context: RequestContext
) -> Poll:
    poll = _poll(principal, webcast_id, poll_id, write=True)
    if shown and poll.status == PollStatus.draft:
        raise conflict("A draft has no results")
    if poll.results_shown != shown:
        poll.results_shown = shown
        poll.updated_at = utc_iso()
        poll = _replace(principal, poll, "poll.results_shown", context, ["results_shown"])
        tally.fold_all(poll=poll)
    return poll


def _percent(count: int, total: int) -> float:
    return round(100.0 * count / total, 1) if total else 0.0


def summarize(
    poll: Poll, found: list[Tally], *, text_answers: dict[str, list[str]] | None = None
) -> PollResults:
    """Sum of the shard tallies as counts and percentages per question."""
    responses = sum(t.responses for t in found)
    questions: list[QuestionResult] = []
    for question in poll.questions:
        answered = sum(t.answered.get(question.id, 0) for t in found)
        merged: dict[str, int] = {}
        for t in found:
            for key, count in t.counts.get(question.id, {}).items():
                merged[key] = merged.get(key, 0) + count
        rows: list[OptionResult] = []
        average: float | None = None
        if question.type in CHOICE_TYPES:
            rows = [
                OptionResult(
                    value=o.id,
                    label=o.label,
                    count=merged.get(o.id, 0),
                    percent=_percent(merged.get(o.id, 0), answered),
                    correct=(o.id in question.correct) if poll.kind == PollKind.quiz else None,
                )
                for o in question.options
            ]
        elif question.type == QuestionType.rating:
            values = range(question.scale_min, question.scale_max + 1)
            rows = [
                OptionResult(
                    value=str(v),
                    label=str(v),
                    count=merged.get(str(v), 0),
                    percent=_percent(merged.get(str(v), 0), answered),
                )
                for v in values
            ]
            total = sum(v * merged.get(str(v), 0) for v in values)
            average = round(total / answered, 2) if answered else None
        elif question.type == QuestionType.word_cloud:
            ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
            rows = [
                OptionResult(value=word, label=word, count=count, percent=_percent(count, answered))
                for word, count in ranked[:100]
            ]
        questions.append(
            QuestionResult(
                id=question.id,
                type=question.type,
                text=question.text,
                answered=answered,
                results=rows,
                average=average,
                text_answers=(text_answers or {}).get(question.id)
                if question.type == QuestionType.free_text
                else None,
            )
        )
    top = max_score(poll)
    score_total = sum(t.score_total for t in found)
    return PollResults(
        poll_id=poll.id,
        status=effective_status(poll),
        responses=responses,
        average_score=round(score_total / responses, 2) if top is not None and responses else None,
        max_score=top,
        questions=questions,
    )


def _text_answers(poll: Poll) -> dict[str, list[str]]:
    """Free-text answers for moderators, at most TEXT_ANSWER_LIMIT per question here (the
    export has them all)."""
    wanted = [q.id for q in poll.questions if q.type == QuestionType.free_text]
    found: dict[str, list[str]] = {q: [] for q in wanted}
    if not wanted:
        return found
    for shard in range(VOTE_SHARDS):
        partition = shard_partition(webcast_id=poll.webcast_id, poll_id=poll.id, shard=shard)
        for vote in votes.iterate(tenant_id=poll.tenant_id, partition_key=partition):
            for question_id in wanted:
                text = vote.answers.get(question_id)
                if isinstance(text, str) and len(found[question_id]) < TEXT_ANSWER_LIMIT:
                    found[question_id].append(text)
            if all(len(v) >= TEXT_ANSWER_LIMIT for v in found.values()):
                return found
    return found


def evaluate(
    *, principal: Principal, webcast_id: str, poll_id: str, live: bool = False
) -> PollResults:
    """Moderator results: `live` sums the tallies as they are (cheap, refreshed by the
    workers); otherwise every shard is folded first, so the counts are exact."""
    poll = _poll(principal, webcast_id, poll_id, write=False)
    if not live:
        tally.fold_all(poll=poll)
    summary = summarize(
        poll, tally.shard_tallies(poll=poll, cached=live), text_answers=_text_answers(poll)
    )
    return summary


def failed_shards(poll: Poll) -> list[int]:
    return sorted(
        f.shard
        for f in failures.query(
            tenant_id=poll.tenant_id,
            partition_key=poll.webcast_id,
            where="c.poll_id = @poll",
            parameters={"@poll": poll.id},
        )
    )
