"""In Azure the settings refuse local-development values, however Azure is recognised."""

import os

import pytest
from pydantic import ValidationError

from shared.config import (
    AZURE_MARKERS,
    EMULATOR_COSMOS_KEY,
    EMULATOR_STORAGE_KEY,
    Settings,
)

# What a real deployment sets (the templates put these into the app settings).
DEPLOYED = {
    "WEBCAST_COSMOS_ENDPOINT": "https://webcast-cosmos.documents.azure.com:443/",
    "WEBCAST_STORAGE_ACCOUNT_NAME": "stwebcast",
    "WEBCAST_LOOKUP_HMAC_KEY": "d2b1c1f0a6e44a6c9f3e0b7a5c4d3e2f",
    "WEBCAST_LIVE_INGEST_SECRET": "5f0e4d3c2b1a09f8e7d6c5b4a3928170",
    "WEBCAST_MALWARE_GATE": "defender",
    "AzureWebJobsStorage__accountName": "stwebcast",
}
AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={EMULATOR_STORAGE_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without the test run's WEBCAST_* settings and without Azure markers."""
    for name in list(os.environ):
        if name.startswith("WEBCAST_") or name in AZURE_MARKERS or name == "AzureWebJobsStorage":
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("marker", [None, *AZURE_MARKERS])
def test_a_real_deployment_passes_and_is_recognised_by_what_azure_sets(environ, marker):
    for name, value in DEPLOYED.items():
        environ.setenv(name, value)
    if marker is None:
        environ.setenv("WEBCAST_ENVIRONMENT", "azure")
    else:
        environ.setenv(marker, "webcast-prod")
    settings = Settings()
    assert settings.is_azure
    assert settings.cosmos_key is None, "the emulator key is a local default only"
    assert settings.storage_connection_string is None, "so is the Azurite connection string"
    assert not settings.cosmos_emulator


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("WEBCAST_LOOKUP_HMAC_KEY", None, "WEBCAST_LOOKUP_HMAC_KEY"),
        ("WEBCAST_LIVE_INGEST_SECRET", None, "WEBCAST_LIVE_INGEST_SECRET"),
        ("WEBCAST_LIVE_INGEST_SECRET", "", "WEBCAST_LIVE_INGEST_SECRET"),
        ("WEBCAST_LOOKUP_HMAC_KEY", "secret", "WEBCAST_LOOKUP_HMAC_KEY"),
        ("WEBCAST_COSMOS_EMULATOR", "true", "WEBCAST_COSMOS_EMULATOR"),
        ("WEBCAST_COSMOS_KEY", EMULATOR_COSMOS_KEY, "WEBCAST_COSMOS_KEY"),
        ("WEBCAST_COSMOS_ENDPOINT", None, "WEBCAST_COSMOS_ENDPOINT"),
        ("WEBCAST_COSMOS_ENDPOINT", "https://localhost:8081", "WEBCAST_COSMOS_ENDPOINT"),
        ("WEBCAST_STORAGE_CONNECTION_STRING", AZURITE, "WEBCAST_STORAGE_CONNECTION_STRING"),
        ("AzureWebJobsStorage", "UseDevelopmentStorage=true", "AzureWebJobsStorage"),
        ("AzureWebJobsStorage", AZURITE, "AzureWebJobsStorage"),
        ("WEBCAST_STORAGE_ACCOUNT_NAME", None, "WEBCAST_STORAGE_ACCOUNT_NAME"),
        ("WEBCAST_MALWARE_GATE", "off", "WEBCAST_MALWARE_GATE"),
        ("WEBCAST_ENVIRONMENT", "local", "WEBCAST_ENVIRONMENT=local"),
        ("WEBCAST_ENVIRONMENT", "test", "WEBCAST_ENVIRONMENT=test"),
    ],
)
@pytest.mark.parametrize("marker", ["WEBSITE_SITE_NAME", "CONTAINER_APP_JOB_NAME"])
@pytest.mark.claim("P30")
@pytest.mark.claim("P38")
def test_local_values_are_refused_in_azure(environ, marker, name, value, named):
    """None as the value: the setting left at its local default."""
    for deployed, deployed_value in DEPLOYED.items():
        environ.setenv(deployed, deployed_value)
    environ.setenv(marker, "webcast-prod")
    if value is None:
        environ.delenv(name)
    else:
        environ.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert named in str(refused.value)


def test_the_same_values_are_fine_locally(environ):
    environ.setenv("WEBCAST_STORAGE_CONNECTION_STRING", AZURITE)
    settings = Settings()
    assert not settings.is_azure
    assert settings.cosmos_key == EMULATOR_COSMOS_KEY
    assert settings.cosmos_emulator


@pytest.mark.claim("P22")
def test_a_deletions_second_sweep_never_comes_before_the_longest_transcode_could_end(environ):
    environ.setenv("WEBCAST_MEDIA_TRANSCODE_TIMEOUT_SECONDS", "7200")
    environ.setenv("WEBCAST_DELETION_SECOND_SWEEP_SECONDS", "3600")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "deletion_second_sweep_seconds" in str(refused.value)
    environ.setenv("WEBCAST_DELETION_SECOND_SWEEP_SECONDS", "7200")
    assert Settings().deletion_second_sweep_seconds == 7200
    defaults = Settings.model_fields
    second = defaults["deletion_second_sweep_seconds"].default
    assert second > defaults["media_transcode_timeout_seconds"].default
