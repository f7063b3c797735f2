"""A scripted stand-in for the Resource API, served over real HTTP by pytest-httpserver.

It speaks the wire protocol of docs/protocol.md and seals answers with the reference envelope
of tests/reference (never with the client's own code), and it can be told to misbehave:
fail the next calls with a status, expire tokens, tamper with what it serves.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional

import jwt
from werkzeug import Request, Response

from tests.reference import envelope

SECRET = "fake-api-signing-key-for-tests-only"
DEFAULT_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    413: "TOO_LARGE",
    429: "TOO_MANY_ATTEMPTS",
}


@dataclass
class Account:
    email: str
    password: str
    role: str = "ResourceUploader"
    hardware: Optional[str] = None
    license: str = "ok"  # ok | expired | none | folder


@dataclass
class FakeApi:
    """State and behaviour of the scripted API; `calls` counts requests by route."""

    cdn_yaml: bytes = b""
    accounts: dict[str, Account] = field(default_factory=dict)
    resources: dict[tuple[str, str], bytes] = field(default_factory=dict)
    calls: Counter = field(default_factory=Counter)
    bodies: list = field(default_factory=list)
    failures: list = field(default_factory=list)  # (route, status, headers) consumed in order
    reject_tokens: bool = False
    token_lifetime: int = 3600
    raw_token: Optional[str] = None
    tamper_small: Optional[Callable[[bytes], bytes]] = None
    tamper_envelope: Optional[Callable[[bytes], bytes]] = None
    override_small: dict = field(default_factory=dict)
    breaks: list = field(default_factory=list)  # (route, "short" | "reset") consumed in order

    def add_user(self, email: str, password: str, role: str = "ResourceUploader", **kw) -> Account:
        account = Account(email.strip().lower(), password, role, **kw)
        self.accounts[account.email] = account
        return account

    def big_key(self, folder: str, name: str) -> str:
        """The CDN key of the current version's big part (docs/formats.md)."""
        small = self.resources[(folder, name)]
        return f"{folder}/{name}.{small[10:26].hex()}.big"

    def fail_next(self, route: str, status: int, times: int = 1, headers: Optional[dict] = None) -> None:
        self.failures.extend([(route, status, headers or {})] * times)

    # -- dispatch ------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path
        route = self.route_of(request.method, path)
        self.calls[route] += 1
        for i, (failing, status, headers) in enumerate(self.failures):
            if failing == route:
                del self.failures[i]
                return self.error(status, DEFAULT_CODES.get(status, "INTERNAL"), headers)
        handler = getattr(self, "on_" + route, None)
        if handler is None:
            return self.error(404, "NOT_FOUND")
        response = handler(request)
        for i, (breaking, mode) in enumerate(self.breaks):
            if breaking == route:
                del self.breaks[i]
                return self.broken(request, response, mode)
        return response

    @staticmethod
    def broken(request: Request, response: Response, mode: str) -> Response:
        """The answer's headers and half its body, then a closed ("short") or reset connection."""
        import socket
        import struct

        body = response.get_data()
        sock = request.environ.get("werkzeug.socket")

        def half_then_fail():
            yield body[: len(body) // 2]
            if mode == "reset" and sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if sock is not None:
                if mode == "short":
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            raise ConnectionAbortedError("fault injected by the test")

        return Response(
            half_then_fail(),
            status=response.status_code,
            content_type=response.content_type,
            headers={"Content-Length": str(len(body))},
        )

    @staticmethod
    def route_of(method: str, path: str) -> str:
        if path == "/login":
            return "login"
        if path == "/logout":
            return "logout"
        if path == "/health":
            return "health"
        if re.fullmatch(r"/resources/get/[^/]+", path):
            return "get"
        if method == "POST" and re.fullmatch(r"/resources/[^/]+", path):
            return "upload"
        if method == "POST" and re.fullmatch(r"/resources/[^/]+/[^/]+/big", path):
            return "big"
        if method == "POST" and re.fullmatch(r"/resources/[^/]+/[^/]+/big/complete", path):
            return "big_complete"
        return "unknown"

    @staticmethod
    def error(status: int, code: str, headers: Optional[dict] = None) -> Response:
        body = json.dumps({"success": False, "code": code, "message": code.lower()})
        return Response(body, status=status, headers=headers or {}, content_type="application/json")

    def user_of(self, request: Request) -> Optional[Account]:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or self.reject_tokens:
            return None
        try:
            if self.raw_token is not None and header[7:] == self.raw_token:
                claims = jwt.decode(self.raw_token, options={"verify_signature": False})
            else:
                claims = jwt.decode(header[7:], SECRET, algorithms=["HS256"], audience="azaion")
        except jwt.PyJWTError:
            return None
        return self.accounts.get(claims["unique_name"])

    # -- routes --------------------------------------------------------------------------

    def on_health(self, request: Request) -> Response:
        return Response(json.dumps({"status": "ok"}), content_type="application/json")

    def on_login(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        self.bodies.append(("login", body))
        account = self.accounts.get(str(body.get("email", "")).strip().lower())
        if account is None or account.password != body.get("password"):
            return self.error(401, "INVALID_CREDENTIALS")
        if self.raw_token is not None:
            token = self.raw_token
        else:
            now = int(time.time())
            claims = {
                "nameid": str(abs(hash(account.email)) % 10000),
                "unique_name": account.email,
                "role": account.role,
                "iat": now,
                "exp": now + self.token_lifetime,
                "aud": "azaion",
                "iss": "fake-api",
                "jti": os.urandom(8).hex(),
            }
            token = jwt.encode(claims, SECRET, algorithm="HS256")
        return Response(json.dumps({"token": token}), content_type="application/json")

    def on_logout(self, request: Request) -> Response:
        if self.user_of(request) is None:
            return self.error(401, "UNAUTHORIZED")
        return Response(json.dumps({"success": True}), content_type="application/json")

    def on_get(self, request: Request) -> Response:
        account = self.user_of(request)
        if account is None:
            return self.error(401, "UNAUTHORIZED")
        folder = request.path.rsplit("/", 1)[1]
        body = request.get_json(silent=True) or {}
        self.bodies.append(("get", body))
        if body.get("password") != account.password:
            return self.error(401, "INVALID_CREDENTIALS")
        hardware = body.get("hardware")
        if not isinstance(hardware, str) or not re.fullmatch(r"[0-9a-f]{64}", hardware):
            return self.error(400, "BAD_REQUEST")
        if account.hardware is None:
            account.hardware = hardware
        elif account.hardware != hardware:
            return self.error(403, "HARDWARE_MISMATCH")
        name = body.get("fileName")
        if (folder, name) == ("system", "cdn.yaml"):
            data = self.cdn_yaml
        else:
            if account.license == "expired":
                return self.error(403, "LICENSE_EXPIRED")
            if account.license == "none":
                return self.error(403, "LICENSE_REQUIRED")
            if (folder, name) not in self.resources:
                return self.error(404, "NOT_FOUND")
            data = self.resources[(folder, name)]
            if self.tamper_small is not None:
                data = self.tamper_small(data)
        if (folder, name) in self.override_small:
            sealed = self.override_small[(folder, name)]
        else:
            keys = envelope.user_keys(account.email, account.password, hardware)
            sealed = envelope.seal(keys, data, os.urandom(16))
        if self.tamper_envelope is not None:
            sealed = self.tamper_envelope(sealed)
        return Response(sealed, content_type="application/octet-stream")

    def on_upload(self, request: Request) -> Response:
        account = self.user_of(request)
        if account is None:
            return self.error(401, "UNAUTHORIZED")
        if account.role not in ("ResourceUploader", "Admin", "ApiAdmin"):
            return self.error(403, "FORBIDDEN")
        folder = request.path.rsplit("/", 1)[1]
        upload = request.files.get("data")
        if upload is None or not upload.filename:
            return self.error(400, "BAD_REQUEST")
        small = upload.read()
        self.resources[(folder, upload.filename)] = small
        if getattr(self, "s3", None) is not None:
            self.big_parts().remove_older_versions(folder, upload.filename, small)
        return Response(json.dumps({"success": True}), status=201, content_type="application/json")

    def big_parts(self):
        """The server's own signer of upload URLs, on this fake's bucket (the keys stay here)."""
        from azaion_server.resources.bigparts import BigPartStore
        from azaion_server.resources.settings import ResourceSettings

        store = getattr(self, "_big_parts", None)
        if store is not None:
            return store
        self._big_parts = BigPartStore(
            ResourceSettings(
                s3_endpoint=self.s3.url,
                s3_bucket=self.bucket,
                s3_region=self.s3.region,
                s3_uploader_key=self.s3.uploader_key,
                s3_uploader_secret=self.s3.uploader_secret,
            )
        )
        self._big_parts.client()  # boto3's first client is slow to make: not inside a request
        return self._big_parts

    def _uploader(self, request: Request):
        account = self.user_of(request)
        if account is None:
            return None, self.error(401, "UNAUTHORIZED")
        if account.role not in ("ResourceUploader", "Admin", "ApiAdmin"):
            return None, self.error(403, "FORBIDDEN")
        return account, None

    def on_big(self, request: Request) -> Response:
        _account, refused = self._uploader(request)
        if refused is not None:
            return refused
        _, _, folder, name, _ = request.path.split("/")
        body = json.loads(request.get_data())
        grant = self.big_parts().grant(folder, name, body["version"], int(body["size"]))
        return Response(json.dumps({"success": True, **grant}), content_type="application/json")

    def on_big_complete(self, request: Request) -> Response:
        _account, refused = self._uploader(request)
        if refused is not None:
            return refused
        _, _, folder, name, _, _ = request.path.split("/")
        body = json.loads(request.get_data())
        self.big_parts().complete(folder, name, body["version"], body["upload_id"], body["etags"])
        return Response(json.dumps({"success": True}), content_type="application/json")
