"""Start and stop the local emulators (Azurite, Cosmos DB server) as child processes."""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from shared.config import EMULATOR_COSMOS_KEY, EMULATOR_STORAGE_KEY

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "node_modules" / ".bin"
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _die_with_parent() -> None:
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
    emulators = Emulators(
        blob_port=blob_port or free_port(),
        queue_port=queue_port or free_port(),
        cosmos_port=cosmos_port or free_port(),
    )
    table_port = free_port()
    commands = {
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
    try:
        for name, command in commands.items():
            output = subprocess.DEVNULL
            if log_dir is not None:
                log_dir.mkdir(parents=True, exist_ok=True)
                output = (log_dir / f"{name}.log").open("ab")  # type: ignore[assignment]
            emulators.processes.append(
                subprocess.Popen(
                    command,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                    cwd=ROOT,
                )
            )
        for port in (emulators.blob_port, emulators.queue_port, emulators.cosmos_port):
            wait_for_port(port)
    except BaseException:
        emulators.stop()
        raise
    return emulators


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
