"""api_read: authenticated GET /api/webcasts/{id} through uvicorn, ours against a bare app.

Both servers run under the same uvicorn flags (1 worker) against the same emulators and do
the same storage I/O (session read by cookie hash + webcast read). A separate load generator
process (httpx.AsyncClient, CONCURRENCY connections) drives one server at a time, alternating
for ROUNDS rounds; the medians are reported, and as ratio the median of the per-round ratios.
"""

import subprocess
import uuid
from typing import Any

import httpx

from bench.common import (
    Result,
    Row,
    Stopwatch,
    median,
    paired_ratio,
    run_loadgen,
    serve_app,
    stack,
    stop_server,
)
from devtools.emulators import free_ports, wait_for_port

ROUNDS = 5
SECONDS = 5.0
WARMUP = 1.0
CONCURRENCY = 16
SERVERS = {
    "ours": "functions.api.app:create_app",
    "baseline": "bench.baseline_app:create_app",
}


def _seed() -> tuple[str, str]:
    """A tenant with its owner, a full session and a webcast: (cookie value, webcast id)."""
    from shared.accounts.service import create_tenant
    from shared.audit.models import RequestContext
    from shared.auth import sessions
    from shared.auth.models import Principal, SessionStage
    from shared.webcasts.models import WebcastCreate
    from shared.webcasts.service import create_webcast

    email = f"bench-{uuid.uuid4().hex[:10]}@example.org"
    _, owner = create_tenant(
        name="Bench customer",
        owner_email=email,
        owner_name="Bench Owner",
        owner_password="correct horse battery staple",
    )
    issued = sessions.start(account=owner, stage=SessionStage.full)
    session = issued.session
    principal = Principal(
        account_id=session.account_id,
        role=session.role,
        home_tenant_id=session.home_tenant_id,
        tenant_id=session.home_tenant_id,
        permissions=session.permissions,
        session_id=session.id,
    )
    webcast = create_webcast(
        principal=principal,
        data=WebcastCreate.model_validate({"title": "Benchmark webcast", "slug": "bench"}),
        context=RequestContext(client_ip="127.0.0.1"),
    )
    return issued.token, webcast.id


def _check(url: str, cookie: str, webcast_id: str) -> None:
    response = httpx.get(url, headers={"Cookie": cookie}, timeout=30.0)
    if response.status_code != 200 or response.json().get("id") != webcast_id:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")


def run() -> Result:
    watch = Stopwatch()
    with stack("api_read") as environment:
        token, webcast_id = _seed()
        cookie = f"__Host-wcadmin={token}"
        cosmos_pid = int(environment["BENCH_COSMOS_PID"])
        processes: dict[str, subprocess.Popen[bytes]] = {}
        ports = dict(zip(SERVERS, free_ports(len(SERVERS)), strict=True))
        urls = {
            name: f"http://127.0.0.1:{port}/api/webcasts/{webcast_id}"
            for name, port in ports.items()
        }
        try:
            for name, target in SERVERS.items():
                processes[name] = serve_app(target, ports[name], environment)
            for name, process in processes.items():
                wait_for_port(ports[name], timeout=60, process=process)
                if process.poll() is not None:
                    raise RuntimeError(f"uvicorn for {name} exited with {process.returncode}")
                _check(urls[name], cookie, webcast_id)
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SERVERS}
            for round_index in range(ROUNDS):
                # Alternate the order each round so neither side always runs first.
                order = list(SERVERS) if round_index % 2 == 0 else list(reversed(SERVERS))
                for name in order:
                    outcome = run_loadgen(
                        urls[name],
                        pids=[processes[name].pid, cosmos_pid],
                        concurrency=CONCURRENCY,
                        seconds=SECONDS,
                        warmup=WARMUP,
                        cookie=cookie,
                    )
                    runs[name].append(outcome)
        finally:
            for process in processes.values():
                stop_server(process)

    errors = {name: sum(r["errors"] for r in runs[name]) for name in runs}
    series = {
        "rps": {name: [r["rps"] for r in runs[name]] for name in runs},
        "cpu": {
            name: [r["cpu_seconds"][0] / max(r["requests"], 1) * 1000 for r in runs[name]]
            for name in runs
        },
        "cosmos": {
            name: [r["cpu_seconds"][1] / max(r["requests"], 1) * 1000 for r in runs[name]]
            for name in runs
        },
    }

    def row(metric: str, unit: str, key: str, note: str = "") -> Row:
        ours, baseline = series[key]["ours"], series[key]["baseline"]
        return Row(
            metric,
            unit,
            median(ours),
            median(baseline),
            "bare FastAPI",
            note,
            paired_ratio(ours, baseline),
        )

    rows = [
        row("requests/s (median)", "req/s", "rps"),
        row("server CPU per request", "ms CPU", "cpu", "uvicorn process"),
        row("emulator CPU per request", "ms CPU", "cosmos", "cosmosdb-server"),
        Row("errors (non-200)", "count", errors["ours"], errors["baseline"], "bare FastAPI"),
    ]
    details = {
        "rounds": ROUNDS,
        "seconds_per_run": SECONDS,
        "warmup": WARMUP,
        "concurrency": CONCURRENCY,
        "uvicorn_workers": 1,
        "servers": SERVERS,
        "runs": runs,
    }
    problems = [
        f"{name}: {count} non-200 answers or failures" for name, count in errors.items() if count
    ]
    return Result("api_read", rows, details, watch.seconds, problems)
