"""A thin client of the API for tests: users, tokens, uploads and downloads in one line each."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.reference import envelope as reference

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password"


def hardware(label: str) -> str:
    """A hardware hash as a client computes it (docs/formats.md)."""
    return hashlib.sha256(label.encode()).hexdigest()


HW1 = hardware("machine one")
HW2 = hardware("machine two")


@contextlib.contextmanager
def serving(app: Any, **options: Any) -> Iterator[str]:
    """Run `app` under uvicorn on a free loopback port (`options`: more of uvicorn's settings);
    yields its URL, stops it after."""
    import uvicorn

    from tests.conftest import free_port

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check an error answer of docs/protocol.md and return its body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert "Traceback" not in body["message"]
    return body


@dataclass
class Person:
    """A user the test created, with its password and a token."""

    id: int
    email: str
    password: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Its Authorization header."""
        return bearer(self.token)


def answer_challenge(key: bytes, text: str, iv_b64: str) -> str:
    """What a machine client sends to `/auth_verify`: base64(AES-256-CBC(key, iv, PKCS#7(text)))."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    padder = padding.PKCS7(128).padder()
    padded = padder.update(text.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(base64.b64decode(iv_b64))).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


@dataclass
class Machine:
    """A machine client the test registered, with its raw key and (after `Api.handshake`) a token."""

    name: str
    key: bytes
    role: str
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        """Its Authorization header."""
        return bearer(self.token)


class Api:
    """Calls of the wire protocol, as the bootstrap ApiAdmin unless told otherwise."""

    _numbers = itertools.count(1)

    def __init__(self, client: Any) -> None:
        self.client = client
        self.admin_token = self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.admin = bearer(self.admin_token)

    def admin_person(self) -> Person:
        """The bootstrap ApiAdmin as a `Person`."""
        users = self.client.get("/users", headers=self.admin).json()
        me = next(u for u in users if u["email"] == ADMIN_EMAIL)
        return Person(me["id"], ADMIN_EMAIL, ADMIN_PASSWORD, "ApiAdmin", self.admin_token)

    def login(self, email: str, password: str) -> str:
        """A token, asserting the login succeeds."""
        response = self.client.post("/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    def user(self, role: str, password: str | None = None, email: str | None = None) -> Person:
        """A new user with `role`, logged in."""
        number = next(self._numbers)
        email = email or f"{role.lower()}{number}@example.com"
        password = password or f"password-{number}"
        response = self.client.post(
            "/users", json={"email": email, "password": password, "role": role}, headers=self.admin
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Person(body["id"], body["email"], password, role, self.login(email, password))

    def set_license(
        self,
        person: Person,
        folders: list[str],
        expires_at: str = "2999-01-01T00:00:00Z",
        plan: str = "pro",
        **terms: Any,
    ) -> Any:
        """Give `person` a licence (`terms`: more of its fields, `offline_hours`, `max_devices`)."""
        response = self.client.put(
            f"/users/{person.id}/license",
            json={"plan": plan, "expires_at": expires_at, "folders": folders, **terms},
            headers=self.admin,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def upload(
        self,
        folder: str,
        name: str,
        data: bytes,
        headers: dict[str, str] | None = None,
        **fields: str,
    ) -> Any:
        """`POST /resources/{folder}` (as the admin unless `headers` says otherwise)."""
        return self.client.post(
            f"/resources/{folder}",
            files={"data": (name, data, "application/octet-stream")},
            data=fields,
            headers=headers or self.admin,
        )

    def get(self, person: Person, folder: str, name: str, hw: str = HW1, password: str | None = None) -> Any:
        """`POST /resources/get/{folder}` as `person`."""
        return self.client.post(
            f"/resources/get/{folder}",
            json={"fileName": name, "password": password or person.password, "hardware": hw},
            headers=person.headers,
        )

    def read(self, person: Person, folder: str, name: str, hw: str = HW1) -> bytes:
        """Download and open the envelope with the reference implementation."""
        response = self.get(person, folder, name, hw)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/octet-stream"
        keys = reference.user_keys(person.email, person.password, hw)
        return reference.open_(keys, response.content)

    def machine(self, role: str, name: str | None = None, login: bool = True) -> Machine:
        """Register a machine client with `role` (and shake hands unless `login` is false)."""
        name = name or f"{role.lower()}-{next(self._numbers)}"
        response = self.client.post("/clients", json={"client_name": name, "role": role}, headers=self.admin)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["client_name"] == name and body["role"] == role
        machine = Machine(name, base64.b64decode(body["key"]), role)
        if login:
            machine.token = self.handshake(machine)
        return machine

    def handshake(self, machine: Machine, duration: int = 3600) -> str:
        """`/auth` then `/auth_verify`; the session token."""
        challenge = self.client.post("/auth", json={"client_name": machine.name})
        assert challenge.status_code == 200, challenge.text
        c = challenge.json()["challenge"]
        body = {
            "client_name": machine.name,
            "id": c["id"],
            "duration": duration,
            "encrypted_text": answer_challenge(machine.key, c["text"], c["cipher_iv"]),
        }
        response = self.client.post("/auth_verify", json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["session"]["token"])

    def set_client_license(
        self, machine: Machine, folders: list[str], expires_at: str = "2999-01-01T00:00:00Z"
    ) -> Any:
        """Give a machine client a licence."""
        response = self.client.put(
            f"/clients/{machine.name}/license",
            json={"plan": "fleet", "expires_at": expires_at, "folders": folders},
            headers=self.admin,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def machine_get(self, machine: Machine, folder: str, name: str, hw: str = HW1) -> Any:
        """`POST /resources/get/{folder}` as a machine client (no password)."""
        return self.client.post(
            f"/resources/get/{folder}", json={"fileName": name, "hardware": hw}, headers=machine.headers
        )

    def machine_read(self, machine: Machine, folder: str, name: str, hw: str = HW1) -> bytes:
        """Download as a machine client and open the envelope with the reference implementation."""
        response = self.machine_get(machine, folder, name, hw)
        assert response.status_code == 200, response.text
        keys = reference.derive_keys(machine.name.encode(), machine.key, hw)
        return reference.open_(keys, response.content)
