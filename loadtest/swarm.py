"""The locust side of `make loadtest`: viewers and moderators against a running API.

python -m loadtest.swarm CONFIG.json OUT.json

Run by `python -m loadtest` as its own process (gevent patches this process's sockets and
threads, so nothing of the stack runs here). CONFIG names the API, the webcast, the
moderator sessions, how many viewers this process plays and when to stop. Every user stops
sending at `end_at` and the process quits once nothing is in flight (or a request timeout
later), so no request is cut off after the server accepted it. OUT gets the ledger (what the
API accepted, loadtest/ledger.py) and per-endpoint request counts and latency histograms.

Viewers: enter, a heartbeat an `interval_seconds` (from the 202 answer) after the previous
answer, the published feed and the poll list every 10 s (the feed and shown results with
If-None-Match), an answer to every open poll, an upvote of some published messages and now
and then a message (never two within 15 s, so the limit of 5 per 60 s is never reached).
Moderators: the queue every 5 s and the attendance report every 15 s with If-None-Match,
publishing a share of the new messages; the first one also creates, opens, closes and shows
the results of one poll after another.
"""

# isort: off
from gevent import monkey

monkey.patch_all()
# isort: on

import hashlib  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from http.cookiejar import DefaultCookiePolicy  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from locust import FastHttpUser, task  # noqa: E402
from locust.env import Environment  # noqa: E402

from loadtest.ledger import Ledger  # noqa: E402

FEED_SECONDS = 10.0  # docs/interaction-scale.md: viewers poll the feed every 10 s
POLL_LIST_SECONDS = 10.0
QUEUE_SECONDS = 5.0
REPORT_SECONDS = 15.0
MESSAGE_SPACING_SECONDS = 15.0  # at most 4 in any 60 s window: under the limit of 5
ANSWER_SPREAD_SECONDS = 20.0
UPVOTE_DELAY_SECONDS = 10.0
PUBLISH_SHARE = 5  # moderators publish one message in five
REQUEST_TIMEOUT_SECONDS = 60.0
QUESTION = "q1"
OPTIONS = ("yes", "no", "later")

CONFIG: dict[str, Any] = {}
LEDGER = Ledger()
IN_FLIGHT = 0
STOPPING = False


def _should_stop() -> bool:
    global STOPPING
    if not STOPPING and time.time() >= CONFIG["end_at"]:
        STOPPING = True
    if not STOPPING and LEDGER.requests_sent >= CONFIG["request_budget"]:
        LEDGER.budget_exhausted = True
        STOPPING = True
    return STOPPING


def _share(message_id: str, parts: int) -> int:
    return int(hashlib.sha256(message_id.encode()).hexdigest()[:8], 16) % parts


class Client(FastHttpUser):
    """Requests with the cookie set by hand (the API's cookies are Secure and __Host-, the
    stack is plain http on loopback) and an expected status per request."""

    abstract = True
    network_timeout = REQUEST_TIMEOUT_SECONDS
    connection_timeout = REQUEST_TIMEOUT_SECONDS
    cookie = ""
    csrf = ""
    outcome_unknown = False

    def on_start(self) -> None:
        self.client.cookiejar.set_policy(DefaultCookiePolicy(allowed_domains=[]))

    def call(
        self,
        method: str,
        path: str,
        name: str,
        ok: tuple[int, ...],
        *,
        body: Any = None,
        etag: str | None = None,
    ) -> Any:
        """The response when its status is in `ok`; None (a failure in the stats) otherwise,
        with `outcome_unknown` set when the API may have acted on it all the same."""
        global IN_FLIGHT
        self.outcome_unknown = False
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if method != "GET" and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        if etag:
            headers["If-None-Match"] = etag
        LEDGER.requests_sent += 1
        IN_FLIGHT += 1
        try:
            with self.client.request(
                method, path, name=name, headers=headers, json=body, catch_response=True
            ) as response:
                if response.status_code in ok:
                    response.success()
                    return response
                status = response.status_code
                self.outcome_unknown = status == 0 or status >= 500
                if status == 0:  # no answer: the exception says why (timeout, reset, ...)
                    error = getattr(response, "error", None)
                    response.failure(f"no answer: {type(error).__name__}: {error}"[:200])
                else:
                    response.failure(f"status {status} {(response.text or '')[:200]}".strip())
                return None
        finally:
            IN_FLIGHT -= 1

    def idle(self) -> None:
        """Nothing more to send: wait for the process to quit."""
        while True:
            gevent.sleep(60)


class Viewer(Client):
    numbers = itertools.count()

    def on_start(self) -> None:
        super().on_start()
        number = next(self.numbers)
        self.random = random.Random(CONFIG["seed"] * 1_000_003 + number)
        self.base = f"/api/w/{CONFIG['webcast_id']}"
        self.token = ""
        self.feed_etag: str | None = None
        self.seen: set[str] = set()
        self.answered: set[str] = set()
        self.results_etags: dict[str, str] = {}
        self.answers: list[tuple[float, str]] = []
        self.upvotes: list[tuple[float, str]] = []
        self.messages_sent = 0

    def enter(self) -> bool:
        response = self.call("POST", f"{self.base}/enter", "viewer: POST enter", (200,))
        if response is None:
            return False
        cookie = response.headers.get("set-cookie") or ""
        self.cookie = cookie.split(";", 1)[0]
        self.token = self.cookie.partition("=")[2]
        self.csrf = response.json()["csrf_token"]
        LEDGER.heartbeats.setdefault(self.token, 0)
        return bool(self.token)

    def next_message_at(self, moment: float) -> float:
        rate = CONFIG["message_rate"] / CONFIG["viewers_total"]  # messages/s of one viewer
        return moment + max(MESSAGE_SPACING_SECONDS, self.random.expovariate(rate))

    @task
    def watch(self) -> None:
        if _should_stop() or not self.enter():
            self.idle()
        start = time.time()
        due = {
            "heartbeat": start,
            "feed": start + self.random.uniform(0, FEED_SECONDS),
            "polls": start + self.random.uniform(0, POLL_LIST_SECONDS),
            "message": self.next_message_at(start),
        }
        while not _should_stop():
            moment = time.time()
            pending = [
                ("answer", self.answers[0][0]) if self.answers else None,
                ("upvote", self.upvotes[0][0]) if self.upvotes else None,
                *due.items(),
            ]
            action, when = min((p for p in pending if p), key=lambda p: p[1])
            if when > moment:
                gevent.sleep(min(when, CONFIG["end_at"]) - moment)
                continue
            if action == "heartbeat":
                due["heartbeat"] = self.heartbeat()
            elif action == "feed":
                self.read_feed()
                due["feed"] = time.time() + FEED_SECONDS
            elif action == "polls":
                self.read_polls()
                due["polls"] = time.time() + POLL_LIST_SECONDS
            elif action == "message":
                self.send_message()
                due["message"] = self.next_message_at(time.time())
            elif action == "answer":
                self.answer(self.answers.pop(0)[1])
            elif action == "upvote":
                self.upvote(self.upvotes.pop(0)[1])
        self.idle()

    def heartbeat(self) -> float:
        response = self.call(
            "POST",
            f"{self.base}/heartbeat",
            "viewer: POST heartbeat",
            (202,),
            body={"mode": "live"},
        )
        if response is None:
            if self.outcome_unknown:
                LEDGER.count_unknown("heartbeats", self.token)
            return time.time() + 30
        LEDGER.heartbeats[self.token] += 1
        # After the answer: the next heartbeat falls into a later 30 s slot in any case.
        return time.time() + int(response.json()["interval_seconds"])

    def read_feed(self) -> None:
        response = self.call(
            "GET",
            f"{self.base}/messages/published",
            "viewer: GET messages/published",
            (200, 304),
            etag=self.feed_etag,
        )
        if response is None or response.status_code == 304:
            return
        self.feed_etag = response.headers.get("etag")
        moment = time.time()
        for item in response.json()["items"]:
            if item["id"] in self.seen:
                continue
            self.seen.add(item["id"])
            if self.random.random() < CONFIG["upvote_probability"]:
                delay = self.random.uniform(1, UPVOTE_DELAY_SECONDS)
                self.upvotes.append((moment + delay, item["id"]))
        self.upvotes.sort()

    def read_polls(self) -> None:
        response = self.call("GET", f"{self.base}/polls", "viewer: GET polls", (200,))
        if response is None:
            return
        moment = time.time()
        for poll in response.json():
            if poll["status"] == "open" and poll["id"] not in self.answered:
                self.answered.add(poll["id"])
                delay = self.random.uniform(1, ANSWER_SPREAD_SECONDS)
                self.answers.append((moment + delay, poll["id"]))
            if poll["results_shown"]:
                self.read_results(poll["id"])
        self.answers.sort()

    def read_results(self, poll_id: str) -> None:
        response = self.call(
            "GET",
            f"{self.base}/polls/{poll_id}/results",
            "viewer: GET polls/{id}/results",
            (200, 304),
            etag=self.results_etags.get(poll_id),
        )
        if response is not None and response.status_code == 200:
            self.results_etags[poll_id] = response.headers.get("etag") or ""

    def answer(self, poll_id: str) -> None:
        option = self.random.choice(OPTIONS)
        response = self.call(
            "POST",
            f"{self.base}/polls/{poll_id}/answer",
            "viewer: POST polls/{id}/answer",
            (201, 409),
            body={"answers": {QUESTION: option}},
        )
        if response is None:
            if self.outcome_unknown:
                LEDGER.count_unknown("votes", poll_id)
            return
        if response.status_code == 409:
            LEDGER.refused_closed += 1  # closed between the list and the answer
            return
        counts = LEDGER.votes.setdefault(poll_id, {})
        counts[option] = counts.get(option, 0) + 1

    def upvote(self, message_id: str) -> None:
        response = self.call(
            "POST",
            f"{self.base}/messages/{message_id}/votes",
            "viewer: POST messages/{id}/votes",
            (200,),
        )
        if response is None:
            if self.outcome_unknown:
                LEDGER.count_unknown("upvotes", message_id)
            return
        if not response.json()["new_vote"]:
            response.failure("a first upvote was taken for a repeated one")
            return
        LEDGER.upvotes[message_id] = LEDGER.upvotes.get(message_id, 0) + 1

    def send_message(self) -> None:
        self.messages_sent += 1
        response = self.call(
            "POST",
            f"{self.base}/messages",
            "viewer: POST messages",
            (201,),
            body={"text": f"Question {self.messages_sent} of viewer {self.token[:6]}"},
        )
        if response is not None:
            LEDGER.messages.append(response.json()["id"])
        elif self.outcome_unknown:
            LEDGER.count_unknown("messages")


class Moderator(Client):
    numbers = itertools.count()

    def on_start(self) -> None:
        super().on_start()
        seat = CONFIG["moderators"][next(self.numbers)]
        self.index: int = seat["index"]
        self.cookie = f"__Host-wcadmin={seat['token']}"
        self.csrf = seat["csrf"]
        self.base = f"/api/webcasts/{CONFIG['webcast_id']}"
        self.queue_etag: str | None = None
        self.report_etag: str | None = None
        self.handled: set[str] = set()

    @task
    def moderate(self) -> None:
        start = time.time()
        due = {
            "queue": start + self.staggered(QUEUE_SECONDS),
            "report": start + self.staggered(REPORT_SECONDS),
        }
        polls = PollPlan(self) if self.index == 0 else None
        if polls is not None:
            due["poll"] = polls.next_at
        while not _should_stop():
            action, when = min(due.items(), key=lambda item: item[1])
            moment = time.time()
            if when > moment:
                gevent.sleep(min(when, CONFIG["end_at"]) - moment)
                continue
            if action == "queue":
                self.work_queue()
                due["queue"] = time.time() + QUEUE_SECONDS
            elif action == "report":
                self.read_report()
                due["report"] = time.time() + REPORT_SECONDS
            elif action == "poll" and polls is not None:
                due["poll"] = polls.step()
        if polls is not None:
            polls.close_open()
        self.idle()

    def staggered(self, period: float) -> float:
        """Moderator n of N starts its polling n/N of a period late, so they do not meet."""
        return period * self.index / len(CONFIG["moderators"]) if CONFIG["moderators"] else 0.0

    def work_queue(self) -> None:
        response = self.call(
            "GET",
            f"{self.base}/messages?limit=50",
            "moderator: GET messages",
            (200, 304),
            etag=self.queue_etag,
        )
        if response is None or response.status_code == 304:
            return
        self.queue_etag = response.headers.get("etag")
        mine = [
            item["id"]
            for item in response.json()["items"]
            if item["id"] not in self.handled
            and _share(item["id"], CONFIG["moderators_total"]) == self.index
        ]
        self.handled.update(mine)
        publish = [m for m in mine if _share(m[::-1], PUBLISH_SHARE) == 0]
        if publish:
            self.call(
                "POST",
                f"{self.base}/messages/bulk",
                "moderator: POST messages/bulk publish",
                (200,),
                body={"ids": publish[:100], "action": "publish"},
            )

    def read_report(self) -> None:
        response = self.call(
            "GET",
            f"{self.base}/attendance",
            "moderator: GET attendance",
            (200, 304),
            etag=self.report_etag,
        )
        if response is not None and response.status_code == 200:
            self.report_etag = response.headers.get("etag")


class PollPlan:
    """One poll after another: create, open for `poll_open_seconds`, close, show its results
    (hiding the previous one's), a gap, the next; none is opened that could not close in time."""

    def __init__(self, moderator: Moderator) -> None:
        self.moderator = moderator
        # From the start of the swarm: moderators may be spawned after the viewers.
        self.next_at = float(CONFIG["first_poll_at"])
        self.open_poll: str | None = None
        self.shown: str | None = None
        self.number = 0

    def step(self) -> float:
        if self.open_poll is None:
            return self.open_next()
        self.close_open()
        return time.time() + float(CONFIG["poll_gap_seconds"])

    def open_next(self) -> float:
        if time.time() + float(CONFIG["poll_open_seconds"]) > CONFIG["end_at"] - 5:
            return float("inf")
        self.number += 1
        created = self.moderator.call(
            "POST",
            f"{self.moderator.base}/polls",
            "moderator: POST polls",
            (201,),
            body={
                "title": f"Poll {self.number}",
                "questions": [
                    {
                        "id": QUESTION,
                        "type": "single_choice",
                        "text": "Coffee break now?",
                        "options": [{"id": o, "label": o.title()} for o in OPTIONS],
                    }
                ],
            },
        )
        if created is None:
            return time.time() + float(CONFIG["poll_gap_seconds"])
        poll_id = created.json()["id"]
        opened = self.moderator.call(
            "POST",
            f"{self.moderator.base}/polls/{poll_id}/open",
            "moderator: POST polls/open",
            (200,),
        )
        if opened is None:
            return time.time() + float(CONFIG["poll_gap_seconds"])
        LEDGER.polls.append(poll_id)
        self.open_poll = poll_id
        return time.time() + float(CONFIG["poll_open_seconds"])

    def close_open(self) -> None:
        if self.open_poll is None:
            return
        poll_id, self.open_poll = self.open_poll, None
        base = self.moderator.base
        self.moderator.call(
            "POST", f"{base}/polls/{poll_id}/close", "moderator: POST polls/close", (200,)
        )
        if self.shown is not None:
            self.show(self.shown, shown=False)
        self.show(poll_id, shown=True)
        self.shown = poll_id

    def show(self, poll_id: str, *, shown: bool) -> None:
        self.moderator.call(
            "PUT",
            f"{self.moderator.base}/polls/{poll_id}/results-visibility",
            "moderator: PUT polls/results-visibility",
            (200,),
            body={"shown": shown},
        )


def _quit_when_done(environment: Environment) -> None:
    """At `end_at` users stop sending; quit once nothing is in flight (or a timeout later)."""
    gevent.sleep(max(CONFIG["end_at"] - time.time(), 0))
    deadline = time.time() + REQUEST_TIMEOUT_SECONDS + 5
    # Users notice the end when they wake; give them a moment, then wait for answers.
    gevent.sleep(1)
    while IN_FLIGHT and time.time() < deadline:
        gevent.sleep(0.2)
    assert environment.runner is not None
    environment.runner.quit()


def _stats(environment: Environment) -> dict[str, Any]:
    stats = environment.stats
    return {
        "entries": [
            {
                "name": entry.name,
                "method": entry.method,
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "histogram": {str(ms): n for ms, n in entry.response_times.items()},
            }
            for entry in stats.entries.values()
        ],
        "errors": [
            {"name": e.name, "method": e.method, "error": str(e.error), "count": e.occurrences}
            for e in stats.errors.values()
        ],
    }


def main(argv: list[str]) -> int:
    config_path, out_path = Path(argv[0]), Path(argv[1])
    CONFIG.update(json.loads(config_path.read_text()))
    user_classes: list[type[Client]] = []
    if CONFIG["viewers"]:
        Viewer.fixed_count = CONFIG["viewers"]
        user_classes.append(Viewer)
    if CONFIG["moderators"]:
        Moderator.fixed_count = len(CONFIG["moderators"])
        user_classes.append(Moderator)
    users = CONFIG["viewers"] + len(CONFIG["moderators"])
    environment = Environment(user_classes=list(user_classes), host=CONFIG["host"])
    runner = environment.create_local_runner()
    started = time.time()
    CONFIG["first_poll_at"] = started + CONFIG["first_poll_after"]
    runner.start(users, spawn_rate=max(users / max(CONFIG["ramp_seconds"], 1), 1))
    gevent.spawn(_quit_when_done, environment)
    assert runner.greenlet is not None
    runner.greenlet.join()
    out_path.write_text(
        json.dumps(
            {
                "started_at": started,
                "ended_at": time.time(),
                "ledger": LEDGER.to_json(),
                "in_flight_at_quit": IN_FLIGHT,
                **_stats(environment),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
