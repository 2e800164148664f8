"""Shared pieces of the benchmarks: the emulator stack, statistics, CPU time, results."""

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PYTHON = sys.executable
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    """One figure of a benchmark: ours, the baseline, and ours/baseline."""

    metric: str
    unit: str
    ours: float
    baseline: float | None = None
    baseline_name: str = ""
    note: str = ""
    # The median of per-round ratios, when ours and the baseline ran in pairs: steadier than
    # the ratio of the medians while other work on the machine comes and goes.
    paired_ratio: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.paired_ratio is not None:
            return self.paired_ratio
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline


@dataclass
class Result:
    name: str
    rows: list[Row]
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seconds": round(self.seconds, 2),
            "nproc": os.cpu_count(),
            "rows": [asdict(row) | {"ratio": row.ratio} for row in self.rows],
            "problems": self.problems,
            "details": self.details,
        }


def median(values: list[float]) -> float:
    return statistics.median(values)


def paired_ratio(ours: list[float], baseline: list[float]) -> float:
    """The median of ours[i] / baseline[i] over rounds that ran side by side."""
    return median([a / b for a, b in zip(ours, baseline, strict=True) if b])


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        text = handle.read()
    # The command name (field 2) may hold spaces; the fields after its closing ')' are fixed.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _CLOCK_TICKS


def nproc() -> int:
    try:
        return int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout)
    except (OSError, ValueError, subprocess.CalledProcessError):
        return os.cpu_count() or 0


@contextmanager
def stack(name: str, extra: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Emulators on free ports with a per-run database and prefix, as the tests use them.

    Yields the WEBCAST_* environment (with `extra`), which is also set in this process while
    it runs.
    """
    from devtools.emulators import isolated_stack

    with isolated_stack(label="bench", extra=extra) as (running, environment):
        pid = str(running.processes[-1].pid)
        os.environ["BENCH_COSMOS_PID"] = pid
        try:
            yield environment | {"BENCH_COSMOS_PID": pid}
        finally:
            os.environ.pop("BENCH_COSMOS_PID", None)


def write_result(result: Result) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{result.name}.json"
    path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return path


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    if magnitude >= 0.01:
        return f"{value:.3f}"
    return f"{value:.2e}"


def table(results: list[Result]) -> str:
    """A plain-text table of every row of the given results."""
    header = ("bench", "metric", "ours", "baseline", "ratio", "unit / baseline")
    lines: list[tuple[str, ...]] = [header]
    for result in results:
        for row in result.rows:
            ratio = row.ratio
            lines.append(
                (
                    result.name,
                    row.metric,
                    _number(row.ours),
                    _number(row.baseline),
                    "-" if ratio is None else f"{ratio:.2f}x",
                    row.unit
                    + (f"  vs {row.baseline_name}" if row.baseline_name else "")
                    + (f"  ({row.note})" if row.note else ""),
                )
            )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {2, 3, 4}
    out = []
    for index, line in enumerate(lines):
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        out.append("  ".join(cells).rstrip())
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    if any(row.paired_ratio is not None for result in results for row in result.rows):
        out.append("ratio: ours/baseline; for paired rounds the median of the per-round ratios")
    return "\n".join(out)


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


def seed_owner_and_webcast(webcast: dict[str, Any]) -> tuple[Any, Any, Any]:
    """A new customer, its owner as a principal, a request context and a webcast."""
    import uuid

    from shared.accounts.service import create_tenant
    from shared.audit.models import RequestContext
    from shared.auth.models import Principal
    from shared.webcasts.models import WebcastCreate
    from shared.webcasts.service import create_webcast

    _, owner = create_tenant(
        name="Bench customer",
        owner_email=f"bench-{uuid.uuid4().hex[:10]}@example.org",
        owner_name="Bench Owner",
        owner_password="correct horse battery staple",
    )
    principal = Principal(
        account_id=owner.id,
        role=owner.role,
        home_tenant_id=owner.tenant_id,
        tenant_id=owner.tenant_id,
        session_id="bench",
    )
    context = RequestContext(client_ip="127.0.0.1")
    created = create_webcast(
        principal=principal, data=WebcastCreate.model_validate(webcast), context=context
    )
    return principal, context, created


def seed_signed_in_owner_and_webcast() -> tuple[str, str]:
    """A tenant with its owner, a full session and a webcast: (cookie value, webcast id)."""
    import uuid

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


def run_loadgen(
    url: str,
    *,
    pids: list[int],
    concurrency: int,
    seconds: float,
    warmup: float,
    cookie: str | None = None,
    post: str | None = None,
    sessions_file: Path | None = None,
    ok: tuple[int, ...] = (200,),
) -> dict[str, Any]:
    """One bench.loadgen run in its own process; its JSON result."""
    command = [PYTHON, "-m", "bench.loadgen", url]
    command += ["--concurrency", str(concurrency), "--seconds", str(seconds)]
    command += ["--warmup", str(warmup)]
    if cookie:
        command += ["--cookie", cookie]
    if post is not None:
        command += ["--post", post]
    if sessions_file is not None:
        command += ["--sessions", str(sessions_file)]
    for status in ok:
        command += ["--ok", str(status)]
    for pid in pids:
        command += ["--pid", str(pid)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def serve_app(target: str, port: int, environment: dict[str, str]) -> subprocess.Popen[bytes]:
    """uvicorn with one worker serving the app factory `target` on 127.0.0.1:port."""
    command = [
        PYTHON,
        "-m",
        "uvicorn",
        target,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=os.environ | environment, start_new_session=True)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
