"""interaction: heartbeat, vote and message-post throughput through uvicorn, ours against bare.

The baseline (bench/interaction_baseline_app.py) is a bare FastAPI app doing the same storage
I/O per request (viewer session read, webcast key and webcast reads, then the queue message,
the rate-limit query and message create, or the poll read and vote create). Both run under
the same uvicorn flags (1 worker) against the same emulators; a separate load generator
process drives one server at a time with VIEWERS viewer sessions in rotation (so per-session
limits and one-vote-per-session rules see many viewers), alternating for ROUNDS rounds.
Reported: medians of requests/s and of server CPU per request, and the median of per-round
ratios. Goal: ours >= 0.8x of the bare endpoint.
"""

import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import (
    Result,
    Row,
    Stopwatch,
    median,
    paired_ratio,
    run_loadgen,
    seed_owner_and_webcast,
    serve_app,
    stack,
    stop_server,
)
from devtools.emulators import free_ports, wait_for_port

ROUNDS = int(os.environ.get("BENCH_INTERACTION_ROUNDS", "3"))
SECONDS = float(os.environ.get("BENCH_INTERACTION_SECONDS", "4"))
WARMUP = 1.0
CONCURRENCY = 16
# Messages are limited to 5 per session per minute: enough sessions that no run reaches it.
VIEWERS = int(os.environ.get("BENCH_INTERACTION_VIEWERS", "3000"))
SERVERS = {
    "ours": "functions.api.app:create_app",
    "baseline": "bench.interaction_baseline_app:create_app",
}


def _seed() -> tuple[str, str, list[dict[str, str]]]:
    """A public webcast with every module on, an open poll and VIEWERS viewer sessions."""
    from shared.participants import sessions
    from shared.polls.models import OpenPoll, PollInput
    from shared.polls.service import create_poll, open_poll

    principal, context, webcast = seed_owner_and_webcast(
        {
            "title": "Interaction bench",
            "slug": "interaction",
            "modules": {"message_box": True, "polls": True, "tracking": True},
        }
    )
    poll = create_poll(
        principal=principal,
        webcast_id=webcast.id,
        data=PollInput.model_validate(
            {
                "title": "Break?",
                "questions": [
                    {
                        "id": "q1",
                        "type": "single_choice",
                        "text": "Coffee break now?",
                        "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
                    }
                ],
            }
        ),
        context=context,
    )
    open_poll(
        principal=principal,
        webcast_id=webcast.id,
        poll_id=poll.id,
        data=OpenPoll(),
        context=context,
    )

    def viewer(_: int) -> dict[str, str]:
        issued = sessions.grant(current_token=None, webcast_id=webcast.id, participant_id=None)
        return {"cookie": f"__Host-wcviewer={issued.token}", "csrf": issued.session.csrf_token}

    with ThreadPoolExecutor(12) as pool:
        viewers = list(pool.map(viewer, range(VIEWERS)))
    return webcast.id, poll.id, viewers


def run() -> Result:
    watch = Stopwatch()
    endpoints = {
        "heartbeat": ("/api/w/{w}/heartbeat", json.dumps({"mode": "live"}), (202,)),
        "message post": (
            "/api/w/{w}/messages",
            json.dumps({"text": "How long is the break?"}),
            (201,),
        ),
        # 201 for a session's first answer, 200 when it answers again (the first one stands).
        "vote": (
            "/api/w/{w}/polls/{p}/answer",
            json.dumps({"answers": {"q1": "yes"}}),
            (200, 201),
        ),
    }
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with stack("interaction") as environment, tempfile.TemporaryDirectory() as folder:
        webcast_id, poll_id, viewers = _seed()
        sessions_file = Path(folder) / "sessions.jsonl"
        sessions_file.write_text("\n".join(json.dumps(v) for v in viewers))
        cosmos_pid = int(environment["BENCH_COSMOS_PID"])
        ports = dict(zip(SERVERS, free_ports(len(SERVERS)), strict=True))
        processes = {}
        try:
            for name, target in SERVERS.items():
                processes[name] = serve_app(target, ports[name], environment)
            for name in SERVERS:
                wait_for_port(ports[name], timeout=60, process=processes[name])
            for endpoint, (path, body, ok) in endpoints.items():
                runs[endpoint] = {name: [] for name in SERVERS}
                for round_index in range(ROUNDS):
                    order = list(SERVERS) if round_index % 2 == 0 else list(reversed(SERVERS))
                    for name in order:
                        url = f"http://127.0.0.1:{ports[name]}" + path.format(
                            w=webcast_id, p=poll_id
                        )
                        pids = [processes[name].pid, cosmos_pid]
                        outcome = run_loadgen(
                            url,
                            pids=pids,
                            concurrency=CONCURRENCY,
                            seconds=SECONDS,
                            warmup=WARMUP,
                            post=body,
                            sessions_file=sessions_file,
                            ok=ok,
                        )
                        runs[endpoint][name].append(outcome)
        finally:
            for process in processes.values():
                stop_server(process)

    rows: list[Row] = []
    problems: list[str] = []
    for endpoint, by_server in runs.items():
        rps = {name: [r["rps"] for r in by_server[name]] for name in SERVERS}
        cpu = {
            name: [r["cpu_seconds"][0] / max(r["requests"], 1) * 1000 for r in by_server[name]]
            for name in SERVERS
        }
        ratio = paired_ratio(rps["ours"], rps["baseline"])
        rows.append(
            Row(
                f"{endpoint}: requests/s",
                "req/s",
                median(rps["ours"]),
                median(rps["baseline"]),
                "bare FastAPI, same storage I/O",
                "goal >= 0.8x",
                ratio,
            )
        )
        rows.append(
            Row(
                f"{endpoint}: server CPU per request",
                "ms CPU",
                median(cpu["ours"]),
                median(cpu["baseline"]),
                "bare FastAPI, same storage I/O",
                "uvicorn process",
                paired_ratio(cpu["ours"], cpu["baseline"]),
            )
        )
        for name in SERVERS:
            errors = sum(r["errors"] for r in by_server[name])
            if errors:
                statuses = [r["error_statuses"] for r in by_server[name]]
                problems.append(f"{endpoint} {name}: {errors} failed requests {statuses}")
    details = {
        "rounds": ROUNDS,
        "seconds_per_run": SECONDS,
        "concurrency": CONCURRENCY,
        "viewer_sessions": VIEWERS,
        "servers": SERVERS,
        "runs": runs,
    }
    return Result("interaction", rows, details, watch.seconds, problems)
