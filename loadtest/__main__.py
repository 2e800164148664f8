"""`make loadtest`: 2,000 viewers and 10 moderators for 5 minutes against a stack of its own.

python -m loadtest [--viewers 2000] [--moderators 10] [--minutes 5] [--swarm-processes 1]
                   [--api-workers 1]

Everything runs on 127.0.0.1 on free ports: Azurite and the Cosmos DB server
(devtools.emulators.isolated_stack), the API under uvicorn (one process, as `make run`), the
trigger runner that drains the queues (devtools.runner) and the locust swarm
(loadtest/swarm.py, its own process or processes because gevent patches the process it runs
in). The seed (a public webcast with message box, polls and tracking; a customer owner and
sub-accounts with the moderation and polls permissions, signed in by creating their sessions
directly) is written from this process. After the swarm stops, the queues drain and what the
stack holds is compared with what the API accepted (loadtest/ledger.py):

- votes: each poll's results, first as the workers folded them (`live=true`), then counted
  up exactly, equal the answers accepted with 201, option by option;
- heartbeat slots: each viewer session's live seconds in the attendance list are 30 s times
  its heartbeats accepted with 202, and the report's viewer and minute totals agree;
- messages: the moderators' list holds every message accepted with 201, and no other;
- upvotes: the published feed's vote counts equal the upvotes accepted;
- nothing in a poison queue, and every queue empty within the drain timeout.

Pass means no failed request (any status other than the expected ones, or a timeout), the
request ceiling not reached, and every check exact; the exit status is 0 only then. A run
that overloads the stack fails, but its checks still say whether anything was lost: requests
without an answer (or with a 5xx) may have been stored or not, so each check reports what
was accepted and is missing (`lost`) apart from extras that no such request explains.

The result goes to .local/loadtest/last-run.json (--out), shaped:

    {"passed": bool, "problems": [str], "started_at": iso, "commit": str,
     "machine": {"nproc", "memory_bytes", "cpu_model", "load_before": [1, 5, 15 min],
                 "load_after": [...]},
     "parameters": {"viewers", "moderators", "seconds", "ramp_seconds", "message_rate",
                    "upvote_probability", "poll_open_seconds", "swarm_processes",
                    "api_workers", "request_budget"},
     "requests": {"total", "failures", "seconds", "per_second", "refused_closed_polls"},
     "endpoints": [{"name", "requests", "failures", "per_second", "p50_ms", "p95_ms",
                    "p99_ms", "max_ms"}],
     "errors": [{"name", "method", "error", "count"}],
     "checks": {"votes" | "votes_live" | "heartbeat slots" | "messages" | "upvotes":
                {"expected", "found", "passed", "unknown", "lost", "unexplained",
                 "nothing_lost", "problems", "problem_count"}},
     "queues": {"drain_seconds", "poisoned"},
     "cpu": {"load" | "drain": {"seconds", "machine_busy_cores", "components":
             {name: {"cpu_seconds", "average_cores", "peak_cores", and in "load" also
                     "cpu_ms_per_request", "requests_per_second_at_one_core"}}}}}

CPU is read from /proc per process group every few seconds: cores = CPU seconds per wall
second; a single-threaded process (node, or Python under its GIL) saturates near 1.0, at
about requests_per_second_at_one_core of this mix of requests.
"""

import argparse
import contextlib
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx

from devtools.emulators import die_with_parent, free_port, isolated_stack, wait_for_port
from loadtest import ledger

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / ".local" / "loadtest"
HOST = "127.0.0.1"
SAMPLE_SECONDS = 2.0
DRAIN_TIMEOUT_SECONDS = 20 * 60.0
CHECK_TIMEOUT_SECONDS = 120.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---- processes and their CPU ---------------------------------------------------------------


@dataclass
class Child:
    name: str
    process: "subprocess.Popen[bytes]"
    log: Path


def _start(name: str, command: list[str], environment: dict[str, str], logs: Path) -> Child:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    output: IO[bytes] = log.open("wb")
    try:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=os.environ | environment | {"PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    finally:
        output.close()
    return Child(name=name, process=process, log=log)


def _stop(child: Child) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.process.pid, signal.SIGTERM)
    try:
        child.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()


def group_cpu_seconds() -> dict[int, float]:
    """User + system CPU seconds of every process group, from /proc (Linux)."""
    totals: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        # The command name (field 2) may hold spaces; the fields after its ')' are fixed.
        fields = text[text.rindex(")") + 2 :].split()
        group = int(fields[2])
        totals[group] = totals.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return totals


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / _CLOCK_TICKS


@dataclass
class Sample:
    at: float
    groups: dict[str, float]
    machine: float


@dataclass
class CpuSampler:
    """Samples the CPU seconds of named process groups in a thread; phases are time ranges."""

    groups: dict[str, int] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        totals = group_cpu_seconds()
        named = {name: totals.get(group, 0.0) for name, group in self.groups.items()}
        self.samples.append(Sample(at=time.time(), groups=named, machine=machine_busy_seconds()))

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(SAMPLE_SECONDS):
                self.sample()

        self.sample()
        self._thread = threading.Thread(target=run, name="cpu-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def phase(self, start: float, end: float) -> dict[str, Any]:
        inside = [s for s in self.samples if start <= s.at <= end]
        if len(inside) < 2:
            return {}
        first, last = inside[0], inside[-1]
        seconds = last.at - first.at
        components = {}
        for name in self.groups:
            used = last.groups[name] - first.groups[name]
            peak = max(
                (b.groups[name] - a.groups[name]) / (b.at - a.at)
                for a, b in itertools.pairwise(inside)
                if b.at > a.at
            )
            components[name] = {
                "cpu_seconds": round(used, 1),
                "average_cores": round(used / seconds, 2),
                "peak_cores": round(peak, 2),
            }
        return {
            "seconds": round(seconds, 1),
            "machine_busy_cores": round((last.machine - first.machine) / seconds, 2),
            "components": components,
        }


# ---- the machine ---------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    return {
        "nproc": os.cpu_count() or 0,
        "memory_bytes": memory,
        "cpu_model": model,
        "load_before": [round(v, 2) for v in os.getloadavg()],
    }


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


# ---- seed ----------------------------------------------------------------------------------


@dataclass
class Seat:
    token: str
    csrf: str


@dataclass
class Seed:
    tenant_id: str
    webcast_id: str
    owner: Seat
    moderators: list[Seat]


def seed(moderators: int) -> Seed:
    """A customer, a public webcast with every interaction module on, and signed-in admins."""
    import uuid

    from shared.accounts import service as accounts
    from shared.accounts.models import SubAccountCreate
    from shared.audit.models import RequestContext
    from shared.auth import sessions
    from shared.auth.models import Permission, Principal, SessionStage
    from shared.cli import generate_password
    from shared.webcasts.models import WebcastCreate
    from shared.webcasts.service import create_webcast

    run = uuid.uuid4().hex[:8]
    context = RequestContext(request_id="loadtest-seed", client_ip=HOST)
    _, owner = accounts.create_tenant(
        name="Load test customer",
        owner_email=f"load-owner-{run}@example.org",
        owner_name="Load Owner",
        owner_password=generate_password(),
    )
    principal = Principal(
        account_id=owner.id,
        role=owner.role,
        home_tenant_id=owner.tenant_id,
        tenant_id=owner.tenant_id,
        session_id="loadtest-seed",
    )
    webcast = create_webcast(
        principal=principal,
        data=WebcastCreate.model_validate(
            {
                "title": "Load test",
                "slug": f"load-{run}",
                "modules": {"message_box": True, "polls": True, "tracking": True},
            }
        ),
        context=context,
    )

    def signed_in(account: Any) -> Seat:
        # Sessions are created directly: sign-in (argon2, TOTP) is not what this load measures.
        issued = sessions.start(account=account, stage=SessionStage.full)
        return Seat(token=issued.token, csrf=issued.session.csrf_token)

    seats = []
    for number in range(moderators):
        account = accounts.create_subaccount(
            principal=principal,
            data=SubAccountCreate(
                email=f"load-moderator-{number}-{run}@example.org",
                display_name=f"Moderator {number}",
                password=generate_password(),
                permissions=[Permission.moderation, Permission.polls],
            ),
            context=context,
        )
        seats.append(signed_in(account))
    return Seed(
        tenant_id=owner.tenant_id,
        webcast_id=webcast.id,
        owner=signed_in(owner),
        moderators=seats,
    )


# ---- after the load ------------------------------------------------------------------------


def _queues() -> list[str]:
    from shared.polls.queue import queue_names
    from shared.tracking.settings import QUEUE_SHARDS, queue_for

    return [queue_for(n) for n in range(QUEUE_SHARDS)] + queue_names()


def drain(runner: Child) -> tuple[float, list[str]]:
    """Wait until every heartbeat and vote queue is empty twice in a row; (seconds, problems)."""
    from azure.core.exceptions import ResourceNotFoundError

    from devtools.runner import POISON_SUFFIX
    from shared.clients import queue_client, queue_name

    started = time.monotonic()
    empty_in_a_row = 0
    problems: list[str] = []
    while empty_in_a_row < 2:
        if runner.process.poll() is not None:
            problems.append(f"the trigger runner stopped (status {runner.process.returncode})")
            break
        if time.monotonic() - started > DRAIN_TIMEOUT_SECONDS:
            problems.append(f"the queues did not drain within {DRAIN_TIMEOUT_SECONDS:.0f} s")
            break
        waiting = sum(
            queue_client(name).get_queue_properties().approximate_message_count or 0
            for name in _queues()
        )
        empty_in_a_row = empty_in_a_row + 1 if waiting == 0 else 0
        time.sleep(1.0)
    seconds = time.monotonic() - started
    for name in _queues():
        poison = queue_client(queue_name(name) + POISON_SUFFIX, physical=True)
        try:
            count = poison.get_queue_properties().approximate_message_count or 0
        except ResourceNotFoundError:
            continue
        if count:
            problems.append(f"{count} messages of {name} in its poison queue")
    return seconds, problems


def _admin(api: str, seat: Seat) -> httpx.Client:
    return httpx.Client(
        base_url=api, headers={"Cookie": f"__Host-wcadmin={seat.token}"}, timeout=120.0
    )


def _poll_counts(
    admin: httpx.Client, webcast_id: str, poll_id: str, *, live: bool
) -> dict[str, int]:
    response = admin.get(
        f"/api/webcasts/{webcast_id}/polls/{poll_id}/results",
        params={"live": "true" if live else "false"},
    )
    response.raise_for_status()
    question = response.json()["questions"][0]
    return {row["value"]: row["count"] for row in question["results"] if row["count"]}


def _listed_messages(admin: httpx.Client, webcast_id: str) -> list[str]:
    found: list[str] = []
    continuation: str | None = None
    while True:
        params = {"limit": "200"} | ({"continuation": continuation} if continuation else {})
        response = admin.get(f"/api/webcasts/{webcast_id}/messages", params=params)
        response.raise_for_status()
        page = response.json()
        found.extend(item["id"] for item in page["items"])
        continuation = page["continuation"]
        if not continuation:
            return found


def _feed_votes(api: str, webcast_id: str) -> dict[str, int]:
    """The feed as a new viewer sees it once a fold ran after the last upvote: the API folds
    at most every vote_fold_seconds and keeps the rendering feed_cache_seconds."""
    from shared.messages.settings import settings

    with httpx.Client(base_url=api, timeout=120.0) as viewer:
        entered = viewer.post(f"/api/w/{webcast_id}/enter")
        entered.raise_for_status()
        cookie = entered.headers["set-cookie"].split(";", 1)[0]
        pause = settings.vote_fold_seconds + settings.feed_cache_seconds + 1
        body: dict[str, Any] = {}
        for _ in range(2):
            time.sleep(pause)
            response = viewer.get(
                f"/api/w/{webcast_id}/messages/published", headers={"Cookie": cookie}
            )
            response.raise_for_status()
            body = response.json()
    return {item["id"]: item["votes"] for item in body["items"]}


def _fresh_report(admin: httpx.Client, webcast_id: str, after: str) -> dict[str, Any]:
    """The attendance report computed after `after` (it is cached for a few seconds)."""
    deadline = time.monotonic() + CHECK_TIMEOUT_SECONDS
    while True:
        response = admin.get(f"/api/webcasts/{webcast_id}/attendance")
        response.raise_for_status()
        report: dict[str, Any] = response.json()
        if report["generated_at"] >= after or time.monotonic() > deadline:
            return report
        time.sleep(2)


def check(api: str, sown: Seed, accepted: ledger.Ledger, drained_at: str) -> dict[str, Any]:
    from shared.ids import token_hash
    from shared.tracking.service import pseudonymous_viewer

    def viewer_of(token: str) -> str:
        return pseudonymous_viewer(webcast_id=sown.webcast_id, session_id=token_hash(token))

    unknown = accepted.unknown
    results: dict[str, Any] = {}
    with _admin(api, sown.owner) as admin:
        for live in (True, False):
            counted = {
                poll: _poll_counts(admin, sown.webcast_id, poll, live=live)
                for poll in accepted.polls
            }
            votes = ledger.check_votes(accepted.votes, counted, unknown.get("votes"))
            results["votes_live" if live else "votes"] = votes

        viewers = admin.get(f"/api/webcasts/{sown.webcast_id}/attendance/viewers")
        viewers.raise_for_status()
        recorded = {row["viewer"]: row["live_seconds"] for row in viewers.json()["rows"]}
        expected = {viewer_of(t): count for t, count in accepted.heartbeats.items() if count}
        unknown_slots = {viewer_of(t): n for t, n in unknown.get("heartbeats", {}).items()}
        heartbeats = ledger.check_heartbeats(expected, recorded, unknown_slots)
        report = _fresh_report(admin, sown.webcast_id, drained_at)
        heartbeats.problems += ledger.check_report(
            expected, report["unique_viewers"], report["live_minutes"]
        )
        results["heartbeat slots"] = heartbeats

        results["messages"] = ledger.check_messages(
            accepted.messages,
            _listed_messages(admin, sown.webcast_id),
            sum(unknown.get("messages", {}).values()),
        )
    results["upvotes"] = ledger.check_upvotes(
        accepted.upvotes, _feed_votes(api, sown.webcast_id), unknown.get("upvotes")
    )
    return results


# ---- the run -------------------------------------------------------------------------------


def _swarm_configs(
    options: argparse.Namespace, api: str, sown: Seed, end_at: float
) -> list[dict[str, Any]]:
    seconds = options.minutes * 60
    budget = ledger.request_budget(
        viewers=options.viewers, moderators=options.moderators, seconds=seconds
    )
    processes = options.swarm_processes
    configs = []
    for number in range(processes):
        viewers = options.viewers // processes + (1 if number < options.viewers % processes else 0)
        configs.append(
            {
                "host": api,
                "webcast_id": sown.webcast_id,
                "end_at": end_at,
                "ramp_seconds": options.ramp_seconds,
                "seed": options.seed * 100 + number,
                "viewers": viewers,
                "viewers_total": options.viewers,
                # Moderators all in the first process: their shares of the queue stay apart.
                "moderators": [
                    {"index": i, "token": s.token, "csrf": s.csrf}
                    for i, s in enumerate(sown.moderators)
                ]
                if number == 0
                else [],
                "moderators_total": options.moderators,
                "message_rate": options.message_rate,
                "upvote_probability": options.upvote_probability,
                "first_poll_after": min(options.ramp_seconds + 10, seconds / 4),
                "poll_open_seconds": options.poll_open_seconds,
                "poll_gap_seconds": options.poll_gap_seconds,
                "request_budget": math.ceil(budget / processes),
            }
        )
    return configs


def run(options: argparse.Namespace) -> dict[str, Any]:
    out_dir = Path(options.out).parent
    logs = out_dir / "logs"
    python = sys.executable
    result: dict[str, Any] = {
        "passed": False,
        "problems": [],
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
    }
    problems: list[str] = result["problems"]
    children: list[Child] = []
    sampler = CpuSampler()
    with isolated_stack(label="load") as (running, environment):
        azurite, cosmos = running.processes
        sampler.groups |= {"azurite": azurite.pid, "cosmosdb-server": cosmos.pid}
        print("Seeding the webcast and the moderators ...", flush=True)
        sown = seed(options.moderators)
        port = free_port()
        api_url = f"http://{HOST}:{port}"
        try:
            api = _start(
                "api",
                [
                    *(python, "-m", "uvicorn", "functions.api.app:create_app", "--factory"),
                    *("--host", HOST, "--port", str(port)),
                    *("--workers", str(options.api_workers)),
                    *("--log-level", "warning", "--no-access-log"),
                ],
                environment,
                logs,
            )
            children.append(api)
            runner = _start("runner", [python, "-m", "devtools.runner"], environment, logs)
            children.append(runner)
            wait_for_port(port, timeout=60, process=api.process)
            sampler.groups |= {"api": api.process.pid, "runner": runner.process.pid}

            seconds = options.minutes * 60
            end_at = time.time() + seconds
            configs = _swarm_configs(options, api_url, sown, end_at)
            swarms = []
            for number, config in enumerate(configs):
                config_path = out_dir / f"swarm-{number}.config.json"
                config_path.write_text(json.dumps(config))
                out_path = out_dir / f"swarm-{number}.json"
                out_path.unlink(missing_ok=True)
                child = _start(
                    f"swarm-{number}",
                    [python, "-m", "loadtest.swarm", str(config_path), str(out_path)],
                    {},
                    logs,
                )
                swarms.append((child, out_path))
                children.append(child)
                sampler.groups[f"locust-{number}"] = child.process.pid
            sampler.start()
            load_started = time.time()
            print(
                f"{options.viewers} viewers and {options.moderators} moderators for "
                f"{seconds:.0f} s against {api_url} ...",
                flush=True,
            )
            for child, _ in swarms:
                child.process.wait()
            load_ended = time.time()
            outputs = []
            for child, out_path in swarms:
                if child.process.returncode != 0 or not out_path.exists():
                    problems.append(
                        f"{child.name} failed (status {child.process.returncode}); see {child.log}"
                    )
                    continue
                outputs.append(json.loads(out_path.read_text()))
            if len(outputs) != len(swarms):
                return result
            accepted = ledger.merge_ledgers(ledger.Ledger.from_json(o["ledger"]) for o in outputs)

            print("Load done; waiting for the queues to drain ...", flush=True)
            drain_seconds, drain_problems = drain(runner)
            drained_at = datetime.now(UTC).isoformat()
            drain_ended = time.time()
            problems.extend(drain_problems)
            result["queues"] = {
                "drain_seconds": round(drain_seconds, 1),
                "poisoned": drain_problems,
            }
            sampler.stop()

            print("Checking votes, heartbeat slots, messages and upvotes ...", flush=True)
            checks = check(api_url, sown, accepted, drained_at)
        finally:
            sampler.stop()
            for child in reversed(children):
                _stop(child)

    load_seconds = load_ended - load_started
    entries = [entry for o in outputs for entry in o["entries"]]
    endpoints = ledger.endpoint_figures(entries, load_seconds)
    total = sum(e.requests for e in endpoints)
    failures = sum(e.failures for e in endpoints)
    errors = [error for o in outputs for error in o["errors"]]
    if failures:
        problems.append(f"{failures} failed requests")
    if accepted.budget_exhausted:
        problems.append(f"the request ceiling was reached ({accepted.requests_sent} requests)")
    in_flight = sum(o["in_flight_at_quit"] for o in outputs)
    if in_flight:
        problems.append(f"{in_flight} requests were still in flight when the swarm quit")
    for name, outcome in checks.items():
        problems.extend(f"{name}: {p}" for p in outcome.problems[:20])
        if outcome.expected != outcome.found and not outcome.problems:
            problems.append(f"{name}: {outcome.expected} expected, {outcome.found} found")
    result["machine"]["load_after"] = [round(v, 2) for v in os.getloadavg()]
    result["parameters"] = {
        "viewers": options.viewers,
        "moderators": options.moderators,
        "seconds": options.minutes * 60,
        "ramp_seconds": options.ramp_seconds,
        "message_rate": options.message_rate,
        "upvote_probability": options.upvote_probability,
        "poll_open_seconds": options.poll_open_seconds,
        "swarm_processes": options.swarm_processes,
        "api_workers": options.api_workers,
        "request_budget": ledger.request_budget(
            viewers=options.viewers, moderators=options.moderators, seconds=options.minutes * 60
        ),
    }
    result["requests"] = {
        "total": total,
        "failures": failures,
        "seconds": round(load_seconds, 1),
        "per_second": round(total / load_seconds, 1) if load_seconds else 0.0,
        "refused_closed_polls": accepted.refused_closed,
    }
    result["endpoints"] = [asdict(e) for e in endpoints]
    result["errors"] = sorted(errors, key=lambda e: -e["count"])[:50]
    result["checks"] = {name: outcome.to_json() for name, outcome in checks.items()}
    result["cpu"] = {
        "load": sampler.phase(load_started, load_ended),
        "drain": sampler.phase(load_ended, drain_ended),
    }
    # CPU per request is steadier than cores on a shared machine: it says where one core runs
    # out (each process here is single-threaded: node, or Python under its GIL).
    for figures in result["cpu"]["load"].get("components", {}).values():
        per_request = figures["cpu_seconds"] * 1000 / total if total else 0.0
        figures["cpu_ms_per_request"] = round(per_request, 2)
        figures["requests_per_second_at_one_core"] = (
            round(1000 / per_request) if per_request else None
        )
    result["passed"] = not problems
    return result


def summary(result: dict[str, Any]) -> str:
    lines = []
    m = result["machine"]
    lines.append(
        f"machine: {m['nproc']} cores ({m['cpu_model']}), {m['memory_bytes'] / 2**30:.1f} GiB, "
        f"load {m['load_before']} -> {m.get('load_after')}"
    )
    if "requests" in result:
        r = result["requests"]
        lines.append(
            f"requests: {r['total']} in {r['seconds']} s = {r['per_second']}/s, "
            f"{r['failures']} failed, {r['refused_closed_polls']} answers after a poll closed"
        )
        lines.append(
            f"{'endpoint':44} {'requests':>9} {'fail':>5} {'/s':>7} "
            f"{'p50':>6} {'p95':>6} {'p99':>6} ms"
        )
        for e in result["endpoints"]:
            lines.append(
                f"{e['name']:44} {e['requests']:>9} {e['failures']:>5} {e['per_second']:>7} "
                f"{e['p50_ms']:>6} {e['p95_ms']:>6} {e['p99_ms']:>6}"
            )
        for error in result["errors"][:10]:
            lines.append(
                f"  error x{error['count']}: {error['method']} {error['name']}: "
                + error["error"][:120]
            )
    for name, outcome in result.get("checks", {}).items():
        verdict = "ok" if outcome["passed"] else "FAILED"
        if not outcome["passed"]:
            verdict += (
                f" ({outcome['unknown']} of unknown outcome; {outcome['lost']} lost, "
                f"{outcome['unexplained']} unexplained)"
            )
        lines.append(
            f"check {name}: {outcome['expected']} accepted, {outcome['found']} found: {verdict}"
        )
    if "queues" in result:
        lines.append(f"queues drained in {result['queues']['drain_seconds']} s")
    for phase, figures in result.get("cpu", {}).items():
        if not figures:
            continue
        cores = ", ".join(
            f"{name} {c['average_cores']} (peak {c['peak_cores']}"
            + (f", {c['cpu_ms_per_request']} ms/request)" if "cpu_ms_per_request" in c else ")")
            for name, c in sorted(
                figures["components"].items(), key=lambda i: -i[1]["average_cores"]
            )
        )
        lines.append(
            f"cpu {phase} ({figures['seconds']} s, machine "
            f"{figures['machine_busy_cores']} cores busy): {cores}"
        )
    for problem in result["problems"]:
        lines.append(f"PROBLEM: {problem}")
    lines.append("PASSED" if result["passed"] else "FAILED")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__.split("\n")[0])
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--moderators", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--ramp-seconds", type=float, default=60.0, help="until all have entered")
    parser.add_argument("--swarm-processes", type=int, default=1, help="locust processes")
    parser.add_argument(
        "--api-workers", type=int, default=1, help="uvicorn worker processes (make run: 1)"
    )
    parser.add_argument("--message-rate", type=float, default=2.0, help="messages/s of all viewers")
    parser.add_argument(
        "--upvote-probability", type=float, default=0.05, help="per feed item and viewer"
    )
    parser.add_argument("--poll-open-seconds", type=float, default=60.0)
    parser.add_argument("--poll-gap-seconds", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(OUT_DIR / "last-run.json"))
    options = parser.parse_args(argv)
    if min(options.viewers, options.moderators, options.swarm_processes, options.api_workers) < 1:
        parser.error("--viewers, --moderators, --swarm-processes, --api-workers: at least 1")

    from shared.bootstrap import LocalOnlyError, refuse_in_azure

    try:
        refuse_in_azure("make loadtest (emulators and seeded data)")
    except LocalOnlyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    Path(options.out).parent.mkdir(parents=True, exist_ok=True)
    result = run(options)
    Path(options.out).write_text(json.dumps(result, indent=2) + "\n")
    print(summary(result))
    print(f"(written to {options.out})")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
