"""The media worker: takes jobs from the `transcode` queue and reports to `media-results`.

    python -m media_pipelines.worker [--once] [--poll-seconds S] [--visibility-seconds V]

One message at a time. Its visibility is renewed while the job runs, so a worker that dies
(killed, out of memory, node lost) lets the job reappear within V seconds for the next
worker. Outcomes:
- `processing` at the start of every attempt, then `ready` or `failed`, then the message
  is deleted (a crash in between repeats the job, which then finds its outputs complete);
- a failure no retry can fix (unreadable or no video, nothing left after an edit) ends
  `failed` at once with a readable reason;
- any other error makes the message visible again after --retry-seconds, its reason kept in
  the message; after `media_worker_max_attempts` attempts it ends `failed` ("the job failed
  N times: <last reason>");
- a message that is no job at all goes to `transcode-poison` (and, when it names an asset,
  that asset is reported failed);
- a job whose webcast is gone (being deleted), before it starts, before each upload or at
  its end, is deleted with what it uploaded, and reports nothing (decision 0048).
`--once` handles at most one message and exits (a Container Apps job execution per message);
without it the worker polls until SIGTERM/SIGINT, which stop it after the current job.
"""

import argparse
import json
import logging
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueMessage
from pydantic import ValidationError

from media_pipelines.tools import ToolFailedError, ToolMissingError, find_tools
from media_pipelines.transcode import PermanentJobError, WebcastGoneError, require_webcast, run_job
from shared.clients import queue_client
from shared.config import checked_settings, get_settings
from shared.media.models import RESULTS_QUEUE, TRANSCODE_QUEUE, MediaResult, TranscodeJob

log = logging.getLogger("webcast.media.worker")

POISON_QUEUE = f"{TRANSCODE_QUEUE}-poison"
# Kept in the message between attempts, so the final failure can say what went wrong.
LAST_ERROR = "last_error"
_REASON_CHARS = 400
_UNSEEN_END = "the worker stopped during the job (killed, out of memory or shut down)"


@dataclass(frozen=True)
class WorkerOptions:
    visibility_seconds: int = 60
    retry_seconds: int = 30


class _Lease:
    """The message's pop receipt, renewed in the background while a job runs."""

    def __init__(self, client: QueueClient, message: QueueMessage, seconds: int) -> None:
        self.client = client
        self.message_id = message.id
        self.pop_receipt = message.pop_receipt or ""
        self.seconds = seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="lease", daemon=True)

    def __enter__(self) -> "_Lease":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _keep(self) -> None:
        while not self._stop.wait(max(1.0, self.seconds / 3)):
            with self._lock:
                try:
                    updated = self.client.update_message(
                        self.message_id, self.pop_receipt, visibility_timeout=self.seconds
                    )
                except (ResourceNotFoundError, HttpResponseError) as error:
                    if isinstance(error, ResourceNotFoundError) or error.status_code == 400:
                        # Someone else holds it now: the job goes on (its outputs are
                        # idempotent), this worker cannot delete the message any more.
                        log.warning("lost the lease of message %s: %s", self.message_id, error)
                        return
                    log.warning("could not renew message %s: %s", self.message_id, error)
                    continue
                except AzureError as error:
                    log.warning("could not renew message %s: %s", self.message_id, error)
                    continue
                self.pop_receipt = updated.pop_receipt or self.pop_receipt

    def delete(self) -> None:
        with self._lock:
            try:
                self.client.delete_message(self.message_id, self.pop_receipt)
            except AzureError as error:
                log.warning("message %s handled, but not deleted: %s", self.message_id, error)

    def retry_later(self, body: bytes, seconds: int) -> None:
        with self._lock:
            self.client.update_message(
                self.message_id, self.pop_receipt, content=body, visibility_timeout=seconds
            )


def _send(result: MediaResult) -> None:
    queue_client(RESULTS_QUEUE).send_message(result.model_dump_json().encode())


def _failed(job: TranscodeJob, *, attempt: int, code: str, reason: str) -> MediaResult:
    return MediaResult(
        tenant_id=job.tenant_id,
        webcast_id=job.webcast_id,
        asset_id=job.asset_id,
        outcome="failed",
        attempt=attempt,
        failure_code=code,
        failure_reason=reason[:_REASON_CHARS],
    )


def _readable(error: Exception) -> str:
    if isinstance(error, ToolFailedError):
        return str(error)
    if isinstance(error, subprocess.TimeoutExpired):
        return f"{Path(str(error.cmd[0])).name} did not finish within {error.timeout:.0f} s"
    if isinstance(error, AzureError):
        return "storage error: " + (str(error).splitlines() or [type(error).__name__])[0]
    first_line = (str(error).splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}".rstrip(": ")


def _poison(body: bytes, lease: _Lease) -> None:
    """Park a message that is no job; report its asset failed when it names one."""
    log.error("message %s is no transcode job: moved to %s", lease.message_id, POISON_QUEUE)
    queue_client(POISON_QUEUE).send_message(body)
    try:
        named: Any = json.loads(body)
    except ValueError:
        named = None
    ids = ("tenant_id", "webcast_id", "asset_id")
    if isinstance(named, dict) and all(isinstance(named.get(key), str) for key in ids):
        _send(
            MediaResult(
                **{key: named[key] for key in ids},
                outcome="failed",
                failure_code="invalid_job",
                failure_reason="The transcode job could not be read",
            )
        )
    lease.delete()


def handle_message(client: QueueClient, message: QueueMessage, options: WorkerOptions) -> None:
    """One delivery of a transcode message, to its outcome (see the module docstring)."""
    body = message.content if isinstance(message.content, bytes) else str(message.content).encode()
    lease = _Lease(client, message, options.visibility_seconds)
    try:
        job = TranscodeJob.model_validate_json(body)
        last_error = json.loads(body).get(LAST_ERROR)
    except (ValidationError, ValueError, AttributeError):
        _poison(body, lease)
        return
    try:
        require_webcast(job)
    except WebcastGoneError:
        log.info("asset %s: its webcast is gone; the job is dropped", job.asset_id)
        lease.delete()
        return
    attempt = message.dequeue_count or 1
    limit = get_settings().media_worker_max_attempts
    if attempt > limit:
        _send(
            _failed(
                job,
                attempt=attempt,
                code="retries_exhausted",
                reason=f"the job failed {attempt - 1} times: {last_error or _UNSEEN_END}",
            )
        )
        lease.delete()
        return
    _send(
        MediaResult(
            tenant_id=job.tenant_id,
            webcast_id=job.webcast_id,
            asset_id=job.asset_id,
            outcome="processing",
            attempt=attempt,
        )
    )
    with lease:
        outcome = _attempt(job, attempt=attempt, limit=limit)
    if outcome is None:
        log.info("asset %s: its webcast went during the job; outputs deleted", job.asset_id)
        lease.delete()
        return
    if isinstance(outcome, str):
        kept = json.loads(body) | {LAST_ERROR: outcome[:_REASON_CHARS]}
        lease.retry_later(json.dumps(kept).encode(), options.retry_seconds)
        return
    _send(outcome)
    lease.delete()


def _attempt(job: TranscodeJob, *, attempt: int, limit: int) -> MediaResult | str | None:
    """The job's result, the reason to try it again later, or None when its webcast went."""
    try:
        return run_job(job, attempt=attempt)
    except WebcastGoneError:
        return None
    except PermanentJobError as failure:
        log.warning("asset %s failed: %s", job.asset_id, failure)
        return _failed(job, attempt=attempt, code=failure.code, reason=failure.reason)
    except Exception as error:
        reason = _readable(error)
        log.exception("asset %s, attempt %d of %d", job.asset_id, attempt, limit)
        if attempt < limit:
            return reason
        return _failed(
            job,
            attempt=attempt,
            code="retries_exhausted",
            reason=f"the job failed {attempt} times: {reason}",
        )


def poll_once(options: WorkerOptions) -> bool:
    """Take one message, if one is there, and handle it; whether there was one."""
    client = queue_client(TRANSCODE_QUEUE)
    message = client.receive_message(visibility_timeout=options.visibility_seconds)
    if message is None:
        return False
    handle_message(client, message, options)
    return True


def run_worker(
    *,
    options: WorkerOptions,
    stop: threading.Event,
    once: bool = False,
    poll_seconds: float = 5.0,
) -> None:
    """Poll until `stop` is set (between jobs), or for one message with `once`."""
    while not stop.is_set():
        try:
            handled = poll_once(options)
        except AzureError as error:
            log.warning("storage unreachable: %s", (str(error).splitlines() or [""])[0])
            handled = False
        except Exception:
            # Never a crash loop: the message comes back after its lease and counts an attempt.
            log.exception("handling a transcode message failed")
            handled = False
        if once:
            return
        if not handled:
            stop.wait(poll_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m media_pipelines.worker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--once", action="store_true", help="handle at most one message, then exit")
    parser.add_argument(
        "--poll-seconds", type=float, default=5.0, help="wait when the queue is empty"
    )
    parser.add_argument(
        "--visibility-seconds",
        type=int,
        default=60,
        help="lease of a message, renewed every third of it while a job runs",
    )
    parser.add_argument(
        "--retry-seconds",
        type=int,
        default=30,
        help="delay before a job that failed for a passing reason runs again",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    checked_settings()
    try:
        tools = find_tools()
    except ToolMissingError as error:
        log.error("%s", error)
        return 2
    log.info(
        "media worker: ffmpeg %s, ffprobe %s", tools.ffmpeg, tools.ffprobe or "none (ffmpeg probes)"
    )
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping after the current job", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_worker(
        options=WorkerOptions(
            visibility_seconds=args.visibility_seconds, retry_seconds=args.retry_seconds
        ),
        stop=stop,
        once=args.once,
        poll_seconds=args.poll_seconds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
