"""Session fixtures: real emulators on free ports, per-run names, a real SMTP sink."""

import os
import uuid
from collections.abc import Iterator

import pytest

from devtools import emulators as emulator_processes
from devtools.mailsink import MailSink
from shared import clients, config


def _reset() -> None:
    config.get_settings.cache_clear()
    clients.reset_clients()
    from shared.auth.passwords import hasher

    hasher.cache_clear()


@pytest.fixture(scope="session")
def stack() -> Iterator[emulator_processes.Emulators]:
    """Azurite and the Cosmos DB server for this test run, with containers created."""
    running = emulator_processes.start()
    run = uuid.uuid4().hex[:8]
    smtp_port = emulator_processes.free_port()
    environment = running.environment() | {
        "WEBCAST_ENVIRONMENT": "test",
        "WEBCAST_COSMOS_DATABASE": f"test{run}",
        "WEBCAST_COSMOS_CONTAINER_PREFIX": f"t{run}-",
        "WEBCAST_STORAGE_PREFIX": f"t{run}-",
        "WEBCAST_SMTP_PORT": str(smtp_port),
        "WEBCAST_PUBLIC_BASE_URL": "https://testserver",
        "WEBCAST_ALLOWED_ORIGINS": '["https://testserver"]',
        "WEBCAST_ENABLE_API_DOCS": "true",
    }
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    _reset()
    from shared.bootstrap import ensure_local_resources

    ensure_local_resources()
    try:
        yield running
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _reset()
        running.stop()


@pytest.fixture(scope="session")
def mail_sink(stack: emulator_processes.Emulators) -> Iterator[MailSink]:
    sink = MailSink(port=config.get_settings().smtp_port)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
