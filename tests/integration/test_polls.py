"""Polls and quizzes (P04) with privacy by default (P16, P19), through the emulators and API."""

import csv
import functools
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from devtools.runner import TriggerRunner, app_functions
from functions.api.viewer_deps import VIEWER_COOKIE
from shared import clock
from shared.auth.models import Permission
from shared.clients import cosmos_container, queue_client
from shared.composition.privacy_handlers import COSMOS_HANDLERS
from shared.participants import sessions as viewer_sessions
from shared.polls import queue as poll_queue
from shared.polls import repository, tally, worker
from shared.polls.queue import FoldMessage
from shared.privacy.models import DataSubject, NotYet
from tests import helpers
from tests.helpers import Viewer

QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "colour",
        "type": "single_choice",
        "text": "Favourite colour?",
        "options": [{"id": "red", "label": "Red"}, {"id": "blue", "label": "Blue"}],
    },
    {
        "id": "tools",
        "type": "multiple_choice",
        "text": "Which tools?",
        "options": [
            {"id": "a", "label": "Alpha"},
            {"id": "b", "label": "Beta"},
            {"id": "c", "label": "Gamma"},
        ],
    },
    {"id": "stars", "type": "rating", "text": "How was it?", "scale_min": 1, "scale_max": 5},
    {"id": "remarks", "type": "free_text", "text": "Remarks?", "required": False},
    {"id": "mood", "type": "word_cloud", "text": "One word"},
]
QUIZ: dict[str, Any] = {
    "title": "Quiz",
    "kind": "quiz",
    "questions": [
        {
            "id": "capital",
            "type": "single_choice",
            "text": "Capital of France?",
            "options": [{"id": "paris", "label": "Paris"}, {"id": "rome", "label": "Rome"}],
            "correct": ["paris"],
            "points": 3,
        },
        {
            "id": "primes",
            "type": "multiple_choice",
            "text": "Primes?",
            "options": [
                {"id": "two", "label": "2"},
                {"id": "four", "label": "4"},
                {"id": "five", "label": "5"},
            ],
            "correct": ["two", "five"],
            "points": 2,
        },
    ],
}


@pytest.fixture(scope="module", autouse=True)
def _no_nudges_left_behind(stack: object) -> Iterator[None]:
    """Nudges sent with a delay are invisible, and clearing a queue leaves them; wait them out
    and clear, so that the next module's runner finds empty poll queues."""
    yield
    time.sleep(poll_queue.NUDGE_DELAY_SECONDS + 1)
    for name in poll_queue.queue_names():
        queue_client(name).clear_messages()


@pytest.fixture(autouse=True)
def _fast_nudges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nudges become visible at once, so a drain right after voting sees them."""
    monkeypatch.setattr(poll_queue, "NUDGE_DELAY_SECONDS", 0)
    poll_queue.reset()


_webcast = functools.partial(helpers.new_webcast, modules={"polls": True})


def _poll(owner: helpers.Admin, webcast_id: str, body: dict[str, Any] | None = None) -> str:
    created = owner.post(
        f"/api/webcasts/{webcast_id}/polls",
        json=body or {"title": "Feedback", "questions": QUESTIONS},
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    return str(created.json()["id"])


def _open(owner: helpers.Admin, webcast_id: str, poll_id: str, **body: Any) -> None:
    opened = owner.post(f"/api/webcasts/{webcast_id}/polls/{poll_id}/open", json=body)
    assert opened.status_code == 200, opened.text


def _raw_docs(webcast_id: str, poll_id: str) -> list[dict[str, Any]]:
    """Every stored document of the poll's vote shards, as Cosmos holds it."""
    found: list[dict[str, Any]] = []
    for shard in range(repository.VOTE_SHARDS):
        partition = repository.shard_partition(webcast_id=webcast_id, poll_id=poll_id, shard=shard)
        found += cosmos_container("polls").query_items(
            "SELECT * FROM c WHERE c.partition = @p",
            parameters=[{"name": "@p", "value": partition}],
            partition_key=partition,
        )
    return found


_RUNNER: TriggerRunner | None = None


def drain() -> None:
    """Run the poll fold workers until their queues are empty."""
    global _RUNNER
    if _RUNNER is None:
        wanted = {f"poll_votes_{n}" for n in range(poll_queue.VOTE_QUEUES)}
        _RUNNER = TriggerRunner(
            functions=[f for f in app_functions() if f.get_function_name() in wanted],
            watch_containers=(),
            visibility_timeout=30,
            retry_delay=0,
            batch_size=32,
        )
    for _ in range(500):
        if not _RUNNER.run_once().did_work:
            return
    raise AssertionError("the runner kept finding work")


def _live(owner: helpers.Admin, webcast_id: str, poll_id: str) -> dict[str, Any]:
    tally.forget(poll_id)
    response = owner.get(f"/api/webcasts/{webcast_id}/polls/{poll_id}/results?live=true")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _question(results: dict[str, Any], question_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(q for q in results["questions"] if q["id"] == question_id)
    return found


def _counts(results: dict[str, Any], question_id: str) -> dict[str, int]:
    return {r["value"]: r["count"] for r in _question(results, question_id)["results"]}


ANSWER = {"colour": "blue", "tools": ["a", "c"], "stars": 4, "mood": "Happy", "remarks": "=1+1"}


@pytest.mark.claim("P04")
def test_only_poll_managers_of_the_tenant_manage_polls(stack: object) -> None:
    owner = helpers.new_owner("polls-perm")
    webcast_id = _webcast(owner, "perm")
    poll_id = _poll(owner, webcast_id)
    outsider = helpers.new_subaccount(owner, [p for p in Permission if p != Permission.polls])
    manager = helpers.new_subaccount(owner, [Permission.polls])
    stranger = helpers.new_owner("polls-stranger")
    base = f"/api/webcasts/{webcast_id}/polls"
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", base, None),
        ("POST", base, {"title": "X", "questions": QUESTIONS}),
        ("GET", f"{base}/{poll_id}", None),
        ("PATCH", f"{base}/{poll_id}", {"title": "Y"}),
        ("POST", f"{base}/{poll_id}/open", {}),
        ("GET", f"{base}/{poll_id}/results", None),
        ("GET", f"{base}/{poll_id}/export.csv", None),
        ("POST", f"{base}/{poll_id}/duplicate", None),
        ("DELETE", f"{base}/{poll_id}", None),
    ]
    for method, url, body in calls:
        assert outsider.request(method, url, json=body).status_code == 403, (method, url)
        assert stranger.request(method, url, json=body).status_code == 404, (method, url)
    expected = {"POST": 200, "DELETE": 204}
    for method, url, body in calls:
        status = 201 if url.endswith(("/polls", "/duplicate")) and method == "POST" else None
        response = manager.request(method, url, json=body)
        assert response.status_code == (status or expected.get(method, 200)), (url, response.text)
    assert owner.get(f"{base}/{poll_id}").status_code == 404
    assert helpers.audit_entries(owner.tenant_id, action="poll.delete")


def test_an_edit_breaking_a_poll_rule_is_a_422_naming_the_questions(stack: object) -> None:
    """Found by `make security`: an edit with two questions of one id (or a quiz left with no
    correct answer) passed the edit's own checks and failed the poll's as a 500."""
    owner = helpers.new_owner("polls-edit")
    webcast_id = _webcast(owner, "edit")
    poll_url = f"/api/webcasts/{webcast_id}/polls/{_poll(owner, webcast_id)}"
    quiz_url = f"/api/webcasts/{webcast_id}/polls/{_poll(owner, webcast_id, QUIZ)}"
    twice = [QUESTIONS[3], QUESTIONS[3] | {"text": "Anything else?"}]
    no_answer = [{k: v for k, v in q.items() if k != "correct"} for q in QUIZ["questions"]]
    for url, questions in ((poll_url, twice), (quiz_url, no_answer)):
        response = owner.patch(url, json={"questions": questions})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "questions"
    assert [q["id"] for q in owner.get(poll_url).json()["questions"]] == [
        q["id"] for q in QUESTIONS
    ]


@pytest.mark.claim("P04")
def test_lifecycle_with_every_question_type(stack: object) -> None:
    owner = helpers.new_owner("polls-life")
    webcast_id = _webcast(owner, "life")
    poll_id = _poll(owner, webcast_id)
    base = f"/api/webcasts/{webcast_id}/polls/{poll_id}"
    first, second = Viewer.enter(webcast_id), Viewer.enter(webcast_id)
    vbase = f"/api/w/{webcast_id}/polls/{poll_id}"
    assert first.client.get(f"/api/w/{webcast_id}/polls").json() == []
    assert first.client.get(vbase).status_code == 404, "drafts are not shown to viewers"
    assert first.post(f"{vbase}/answer", json={"answers": ANSWER}).status_code == 404
    # a draft changes freely
    more = [*QUESTIONS, {"id": "extra", "type": "free_text", "text": "More?", "required": False}]
    assert owner.patch(base, json={"questions": more}).status_code == 200

    _open(owner, webcast_id, poll_id)
    listed = first.client.get(f"/api/w/{webcast_id}/polls").json()
    assert [p["id"] for p in listed] == [poll_id] and listed[0]["status"] == "open"
    # wrong shapes are refused, per type
    for wrong in (
        {**ANSWER, "colour": "green"},
        {**ANSWER, "tools": []},
        {**ANSWER, "stars": 9},
        {**ANSWER, "mood": "far too many words here"},
        {**ANSWER, "nope": "x"},
        {k: v for k, v in ANSWER.items() if k != "colour"},
    ):
        assert first.post(f"{vbase}/answer", json={"answers": wrong}).status_code == 422, wrong
    assert first.post(f"{vbase}/answer", json={"answers": ANSWER}).status_code == 201
    other = {"colour": "red", "tools": ["b"], "stars": 2, "mood": "happy, calm"}
    assert second.post(f"{vbase}/answer", json={"answers": other}).status_code == 201

    # once open only wording may change
    reworded = [dict(q) for q in more]
    reworded[0] = {**QUESTIONS[0], "text": "Favourite colour, really?"}
    assert owner.patch(base, json={"questions": reworded}).status_code == 200
    restructured = [dict(q) for q in reworded]
    restructured[0] = {
        **reworded[0],
        "options": [{"id": "red", "label": "Red"}, {"id": "x", "label": "X"}],
    }
    refused = owner.patch(base, json={"questions": restructured})
    assert refused.status_code == 409, refused.text

    copy = owner.post(f"{base}/duplicate")
    assert copy.status_code == 201 and copy.json()["status"] == "draft"
    assert copy.json()["questions"][0]["text"] == "Favourite colour, really?"

    assert first.client.get(f"{vbase}/results").status_code == 403, "results not shown yet"
    closed = owner.post(f"{base}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    late = Viewer.enter(webcast_id)
    assert late.post(f"{vbase}/answer", json={"answers": ANSWER}).status_code == 409
    # an answer given before closing is still returned to its session
    assert (
        first.post(f"{vbase}/answer", json={"answers": other}).json()["answers"]["colour"] == "blue"
    )

    results = owner.get(f"{base}/results").json()
    assert results["responses"] == 2 and results["failed_shards"] == []
    assert _counts(results, "colour") == {"red": 1, "blue": 1}
    assert _question(results, "colour")["results"][0]["percent"] == 50.0
    assert _counts(results, "tools") == {"a": 1, "b": 1, "c": 1}
    assert _counts(results, "stars")["4"] == 1 and _question(results, "stars")["average"] == 3.0
    assert _counts(results, "mood") == {"happy": 2, "calm": 1}
    assert _question(results, "remarks")["text_answers"] == ["=1+1"]
    assert _question(results, "extra")["answered"] == 0

    shown = owner.request("PUT", f"{base}/results-visibility", json={"shown": True})
    assert shown.status_code == 200 and shown.json()["results_shown"] is True
    seen = first.client.get(f"{vbase}/results").json()
    assert seen["responses"] == 2 and _counts(seen, "colour") == {"red": 1, "blue": 1}
    assert _question(seen, "remarks")["text_answers"] is None, "viewers see no text answers"

    audited = {e.action for e in helpers.audit_entries(owner.tenant_id)}
    assert {"poll.create", "poll.update", "poll.open", "poll.close", "poll.duplicate"} <= audited
    assert "poll.results_shown" in audited
    entries = helpers.audit_entries(owner.tenant_id, action="poll.update")
    assert all(set(e.changed_fields or []) <= {"title", "questions"} for e in entries)


@pytest.mark.claim("P04")
def test_a_timer_closes_the_poll_on_read_and_answer(stack: object) -> None:
    owner = helpers.new_owner("polls-timer")
    webcast_id = _webcast(owner, "timer")
    poll_id = _poll(owner, webcast_id)
    _open(owner, webcast_id, poll_id, duration_seconds=30)
    viewer = Viewer.enter(webcast_id)
    vbase = f"/api/w/{webcast_id}/polls/{poll_id}"
    assert viewer.client.get(vbase).json()["closes_at"]
    clock.advance(31)
    assert viewer.client.get(vbase).json()["status"] == "closed"
    assert viewer.post(f"{vbase}/answer", json={"answers": ANSWER}).status_code == 409
    assert owner.get(f"/api/webcasts/{webcast_id}/polls/{poll_id}").json()["status"] == "closed"
    assert viewer.client.get(f"/api/w/{webcast_id}/polls").json() == []


@pytest.mark.claim("P04")
@pytest.mark.claim("P16")
def test_a_quiz_score_is_shown_to_its_own_session_only(stack: object) -> None:
    owner = helpers.new_owner("polls-quiz")
    webcast_id = _webcast(owner, "quiz")
    poll_id = _poll(owner, webcast_id, QUIZ)
    _open(owner, webcast_id, poll_id)
    vbase = f"/api/w/{webcast_id}/polls/{poll_id}"
    good, half, idle = (Viewer.enter(webcast_id) for _ in range(3))
    assert all(q["correct"] is None for q in good.client.get(vbase).json()["questions"])
    answered = good.post(
        f"{vbase}/answer", json={"answers": {"capital": "paris", "primes": ["five", "two"]}}
    )
    assert answered.status_code == 201
    assert (answered.json()["score"], answered.json()["max_score"]) == (5, 5)
    half.post(f"{vbase}/answer", json={"answers": {"capital": "paris", "primes": ["two"]}})
    assert good.client.get(f"{vbase}/answer").json()["score"] == 5
    assert half.client.get(f"{vbase}/answer").json()["score"] == 3
    assert idle.client.get(f"{vbase}/answer").status_code == 404
    assert helpers.client().get(f"{vbase}/answer").status_code == 403, "no session, no score"
    results = owner.get(f"/api/webcasts/{webcast_id}/polls/{poll_id}/results").json()
    assert (results["average_score"], results["max_score"]) == (4.0, 5)
    assert "score" not in json.dumps(results["questions"])
    owner.request(
        "PUT",
        f"/api/webcasts/{webcast_id}/polls/{poll_id}/results-visibility",
        json={"shown": True},
    )
    assert good.client.get(vbase).json()["questions"][0]["correct"] == ["paris"]


@pytest.mark.claim("P16")
@pytest.mark.claim("P19")
def test_without_the_switch_no_participant_id_is_stored_with_an_answer(stack: object) -> None:
    owner = helpers.new_owner("polls-anon")
    webcast_id = _webcast(owner, "anon", access_mode="registration", admit_before_confirmation=True)
    poll_id = _poll(owner, webcast_id, QUIZ)
    _open(owner, webcast_id, poll_id)
    voter = Viewer.register(webcast_id)
    assert voter.participant_id
    vbase = f"/api/w/{webcast_id}/polls/{poll_id}"
    assert (
        voter.post(
            f"{vbase}/answer", json={"answers": {"capital": "rome", "primes": ["two"]}}
        ).status_code
        == 201
    )
    drain()
    docs = _raw_docs(webcast_id, poll_id)
    assert {d["type"] for d in docs} == {"poll-vote", "poll-tally"}
    for doc in docs:
        assert "participant_id" not in doc
        assert voter.participant_id not in json.dumps(doc)
    assert voter.client.get(f"{vbase}/answer").json()["score"] == 0
    subject = DataSubject(
        tenant_id=owner.tenant_id, webcast_id=webcast_id, participant_id=voter.participant_id
    )
    handlers = COSMOS_HANDLERS["polls"]
    assert not isinstance(handlers.exporter, NotYet)
    assert handlers.exporter(subject=subject) == []
    csv_text = owner.get(f"/api/webcasts/{webcast_id}/polls/{poll_id}/export.csv").text
    assert "Participant" not in csv_text and voter.participant_id not in csv_text


@pytest.mark.claim("P16")
def test_with_the_switch_on_answers_are_tied_exported_and_erased(stack: object) -> None:
    owner = helpers.new_owner("polls-tied")
    webcast_id = _webcast(
        owner,
        "tied",
        access_mode="registration",
        admit_before_confirmation=True,
        privacy={"poll_results_tied_to_participant": True},
    )
    poll_id = _poll(owner, webcast_id)
    _open(owner, webcast_id, poll_id)
    voter, other = Viewer.register(webcast_id), Viewer.register(webcast_id)
    vbase = f"/api/w/{webcast_id}/polls/{poll_id}"
    assert voter.post(f"{vbase}/answer", json={"answers": ANSWER}).status_code == 201
    assert other.post(f"{vbase}/answer", json={"answers": ANSWER}).status_code == 201
    votes = [d for d in _raw_docs(webcast_id, poll_id) if d["type"] == "poll-vote"]
    assert sorted(d["participant_id"] for d in votes) == sorted(
        [str(voter.participant_id), str(other.participant_id)]
    )
    csv_text = owner.get(f"/api/webcasts/{webcast_id}/polls/{poll_id}/export.csv").text
    assert "Participant id" in csv_text and str(voter.participant_id) in csv_text
    handlers = COSMOS_HANDLERS["polls"]
    assert not isinstance(handlers.exporter, NotYet) and not isinstance(handlers.eraser, NotYet)
    subject = DataSubject(
        tenant_id=owner.tenant_id, webcast_id=webcast_id, participant_id=voter.participant_id
    )
    exported = handlers.exporter(subject=subject)
    assert [e["poll_id"] for e in exported] == [poll_id]
    assert exported[0]["answers"]["colour"] == "blue"
    assert handlers.eraser(subject=subject) == 1
    assert handlers.exporter(subject=subject) == []
    left = [d for d in _raw_docs(webcast_id, poll_id) if d["type"] == "poll-vote"]
    assert [d["participant_id"] for d in left] == [other.participant_id]


@pytest.mark.claim("P04")
def test_one_answer_per_session_even_when_sent_at_once(stack: object) -> None:
    owner = helpers.new_owner("polls-once")
    webcast_id = _webcast(owner, "once")
    poll_id = _poll(owner, webcast_id)
    _open(owner, webcast_id, poll_id)
    viewer = Viewer.enter(webcast_id)
    url = f"/api/w/{webcast_id}/polls/{poll_id}/answer"
    choices = ["red", "blue"] * 5
    with ThreadPoolExecutor(10) as pool:
        responses = list(
            pool.map(lambda c: viewer.post(url, json={"answers": {**ANSWER, "colour": c}}), choices)
        )
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    first = next(r.json() for r in responses if r.status_code == 201)
    assert all(r.json()["answers"] == first["answers"] for r in responses)
    again = viewer.post(url, json={"answers": {**ANSWER, "colour": "red"}})
    assert again.status_code == 200 and again.json()["answers"] == first["answers"]
    drain()
    assert _live(owner, webcast_id, poll_id)["responses"] == 1


@pytest.mark.claim("P04")
def test_every_fold_delivered_twice_or_cut_short_counts_each_vote_once(
    stack: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = helpers.new_owner("polls-twice")
    webcast_id = _webcast(owner, "twice")
    poll_id = _poll(owner, webcast_id)
    _open(owner, webcast_id, poll_id)
    viewers = [Viewer.enter(webcast_id) for _ in range(12)]
    for viewer in viewers:
        viewer.post(f"/api/w/{webcast_id}/polls/{poll_id}/answer", json={"answers": ANSWER})
    for name in poll_queue.queue_names():
        queue_client(name).clear_messages()  # the handler is driven by hand below
    shards = sorted({d["shard"] for d in _raw_docs(webcast_id, poll_id)})
    messages = [
        FoldMessage(tenant_id=owner.tenant_id, webcast_id=webcast_id, poll_id=poll_id, shard=s)
        for s in shards
    ]
    # a crash after the tally was replaced, before its votes were marked as counted
    real_mark = repository.mark_counted
    crashed: list[bool] = []

    def crash_once(*, partition: str, ids: list[str]) -> None:
        if not crashed:
            crashed.append(True)
            raise RuntimeError("worker died")
        real_mark(partition=partition, ids=ids)

    monkeypatch.setattr("shared.polls.tally.mark_counted", crash_once)
    with pytest.raises(RuntimeError):
        worker.handle_message(message=messages[0])
    for message in messages:
        worker.handle_message(message=message)
    state = _live(owner, webcast_id, poll_id)
    for message in messages:
        assert worker.handle_message(message=message) == 0
    assert _live(owner, webcast_id, poll_id) == state
    assert state["responses"] == 12 and _counts(state, "colour") == {"red": 0, "blue": 12}
    assert all(d["counted"] for d in _raw_docs(webcast_id, poll_id) if d["type"] == "poll-vote")

    # the last delivery of a failing fold leaves a marker the moderators see
    late = Viewer.enter(webcast_id)
    late.post(f"/api/w/{webcast_id}/polls/{poll_id}/answer", json={"answers": ANSWER})
    shard = next(
        d["shard"]
        for d in _raw_docs(webcast_id, poll_id)
        if d["type"] == "poll-vote" and not d["counted"]
    )
    failing = FoldMessage(
        tenant_id=owner.tenant_id, webcast_id=webcast_id, poll_id=poll_id, shard=shard
    )

    def broken(**kwargs: Any) -> int:
        raise RuntimeError("always")

    monkeypatch.setattr(tally, "fold_shard", broken)
    with pytest.raises(RuntimeError):
        worker.handle_message(message=failing)
    assert worker.handle_message(message=failing, final_attempt=True) == 0
    assert worker.handle_message(message=failing, final_attempt=True) == 0
    assert _live(owner, webcast_id, poll_id)["failed_shards"] == [shard]
    monkeypatch.undo()
    exact = owner.get(f"/api/webcasts/{webcast_id}/polls/{poll_id}/results").json()
    assert exact["responses"] == 13 and exact["failed_shards"] == []


@pytest.mark.claim("P04")
def test_a_thousand_concurrent_votes_are_all_counted_exactly(
    stack: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One nudge per shard for the whole test: the drain runs after the last vote anyway.
    monkeypatch.setattr(poll_queue, "NUDGE_WINDOW_SECONDS", 3600)
    owner = helpers.new_owner("polls-load")
    webcast_id = _webcast(owner, "load")
    poll_id = _poll(owner, webcast_id)
    _open(owner, webcast_id, poll_id)
    issued = [
        viewer_sessions.grant(current_token=None, webcast_id=webcast_id, participant_id=None)
        for _ in range(1000)
    ]
    url = f"/api/w/{webcast_id}/polls/{poll_id}/answer"
    local = threading.local()
    # Built here: building apps in many threads at once trips pydantic's schema cache.
    spare = [helpers.client() for _ in range(16)]
    colours = ["red" if i % 3 else "blue" for i in range(1000)]

    def vote(index: int) -> int:
        http: TestClient | None = getattr(local, "client", None)
        if http is None:
            http = local.client = spare.pop()  # list.pop is atomic: one client per thread
        session = issued[index]
        response = http.post(
            url,
            json={"answers": {**ANSWER, "colour": colours[index], "stars": index % 5 + 1}},
            headers={
                "Cookie": f"{VIEWER_COOKIE}={session.token}",
                "X-CSRF-Token": session.session.csrf_token,
            },
        )
        return response.status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = Counter(pool.map(vote, range(1000)))
    assert statuses == {201: 1000}
    drain()
    live = _live(owner, webcast_id, poll_id)
    assert live["responses"] == 1000
    assert _counts(live, "colour") == dict(Counter(colours))
    assert _counts(live, "stars") == {str(s): 200 for s in range(1, 6)}
    votes = [d for d in _raw_docs(webcast_id, poll_id) if d["type"] == "poll-vote"]
    assert len(votes) == 1000 and all(d["counted"] for d in votes)
    assert len({d["partition"] for d in votes}) == repository.VOTE_SHARDS, "spread over shards"
    exact = owner.get(f"/api/webcasts/{webcast_id}/polls/{poll_id}/results").json()
    assert exact["responses"] == 1000


@pytest.mark.claim("P04")
def test_answers_export_as_csv_and_xlsx_without_formulas(stack: object) -> None:
    owner = helpers.new_owner("polls-export")
    webcast_id = _webcast(owner, "export")
    poll_id = _poll(owner, webcast_id)
    _open(owner, webcast_id, poll_id)
    for colour in ("red", "blue", "blue"):
        Viewer.enter(webcast_id).post(
            f"/api/w/{webcast_id}/polls/{poll_id}/answer",
            json={"answers": {**ANSWER, "colour": colour}},
        )
    base = f"/api/webcasts/{webcast_id}/polls/{poll_id}"
    response = owner.get(f"{base}/export.csv")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Submitted at"] + [q["text"] for q in QUESTIONS]
    assert sorted(r[1] for r in rows[1:]) == ["Blue", "Blue", "Red"]
    assert {r[2] for r in rows[1:]} == {"Alpha; Gamma"}
    assert {r[4] for r in rows[1:]} == {"'=1+1"}, "a formula is escaped"
    xlsx = owner.get(f"{base}/export.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(values) == 4 and {r[4] for r in values[1:]} == {"'=1+1"}
    assert helpers.audit_entries(owner.tenant_id, action="poll.export")


@pytest.mark.claim("P04")
def test_results_views_poll_with_etags(stack: object) -> None:
    owner = helpers.new_owner("polls-etag")
    webcast_id = _webcast(owner, "etag")
    poll_id = _poll(owner, webcast_id)
    _open(owner, webcast_id, poll_id)
    url = f"/api/webcasts/{webcast_id}/polls/{poll_id}/results"
    first = owner.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert owner.get(url, headers={"If-None-Match": etag}).status_code == 304
    viewer = Viewer.enter(webcast_id)
    answered = viewer.post(
        f"/api/w/{webcast_id}/polls/{poll_id}/answer",
        json={"answers": {"colour": "red", "tools": ["a"], "stars": 4, "mood": "happy"}},
    )
    assert answered.status_code == 201, answered.text
    changed = owner.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    shown = owner.request(
        "PUT",
        f"/api/webcasts/{webcast_id}/polls/{poll_id}/results-visibility",
        json={"shown": True},
    )
    assert shown.status_code == 200
    viewer_url = f"/api/w/{webcast_id}/polls/{poll_id}/results"
    seen = viewer.client.get(viewer_url)
    assert seen.status_code == 200
    unchanged = viewer.client.get(viewer_url, headers={"If-None-Match": seen.headers["ETag"]})
    assert unchanged.status_code == 304
