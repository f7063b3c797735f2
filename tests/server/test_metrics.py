"""`GET /metrics` (AZAION_METRICS): off by default; counters that move with what the server does."""

from __future__ import annotations

import json
import logging

from tests.server.events.conftest import PING, make_live  # noqa: F401 - the live-server fixture
from tests.server.helpers import assert_error


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not (line.startswith(name + "{") or line.startswith(name + " ")):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_are_off_by_default(client) -> None:
    assert_error(client.get("/metrics"), 404, "NOT_FOUND")


def test_request_counts_and_latencies_by_route_template_and_status(make_client) -> None:
    from tests.server.helpers import Api

    client = make_client(metrics=True)
    api = Api(client)
    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    api.upload("models", "m.bin", b"model bytes")
    before = client.get("/metrics").text
    for _ in range(3):
        assert api.get(operator, "models", "m.bin").status_code == 200
    assert_error(api.get(operator, "other", "m.bin"), 403, "FOLDER_NOT_LICENSED")
    assert_error(client.get("/no/such/route"), 404, "NOT_FOUND")
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    after = answer.text
    route = "/resources/get/{folder}"

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("azaion_http_requests_total", method="POST", route=route, status="200") == 3
    assert moved("azaion_http_requests_total", method="POST", route=route, status="403") == 1
    assert moved("azaion_http_requests_total", route="<unmatched>", status="404") == 1
    assert moved("azaion_http_request_duration_seconds_count", method="POST", route=route) == 4
    assert moved("azaion_http_request_duration_seconds_sum", method="POST", route=route) > 0
    # Paths never become labels: only templates (and <unmatched>).
    assert "/resources/get/models" not in after and "/no/such/route" not in after
    # Issuances: the three successful downloads, not the refused one.
    assert moved("azaion_small_parts_issued_total", kind="user") == 3
    # The pool: connections open, none held between requests.
    assert sample(after, "azaion_db_pool_connections", state="open") >= 1
    assert sample(after, "azaion_db_pool_connections", state="checked_out") == 0


def test_active_event_streams(make_live) -> None:  # noqa: F811 - the imported fixture
    import time

    live = make_live(metrics=True)

    def streams() -> float:
        return sample(live.api.client.get("/metrics").text, "azaion_event_streams_active")

    def until(count: int) -> None:
        deadline = time.monotonic() + 20 * PING
        while streams() != count:
            assert time.monotonic() < deadline, f"{streams()} streams counted, not {count}"
            time.sleep(PING / 4)

    assert streams() == 0
    with live.stream(live.api.admin), live.stream(live.api.admin):
        until(2)  # counted once each stream runs (right after its headers went out)
    until(0)


def test_json_logs(capsys) -> None:
    from azaion_server.logs import configure_logging
    from azaion_server.settings import ServerSettings

    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        configure_logging(ServerSettings(log_format="json", log_level="INFO"))
        logging.getLogger("azaion_server.test").info("hello %s", "fleet", extra={"resource_id": 7})
        line = capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
    record = json.loads(line)
    assert record["message"] == "hello fleet"
    assert record["level"] == "INFO" and record["logger"] == "azaion_server.test"
    assert record["resource_id"] == 7 and "time" in record
