# cython: language_level=3
# S3 transfers of big parts. boto3 is imported on first use only: a loader that finds its big
# parts in the cache never pays for it. Reads use the downloader key pair, writes the uploader's.
from azaion import constants
from azaion.errors import CDNError, ConfigurationError, PermissionDenied, ResourceNotFound

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

from azaion.security cimport ResourceEncryptor

# The uploader key pair is optional: a server gives it only to roles that may upload.
cdef tuple REQUIRED = ("host", "downloader_access_key", "downloader_access_secret")
# Multipart uploads: S3 allows parts of 5 MiB and more (but the last), 10,000 parts at most.
cdef Py_ssize_t MIB = 1024 * 1024
cdef Py_ssize_t PART_SIZE = 8 * MIB
cdef Py_ssize_t MAX_PARTS = 10000


cdef bytes next_part(ResourceEncryptor source, Py_ssize_t size):
    # The next `size` bytes of the ciphertext, sealed straight into a new bytes object (filled
    # before anything else can see it, so boto3 sends it without a copy).
    cdef bytes part = PyBytes_FromStringAndSize(NULL, size)
    cdef unsigned char[::1] view
    if size:
        view = <unsigned char[:size]> <unsigned char*> PyBytes_AS_STRING(part)
        if source.read_into(view) != size:
            raise ValueError("the ciphertext stream ended early")
    return part


cdef int write_part(object cache_file, bytes part):
    # The uploader's cache is a convenience: a full disk gives it up, not the upload.
    try:
        cache_file.write(part)
    except OSError:
        return 1
    return 0


cdef class CDNCredentials:

    def __init__(self, str host, str downloader_access_key, str downloader_access_secret,
                 str uploader_access_key=None, str uploader_access_secret=None, str bucket="azaion",
                 str region="us-east-1"):
        if not host or not host.startswith(("http://", "https://")):
            raise ConfigurationError(f"CDN host {host!r} must be an http:// or https:// URL")
        self.host = host.rstrip("/")
        self.bucket = bucket
        self.region = region
        self.downloader_access_key = downloader_access_key
        self.downloader_access_secret = downloader_access_secret
        self.uploader_access_key = uploader_access_key
        self.uploader_access_secret = uploader_access_secret

    @staticmethod
    cdef CDNCredentials from_yaml(bytes text):
        import yaml

        hint = "ask the server's administrator to check its S3 settings"
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigurationError(f"cdn.yaml from the server is not valid YAML; {hint}") from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"cdn.yaml from the server is not a mapping; {hint}")
        missing = [key for key in REQUIRED if not isinstance(data.get(key), str) or not data.get(key)]
        if missing:
            raise ConfigurationError(f"cdn.yaml from the server lacks {', '.join(missing)}; {hint}")
        if not data["host"].startswith(("http://", "https://")):
            raise ConfigurationError(f"cdn.yaml from the server gives host {data['host']!r}, not an http(s) URL; {hint}")
        return CDNCredentials(
            data["host"],
            data["downloader_access_key"],
            data["downloader_access_secret"],
            data.get("uploader_access_key") or None,
            data.get("uploader_access_secret") or None,
            str(data.get("bucket") or "azaion"),
            str(data.get("region") or "us-east-1"),
        )

    def __repr__(self):
        return f"CDNCredentials(host={self.host!r}, bucket={self.bucket!r}, keys=***)"

    def __reduce__(self):
        raise TypeError("CDN credentials cannot be pickled")


cdef class CDNManager:

    def __init__(self, CDNCredentials creds):
        self.creds = creds

    cdef object client(self, bint uploader):
        cached = self._uploader if uploader else self._downloader
        if cached is not None:
            return cached
        if uploader and not (self.creds.uploader_access_key and self.creds.uploader_access_secret):
            raise PermissionDenied("the server gave this account no CDN upload keys; uploads need an uploader "
                                   "role (ResourceUploader, Admin or ApiAdmin)")
        import boto3
        from botocore.config import Config

        connect, read = constants.timeouts()
        config = Config(
            connect_timeout=connect,
            read_timeout=read,
            retries={"max_attempts": constants.max_retries() + 1, "mode": "standard"},
            max_pool_connections=max(10, constants.transfer_concurrency() * 2),
            signature_version="s3v4",
        )
        made = boto3.session.Session().client(
            "s3",
            endpoint_url=self.creds.host,
            region_name=self.creds.region,
            aws_access_key_id=self.creds.uploader_access_key if uploader else self.creds.downloader_access_key,
            aws_secret_access_key=(
                self.creds.uploader_access_secret if uploader else self.creds.downloader_access_secret
            ),
            config=config,
        )
        if uploader:
            self._uploader = made
        else:
            self._downloader = made
        return made

    cdef object cdn_error(self, object error, str action, str key):
        from botocore.exceptions import ClientError

        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return ResourceNotFound(
                    f"the CDN has no big part {key!r}; the resource may have been deleted or never "
                    "uploaded completely: ask the publisher to upload it again"
                )
            if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return CDNError(f"the CDN refused to {action} {key!r} ({code}); the CDN keys in cdn.yaml "
                                "are wrong or lack permission: ask the server's administrator")
            return CDNError(f"the CDN failed to {action} {key!r} ({code}); try again later")
        return CDNError(f"the CDN at {self.creds.host} could not {action} {key!r} "
                        f"({type(error).__name__}); check the network and try again")

    cdef object open_download(self, str key, Py_ssize_t start):
        # A streaming GET from byte `start`: (body, length of what follows, total object size).
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs = {"Bucket": self.creds.bucket, "Key": key}
        if start:
            kwargs["Range"] = f"bytes={start}-"
        try:
            answer = self.client(False).get_object(**kwargs)
        except (BotoCoreError, ClientError) as e:
            raise self.cdn_error(e, "download", key) from None
        length = int(answer["ContentLength"])
        total = length
        content_range = answer.get("ContentRange")
        if content_range and "/" in content_range:
            total = int(content_range.rsplit("/", 1)[1])
        return answer["Body"], length, total

    cdef object head(self, str key):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client(False).head_object(Bucket=self.creds.bucket, Key=key)
        except (BotoCoreError, ClientError) as e:
            raise self.cdn_error(e, "read", key) from None

    cdef int upload(self, str key, ResourceEncryptor source, Py_ssize_t length, object progress,
                    object cache_file) except -1:
        # The next `length` bytes of the encryptor's ciphertext stream to `key`, sealed part by
        # part as they are sent: a multipart upload with AZAION_CONCURRENCY parts in flight, so
        # the whole ciphertext never exists in memory. Each part is also written to `cache_file`
        # (the uploader's cache) when one is given; returns 1 if that failed and was given up,
        # else 0. A failed multipart upload is aborted: nothing is left on the CDN.
        from botocore.exceptions import BotoCoreError, ClientError

        cdef Py_ssize_t part_size = PART_SIZE
        cdef int cache_failed = 0
        if (length + part_size - 1) // part_size > MAX_PARTS:
            part_size = ((length + MAX_PARTS - 1) // MAX_PARTS + MIB - 1) // MIB * MIB
        bucket = self.creds.bucket
        try:
            client = self.client(True)
            if length <= part_size:
                part = next_part(source, length)
                client.put_object(Bucket=bucket, Key=key, Body=part)
                if cache_file is not None:
                    cache_failed = write_part(cache_file, part)
                if progress is not None:
                    progress(length, length)
                return cache_failed
            # CRC32 per part, combined by S3 (as boto3's own managed upload does): without an
            # algorithm S3 may checksum the whole object once more when the upload completes.
            upload_id = client.create_multipart_upload(Bucket=bucket, Key=key,
                                                       ChecksumAlgorithm="CRC32")["UploadId"]
        except (BotoCoreError, ClientError) as e:
            raise self.cdn_error(e, "upload", key) from None
        try:
            cache_failed = self.send_parts(client, key, upload_id, source, length, part_size, progress, cache_file)
        except BaseException as e:
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            except Exception as abort_error:
                import logging

                logging.getLogger("azaion").warning("could not abort the multipart upload of %s: %s", key,
                                                    type(abort_error).__name__)
            if isinstance(e, (BotoCoreError, ClientError)):
                raise self.cdn_error(e, "upload", key) from None
            raise
        return cache_failed

    cdef int send_parts(self, object client, str key, str upload_id, ResourceEncryptor source, Py_ssize_t length,
                        Py_ssize_t part_size, object progress, object cache_file) except -1:
        # The caller's thread seals the next part while up to `workers` earlier ones are on the
        # wire (sockets, hashing and cryptography's bulk calls run without the GIL where they can).
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        from botocore.exceptions import BotoCoreError, ClientError

        cdef Py_ssize_t produced = 0, sent = 0, size
        cdef int number = 0, cache_failed = 0, workers = max(1, constants.transfer_concurrency())
        bucket = self.creds.bucket
        pending = {}
        etags = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="azaion-upload") as pool:
            try:
                while produced < length:
                    size = min(part_size, length - produced)
                    part = next_part(source, size)
                    produced += size
                    number += 1
                    future = pool.submit(client.upload_part, Bucket=bucket, Key=key, UploadId=upload_id,
                                         PartNumber=number, Body=part, ChecksumAlgorithm="CRC32")
                    pending[future] = (number, size)
                    if cache_file is not None and not cache_failed:
                        cache_failed = write_part(cache_file, part)
                    del part
                    while len(pending) >= workers or (produced == length and pending):
                        finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                        for future in finished:
                            part_number, part_len = pending.pop(future)
                            answer = future.result()
                            etags[part_number] = {"ETag": answer["ETag"], "PartNumber": part_number}
                            if answer.get("ChecksumCRC32"):
                                etags[part_number]["ChecksumCRC32"] = answer["ChecksumCRC32"]
                            sent += part_len
                            if progress is not None:
                                progress(sent, length)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id,
            MultipartUpload={"Parts": [etags[n] for n in sorted(etags)]},
        )
        return cache_failed

    cdef int delete(self, str key) except -1:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client(True).delete_object(Bucket=self.creds.bucket, Key=key)
        except (BotoCoreError, ClientError) as e:
            import logging

            logging.getLogger("azaion").warning("could not remove %s from the CDN: %s", key, type(e).__name__)
        return 0

    cdef int delete_versions(self, str folder, str name, str keep) except -1:
        # Best effort: a failure here leaves an unreachable object behind, never a wrong answer.
        import re

        from botocore.exceptions import BotoCoreError, ClientError

        prefix = f"{folder}/{name}."
        pattern = re.compile(re.escape(prefix) + r"[0-9a-f]{32}" + re.escape(constants.BIG_SUFFIX))
        try:
            client = self.client(True)
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.creds.bucket, Prefix=prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    if item["Key"] != keep and pattern.fullmatch(item["Key"]):
                        client.delete_object(Bucket=self.creds.bucket, Key=item["Key"])
        except (BotoCoreError, ClientError) as e:
            import logging

            logging.getLogger("azaion").warning("could not remove old big parts of %s/%s: %s", folder, name,
                                                type(e).__name__)
        return 0

    def __repr__(self):
        return f"CDNManager(host={self.creds.host!r}, bucket={self.creds.bucket!r})"
