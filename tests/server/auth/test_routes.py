"""`POST /login`: tokens, one answer for every bad credential, throttling."""

from __future__ import annotations

import time

import jwt as pyjwt
import pytest

from tests.server.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, assert_error


def test_login_returns_a_token_with_the_claims(client) -> None:
    response = client.post("/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    claims = pyjwt.decode(response.json()["token"], options={"verify_signature": False})
    assert claims["unique_name"] == ADMIN_EMAIL
    assert claims["role"] == "ApiAdmin"
    assert claims["nameid"].isdigit()
    assert {"exp", "iat", "iss", "aud", "jti"} <= set(claims)


def test_email_is_normalised(client) -> None:
    response = client.post("/login", json={"email": "  ADMIN@example.COM ", "password": ADMIN_PASSWORD})
    assert response.status_code == 200


def test_wrong_password_and_unknown_email_answer_alike(client, no_secrets_logged) -> None:
    wrong = client.post("/login", json={"email": ADMIN_EMAIL, "password": "wrong-password"})
    unknown = client.post("/login", json={"email": "nobody@example.com", "password": "wrong-password"})
    assert_error(wrong, 401, "INVALID_CREDENTIALS")
    assert wrong.json() == unknown.json()
    assert wrong.status_code == unknown.status_code
    no_secrets_logged("wrong-password", ADMIN_PASSWORD)


def test_unknown_email_costs_a_hash(client, monkeypatch: pytest.MonkeyPatch) -> None:
    passwords = client.app.state.context.passwords
    calls: list[str] = []
    real = passwords.verify
    monkeypatch.setattr(passwords, "verify", lambda h, p: calls.append(h) or real(h, p))
    client.post("/login", json={"email": "nobody@example.com", "password": "whatever"})
    assert calls == [passwords._dummy_hash]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": ADMIN_EMAIL},
        {"password": "x"},
        {"email": "", "password": "x"},
        {"email": ADMIN_EMAIL, "password": ""},
        {"email": 5, "password": []},
        {"email": ADMIN_EMAIL, "password": "x" * 70000},
    ],
)
def test_malformed_body_is_400_not_422(client, body: dict) -> None:
    assert_error(client.post("/login", json=body), 400, "BAD_REQUEST")


def test_not_json_is_400(client) -> None:
    response = client.post("/login", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(response, 400, "BAD_REQUEST")


def test_long_password_is_refused_before_hashing(client, monkeypatch: pytest.MonkeyPatch) -> None:
    passwords = client.app.state.context.passwords
    monkeypatch.setattr(passwords, "verify", lambda *a: pytest.fail("hashed a huge password"))
    monkeypatch.setattr(passwords, "verify_dummy", lambda *a: pytest.fail("hashed a huge password"))
    started = time.monotonic()
    response = client.post("/login", json={"email": ADMIN_EMAIL, "password": "p" * 5000})
    assert_error(response, 401, "INVALID_CREDENTIALS")
    assert time.monotonic() - started < 1


def test_throttled_after_repeated_failures_for_one_email(make_client) -> None:
    client = make_client(login_max_attempts=3, login_window_seconds=120)
    for _ in range(3):
        assert_error(
            client.post("/login", json={"email": ADMIN_EMAIL, "password": "bad"}), 401, "INVALID_CREDENTIALS"
        )
    for password in ("bad", ADMIN_PASSWORD):  # even the right password waits
        response = client.post("/login", json={"email": ADMIN_EMAIL, "password": password})
        assert_error(response, 429, "TOO_MANY_ATTEMPTS")
        assert 1 <= int(response.headers["Retry-After"]) <= 120
    # Another email from the same address is not affected by this email's count.
    assert_error(
        client.post("/login", json={"email": "x@example.com", "password": "bad"}), 401, "INVALID_CREDENTIALS"
    )


def test_throttled_per_client_address(make_client) -> None:
    client = make_client(login_max_attempts=100, login_max_attempts_per_address=4)
    for i in range(4):
        client.post("/login", json={"email": f"user{i}@example.com", "password": "bad"})
    response = client.post("/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert_error(response, 429, "TOO_MANY_ATTEMPTS")


def test_throttle_is_shared_by_instances(make_client) -> None:
    first = make_client(login_max_attempts=2)
    second = make_client(login_max_attempts=2)
    first.post("/login", json={"email": ADMIN_EMAIL, "password": "bad"})
    second.post("/login", json={"email": ADMIN_EMAIL, "password": "bad"})
    assert_error(
        first.post("/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        429,
        "TOO_MANY_ATTEMPTS",
    )


def test_window_passes(make_client) -> None:
    client = make_client(login_max_attempts=1, login_window_seconds=1)
    client.post("/login", json={"email": ADMIN_EMAIL, "password": "bad"})
    assert client.post("/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).status_code == 429
    time.sleep(1.1)
    assert client.post("/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).status_code == 200


def test_success_clears_the_email_count(make_client) -> None:
    client = make_client(login_max_attempts=2)
    client.post("/login", json={"email": ADMIN_EMAIL, "password": "bad"})
    assert client.post("/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).status_code == 200
    client.post("/login", json={"email": ADMIN_EMAIL, "password": "bad"})
    assert client.post("/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).status_code == 200


def test_old_hashes_are_upgraded_on_login(make_client, clean_db) -> None:
    from azaion_server.users.entities import User
    from sqlalchemy import select

    make_client()  # bootstraps the admin with t=1
    client = make_client(argon2_time_cost=2)
    assert client.post("/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).status_code == 200
    with clean_db.connect() as connection:
        stored = connection.scalar(select(User.password_hash).where(User.email == ADMIN_EMAIL))
    assert ",t=2," in stored


def test_the_longest_email_is_throttled_like_any_other(client) -> None:
    # Found by schemathesis on PostgreSQL: a 320-character email overflowed the throttle's key.
    email = "0" * 320
    answer = client.post("/login", json={"email": email, "password": "wrong password"})
    assert_error(answer, 401, "INVALID_CREDENTIALS")


def test_throttle_keys_hold_no_email(client, db_engine) -> None:
    from sqlalchemy import text

    client.post("/login", json={"email": "someone.secret@example.com", "password": "wrong password"})
    with db_engine.connect() as connection:
        keys = [row[0] for row in connection.execute(text("SELECT key FROM login_failures"))]
    assert keys and not any("someone.secret" in key for key in keys)
