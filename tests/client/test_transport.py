"""One session, bounded retries with backoff, Retry-After honoured and capped, timeouts."""

from __future__ import annotations

import socket
import threading
import time

import pytest

import azaion
from tests.client.conftest import EMAIL, PASSWORD


def test_server_down_raises_network_error(isolated_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with azaion.ApiClient(f"http://127.0.0.1:{port}") as c:
        assert c.test_connection() is False
        with pytest.raises(azaion.NetworkError) as info:
            c.set_credentials_from_dict(EMAIL, PASSWORD)
    assert info.value.code == "NETWORK_ERROR"
    assert isinstance(info.value, ConnectionError)


def test_test_connection_true_when_healthy(api, api_url):
    with azaion.ApiClient(api_url) as c:
        assert c.test_connection() is True


def test_5xx_then_success_is_retried(client, api):
    client.upload_big_small_resource(b"model", "m.bin", "models")
    gets = api.calls["get"]
    api.fail_next("get", 503, times=2)
    assert client.load_big_small_resource("m.bin", "models") == b"model"
    assert api.calls["get"] == gets + 3


def test_5xx_forever_gives_up_after_bounded_retries(client, api):
    client.upload_big_small_resource(b"model", "m.bin", "models")
    gets = api.calls["get"]
    api.fail_next("get", 500, times=50)
    with pytest.raises(azaion.ServerError) as info:
        client.load_big_small_resource("m.bin", "models")
    assert api.calls["get"] == gets + 3  # AZAION_MAX_RETRIES=2
    assert info.value.status == 500


def test_retry_after_is_honoured(client, api):
    client.upload_big_small_resource(b"model", "m.bin", "models")
    api.fail_next("get", 503, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert client.load_big_small_resource("m.bin", "models") == b"model"
    assert time.monotonic() - started >= 0.9


def test_invalid_retry_after_falls_back_to_backoff(client, api):
    client.upload_big_small_resource(b"model", "m.bin", "models")
    api.fail_next("get", 503, headers={"Retry-After": "soon-ish"})
    assert client.load_big_small_resource("m.bin", "models") == b"model"


def test_huge_retry_after_fails_at_once_and_says_when(client, api):
    client.upload_big_small_resource(b"model", "m.bin", "models")
    gets = api.calls["get"]
    api.fail_next("get", 503, headers={"Retry-After": "86400"})
    started = time.monotonic()
    with pytest.raises(azaion.ServerError) as info:
        client.load_big_small_resource("m.bin", "models")
    assert time.monotonic() - started < 5
    assert "86400" in str(info.value)
    assert api.calls["get"] == gets + 1


def test_upload_post_is_not_retried_blindly(client, api):
    api.fail_next("upload", 500)
    with pytest.raises(azaion.ServerError):
        client.upload_big_small_resource(b"model", "m.bin", "models")
    assert api.calls["upload"] == 1


def test_4xx_is_not_retried(client, api):
    gets = api.calls["get"]
    with pytest.raises(azaion.ResourceNotFound):
        client.load_big_small_resource("absent.bin", "models")
    assert api.calls["get"] == gets + 1


def test_stalled_answer_times_out_then_is_retried(isolated_env, monkeypatch):
    monkeypatch.setenv("AZAION_READ_TIMEOUT", "0.3")
    monkeypatch.setenv("AZAION_MAX_RETRIES", "1")
    accepted = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def stall():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)  # read nothing, answer nothing

    threading.Thread(target=stall, daemon=True).start()
    try:
        with azaion.ApiClient(f"http://127.0.0.1:{server.getsockname()[1]}") as c:
            started = time.monotonic()
            with pytest.raises(azaion.NetworkError):
                c.set_credentials_from_dict(EMAIL, PASSWORD)
            assert time.monotonic() - started < 5
        assert len(accepted) == 2
    finally:
        server.close()
        for conn in accepted:
            conn.close()


def test_tls_verification_is_on(isolated_env):
    """A TLS server with a self-signed certificate is refused, not trusted."""
    import ssl
    import subprocess
    import tempfile

    from werkzeug.serving import make_server

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                f"{tmp}/k.pem",
                "-out",
                f"{tmp}/c.pem",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(f"{tmp}/c.pem", f"{tmp}/k.pem")
        server = make_server(
            "127.0.0.1", 0, lambda env, start: [start("200 OK", []), b"{}"][1:], ssl_context=context
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with (
                azaion.ApiClient(f"https://127.0.0.1:{server.port}") as c,
                pytest.raises(azaion.NetworkError) as info,
            ):
                c.set_credentials_from_dict(EMAIL, PASSWORD)
            assert "SSLError" in str(info.value)
        finally:
            server.shutdown()


def test_backoff_doubles_with_jitter_and_is_capped():
    from urllib3.exceptions import ReadTimeoutError

    from azaion._retry import BACKOFF_CAP, CappedRetry

    retry = CappedRetry(total=20, backoff_factor=0.5)
    waits = []
    for _ in range(12):
        retry = retry.increment(method="GET", url="/x", error=ReadTimeoutError(None, "/x", "slow"))
        waits.append(retry.get_backoff_time())
    assert waits[0] == 0.0
    assert 1.0 <= waits[1] <= 1.5 and 2.0 <= waits[2] <= 2.5
    assert max(waits) == BACKOFF_CAP
    samples = {
        CappedRetry(total=5, backoff_factor=0.5, history=retry.history[:3]).get_backoff_time()
        for _ in range(20)
    }
    assert len(samples) > 1  # jitter: concurrent clients do not retry in lockstep
