"""The `name` filter: RE2 expressions, matched in linear time after the visibility filter."""

from __future__ import annotations

import time

import httpx
import pytest
from azaion_server.errors import BadRequest
from azaion_server.resources.patterns import check_pattern

from tests.server.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, assert_error
from tests.server.live import HealthProbe, serve

VALID = [
    "^yolo",
    r"\.onnx$",
    "yolo-v[0-9]+",
    "(foo|bar)-model",
    "(?:v1)?model",
    "a{3,1000}",
    "^$",
    "(?P<x>yolo)",  # a named group: RE2 has them
    # What a backtracking engine takes exponential (or high polynomial) time on: RE2 does not.
    "(a+)+$",
    "(a|aa)+$",
    "(a*)*b",
    "a+a+a+a+a+a+$",
    "(x|y|zz)*",
]
INVALID = [
    "(",
    "[",
    "(" * 100,
    "a{2,1}",
    "*",
    r"(a)\1",  # a back-reference
    "(?=yolo)y",  # a lookahead
    "(?>(a+)+)",  # an atomic group
    "(a)?(?(1)b|c)",  # a conditional on a group
    "a{1001}",
    "a{2000,}",
]

# Names that almost match the families below, and the families: each backtracks exponentially
# (or nearly) in Python's `re`, which held the GIL and so the whole server.
NAMES = ["a" * 30, "a" * 60 + "-x", "ab" * 30 + "-x", "word " * 40 + "!"]
FAMILIES = {
    "^" + "a?" * 30 + "a" * 30 + "$": {"a" * 30},  # optional quantifiers: 2**30 ways to try
    "(a?){30}a{30}": {"a" * 30, "a" * 60 + "-x"},
    "^(a+)+$": {"a" * 30},  # nested
    "^(a|aa)+$": {"a" * 30},  # alternation under repetition
    "((a|b|ab)*)*c": set(),
    "([a-z]+)*[0-9]": set(),  # character classes under repetition
    "([ab]*)*c$": set(),
    r"^(\w+\s?)+$": {"a" * 30},
    "(.*a){25}-x": {"a" * 60 + "-x"},
}


@pytest.mark.parametrize("pattern", VALID)
def test_valid_patterns_pass(pattern: str) -> None:
    assert check_pattern(pattern).pattern == pattern


@pytest.mark.parametrize("pattern", INVALID)
def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(BadRequest, match="not a valid regular expression"):
        check_pattern(pattern)


def test_a_long_pattern_is_refused() -> None:
    with pytest.raises(BadRequest, match="longer than 128"):
        check_pattern("a" * 129)


def test_a_match_is_a_search() -> None:
    assert check_pattern("olo").matches("yolo.bin")
    assert not check_pattern("^olo").matches("yolo.bin")


def test_backtracking_families_answer_fast_while_health_answers(make_settings, clean_db) -> None:
    from azaion_server.app import create_app

    with serve(create_app(make_settings())) as (url, _server), httpx.Client(base_url=url, timeout=30) as http:
        login = http.post("/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        admin = {"Authorization": f"Bearer {login.json()['token']}"}
        for name in NAMES:
            assert (
                http.post("/resources/models", files={"data": (name, b"x")}, headers=admin).status_code == 201
            )
        with HealthProbe(url) as probe:
            time.sleep(0.2)
            for pattern, expected in FAMILIES.items():
                started = time.perf_counter()
                response = http.get("/resources", params={"name": pattern}, headers=admin)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, (pattern, response.text)
                assert {r["name"] for r in response.json()["results"]} == expected, pattern
                assert elapsed < 5, (pattern, elapsed)
            time.sleep(0.2)
    assert not probe.failures
    assert len(probe.latencies) >= 5
    print(f"\n/health: {len(probe.latencies)} answers, slowest {probe.slowest:.3f} s")
    assert probe.slowest < 1.5, probe.slowest


def test_the_filter_comes_after_visibility_and_before_the_count(api) -> None:
    operator = api.user("Operator")
    api.set_license(operator, ["models"])
    for i in range(6):
        api.upload("models", f"yolo-{i}.bin", b"x")
    api.upload("models", "yolo-draft.bin", b"x", draft=True)
    api.upload("maps", "yolo-map.bin", b"x")
    for i in range(5):
        api.upload("models", f"other-{i}.bin", b"x")
    seen = api.client.get("/resources", params={"name": "^yolo"}, headers=operator.headers).json()
    assert {r["name"] for r in seen["results"]} == {f"yolo-{i}.bin" for i in range(6)}
    newest = api.client.get("/resources", params={"name": "^yolo", "count": 2}, headers=operator.headers)
    assert [r["name"] for r in newest.json()["results"]] == ["yolo-5.bin", "yolo-4.bin"]
    everything = api.client.get("/resources", params={"name": "yolo"}, headers=api.admin).json()
    assert everything["count"] == 8


def test_a_slow_listing_is_cut_off(api, monkeypatch: pytest.MonkeyPatch) -> None:
    import azaion_server.resources.patterns as patterns

    for i in range(20):
        api.upload("models", f"m{i}", b"x")
    monkeypatch.setattr(patterns, "QUERY_SECONDS", 0.2)
    slow_match = patterns.NamePattern.matches

    def slow(self: patterns.NamePattern, name: str) -> bool:
        time.sleep(0.05)  # what a slow database or a huge listing looks like from here
        return slow_match(self, name)

    monkeypatch.setattr(patterns.NamePattern, "matches", slow)
    started = time.perf_counter()
    response = api.client.get("/resources", params={"name": "m"}, headers=api.admin)
    assert assert_error(response, 400, "BAD_REQUEST")["message"] == "name: listing too costly"
    assert time.perf_counter() - started < 2
    assert api.client.get("/resources", headers=api.admin).status_code == 200  # the session recovered


def test_the_deadline_stops_any_statement(clean_db) -> None:
    from azaion_server.db import make_sessionmaker
    from azaion_server.resources.patterns import deadline
    from sqlalchemy import text

    slow = (
        "SELECT pg_sleep(2)"
        if clean_db.dialect.name == "postgresql"
        else "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
        "SELECT count(*) FROM n"
    )
    with make_sessionmaker(clean_db)() as session:
        started = time.perf_counter()
        with pytest.raises(BadRequest, match="too costly"), deadline(session, 0.2):
            session.execute(text(slow))
        assert time.perf_counter() - started < 1.5
        with deadline(session, 5):
            assert session.execute(text("SELECT 1")).scalar() == 1


def test_other_database_errors_pass_through(clean_db) -> None:
    from azaion_server.db import make_sessionmaker
    from azaion_server.resources.patterns import deadline
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with make_sessionmaker(clean_db)() as session, pytest.raises(DBAPIError), deadline(session, 5):
        session.execute(text("SELECT * FROM no_such_table"))
