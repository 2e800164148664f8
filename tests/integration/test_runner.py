"""The local trigger runner drives the registered Functions through Azurite like the host."""

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from azure.storage.blob import ContentSettings

from devtools import runner as runner_module
from devtools.runner import TriggerRunner
from shared import stores
from shared.accounts.service import create_tenant
from shared.clients import blob_container_name, blob_service, queue_client, queue_service
from shared.composition import blob_consumers
from shared.events.models import BLOB_CREATED, EventGridEvent
from shared.mail_queue import enqueue
from tests.helpers import PASSWORD, unique_email

QUEUES = tuple(spec.name for spec in stores.QUEUES)


@pytest.fixture(autouse=True)
def empty_queues(stack):
    """Every test starts and ends with empty queues (other tests may have left messages);
    the runner drains all of them, so a leftover in any queue would be counted here."""
    for name in QUEUES:
        queue_client(name).clear_messages()
    yield
    for name in QUEUES:
        queue_client(name).clear_messages()


def make_runner(**options: Any) -> TriggerRunner:
    settings: dict[str, Any] = {
        "visibility_timeout": 5,
        "retry_delay": 0,
        "poll_interval": 0.05,
        "watch_containers": (),
    }
    return TriggerRunner(**(settings | options))


def functions_of(blueprint: func.Blueprint) -> list[func.Function]:
    app = func.FunctionApp()
    app.register_functions(blueprint)
    return app.get_functions()


def message_count(logical: str) -> int:
    """Messages in the queue, the invisible ones included."""
    count = queue_client(logical).get_queue_properties().approximate_message_count
    assert count is not None
    return count


def bodies(logical: str) -> list[bytes]:
    return [m.content for m in queue_client(logical).peek_messages(max_messages=32)]


def wait_until(condition, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def new_account() -> tuple[str, str, str]:
    email = unique_email("runner")
    tenant, owner = create_tenant(
        name="Runner customer", owner_email=email, owner_name="Rita Runner", owner_password=PASSWORD
    )
    return tenant.tenant_id, owner.id, owner.email


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- mail queue (the real send_mail function) ------------------------------------------------


def test_queued_mail_reaches_the_smtp_sink_and_leaves_the_queue(mail_sink):
    tenant_id, account_id, email = new_account()
    enqueue(
        kind="password_reset",
        tenant_id=tenant_id,
        account_id=account_id,
        idempotency_key=uuid.uuid4().hex,
    )
    assert message_count("mail") == 1

    counts = make_runner().run_once()

    assert (counts.received, counts.succeeded, counts.retried, counts.errors) == (1, 1, 0, 0)
    mails = mail_sink.to(email)
    assert len(mails) == 1
    assert "/admin/#/password-reset?token=" in mails[0].get_content()
    assert message_count("mail") == 0
    assert message_count("mail-poison") == 0


def test_the_same_mail_job_delivered_twice_sends_one_mail(mail_sink):
    tenant_id, account_id, email = new_account()
    key = uuid.uuid4().hex
    for _ in range(2):
        enqueue(
            kind="password_reset", tenant_id=tenant_id, account_id=account_id, idempotency_key=key
        )
    runner = make_runner()

    counts = runner.run_once()

    assert (counts.received, counts.succeeded) == (2, 2)
    assert len(mail_sink.to(email)) == 1
    assert message_count("mail") == 0
    # the same job once more, later: still one mail
    enqueue(kind="password_reset", tenant_id=tenant_id, account_id=account_id, idempotency_key=key)
    assert runner.run_once().succeeded == 1
    assert len(mail_sink.to(email)) == 1


def test_a_poison_message_moves_to_the_poison_queue_after_five_dequeues(mail_sink):
    tenant_id, account_id, email = new_account()
    queue_client("mail").send_message(b"{not json")
    runner = make_runner()

    for attempt in range(1, 5):
        counts = runner.run_once()
        assert (counts.received, counts.retried, counts.poisoned) == (1, 1, 0), attempt
        assert bodies("mail") == [b"{not json"]  # visible again at once (retry_delay 0)
        assert message_count("mail-poison") == 0
    counts = runner.run_once()

    assert (counts.received, counts.retried, counts.poisoned) == (1, 0, 1)
    assert message_count("mail") == 0
    assert bodies("mail-poison") == [b"{not json"]
    # the runner goes on with the next job
    enqueue(
        kind="password_reset",
        tenant_id=tenant_id,
        account_id=account_id,
        idempotency_key=uuid.uuid4().hex,
    )
    assert runner.run_once().succeeded == 1
    assert len(mail_sink.to(email)) == 1


def test_the_runner_loop_survives_poison_messages(mail_sink):
    tenant_id, account_id, email = new_account()
    unknown_kind = json.dumps(
        {
            "kind": "no_such_mail",
            "tenant_id": tenant_id,
            "account_id": account_id,
            "idempotency_key": uuid.uuid4().hex,
        }
    ).encode()
    queue_client("mail").send_message(b"[]")
    queue_client("mail").send_message(unknown_kind)
    runner = make_runner()
    stop = threading.Event()
    loop = threading.Thread(target=runner.run_forever, args=(stop,), daemon=True)
    loop.start()
    try:
        wait_until(lambda: len(bodies("mail-poison")) == 2)
        assert loop.is_alive()
        enqueue(
            kind="password_reset",
            tenant_id=tenant_id,
            account_id=account_id,
            idempotency_key=uuid.uuid4().hex,
        )
        wait_until(lambda: len(mail_sink.to(email)) == 1)
        wait_until(lambda: message_count("mail") == 0)
        assert loop.is_alive()
    finally:
        stop.set()
        loop.join(timeout=5)
    assert not loop.is_alive()
    assert sorted(bodies("mail-poison")) == sorted([b"[]", unknown_kind])


# -- visibility timeout and at-least-once delivery (own functions on "blob-events") ----------


def flaky_functions(
    deliveries: list[func.QueueMessage], *, failures: int = 1, pause: float = 0.0
) -> list[func.Function]:
    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]

    @blueprint.function_name("flaky")
    @blueprint.queue_trigger(
        arg_name="msg", queue_name="blob-events", connection="AzureWebJobsStorage"
    )
    def flaky(msg: func.QueueMessage) -> None:
        deliveries.append(msg)
        time.sleep(pause)
        if len(deliveries) <= failures:
            raise RuntimeError("handler fails this time")

    return functions_of(blueprint)


def test_a_failed_message_comes_back_after_the_retry_delay_and_succeeds():
    deliveries: list[func.QueueMessage] = []
    runner = make_runner(functions=flaky_functions(deliveries), retry_delay=1)
    queue_client("blob-events").send_message(b"payload")

    first = runner.run_once()
    assert (first.received, first.retried, first.succeeded) == (1, 1, 0)
    assert runner.run_once().received == 0  # invisible during the retry delay
    assert message_count("blob-events") == 1
    time.sleep(1.2)
    second = runner.run_once()

    assert (second.received, second.succeeded) == (1, 1)
    assert [m.get_body() for m in deliveries] == [b"payload", b"payload"]
    assert [m.dequeue_count for m in deliveries] == [1, 2]
    assert deliveries[0].id == deliveries[1].id
    assert message_count("blob-events") == 0


def test_a_message_of_a_runner_that_died_is_delivered_again_after_the_visibility_timeout():
    deliveries: list[func.QueueMessage] = []
    queue_client("blob-events").send_message(b"left behind")
    taken = queue_client("blob-events").receive_message(visibility_timeout=1)  # then "crash"
    assert taken is not None
    runner = make_runner(functions=flaky_functions(deliveries, failures=0))

    assert runner.run_once().received == 0
    time.sleep(1.2)
    counts = runner.run_once()

    assert counts.succeeded == 1
    assert [(m.get_body(), m.dequeue_count) for m in deliveries] == [(b"left behind", 2)]
    assert message_count("blob-events") == 0


def test_the_lease_is_renewed_while_a_slow_handler_runs():
    deliveries: list[func.QueueMessage] = []
    seen_while_running: list[int] = []
    runner = make_runner(
        functions=flaky_functions(deliveries, failures=0, pause=1.6), visibility_timeout=1
    )
    queue_client("blob-events").send_message(b"slow")

    def look() -> None:
        time.sleep(1.3)  # past the first visibility timeout of 1 s
        seen_while_running.append(len(bodies("blob-events")))

    spy = threading.Thread(target=look)
    spy.start()
    counts = runner.run_once()
    spy.join()

    assert seen_while_running == [0]  # still invisible to other consumers
    assert (counts.succeeded, counts.errors) == (1, 0)
    assert len(deliveries) == 1
    assert message_count("blob-events") == 0


# -- blob watcher -> Event Grid BlobCreated -> blob_created -> consumer -----------------------


@pytest.fixture
def uploads_consumer(monkeypatch):
    received: list[EventGridEvent] = []
    consumers = {**blob_consumers.BLOB_CONSUMERS, "uploads": received.append}
    monkeypatch.setattr(blob_consumers, "BLOB_CONSUMERS", consumers)
    return received


def upload(name: str, data: bytes, content_type: str):
    container = blob_service().get_container_client(blob_container_name("uploads"))
    return container.upload_blob(
        name, data, overwrite=True, content_settings=ContentSettings(content_type=content_type)
    )


def passes_until(runner: TriggerRunner, done: Callable[[], bool], *, passes: int = 10) -> None:
    """Run passes until done: uploads of earlier tests still waiting for a scan verdict are
    evented too and may queue ahead, more than one batch of them on a slow machine."""
    for _ in range(passes):
        if done():
            return
        runner.run_once()


def test_a_new_upload_is_evented_once_and_reaches_its_consumer(uploads_consumer):
    name = f"{uuid.uuid4().hex}/{uuid.uuid4().hex}/talk.mp4"
    blob = upload(name, b"x" * 1234, "video/mp4")
    runner = make_runner(watch_containers=("uploads",))

    first = runner.run_once()

    def events_of_mine() -> list[EventGridEvent]:
        return [e for e in uploads_consumer if e.blob_name == name]

    passes_until(runner, lambda: len(events_of_mine()) == 1)
    runner.run_once()

    left = [m.content for m in queue_client("blob-events").peek_messages(max_messages=32)]
    assert not [m for m in left if name in str(m)]
    mine = [e for e in uploads_consumer if e.blob_name == name]
    assert len(mine) == 1
    event = mine[0]
    physical = blob_container_name("uploads")
    assert event.event_type == BLOB_CREATED
    assert event.subject == f"/blobServices/default/containers/{physical}/blobs/{name}"
    assert event.container == physical
    assert event.data.url == blob.url
    assert event.data.content_type == "video/mp4"
    assert event.data.content_length == 1234
    assert event.data.e_tag is not None
    assert event.data.e_tag.strip('"') == blob.get_blob_properties().etag.strip('"')
    assert first.blobs_evented >= 1
    assert blob.get_blob_tags()["evented"] == blob.get_blob_properties().etag.strip('"')

    runner.run_once()
    make_runner(watch_containers=("uploads",)).run_once()  # a restarted runner
    assert len([e for e in uploads_consumer if e.blob_name == name]) == 1

    upload(name, b"y" * 10, "video/mp4")  # overwritten: a new BlobCreated, as in Azure
    passes_until(runner, lambda: len(events_of_mine()) == 2)
    again = [e for e in uploads_consumer if e.blob_name == name]
    assert len(again) == 2
    assert again[1].data.content_length == 10
    assert again[1].id != again[0].id


def test_the_event_is_queued_as_event_grid_does_base64_json():
    name = f"{uuid.uuid4().hex}/doc.pdf"
    upload(name, b"%PDF-", "application/pdf")
    make_runner(functions=[], watch_containers=("uploads",)).run_once()

    raw = queue_service().get_queue_client(queue_client("blob-events").queue_name)
    texts = [m.content for m in raw.peek_messages(max_messages=32)]
    wire = [json.loads(base64.b64decode(t)) for t in texts]
    mine = [w for w in wire if w["subject"].endswith(f"/blobs/{name}")]
    assert len(mine) == 1
    assert mine[0]["eventType"] == "Microsoft.Storage.BlobCreated"
    assert mine[0]["data"]["api"] == "PutBlob"
    assert mine[0]["data"]["contentType"] == "application/pdf"
    assert mine[0]["data"]["contentLength"] == 5
    assert mine[0]["eventTime"].endswith("Z")
    uuid.UUID(mine[0]["id"])


# -- timers -----------------------------------------------------------------------------------


def timer_functions(
    calls: list[func.TimerRequest], schedule: str, run_on_startup: bool = False
) -> list[func.Function]:
    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]

    @blueprint.function_name("ticker")
    @blueprint.timer_trigger(arg_name="timer", schedule=schedule, run_on_startup=run_on_startup)
    def ticker(timer: func.TimerRequest) -> None:
        calls.append(timer)

    return functions_of(blueprint)


def test_a_timer_runs_when_due_and_says_when_it_is_past_due():
    calls: list[func.TimerRequest] = []
    now = [at("2025-03-01T12:04:59")]
    runner = make_runner(functions=timer_functions(calls, "0 */5 * * * *"), now=lambda: now[0])

    assert runner.run_once().timers_run == 0
    now[0] = at("2025-03-01T12:05:00")
    assert runner.run_once().timers_run == 1
    assert runner.run_once().timers_run == 0  # once per occurrence
    now[0] = at("2025-03-01T12:09:59")
    assert runner.run_once().timers_run == 0
    now[0] = at("2025-03-01T12:25:00")  # the runner stalled: 12:10 to 12:20 missed
    assert runner.run_once().timers_run == 1

    assert [c.past_due for c in calls] == [False, True]
    assert all(isinstance(c, func.TimerRequest) for c in calls)


def test_run_on_startup_runs_the_timer_on_the_first_pass_only():
    calls: list[func.TimerRequest] = []
    runner = make_runner(functions=timer_functions(calls, "0 0 0 1 1 *", run_on_startup=True))

    assert runner.run_once().timers_run == 1
    assert runner.run_once().timers_run == 0
    assert [c.past_due for c in calls] == [False]


def test_a_failing_timer_does_not_stop_the_pass():
    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]

    @blueprint.function_name("broken_timer")
    @blueprint.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=True)
    def broken_timer(timer: func.TimerRequest) -> None:
        raise RuntimeError("timer bug")

    deliveries: list[func.QueueMessage] = []
    queue_client("blob-events").send_message(b"after the timer")
    functions = functions_of(blueprint) + flaky_functions(deliveries, failures=0)
    counts = make_runner(functions=functions).run_once()

    assert (counts.timers_run, counts.errors, counts.succeeded) == (1, 1, 1)
    assert [m.get_body() for m in deliveries] == [b"after the timer"]


def test_the_registered_app_functions_are_driven():
    now = [at("2025-03-01T12:04:59")]
    runner = make_runner(now=lambda: now[0])

    queues = {q.logical_queue for q in runner.queue_functions}
    assert {"mail", "blob-events", "participant-imports"} <= queues
    timers = [t.name for t in runner.timer_functions]
    assert {"purge_expired_sessions", "expire_import_files"} <= set(timers)  # due: the purge
    assert runner_module.app_functions() is runner_module.app_functions()  # indexed once
    runner.run_once()
    now[0] = at("2025-03-01T12:05:00")
    counts = runner.run_once()
    assert (counts.timers_run, counts.errors) == (1, 0)  # the real purge ran against Cosmos


# -- command line -----------------------------------------------------------------------------


def test_main_runs_one_pass():
    assert runner_module.main(["--once", "--log-level", "WARNING"]) == 0


def test_the_runner_process_stops_cleanly_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.runner", "--poll-interval", "0.1"],
        cwd=runner_module.__file__.rsplit("/devtools/", 1)[0],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        started = False
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if "trigger runner started" in line:
                started = True
                break
        assert started, "the runner did not start"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "trigger runner stopped" in output
