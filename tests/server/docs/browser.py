"""Debian's headless Chromium on a network where only loopback answers, driven by Playwright.

Every host but 127.0.0.1 is unreachable twice over: the resolver maps every other name to
NOTFOUND, and every request that is not to loopback goes to a `RefusingProxy`, which writes down
where it was going and hangs up (that also catches addresses written as numbers, and requests of
workers, which the page's own events do not show). Each visit has a browser context of its own
with its own proxy, so that what Chromium asks for by itself (its updater, its Google sign-in,
seen here despite the flags) goes to another proxy and is not taken for the page's. One service
of Chromium's runs in the page's context: Autofill asks Google about the page's forms; it is not
the page's request, and `CHROMIUM_OWN` leaves it out (Playwright's own --disable-features list
cannot be extended, only replaced). What the page asked for is read from the DevTools protocol's
Network events, not inferred from the HTML.
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM_OWN = ("CONNECT content-autofill.googleapis.com:443 ",)


class RefusingProxy(socketserver.ThreadingTCPServer):
    """An HTTP proxy on loopback that records the first line of each request and refuses it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _RecordAndClose)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _RecordAndClose(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, RefusingProxy)
        line = self.rfile.readline(4096).decode("latin-1").strip()
        if line and not line.startswith(CHROMIUM_OWN):
            self.server.seen.append(line)  # e.g. "CONNECT cdn.jsdelivr.net:443 HTTP/1.1"


def launch(playwright: Any, proxy: RefusingProxy) -> Browser:
    """Chromium with the machine's flags for a closed network, the resolver rules, and `proxy`
    for the browser's own requests."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (make test does)"
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,  # Playwright passes --headless and a fresh --user-data-dir of its own
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            # Loopback bypasses a proxy by default; everything else is sent to the recorder.
            f"--proxy-server={proxy.url}",
        ],
        timeout=30_000,
    )


@contextlib.contextmanager
def browser() -> Iterator[tuple[Browser, RefusingProxy]]:
    """A browser and the proxy for its pages, for as many visits as the caller makes."""
    own, pages = RefusingProxy(), RefusingProxy()
    try:
        with sync_playwright() as playwright:
            chromium = launch(playwright, own)
            try:
                yield chromium, pages
            finally:
                chromium.close()
    finally:
        for proxy in (own, pages):
            proxy.shutdown()
            proxy.server_close()


@dataclass
class Visit:
    """What one page load did."""

    ready: bool  # the selector that shows the page rendered appeared in time
    requests: list[str] = field(default_factory=list)  # Network.requestWillBeSent, in order
    failed: list[str] = field(default_factory=list)  # Network.loadingFailed: URL and reason
    left_loopback: list[str] = field(default_factory=list)  # the proxy's record
    console_errors: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)  # `attribute` of every `ready` match
    screenshot: Path | None = None


def visit(
    chromium: Browser,
    proxy: RefusingProxy,
    url: str,
    *,
    ready: str,
    attribute: str,
    timeout: float = 15.0,
    screenshot: str | None = None,
) -> Visit:
    """Open `url`, wait up to `timeout` s for the selector `ready`, and record what happened."""
    proxy.seen.clear()
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900},
        # Naming 127.0.0.1 keeps Playwright from sending loopback through the proxy too.
        proxy={"server": proxy.url, "bypass": "127.0.0.1"},
    )
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        urls: dict[str, str] = {}
        result = Visit(ready=False)

        def sent(event: dict[str, Any]) -> None:
            urls[event["requestId"]] = event["request"]["url"]
            result.requests.append(event["request"]["url"])

        def failed(event: dict[str, Any]) -> None:
            reason = event.get("blockedReason") or event.get("errorText", "")
            result.failed.append(f"{urls.get(event['requestId'], '?')}: {reason}")

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.loadingFailed", failed)
        cdp.send("Network.enable")
        page.on("console", lambda m: m.type == "error" and result.console_errors.append(m.text))
        page.on("pageerror", lambda e: result.console_errors.append(str(e)))

        page.goto(url, wait_until="load", timeout=timeout * 1000)
        try:
            page.wait_for_selector(ready, timeout=timeout * 1000)
            result.ready = True
        except PlaywrightTimeout:
            pass
        result.attributes = page.eval_on_selector_all(
            ready, f"nodes => nodes.map(n => n.getAttribute({attribute!r}))"
        )
        if screenshot:
            ARTIFACTS.mkdir(exist_ok=True)
            result.screenshot = ARTIFACTS / screenshot
            page.screenshot(path=result.screenshot, full_page=True)
        # The proxy records in its own threads: give a refused connection a moment to land.
        time.sleep(0.2)
        result.left_loopback = list(proxy.seen)
        return result
    finally:
        context.close()


def loopback_only(visit_: Visit, base_url: str) -> list[str]:
    """The requests of `visit_` that went anywhere but `base_url` (data: and blob: are local)."""
    return [
        u
        for u in visit_.requests
        if not (u.startswith((base_url + "/", "data:", "blob:" + base_url + "/")) or u == base_url)
    ]
