"""Start and stop the local emulators (Azurite, Cosmos DB server) as child processes."""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from shared.config import EMULATOR_COSMOS_KEY, EMULATOR_STORAGE_KEY

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "node_modules" / ".bin"
_PR_SET_PDEATHSIG = 1
START_TIMEOUT_SECONDS = 30.0
# Ports chosen here may be taken by another process before the emulator binds them (any
# client socket gets one of the same ephemeral ports); then a start with new ports follows.
START_ATTEMPTS = 3


class EmulatorStartError(RuntimeError):
    """An emulator ended before it listened, or never listened (its output is in the message)."""

    def __init__(self, message: str, *, port: int) -> None:
        super().__init__(message)
        self.port = port


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Ports free right now, all different: each socket stays bound until all are chosen."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def wait_for_port(
    port: int, *, timeout: float = 30.0, process: "subprocess.Popen[bytes] | None" = None
) -> None:
    """Wait until something listens on the port; fail at once when `process` has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise EmulatorStartError(
                f"the process for 127.0.0.1:{port} ended with status {process.returncode}",
                port=port,
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def die_with_parent() -> None:
    """Ask Linux to end the emulator when the process that started it dies (a killed test
    run or a crashed make run must not leave emulators behind)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _binary(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is missing: run 'npm ci' in {ROOT}")
    return found


@dataclass
class Emulators:
    blob_port: int
    queue_port: int
    cosmos_port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def storage_connection_string(self) -> str:
        return (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={EMULATOR_STORAGE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.blob_port}/devstoreaccount1;"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/devstoreaccount1;"
        )

    @property
    def cosmos_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.cosmos_port}"

    def environment(self) -> dict[str, str]:
        """The settings that point the platform at these emulators."""
        return {
            "WEBCAST_COSMOS_ENDPOINT": self.cosmos_endpoint,
            "WEBCAST_COSMOS_KEY": EMULATOR_COSMOS_KEY,
            "WEBCAST_COSMOS_EMULATOR": "true",
            "WEBCAST_STORAGE_CONNECTION_STRING": self.storage_connection_string,
            "AzureWebJobsStorage": self.storage_connection_string,
        }

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()


def start(
    *,
    blob_port: int | None = None,
    queue_port: int | None = None,
    cosmos_port: int | None = None,
    log_dir: Path | None = None,
) -> Emulators:
    """Start both emulators on the given (or free) ports and wait until they answer."""
    given = {blob_port, queue_port, cosmos_port} - {None}
    for attempt in range(1, START_ATTEMPTS + 1):
        free = iter(free_ports(4))
        emulators = Emulators(
            blob_port=blob_port or next(free),
            queue_port=queue_port or next(free),
            cosmos_port=cosmos_port or next(free),
        )
        try:
            _launch(emulators, table_port=next(free), log_dir=log_dir)
        except EmulatorStartError as error:
            if error.port in given or attempt == START_ATTEMPTS:
                raise
            continue
        return emulators
    raise AssertionError("unreachable: the last attempt returns or raises")


def _commands(emulators: Emulators, table_port: int) -> dict[str, list[str]]:
    return {
        "azurite": [
            _binary("azurite"),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
            "--loose",
            "--blobHost",
            "127.0.0.1",
            "--queueHost",
            "127.0.0.1",
            "--tableHost",
            "127.0.0.1",
            "--blobPort",
            str(emulators.blob_port),
            "--queuePort",
            str(emulators.queue_port),
            "--tablePort",
            str(table_port),
        ],
        "cosmosdb-server": [
            _binary("cosmosdb-server"),
            "--no-ssl",
            "--host",
            "127.0.0.1",
            "-p",
            str(emulators.cosmos_port),
        ],
    }


def _launch(emulators: Emulators, *, table_port: int, log_dir: Path | None) -> None:
    """Start the processes and wait for their ports; on failure stop them and say why."""
    outputs: dict[str, tuple[IO[bytes], int]] = {}
    try:
        for name, command in _commands(emulators, table_port).items():
            if log_dir is not None:
                log_dir.mkdir(parents=True, exist_ok=True)
                output: IO[bytes] = (log_dir / f"{name}.log").open("a+b")
            else:
                # Kept only to explain a failed start; closed below (the child keeps its copy).
                output = tempfile.TemporaryFile()  # noqa: SIM115
            outputs[name] = (output, output.tell())
            emulators.processes.append(
                subprocess.Popen(
                    command,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=die_with_parent,
                    cwd=ROOT,
                )
            )
        azurite, cosmos = emulators.processes
        table = {"azurite": azurite, "cosmosdb-server": cosmos}
        pending = {
            emulators.blob_port: "azurite",
            emulators.queue_port: "azurite",
            table_port: "azurite",
            emulators.cosmos_port: "cosmosdb-server",
        }
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while pending:
            for port, name in list(pending.items()):
                process = table[name]
                if process.poll() is not None:
                    reason = f"it ended with status {process.returncode}"
                elif time.monotonic() > deadline:
                    reason = f"nothing listens after {START_TIMEOUT_SECONDS:.0f} s"
                elif _listens(port):
                    del pending[port]
                    continue
                else:
                    continue
                raise EmulatorStartError(
                    f"{name} did not start on 127.0.0.1:{port}: {reason}; its output:\n"
                    + _output_since(*outputs[name]),
                    port=port,
                )
            time.sleep(0.05)
    except BaseException:
        emulators.stop()
        raise
    finally:
        for output, _ in outputs.values():
            output.close()


def _listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _output_since(output: IO[bytes], offset: int, limit: int = 2000) -> str:
    output.flush()
    output.seek(offset)
    return output.read().decode(errors="replace")[-limit:]


def _forget_process_state() -> None:
    from shared import clients, config
    from shared.auth.passwords import hasher

    config.get_settings.cache_clear()
    clients.reset_clients()
    hasher.cache_clear()


@contextmanager
def isolated_stack(
    *, label: str, extra: dict[str, str] | None = None
) -> Iterator[tuple[Emulators, dict[str, str]]]:
    """Emulators on free ports with a per-run database and name prefix, set into this
    process's environment (tests, benchmarks); everything is restored and stopped after."""
    running = start()
    run = uuid.uuid4().hex[:8]
    environment = (
        running.environment()
        | {
            "WEBCAST_ENVIRONMENT": "test",
            "WEBCAST_COSMOS_DATABASE": f"{label}{run}",
            "WEBCAST_COSMOS_CONTAINER_PREFIX": f"{label[0]}{run}-",
            "WEBCAST_STORAGE_PREFIX": f"{label[0]}{run}-",
            "WEBCAST_PUBLIC_BASE_URL": "https://testserver",
            "WEBCAST_ALLOWED_ORIGINS": '["https://testserver"]',
        }
        | (extra or {})
    )
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        _forget_process_state()
        from shared.bootstrap import ensure_local_resources

        ensure_local_resources()
        yield running, environment
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _forget_process_state()
        running.stop()
