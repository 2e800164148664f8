"""The participant pages on the API's origin: the built web app (`web/dist`), one static HTML
document for every webcast, and its hashed assets.

The HTML is the same bytes for every webcast and every viewer (the page reads the webcast id
from its address and everything else from the API), so it is cacheable anywhere. It runs
under a policy without inline scripts or `eval`: a script injected into tenant content could
otherwise act with the rights of every page on this origin, the admin console's included.
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from functions.api.etags import matches
from functions.api.problems import problem
from shared import blob_sas
from shared.config import get_settings

PARTICIPANT_HTML = "participant.html"
ASSETS = "assets"
# Asset names carry a hash of their content: a new build gives new names.
IMMUTABLE = "public, max-age=31536000, immutable"
# Short, so that a new build reaches viewers soon; revalidated by its ETag after that.
HTML_CACHE = "public, max-age=300"
# Where the pages live: the webcast's link and its sub-pages, and the landing page.
PAGE_PATHS = (
    "/",
    "/w/{webcast_id}",
    "/w/{webcast_id}/password-reset",
    "/w/{webcast_id}/privacy",
    # Readable addresses: a prefix of its own, so no slug can collide with /w/{id}/...
    "/p/{tenant_slug}/{webcast_slug}",
)


def page_policy(frame_ancestors: str = "'none'") -> str:
    """The pages' Content-Security-Policy: scripts, styles and fonts from this origin only;
    media, captions and images also from where signed media URLs point; hls.js feeds the
    video element through MediaSource (`blob:`)."""
    media = blob_sas.read_origin()
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; "
        f"img-src 'self' {media}; media-src 'self' blob: {media}; "
        f"connect-src 'self' {media}; worker-src blob:; "
        f"form-action 'self'; base-uri 'none'; frame-ancestors {frame_ancestors}"
    )


@dataclass(frozen=True)
class BuiltPage:
    body: bytes
    etag: str


def _built_page(dist: Path) -> BuiltPage | None:
    path = dist / PARTICIPANT_HTML
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return None
    return BuiltPage(body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def participant_page(request: Request, *, frame_ancestors: str = "'none'") -> Response:
    """The participant app's HTML with its policy (503 while the web app is not built)."""
    page = _built_page(Path(get_settings().web_dist_dir))
    if page is None:
        return problem(
            status=503,
            code="web-not-built",
            title="Service unavailable",
            detail="The participant pages are not built yet: npm run -w web build",
            request=request,
        )
    headers = {
        "Content-Security-Policy": page_policy(frame_ancestors),
        "Cache-Control": HTML_CACHE if frame_ancestors == "'none'" else "no-cache",
        "ETag": page.etag,
    }
    if matches(request.headers.get("if-none-match"), page.etag):
        return Response(status_code=304, headers=headers)
    return Response(page.body, media_type="text/html; charset=utf-8", headers=headers)


class _Assets(StaticFiles):
    """The build's assets, immutable by their hashed names."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        return response


def install(app: FastAPI) -> None:
    """The page routes (outside the API's schema: they are files, not operations)."""

    for path in PAGE_PATHS:
        app.add_route(path, participant_page, methods=["GET", "HEAD"], include_in_schema=False)
    assets = Path(get_settings().web_dist_dir) / ASSETS
    app.mount(f"/{ASSETS}", _Assets(directory=assets, check_dir=False), name="assets")
