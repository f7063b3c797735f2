"""Token checks: signature, key id, expiry, audience, issuer, required claims, algorithm, rotation."""

from __future__ import annotations

import datetime as dt
import importlib

import jwt as pyjwt
import pytest
from azaion_server.db import make_sessionmaker
from azaion_server.jwt.exceptions import InvalidToken
from azaion_server.jwt.keys import ROTATION_GRACE
from azaion_server.jwt.models import REQUIRED_CLAIMS, TokenService
from azaion_server.jwt.settings import JwtSettings
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SECRET = "k" * 40


def _service(engine, **changes) -> TokenService:
    ttl = changes.pop("client_ttl_seconds", None)
    sessions = make_sessionmaker(engine)
    tokens = TokenService(JwtSettings(jwt_secret=SECRET, jwt_ttl_seconds=600), ttl, sessions=sessions)
    with sessions() as session:
        tokens.keys.ensure(session)
    return tokens


@pytest.fixture
def tokens(clean_db) -> TokenService:
    return _service(clean_db)


def _sign(tokens: TokenService, claims: dict, *, key=None, kid=None, algorithm: str = "EdDSA") -> str:
    """A token signed as the server would (its current key) unless told otherwise."""
    current_kid, current = tokens.keys.signer()
    headers = {} if kid is False else {"kid": kid or current_kid}
    return pyjwt.encode(claims, key or current, algorithm=algorithm, headers=headers)


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
    header = pyjwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"] == tokens.keys.signer()[0]


def test_a_token_signed_by_an_unknown_key_is_refused(tokens: TokenService) -> None:
    stranger = Ed25519PrivateKey.generate()
    for kid in (None, "unknown-kid", False):  # the real kid, another one, none at all
        with pytest.raises(InvalidToken):
            tokens.decode(_sign(tokens, _claims(), key=stranger, kid=kid))
    with pytest.raises(InvalidToken):  # the real key without a kid
        tokens.decode(_sign(tokens, _claims(), kid=False))
    assert tokens.decode(_sign(tokens, _claims())).nameid == "7"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_hs256_with_the_old_secret_is_refused(tokens: TokenService) -> None:
    # The secret now only seals the signing keys: a token HMAC'd with it is a forgery.
    kid = tokens.keys.signer()[0]
    for secret in (SECRET, kid):
        token = pyjwt.encode(_claims(), secret, algorithm="HS256", headers={"kid": kid})
        with pytest.raises(InvalidToken):
            tokens.decode(token)


def test_rotation_keeps_old_tokens_valid_until_they_expire(tokens: TokenService, clean_db) -> None:
    old_kid = tokens.keys.signer()[0]
    old_token = tokens.issue(user_id=7, email="a@b.c", role="Operator")
    with make_sessionmaker(clean_db)() as session:
        new = tokens.keys.rotate(session)
    assert new.kid != old_kid and tokens.keys.signer()[0] == new.kid
    assert tokens.decode(old_token).nameid == "7"  # signed before the rotation, not expired
    fresh = tokens.issue(user_id=7, email="a@b.c", role="Operator")
    assert pyjwt.get_unverified_header(fresh)["kid"] == new.kid
    assert tokens.decode(fresh).nameid == "7"
    # Another instance (its own key ring on the same database) sees both at once.
    other = _service(clean_db)
    assert other.decode(old_token).nameid == "7" and other.decode(fresh).nameid == "7"
    published = {k.kid for k in other.keys.published()}
    assert published == {old_kid, new.kid}


def test_a_retired_key_mints_nothing_new(tokens: TokenService, clean_db) -> None:
    # Someone who stole the old private key signs a token dated after the rotation.
    old_kid, old_private = tokens.keys.signer()
    with make_sessionmaker(clean_db)() as session:
        tokens.keys.rotate(session)
    later = int((dt.datetime.now(dt.timezone.utc) + ROTATION_GRACE).timestamp()) + 5
    claims = _claims(iat=later, exp=later + 300)
    with pytest.raises(InvalidToken):
        tokens.decode(_sign(tokens, claims, key=old_private, kid=old_kid))


def test_a_retired_key_leaves_once_its_tokens_expired(tokens: TokenService, clean_db) -> None:
    from azaion_server.jwt.entities import SigningKey
    from sqlalchemy import update

    old_kid, old_private = tokens.keys.signer()
    with make_sessionmaker(clean_db)() as session:
        tokens.keys.rotate(session)
        past = dt.datetime.now(dt.timezone.utc) - tokens.keys.retention - dt.timedelta(seconds=1)
        session.execute(update(SigningKey).where(SigningKey.kid == old_kid).values(retired_at=past))
        session.commit()
    tokens.keys.forget()
    assert old_kid not in {k.kid for k in tokens.keys.published()}
    issued = int(past.timestamp()) - 10
    with pytest.raises(InvalidToken):
        tokens.decode(_sign(tokens, _claims(iat=issued, exp=issued + 600), key=old_private, kid=old_kid))


@pytest.mark.parametrize(
    ("secret", "claims", "algorithm"),
    [
        ("another", _claims(), "EdDSA"),  # another key, under the real kid
        (SECRET, _claims(exp=1000, iat=500), "EdDSA"),  # expired
        (SECRET, _claims(aud="someone-else"), "EdDSA"),
        (SECRET, _claims(iss="someone-else"), "EdDSA"),
        (SECRET, _claims(jti=None), "EdDSA"),
        (SECRET, _claims(role=None), "EdDSA"),
        (SECRET, _claims(nameid=None), "EdDSA"),
        (SECRET, _claims(nameid="not-a-number"), "EdDSA"),
        (SECRET, _claims(nameid="99999999999999999999"), "EdDSA"),
        (SECRET, _claims(nameid="0"), "EdDSA"),
        (SECRET, _claims(nameid="client:x"), "EdDSA"),
        (SECRET, _claims(nameid="client:0"), "EdDSA"),
        (SECRET, _claims(nameid="client:"), "EdDSA"),
        (SECRET, _claims(nameid="user:7"), "EdDSA"),
        ("hmac", _claims(), "HS512"),  # an algorithm the server does not accept
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
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_rejected(tokens: TokenService, secret: str, claims: dict, algorithm: str) -> None:
    key = {"another": Ed25519PrivateKey.generate(), "hmac": SECRET}.get(secret)
    token = _sign(tokens, claims, key=key, algorithm=algorithm)
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
        tokens.decode(_sign(tokens, claims))


def test_the_configured_lifetime_itself_is_accepted(tokens: TokenService) -> None:
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    assert tokens.decode(_sign(tokens, _claims(iat=now, exp=now + 600))).exp == now + 600


def test_machine_client_tokens_have_their_own_cap(clean_db) -> None:
    tokens = _service(clean_db, client_ttl_seconds=7200)
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    client = _claims(nameid="client:3", iat=now, exp=now + 7200)
    assert tokens.decode(_sign(tokens, client)).kind == "client"
    with pytest.raises(InvalidToken):  # a user's token is held to the users' lifetime
        tokens.decode(_sign(tokens, _claims(iat=now, exp=now + 7200)))
    with pytest.raises(InvalidToken):
        tokens.decode(_sign(tokens, {**client, "exp": now + 7201}))


@pytest.mark.parametrize(("lease_hours", "ttl"), [(720, 600), (1, 7200)])
def test_retired_keys_stay_published_as_long_as_a_lease_or_a_token_lives(clean_db, lease_hours, ttl) -> None:
    # "Old keys stay published until what they signed has expired": leases last longer than tokens.
    settings = JwtSettings(jwt_secret=SECRET, jwt_ttl_seconds=ttl, lease_max_hours=lease_hours)
    tokens = TokenService(settings, 300, sessions=make_sessionmaker(clean_db))
    longest = max(ttl, 300, lease_hours * 3600)
    assert tokens.keys.retention == dt.timedelta(seconds=longest) + ROTATION_GRACE


def test_a_key_retired_a_lease_ago_is_still_published(clean_db) -> None:
    from azaion_server.jwt.entities import SigningKey
    from sqlalchemy import update

    settings = JwtSettings(jwt_secret=SECRET, jwt_ttl_seconds=600, lease_max_hours=48)
    sessions = make_sessionmaker(clean_db)
    tokens = TokenService(settings, None, sessions=sessions)
    with sessions() as session:
        tokens.keys.ensure(session)
        old_kid, _private = tokens.keys.signer()
        tokens.keys.rotate(session)
        # Retired 47 hours ago: a lease it signed just before may still be valid for an hour.
        retired = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=47)
        session.execute(update(SigningKey).where(SigningKey.kid == old_kid).values(retired_at=retired))
        session.commit()
    tokens.keys.forget()
    assert old_kid in {k["kid"] for k in tokens.keys.jwks()["keys"]}
    with sessions() as session:
        session.execute(
            update(SigningKey)
            .where(SigningKey.kid == old_kid)
            .values(retired_at=retired - dt.timedelta(hours=1, minutes=2))
        )
        session.commit()
    tokens.keys.forget()
    assert old_kid not in {k["kid"] for k in tokens.keys.jwks()["keys"]}
