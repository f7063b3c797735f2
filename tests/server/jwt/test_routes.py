"""Every authenticated call checks the token in one place; `POST /logout` revokes it."""

from __future__ import annotations

import jwt as pyjwt
from azaion_server.jwt.entities import RevokedToken
from sqlalchemy import select

from tests.server.helpers import bearer


def test_logout_revokes_the_token(api, clean_db) -> None:
    person = api.user("Operator")
    assert api.client.get("/license/info", headers=person.headers).status_code == 200
    response = api.client.post("/logout", headers=person.headers)
    assert response.status_code == 200 and response.json() == {"success": True}
    answer = api.client.get("/license/info", headers=person.headers)
    assert answer.status_code == 401 and answer.json()["code"] == "UNAUTHORIZED"
    assert api.client.post("/logout", headers=person.headers).status_code == 401
    # Kept in the database (every instance sees it), then a fresh login works again.
    jti = pyjwt.decode(person.token, options={"verify_signature": False})["jti"]
    with clean_db.connect() as connection:
        assert connection.scalar(select(RevokedToken.jti).where(RevokedToken.jti == jti)) == jti
    fresh = api.login(person.email, person.password)
    assert api.client.get("/license/info", headers=bearer(fresh)).status_code == 200


def test_revocation_is_seen_by_another_instance(api, make_client) -> None:
    person = api.user("Operator")
    other = make_client()
    assert other.get("/license/info", headers=person.headers).status_code == 200
    api.client.post("/logout", headers=person.headers)
    assert other.get("/license/info", headers=person.headers).status_code == 401


def test_missing_or_malformed_authorization(client) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "garbage"},
    ):
        response = client.get("/license/info", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["code"] == "UNAUTHORIZED"


def test_token_signed_by_another_server_is_refused(api, tmp_path, make_settings) -> None:
    # Another server: its own database, so its own signing keys.
    from azaion_server.app import create_app
    from fastapi.testclient import TestClient

    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'other.db'}")
    with TestClient(create_app(settings)) as other:
        foreign = other.post("/login", json={"email": "admin@example.com", "password": "admin-password"})
        assert foreign.status_code == 200
        assert other.get("/license/info", headers=api.admin).status_code == 401
    assert api.client.get("/license/info", headers=bearer(foreign.json()["token"])).status_code == 401


def test_a_server_whose_secret_changed_refuses_to_start(api, make_client) -> None:
    # The signing keys do not open under another AZAION_JWT_SECRET: it says so instead of
    # signing with nothing (or silently making keys the other instances do not expect).
    import pytest

    with pytest.raises(RuntimeError, match="AZAION_JWT_SECRET"):
        make_client(jwt_secret="another-secret-" + "y" * 40)


def test_token_with_unknown_role_is_forbidden_everywhere(api) -> None:
    person = api.user("Operator")
    response = api.client.get("/users", headers=person.headers)
    assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"


def test_a_thirty_year_token_signed_with_the_real_key_is_refused(api) -> None:
    tokens = api.client.app.state.context.tokens
    kid, private = tokens.keys.signer()
    real = pyjwt.decode(api.admin["Authorization"].split()[1], options={"verify_signature": False})
    forged = pyjwt.encode(
        {**real, "exp": real["iat"] + 30 * 365 * 24 * 3600}, private, algorithm="EdDSA", headers={"kid": kid}
    )
    response = api.client.get("/license/info", headers=bearer(forged))
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHORIZED"
    assert api.client.get("/license/info", headers=api.admin).status_code in (200, 404)
