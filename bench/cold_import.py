"""cold_import: a cold start of function_app in a fresh interpreter, against a bare app.

Each measurement is a new `python -c ...` process (bytecode caches warm, the interpreter
cold), RUNS times per command, alternating, median of the wall times.

The import rows start no emulators: the WEBCAST_* endpoints point at closed local ports, so
an import that tried to connect anywhere would fail (the SDK clients must stay lazy).

The first-answer rows are what a cold instance does before its first user is served: import
the entry module, let the Functions host index its functions, and answer one signed-in
GET /api/webcasts/{id} through the app's HTTP function, against emulators started here. The
baseline is bench/baseline_app.py wrapped the same way, doing the same reads (the session by
its cookie hash, then the webcast); the difference divided by our number of routes is the
cold-start cost per route. The CPU time of each process up to its answer is reported too: on a
shared machine it varies less than the wall time.
"""

import json
import os
import subprocess
import time

from bench.common import (
    PYTHON,
    ROOT,
    Result,
    Row,
    Stopwatch,
    median,
    paired_ratio,
    seed_signed_in_owner_and_webcast,
    stack,
)
from devtools.emulators import free_port

RUNS = 7
COMMANDS = {
    "function_app": "import function_app",
    "azure.functions + fastapi": "import azure.functions, fastapi",
    "python startup": "pass",
}
# The host's steps after the import: index the functions, call the HTTP one with the request.
# The answer line carries the CPU seconds of the process so far, steadier than wall time on a
# shared machine.
_ANSWER = """
import asyncio, sys, time
{entry}
import azure.functions as func
http = next(f for f in app.get_functions() if f.get_function_name() == "http_app_func")
request = func.HttpRequest(
    "GET",
    "https://localhost/api/webcasts/" + sys.argv[1],
    headers={{"Cookie": sys.argv[2]}},
    body=b"",
)

async def first_answer():
    response = await http.get_user_function()(request, None)
    print(response.status_code, time.process_time(), response.get_body().decode(), flush=True)
    # The app's lifespan runs in this event loop: end it here, not at interpreter exit.
    await app.middleware.notify_shutdown()
    app.startup_task_done = False

asyncio.run(first_answer())
"""
FIRST_ANSWER = {
    "function_app": _ANSWER.format(entry="from function_app import app"),
    "bare app": _ANSWER.format(
        entry="import azure.functions as func\n"
        "from bench.baseline_app import create_app\n"
        "app = func.AsgiFunctionApp(app=create_app(), http_auth_level=func.AuthLevel.ANONYMOUS)"
    ),
}


def _environment() -> dict[str, str]:
    closed = free_port()  # nothing listens there once free_port has closed its socket
    endpoint = f"http://127.0.0.1:{closed}"
    storage = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"BlobEndpoint={endpoint}/devstoreaccount1;QueueEndpoint={endpoint}/devstoreaccount1;"
    )
    return _without_our_settings() | {
        "WEBCAST_ENVIRONMENT": "test",
        "WEBCAST_COSMOS_ENDPOINT": endpoint,
        "WEBCAST_STORAGE_CONNECTION_STRING": storage,
        "AzureWebJobsStorage": storage,
    }


def _without_our_settings() -> dict[str, str]:
    """This process's environment without WEBCAST_* settings, bytecode caching on."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("WEBCAST_")
        and key not in {"AzureWebJobsStorage", "PYTHONDONTWRITEBYTECODE"}
    }


def _time_one(code: str, environment: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=environment, check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def _time_first_answer(
    code: str, environment: dict[str, str], webcast_id: str, cookie: str
) -> tuple[float, float]:
    """Wall and CPU seconds from starting the process to its first answer (the webcast)."""
    started = time.perf_counter()
    with subprocess.Popen(
        [PYTHON, "-c", code, webcast_id, cookie],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        elapsed = time.perf_counter() - started
        process.stdout.read()
    status, _, rest = line.partition(" ")
    cpu, _, body = rest.partition(" ")
    if process.returncode != 0 or status != "200" or json.loads(body).get("id") != webcast_id:
        raise RuntimeError(f"first answer {line[:300]!r}, exit status {process.returncode}")
    return elapsed, float(cpu)


def _import_rows() -> tuple[list[Row], dict[str, list[float]]]:
    environment = _environment()
    for code in COMMANDS.values():
        _time_one(code, environment)  # writes missing .pyc files, warms the page cache
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(RUNS):
        for name, code in COMMANDS.items():
            times[name].append(_time_one(code, environment))
    medians = {name: median(values) for name, values in times.items()}
    ours, bare, startup = (
        medians["function_app"],
        medians["azure.functions + fastapi"],
        medians["python startup"],
    )
    rows = [
        Row(
            "import function_app (median)",
            "ms",
            ours * 1000,
            bare * 1000,
            "import azure.functions, fastapi",
        ),
        Row(
            "  same, minus interpreter start",
            "ms",
            (ours - startup) * 1000,
            (bare - startup) * 1000,
            "import azure.functions, fastapi",
        ),
        Row("interpreter start (python -c pass)", "ms", startup * 1000),
    ]
    return rows, times


def _route_count() -> int:
    from fastapi import routing

    from functions.api.app import create_app

    contexts = routing.iter_route_contexts(create_app().routes)
    return sum(isinstance(context.original_route, routing.APIRoute) for context in contexts)


def _first_answer_rows() -> tuple[list[Row], dict[str, list[tuple[float, float]]], int]:
    with stack("cold_import") as stack_environment:
        token, webcast_id = seed_signed_in_owner_and_webcast()
        cookie = f"__Host-wcadmin={token}"
        routes = _route_count()
        environment = _without_our_settings() | stack_environment
        for code in FIRST_ANSWER.values():
            _time_first_answer(code, environment, webcast_id, cookie)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in FIRST_ANSWER}
        for round_index in range(RUNS):
            # Alternate the order each round so neither side always runs first.
            order = list(FIRST_ANSWER) if round_index % 2 == 0 else list(reversed(FIRST_ANSWER))
            for name in order:
                times[name].append(
                    _time_first_answer(FIRST_ANSWER[name], environment, webcast_id, cookie)
                )
    wall = {name: [seconds for seconds, _ in runs] for name, runs in times.items()}
    cpu = {name: [seconds for _, seconds in runs] for name, runs in times.items()}
    ours, bare = median(wall["function_app"]), median(wall["bare app"])
    rows = [
        Row(
            "process start to first authenticated answer (median)",
            "ms",
            ours * 1000,
            bare * 1000,
            "bare FastAPI app, same reads",
            paired_ratio=paired_ratio(wall["function_app"], wall["bare app"]),
        ),
        Row(
            "  same, CPU time of the process",
            "ms CPU",
            median(cpu["function_app"]) * 1000,
            median(cpu["bare app"]) * 1000,
            "bare FastAPI app, same reads",
            paired_ratio=paired_ratio(cpu["function_app"], cpu["bare app"]),
        ),
        Row(
            f"  cost per route ({routes} routes)",
            "ms",
            (ours - bare) * 1000 / routes,
            note="(ours - baseline) / routes",
        ),
    ]
    return rows, times, routes


def run() -> Result:
    watch = Stopwatch()
    import_rows, import_times = _import_rows()
    answer_rows, answer_times, routes = _first_answer_rows()
    details = {
        "runs": RUNS,
        "commands": COMMANDS,
        "seconds": import_times,
        "first_answer_seconds": answer_times,
        "routes": routes,
    }
    return Result("cold_import", import_rows + answer_rows, details, watch.seconds)
