"""Uploads of big parts through presigned URLs: no client holds a key that writes to the bucket.

Every uploader used to get the same S3 key pair in `cdn.yaml`, so any of them could overwrite
any object, another owner's published big part included. Now the server keeps the writing keys
(AZAION_S3_UPLOADER_KEY/SECRET) and signs, for one caller and one object, the requests it may
make: a PUT of the whole object, or the part PUTs of a multipart upload (the server starts it,
and completes it on `POST .../big/complete`), an abort, and a DELETE of that same object (the
orphan a refused small part leaves). The object's key is the client's big-part scheme
`{folder}/{name}.{version}.big` (`version`: 32 hex digits, the salt in the small part's header),
and the server signs it only for a caller that may write `{folder}/{name}`: a name that does
not exist yet, or one the caller owns (Admins and ApiAdmins: any). Downloads keep the read-only
key pair of `cdn.yaml`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from azaion_server.errors import ApiError, BadRequest, Forbidden
from azaion_server.names import check_name, check_upload_folder
from azaion_server.resources.entities import Resource
from azaion_server.resources.exceptions import ResourceNotFound
from azaion_server.resources.policy import is_owner
from azaion_server.resources.settings import ResourceSettings
from azaion_server.vocabulary import Caller, Role

log = logging.getLogger(__name__)

BIG_SUFFIX = ".big"
VERSION_PATTERN = re.compile(r"[0-9a-f]{32}")
# Multipart: S3 parts are 5 MiB and more (but the last), 10,000 at most.
MIB = 1024 * 1024
PART_SIZE = 8 * MIB
MAX_PARTS = 10000
MAX_OBJECT_BYTES = 5 * 1024 * 1024 * MIB  # S3's limit for one object: 5 TiB


def big_key(folder: str, name: str, version: str) -> str:
    """The object key of one version's big part (the client's scheme, docs/formats.md)."""
    return f"{folder}/{name}.{version}{BIG_SUFFIX}"


def part_size_for(size: int) -> int:
    """8 MiB, or the next whole MiB that keeps `size` within 10,000 parts."""
    if (size + PART_SIZE - 1) // PART_SIZE <= MAX_PARTS:
        return PART_SIZE
    return ((size + MAX_PARTS - 1) // MAX_PARTS + MIB - 1) // MIB * MIB


def check_writable(session: Session, caller: Caller, folder: str, name: str) -> None:
    """Forbidden unless `caller` may store a version of `folder/name` (new, or its own)."""
    check_upload_folder(folder)
    check_name(name)
    resource = session.scalar(select(Resource).where(Resource.folder == folder, Resource.name == name))
    if (
        resource is not None
        and caller.role == Role.RESOURCE_UPLOADER.value
        and not is_owner(caller, resource)
    ):
        raise Forbidden("this resource belongs to another uploader")


class BigPartStore:
    """The server's side of the bucket: signing upload URLs, completing uploads, removing old versions."""

    def __init__(self, settings: ResourceSettings) -> None:
        self._settings = settings
        self._client: Any = None

    def __repr__(self) -> str:
        return f"BigPartStore(endpoint={self._settings.s3_endpoint!r}, bucket={self._settings.s3_bucket!r})"

    @property
    def url_seconds(self) -> int:
        """How long a signed URL stays valid."""
        return self._settings.s3_upload_url_seconds

    def client(self) -> Any:
        """A boto3 S3 client with the server's writing keys (made once)."""
        if not self._settings.s3_endpoint:
            raise ResourceNotFound("this server has no CDN configured (AZAION_S3_ENDPOINT)")
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self._settings.s3_endpoint,
                region_name=self._settings.s3_region,
                aws_access_key_id=self._settings.s3_uploader_key or None,
                aws_secret_access_key=self._settings.s3_uploader_secret.get_secret_value() or None,
                config=Config(signature_version="s3v4", connect_timeout=5, read_timeout=30),
            )
        return self._client

    def _sign(self, operation: str, method: str, **params: Any) -> str:
        url: str = self.client().generate_presigned_url(
            operation,
            Params={"Bucket": self._settings.s3_bucket, **params},
            ExpiresIn=self.url_seconds,
            HttpMethod=method,
        )
        return url

    def grant(self, folder: str, name: str, version: str, size: int) -> dict[str, Any]:
        """Signed URLs for uploading `size` bytes as the big part `version` of `folder/name`."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not VERSION_PATTERN.fullmatch(version):
            raise BadRequest("version: 32 lowercase hex digits")
        if not 0 <= size <= MAX_OBJECT_BYTES:
            raise BadRequest("size out of range")
        key = big_key(folder, name, version)
        part_size = part_size_for(size)
        answer: dict[str, Any] = {
            "key": key,
            "expires_in": self.url_seconds,
            "delete_url": self._sign("delete_object", "DELETE", Key=key),
        }
        if size <= part_size:
            answer.update(
                url=self._sign("put_object", "PUT", Key=key), upload_id=None, part_size=size, parts=[]
            )
            return answer
        try:
            upload_id = self.client().create_multipart_upload(Bucket=self._settings.s3_bucket, Key=key)[
                "UploadId"
            ]
        except (BotoCoreError, ClientError) as e:
            raise _unavailable(e) from None
        count = (size + part_size - 1) // part_size
        parts = [
            self._sign("upload_part", "PUT", Key=key, UploadId=upload_id, PartNumber=number)
            for number in range(1, count + 1)
        ]
        answer.update(
            url=None,
            upload_id=upload_id,
            part_size=part_size,
            parts=parts,
            abort_url=self._sign("abort_multipart_upload", "DELETE", Key=key, UploadId=upload_id),
        )
        return answer

    def complete(self, folder: str, name: str, version: str, upload_id: str, etags: list[str]) -> None:
        """Complete the multipart upload `upload_id` of that big part from its parts' ETags."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not VERSION_PATTERN.fullmatch(version):
            raise BadRequest("version: 32 lowercase hex digits")
        parts = [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, start=1)]
        try:
            self.client().complete_multipart_upload(
                Bucket=self._settings.s3_bucket,
                Key=big_key(folder, name, version),
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchUpload", "InvalidPart", "InvalidPartOrder", "EntityTooSmall", "404"):
                raise BadRequest(f"the upload cannot be completed ({code})") from None
            # Some stores (moto among them) fail with a 5xx for an upload id they never issued:
            # ask whether the upload exists before blaming the store.
            if not self._upload_exists(folder, name, version, upload_id):
                raise BadRequest("the upload cannot be completed (NoSuchUpload)") from None
            raise _unavailable(e) from None
        except BotoCoreError as e:
            raise _unavailable(e) from None

    def _upload_exists(self, folder: str, name: str, version: str, upload_id: str) -> bool:
        # The uploads in progress for that key, not list_parts: moto fails list_parts with a 5xx
        # too for an upload id it never issued (found by schemathesis).
        from botocore.exceptions import BotoCoreError, ClientError

        key = big_key(folder, name, version)
        try:
            answer = self.client().list_multipart_uploads(Bucket=self._settings.s3_bucket, Prefix=key)
        except (BotoCoreError, ClientError):
            return True
        return any(u.get("UploadId") == upload_id and u.get("Key") == key for u in answer.get("Uploads", []))

    def remove_older_versions(self, folder: str, name: str, small: bytes) -> None:
        """Best effort, after a new small part is stored: the big parts no small part refers to."""
        if not self._settings.s3_endpoint or len(small) < 26:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        keep = big_key(folder, name, small[10:26].hex())
        prefix = f"{folder}/{name}."
        pattern = re.compile(re.escape(prefix) + r"[0-9a-f]{32}" + re.escape(BIG_SUFFIX))
        try:
            client = self.client()
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=self._settings.s3_bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    if item["Key"] != keep and pattern.fullmatch(item["Key"]):
                        client.delete_object(Bucket=self._settings.s3_bucket, Key=item["Key"])
        except (BotoCoreError, ClientError) as e:
            log.warning("could not remove old big parts of %s/%s: %s", folder, name, type(e).__name__)


def _unavailable(error: Exception) -> Exception:
    log.warning("the S3 store failed: %s", type(error).__name__)
    return ApiError("the CDN store is unavailable; try again later", status=503, code="INTERNAL")


__all__ = ["BigPartStore", "big_key", "check_writable", "part_size_for"]
