"""api_read: authenticated GET /api/webcasts/{id} through uvicorn, ours against a bare app.

Both servers run under the same uvicorn flags (1 worker) against the same emulators and do
the same storage I/O (session read by cookie hash + webcast read). A separate load generator
process (httpx.AsyncClient, CONCURRENCY connections) drives one server at a time, alternating
for ROUNDS rounds; the medians are reported, and as ratio the median of the per-round ratios.
"""

import subprocess
from typing import Any

import httpx

from bench.common import (
    Result,
    Row,
    Stopwatch,
    median,
    paired_ratio,
    run_loadgen,
    seed_signed_in_owner_and_webcast,
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


def _check(url: str, cookie: str, webcast_id: str) -> None:
    response = httpx.get(url, headers={"Cookie": cookie}, timeout=30.0)
    if response.status_code != 200 or response.json().get("id") != webcast_id:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")


def run() -> Result:
    watch = Stopwatch()
    with stack("api_read") as environment:
        token, webcast_id = seed_signed_in_owner_and_webcast()
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
