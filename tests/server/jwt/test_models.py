"""Token checks: signature, expiry, audience, issuer, required claims, algorithm."""

from __future__ import annotations

import datetime as dt
import importlib

import jwt as pyjwt
import pytest
from azaion_server.jwt.exceptions import InvalidToken
from azaion_server.jwt.models import REQUIRED_CLAIMS, TokenService
from azaion_server.jwt.settings import JwtSettings

SECRET = "k" * 40


@pytest.fixture
def tokens() -> TokenService:
    return TokenService(JwtSettings(jwt_secret=SECRET, jwt_ttl_seconds=600))


def _claims(**changes: object) -> dict:
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    claims = {
        "nameid": "7",
        "unique_name": "a@b.c",
        "role": "Operator",
        "iat": now,
        "exp": now + 600,
        "iss": "azaion",
        "aud": "azaion",
        "jti": "abc",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def test_this_is_pyjwt_not_the_test_package() -> None:
    # tests/server/jwt must not shadow PyJWT (it is the package tests.server.jwt).
    assert hasattr(pyjwt, "encode") and "site-packages" in pyjwt.__file__
    assert importlib.import_module("tests.server.jwt").__name__ == "tests.server.jwt"


def test_round_trip(tokens: TokenService) -> None:
    token = tokens.issue(user_id=7, email="a@b.c", role="Operator")
    claims = tokens.decode(token)
    assert (claims.nameid, claims.unique_name, claims.role, claims.user_id) == ("7", "a@b.c", "Operator", 7)
    assert claims.exp - claims.iat == 600
    assert set(REQUIRED_CLAIMS) <= set(pyjwt.decode(token, options={"verify_signature": False}))
    assert tokens.decode(tokens.issue(user_id=7, email="a@b.c", role="Operator")).jti != claims.jti
    assert SECRET not in repr(tokens)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    ("secret", "claims", "algorithm"),
    [
        ("w" * 40, _claims(), "HS256"),  # another key
        (SECRET, _claims(exp=1000, iat=500), "HS256"),  # expired
        (SECRET, _claims(aud="someone-else"), "HS256"),
        (SECRET, _claims(iss="someone-else"), "HS256"),
        (SECRET, _claims(jti=None), "HS256"),
        (SECRET, _claims(role=None), "HS256"),
        (SECRET, _claims(nameid=None), "HS256"),
        (SECRET, _claims(nameid="not-a-number"), "HS256"),
        (SECRET, _claims(nameid="99999999999999999999"), "HS256"),
        (SECRET, _claims(nameid="0"), "HS256"),
        (SECRET, _claims(nameid="client:x"), "HS256"),
        (SECRET, _claims(nameid="client:0"), "HS256"),
        (SECRET, _claims(nameid="client:"), "HS256"),
        (SECRET, _claims(nameid="user:7"), "HS256"),
        (SECRET, _claims(), "HS512"),  # an algorithm the server does not accept
    ],
    ids=[
        "signature",
        "expired",
        "audience",
        "issuer",
        "jti",
        "role",
        "nameid",
        "nameid-type",
        "nameid-huge",
        "nameid-zero",
        "nameid-client-type",
        "nameid-client-zero",
        "nameid-client-empty",
        "nameid-prefix",
        "alg",
    ],
)
def test_rejected(tokens: TokenService, secret: str, claims: dict, algorithm: str) -> None:
    token = pyjwt.encode(claims, secret, algorithm=algorithm)
    with pytest.raises(InvalidToken):
        tokens.decode(token)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJuYW1laWQiOiIxIn0."])
def test_malformed(tokens: TokenService, token: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.decode(token)


def test_issue_at_a_given_time(tokens: TokenService) -> None:
    past = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    with pytest.raises(InvalidToken):
        tokens.decode(tokens.issue(user_id=1, email="a@b.c", role="Admin", now=past))


THIRTY_YEARS = 30 * 365 * 24 * 3600


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": "now+30y"},  # an insider with the secret forging a token that never ends
        {"exp": "now+601"},  # one second longer than the configured lifetime
        {"iat": "now+10", "exp": "now+5"},  # issued after it expires
    ],
)
def test_a_lifetime_longer_than_configured_is_refused(tokens: TokenService, changes: dict) -> None:
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    offsets = {"now+30y": THIRTY_YEARS, "now+601": 601, "now+10": 10, "now+5": 5}
    claims = _claims(**{name: now + offsets[value] for name, value in changes.items()})
    with pytest.raises(InvalidToken):
        tokens.decode(pyjwt.encode(claims, SECRET, algorithm="HS256"))


def test_the_configured_lifetime_itself_is_accepted(tokens: TokenService) -> None:
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    assert (
        tokens.decode(pyjwt.encode(_claims(iat=now, exp=now + 600), SECRET, algorithm="HS256")).exp
        == now + 600
    )


def test_machine_client_tokens_have_their_own_cap() -> None:
    tokens = TokenService(JwtSettings(jwt_secret=SECRET, jwt_ttl_seconds=600), client_ttl_seconds=7200)
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    client = _claims(nameid="client:3", iat=now, exp=now + 7200)
    assert tokens.decode(pyjwt.encode(client, SECRET, algorithm="HS256")).kind == "client"
    with pytest.raises(InvalidToken):  # a user's token is held to the users' lifetime
        tokens.decode(pyjwt.encode(_claims(iat=now, exp=now + 7200), SECRET, algorithm="HS256"))
    with pytest.raises(InvalidToken):
        tokens.decode(pyjwt.encode({**client, "exp": now + 7201}, SECRET, algorithm="HS256"))
