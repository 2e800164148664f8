"""`make run`'s supervisor: a signal stops every child within seconds; a held port is named."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from devtools import run
from devtools.emulators import ROOT, free_port, free_ports

# The supervisor of devtools.run with the API, the trigger runner and the media worker.
# Their storage and database do not answer, as when the emulators stopped first: the SDKs'
# retries then keep the runner and the worker busy for a minute after SIGTERM.
SUPERVISOR = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from devtools import run

    api_port, log_dir = sys.argv[1], Path(sys.argv[2])
    python = sys.executable
    uvicorn = ["-m", "uvicorn", "functions.api.app:create_app", "--factory", "--port", api_port]
    commands = {
        "api": [python, *uvicorn],
        "runner": [python, "-m", "devtools.runner", "--poll-interval", "0.2"],
        "media-worker": [python, "-m", "media_pipelines.worker", "--poll-seconds", "0.2"],
    }

    def start(stack):
        for name, command in commands.items():
            stack.children.append(run._spawn(name, command, {}, log_dir))
        print(" ".join(str(child.process.pid) for child in stack.children), flush=True)

    sys.exit(run.supervise(start))
    """
)
# What each child logs once its signal handlers are in place and it is at work.
STARTED = {
    "api.log": "Uvicorn running",
    "runner.log": "trigger runner started",
    "media-worker.log": "media worker:",
}
WAIT_SECONDS = 60.0
# Generous against the supervisor's 3 s grace period; the children used to need ~45 s.
STOPPED_WITHIN_SECONDS = 10.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has stopped; only its parent (gone too) could reap it.
    with Path(f"/proc/{pid}/stat").open() as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def _environment() -> dict[str, str]:
    dead = free_port()  # nothing listens there once free_port has closed its socket
    storage = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"BlobEndpoint=http://127.0.0.1:{dead}/devstoreaccount1;"
        f"QueueEndpoint=http://127.0.0.1:{dead}/devstoreaccount1;"
    )
    kept = {k: v for k, v in os.environ.items() if not k.startswith("WEBCAST_")}
    return kept | {
        "WEBCAST_ENVIRONMENT": "test",
        "WEBCAST_STORAGE_CONNECTION_STRING": storage,
        "AzureWebJobsStorage": storage,
        "WEBCAST_COSMOS_ENDPOINT": f"http://127.0.0.1:{dead}",
        "PYTHONUNBUFFERED": "1",
    }


def _wait_until_started(log_dir: Path, supervisor: "subprocess.Popen[str]") -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        assert supervisor.poll() is None, "the supervisor ended before the children started"
        logs = {name: (log_dir / name) for name in STARTED}
        if all(path.exists() and STARTED[name] in path.read_text() for name, path in logs.items()):
            return
        time.sleep(0.2)
    raise AssertionError({name: (log_dir / name).read_text() for name in STARTED})


def test_sigint_and_sigterm_stop_every_child_and_free_the_ports(tmp_path):
    signals = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
    api_ports = dict(zip(signals, free_ports(len(signals)), strict=True))
    supervisors = {}
    for name in signals:
        (tmp_path / name).mkdir()
        supervisors[name] = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR, str(api_ports[name]), str(tmp_path / name)],
            cwd=ROOT,
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    children = {}
    try:
        for name, supervisor in supervisors.items():
            assert supervisor.stdout is not None
            children[name] = [int(pid) for pid in supervisor.stdout.readline().split()]
            assert len(children[name]) == 3, children[name]
        for name, supervisor in supervisors.items():
            _wait_until_started(tmp_path / name, supervisor)
        for name, supervisor in supervisors.items():
            supervisor.send_signal(signals[name])
        deadline = time.monotonic() + STOPPED_WITHIN_SECONDS
        for name, supervisor in supervisors.items():
            supervisor.wait(timeout=max(deadline - time.monotonic(), 0.1))
            output = supervisor.stdout.read() if supervisor.stdout else ""
            assert "Everything is stopped." in output, output
            assert [pid for pid in children[name] if _alive(pid)] == [], name
            assert run.port_problems({api_ports[name]: "API"}) == [], name
    finally:
        for supervisor in supervisors.values():
            supervisor.kill()
            supervisor.wait()
        for pids in children.values():
            for pid in pids:
                if _alive(pid):
                    os.killpg(pid, signal.SIGKILL)


def test_a_port_held_by_another_process_is_named_at_start():
    port = free_port()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, sys, time\n"
            "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
            "print('listening', flush=True); time.sleep(120)",
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "listening"
        problems = run.port_problems({port: "API (uvicorn)", free_port(): "SMTP sink"})
        assert len(problems) == 1, problems
        assert f"port {port}" in problems[0] and "API (uvicorn)" in problems[0]
        assert f"pid {holder.pid}: " in problems[0] and "time.sleep(120)" in problems[0]
    finally:
        holder.kill()
        holder.wait()
