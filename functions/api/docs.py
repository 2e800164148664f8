"""Interactive API docs: Swagger UI from the swagger-ui-bundle package, served by the app."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

from shared.errors import not_found

DOCS_URL = "/api/docs"
OPENAPI_URL = "/api/openapi.json"
ASSETS_URL = f"{DOCS_URL}/assets"
# The files the page uses (the package ships more: a demo page, source maps).
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
# Assets carry the package version in their directory, so a day of caching is safe enough.
_ASSET_CACHE = "public, max-age=86400"

# In a file of its own, not inline: the docs' CSP allows scripts from 'self' only.
_INIT_SCRIPT = f"""window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    url: "{OPENAPI_URL}",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  }});
}});
"""


def _page(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - docs</title>
<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS_URL}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="{DOCS_URL}/init.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Add the docs page, its start script and its assets (not part of the OpenAPI schema)."""
    page = _page(app.title)
    folder = Path(str(swagger_ui_path))

    @app.get(DOCS_URL, include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{DOCS_URL}/init.js", include_in_schema=False)
    def docs_init() -> Response:
        return Response(_INIT_SCRIPT, media_type="text/javascript")

    @app.get(f"{ASSETS_URL}/{{name}}", include_in_schema=False)
    def docs_asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise not_found("Asset")
        return FileResponse(
            folder / name, media_type=ASSETS[name], headers={"cache-control": _ASSET_CACHE}
        )
