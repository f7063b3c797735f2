"""/docs and /redoc work on a network without the internet: in Debian's headless Chromium, and by HTTP.

The browser tests serve the real application under uvicorn on loopback; every other host is
unreachable (tests/server/docs/browser.py). A screenshot of /docs is kept in test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from azaion_server.app import create_app
from azaion_server.docs.routes import CONTENT_SECURITY_POLICY, install
from fastapi import FastAPI
from playwright.sync_api import Browser

from tests.server.docs.browser import RefusingProxy, browser, loopback_only, visit
from tests.server.helpers import serving

SWAGGER_OPERATION = ".opblock-summary-path[data-path]"
REDOC_OPERATION = "[data-section-id*='operation/']"


@pytest.fixture(scope="module")
def chromium() -> Iterator[tuple[Browser, RefusingProxy]]:
    with browser() as opened:
        yield opened


@pytest.fixture
def server_url(make_settings, clean_db) -> Iterator[str]:
    with serving(create_app(make_settings())) as url:
        yield url


def _schema(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/openapi.json", timeout=10).json()


def test_swagger_ui_lists_every_operation_without_the_internet(chromium, server_url) -> None:
    seen = visit(
        *chromium, f"{server_url}/docs", ready=SWAGGER_OPERATION, attribute="data-path", screenshot="docs.png"
    )
    print(f"screenshot of /docs: {seen.screenshot}")
    assert seen.ready, f"/docs rendered no operation; requests: {seen.requests}, failed: {seen.failed}"
    listed = set(seen.attributes)
    assert {"/login", "/resources/get/{folder}", "/resources/{folder}", "/users"} <= listed
    assert listed == set(_schema(server_url)["paths"])
    assert f"{server_url}/openapi.json" in seen.requests
    assert loopback_only(seen, server_url) == []
    assert seen.left_loopback == [], seen.left_loopback
    assert seen.failed == []
    assert seen.console_errors == []


def test_redoc_lists_every_operation_without_the_internet(chromium, server_url) -> None:
    seen = visit(*chromium, f"{server_url}/redoc", ready=REDOC_OPERATION, attribute="data-section-id")
    assert seen.ready, f"/redoc rendered no operation; requests: {seen.requests}, failed: {seen.failed}"
    operation_ids = {
        operation["operationId"]
        for operations in _schema(server_url)["paths"].values()
        for operation in operations.values()
    }
    listed = {section.rsplit("operation/", 1)[1] for section in seen.attributes}
    assert listed == operation_ids
    assert f"{server_url}/openapi.json" in seen.requests
    assert loopback_only(seen, server_url) == []
    assert seen.left_loopback == [], seen.left_loopback
    assert seen.failed == []
    assert seen.console_errors == []


def test_the_browser_check_fails_on_fastapi_s_own_page(chromium) -> None:
    """The same check on FastAPI's default /docs: blank, and caught asking its CDN and its icon."""
    app = FastAPI()

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    with serving(app) as url:
        # Its scripts have failed by the load event: nothing can render after it.
        seen = visit(*chromium, f"{url}/docs", ready=SWAGGER_OPERATION, attribute="data-path", timeout=2)
    assert not seen.ready and seen.attributes == []
    elsewhere = loopback_only(seen, url)
    assert any(u.startswith("https://cdn.jsdelivr.net/") for u in elsewhere), seen.requests
    assert any(u.startswith("https://fastapi.tiangolo.com/") for u in elsewhere), seen.requests
    assert any(line.startswith("CONNECT cdn.jsdelivr.net:443") for line in seen.left_loopback)
    assert any("cdn.jsdelivr.net" in failure for failure in seen.failed)


def test_the_pages_policy_keeps_the_browser_off_other_hosts(chromium) -> None:
    """An image of another host in a description is blocked by the browser, not fetched."""
    app = FastAPI(docs_url=None, redoc_url=None, description="![pixel](http://203.0.113.7/pixel.png)")
    install(app)

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    with serving(app) as url:
        seen = visit(*chromium, f"{url}/docs", ready=SWAGGER_OPERATION, attribute="data-path")
    assert seen.ready and seen.attributes == ["/ping"]
    assert "http://203.0.113.7/pixel.png: csp" in seen.failed, seen.failed
    assert seen.left_loopback == []


# -- over HTTP, without a browser ----------------------------------------------------------------

_REFERENCE = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|url: ['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_pages_refer_only_to_files_this_server_answers(client, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    references = [a or b for a, b in _REFERENCE.findall(response.text)]
    assert "/openapi.json" in references and len(references) >= 3
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        assert client.get(reference).status_code == 200, reference
    assert "http://" not in response.text and "https://" not in response.text


def test_pages_follow_the_root_path_behind_a_proxy(make_settings, clean_db) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(make_settings()), root_path="/api") as client:
        page = client.get("/docs").text
    assert "/api/docs/assets/swagger-ui/swagger-ui-bundle.js" in page
    assert "/api/openapi.json" in page


def test_assets_have_their_types_and_unknown_ones_answer_json_404(client) -> None:
    script = client.get("/docs/assets/swagger-ui/swagger-ui-bundle.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "text/css" in client.get("/docs/assets/swagger-ui/swagger-ui.css").headers["content-type"]
    assert client.get("/docs/assets/redoc/LICENSE").status_code == 200
    for missing in ("/docs/assets/nothing.js", "/docs/assets/../routes.py", "/docs/assets/%2e%2e/routes.py"):
        answer = client.get(missing)
        assert answer.status_code == 404, missing
        assert answer.json()["code"] == "NOT_FOUND"
    assert "docs" not in str(client.get("/openapi.json").json()["paths"])
