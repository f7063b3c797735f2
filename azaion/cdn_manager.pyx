# cython: language_level=3
# S3 transfers of big parts. boto3 is imported on first use only: a loader that finds its big
# parts in the cache never pays for it. Reads use the downloader key pair of cdn.yaml; writes go
# through URLs the server signs for this caller's own object (POST /resources/{folder}/{name}/big),
# so no client holds a key that could overwrite another uploader's objects.
from azaion import constants
from azaion.errors import CDNError, ConfigurationError, ResourceNotFound

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

from azaion.security cimport ResourceEncryptor

# cdn.yaml's uploader fields are ignored: servers now leave them empty.
cdef tuple REQUIRED = ("host", "downloader_access_key", "downloader_access_secret")


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

    def __init__(self, str host, str downloader_access_key, str downloader_access_secret, str bucket="azaion",
                 str region="us-east-1"):
        if not host or not host.startswith(("http://", "https://")):
            raise ConfigurationError(f"CDN host {host!r} must be an http:// or https:// URL")
        self.host = host.rstrip("/")
        self.bucket = bucket
        self.region = region
        self.downloader_access_key = downloader_access_key
        self.downloader_access_secret = downloader_access_secret

    @staticmethod
    cdef CDNCredentials from_yaml(bytes text):
        import yaml

        hint = "ask the server's administrator to check its S3 settings"
        data = None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            pass  # raised below, not here: the YAML error holds the text, keys included, as context
        if data is None:
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
            str(data.get("bucket") or "azaion"),
            str(data.get("region") or "us-east-1"),
        )

    def __repr__(self):
        return f"CDNCredentials(host={self.host!r}, bucket={self.bucket!r}, keys=***)"

    def __reduce__(self):
        raise TypeError("CDN credentials cannot be pickled")


cdef str big_key(str folder, str name, str version):
    # The one place the CDN's object key of a big part is written (docs/formats.md): each
    # version is its own object, named after the salt in its header, so an upload never
    # overwrites the big part a loader is reading, and a refused upload clobbers nothing.
    return f"{folder}/{name}.{version}{constants.BIG_SUFFIX}"


cdef class Download:
    # A streaming GET of a big part: `length` bytes follow, of an object of `total` bytes.

    def __init__(self):
        raise TypeError("Download is not supposed to be instantiated from Python")

    cdef bytes read(self, Py_ssize_t size):
        # Up to `size` bytes; b"" at the end. A broken stream is a CDNError, raised outside the
        # handler so that no library exception (nor its frames) rides along as its context.
        failure = None
        try:
            return self.body.read(size)
        except Exception as e:
            failure = type(e).__name__
        raise CDNError(f"the download of {self.key!r} from the CDN broke off ({failure}); load it again "
                       "to resume") from None

    cdef int close(self) except -1:
        self.body.close()
        return 0

    def __repr__(self):
        return f"Download(key={self.key!r})"


cdef class CDNManager:

    def __init__(self, *args, **kwargs):
        raise TypeError("CDNManager is not supposed to be instantiated from Python; ApiClient makes it "
                        "from the server's cdn.yaml")

    @staticmethod
    cdef CDNManager new(CDNCredentials creds):
        cdef CDNManager manager = CDNManager.__new__(CDNManager)
        manager.creds = creds
        return manager

    cdef object client(self):
        if self._downloader is not None:
            return self._downloader
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
            aws_access_key_id=self.creds.downloader_access_key,
            aws_secret_access_key=self.creds.downloader_access_secret,
            config=config,
        )
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

    cdef Download open_download(self, str key, Py_ssize_t start):
        # A streaming GET from byte `start`.
        from botocore.exceptions import BotoCoreError, ClientError

        cdef Download download = Download.__new__(Download)
        kwargs = {"Bucket": self.creds.bucket, "Key": key}
        if start:
            kwargs["Range"] = f"bytes={start}-"
        failure = None
        try:
            answer = self.client().get_object(**kwargs)
        except (BotoCoreError, ClientError) as e:
            failure = self.cdn_error(e, "download", key)
        if failure is not None:
            raise failure from None
        download.key = key
        download.body = answer["Body"]
        download.length = int(answer["ContentLength"])
        download.total = download.length
        content_range = answer.get("ContentRange")
        if content_range and "/" in content_range:
            download.total = int(content_range.rsplit("/", 1)[1])
        return download

    cdef Py_ssize_t size(self, str key) except -1:
        from botocore.exceptions import BotoCoreError, ClientError

        failure = None
        try:
            return int(self.client().head_object(Bucket=self.creds.bucket, Key=key)["ContentLength"])
        except (BotoCoreError, ClientError) as e:
            failure = self.cdn_error(e, "read", key)
        raise failure from None

    cdef object signed_request(self, object session, str method, str url, object body, tuple timeout,
                               str key):
        # One request to a URL the server signed; any failure is a CDNError.
        import requests

        try:
            response = session.request(method, url, data=body, timeout=timeout, allow_redirects=False)
        except requests.exceptions.RequestException as e:
            raise CDNError(f"the CDN at {self.creds.host} could not upload {key!r} ({type(e).__name__}); "
                           "check the network and try again") from None
        if response.status_code in (401, 403):
            raise CDNError(f"the CDN refused the signed upload of {key!r} ({response.status_code}); the URL may "
                           "have expired (AZAION_S3_UPLOAD_URL_SECONDS on the server): try again")
        if response.status_code >= 300:
            raise CDNError(f"the CDN failed to upload {key!r} ({response.status_code}); try again later")
        return response

    cdef int upload(self, dict grant, object session, tuple timeout, ResourceEncryptor source, Py_ssize_t length,
                    object progress, object cache_file, list etags) except -1:
        # The next `length` bytes of the encryptor's ciphertext stream to the object of `grant`
        # (the server's answer to POST .../big), sealed part by part as they are sent: one signed
        # PUT, or the signed part PUTs of a multipart upload with AZAION_CONCURRENCY in flight, so
        # the whole ciphertext never exists in memory. The parts' ETags go into `etags` (the caller
        # has the server complete the upload). Each part is also written to `cache_file` when one
        # is given; returns 1 if that failed and was given up, else 0. A failed multipart upload is
        # aborted: nothing is left on the CDN.
        cdef Py_ssize_t part_size = grant["part_size"]
        cdef int cache_failed = 0
        key = str(grant["key"])
        if grant.get("upload_id") is None:
            part = next_part(source, length)
            self.signed_request(session, "PUT", grant["url"], part, timeout, key)
            if cache_file is not None:
                cache_failed = write_part(cache_file, part)
            if progress is not None:
                progress(length, length)
            return cache_failed
        try:
            cache_failed = self.send_parts(grant["parts"], session, timeout, key, source, length, part_size,
                                           progress, cache_file, etags)
        except BaseException:
            self.abort(grant, session, timeout)
            raise
        return cache_failed

    cdef int abort(self, dict grant, object session, tuple timeout) except -1:
        # Best effort: an upload never completed is removed by the store's own lifecycle rules too.
        try:
            if grant.get("abort_url"):
                self.signed_request(session, "DELETE", grant["abort_url"], None, timeout, str(grant["key"]))
        except CDNError as e:
            import logging

            logging.getLogger("azaion").warning("could not abort the multipart upload: %s", e)
        return 0

    cdef int delete(self, dict grant, object session, tuple timeout) except -1:
        # Best effort: the orphan a refused small part left (the server signed its DELETE).
        try:
            self.signed_request(session, "DELETE", grant["delete_url"], None, timeout, str(grant["key"]))
        except CDNError as e:
            import logging

            logging.getLogger("azaion").warning("could not remove %s from the CDN: %s", grant["key"], e)
        return 0

    cdef int send_parts(self, list urls, object session, tuple timeout, str key, ResourceEncryptor source,
                        Py_ssize_t length, Py_ssize_t part_size, object progress, object cache_file,
                        list etags) except -1:
        # The caller's thread seals the next part while up to `workers` earlier ones are on the
        # wire (sockets, hashing and cryptography's bulk calls run without the GIL where they can).
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        cdef Py_ssize_t produced = 0, sent = 0, size
        cdef int number = 0, cache_failed = 0, workers = max(1, constants.transfer_concurrency())
        if (length + part_size - 1) // part_size != len(urls):
            raise CDNError(f"the server signed {len(urls)} parts for {key!r}, not what {length} bytes need; "
                           "ask the server's administrator")
        pending = {}
        tags = {}

        def put_part(str url, bytes part):
            return self.signed_request(session, "PUT", url, part, timeout, key).headers.get("ETag", "")

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="azaion-upload") as pool:
            try:
                while produced < length:
                    size = min(part_size, length - produced)
                    part = next_part(source, size)
                    produced += size
                    number += 1
                    future = pool.submit(put_part, urls[number - 1], part)
                    pending[future] = (number, size)
                    if cache_file is not None and not cache_failed:
                        cache_failed = write_part(cache_file, part)
                    del part
                    while len(pending) >= workers or (produced == length and pending):
                        finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                        for future in finished:
                            part_number, part_len = pending.pop(future)
                            tags[part_number] = future.result()
                            sent += part_len
                            if progress is not None:
                                progress(sent, length)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        etags.extend(tags[n] for n in sorted(tags))
        return cache_failed

    def __repr__(self):
        return f"CDNManager(host={self.creds.host!r}, bucket={self.creds.bucket!r})"
