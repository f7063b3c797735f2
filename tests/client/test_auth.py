"""Login, JWT claims to User, re-login once on 401/403, and the errors a person sees."""

from __future__ import annotations

import time

import jwt
import pytest

import azaion
from azaion import RoleEnum
from tests.client.conftest import EMAIL, PASSWORD
from tests.client.fake_api import SECRET


@pytest.mark.parametrize("role", ["ApiAdmin", "Admin", "ResourceUploader", "Validator", "Operator", "Pilot"])
def test_jwt_claims_become_the_user(api, api_url, role):
    api.add_user("who@example.com", "pw-1", role)
    with azaion.ApiClient(api_url) as c:
        c.set_credentials_from_dict("  Who@Example.COM ", "pw-1")
        assert c.user.email == "who@example.com"
        assert c.user.role == getattr(RoleEnum, role, RoleEnum.NONE)
        assert c.user.id
        assert c.credentials.email == "who@example.com"
        assert c.is_authenticated()


def test_login_is_callable_from_python_and_sets_the_token(api, api_url):
    with azaion.ApiClient(api_url) as c:
        assert c.token is None and not c.is_authenticated()
        c.set_credentials_from_dict(EMAIL, PASSWORD)
        first = c.token
        c.login()
        assert c.token and c.token != first
        assert jwt.decode(c.token, SECRET, algorithms=["HS256"], audience="azaion")["unique_name"] == EMAIL


def test_wrong_password_raises_authentication_error(api, api_url):
    with azaion.ApiClient(api_url) as c, pytest.raises(azaion.AuthenticationError) as info:
        c.set_credentials_from_dict(EMAIL, "wrong password")
    assert info.value.code == "INVALID_CREDENTIALS"
    assert "wrong password" not in str(info.value)
    assert api.calls["login"] == 1


def test_login_before_credentials_raises(api_url):
    with azaion.ApiClient(api_url) as c:
        with pytest.raises(azaion.NotAuthenticated):
            c.login()
        with pytest.raises(azaion.NotAuthenticated):
            c.load_big_small_resource("m.bin", "models")


def test_expired_session_is_renewed_by_one_fresh_login(client, api):
    client.upload_big_small_resource(b"model", "m.bin", "models")
    logins = api.calls["login"]
    # The held token is refused once (it expired, or the server restarted with a new key).
    api.fail_next("get", 401)
    assert client.load_big_small_resource("m.bin", "models") == b"model"
    assert api.calls["login"] == logins + 1


def test_refused_session_is_retried_once_never_in_a_loop(client, api):
    client.upload_big_small_resource(b"model", "m.bin", "models")
    logins, gets = api.calls["login"], api.calls["get"]
    api.reject_tokens = True
    with pytest.raises(azaion.AuthenticationError) as info:
        client.load_big_small_resource("m.bin", "models")
    assert info.value.code == "UNAUTHORIZED"
    assert api.calls["login"] == logins + 1
    assert api.calls["get"] == gets + 2


def test_other_hardware_raises_hardware_mismatch(client, api, monkeypatch, api_url):
    client.upload_big_small_resource(b"model", "m.bin", "models")
    monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", "another machine")
    with azaion.ApiClient(api_url) as other, pytest.raises(azaion.HardwareMismatch) as info:
        other.set_credentials_from_dict(EMAIL, PASSWORD)
    assert info.value.code == "HARDWARE_MISMATCH"
    assert isinstance(info.value, PermissionError)
    assert "administrator" in str(info.value)


@pytest.mark.parametrize(
    ("license", "error", "code"),
    [
        ("expired", azaion.LicenseExpired, "LICENSE_EXPIRED"),
        ("none", azaion.LicenseError, "LICENSE_REQUIRED"),
    ],
)
def test_licence_problems_raise_their_own_errors(api, api_url, license, error, code):
    api.add_user("op@example.com", "pw", "Operator", license=license)
    api.resources[("models", "m.bin")] = b"whatever"
    with azaion.ApiClient(api_url) as c:
        c.set_credentials_from_dict("op@example.com", "pw")
        with pytest.raises(error) as info:
            c.load_big_small_resource("m.bin", "models")
    assert info.value.code == code


def test_forbidden_role_raises_permission_denied(api, api_url):
    api.add_user("op@example.com", "pw", "Operator")
    with azaion.ApiClient(api_url) as c:
        c.set_credentials_from_dict("op@example.com", "pw")
        with pytest.raises(azaion.PermissionDenied) as info:
            c.upload_big_small_resource(b"x", "m.bin", "models")
    assert info.value.code == "FORBIDDEN"


@pytest.mark.parametrize(
    "token", ["not-a-jwt", "a.b.c", jwt.encode({"role": "Admin"}, "k" * 32, algorithm="HS256")]
)
def test_malformed_jwt_raises_invalid_token(api, api_url, token):
    api.raw_token = token
    with azaion.ApiClient(api_url) as c:
        with pytest.raises(azaion.InvalidToken):
            c.set_credentials_from_dict(EMAIL, PASSWORD)
        assert c.token is None


def test_jwt_signature_is_verified_when_a_public_key_is_given(api, api_url):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {"nameid": "1", "unique_name": EMAIL, "role": "Operator", "exp": int(time.time()) + 60}
    api.raw_token = jwt.encode(claims, key, algorithm="ES256")
    with azaion.ApiClient(api_url, jwt_public_key=public) as c:
        c.set_credentials_from_dict(EMAIL, PASSWORD)
        assert c.user.role == RoleEnum.Operator
    other = ec.generate_private_key(ec.SECP256R1())
    api.raw_token = jwt.encode(claims, other, algorithm="ES256")
    with azaion.ApiClient(api_url, jwt_public_key=public) as c, pytest.raises(azaion.InvalidToken):
        c.set_credentials_from_dict(EMAIL, PASSWORD)


def test_logout_revokes_and_forgets_the_token(client, api):
    assert client.is_authenticated()
    client.logout()
    assert api.calls["logout"] == 1
    assert client.token is None and client.user is None and not client.is_authenticated()


def test_expired_token_is_not_authenticated(api, api_url):
    with azaion.ApiClient(api_url) as c:
        c.set_credentials_from_dict(EMAIL, PASSWORD)
        api.token_lifetime = -5
        c.login()
        assert c.token and not c.is_authenticated()


def test_malformed_cdn_yaml_raises_configuration_error(api, api_url):
    for text in (
        b"host: [unclosed",
        b"- a list\n",
        b"host: http://x\n",
        b"host: ftp://x\ndownloader_access_key: a\ndownloader_access_secret: b\n",
    ):
        api.cdn_yaml = text
        with azaion.ApiClient(api_url) as c, pytest.raises(azaion.ConfigurationError) as info:
            c.set_credentials_from_dict(EMAIL, PASSWORD)
        assert "cdn.yaml" in str(info.value)


def test_cdn_yaml_is_fetched_through_the_envelope(client, api):
    assert client.cdn_manager.creds.host == api.s3.url
    assert client.cdn_manager.creds.bucket == api.bucket
    route, body = [b for b in api.bodies if b[0] == "get"][0]
    assert body["fileName"] == "cdn.yaml"
    assert len(body["hardware"]) == 64


def test_cdn_yaml_without_uploader_keys_allows_loads_and_uploads_through_signed_urls(api, api_url):
    # No cdn.yaml carries writing keys any more: the server signs each upload for its own object.
    api.cdn_yaml = b"\n".join(line for line in api.cdn_yaml.splitlines() if not line.startswith(b"uploader_"))
    with azaion.ApiClient(api_url) as c:
        c.set_credentials_from_dict(EMAIL, PASSWORD)
        c.upload_big_small_resource(b"weights" * 1000, "m.bin", "models")
        assert c.load_big_small_resource("m.bin", "models") == b"weights" * 1000
    assert api.calls["big"] == 1 and api.calls["upload"] == 1


def test_a_reader_gets_no_upload_url(api, api_url):
    api.add_user("reader@example.com", "reader-password", "Operator")
    with azaion.ApiClient(api_url) as c:
        c.set_credentials_from_dict("reader@example.com", "reader-password")
        with pytest.raises(azaion.PermissionDenied):
            c.upload_big_small_resource(b"weights", "m.bin", "models")
    assert api.calls["upload"] == 0
