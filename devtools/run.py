"""`make run`: the whole platform on 127.0.0.1 with emulators, demo data and the trigger runner.

Non-interactive: starts Azurite and the Cosmos DB server, an SMTP sink, seeds a demo
customer (the emulators keep everything in memory, so on every start), serves the API
under uvicorn, runs the local trigger runner, prints where everything is and waits.
Ctrl-C or SIGTERM stops every child process group and the emulators.
"""

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO

from devtools import emulators as emulator_processes
from devtools import web_build
from devtools.mailsink import MailSink

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
LOG_DIR = LOCAL / "logs"
MAIL_DIR = LOCAL / "mail"
CREDENTIALS_FILE = LOCAL / "demo-credentials.txt"

HOST = "127.0.0.1"
BLOB_PORT = 10000
QUEUE_PORT = 10001
COSMOS_PORT = 8081
SMTP_PORT = 2525
API_PORT = 7071
RTMP_PORT = 1935
PORTS = {
    BLOB_PORT: "Azurite blob",
    QUEUE_PORT: "Azurite queue",
    COSMOS_PORT: "Cosmos DB server",
    SMTP_PORT: "SMTP sink",
    API_PORT: "API (uvicorn)",
    RTMP_PORT: "live ingest (nginx-rtmp)",
}

API_URL = f"http://{HOST}:{API_PORT}"
HEALTH_URL = f"{API_URL}/api/health"
OWNER_EMAIL = "demo-owner@example.org"
SUPPORT_EMAIL = "demo-support@example.org"
HEALTH_TIMEOUT_SECONDS = 60.0
# How long children may take to stop after SIGTERM before they are killed.
STOP_GRACE_SECONDS = 3.0


@dataclass
class Child:
    name: str
    process: "subprocess.Popen[bytes]"
    log: Path


@dataclass
class Demo:
    tenant_id: str
    owner_password: str
    owner_secret: str
    owner_uri: str
    support_password: str
    webcast_id: str
    webcast_slug: str
    stream_key: str


@dataclass
class Stack:
    emulators: emulator_processes.Emulators | None = None
    mail: MailSink | None = None
    children: list[Child] = field(default_factory=list)

    def stop(self) -> None:
        """SIGTERM to every child's process group at once; what still runs after the grace
        period is killed (a child in a storage retry would otherwise take a minute)."""
        for child in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=max(deadline - time.monotonic(), 0))
            # Also what the child started and left behind in its group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
        self.children.clear()
        if self.mail is not None:
            self.mail.stop()
            self.mail = None
        if self.emulators is not None:
            self.emulators.stop()
            self.emulators = None


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes of the listeners on a TCP port (IPv4 and IPv6), from /proc/net."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                listening = fields[3] == "0A"
                if listening and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    return inodes


def port_holders(port: int) -> list[str]:
    """The processes listening on a port, as 'pid N: command line' (Linux /proc)."""
    inodes = _listening_inodes(port)
    holders = []
    for process in Path("/proc").iterdir():
        if not process.name.isdigit() or not inodes:
            continue
        try:
            held = any(os.readlink(fd) in inodes for fd in (process / "fd").iterdir())
            if held:
                command = (process / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                command = command.strip()
                shown = command if len(command) <= 200 else f"{command[:200]} ..."
                holders.append(f"pid {process.name}: {shown}")
        except OSError:
            continue  # gone meanwhile, or not ours to look at
    return holders


def port_problems(ports: dict[int, str]) -> list[str]:
    """One message per port that is in use, naming what holds it where that can be seen."""
    problems = []
    for port in _taken_ports(ports):
        holders = port_holders(port)
        held_by = f"held by {'; '.join(holders)}" if holders else "in use"
        problems.append(
            f"port {port} on {HOST} ({ports[port]}) is {held_by}; stop it (an earlier make "
            f"run?  ss -ltnp 'sport = :{port}') and try again"
        )
    return problems


def _taken_ports(ports: dict[int, str]) -> list[int]:
    taken = []
    for port in ports:
        with socket.socket() as sock:
            # Like the servers themselves: connections of an earlier run in TIME_WAIT do not
            # block the port, only a listener does.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                taken.append(port)
    return taken


def _environment(running: emulator_processes.Emulators) -> dict[str, str]:
    return running.environment() | {
        "WEBCAST_ENVIRONMENT": "local",
        "WEBCAST_ENABLE_API_DOCS": "true",
        "WEBCAST_SMTP_HOST": HOST,
        "WEBCAST_SMTP_PORT": str(SMTP_PORT),
        "WEBCAST_PUBLIC_BASE_URL": API_URL,
    }


def _apply(environment: dict[str, str]) -> None:
    """Point this process's settings and SDK clients at the emulators."""
    from shared import clients, config
    from shared.auth.passwords import hasher

    os.environ.update(environment)
    config.get_settings.cache_clear()
    clients.reset_clients()
    hasher.cache_clear()


def _seed() -> Demo:
    """A demo customer with an owner (MFA set up), a support account and one webcast."""
    from shared.bootstrap import refuse_in_azure

    refuse_in_azure("Seeding demo data")
    from shared.accounts import service as accounts
    from shared.accounts.repository import accounts as account_store
    from shared.audit import operations
    from shared.audit.models import SYSTEM_ACTOR, RequestContext
    from shared.auth import totp
    from shared.auth.models import Principal, Role
    from shared.cli import generate_password
    from shared.config import get_settings
    from shared.live import service as live
    from shared.live.models import LiveChannelCreate
    from shared.webcasts import service as webcasts
    from shared.webcasts.models import Modules, Schedule, WebcastCreate

    context = RequestContext(request_id="seed")
    owner_password = generate_password(context=("Demo Owner", "demo-owner"))
    tenant, owner = accounts.create_tenant(
        name="Demo Customer",
        owner_email=OWNER_EMAIL,
        owner_name="Demo Owner",
        owner_password=owner_password,
        context=context,
    )
    owner.mfa_secret = totp.new_secret()
    owner = operations.replace(
        account_store,
        tenant_id=tenant.tenant_id,
        item=owner,
        actor=SYSTEM_ACTOR,
        action="account.mfa_seed",
        entity_type="account",
        changed_fields=["mfa_secret"],
        context=context,
    )
    secret = owner.mfa_secret or ""
    uri = totp.provisioning_uri(
        secret=secret, account_name=OWNER_EMAIL, issuer=get_settings().totp_issuer
    )

    support_password = generate_password(context=("Demo Support", "demo-support"))
    accounts.create_support_account(
        email=SUPPORT_EMAIL,
        display_name="Demo Support",
        password=support_password,
        context=context,
    )

    principal = Principal(
        account_id=owner.id,
        role=Role.owner,
        home_tenant_id=tenant.tenant_id,
        tenant_id=tenant.tenant_id,
        session_id="seed",
    )
    starts = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    webcast = webcasts.create_webcast(
        principal=principal,
        data=WebcastCreate(
            title="Demo webcast",
            description="A webcast seeded by make run.",
            slug="demo",
            schedule=Schedule(starts_at=starts, ends_at=starts + timedelta(hours=1)),
            modules=Modules(message_box=True, polls=True, tracking=True),
        ),
        context=context,
    )
    channel = live.create_channel(
        principal=principal, webcast_id=webcast.id, data=LiveChannelCreate(), context=context
    )
    return Demo(
        tenant_id=tenant.tenant_id,
        owner_password=owner_password,
        owner_secret=secret,
        owner_uri=uri,
        support_password=support_password,
        webcast_id=webcast.id,
        webcast_slug=webcast.slug,
        stream_key=channel.stream_key,
    )


def _spawn(
    name: str, command: list[str], environment: dict[str, str], log_dir: Path = LOG_DIR
) -> Child:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    output: IO[bytes] = log.open("ab")
    try:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=os.environ | environment | {"PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Ends the child when make run itself dies (killed, or a crash in the clean-up).
            preexec_fn=emulator_processes.die_with_parent,
        )
    finally:
        output.close()
    return Child(name=name, process=process, log=log)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_for_health(api: Child) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if api.process.poll() is not None:
            raise RuntimeError(
                f"the API exited with status {api.process.returncode}; "
                f"last lines of {api.log}:\n{_tail(api.log)}"
            )
        try:
            # HEALTH_URL is a constant http://127.0.0.1 address of the local API.
            with urllib.request.urlopen(HEALTH_URL, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{HEALTH_URL} did not answer within {HEALTH_TIMEOUT_SECONDS:.0f} s")


def _python() -> str:
    """The interpreter to show in hints, relative to the project root where possible."""
    executable = Path(sys.executable)
    try:
        return str(Path(os.path.relpath(executable, ROOT)))
    except ValueError:
        return str(executable)


def _credentials(demo: Demo) -> str:
    # The secret is base32 (A-Z, 2-7), so it needs no quoting inside the shell command.
    code_hint = f"\"import pyotp;print(pyotp.TOTP('{demo.owner_secret}').now())\""
    return "\n".join(
        [
            "Demo customer: Demo Customer",
            f"  tenant id:     {demo.tenant_id}",
            f"  webcast:       Demo webcast (slug {demo.webcast_slug}, id {demo.webcast_id})",
            f"  viewer page:   {API_URL}/w/{demo.webcast_id}",
            f"  viewer API:    {API_URL}/api/w/{demo.webcast_id}  (public: POST .../enter)",
            f"  live ingest:   rtmp://{HOST}:{RTMP_PORT}/live  stream key {demo.stream_key}",
            f"  push a test:   ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi "
            "-i sine -c:v libx264 -g 60 -c:a aac -f flv "
            f"rtmp://{HOST}:{RTMP_PORT}/live/{demo.stream_key}",
            "Demo owner (MFA is set up):",
            f"  e-mail:        {OWNER_EMAIL}",
            f"  password:      {demo.owner_password}",
            f"  TOTP secret:   {demo.owner_secret}",
            f"  otpauth URI:   {demo.owner_uri}",
            f"  current code:  {_python()} -c {code_hint}",
            "Demo support (enrols MFA at the first sign-in):",
            f"  e-mail:        {SUPPORT_EMAIL}",
            f"  password:      {demo.support_password}",
        ]
    )


def _banner(running: emulator_processes.Emulators, demo: Demo, children: list[Child]) -> str:
    from shared.config import EMULATOR_COSMOS_KEY

    rule = "=" * 78
    logs = ", ".join(child.log.name for child in children)
    return "\n".join(
        [
            "",
            rule,
            "The webcast platform runs locally (everything on 127.0.0.1)",
            rule,
            f"Viewer page:     {API_URL}/w/{demo.webcast_id}  (the demo webcast)",
            f"API:             {API_URL}/api",
            f"API docs:        {API_URL}/api/docs",
            f"Health:          {HEALTH_URL}",
            f"Cosmos DB:       {running.cosmos_endpoint}  (emulator, plain http)",
            f"  key:           the well-known emulator key ({EMULATOR_COSMOS_KEY[:12]}...,",
            "                 shared.config.EMULATOR_COSMOS_KEY); data is in memory only",
            f"Azurite blob:    http://{HOST}:{running.blob_port}/devstoreaccount1",
            f"Azurite queue:   http://{HOST}:{running.queue_port}/devstoreaccount1",
            f"SMTP sink:       {HOST}:{SMTP_PORT}; mails land in {MAIL_DIR.relative_to(ROOT)}/",
            f"Live ingest:     rtmp://{HOST}:{RTMP_PORT}/live/<stream key> (nginx-rtmp; "
            "channels: POST /api/webcasts/{id}/live)",
            "Media worker:    transcodes uploads (POST /api/webcasts/{id}/media) to HLS",
            f"Logs:            {LOG_DIR.relative_to(ROOT)}/ ({logs}, azurite.log, "
            "cosmosdb-server.log)",
            "",
            _credentials(demo),
            f"(also written to {CREDENTIALS_FILE.relative_to(ROOT)})",
            "",
            "Sign in: POST /api/auth/login with e-mail and password, then /api/auth/mfa/verify",
            "with the current TOTP code.",
            "Ctrl-C stops everything.",
            rule,
            "",
        ]
    )


def _write_credentials(demo: Demo) -> None:
    LOCAL.mkdir(parents=True, exist_ok=True)
    CREDENTIALS_FILE.write_text(
        "# Demo credentials of the last make run (the emulators are in memory: they change on\n"
        "# every start).\n" + _credentials(demo) + "\n"
    )
    CREDENTIALS_FILE.chmod(0o600)


def _clear_mail_folder() -> None:
    """Mails of an earlier run point at data that is gone (and their names would clash)."""
    MAIL_DIR.mkdir(parents=True, exist_ok=True)
    for old in MAIL_DIR.glob("*.eml"):
        old.unlink()


def _watch(stack: Stack) -> int:
    """Wait until a signal arrives or a piece stops on its own (then report it)."""
    while True:
        for child in stack.children:
            if child.process.poll() is not None:
                print(
                    f"{child.name} stopped with status {child.process.returncode}; last lines "
                    f"of {child.log}:\n{_tail(child.log)}",
                    file=sys.stderr,
                )
                return 1
        for process in stack.emulators.processes if stack.emulators else []:
            if process.poll() is not None:
                print(
                    f"an emulator stopped with status {process.returncode}; see the "
                    f"azurite and cosmosdb-server logs in {LOG_DIR}",
                    file=sys.stderr,
                )
                return 1
        time.sleep(0.5)


def _start_everything(stack: Stack) -> None:
    """Emulators, mail sink, resources, demo data, then the API, runner, worker and ingest."""
    print("Starting Azurite and the Cosmos DB server ...", flush=True)
    stack.emulators = emulator_processes.start(
        blob_port=BLOB_PORT, queue_port=QUEUE_PORT, cosmos_port=COSMOS_PORT, log_dir=LOG_DIR
    )
    environment = _environment(stack.emulators)
    _apply(environment)

    _clear_mail_folder()
    stack.mail = MailSink(port=SMTP_PORT, folder=MAIL_DIR)
    stack.mail.start()

    print("Creating containers and queues, seeding demo data ...", flush=True)
    from shared.bootstrap import ensure_local_resources

    ensure_local_resources()
    demo = _seed()

    if web_build.stale():
        print("Building the participant pages (web/) ...", flush=True)
        web_build.ensure_built()
    print("Starting the API and the trigger runner ...", flush=True)
    api = _spawn(
        "api",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "functions.api.app:create_app",
            "--factory",
            "--host",
            HOST,
            "--port",
            str(API_PORT),
        ],
        environment,
    )
    stack.children.append(api)
    if importlib.util.find_spec("devtools.runner") is None:
        print(
            "warning: devtools/runner.py is missing: queue, blob and timer triggers "
            "(mail, uploads, maintenance) will not run",
            file=sys.stderr,
        )
    else:
        runner = _spawn("runner", [sys.executable, "-m", "devtools.runner"], environment)
        stack.children.append(runner)
    stack.children.append(
        _spawn("media-worker", [sys.executable, "-m", "media_pipelines.worker"], environment)
    )
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        ingest = [sys.executable, "-m", "media_pipelines.live", "--rtmp-port", str(RTMP_PORT)]
        ingest += ["--api-url", API_URL, "--work-dir", str(LOCAL / "live")]
        stack.children.append(_spawn("live-ingest", ingest, environment))
    else:
        print(
            "warning: nginx with the RTMP module is missing (make sysdeps as root, or "
            "apt-get install nginx libnginx-mod-rtmp): live ingest does not run",
            file=sys.stderr,
        )
    _wait_for_health(api)

    _write_credentials(demo)
    print(_banner(stack.emulators, demo, stack.children), flush=True)


def _request_stop(signum: int, frame: FrameType | None) -> None:
    """The first SIGINT or SIGTERM interrupts; later ones are ignored, so that a second
    Ctrl-C can never break off the clean-up and leave processes behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def supervise(start: Callable[[Stack], None]) -> int:
    """Run `start`, watch what it started until a signal arrives or a piece stops, then stop
    everything (within STOP_GRACE_SECONDS for the children)."""
    # SIGINT is set explicitly because a shell starting us in the background leaves it ignored.
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    stack = Stack()
    status = 0
    try:
        start(stack)
        status = _watch(stack)
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
    except Exception as error:  # report any start failure plainly, then clean up
        print(f"error: {error}", file=sys.stderr)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("Everything is stopped.", flush=True)
    return status


def main() -> int:
    from shared.bootstrap import LocalOnlyError, refuse_in_azure

    try:
        refuse_in_azure("make run (emulators and demo data)")
    except LocalOnlyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    problems = port_problems(PORTS)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    return supervise(_start_everything)


if __name__ == "__main__":
    sys.exit(main())
