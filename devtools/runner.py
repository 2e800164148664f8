"""Local trigger runner: drives the registered Functions from Azurite like the Functions host.

The Functions Core Tools cannot be installed offline, so this runner stands in for the host
locally and in tests. It reads the same function objects the host indexes
(`function_app.app.get_functions()`) and:

- polls each `queueTrigger` queue (per-run prefix via `shared.clients.queue_name`) with a
  visibility timeout, renews the lease while a handler runs, deletes the message on success,
  makes it visible again after `retry_delay` on failure and moves it to `<queue>-poison` once
  it has been dequeued `max_dequeue_count` times (at-least-once delivery, like the host);
- calls each `timerTrigger` when its 6-field NCRONTAB schedule is due (`runOnStartup` too);
- watches the blob containers of `shared.composition.blob_consumers` and posts an Event Grid
  `Microsoft.Storage.BlobCreated` event into the `blob-events` queue for every new blob, as
  Event Grid does in Azure. A blob index tag (`evented=<etag>`) records what was evented, so
  a restarted runner does not event old blobs again and an overwritten blob (new etag) is
  evented once more.

Run it with `python -m devtools.runner` against the emulators named by the WEBCAST_* settings.
"""

import argparse
import asyncio
import inspect
import json
import logging
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import azure.functions as func
from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.functions.queue import QueueMessage as TriggerQueueMessage
from azure.storage.blob import BlobProperties, ContainerClient
from azure.storage.queue import QueueClient
from azure.storage.queue import QueueMessage as StorageQueueMessage

from shared import clock
from shared.clients import blob_container_name, blob_service, queue_client, queue_name
from shared.composition.blob_consumers import BLOB_CONSUMERS
from shared.events.models import BLOB_CREATED, BlobCreatedData, EventGridEvent

log = logging.getLogger("webcast.runner")

DEFAULT_WATCH_CONTAINERS = tuple(BLOB_CONSUMERS)
EVENT_QUEUE = "blob-events"
EVENTED_TAG = "evented"
POISON_SUFFIX = "-poison"
LOCAL_TOPIC = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local"
    "/providers/Microsoft.Storage/storageAccounts/{account}"
)

# ---------------------------------------------------------------------------------------------
# NCRONTAB schedules (the 6-field form of the Functions timer trigger)
# ---------------------------------------------------------------------------------------------

_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        start=1,
    )
}
_DAY_NAMES = {
    name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))
}
# (name, lowest, highest, names) for: second minute hour day month day-of-week
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day", 1, 31, {}),
    ("month", 1, 12, _MONTH_NAMES),
    ("day-of-week", 0, 6, _DAY_NAMES),
)
_SEARCH_YEARS = 5


def _parse_value(text: str, name: str, lowest: int, highest: int, names: dict[str, int]) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise ValueError(f"invalid {name} value {text!r}")
    value = int(text)
    if not lowest <= value <= highest:
        raise ValueError(f"{name} value {value} is outside {lowest}-{highest}")
    return value


def _parse_field(
    text: str, name: str, lowest: int, highest: int, names: dict[str, int]
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ValueError(f"empty element in {name} field {text!r}")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"invalid step {step_text!r} in {name} field")
            step = int(step_text)
        if base == "*":
            start, end = lowest, highest
        elif "-" in base:
            first, _, last = base.partition("-")
            start = _parse_value(first, name, lowest, highest, names)
            end = _parse_value(last, name, lowest, highest, names)
            if start > end:
                raise ValueError(f"range {base!r} in {name} field runs backwards")
        else:
            start = _parse_value(base, name, lowest, highest, names)
            # "a/n" means every n-th value from a on, as in NCrontab.
            end = highest if slash else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed 6-field NCRONTAB expression: second minute hour day month day-of-week (UTC).

    Elements: `*`, `*/n`, numbers, ranges `a-b`, steps `a-b/n` and `a/n`, comma lists, and
    month/day names (JAN, MON). Day of month and day of week must both match (NCrontab).
    Day of week counts from 0 = Sunday.
    """

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> "CronSchedule":
        parts = expression.split()
        if len(parts) != len(_FIELDS):
            raise ValueError(
                f"NCRONTAB schedule {expression!r} needs 6 fields "
                "(second minute hour day month day-of-week)"
            )
        sets = [_parse_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
        return cls(expression, *sets)

    def matches(self, moment: datetime) -> bool:
        return (
            moment.second in self.seconds
            and moment.minute in self.minutes
            and moment.hour in self.hours
            and self._day_matches(moment)
        )

    def _day_matches(self, moment: datetime) -> bool:
        return (
            moment.month in self.months
            and moment.day in self.days
            and (moment.weekday() + 1) % 7 in self.weekdays
        )

    def next_after(self, moment: datetime) -> datetime:
        """The first whole second strictly after `moment` that the schedule matches."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        candidate = moment.replace(microsecond=0) + timedelta(seconds=1)
        limit = candidate + timedelta(days=366 * _SEARCH_YEARS)
        while candidate < limit:
            if candidate.month not in self.months:
                year, month = divmod(candidate.month, 12)
                candidate = candidate.replace(
                    year=candidate.year + year, month=month + 1, day=1, hour=0, minute=0, second=0
                )
            elif not self._day_matches(candidate):
                candidate = (candidate + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            elif candidate.hour not in self.hours:
                candidate = (candidate + timedelta(hours=1)).replace(minute=0, second=0)
            elif candidate.minute not in self.minutes:
                candidate = (candidate + timedelta(minutes=1)).replace(second=0)
            elif candidate.second not in self.seconds:
                candidate += timedelta(seconds=1)
            else:
                return candidate
        raise ValueError(f"schedule {self.expression!r} never fires within {_SEARCH_YEARS} years")


# ---------------------------------------------------------------------------------------------
# What the runner drives
# ---------------------------------------------------------------------------------------------

_functions_lock = threading.Lock()
_app_functions: list[func.Function] | None = None


def app_functions() -> list[func.Function]:
    """The functions of `function_app.app`, indexed once (a second indexing call raises)."""
    global _app_functions
    with _functions_lock:
        if _app_functions is None:
            import function_app

            _app_functions = list(function_app.app.get_functions())
        return _app_functions


class LocalTimerRequest(func.TimerRequest):
    """What a timer function receives: the `azure.functions.TimerRequest` interface."""

    def __init__(
        self, *, past_due: bool, schedule: str, last: datetime | None, next_due: datetime
    ) -> None:
        self._past_due = past_due
        self.schedule = {"Expression": schedule, "AdjustForDST": False}
        self.schedule_status = {
            "Last": last.isoformat() if last else None,
            "Next": next_due.isoformat(),
            "LastUpdated": datetime.now(UTC).isoformat(),
        }

    @property
    def past_due(self) -> bool:
        return self._past_due


@dataclass
class PassCounts:
    """What one pass did."""

    received: int = 0
    succeeded: int = 0
    retried: int = 0
    poisoned: int = 0
    timers_run: int = 0
    blobs_evented: int = 0
    errors: int = 0

    @property
    def did_work(self) -> bool:
        return bool(self.received or self.timers_run or self.blobs_evented)


@dataclass
class _QueueFunction:
    name: str
    argument: str
    logical_queue: str
    target: Callable[..., Any]


@dataclass
class _TimerFunction:
    name: str
    argument: str
    schedule: CronSchedule
    run_on_startup: bool
    target: Callable[..., Any]
    next_due: datetime | None = None
    last_run: datetime | None = None


@dataclass
class _Lease:
    """The current pop receipt of a received message; renewals replace it."""

    message_id: str
    pop_receipt: str
    renewed_at: float
    lock: threading.Lock = field(default_factory=threading.Lock)


def _setting(value: str) -> str:
    """Resolve a `%AppSetting%` binding expression from the environment, as the host does."""
    match = re.fullmatch(r"%([^%]+)%", value)
    if match is None:
        return value
    resolved = os.environ.get(match.group(1))
    if resolved is None:
        raise KeyError(f"app setting {match.group(1)!r} is not set")
    return resolved


def _invoke(target: Callable[..., Any], argument: str, value: Any) -> None:
    result = target(**{argument: value})
    if inspect.isawaitable(result):
        asyncio.run(_await(result))


async def _await(awaitable: Any) -> None:
    await awaitable


def _utc_now() -> datetime:
    return datetime.fromtimestamp(clock.now(), tz=UTC)


class TriggerRunner:
    """Drives queue and timer functions from Azurite and posts BlobCreated events."""

    def __init__(
        self,
        *,
        functions: Sequence[func.Function] | None = None,
        visibility_timeout: int = 10,
        retry_delay: int = 2,
        max_dequeue_count: int = 5,
        batch_size: int = 16,
        poll_interval: float = 1.0,
        watch_containers: Iterable[str] = DEFAULT_WATCH_CONTAINERS,
        event_queue: str = EVENT_QUEUE,
        timer_grace: float = 15.0,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        if visibility_timeout < 1:
            raise ValueError("visibility_timeout must be at least 1 second")
        if retry_delay < 0 or max_dequeue_count < 1 or not 1 <= batch_size <= 32:
            raise ValueError("retry_delay >= 0, max_dequeue_count >= 1, batch_size 1-32")
        self.visibility_timeout = visibility_timeout
        self.retry_delay = retry_delay
        self.max_dequeue_count = max_dequeue_count
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.watch_containers = tuple(watch_containers)
        self.event_queue = event_queue
        self.timer_grace = timedelta(seconds=timer_grace)
        self.now = now
        self.queue_functions: list[_QueueFunction] = []
        self.timer_functions: list[_TimerFunction] = []
        self._reported: dict[str, str] = {}
        self._index(app_functions() if functions is None else functions)

    # -- discovery ---------------------------------------------------------------------------

    def _index(self, functions: Sequence[func.Function]) -> None:
        for function in functions:
            name = function.get_function_name() or function.get_user_function().__name__
            trigger = function.get_trigger()
            if trigger is None:
                continue
            spec = trigger.get_dict_repr()
            kind = spec.get("type")
            extra = [b for b in function.get_bindings() if b is not trigger]
            if kind == "httpTrigger":
                continue  # served by uvicorn, not by this runner
            if extra:
                log.warning(
                    "function %s has bindings besides its trigger; the local runner "
                    "does not support them and skips it",
                    name,
                )
                continue
            if kind == "queueTrigger":
                self.queue_functions.append(
                    _QueueFunction(
                        name=name,
                        argument=spec["name"],
                        logical_queue=_setting(spec["queueName"]),
                        target=function.get_user_function(),
                    )
                )
            elif kind == "timerTrigger":
                self.timer_functions.append(
                    _TimerFunction(
                        name=name,
                        argument=spec["name"],
                        schedule=CronSchedule.parse(_setting(spec["schedule"])),
                        run_on_startup=bool(spec.get("runOnStartup", False)),
                        target=function.get_user_function(),
                    )
                )
            else:
                log.warning(
                    "function %s has a %s trigger, which the local runner does not drive; skipped",
                    name,
                    kind,
                )

    # -- one pass ----------------------------------------------------------------------------

    def run_once(self) -> PassCounts:
        """One pass: event new blobs, run due timers, then one batch from every queue."""
        counts = PassCounts()
        for container in self.watch_containers:
            self._guard(f"container {container}", counts, self._watch_container, container)
        for timer in self.timer_functions:
            self._guard(f"timer {timer.name}", counts, self._run_timer, timer)
        for queued in self.queue_functions:
            self._guard(f"queue {queued.logical_queue}", counts, self._drain_batch, queued)
        return counts

    def run_forever(self, stop_event: threading.Event) -> None:
        """Pass after pass until `stop_event` is set; waits `poll_interval` when idle."""
        log.info(
            "trigger runner started: queues %s, timers %s, watching %s",
            sorted({q.logical_queue for q in self.queue_functions}),
            [t.name for t in self.timer_functions],
            list(self.watch_containers),
        )
        while not stop_event.is_set():
            try:
                counts = self.run_once()
            except Exception:
                log.exception("runner pass failed")
                counts = PassCounts(errors=1)
            if not counts.did_work:
                stop_event.wait(self.poll_interval)
        log.info("trigger runner stopped")

    def _guard(
        self, source: str, counts: PassCounts, step: Callable[[Any, PassCounts], None], item: Any
    ) -> None:
        """Run one step; storage or handler trouble is logged (once per kind), never raised."""
        try:
            step(item, counts)
        except Exception as error:
            counts.errors += 1
            text = f"{type(error).__name__}: {error}".splitlines()[0]
            if self._reported.get(source) != text:
                log.warning("%s: %s", source, text)
                self._reported[source] = text
        else:
            self._reported.pop(source, None)

    # -- queues ------------------------------------------------------------------------------

    def _drain_batch(self, queued: _QueueFunction, counts: PassCounts) -> None:
        client = queue_client(queued.logical_queue)
        pages = client.receive_messages(
            messages_per_page=self.batch_size, visibility_timeout=self.visibility_timeout
        ).by_page()
        batch = list(next(pages, []))  # one request: a pass sees each message at most once
        received_at = time.monotonic()
        for message in batch:
            counts.received += 1
            lease = _Lease(
                message_id=message.id, pop_receipt=message.pop_receipt or "", renewed_at=received_at
            )
            try:
                self._deliver(queued, client, message, lease, counts)
            except AzureError as error:
                # Bookkeeping failed (lease lost, emulator gone): the message reappears after
                # its visibility timeout; the rest of the batch still gets its turn.
                counts.errors += 1
                log.warning(
                    "%s (%s) message %s: %s", queued.name, queued.logical_queue, message.id, error
                )

    def _renew(self, client: QueueClient, lease: _Lease) -> bool:
        with lease.lock:
            try:
                updated = client.update_message(
                    lease.message_id,
                    pop_receipt=lease.pop_receipt,
                    visibility_timeout=self.visibility_timeout,
                )
            except AzureError as error:
                log.warning("lost the lease of message %s: %s", lease.message_id, error)
                return False
            lease.pop_receipt = updated.pop_receipt or lease.pop_receipt
            lease.renewed_at = time.monotonic()
            return True

    def _deliver(
        self,
        queued: _QueueFunction,
        client: QueueClient,
        message: StorageQueueMessage,
        lease: _Lease,
        counts: PassCounts,
    ) -> None:
        body = message.content if message.content is not None else b""
        if isinstance(body, str):
            body = body.encode()
        where = f"{queued.name} ({queued.logical_queue}) message {message.id}"
        dequeue_count = message.dequeue_count or 1
        if dequeue_count > self.max_dequeue_count:
            # Left over by an earlier runner that stopped mid-way: poison without another try.
            self._poison(queued, client, body, lease, counts, where)
            return
        if time.monotonic() - lease.renewed_at > self.visibility_timeout / 2 and not self._renew(
            client, lease
        ):
            return  # someone else may hold it now; it stays in the queue
        trigger_message = TriggerQueueMessage(  # type: ignore[no-untyped-call]
            id=message.id,
            body=body,
            dequeue_count=dequeue_count,
            insertion_time=message.inserted_on,
            expiration_time=message.expires_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=lease.pop_receipt,
        )
        finished = threading.Event()
        keeper = threading.Thread(
            target=self._keep_lease,
            args=(client, lease, finished),
            name=f"lease-{message.id}",
            daemon=True,
        )
        keeper.start()
        try:
            _invoke(queued.target, queued.argument, trigger_message)
        except Exception as error:
            finished.set()
            keeper.join()
            self._failed(queued, client, body, lease, dequeue_count, error, counts, where)
            return
        finished.set()
        keeper.join()
        try:
            client.delete_message(lease.message_id, lease.pop_receipt)
        except AzureError as error:
            log.warning("%s: handled, but the delete failed (%s); it may come again", where, error)
        counts.succeeded += 1
        log.info("%s: done (dequeue count %d)", where, dequeue_count)

    def _keep_lease(self, client: QueueClient, lease: _Lease, finished: threading.Event) -> None:
        """Renew the visibility timeout while a handler runs, as the host does."""
        interval = max(self.visibility_timeout / 2, 0.5)
        while not finished.wait(interval):
            if not self._renew(client, lease):
                return

    def _failed(
        self,
        queued: _QueueFunction,
        client: QueueClient,
        body: bytes,
        lease: _Lease,
        dequeue_count: int,
        error: Exception,
        counts: PassCounts,
        where: str,
    ) -> None:
        if dequeue_count >= self.max_dequeue_count:
            log.error(
                "%s failed on attempt %d of %d: %s: %s",
                where,
                dequeue_count,
                self.max_dequeue_count,
                type(error).__name__,
                error,
            )
            self._poison(queued, client, body, lease, counts, where)
            return
        log.warning(
            "%s failed on attempt %d of %d, again in %d s: %s: %s",
            where,
            dequeue_count,
            self.max_dequeue_count,
            self.retry_delay,
            type(error).__name__,
            error,
        )
        with lease.lock:
            client.update_message(
                lease.message_id, pop_receipt=lease.pop_receipt, visibility_timeout=self.retry_delay
            )
        counts.retried += 1

    def _poison(
        self,
        queued: _QueueFunction,
        client: QueueClient,
        body: bytes,
        lease: _Lease,
        counts: PassCounts,
        where: str,
    ) -> None:
        poison_name = queue_name(queued.logical_queue) + POISON_SUFFIX
        poison = queue_client(poison_name, physical=True)
        try:
            poison.send_message(body)
        except ResourceNotFoundError:
            poison.create_queue()  # the host creates a missing poison queue too
            poison.send_message(body)
        with lease.lock:
            client.delete_message(lease.message_id, lease.pop_receipt)
        counts.poisoned += 1
        log.error("%s moved to %s", where, poison_name)

    # -- timers ------------------------------------------------------------------------------

    def _run_timer(self, timer: _TimerFunction, counts: PassCounts) -> None:
        moment = self.now()
        if timer.next_due is None:  # first pass: startup
            timer.next_due = timer.schedule.next_after(moment)
            if timer.run_on_startup:
                self._fire(timer, moment, past_due=False, counts=counts)
            return
        if moment < timer.next_due:
            return
        past_due = moment - timer.next_due > self.timer_grace
        timer.next_due = timer.schedule.next_after(moment)
        self._fire(timer, moment, past_due=past_due, counts=counts)

    def _fire(
        self, timer: _TimerFunction, moment: datetime, *, past_due: bool, counts: PassCounts
    ) -> None:
        assert timer.next_due is not None
        request = LocalTimerRequest(
            past_due=past_due,
            schedule=timer.schedule.expression,
            last=timer.last_run,
            next_due=timer.next_due,
        )
        timer.last_run = moment
        counts.timers_run += 1
        try:
            _invoke(timer.target, timer.argument, request)
        except Exception:
            log.exception("timer %s failed (next run %s)", timer.name, timer.next_due.isoformat())
            counts.errors += 1
            return
        log.info(
            "timer %s ran%s; next run %s",
            timer.name,
            " (past due)" if past_due else "",
            timer.next_due.isoformat(),
        )

    # -- blob events -------------------------------------------------------------------------

    def _watch_container(self, logical: str, counts: PassCounts) -> None:
        container = blob_service().get_container_client(blob_container_name(logical))
        for blob in container.list_blobs(include=["tags"]):
            etag = (blob.etag or "").strip('"')
            tags = dict(blob.tags or {})
            if tags.get(EVENTED_TAG) == etag:
                continue
            event = blob_created_event(container, blob)
            queue_client(self.event_queue).send_message(json.dumps(event.to_wire()).encode())
            # After posting: a crash in between events the blob twice (at least once, as
            # Event Grid). An overwrite after the listing leaves a stale etag in the tag, so
            # the new version is evented on the next pass.
            tags[EVENTED_TAG] = etag
            container.get_blob_client(blob.name).set_blob_tags(tags)
            counts.blobs_evented += 1
            log.info("BlobCreated %s for %s/%s", event.id, container.container_name, blob.name)


def blob_created_event(container: ContainerClient, blob: BlobProperties) -> EventGridEvent:
    """The Event Grid event Azure Storage publishes when `blob` is created."""
    blob_client = container.get_blob_client(blob.name)
    settings = blob.content_settings
    etag = (blob.etag or "").strip('"')
    return EventGridEvent(
        id=str(uuid.uuid4()),
        topic=LOCAL_TOPIC.format(account=container.account_name),
        subject=f"/blobServices/default/containers/{container.container_name}/blobs/{blob.name}",
        event_type=BLOB_CREATED,
        event_time=datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        data=BlobCreatedData(
            api="PutBlob",
            e_tag=f'"{etag}"' if etag else None,  # quoted, as Event Grid sends it
            content_type=settings.content_type if settings else None,
            content_length=blob.size or 0,
            blob_type=str(getattr(blob.blob_type, "value", "BlockBlob")),
            url=blob_client.url,
        ),
        data_version="",
        metadata_version="1",
    )


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.runner",
        description="Drive the queue and timer functions from Azurite and post BlobCreated "
        "events, like the Functions host (emulators from the WEBCAST_* settings).",
    )
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds when idle")
    parser.add_argument(
        "--bootstrap", action="store_true", help="create the database, containers and queues first"
    )
    parser.add_argument("--log-level", default="INFO")
    options = parser.parse_args(argv)
    logging.basicConfig(
        level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The SDKs log every HTTP request at INFO; the runner's own lines are what matter here.
    logging.getLogger("azure").setLevel(logging.WARNING)
    if options.bootstrap:
        from shared.bootstrap import ensure_local_resources

        ensure_local_resources()
    runner = TriggerRunner(poll_interval=options.poll_interval)
    if options.once:
        log.info("one pass: %s", runner.run_once())
        return 0
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the current pass", signum)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    runner.run_forever(stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
