"""The viewer side of polls: see open polls, answer once per session, own answer and score.

An answer is written straight into its shard as a vote whose id is a keyed hash of poll and
session: creating it a second time fails, so a repeated or concurrent answer of the same
session returns the first one and is never counted twice. The vote holds the participant id
only when the webcast's `poll_results_tied_to_participant` switch is on (P16, P19).
"""

import re
from typing import Any

from shared.clock import utc_iso
from shared.errors import DomainError, conflict, not_found, validation_error
from shared.participants.access import require_grant
from shared.participants.models import ParticipantSession
from shared.polls import tally
from shared.polls.models import (
    MAX_WORDS,
    WORD_LENGTH,
    AnswerInput,
    Answers,
    MyAnswer,
    Poll,
    PollKind,
    PollResults,
    PollStatus,
    PollView,
    Question,
    QuestionType,
    Vote,
)
from shared.polls.queue import FoldMessage, nudge
from shared.polls.repository import get_poll, polls, shard_of, shard_partition, vote_id, votes
from shared.polls.service import effective_status, max_score, summarize, view
from shared.webcasts.models import Module, Webcast
from shared.webcasts.service import viewer_webcast

_WORD_SPLIT = re.compile(r"[\s,;]+")


def _visible_poll(webcast: Webcast, poll_id: str) -> Poll:
    poll = get_poll(tenant_id=webcast.tenant_id, webcast_id=webcast.id, poll_id=poll_id)
    if poll is None or poll.status == PollStatus.draft:
        raise not_found("Poll")
    return poll


def _session_id(session: ParticipantSession | None) -> str:
    if session is None:  # require_grant refused already; this satisfies the type checker
        raise not_found("Session")
    return session.id


def list_polls(*, session: ParticipantSession | None, webcast_id: str) -> list[PollView]:
    """Open polls, and closed ones whose results the moderators show."""
    webcast = viewer_webcast(webcast_id, Module.polls)
    require_grant(session, webcast.id)
    found = polls.query(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        where="c.status != @draft",
        parameters={"@draft": PollStatus.draft.value},
        order_by="c.created_at",
    )
    return [
        view(p, reveal=p.results_shown)
        for p in found
        if effective_status(p) == PollStatus.open or p.results_shown
    ]


def get_poll_view(*, session: ParticipantSession | None, webcast_id: str, poll_id: str) -> PollView:
    webcast = viewer_webcast(webcast_id, Module.polls)
    require_grant(session, webcast.id)
    poll = _visible_poll(webcast, poll_id)
    return view(poll, reveal=poll.results_shown)


def _words(text: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(text.strip().lower()) if w]


def _check(question: Question, value: Any) -> Any:
    """The answer to one question in its stored form; raises on a wrong shape."""
    field = f"answers.{question.id}"
    options = {o.id for o in question.options}
    if question.type == QuestionType.single_choice:
        if not isinstance(value, str) or value not in options:
            raise validation_error(field, "must be one option id")
        return value
    if question.type == QuestionType.multiple_choice:
        if (
            not isinstance(value, list)
            or not value
            or len(set(value)) != len(value)
            or not set(value) <= options
        ):
            raise validation_error(field, "must be a list of different option ids")
        return sorted(value)
    if question.type == QuestionType.rating:
        if not isinstance(value, int) or not question.scale_min <= value <= question.scale_max:
            raise validation_error(
                field, f"must be a whole number from {question.scale_min} to {question.scale_max}"
            )
        return value
    if not isinstance(value, str) or not value.strip():
        raise validation_error(field, "must be a text")
    if question.type == QuestionType.free_text:
        if len(value.strip()) > question.max_length:
            raise validation_error(field, f"must be at most {question.max_length} characters")
        return value.strip()
    words = _words(value)
    if not words or len(words) > MAX_WORDS or any(len(w) > WORD_LENGTH for w in words):
        raise validation_error(
            field, f"must be 1 to {MAX_WORDS} words of at most {WORD_LENGTH} characters"
        )
    return words


def check_answers(poll: Poll, answers: dict[str, Any]) -> Answers:
    known = {q.id: q for q in poll.questions}
    unknown = sorted(set(answers) - set(known))
    if unknown:
        raise validation_error(f"answers.{unknown[0]}", "is not a question of this poll")
    checked: Answers = {}
    for question in poll.questions:
        value = answers.get(question.id)
        if value is None:
            if question.required:
                raise validation_error(f"answers.{question.id}", "is required")
            continue
        checked[question.id] = _check(question, value)
    return checked


def score(poll: Poll, answers: Answers) -> int | None:
    """Quiz points: a question scores when the chosen options are exactly the correct ones."""
    if poll.kind != PollKind.quiz:
        return None
    points = 0
    for question in poll.questions:
        value = answers.get(question.id)
        if not question.correct or value is None:
            continue
        chosen = set(value) if isinstance(value, list) else {value}
        if chosen == set(question.correct):
            points += question.points
    return points


def _mine(poll: Poll, vote: Vote, *, created: bool) -> MyAnswer:
    return MyAnswer(
        poll_id=poll.id,
        answers=vote.answers,
        score=vote.score,
        max_score=vote.max_score,
        submitted_at=vote.created_at,
        created=created,
    )


def _own_vote(poll: Poll, session_id: str) -> Vote | None:
    item = vote_id(poll_id=poll.id, session_id=session_id)
    return votes.get(
        tenant_id=poll.tenant_id,
        partition_key=shard_partition(
            webcast_id=poll.webcast_id, poll_id=poll.id, shard=shard_of(item)
        ),
        item_id=item,
    )


def answer(
    *, session: ParticipantSession | None, webcast_id: str, poll_id: str, data: AnswerInput
) -> MyAnswer:
    """Store the session's answer once; answering again returns the first answer."""
    webcast = viewer_webcast(webcast_id, Module.polls)
    participant_id = require_grant(session, webcast.id)
    session_id = _session_id(session)
    poll = _visible_poll(webcast, poll_id)
    if effective_status(poll) != PollStatus.open:
        existing = _own_vote(poll, session_id)
        if existing is not None:
            return _mine(poll, existing, created=False)
        raise conflict("This poll is closed")
    answers = check_answers(poll, data.answers)
    item = vote_id(poll_id=poll.id, session_id=session_id)
    shard = shard_of(item)
    vote = Vote(
        id=item,
        tenant_id=poll.tenant_id,
        webcast_id=poll.webcast_id,
        poll_id=poll.id,
        partition=shard_partition(webcast_id=poll.webcast_id, poll_id=poll.id, shard=shard),
        shard=shard,
        answers=answers,
        score=score(poll, answers),
        max_score=max_score(poll),
        # P16/P19: without the customer's switch the answer is not tied to anyone
        participant_id=participant_id if webcast.privacy.poll_results_tied_to_participant else None,
        created_at=utc_iso(),
    )
    try:
        stored = votes.create(tenant_id=poll.tenant_id, item=vote)
    except DomainError as error:
        if error.status != 409:
            raise
        existing = _own_vote(poll, session_id)
        if existing is None:
            raise
        return _mine(poll, existing, created=False)
    nudge(
        FoldMessage(
            tenant_id=poll.tenant_id, webcast_id=poll.webcast_id, poll_id=poll.id, shard=shard
        )
    )
    return _mine(poll, stored, created=True)


def my_answer(*, session: ParticipantSession | None, webcast_id: str, poll_id: str) -> MyAnswer:
    """The session's own answer and quiz score; no one else can read a score by session."""
    webcast = viewer_webcast(webcast_id, Module.polls)
    require_grant(session, webcast.id)
    poll = _visible_poll(webcast, poll_id)
    existing = _own_vote(poll, _session_id(session))
    if existing is None:
        raise not_found("Your answer")
    return _mine(poll, existing, created=False)


def results(*, session: ParticipantSession | None, webcast_id: str, poll_id: str) -> PollResults:
    """Live results for viewers once the moderators show them: cached sums of shard tallies."""
    webcast = viewer_webcast(webcast_id, Module.polls)
    require_grant(session, webcast.id)
    poll = _visible_poll(webcast, poll_id)
    if not poll.results_shown:
        raise DomainError(
            detail="The results of this poll are not shown",
            status=403,
            code="forbidden",
            title="Forbidden",
        )
    found = tally.shard_tallies(poll=poll, cached=True)
    return summarize(poll, found)
