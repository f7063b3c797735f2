"""The `name` filter: valid, cheap regular expressions only; the costly ones answer 400 at once."""

from __future__ import annotations

import time

import pytest
from azaion_server.errors import BadRequest
from azaion_server.resources.patterns import check_pattern

from tests.server.helpers import assert_error

CHEAP = [
    "^yolo",
    r"\.onnx$",
    "yolo-v[0-9]+",
    "(foo|bar)-model",  # an alternation, not repeated
    "(ab)+",  # a repeated group without a repetition or alternation inside
    "(?:v1)?model",
    "[ab]+c",
    "a{3,1000}",
    "(?=yolo)y",
    "^$",
    "v[0-9]+\\.[0-9]+\\.[0-9]+",  # three repetitions: the most allowed
]
COSTLY = [
    "(a+)+$",
    "(a|aa)+$",
    "(a*)*b",
    "([a-z]+)*\\d",
    r"(\w+\s?)+$",
    "((a|aa))+$",  # the alternation two groups down
    "(?:(?:a+))+",
    "(?=(a+)+)b",  # inside a lookahead
    "(?>(a+)+)",  # an atomic group
    "(x|y|zz)*",
    r"(a)\1",  # a back-reference
    "(a)?(?(1)b|c)",  # a conditional on a group
    "a{1001}",
    "a{2000,}",
    "a+a+a+a+$",  # four repetitions
    "x*(ab)+c{2,}d+",
    "a" * 129,
]
INVALID = ["(", "[", "(" * 100, "a{2,1}", "*"]


@pytest.mark.parametrize("pattern", CHEAP)
def test_cheap_patterns_pass(pattern: str) -> None:
    assert check_pattern(pattern) == pattern


@pytest.mark.parametrize("pattern", COSTLY)
def test_costly_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(BadRequest, match="too long or too costly"):
        check_pattern(pattern)


@pytest.mark.parametrize("pattern", INVALID)
def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(BadRequest, match="not a valid regular expression"):
        check_pattern(pattern)


def test_a_name_that_almost_matches_answers_fast(api) -> None:
    api.upload("models", "a" * 60 + "!", b"x")
    for pattern in ["(a|aa)+$", "(a+)+$", "((a|aa))+$", "a+a+a+a+a+a+$", "a+a+$"]:
        started = time.perf_counter()
        response = api.client.get("/resources", params={"name": pattern}, headers=api.admin)
        assert time.perf_counter() - started < 2
        assert response.status_code in (200, 400), response.text
        if response.status_code == 400:
            assert_error(response, 400, "BAD_REQUEST")


def test_a_slow_listing_is_cut_off(api, db_engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import azaion_server.resources.patterns as patterns

    monkeypatch.setattr(patterns, "QUERY_SECONDS", 0.1)
    for i in range(8):
        api.upload("models", "a" * 120 + f"!{i}", b"x")
    started = time.perf_counter()
    response = api.client.get("/resources", params={"name": "a+a+a+$"}, headers=api.admin)
    if db_engine.dialect.name == "sqlite":  # Python's backtracking engine: about 0.1 s a name
        assert assert_error(response, 400, "BAD_REQUEST")["message"] == "name: pattern too costly"
        assert time.perf_counter() - started < 1.5
    else:
        assert response.status_code == 200
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
