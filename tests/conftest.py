"""Fixtures shared by the whole test tree: real services on loopback."""

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--skip-frozen",
        action="store_true",
        help="skip the tests that freeze a loader with PyInstaller (they run by default)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--skip-frozen"):
        return
    skip = pytest.mark.skip(reason="--skip-frozen given")
    for item in items:
        if "frozen" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class S3Endpoint:
    """An S3 emulator (moto's server) over real HTTP; it accepts any key pair."""

    url: str
    region: str = "us-east-1"
    downloader_key: str = "downloader-key"
    downloader_secret: str = "downloader-secret"
    uploader_key: str = "uploader-key"
    uploader_secret: str = "uploader-secret"

    def client(self, uploader: bool = True):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=self.uploader_key if uploader else self.downloader_key,
            aws_secret_access_key=self.uploader_secret if uploader else self.downloader_secret,
        )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """moto's S3 server on a free loopback port, for the whole session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Endpoint(url=f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: S3Endpoint) -> str:
    """A fresh, empty bucket on the emulator for one test."""
    name = f"azaion-{uuid.uuid4().hex[:12]}"
    s3_endpoint.client().create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def release_build(tmp_path_factory):
    """The one release wheel of the session (tests/release_build.py): built on first use."""
    from tests.release_build import build

    return build(tmp_path_factory.mktemp("release"))
