"""Health and the API documentation page (Swagger UI served locally: no CDN, no inline script)."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str


@router.get("/api/health", response_model=Health)
def health() -> dict:
    """Liveness: answers while the process serves requests."""
    return {"status": "ok"}


def _swagger_dir() -> Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    path = Path(swagger_ui_bundle.swagger_ui_path)
    return path if (path / "swagger-ui-bundle.js").is_file() else None


SWAGGER_DIR = _swagger_dir()
# Only these files are served from the Swagger UI package: no path from the URL reaches the disk.
DOCS_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}

DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ConvLab API</title>
<link rel="icon" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

# Kept out of the HTML: the Content-Security-Policy allows scripts only from files.
DOCS_INIT_JS = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""

FALLBACK_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ConvLab API</title></head>
<body><h1>ConvLab API</h1>
<p>The interactive documentation needs the <code>swagger-ui-bundle-v2</code> package, which is not installed.
The machine-readable description is at <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>
"""


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    return HTMLResponse(DOCS_HTML if SWAGGER_DIR else FALLBACK_HTML)


@router.get("/docs/init.js", include_in_schema=False)
def docs_init() -> Response:
    return Response(DOCS_INIT_JS, media_type="text/javascript")


@router.get("/docs/assets/{name}", include_in_schema=False)
def docs_asset(name: str) -> FileResponse:
    if SWAGGER_DIR is None or name not in DOCS_ASSETS:
        raise HTTPException(404, "no such documentation asset")
    return FileResponse(SWAGGER_DIR / name, media_type=DOCS_ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})
