"""Client fixtures: a scripted API on loopback, the S3 emulator, an isolated cache."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

import azaion
from tests.client.fake_api import FakeApi

FINGERPRINT = "CPU: test. GPU: none. Memory: 8GiB. DriveSerial: unknown. MachineId: test-machine"
EMAIL = "uploader@example.com"
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every test gets its own cache, a fixed fingerprint and zero backoff."""
    for name in list(__import__("os").environ):
        if name.startswith("AZAION_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AZAION_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", FINGERPRINT)
    monkeypatch.setenv("AZAION_BACKOFF", "0")
    monkeypatch.setenv("AZAION_MAX_RETRIES", "2")
    monkeypatch.setenv("AZAION_READ_TIMEOUT", "5")
    monkeypatch.setenv("AZAION_CONNECT_TIMEOUT", "2")
    monkeypatch.setenv("AZAION_DATA_DIR", str(tmp_path / "data"))
    # The scripted API (fake_api.py) speaks the seed's v1 envelope: these tests are about the
    # client's transport, cache and errors over it. The device path runs against the real server
    # (tests/e2e, tests/client/test_device.py).
    monkeypatch.setenv("AZAION_LEGACY_ENVELOPE", "true")
    return tmp_path


def cdn_yaml_for(s3_endpoint, bucket: str) -> bytes:
    return (
        f"host: {s3_endpoint.url}\n"
        f"bucket: {bucket}\n"
        f"region: {s3_endpoint.region}\n"
        f"downloader_access_key: {s3_endpoint.downloader_key}\n"
        f"downloader_access_secret: {s3_endpoint.downloader_secret}\n"
        f"uploader_access_key: {s3_endpoint.uploader_key}\n"
        f"uploader_access_secret: {s3_endpoint.uploader_secret}\n"
    ).encode()


def fake_api_on(s3_endpoint, bucket: str) -> FakeApi:
    """A scripted API whose CDN is `bucket` on the emulator, with its signer of upload URLs made."""
    fake = FakeApi(cdn_yaml=cdn_yaml_for(s3_endpoint, bucket))
    fake.bucket = bucket
    fake.s3 = s3_endpoint
    fake.big_parts()  # made before the first request: boto3's first client is slow
    return fake


@pytest.fixture
def api(httpserver, s3_endpoint, s3_bucket) -> Iterator[FakeApi]:
    """The scripted Resource API with one uploader, wired to a fresh bucket on the emulator."""
    fake = fake_api_on(s3_endpoint, s3_bucket)
    fake.add_user(EMAIL, PASSWORD, "ResourceUploader")
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake.handle)
    yield fake
    httpserver.clear()


@pytest.fixture
def api_url(httpserver) -> str:
    return httpserver.url_for("").rstrip("/")


@pytest.fixture
def client(api, api_url) -> Iterator[azaion.ApiClient]:
    """A logged-in client for the uploader."""
    with azaion.ApiClient(api_url) as c:
        c.set_credentials_from_dict(EMAIL, PASSWORD)
        yield c
