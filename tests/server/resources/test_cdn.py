"""The bucket of big parts is created at start when missing; an unreachable store is survived."""

from __future__ import annotations

import logging
import uuid

import pytest
from azaion_server.resources.cdn import cdn_yaml, ensure_bucket
from azaion_server.resources.exceptions import ResourceNotFound
from azaion_server.resources.settings import ResourceSettings

from tests.conftest import free_port


def _settings(url: str, bucket: str, **extra: str) -> ResourceSettings:
    return ResourceSettings(
        s3_endpoint=url,
        s3_bucket=bucket,
        s3_uploader_key="uploader-key",
        s3_uploader_secret="uploader-secret",
        **extra,
    )


def test_creates_a_missing_bucket(s3_endpoint) -> None:
    bucket = f"azaion-{uuid.uuid4().hex[:12]}"
    assert ensure_bucket(_settings(s3_endpoint.url, bucket))
    names = [b["Name"] for b in s3_endpoint.client().list_buckets()["Buckets"]]
    assert bucket in names
    assert ensure_bucket(_settings(s3_endpoint.url, bucket))  # existing: nothing to do


def test_creates_in_another_region(s3_endpoint) -> None:
    bucket = f"azaion-{uuid.uuid4().hex[:12]}"
    assert ensure_bucket(_settings(s3_endpoint.url, bucket, s3_region="eu-west-1"))
    location = s3_endpoint.client().get_bucket_location(Bucket=bucket)["LocationConstraint"]
    assert location == "eu-west-1"


def test_existing_bucket(s3_endpoint, s3_bucket: str) -> None:
    assert ensure_bucket(_settings(s3_endpoint.url, s3_bucket))


def test_unreachable_store_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert not ensure_bucket(_settings(f"http://127.0.0.1:{free_port()}", "azaion"))
    assert "not checked" in caplog.text
    assert "uploader-secret" not in caplog.text


def test_without_endpoint_nothing_happens() -> None:
    assert not ensure_bucket(ResourceSettings())
    with pytest.raises(ResourceNotFound):
        cdn_yaml(ResourceSettings(), "Admin")


def test_app_start_creates_the_bucket(make_client, s3_endpoint) -> None:
    bucket = f"azaion-{uuid.uuid4().hex[:12]}"
    make_client(s3_endpoint=s3_endpoint.url, s3_bucket=bucket, s3_uploader_key="k", s3_uploader_secret="s")
    assert bucket in [b["Name"] for b in s3_endpoint.client().list_buckets()["Buckets"]]


def test_app_starts_with_an_unreachable_store(make_client) -> None:
    client = make_client(s3_endpoint=f"http://127.0.0.1:{free_port()}")
    assert client.get("/health").json() == {"status": "ok"}


def test_other_s3_errors_are_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import boto3
    from botocore.exceptions import ClientError

    class Refusing:
        def head_bucket(self, **_: object) -> None:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadBucket")

    monkeypatch.setattr(boto3, "client", lambda *a, **kw: Refusing())
    assert not ensure_bucket(_settings("http://127.0.0.1:1", "azaion"))
    assert "ClientError" in caplog.text
