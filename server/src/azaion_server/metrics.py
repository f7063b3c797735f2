"""Prometheus metrics at `GET /metrics` (AZAION_METRICS=true; off by default), with prometheus-client.

| metric | type | labels |
| --- | --- | --- |
| `azaion_http_requests_total` | counter | `method`, `route` (its template), `status` |
| `azaion_http_request_duration_seconds` | histogram | `method`, `route` |
| `azaion_small_parts_issued_total` | counter | `kind` (`user` or `client`) |
| `azaion_event_streams_active` | gauge | — |
| `azaion_db_pool_connections` | gauge | `state` (`checked_out`, `open`) |

Routes are labelled by their template, never by the path a client sent (which would let anyone
create series without end); a path that matches no route is `<unmatched>`.

With `--workers N` every worker writes its figures to files in `PROMETHEUS_MULTIPROC_DIR`
(prometheus_client's multiprocess mode; `workers.py` creates the directory before any worker
starts), and `/metrics` of whichever worker answers sums them all: counters and histograms
over every worker that ever ran, the gauges over the live ones (`livesum`; a worker marks
itself dead when it stops).

prometheus_client is imported only when metrics are on; the middleware costs about two
microseconds per request (a label lookup, an increment and an observation).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy import Engine

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"


class Metrics:
    """The metrics of one process (created once per app when AZAION_METRICS is on)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        # Our own registry: several apps in one process (the tests) must not collide in the
        # default one; in multiprocess mode the values go to files whatever the registry.
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_VARIABLE))
        self.requests = Counter(
            "azaion_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "azaion_http_request_duration_seconds",
            "Time from the request's arrival to the end of its answer",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.issued = Counter(
            "azaion_small_parts_issued",
            "Small parts (and cdn.yaml) sealed and sent by POST /resources/get",
            ["kind"],
            registry=self.registry,
        )
        self.streams = Gauge(
            "azaion_event_streams_active",
            "Open GET /events streams",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.pool = Gauge(
            "azaion_db_pool_connections",
            "Database connections of the pool: checked out by a request, or open in all",
            ["state"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def __repr__(self) -> str:
        return f"Metrics(multiprocess={self.multiprocess})"

    def watch_pool(self, engine: Engine) -> None:
        """Follow the engine's pool: connections checked out and open, after every change."""
        from sqlalchemy import event

        pool = engine.pool
        checked_out = self.pool.labels("checked_out")
        opened = self.pool.labels("open")

        def update(returning: int = 0) -> None:
            out = pool.checkedout() - returning if hasattr(pool, "checkedout") else 0
            idle = pool.checkedin() + returning if hasattr(pool, "checkedin") else 0
            checked_out.set(out)
            opened.set(out + idle)

        def changed(*_args: Any) -> None:
            update()

        def checked_in(*_args: Any) -> None:
            update(returning=1)  # the event comes before the pool counts the connection back

        for name in ("connect", "checkout", "close", "close_detached", "invalidate"):
            event.listen(pool, name, changed)
        event.listen(pool, "checkin", checked_in)
        update()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type, over every worker in multiprocess mode."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = self.registry
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def stop(self) -> None:
        """At shutdown: this worker's live gauges stop counting."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())


class MetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)


async def optional_metrics(request: Request) -> Metrics | None:
    """The application's metrics, or None when they are off (a dependency)."""
    return request.app.state.services.get(Metrics)  # type: ignore[no-any-return]


OptionalMetrics = Annotated["Metrics | None", Depends(optional_metrics)]


def install(app: FastAPI, metrics: Metrics) -> None:
    """Add the middleware and `GET /metrics` to `app`."""
    from fastapi import Response

    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        """The Prometheus exposition of this server (every worker's)."""
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)
