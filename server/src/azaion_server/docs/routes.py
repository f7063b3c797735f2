"""`/docs` (Swagger UI) and `/redoc` (ReDoc), served entirely by this server.

FastAPI's own pages load their scripts from a public CDN and their icon from fastapi.tiangolo.com;
on a network without the internet they are blank. These pages load the same tools from
`assets/` inside this package (vendored at pinned versions, see assets/SOURCES.txt and
build_tools/vendor_docs_assets.py), and their Content-Security-Policy lets the browser reach no
other host even if something on the page asks for one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
ASSETS_URL = "/docs/assets"

# Inline scripts and styles: FastAPI's pages start the tools inline, and both tools style the
# page at run time; ReDoc's search runs in a worker made from a blob.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src blob:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

router = APIRouter(include_in_schema=False)


def _asset(request: Request, name: str) -> str:
    return f"{request.scope.get('root_path', '')}{ASSETS_URL}/{name}"


def _page(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on this server's OpenAPI document."""
    app = request.app
    return _page(
        get_swagger_ui_html(
            openapi_url=f"{request.scope.get('root_path', '')}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=_asset(request, "swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=_asset(request, "swagger-ui/swagger-ui.css"),
            swagger_favicon_url=_asset(request, "swagger-ui/favicon-32x32.png"),
            # Swagger UI would otherwise send the document to validator.swagger.io for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc on this server's OpenAPI document."""
    app = request.app
    return _page(
        get_redoc_html(
            openapi_url=f"{request.scope.get('root_path', '')}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=_asset(request, "redoc/redoc.standalone.js"),
            redoc_favicon_url=_asset(request, "swagger-ui/favicon-32x32.png"),
            with_google_fonts=False,
        )
    )


def install(app: FastAPI) -> None:
    """Add the pages and their assets to `app`, made with `docs_url=None, redoc_url=None`."""
    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
