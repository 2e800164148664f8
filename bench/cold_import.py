"""cold_import: time to import function_app in a fresh interpreter, against fastapi alone.

Each measurement is a new `python -c "import ..."` process (bytecode caches warm, the
interpreter cold), RUNS times per command, alternating, median of the wall times.
No emulators are started: the WEBCAST_* endpoints point at closed local ports, so an import
that tried to connect anywhere would fail (the SDK clients must stay lazy).
"""

import os
import subprocess
import time

from bench.common import PYTHON, ROOT, Result, Row, Stopwatch, median
from devtools.emulators import free_port

RUNS = 7
COMMANDS = {
    "function_app": "import function_app",
    "azure.functions + fastapi": "import azure.functions, fastapi",
    "python startup": "pass",
}


def _environment() -> dict[str, str]:
    closed = free_port()  # nothing listens there once free_port has closed its socket
    endpoint = f"http://127.0.0.1:{closed}"
    storage = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"BlobEndpoint={endpoint}/devstoreaccount1;QueueEndpoint={endpoint}/devstoreaccount1;"
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("WEBCAST_")
        and key not in {"AzureWebJobsStorage", "PYTHONDONTWRITEBYTECODE"}
    }
    return environment | {
        "WEBCAST_ENVIRONMENT": "test",
        "WEBCAST_COSMOS_ENDPOINT": endpoint,
        "WEBCAST_STORAGE_CONNECTION_STRING": storage,
        "AzureWebJobsStorage": storage,
    }


def _time_one(code: str, environment: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=environment, check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def run() -> Result:
    watch = Stopwatch()
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
    details = {"runs": RUNS, "commands": COMMANDS, "seconds": times}
    return Result("cold_import", rows, details, watch.seconds)
