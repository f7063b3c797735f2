"""The compiled client and the server's signing keys: pinned at first sight or from
configuration, adopted across a rotation, never from an impostor."""

from __future__ import annotations

import json
import os
import re
import secrets
import time

import pytest

import azaion
from build_tools.live_server import LiveServer


def _kids(live) -> list[str]:
    return [k["kid"] for k in live.http.get(f"{live.url}/.well-known/jwks.json", timeout=10).json()["keys"]]


def _pin(cache) -> dict:
    [path] = (cache / ".state").glob("jwks-*.json")
    return json.loads(path.read_text())


def test_first_sight_pins_and_a_rotation_is_adopted(live, make_account, connect, tmp_path):
    account = make_account("Operator")
    client = connect(account, cache="pinned")
    client.login()
    pinned = _pin(tmp_path / "pinned")
    assert {k["kid"] for k in pinned["keys"]} == set(_kids(live)) and pinned["anchor"] == "first-seen"
    rotated = live.admin("POST", "/signing-keys/rotate").json()["kid"]
    # The next login brings a token of the new key: the client adopts the new set, which the
    # key it trusted signed, and verifies the token.
    client.login()
    assert client.user.email == account.email
    adopted = _pin(tmp_path / "pinned")
    assert rotated in {k["kid"] for k in adopted["keys"]} and adopted["iat"] >= pinned["iat"]
    # A second client on the same cache starts from the pin, not from first sight.
    again = azaion.ApiClient(live.url, cache_dir=str(tmp_path / "pinned"))
    again.set_credentials_from_dict(account.email, account.password)
    again.login()
    again.close()


@pytest.fixture(scope="module")
def impostor(server_env, tmp_path_factory):
    """Another real server at another address: its own database, so its own keys."""
    env = {
        **server_env,
        "AZAION_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('impostor') / 'azaion.db'}",
        "AZAION_JWT_SECRET": secrets.token_urlsafe(48),
    }
    server = LiveServer(env, log_dir=tmp_path_factory.mktemp("impostor-log"))
    yield server
    server.stop()


def test_an_impostor_jwks_is_not_adopted(live, impostor, tmp_path):
    # The client was configured with the genuine server's JWKS and reaches the impostor (the
    # same account exists there: the attacker knows the password, or made the account).
    genuine = live.http.get(f"{live.url}/.well-known/jwks.json", timeout=10).json()
    email, password = "victim@e2e.local", "victim-password"
    impostor.create_user(email, password, "Operator")
    client = azaion.ApiClient(impostor.url, cache_dir=str(tmp_path / "cache"), jwks=genuine)
    with pytest.raises(azaion.UntrustedServerKeys) as refused:
        client.set_credentials_from_dict(email, password)
    assert refused.value.code == "UNTRUSTED_SERVER_KEYS" and "AZAION_JWKS_FILE" in str(refused.value)
    assert client.user is None and client.token is None
    # Nothing of the impostor was pinned: a second try refuses again.
    with pytest.raises(azaion.UntrustedServerKeys):
        client.login()
    client.close()


def test_the_configured_jwks_file_is_trusted_and_survives_rotations(
    live, make_account, tmp_path, monkeypatch
):
    account = make_account("Operator")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(live.http.get(f"{live.url}/.well-known/jwks.json", timeout=10).json()))
    monkeypatch.setenv("AZAION_JWKS_FILE", str(jwks))
    client = azaion.ApiClient(live.url, cache_dir=str(tmp_path / "cache"))
    client.set_credentials_from_dict(account.email, account.password)
    live.admin("POST", "/signing-keys/rotate")
    client.login()
    assert client.user.email == account.email
    assert _pin(tmp_path / "cache")["anchor"] != "first-seen"
    client.close()
    monkeypatch.setenv("AZAION_JWKS_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(azaion.ConfigurationError, match="AZAION_JWKS_FILE"):
        azaion.ApiClient(live.url)


def test_a_replayed_older_set_does_not_replace_a_newer_pin(live, make_account, httpserver, tmp_path):
    # A proxy in the middle forwards everything to the genuine server, but answers the JWKS with
    # a genuine, older document, signed by a key the client still trusts.
    import requests
    from werkzeug import Response

    replay: dict = {}

    def forward(request):
        if request.path == "/.well-known/jwks.jws" and "document" in replay:
            return Response(json.dumps(replay["document"]), content_type="application/json")
        answer = requests.request(
            request.method,
            f"{live.url}{request.full_path.rstrip('?')}",
            data=request.get_data(),
            # The Host the client used: the server checks DPoP proofs' `htu` against it.
            headers=dict(request.headers),
            timeout=30,
        )
        return Response(
            answer.content, status=answer.status_code, content_type=answer.headers.get("content-type")
        )

    httpserver.expect_request(re.compile(".*")).respond_with_handler(forward)
    account = make_account("Operator")
    client = azaion.ApiClient(httpserver.url_for("/").rstrip("/"), cache_dir=str(tmp_path / "replay"))
    client.set_credentials_from_dict(account.email, account.password)
    first = live.http.get(f"{live.url}/.well-known/jwks.jws", timeout=10).json()
    time.sleep(1.1)  # a later `iat` for the next document
    second = live.admin("POST", "/signing-keys/rotate").json()["kid"]
    client.login()
    newer = _pin(tmp_path / "replay")
    assert second in {k["kid"] for k in newer["keys"]}
    replay["document"] = first
    third = live.admin("POST", "/signing-keys/rotate").json()["kid"]
    with pytest.raises(azaion.UntrustedServerKeys):
        client.login()
    assert _pin(tmp_path / "replay") == newer  # the older set did not replace the newer one
    assert third not in {k["kid"] for k in newer["keys"]}
    client.close()


def test_a_damaged_pin_refuses_until_removed(live, make_account, connect, tmp_path):
    account = make_account("Operator")
    client = connect(account, cache="damaged")
    client.login()
    state = next((tmp_path / "damaged" / ".state").glob("jwks-*.json"))
    state.write_text("{not json")
    fresh = azaion.ApiClient(live.url, cache_dir=str(tmp_path / "damaged"))
    with pytest.raises(azaion.UntrustedServerKeys, match="damaged"):
        fresh.set_credentials_from_dict(account.email, account.password)
    os.unlink(state)
    fresh.login()
    assert fresh.user.email == account.email
    fresh.close()
