"""The Front Door purge at its boundary: the ARM request it sends and how it reads answers."""

import json
import os
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken
from pydantic import ValidationError

from shared.cdn import ARM_SCOPE, PURGE_API_VERSION, CdnPurgeError, FrontDoorPurger
from shared.config import AZURE_MARKERS, Settings
from tests.unit.test_azure_settings import DEPLOYED

ENDPOINT = (
    "/subscriptions/0000/resourceGroups/rg-webcast/providers/Microsoft.Cdn/profiles/fd-webcast"
    "/afdEndpoints/media"
)


class FakeCredential:
    """A managed identity that hands out one token and remembers the scopes asked for."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken("arm-token", 4_102_444_800)


def _purger(answer: httpx.Response, seen: list[httpx.Request]) -> FrontDoorPurger:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    return FrontDoorPurger(
        endpoint_id=ENDPOINT, credential=FakeCredential(), transport=httpx.MockTransport(handle)
    )


def test_the_purge_posts_the_paths_to_the_endpoint_with_an_arm_token():
    seen: list[httpx.Request] = []
    operation = "https://management.azure.com/operations/purge-1"
    purger = _purger(httpx.Response(202, headers={"Azure-AsyncOperation": operation}), seen)
    paths = ["/media/t1/w1/*", "/live/t1/w1/*"]
    assert purger.purge(paths) == operation
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == (
        f"https://management.azure.com{ENDPOINT}/purge?api-version={PURGE_API_VERSION}"
    )
    assert request.headers["authorization"] == "Bearer arm-token"
    assert json.loads(request.content) == {"contentPaths": paths}
    assert isinstance(purger.credential, FakeCredential)
    assert purger.credential.scopes == [ARM_SCOPE]


def test_a_purge_done_at_once_names_no_operation():
    assert _purger(httpx.Response(200), []).purge(["/media/t1/w1/*"]) is None


@pytest.mark.parametrize("status", [400, 403, 404, 429, 500])
def test_a_refused_purge_fails_the_step_so_that_it_is_retried(status: int):
    purger = _purger(httpx.Response(status, text="refused"), [])
    with pytest.raises(CdnPurgeError, match=str(status)):
        purger.purge(["/media/t1/w1/*"])


@pytest.mark.parametrize(
    "endpoint",
    [
        "",
        "https://management.azure.com" + ENDPOINT,
        ENDPOINT + "/../../other",
        "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Cdn/profiles/p/endpoints/e",
    ],
)
def test_only_the_arm_id_of_a_front_door_endpoint_is_taken(endpoint: str):
    with pytest.raises(ValueError, match="afdEndpoints"):
        FrontDoorPurger(endpoint_id=endpoint, credential=FakeCredential())


def test_in_azure_a_cdn_delivering_media_needs_its_purge_endpoint(monkeypatch):
    for name in list(os.environ):
        if name.startswith("WEBCAST_") or name in AZURE_MARKERS or name == "AzureWebJobsStorage":
            monkeypatch.delenv(name)
    for name, value in DEPLOYED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WEBCAST_ENVIRONMENT", "azure")
    monkeypatch.setenv("WEBCAST_MEDIA_DELIVERY_BASE_URL", "https://media.example.azurefd.net")
    with pytest.raises(ValidationError, match="WEBCAST_CDN_PURGE_ENDPOINT"):
        Settings()
    monkeypatch.setenv("WEBCAST_CDN_PURGE_ENDPOINT", ENDPOINT)
    assert Settings().cdn_purge_endpoint == ENDPOINT
