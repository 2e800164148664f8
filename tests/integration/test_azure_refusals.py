"""Every process deployed to Azure refuses local values; local-only commands refuse to run."""

import os
from collections.abc import Callable, Iterator

import pytest

from devtools import run
from functions.api.app import create_app
from media_pipelines import worker
from media_pipelines.live import __main__ as live_ingest
from shared import cli, config


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Settings read anew from the changed environment, and again from the restored one."""
    config.get_settings.cache_clear()
    yield
    config.get_settings.cache_clear()


def _without_local_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WEBCAST_") or name == "AzureWebJobsStorage":
            monkeypatch.delenv(name)


# The API as the Functions host builds it, the transcode worker (a Container Apps job) and
# the live ingest (a container app), each with the variable its Azure host sets.
PROCESSES: dict[str, tuple[Callable[[], object], str]] = {
    "api": (create_app, "WEBSITE_SITE_NAME"),
    "media worker": (lambda: worker.main(["--once"]), "CONTAINER_APP_JOB_NAME"),
    "live ingest": (lambda: live_ingest.main([]), "CONTAINER_APP_NAME"),
}


@pytest.mark.parametrize("process", PROCESSES)
def test_each_process_refuses_to_start_in_azure_with_local_defaults(
    monkeypatch, fresh_settings, process
):
    """Each value is refused by the settings (tests/unit/test_azure_settings.py); here each
    process reads them before it does anything, with no WEBCAST_* set at all."""
    start, marker = PROCESSES[process]
    _without_local_settings(monkeypatch)
    monkeypatch.setenv(marker, "webcast-prod")
    with pytest.raises((SystemExit, ValueError)) as refused:
        start()
    for setting in (
        "WEBCAST_LOOKUP_HMAC_KEY",
        "WEBCAST_LIVE_INGEST_SECRET",
        "WEBCAST_COSMOS_ENDPOINT",
        "WEBCAST_STORAGE_ACCOUNT_NAME",
    ):
        assert setting in str(refused.value), f"{process}: {refused.value}"


@pytest.mark.parametrize("marker", [None, "WEBSITE_SITE_NAME"])
def test_demo_seeding_and_emulator_set_up_refuse_to_run_in_azure(monkeypatch, capsys, marker):
    if marker is None:
        monkeypatch.setenv("WEBCAST_ENVIRONMENT", "azure")
    else:
        monkeypatch.setenv(marker, "webcast-prod")
    assert run.main() == 1
    assert "refused in Azure" in capsys.readouterr().err
    assert cli.main(["bootstrap"]) == 1
    assert "refused in Azure" in capsys.readouterr().err
    with pytest.raises(RuntimeError, match="refused in Azure"):
        run._seed()
