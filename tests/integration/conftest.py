"""Fixtures that several integration modules share."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser

from devtools.emulators import Emulators
from functions.api.app import create_app
from shared.config import Settings
from tests import browser, helpers
from tests.live_ingest import Ingest, running_ingest, served


@pytest.fixture
def defender_gate(stack: Emulators) -> Iterator[Settings]:
    """The malware gate waits for Defender's result; a re-queued event comes back at once."""
    with helpers.changed_settings(malware_gate="defender", malware_recheck_seconds=0) as settings:
        yield settings


@pytest.fixture(scope="module")
def live_app(stack: Emulators) -> FastAPI:
    return create_app()


@pytest.fixture(scope="module")
def api_url(live_app: FastAPI) -> Iterator[str]:
    with served(live_app) as url:
        yield url


@pytest.fixture(scope="module")
def ingest(api_url: str) -> Iterator[Ingest]:
    with running_ingest(api_url) as running:
        yield running


@pytest.fixture
def player(chromium: Browser, api_server: str) -> Iterator[browser.PlayerPage]:
    """A harness tab in a browser context of its own (its own viewer cookie)."""
    with browser.player_page(chromium, api_server) as page:
        yield page
