"""A real player for tests: the API under uvicorn with a test page, Chromium driven by Playwright.

The page (tests/browser_page/) is served by a test-only mount under `/_harness` on the API's
own origin, so its requests are the participant page's: same-origin API calls with the viewer
cookie, cross-origin segment loads from Blob. It enters as a viewer, plays with hls.js through
the product's player module (web/player, compiled by `build_player`) and keeps what tests read
in `window.harness`. See docs/browser-tests.md.
"""

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from functions.api.app import create_app

ROOT = Path(__file__).resolve().parent.parent
PAGE_DIR = ROOT / "tests" / "browser_page"
PLAYER_DIR = ROOT / "web" / "player"
HLS_JS = ROOT / "node_modules" / "hls.js" / "dist" / "hls.js"
TSC = ROOT / "node_modules" / ".bin" / "tsc"
CHROMIUM = "/usr/bin/chromium"
HARNESS_PATH = "/_harness"
SERVER_START_SECONDS = 15.0
WAIT_SECONDS = 30.0

PAGE_FILES = {
    "player.html": (PAGE_DIR / "player.html", "text/html; charset=utf-8"),
    # A page without a script, for requests a test makes from an origin's own scripts.
    "blank.html": (PAGE_DIR / "blank.html", "text/html; charset=utf-8"),
    "harness.js": (PAGE_DIR / "harness.js", "text/javascript; charset=utf-8"),
    # A customer's page that frames a participant page (tests run it from another origin).
    "embed-host.html": (PAGE_DIR / "embed-host.html", "text/html; charset=utf-8"),
    "embed-host.js": (PAGE_DIR / "embed-host.js", "text/javascript; charset=utf-8"),
    "hls.js": (HLS_JS, "text/javascript; charset=utf-8"),
    "player/player.js": (PLAYER_DIR / "dist" / "player.js", "text/javascript; charset=utf-8"),
}


def reserve_socket() -> socket.socket:
    """A loopback socket bound to a free port, kept until the API server listens on it (its
    origin goes into the settings before the server starts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def origin_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def build_player() -> Path:
    """Compiles web/player with tsc into its (ignored) dist/; the compiled module's path."""
    shutil.rmtree(PLAYER_DIR / "dist", ignore_errors=True)
    built = subprocess.run(
        [str(TSC), "-p", str(PLAYER_DIR / "tsconfig.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        raise RuntimeError(f"tsc failed on web/player:\n{built.stdout}{built.stderr}")
    return PLAYER_DIR / "dist" / "player.js"


def page_policy(blob_origin: str) -> str:
    """The test page's Content-Security-Policy: scripts from itself only, media from Blob and
    hls.js's MediaSource (blob:), hls.js's worker from a blob: URL."""
    return (
        "default-src 'none'; script-src 'self'; "
        f"connect-src 'self' {blob_origin}; media-src 'self' blob: {blob_origin}; "
        f"img-src 'self' {blob_origin}; worker-src blob:; frame-src http://127.0.0.1:*; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def harness_app(blob_origin: str) -> FastAPI:
    """The product app with the test page mounted under /_harness (never in the product)."""
    policy = page_policy(blob_origin)

    def serve_file(request: Request) -> Response:
        found = PAGE_FILES.get(request.path_params["name"])
        if found is None or not found[0].is_file():
            return Response(status_code=404)
        path, media_type = found
        # The page sets its own policy; the API's middleware keeps it (and adds the rest).
        headers = {"Content-Security-Policy": policy, "Cache-Control": "no-store"}
        return Response(path.read_bytes(), media_type=media_type, headers=headers)

    app = create_app()
    app.mount(HARNESS_PATH, Starlette(routes=[Route("/{name:path}", serve_file)]))
    return app


@contextmanager
def serve(app: FastAPI, sock: socket.socket) -> Iterator[str]:
    """The app under uvicorn on the reserved socket, in a thread; its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="player-api", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server for the browser tests did not start")
        time.sleep(0.02)
    try:
        yield origin_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, allowed to autoplay (the page's video is muted anyway)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required"]
        )
        try:
            yield browser
        finally:
            browser.close()


def _holds(condition: str) -> str:
    """A page function telling whether `condition` holds over `s`, the harness's snapshot."""
    return "() => { const s = window.harness.snapshot(); return " + condition + "; }"


@dataclass
class PlayerPage:
    """One browser tab on the harness page; `state()` is its `window.harness`."""

    page: Page
    base_url: str
    # Console errors and uncaught exceptions of the page, for the message of a failing wait.
    console: list[str] = field(default_factory=list)

    def open(
        self,
        webcast_id: str,
        *,
        mode: str = "vod",
        hls_config: dict[str, Any] | None = None,
        origin: str | None = None,
        direct: bool = False,
    ) -> None:
        """Loads the page for a webcast ("vod" or "live"), from `origin` (the API's by default);
        `direct` plays, without the API, the master playlist URL handed to `harness.play`."""
        fields = {"webcast": webcast_id, "mode": mode, "config": json.dumps(hls_config or {})}
        query = urlencode(fields | ({"direct": "1"} if direct else {}))
        self.page.goto(f"{origin or self.base_url}{HARNESS_PATH}/player.html?{query}")

    def state(self) -> dict[str, Any]:
        found: dict[str, Any] = self.page.evaluate("() => window.harness.snapshot()")
        return found

    def run(self, script: str, argument: Any = None) -> Any:
        """Evaluates a function of (harness, argument) in the page."""
        return self.page.evaluate(f"([a]) => ({script})(window.harness, a)", [argument])

    def wait_for(self, condition: str, *, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        """Waits until `condition`, a JS expression over `s` (the snapshot), holds; the
        snapshot then. A fatal player error ends the wait at once, with the page's errors."""
        try:
            self.page.wait_for_function(_holds(f"s.fatal || ({condition})"), timeout=timeout * 1000)
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"after {timeout} s still not {condition}: {self.state()} {self.console}"
            ) from None
        found = self.state()
        if found["fatal"] and not self.page.evaluate(_holds(condition)):
            raise AssertionError(f"the player failed: {found['errors']} {self.console}")
        return found


@contextmanager
def player_page(browser: Browser, base_url: str) -> Iterator[PlayerPage]:
    """A fresh browser context (own cookies) with one harness tab."""
    context: BrowserContext = browser.new_context()
    try:
        player = PlayerPage(page=context.new_page(), base_url=base_url)

        def keep_error(message: ConsoleMessage) -> None:
            if message.type == "error":
                player.console.append(message.text)

        player.page.on("console", keep_error)
        player.page.on("pageerror", lambda error: player.console.append(str(error)))
        yield player
    finally:
        context.close()


def blob_origin(storage_connection_string: str) -> str:
    """The scheme, host and port of the Blob endpoint named in a connection string."""
    for part in storage_connection_string.split(";"):
        name, _, value = part.partition("=")
        if name.strip() == "BlobEndpoint":
            endpoint = urlsplit(value.strip())
            return f"{endpoint.scheme}://{endpoint.netloc}"
    raise ValueError("the connection string names no BlobEndpoint")
