"""Tokens and logins an attacker would try: every forged or stale token is a plain 401."""

from __future__ import annotations

import base64
import json
import statistics
import time

import jwt
import pytest
import requests

FOLDER = "models"


def call(live, token: str) -> requests.Response:
    return live.http.get(f"{live.url}/license/info", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def claims_for(account, **changes):
    now = int(time.time())
    claims = {
        "nameid": str(account.id),
        "unique_name": account.email,
        "role": "ApiAdmin",
        "iat": now,
        "exp": now + 600,
        "iss": "azaion",
        "aud": "azaion",
        "jti": "a" * 32,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_genuine_token_works(live, make_account):
    account = make_account("Operator")
    assert call(live, live.login(account.email, account.password)).status_code == 200


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda secret, c: f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(c)}.", id="alg-none"),
        pytest.param(
            lambda secret, c: jwt.encode(c, "not-the-server-key-" * 3, algorithm="HS256"), id="wrong-key"
        ),
        pytest.param(lambda secret, c: jwt.encode(c, secret, algorithm="HS512"), id="other-alg-same-key"),
        pytest.param(
            lambda secret, c: jwt.encode({**c, "exp": int(time.time()) - 5}, secret, algorithm="HS256"),
            id="expired",
        ),
        pytest.param(
            lambda secret, c: jwt.encode({**c, "aud": "someone-else"}, secret, algorithm="HS256"),
            id="wrong-aud",
        ),
        pytest.param(
            lambda secret, c: jwt.encode({**c, "iss": "evil"}, secret, algorithm="HS256"), id="wrong-iss"
        ),
        pytest.param(
            lambda secret, c: jwt.encode(
                {k: v for k, v in c.items() if k != "exp"}, secret, algorithm="HS256"
            ),
            id="no-exp",
        ),
        pytest.param(
            lambda secret, c: jwt.encode(
                {k: v for k, v in c.items() if k != "iat"}, secret, algorithm="HS256"
            ),
            id="no-iat",
        ),
        pytest.param(lambda secret, c: "garbage", id="garbage"),
        pytest.param(lambda secret, c: "", id="empty"),
    ],
)
def test_forged_tokens_are_401(live, make_account, forge):
    account = make_account("Operator")
    secret = live.env["AZAION_JWT_SECRET"]
    answer = call(live, forge(secret, claims_for(account)))
    assert answer.status_code == 401
    assert answer.json()["code"] == "UNAUTHORIZED"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_tokens_forged_against_the_published_keys_are_401(live, make_account):
    # The attacker reads the JWKS: a key of its own under the server's kid, and the classic
    # algorithm confusion (HMAC keyed with the public key) both fail.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    account = make_account("Operator")
    jwks = live.http.get(f"{live.url}/.well-known/jwks.json", timeout=10).json()
    kid, x = jwks["keys"][0]["kid"], jwks["keys"][0]["x"]
    claims = claims_for(account)
    forgeries = [
        jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid}),
        jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA"),
        jwt.encode(claims, x, algorithm="HS256", headers={"kid": kid}),
        jwt.encode(claims, base64.urlsafe_b64decode(x + "="), algorithm="HS256", headers={"kid": kid}),
        jwt.encode(claims, live.env["AZAION_JWT_SECRET"], algorithm="HS256", headers={"kid": kid}),
    ]
    for token in forgeries:
        answer = call(live, token)
        assert answer.status_code == 401 and answer.json()["code"] == "UNAUTHORIZED"
    assert call(live, live.login(account.email, account.password)).status_code == 200


def test_tampered_payload_is_401(live, make_account):
    account = make_account("Operator")
    header, payload, signature = live.login(account.email, account.password).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "ApiAdmin"
    assert call(live, f"{header}.{b64(claims)}.{signature}").status_code == 401


def test_token_of_a_deleted_user_is_401(live, make_account):
    account = make_account("Operator")
    token = live.login(account.email, account.password)
    live.admin("DELETE", f"/users/{account.id}")
    assert call(live, token).status_code == 401


def test_revoked_token_is_401(live, make_account):
    account = make_account("Operator")
    token = live.login(account.email, account.password)
    assert live.http.post(f"{live.url}/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10).ok
    assert call(live, token).status_code == 401


def test_missing_and_malformed_authorization_headers(live):
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
        {"Authorization": "bearer x.y.z"},
    ):
        answer = live.http.get(f"{live.url}/license/info", headers=headers, timeout=10)
        assert answer.status_code == 401, headers


def login(live, email: str, password: str) -> requests.Response:
    return live.http.post(f"{live.url}/login", json={"email": email, "password": password}, timeout=30)


def test_unknown_email_and_wrong_password_are_indistinguishable(live, make_account):
    account = make_account("Operator")
    wrong, unknown = (
        login(live, account.email, "wrong-password"),
        login(live, "ghost@e2e.local", "wrong-password"),
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    times = {"wrong": [], "unknown": []}
    for _ in range(7):
        for kind, email in (("wrong", account.email), ("unknown", "ghost2@e2e.local")):
            started = time.perf_counter()
            login(live, email, "wrong-password")
            times[kind].append(time.perf_counter() - started)
    wrong_ms, unknown_ms = (
        statistics.median(times["wrong"]) * 1000,
        statistics.median(times["unknown"]) * 1000,
    )
    assert abs(wrong_ms - unknown_ms) < max(10.0, 0.5 * max(wrong_ms, unknown_ms)), (wrong_ms, unknown_ms)


def test_a_megabyte_password_is_refused_fast(live, make_account):
    account = make_account("Operator")
    started = time.perf_counter()
    answer = login(live, account.email, "x" * (1 << 20))
    assert 400 <= answer.status_code < 500
    assert time.perf_counter() - started < 2.0


def test_throttling_per_account_answers_429_with_retry_after(live, make_account):
    account = make_account("Operator")
    limit = int(live.env.get("AZAION_LOGIN_MAX_ATTEMPTS", "5"))
    statuses = [login(live, account.email, f"wrong-{i}").status_code for i in range(limit + 1)]
    assert statuses[:limit] == [401] * limit
    throttled = login(live, account.email, account.password)  # even the right password, for a while
    assert throttled.status_code == 429 and throttled.json()["code"] == "TOO_MANY_ATTEMPTS"
    assert int(throttled.headers["Retry-After"]) > 0
