"""The ingest's calls to the API's /api/live/ingest hooks (shared secret in X-Ingest-Secret)."""

import contextlib
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from pydantic import BaseModel

from shared.live.models import (
    IngestDone,
    IngestGrant,
    IngestHealthReport,
    IngestSessionRef,
    RecordingTarget,
)

log = logging.getLogger("webcast.live.api")
_TIMEOUT_SECONDS = 10.0


class ApiUnavailableError(RuntimeError):
    """The API did not answer, or answered with a server error."""


class RefusedError(RuntimeError):
    """The API answered with a 4xx: `status` and the problem's detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status


class IngestApi:
    def __init__(self, *, base_url: str, secret: str) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(f"the API URL must be http(s): {base_url}")
        self.base_url = base_url.rstrip("/")
        self._secret = secret

    def _post(self, path: str, body: bytes, content_type: str) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            f"{self.base_url}/api/live/ingest/{path}",
            data=body,
            method="POST",
            headers={"Content-Type": content_type, "X-Ingest-Secret": self._secret},
        )
        try:
            # The request's URL is the http(s) base URL checked in __init__.
            with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310
                text = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            if 400 <= error.code < 500:
                with contextlib.suppress(ValueError):
                    detail = str(json.loads(detail).get("detail", detail))
                raise RefusedError(error.code, detail) from None
            raise ApiUnavailableError(f"{path}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise ApiUnavailableError(f"{path}: {error}") from None
        return json.loads(text) if text else None

    def _post_json(self, path: str, body: BaseModel) -> Any:
        return self._post(path, body.model_dump_json().encode(), "application/json")

    def publish(self, fields: dict[str, str]) -> IngestGrant:
        """Relay nginx-rtmp's on_publish form; RefusedError when the key is refused."""
        body = urllib.parse.urlencode(fields).encode()
        return IngestGrant.model_validate(
            self._post("publish", body, "application/x-www-form-urlencoded")
        )

    def health(self, report: IngestHealthReport) -> None:
        self._post_json("health", report)

    def recording_target(self, ref: IngestSessionRef) -> RecordingTarget:
        return RecordingTarget.model_validate(self._post_json("recording", ref))

    def publish_done(self, report: IngestDone, *, attempts: int = 6) -> None:
        """End the session; retried, since a session left live blocks the next publish."""
        for attempt in range(attempts):
            try:
                self._post_json("publish-done", report)
                return
            except ApiUnavailableError as error:
                if attempt == attempts - 1:
                    raise
                log.warning("publish-done failed (%s); retrying", error)
                time.sleep(min(2**attempt * 0.5, 8))
