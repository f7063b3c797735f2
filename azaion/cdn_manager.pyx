# cython: language_level=3
# S3 transfers of big parts. boto3 is imported on first use only: a loader that finds its big
# parts in the cache never pays for it. Reads use the downloader key pair, writes the uploader's.
from azaion import constants
from azaion.errors import CDNError, ConfigurationError, PermissionDenied, ResourceNotFound

# The uploader key pair is optional: a server gives it only to roles that may upload.
cdef tuple REQUIRED = ("host", "downloader_access_key", "downloader_access_secret")


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

    cdef int upload(self, str key, object data, object progress) except -1:
        # Multipart and concurrent above the threshold (boto3's TransferConfig); `data` is any
        # buffer, wrapped in a file object without a copy.
        import io

        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        if self.transfer_config is None:
            self.transfer_config = TransferConfig(
                multipart_threshold=8 * 1024 * 1024,
                multipart_chunksize=8 * 1024 * 1024,
                max_concurrency=constants.transfer_concurrency(),
                use_threads=True,
            )
        view = memoryview(data)
        total = view.nbytes
        state = [0]

        def callback(int sent):
            state[0] += sent
            if progress is not None:
                progress(min(state[0], total), total)

        try:
            self.client(True).upload_fileobj(
                io.BytesIO(view), self.creds.bucket, key, Config=self.transfer_config, Callback=callback
            )
        except (BotoCoreError, ClientError) as e:
            raise self.cdn_error(e, "upload", key) from None
        except Exception as e:
            if type(e).__module__.startswith(("boto3", "botocore", "s3transfer")):
                raise self.cdn_error(e, "upload", key) from None
            raise
        return 0

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
