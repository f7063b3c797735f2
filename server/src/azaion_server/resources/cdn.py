"""`cdn.yaml` (served as `system/cdn.yaml`) and the S3 bucket of big parts."""

from __future__ import annotations

import logging

import yaml

from azaion_server.resources.exceptions import ResourceNotFound
from azaion_server.resources.settings import ResourceSettings
from azaion_server.vocabulary import UPLOADER_ROLE_VALUES, Role

log = logging.getLogger(__name__)

CDN_FILE = "cdn.yaml"


def cdn_yaml(settings: ResourceSettings, role: str) -> bytes:
    """The YAML of docs/protocol.md for a caller with `role`.

    Every role gets the uploader fields empty: the keys that write to the bucket stay on the
    server, which signs each upload for its own object (`resources/bigparts.py`). The fields
    stay, empty, so that older clients still parse the document.
    """
    if not settings.s3_endpoint:
        raise ResourceNotFound("this server has no CDN configured (AZAION_S3_ENDPOINT)")
    del role  # the same document for every role now
    document = {
        "host": settings.s3_endpoint,
        "bucket": settings.s3_bucket,
        "region": settings.s3_region,
        "downloader_access_key": settings.s3_downloader_key,
        "downloader_access_secret": settings.s3_downloader_secret.get_secret_value(),
        "uploader_access_key": "",
        "uploader_access_secret": "",
    }
    text: str = yaml.safe_dump(document, sort_keys=False)
    return text.encode("utf-8")


class CdnDocuments:
    """`cdn.yaml` as served to readers and to uploaders, made once from the settings (not per call)."""

    def __init__(self, settings: ResourceSettings) -> None:
        self._settings = settings
        self._documents: dict[bool, bytes] = {}
        if settings.s3_endpoint:
            self._documents = {
                False: cdn_yaml(settings, Role.OPERATOR.value),
                True: cdn_yaml(settings, Role.ADMIN.value),
            }

    def __repr__(self) -> str:
        return f"CdnDocuments(configured={bool(self._documents)})"

    def document(self, role: str) -> bytes:
        """The YAML for a caller with `role`; ResourceNotFound without AZAION_S3_ENDPOINT."""
        if not self._documents:
            return cdn_yaml(self._settings, role)  # raises the 404 with its explanation
        return self._documents[role in UPLOADER_ROLE_VALUES]


def ensure_bucket(settings: ResourceSettings) -> bool:
    """Create the bucket with the uploader keys when it is missing; True when it exists after.

    Never fails the start-up: an unreachable store is logged, and the server runs on (the API
    itself does not need S3; only clients moving big parts do).
    """
    if not settings.s3_endpoint:
        return False
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_uploader_key or None,
        aws_secret_access_key=settings.s3_uploader_secret.get_secret_value() or None,
        config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 1}),
    )
    bucket = settings.s3_bucket
    try:
        try:
            client.head_bucket(Bucket=bucket)
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
        options = {}
        if settings.s3_region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": settings.s3_region}
        client.create_bucket(Bucket=bucket, **options)
        log.info("created bucket %s on %s", bucket, settings.s3_endpoint)
        return True
    except (BotoCoreError, ClientError) as e:
        log.warning("S3 bucket %s on %s not checked: %s", bucket, settings.s3_endpoint, type(e).__name__)
        return False


__all__ = ["CDN_FILE", "CdnDocuments", "cdn_yaml", "ensure_bucket"]
