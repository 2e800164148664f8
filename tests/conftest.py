"""Session fixtures: real emulators on free ports, per-run names, a real SMTP sink."""

import json
import socket
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from devtools import emulators as emulator_processes
from devtools import web_build
from devtools.mailsink import MailSink
from shared import config
from tests import browser


@pytest.fixture(scope="session")
def player_socket() -> Iterator[socket.socket]:
    """The socket of the browser tests' API server, bound before the stack's settings are
    made: its origin is one of the allowed origins (API origin check, Blob CORS rule)."""
    with browser.reserve_socket() as sock:
        yield sock


@pytest.fixture(scope="session")
def stack(player_socket: socket.socket) -> Iterator[emulator_processes.Emulators]:
    """Azurite and the Cosmos DB server for this test run, with containers created."""
    smtp_port = emulator_processes.free_port()
    origins = ["https://testserver", browser.origin_of(player_socket)]
    extra = {
        "WEBCAST_ALLOWED_ORIGINS": json.dumps(origins),
        "WEBCAST_SMTP_PORT": str(smtp_port),
        "WEBCAST_ENABLE_API_DOCS": "true",
        # Tests encode generated 2 s clips with a tiny ladder; `make bench` runs the full one.
        "WEBCAST_MEDIA_LADDER": "tiny",
        "WEBCAST_MEDIA_X264_PRESET": "ultrafast",
    }
    with emulator_processes.isolated_stack(label="test", extra=extra) as (running, _):
        yield running


@pytest.fixture(scope="session")
def mail_sink(stack: emulator_processes.Emulators) -> Iterator[MailSink]:
    sink = MailSink(port=config.get_settings().smtp_port)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="session")
def built_web() -> None:
    """The participant pages built (web/dist), as the API serves them."""
    web_build.ensure_built()


@pytest.fixture(scope="session")
def api_server(
    stack: emulator_processes.Emulators, player_socket: socket.socket, built_web: None
) -> Iterator[str]:
    """The API with the participant pages and the player test page under uvicorn on the
    reserved origin; its base URL. One per test session, shared by every browser test."""
    browser.build_player()
    app = browser.harness_app(browser.blob_origin(stack.storage_connection_string))
    with browser.serve(app, player_socket) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the test session."""
    with browser.chromium() as running:
        yield running
