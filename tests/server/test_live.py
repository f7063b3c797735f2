"""The real server under uvicorn on a loopback port, over HTTP: the seed's whole flow."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import httpx
import pytest
from azaion_server.app import create_app

from tests.reference import envelope as reference
from tests.server.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, HW1, HW2, serving


@pytest.fixture
def live_url(make_settings, clean_db, s3_endpoint) -> Iterator[str]:
    with serving(create_app(make_settings(storage="files", s3_endpoint=s3_endpoint.url))) as url:
        yield url


def test_upload_and_download_over_http(live_url: str) -> None:
    with httpx.Client(base_url=live_url, timeout=10) as http:
        admin = {
            "Authorization": "Bearer "
            + http.post("/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()["token"]
        }
        created = http.post(
            "/users",
            json={"email": "op@example.com", "password": "op-password", "role": "Operator"},
            headers=admin,
        )
        assert created.status_code == 201
        user_id = created.json()["id"]
        http.put(
            f"/users/{user_id}/license",
            json={"plan": "pro", "expires_at": "2999-01-01T00:00:00Z", "folders": ["models"]},
            headers=admin,
        )

        data = os.urandom(3 * 1024)
        upload = http.post("/resources/models", files={"data": ("yolo.small", data)}, headers=admin)
        assert upload.status_code == 201
        assert upload.json()["resource"]["checksum"] == hashlib.sha256(data).hexdigest()

        token = http.post("/login", json={"email": "op@example.com", "password": "op-password"}).json()[
            "token"
        ]
        operator = {"Authorization": f"Bearer {token}"}
        keys = reference.user_keys("op@example.com", "op-password", HW1)
        response = http.post(
            "/resources/get/models",
            json={"fileName": "yolo.small", "password": "op-password", "hardware": HW1},
            headers=operator,
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert reference.open_(keys, response.content) == data

        cdn = http.post(
            "/resources/get/system",
            json={"fileName": "cdn.yaml", "password": "op-password", "hardware": HW1},
            headers=operator,
        )
        assert b"host: http://127.0.0.1:" in reference.open_(keys, cdn.content)

        other = http.post(
            "/resources/get/models",
            json={"fileName": "yolo.small", "password": "op-password", "hardware": HW2},
            headers=operator,
        )
        assert other.status_code == 403 and other.json()["code"] == "HARDWARE_MISMATCH"

        assert http.post("/logout", headers=operator).json() == {"success": True}
        assert http.get("/license/info", headers=operator).status_code == 401
        assert http.get("/health").json() == {"status": "ok"}
