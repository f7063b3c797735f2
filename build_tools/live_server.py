"""Start the real Resource API as a child process and administer it over HTTP.

Used by `make run` (build_tools/run_demo.py) and by the end-to-end tests: the server is the
installed `azaion_server` started with `python -m azaion_server`, never an in-process copy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import requests


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerFailed(RuntimeError):
    """The server did not come up; the message holds the end of its log."""


class LiveServer:
    """A running `azaion_server` on a loopback port, with an ApiAdmin session for setup."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        dev: bool = False,
        log_dir: Optional[Path] = None,
        args: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_email = env.get("AZAION_ADMIN_EMAIL", "admin@azaion.local")
        self.admin_password = env.get("AZAION_ADMIN_PASSWORD") or secrets.token_urlsafe(16)
        self.env = {
            **os.environ,
            **env,
            "AZAION_ADMIN_EMAIL": self.admin_email,
            "AZAION_ADMIN_PASSWORD": self.admin_password,
        }
        self.log_path = (
            Path(log_dir or tempfile.mkdtemp(prefix="azaion-server-log-")) / f"server-{self.port}.log"
        )
        command = [sys.executable, "-m", "azaion_server", "--host", "127.0.0.1", "--port", str(self.port)]
        if dev:
            command.append("--dev")
        command += list(args)  # e.g. --workers 2
        self.log = open(self.log_path, "w+b")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.http = requests.Session()
        self.token: Optional[str] = None
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    # -- lifecycle ---------------------------------------------------------------------------

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"the server exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if self.http.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise ServerFailed(f"the server did not answer /health within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server and everything it started (its process group)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self.http.close()
        self.log.close()

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- administration ------------------------------------------------------------------------

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An ApiAdmin call; raises with the answer's body if it fails."""
        if self.token is None:
            self.token = self.login(self.admin_email, self.admin_password)
        response = self.http.request(
            method,
            f"{self.url}{path}",
            timeout=30,
            headers={"Authorization": f"Bearer {self.token}"},
            **kwargs,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} answered {response.status_code}: {response.text}")
        return response

    def login(self, email: str, password: str) -> str:
        response = self.http.post(
            f"{self.url}/login", json={"email": email, "password": password}, timeout=30
        )
        response.raise_for_status()
        return response.json()["token"]

    def create_user(self, email: str, password: str, role: str) -> int:
        return int(
            self.admin("POST", "/users", json={"email": email, "password": password, "role": role}).json()[
                "id"
            ]
        )

    def set_license(
        self,
        user_id: int,
        folders: list[str],
        days: float = 30,
        plan: str = "standard",
        offline_hours: int = 0,
    ) -> None:
        expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
        self.admin(
            "PUT",
            f"/users/{user_id}/license",
            json={
                "plan": plan,
                "expires_at": expires.isoformat(),
                "folders": folders,
                "offline_hours": offline_hours,
            },
        )

    def reset_hardware(self, user_id: int) -> None:
        self.admin("DELETE", f"/users/{user_id}/hardware")

    def devices(self, user_id: int) -> list[dict[str, Any]]:
        """The devices of one user."""
        return list(self.admin("GET", "/devices/all", params={"user_id": user_id}).json()["results"])

    def revoke_devices(self, user_id: int) -> None:
        """Revoke every device of one user (a lost device)."""
        for device in self.devices(user_id):
            self.admin("POST", f"/devices/{device['id']}/revoke")

    def set_role(self, user_id: int, role: str) -> None:
        self.admin("PUT", f"/users/{user_id}/role", json={"role": role})

    def upload(self, folder: str, name: str, data: bytes) -> None:
        """Upload `data` as resource `folder/name` (published), as the admin."""
        self.admin("POST", f"/resources/{folder}", files={"data": (name, data, "application/octet-stream")})

    def create_client(self, client_name: str, role: str) -> str:
        return self.admin("POST", "/clients", json={"client_name": client_name, "role": role}).json()["key"]
