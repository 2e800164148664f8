"""The ingest process: nginx-rtmp plus the hook endpoint its callbacks reach.

nginx calls on_publish here; the hook relays it to the API, which checks the stream key.
On a refusal nginx gets a 403 and drops the publisher. On acceptance a session starts (its
ffmpeg plays the stream under the session id) and nginx gets a redirect to that name, so the
stream key never appears in a local URL, a process list or a log. The answer waits until that
ffmpeg subscribed (nginx's on_play, on a second hook server): encoders send media only after
it, so the first key frame reaches ffmpeg however long the encoder's GOP is. The hook server handles
one call at a time, in the order nginx sends them: that order tells a dropped connection
(disconnect, then publish_done) from an encoder that stopped (publish_done first).
nginx also asks on_update every few seconds while a publisher streams: the answer is a 403,
which makes nginx drop the publisher, once its session ended because the webcast is gone or
because its stream cannot be used (the channel's health then says why).
"""

import logging
import signal
import socket
import string
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Literal

from azure.storage.blob import BlobServiceClient

from media_pipelines.ladder import Ladder
from media_pipelines.live.api import ApiUnavailableError, IngestApi, RefusedError
from media_pipelines.live.hls import EventLog
from media_pipelines.live.process import PRE_EXEC
from media_pipelines.live.session import LiveSession
from shared.live.models import SessionEnd

log = logging.getLogger("webcast.live.ingest")

RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
TEMPLATES = Path(__file__).resolve().parent
Profile = Literal["local", "production"]
_NGINX_START_SECONDS = 10.0
# How long an accepted publish waits for its ffmpeg to subscribe (it takes ~0.1-0.3 s).
_PLAY_WAIT_SECONDS = 5.0
_MAX_FORM_BYTES = 16 * 1024


def render_nginx_conf(
    *,
    profile: Profile,
    rtmp_port: int,
    hook_port: int,
    play_hook_port: int,
    work_dir: Path,
    rtmp_module: str,
) -> str:
    template = (TEMPLATES / f"nginx.{profile}.conf.template").read_text(encoding="utf-8")
    return string.Template(template).substitute(
        rtmp_module=rtmp_module,
        rtmp_port=rtmp_port,
        hook_port=hook_port,
        play_hook_port=play_hook_port,
        work_dir=work_dir,
    )


def _wait_for_port(port: int, process: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + _NGINX_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nginx does not listen on 127.0.0.1:{port}")


class IngestServer:
    def __init__(
        self,
        *,
        rtmp_port: int,
        api: IngestApi,
        work_dir: Path,
        ladder: Ladder,
        preset: str,
        ffmpeg: str,
        blobs: BlobServiceClient,
        profile: Profile = "local",
        hook_port: int = 0,
        nginx: str = "nginx",
        rtmp_module: str = RTMP_MODULE,
        events: EventLog | None = None,
    ) -> None:
        self.rtmp_port = rtmp_port
        self.work_dir = work_dir
        self._api = api
        self._ladder = ladder
        self._preset = preset
        self._ffmpeg = ffmpeg
        self._blobs = blobs
        self._profile: Profile = profile
        self._hook_port = hook_port
        self._nginx = nginx
        self._rtmp_module = rtmp_module
        self._events = events
        self._sessions: dict[str, LiveSession] = {}
        self._disconnected: set[str] = set()
        # Publishers whose webcast is gone: refused on their next update until they leave.
        self._refused: set[str] = set()
        self._lock = threading.Lock()
        self._hooks: HTTPServer | None = None
        self._play_hooks: HTTPServer | None = None
        self._playing: dict[str, threading.Event] = {}
        self._nginx_process: subprocess.Popen[bytes] | None = None

    # ---- lifecycle ----

    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._hooks = HTTPServer(("127.0.0.1", self._hook_port), _handler_for(self))
        threading.Thread(target=self._hooks.serve_forever, name="live-hooks", daemon=True).start()
        self._play_hooks = HTTPServer(("127.0.0.1", 0), _play_handler_for(self))
        threading.Thread(
            target=self._play_hooks.serve_forever, name="live-play-hooks", daemon=True
        ).start()
        conf = self.work_dir / "nginx.conf"
        conf.write_text(
            render_nginx_conf(
                profile=self._profile,
                rtmp_port=self.rtmp_port,
                hook_port=self._hooks.server_address[1],
                play_hook_port=self._play_hooks.server_address[1],
                work_dir=self.work_dir,
                rtmp_module=self._rtmp_module,
            ),
            encoding="utf-8",
        )
        error_log = self.work_dir / "nginx-error.log"
        self._nginx_process = subprocess.Popen(  # noqa: S603 - arguments built here
            [self._nginx, "-c", str(conf), "-p", f"{self.work_dir}/", "-e", str(error_log)],
            stdin=subprocess.DEVNULL,
            preexec_fn=PRE_EXEC,
        )
        _wait_for_port(self.rtmp_port, self._nginx_process)
        log.info("ingest listens on rtmp://127.0.0.1:%d/live", self.rtmp_port)

    @property
    def nginx_running(self) -> bool:
        return self._nginx_process is not None and self._nginx_process.poll() is None

    def stop(self, *, timeout: float = 30.0) -> None:
        """End every session (keeping what was recorded), then nginx and the hooks."""
        with self._lock:
            running = list(self._sessions.values())
        for session in running:
            session.abort()
        for session in running:
            session.closed.wait(timeout)
        process = self._nginx_process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for hooks in (self._hooks, self._play_hooks):
            if hooks is not None:
                hooks.shutdown()
                hooks.server_close()

    # ---- hooks (called one at a time, in nginx's order) ----

    def on_publish(self, fields: dict[str, str]) -> tuple[int, str | None]:
        """(status, redirect name) for nginx: 3xx renames the stream to the session id."""
        received = time.time()
        try:
            grant = self._api.publish(fields)
        except RefusedError as error:
            log.info("publish refused: %s", error)
            return 403, None
        except ApiUnavailableError as error:
            log.error("publish not checked, refused: %s", error)
            return 503, None
        session = LiveSession(
            grant=grant,
            rtmp_port=self.rtmp_port,
            work_dir=self.work_dir,
            ladder=self._ladder,
            preset=self._preset,
            ffmpeg=self._ffmpeg,
            api=self._api,
            blobs=self._blobs,
            events=self._events,
            on_closed=self._closed,
        )
        client = fields.get("clientid", "")
        playing = threading.Event()
        with self._lock:
            self._sessions[client] = session
            self._playing[grant.session_id] = playing
        try:
            session.start()
        except OSError:
            log.exception("session %s could not start", grant.session_id)
            session.end_unstarted()
            return 500, None
        # Answer only once the session's ffmpeg plays the stream: the encoder sends its media
        # after this answer, so ffmpeg gets the first key frame, whatever the GOP length.
        if not playing.wait(_PLAY_WAIT_SECONDS):
            log.warning("session %s: ffmpeg did not subscribe in time", grant.session_id)
        with self._lock:
            self._playing.pop(grant.session_id, None)
        session.accepted(time.time())
        log.info("session %s starts for webcast %s", grant.session_id, grant.webcast_id)
        if self._events is not None:
            self._events.write(
                kind="publish", session=grant.session_id, received=received, started=time.time()
            )
        return 302, grant.session_id

    def on_update(self, fields: dict[str, str]) -> int:
        """200 keeps the publisher (or player) on, 403 makes nginx drop it."""
        if fields.get("call") != "update_publish":
            return 200
        client = fields.get("clientid", "")
        with self._lock:
            session = self._sessions.get(client)
            refused = client in self._refused
        if refused or (
            session is not None and (session.webcast_gone.is_set() or session.refused.is_set())
        ):
            log.info("publisher %s dropped: its webcast is gone or its stream is refused", client)
            return 403
        return 200

    def on_play(self, fields: dict[str, str]) -> None:
        """A player (only our ffmpeg may play) subscribed to a session's stream."""
        with self._lock:
            playing = self._playing.get(fields.get("name", ""))
        if playing is not None:
            playing.set()

    def on_disconnect(self, fields: dict[str, str]) -> None:
        client = fields.get("clientid", "")
        with self._lock:
            self._refused.discard(client)
            if client in self._sessions:
                self._disconnected.add(client)

    def on_publish_done(self, fields: dict[str, str]) -> None:
        client = fields.get("clientid", "")
        with self._lock:
            session = self._sessions.get(client)
            dropped = client in self._disconnected
            self._disconnected.discard(client)
        if session is not None:
            session.publisher_gone(SessionEnd.dropped if dropped else SessionEnd.stopped)

    def _closed(self, session: LiveSession) -> None:
        with self._lock:
            for client, known in list(self._sessions.items()):
                if known is session:
                    del self._sessions[client]
                    self._disconnected.discard(client)
                    if session.webcast_gone.is_set() or session.refused.is_set():
                        self._refused.add(client)


def _play_handler_for(server: IngestServer) -> type[BaseHTTPRequestHandler]:
    """nginx's on_play, answered beside the ordered hooks: it comes while on_publish waits."""

    class PlayHookHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), _MAX_FORM_BYTES)
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            fields = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
            server.on_play(fields)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    return PlayHookHandler


def _handler_for(server: IngestServer) -> type[BaseHTTPRequestHandler]:
    class HookHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_FORM_BYTES:
                self._answer(413)
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            fields = {k: v for k, v in urllib.parse.parse_qsl(body, keep_blank_values=True)}
            path = self.path.split("?", 1)[0]
            if path == "/on_publish":
                status, location = server.on_publish(fields)
                self._answer(status, location)
            elif path == "/on_publish_done":
                server.on_publish_done(fields)
                self._answer(200)
            elif path == "/on_disconnect":
                server.on_disconnect(fields)
                self._answer(200)
            elif path == "/on_update":
                self._answer(server.on_update(fields))
            else:
                self._answer(404)

        def _answer(self, status: int, location: str | None = None) -> None:
            self.send_response(status)
            if location is not None:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            # The request line is harmless, but keep the hook quiet; the server logs outcomes.
            return

    return HookHandler
