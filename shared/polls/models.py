"""Polls and quizzes (P04): definitions, votes, per-shard tallies and their views."""

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.cosmos.repository import Document
from shared.text import InputModel

ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
MAX_WORDS = 3
WORD_LENGTH = 40


class QuestionType(StrEnum):
    single_choice = "single_choice"
    multiple_choice = "multiple_choice"
    rating = "rating"
    free_text = "free_text"
    word_cloud = "word_cloud"


CHOICE_TYPES = (QuestionType.single_choice, QuestionType.multiple_choice)


class PollKind(StrEnum):
    poll = "poll"
    quiz = "quiz"


class PollStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"


class Option(InputModel):
    model_config = ConfigDict(extra="forbid")

    id: ItemId
    label: Text


class Question(InputModel):
    """One question; ids are stable so answers and tallies survive label edits."""

    model_config = ConfigDict(extra="forbid")

    id: ItemId
    type: QuestionType
    text: Text
    options: Annotated[list[Option], Field(max_length=50)] = []
    correct: list[str] = []  # quiz: the option ids that make the answer right
    points: Annotated[int, Field(ge=0, le=1000)] = 0
    scale_min: Annotated[int, Field(ge=0, le=10)] = 1
    scale_max: Annotated[int, Field(ge=1, le=10)] = 5
    max_length: Annotated[int, Field(ge=1, le=2000)] = 500
    required: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> "Question":
        choice = self.type in CHOICE_TYPES
        if choice and len(self.options) < 2:
            raise ValueError("choice questions need at least two options")
        if not choice and (self.options or self.correct):
            raise ValueError("only choice questions have options and correct answers")
        ids = [o.id for o in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")
        if not set(self.correct) <= set(ids):
            raise ValueError("correct answers must be option ids")
        if self.type == QuestionType.single_choice and len(self.correct) > 1:
            raise ValueError("a single-choice question has one correct answer")
        if self.scale_min >= self.scale_max:
            raise ValueError("scale_min must be below scale_max")
        return self


class PollInput(InputModel):
    """What a poll manager sends to create a poll or quiz."""

    model_config = ConfigDict(extra="forbid")

    title: Text
    kind: PollKind = PollKind.poll
    questions: Annotated[list[Question], Field(min_length=1, max_length=30)]

    @model_validator(mode="after")
    def _unique(self) -> "PollInput":
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids must be unique")
        if self.kind == PollKind.quiz and not any(q.correct for q in self.questions):
            raise ValueError("a quiz needs at least one question with a correct answer")
        return self


class PollUpdate(InputModel):
    """A partial edit; once a poll has been opened only wording may change (see service)."""

    model_config = ConfigDict(extra="forbid")

    title: Text | None = None
    questions: Annotated[list[Question], Field(min_length=1, max_length=30)] | None = None


class OpenPoll(InputModel):
    model_config = ConfigDict(extra="forbid")

    duration_seconds: Annotated[int, Field(ge=5, le=24 * 3600)] | None = None


class ShowResults(InputModel):
    model_config = ConfigDict(extra="forbid")

    shown: bool


Answers = dict[str, Any]


class AnswerInput(InputModel):
    """A viewer's answer: question id -> option id, option ids, rating, or text."""

    model_config = ConfigDict(extra="forbid")

    answers: Annotated[dict[str, str | int | list[str]], Field(max_length=30)]


class Poll(Document):
    """A poll's definition; stored in the webcast's partition `{webcast_id}`."""

    doc_type = "poll"

    tenant_id: str
    webcast_id: str
    partition: str
    title: str
    kind: PollKind
    questions: list[Question]
    status: PollStatus = PollStatus.draft
    results_shown: bool = False
    opened_at: str | None = None
    closes_at: float | None = None  # epoch seconds; enforced on every read and answer
    closed_at: str | None = None
    created_at: str
    updated_at: str
    created_by: str | None = None


class Vote(Document):
    """One session's answer; its id is a keyed hash of poll and session, so creating it twice
    fails. It carries a participant id only when the webcast ties poll results to people."""

    doc_type = "poll-vote"

    tenant_id: str
    webcast_id: str
    poll_id: str
    partition: str
    shard: int
    answers: Answers
    score: int | None = None
    max_score: int | None = None
    participant_id: str | None = None
    counted: bool = False
    created_at: str

    def to_item(self) -> dict[str, Any]:
        item = super().to_item()
        if item.get("participant_id") is None:
            item.pop("participant_id", None)  # untied answers carry no participant field at all
        return item


class Tally(Document):
    """Counts of one vote shard. `recent` holds the vote ids of the last folds, so a fold that
    died before marking its votes as counted never counts them twice."""

    doc_type = "poll-tally"

    tenant_id: str
    webcast_id: str
    poll_id: str
    partition: str
    shard: int
    responses: int = 0
    score_total: int = 0
    counts: dict[str, dict[str, int]] = {}  # question id -> option/value/word -> count
    answered: dict[str, int] = {}  # question id -> how many answered it
    recent: list[list[str]] = []
    updated_at: str = ""


class QuestionView(BaseModel):
    id: str
    type: QuestionType
    text: str
    options: list[Option]
    correct: list[str] | None
    points: int
    scale_min: int
    scale_max: int
    max_length: int
    required: bool


class PollView(BaseModel):
    id: str
    webcast_id: str
    title: str
    kind: PollKind
    status: PollStatus
    results_shown: bool
    closes_at: str | None
    opened_at: str | None
    closed_at: str | None
    questions: list[QuestionView]
    created_at: str
    updated_at: str


class OptionResult(BaseModel):
    value: str
    label: str
    count: int
    percent: float
    correct: bool | None = None


class QuestionResult(BaseModel):
    id: str
    type: QuestionType
    text: str
    answered: int
    results: list[OptionResult]
    average: float | None = None
    text_answers: list[str] | None = None


class PollResults(BaseModel):
    poll_id: str
    status: PollStatus
    responses: int
    average_score: float | None
    max_score: int | None
    questions: list[QuestionResult]


class MyAnswer(BaseModel):
    poll_id: str
    answers: Answers
    score: int | None
    max_score: int | None
    submitted_at: str
    created: bool = False
