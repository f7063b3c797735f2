"""No secret rides along in an exception: not in its args, its cause, its context, nor their frames.

Each client error path is provoked for real (a refused port, a wrong password, a cut answer, a
garbled token, a tampered envelope, a dead CDN ...), and everything reachable from the raised
exception is walked: args, attributes, ``__cause__``, ``__context__``, their tracebacks and the
locals of every frame outside this test tree, and the objects those hold (a ``requests``
response holds its request, whose body holds the password and whose headers hold the token).
"""

from __future__ import annotations

import os
import socket
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import azaion
from tests.client.conftest import EMAIL, PASSWORD, cdn_yaml_for

TESTS = str(Path(__file__).resolve().parents[1])
MACHINE_KEY = "bWFjaGluZS1rZXktdGhhdC1tdXN0LW5vdC1sZWFrISE="  # base64 of 32 bytes
DEPTH = 8
SKIPPED = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def reachable_texts(error: BaseException) -> Iterator[str | bytes]:
    """Every string and bytes reachable from an exception (see the module's docstring)."""
    seen: set[int] = set()
    stack: list[tuple[object, int]] = [(error, 0)]
    while stack:
        obj, depth = stack.pop()
        if id(obj) in seen or depth > DEPTH or obj is None or isinstance(obj, SKIPPED):
            continue
        seen.add(id(obj))
        children: list[object] = []
        if isinstance(obj, (str, bytes, bytearray, memoryview)):
            yield bytes(obj) if isinstance(obj, (bytearray, memoryview)) else obj
            continue
        if isinstance(obj, BaseException):
            yield str(obj)
            yield repr(obj)
            children += [obj.args, obj.__cause__, obj.__context__, obj.__traceback__]
        if isinstance(obj, types.TracebackType):
            children += [obj.tb_frame, obj.tb_next]
        elif isinstance(obj, types.FrameType):
            if not obj.f_code.co_filename.startswith(TESTS) and "_pytest" not in obj.f_code.co_filename:
                children += list(obj.f_locals.values())
        elif isinstance(obj, dict):
            children += list(obj.keys()) + list(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            children += list(obj)
        elif hasattr(obj, "__dict__"):
            children += list(vars(obj).values())
        else:
            for slot in getattr(type(obj), "__slots__", ()):
                children.append(getattr(obj, slot, None))
        stack += [(child, depth + 1) for child in children]


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    for text in reachable_texts(error):
        for secret in secrets:
            needle = secret if isinstance(text, str) else secret.encode()
            assert needle not in text, f"{type(error).__name__} carries a secret in {text[:200]!r}"


def refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raised(call) -> BaseException:
    try:
        call()
    except azaion.AzaionError as e:
        return e
    raise AssertionError("no error raised")


def test_the_walker_finds_a_password_in_a_context():
    def leak() -> None:
        try:
            body = f'{{"password": "{PASSWORD}"}}'.encode()
            raise ValueError({"request": types.SimpleNamespace(body=body)})
        except ValueError:
            raise azaion.NetworkError("wrapped") from None

    with pytest.raises(AssertionError, match="carries a secret"):
        assert_no_secret(raised(leak), PASSWORD)


def test_login_against_a_refused_port(isolated_env):
    with azaion.ApiClient(f"http://127.0.0.1:{refused_port()}") as c:
        error = raised(lambda: c.set_credentials_from_dict(EMAIL, PASSWORD))
    assert isinstance(error, azaion.NetworkError)
    assert_no_secret(error, PASSWORD)


def test_machine_login_against_a_refused_port(isolated_env):
    with azaion.ApiClient(f"http://127.0.0.1:{refused_port()}") as c:
        c.set_machine_credentials("edge-device", MACHINE_KEY)
        error = raised(c.login)
    assert isinstance(error, azaion.NetworkError)
    assert_no_secret(error, MACHINE_KEY)


def test_wrong_password(api, api_url):
    with azaion.ApiClient(api_url) as c:
        error = raised(lambda: c.set_credentials_from_dict(EMAIL, PASSWORD + "-wrong"))
    assert isinstance(error, azaion.AuthenticationError)
    assert_no_secret(error, PASSWORD)


@pytest.mark.parametrize("mode", ["short", "reset"])
def test_login_answers_cut_every_time(api, api_url, mode):
    api.breaks.extend([("login", mode)] * 10)
    with azaion.ApiClient(api_url) as c:
        error = raised(lambda: c.set_credentials_from_dict(EMAIL, PASSWORD))
    assert isinstance(error, azaion.NetworkError)
    assert_no_secret(error, PASSWORD)


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", ""])
def test_a_garbled_token(api, api_url, token):
    api.raw_token = token or "x"
    with azaion.ApiClient(api_url) as c:
        error = raised(lambda: c.set_credentials_from_dict(EMAIL, PASSWORD))
    assert isinstance(error, azaion.InvalidToken)
    assert_no_secret(error, PASSWORD, api.raw_token)


def test_errors_after_login(client, api, api_url):
    token = client.token
    client.upload_big_small_resource(os.urandom(5000), "m.bin", "models")
    errors = [raised(lambda: client.load_big_small_resource("absent.bin", "models"))]
    api.fail_next("get", 503, times=10)
    errors.append(raised(lambda: client.load_big_small_resource("m.bin", "models")))
    api.failures.clear()
    api.breaks.extend([("get", "reset")] * 10)
    errors.append(raised(lambda: client.load_big_small_resource("m.bin", "models")))
    api.breaks.clear()
    api.tamper_envelope = lambda sealed: sealed[:-1] + bytes([sealed[-1] ^ 1])
    errors.append(raised(lambda: client.load_big_small_resource("m.bin", "models")))
    api.tamper_envelope = None
    api.accounts[EMAIL].license = "expired"
    errors.append(raised(lambda: client.load_big_small_resource("m.bin", "models")))
    api.accounts[EMAIL].license = "ok"
    api.reject_tokens = True
    errors.append(raised(lambda: client.load_big_small_resource("m.bin", "models")))
    assert [type(e).__name__ for e in errors] == [
        "ResourceNotFound",
        "ServerError",
        "NetworkError",
        "IntegrityError",
        "LicenseExpired",
        "AuthenticationError",
    ]
    api.reject_tokens = False
    for error in errors:
        assert_no_secret(error, PASSWORD, token)


def test_a_dead_cdn(api, api_url, s3_bucket, s3_endpoint, tmp_path):
    with azaion.ApiClient(api_url) as uploader:
        uploader.set_credentials_from_dict(EMAIL, PASSWORD)
        uploader.upload_big_small_resource(os.urandom(5000), "m.bin", "models")
    dead = type(s3_endpoint)(url=f"http://127.0.0.1:{refused_port()}")
    api.cdn_yaml = cdn_yaml_for(dead, s3_bucket)
    with azaion.ApiClient(api_url, cache_dir=str(tmp_path / "empty")) as c:
        c.set_credentials_from_dict(EMAIL, PASSWORD)
        token = c.token
        error = raised(lambda: c.load_big_small_resource("m.bin", "models"))
    assert isinstance(error, azaion.CDNError)
    assert_no_secret(error, PASSWORD, token, dead.downloader_secret, dead.uploader_secret)


def test_a_garbled_cdn_yaml(api, api_url):
    api.cdn_yaml = b"host: [unclosed\ndownloader_access_secret: " + PASSWORD.encode() + b"\n"
    with azaion.ApiClient(api_url) as c:
        error = raised(lambda: c.set_credentials_from_dict(EMAIL, PASSWORD))
    assert isinstance(error, azaion.ConfigurationError)
    assert_no_secret(error, PASSWORD)


def test_a_missing_cdn_object(client, api):
    client.upload_big_small_resource(os.urandom(5000), "gone.bin", "models")
    api.s3.client().delete_object(Bucket=api.bucket, Key=api.big_key("models", "gone.bin"))
    (Path(str(client.cache_dir)) / "models" / "gone.bin.big").unlink()
    error = raised(lambda: client.load_big_small_resource("gone.bin", "models"))
    assert isinstance(error, azaion.ResourceNotFound)
    assert_no_secret(error, PASSWORD, client.token, api.s3.downloader_secret)
