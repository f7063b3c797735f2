"""`azaion-server` / `python -m azaion_server`: arguments, settings errors, --dev."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from azaion_server import cli

from tests.conftest import free_port


def test_parse_args() -> None:
    args = cli.parse_args([])
    assert (args.host, args.port, args.dev) == ("127.0.0.1", 8000, False)
    args = cli.parse_args(["--host", "0.0.0.0", "--port", "9000", "--dev"])  # noqa: S104
    assert (args.host, args.port, args.dev) == ("0.0.0.0", 9000, True)  # noqa: S104


def test_bad_settings_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "AZAION_JWT_SECRET" in capsys.readouterr().err


def test_runs_uvicorn_with_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setenv("AZAION_JWT_SECRET", "c" * 40)
    monkeypatch.setenv("AZAION_CLIENT_KEY_SECRET", "k" * 40)
    monkeypatch.setenv("AZAION_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: seen.update(app=app, **kw))
    assert cli.main(["--port", "9999"]) == 0
    assert seen["port"] == 9999 and seen["host"] == "127.0.0.1"
    assert seen["app"].title == "azaion Resource API"


def test_dev_mode_starts_and_stops_the_s3_emulator(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kw: Any) -> None:
        settings = app.state.context.settings
        endpoint = settings.resources.s3_endpoint
        seen["endpoint"] = endpoint
        seen["dev"] = settings.jwt.dev
        seen["up"] = httpx.get(endpoint).status_code < 500

    monkeypatch.setattr("uvicorn.run", fake_run)
    assert cli.main(["--dev", "--port", "8123"]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/docs" in out
    assert "admin@azaion.local" in out and "password:" in out
    assert seen["dev"] and seen["up"]
    with pytest.raises(httpx.HTTPError):
        httpx.get(seen["endpoint"], timeout=2)


def test_dev_mode_without_moto(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "moto.server", None)
    assert cli.main(["--dev"]) == 2
    assert "azaion-server[dev]" in capsys.readouterr().err


def test_python_dash_m_serves_docs(tmp_path) -> None:
    """The real command in a child process: --dev, then /health, /docs and a login."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "azaion_server", "--dev", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": "/usr/bin:/bin", "AZAION_ADMIN_PASSWORD": "dev-admin-password", "HOME": str(tmp_path)},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        assert httpx.get(f"{url}/docs").status_code == 200
        login = httpx.post(
            f"{url}/login", json={"email": "admin@azaion.local", "password": "dev-admin-password"}
        )
        assert login.status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    assert "Application shutdown complete" in output
    data_dir = output.split("data:")[1].split()[0]
    assert not os.path.exists(data_dir)  # --dev cleans up after itself
    assert "dev-admin-password" in output.split("INFO")[0]  # printed once, to the console
    assert output.count("dev-admin-password") == 2  # the curl line and the password line, no log


def test_rotate_signing_key_recovers_from_a_changed_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path, capsys
) -> None:
    from azaion_server.app import create_app
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AZAION_CLIENT_KEY_SECRET", "k" * 40)
    monkeypatch.setenv("AZAION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AZAION_ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("AZAION_ARGON2_PARALLELISM", "1")
    monkeypatch.setenv("AZAION_ADMIN_EMAIL", "root@example.com")
    monkeypatch.setenv("AZAION_ADMIN_PASSWORD", "root-password")
    monkeypatch.setenv("AZAION_JWT_SECRET", "a" * 40)
    with TestClient(create_app()) as client:
        token = client.post("/login", json={"email": "root@example.com", "password": "root-password"}).json()
        old_kid = client.get("/.well-known/jwks.json").json()["keys"][0]["kid"]
    monkeypatch.setenv("AZAION_JWT_SECRET", "b" * 40)
    with pytest.raises(RuntimeError, match="rotate-signing-key"), TestClient(create_app()):
        pass
    assert cli.main(["--rotate-signing-key"]) == 0
    new_kid = capsys.readouterr().out.split()[2]
    assert new_kid != old_kid
    with TestClient(create_app()) as client:
        # The old token still verifies (public keys need no secret) until it expires.
        headers = {"Authorization": f"Bearer {token['token']}"}
        assert client.get("/users", headers=headers).status_code == 200
        assert [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]] == [new_kid, old_kid]
        audit = client.get("/audit", params={"action": "signing_key.rotated"}, headers=headers).json()
        assert audit["results"][0]["actor"] == "azaion-server"
