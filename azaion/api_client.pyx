# cython: language_level=3
# The client a loader process imports: log in, fetch a split-encrypted resource and return its
# plaintext in memory, or publish one. Method names and visibility follow
# ../shared/seeds/azaion-api-client.md; ../docs/formats.md and ../docs/protocol.md pin the bytes.
import logging
import os
import re
import time
import uuid
from pathlib import Path

from azaion import constants
from azaion.errors import (
    AuthenticationError,
    AzaionError,
    BadRequest,
    CacheError,
    CDNError,
    HardwareMismatch,
    IntegrityError,
    InvalidName,
    InvalidToken,
    LicenseError,
    LicenseExpired,
    NetworkError,
    NotAuthenticated,
    PermissionDenied,
    ResourceNotFound,
    ServerError,
    TooLarge,
    TooManyAttempts,
)

from azaion.cdn_manager cimport CDNCredentials, CDNManager
from azaion.constants cimport DEFAULT_SEGMENT_SIZE, HEADER_LEN, TAG_LEN
from azaion.credentials cimport Credentials, MachineCredentials
from azaion.hardware_service cimport HardwareService
from azaion.security cimport (
    EnvelopeKeys,
    ResourceDecryptor,
    ResourceEncryptor,
    answer_challenge,
    integrity_error,
    open_header,
    segment_read_size,
    small_length,
)
from azaion.user cimport User

log = logging.getLogger("azaion")

cdef int read_ahead_depth(Py_ssize_t step):
    # A cold load receives in a second thread (docs/performance.md): the network and the cache
    # file on one core, decryption on the other. Segments the receiver may be ahead: about
    # AZAION_CHUNK_SIZE bytes, at least one.
    return max(1, constants.chunk_size() // step)


cdef object RESERVED_NAMES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
cdef object CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# The server's error codes (docs/protocol.md) and the exception each one raises.
cdef dict ERRORS_BY_CODE = {
    "BAD_REQUEST": BadRequest,
    "INVALID_NAME": InvalidName,
    "INVALID_CREDENTIALS": AuthenticationError,
    "UNAUTHORIZED": AuthenticationError,
    "FORBIDDEN": PermissionDenied,
    "HARDWARE_MISMATCH": HardwareMismatch,
    "LICENSE_REQUIRED": LicenseError,
    "LICENSE_EXPIRED": LicenseExpired,
    "FOLDER_NOT_LICENSED": LicenseError,
    "NOT_FOUND": ResourceNotFound,
    "TOO_LARGE": TooLarge,
    "TOO_MANY_ATTEMPTS": TooManyAttempts,
    "TOO_MANY_STREAMS": TooManyAttempts,
}
cdef dict ADVICE = {
    "INVALID_CREDENTIALS": "check the email and password (or the machine client's key)",
    "UNAUTHORIZED": "the session was refused even after a fresh login; log in again",
    "FORBIDDEN": "this account's role may not do this; ask an administrator",
    "HARDWARE_MISMATCH": "this account is bound to another device; ask an administrator to reset "
                         "its hardware binding",
    "LICENSE_REQUIRED": "this account has no licence for this; ask an administrator for one",
    "LICENSE_EXPIRED": "this account's licence has expired; ask an administrator to renew it",
    "FOLDER_NOT_LICENSED": "this account's licence does not cover this folder; ask an administrator",
    "NOT_FOUND": "no such resource, or it is not published for this account; check the name and folder",
    "TOO_LARGE": "the upload is above the server's size limit",
    "TOO_MANY_ATTEMPTS": "too many failed logins; wait and try again",
    "TOO_MANY_STREAMS": "this account already follows the maximum number of event streams; close one and retry",
    "INVALID_NAME": "the server refused the name; use plain names without path separators",
    "BAD_REQUEST": "the server refused the request as malformed",
}


cdef str check_name(object value, str what):
    # Runs before any network or disk access: a name must never leave its directory.
    if not isinstance(value, str) or not value:
        raise InvalidName(f"the {what} name must be a non-empty string")
    if len(value) > 255:
        raise InvalidName(f"the {what} name is longer than 255 characters")
    if "/" in value or "\\" in value or CONTROL.search(value):
        raise InvalidName(f"the {what} name {value!r} holds a path separator or a control character")
    if value.startswith(".") or value.strip() != value or value.endswith("."):
        raise InvalidName(f"the {what} name {value!r} may not start or end with a dot or a space")
    if RESERVED_NAMES.match(value) or ":" in value or "%" in value:
        raise InvalidName(f"the {what} name {value!r} is reserved on some systems; choose another")
    return value


cdef str big_key(str folder, str name, object small):
    # Each version's big part is its own object, named after the salt in its header: an upload
    # never overwrites the big part a loader is reading, and a refused upload clobbers nothing.
    return f"{folder}/{name}.{bytes(small[10:26]).hex()}{constants.BIG_SUFFIX}"


cdef str glob_escape(str name):
    import glob

    return glob.escape(name)


cdef str disk_name(str name):
    # A name of up to 255 characters leaves no room on most file systems for the ".big" suffix
    # and the temporary file's; long names are shortened to a prefix and a digest of the whole.
    import hashlib

    encoded = name.encode("utf-8")
    if len(encoded) <= 180:
        return name
    prefix = encoded[:120].decode("utf-8", "ignore")
    return f"{prefix}~{hashlib.sha256(encoded).hexdigest()[:32]}"


cdef raise_for_response(object response):
    # The one place where an HTTP answer of the Resource API becomes an exception.
    cdef int status = response.status_code
    if status < 400:
        return
    code = None
    server_message = None
    try:
        body = response.json()
        if isinstance(body, dict):
            code = body.get("code")
            server_message = body.get("message")
    except ValueError:
        pass
    if status >= 500:
        retry_after = response.headers.get("Retry-After")
        hint = f"; the server asks to retry after {retry_after} s" if retry_after else "; try again later"
        raise ServerError(f"the API answered {status} after retries{hint}", code="SERVER_ERROR", status=status)
    if code not in ERRORS_BY_CODE:
        code = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                413: "TOO_LARGE", 429: "TOO_MANY_ATTEMPTS"}.get(status, "BAD_REQUEST")
    cls = ERRORS_BY_CODE[code]
    message = ADVICE[code]
    if server_message and code in ("BAD_REQUEST", "INVALID_NAME"):
        message = f"{message}: {server_message}"
    message = f"{message} (HTTP {status})"
    if cls is TooManyAttempts:
        try:
            retry_after = float(response.headers.get("Retry-After", ""))
        except ValueError:
            retry_after = None
        raise TooManyAttempts(message, retry_after=retry_after, code=code, status=status)
    raise cls(message, code=code, status=status)


cdef object make_session(str api_url):
    # One session per client: pooled keep-alive connections and one retry policy. Calls that
    # only read (login, resources/get, listings) are retried on network errors and 5xx; an
    # upload is retried only when the connection failed before anything was sent.
    import requests
    from requests.adapters import HTTPAdapter

    from azaion._retry import CappedRetry as retry

    retries = constants.max_retries()
    factor = constants.backoff_factor()
    common = dict(
        backoff_factor=factor,
        status_forcelist=(500, 502, 503, 504),
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
        redirect=0,
    )
    safe = retry(total=retries, connect=retries, read=retries, status=retries, other=0,
                 allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST"}), **common)
    unsafe = retry(total=retries, connect=retries, read=0, status=0, other=0,
                   allowed_methods=frozenset({"GET", "HEAD"}), **common)
    session = requests.Session()
    session.headers["User-Agent"] = constants.USER_AGENT
    session.verify = True
    session.trust_env = True
    session.mount("https://", HTTPAdapter(max_retries=safe, pool_connections=4, pool_maxsize=16))
    session.mount("http://", HTTPAdapter(max_retries=safe, pool_connections=4, pool_maxsize=16))
    # requests picks the adapter with the longest matching prefix.
    session.mount(f"{api_url}/resources/", HTTPAdapter(max_retries=unsafe, pool_maxsize=16))
    session.mount(f"{api_url}/resources/get/", HTTPAdapter(max_retries=safe, pool_maxsize=16))
    session.mount(f"{api_url}/auth_verify", HTTPAdapter(max_retries=unsafe, pool_maxsize=16))
    return session


cdef class ApiClient:

    def __init__(self, str api_url=None, *, cache_dir=None, jwt_public_key=None):
        self.api_url = constants.api_url(api_url)
        self.cache_dir = constants.cache_dir(cache_dir)
        self.timeout = constants.timeouts()
        self.public_key = jwt_public_key
        self.session = make_session(self.api_url)

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def close(self):
        """Close the HTTP session and forget the session token."""
        if self.session is not None:
            self.session.close()
        self.token = None
        self.envelope_keys = None

    def __repr__(self):
        who = self.user.email if self.user is not None else None
        return f"ApiClient(api_url={self.api_url!r}, user={who!r}, authenticated={self.is_authenticated()})"

    def __reduce__(self):
        raise TypeError("ApiClient cannot be pickled: it holds credentials")

    # -- authentication ----------------------------------------------------------------

    cpdef set_credentials_from_dict(self, str email, str password):
        self.set_credentials(Credentials(email, password))
        self.cdn_manager = None
        self.cdn()  # cdn.yaml now, as the seed does: a wrong password fails here, not at the first load

    def set_machine_credentials(self, str client_name, str key):
        """Authenticate as a machine client (name and the base64 key of ``POST /clients``)."""
        self.set_credentials(MachineCredentials(client_name, key))
        self.cdn_manager = None

    cdef set_credentials(self, Credentials credentials):
        if self.credentials is not None and not self.credentials.same_as(credentials):
            self.token = None
            self.user = None
            self.cdn_manager = None
        self.credentials = credentials
        self.envelope_keys = None

    cpdef login(self):
        if self.credentials is None:
            raise NotAuthenticated("no credentials: call set_credentials_from_dict(email, password) first")
        if self.credentials.is_machine():
            self.handshake()
            return
        response = self.send("POST", "/login",
                             {"json": {"email": self.credentials.email, "password": self.credentials.password()}},
                             False, False)
        raise_for_response(response)
        try:
            token = response.json()["token"]
        except (ValueError, KeyError, TypeError):
            raise InvalidToken("the login answer holds no token; is the API URL right?") from None
        self.set_token(token)

    cdef int handshake(self) except -1:
        # The registry's challenge-response (../shared/seeds/registry-api.rst): the key never
        # travels, only the challenge text encrypted with it.
        cdef MachineCredentials creds = <MachineCredentials> self.credentials
        refused = "the machine client handshake was refused; check the client name and key"
        response = self.send("POST", "/auth", {"json": {"client_name": creds.client_name}}, False, False)
        raise_for_response(response)
        challenge = self.json_of(response).get("challenge")
        if not isinstance(challenge, dict) or not all(k in challenge for k in ("id", "text", "cipher_iv")):
            raise AuthenticationError(refused)
        if str(challenge.get("cipher", "AES-256-CBC")).upper() != "AES-256-CBC":
            raise AuthenticationError(f"the server asks for cipher {challenge.get('cipher')!r}, "
                                      "which this client does not speak")
        try:
            answer = answer_challenge(creds.secret(), str(challenge["text"]), str(challenge["cipher_iv"]))
        except IntegrityError:
            raise AuthenticationError(refused) from None
        body = {"client_name": creds.client_name, "id": challenge["id"], "duration": 3600,
                "encrypted_text": answer}
        response = self.send("POST", "/auth_verify", {"json": body}, False, False)
        raise_for_response(response)
        session = self.json_of(response).get("session")
        if not isinstance(session, dict) or not isinstance(session.get("token"), str):
            raise AuthenticationError(refused)
        self.set_token(session["token"])
        return 0

    cdef object json_of(self, object response):
        try:
            return response.json()
        except ValueError:
            raise ServerError(f"the API answered {response.status_code} with a body that is not JSON; "
                              "is the API URL right?", status=response.status_code) from None

    cdef set_token(self, str token):
        import jwt

        try:
            if self.public_key is not None:
                claims = jwt.decode(token, self.public_key, algorithms=["RS256", "ES256", "EdDSA"],
                                    options={"verify_aud": False})
            else:
                claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise InvalidToken(f"the server's token could not be read ({type(e).__name__}); "
                               "check the API URL and the server's key") from None
        if not isinstance(claims, dict) or "nameid" not in claims or "unique_name" not in claims:
            raise InvalidToken("the server's token lacks the nameid or unique_name claim")
        self.token = token
        self.user = User.new(str(claims["nameid"]), str(claims["unique_name"]), claims.get("role"))

    def is_authenticated(self):
        """True when a session token is held and has not expired."""
        if not self.token:
            return False
        import jwt

        try:
            claims = jwt.decode(self.token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        exp = claims.get("exp")
        return exp is None or float(exp) > time.time()

    def logout(self):
        """Revoke the session token on the server and forget it here."""
        if self.token:
            try:
                response = self.send("POST", "/logout", {}, False, True)
                if response.status_code not in (401, 403):
                    raise_for_response(response)
            finally:
                self.token = None
                self.user = None

    def test_connection(self):
        """True when the API answers its health check, False when it cannot be reached."""
        try:
            response = self.send("GET", "/health", {}, False, False)
        except NetworkError:
            return False
        return response.status_code == 200

    # -- HTTP --------------------------------------------------------------------------

    cdef object send(self, str method, str url, object payload, bint is_stream, bint authenticated):
        import requests

        headers = {"Authorization": f"Bearer {self.token}"} if authenticated and self.token else {}
        if "headers" in payload:
            payload = dict(payload)
            headers.update(payload.pop("headers"))
        try:
            response = self.session.request(method, self.api_url + url, headers=headers, timeout=self.timeout,
                                            stream=is_stream, allow_redirects=False, **payload)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as e:
            log.debug("%s %s broke off: %s", method, url, type(e).__name__)
            raise NetworkError(f"the connection to the API at {self.api_url} broke off in the middle of an "
                               f"answer ({type(e).__name__}); try again") from None
        except requests.exceptions.RequestException as e:
            log.debug("%s %s failed: %s", method, url, type(e).__name__)
            raise NetworkError(f"could not reach the API at {self.api_url} ({type(e).__name__}); "
                               "check the URL and the network, then try again") from None
        log.debug("%s %s -> %s", method, url, response.status_code)
        return response

    cdef object request(self, str method, str url, object payload, bint is_stream):
        if not self.token:
            self.login()
        response = self.send(method, url, payload, is_stream, True)
        if response.status_code in (401, 403):
            # Sessions expire and servers restart: one fresh login, never a loop.
            response.close()
            self.login()
            response = self.send(method, url, payload, is_stream, True)
        raise_for_response(response)
        return response

    # -- resources ---------------------------------------------------------------------

    cdef HardwareService hardware_service(self):
        if self.hardware is None:
            self.hardware = HardwareService()
        return self.hardware

    cdef EnvelopeKeys keys(self):
        if self.credentials is None:
            raise NotAuthenticated("no credentials: call set_credentials_from_dict(email, password) first")
        if self.envelope_keys is None:
            self.envelope_keys = EnvelopeKeys.derive(self.credentials.identity(), self.credentials.secret(),
                                                     self.hardware_service().hardware_hash)
        return self.envelope_keys

    cdef CDNManager cdn(self):
        if self.cdn_manager is None:
            self.cdn_manager = CDNManager(CDNCredentials.from_yaml(self.load_bytes(constants.CDN_CONFIG,
                                                                                    constants.SYSTEM_FOLDER)))
        return self.cdn_manager

    cdef bytes load_bytes(self, str filename, str folder):
        check_name(folder, "folder")
        check_name(filename, "file")
        keys = self.keys()
        body = {"fileName": filename, "hardware": self.hardware_service().hardware_hash}
        if not self.credentials.is_machine():
            body["password"] = self.credentials.password()
        response = self.request("POST", f"/resources/get/{folder}", {"json": body}, False)
        return keys.open(response.content)

    cdef upload_file(self, str filename, bytes resource, str folder, str category=None, bint draft=False):
        check_name(folder, "folder")
        check_name(filename, "file")
        files = {"data": (filename, resource, "application/octet-stream")}
        form = {"draft": "true" if draft else "false"}
        if category:
            form["category"] = category
        return self.request("POST", f"/resources/{folder}", {"files": files, "data": form}, False)

    cdef object big_path(self, str folder, str name):
        return Path(self.cache_dir) / disk_name(folder) / (disk_name(name) + constants.BIG_SUFFIX)

    cdef object lock_for(self, object path):
        from filelock import FileLock

        lock_path = Path(self.cache_dir) / ".locks" / path.parent.name / (path.name + ".lock")
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CacheError(f"cannot create the cache directory {lock_path.parent} ({e.strerror}); "
                             "set AZAION_CACHE_DIR to a writable directory") from None
        return FileLock(str(lock_path))

    cdef bytes decrypt_cached(self, object path, bytes small, str folder, str name, object progress):
        # The cached big part, read in segment-aligned chunks into one reused buffer; each
        # segment is opened straight from it into the output buffer (allocated once, at its final
        # size). A reader thread was measured here and gained nothing: page-cache reads are cheap
        # next to first-touching the output (docs/performance.md).
        cdef ResourceDecryptor dec
        cdef Py_ssize_t size
        with open(path, "rb", buffering=0) as f:
            size = os.fstat(f.fileno()).st_size
            dec = ResourceDecryptor.new(small, len(small) + size, folder, name)
            self.feed_file(f, dec, size, progress, size)
        return dec.finish()

    cdef bytes download_big(self, object path, bytes small, str folder, str name, object progress):
        # Streams the big part from the CDN into a partial file beside its final path while
        # decrypting it, so it is verified as it arrives and never held in memory twice: a
        # second thread receives one segment at a time and writes it to the file, this one
        # opens it into the output buffer. Only a complete, verified file is renamed into place.
        # The partial file is named after the version and survives an interrupted download
        # (network, kill -9): the next load, under the same lock, re-verifies what it holds and
        # fetches only the rest.
        cdef ResourceDecryptor dec
        cdef CDNManager cdn = self.cdn()
        cdef Py_ssize_t done = 0, length, total, step, have, boundary
        key = big_key(folder, name, small)
        partial = path.with_name(f"{path.name}.{bytes(small[10:26]).hex()}.partial")
        for stale in path.parent.glob(f"{glob_escape(path.name)}.*.partial"):
            if stale != partial:
                stale.unlink(missing_ok=True)
        have = partial.stat().st_size if partial.exists() else 0
        if have:
            length = int(cdn.head(key)["ContentLength"])
        else:
            log.info("downloading the big part %s from the CDN", key)
            body, length, _ = cdn.open_download(key, 0)
        total = len(small) + length
        dec = ResourceDecryptor.new(small, total, folder, name)
        step = dec.segment_size + TAG_LEN
        keep = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "r+b" if have else "wb") as f:
                if have:
                    # Only whole segments count: the rest of the file is fetched again.
                    boundary = min(have, length)
                    if boundary < length:
                        boundary = max(0, HEADER_LEN + ((len(small) + boundary - HEADER_LEN) // step) * step
                                       - len(small))
                    try:
                        done = self.feed_file(f, dec, boundary, progress, length)
                    except IntegrityError:
                        log.info("the partial download of %s does not verify; starting over", key)
                        f.seek(0)
                        dec = ResourceDecryptor.new(small, total, folder, name)
                        done = 0
                    f.seek(done)
                    f.truncate()
                    if done < length:
                        log.info("resuming the big part %s from the CDN at byte %d of %d", key, done, length)
                        body, remaining, object_size = cdn.open_download(key, done)
                        if object_size != length:
                            body.close()
                            raise integrity_error()
                    else:
                        body = None
                position = [len(small) + done]

                def receive_segment():
                    want = segment_read_size(position[0], total, dec.segment_size, step)
                    if not want:
                        return None
                    try:
                        data = body.read(want)
                    except Exception as e:
                        raise CDNError(f"the download of {key!r} from the CDN broke off "
                                       f"({type(e).__name__}); load it again to resume") from None
                    if not data:
                        return None
                    f.write(data)
                    position[0] += len(data)
                    return data

                if body is not None:
                    from azaion._read_ahead import ReadAhead

                    ahead = ReadAhead(receive_segment, read_ahead_depth(step))
                    try:
                        while True:
                            data = ahead.next()
                            if data is None:
                                break
                            dec.feed(data)
                            done += len(data)
                            if progress is not None:
                                progress(done, length)
                    except (CDNError, NetworkError):
                        keep = True  # what arrived is kept for the next attempt
                        raise
                    finally:
                        ahead.close()
                        body.close()
            result = dec.finish()
            os.replace(partial, path)
        except OSError as e:
            raise CacheError(f"cannot write the cache file {path} ({e.strerror}); free some space or "
                             "set AZAION_CACHE_DIR to a writable directory") from None
        finally:
            if not keep:
                partial.unlink(missing_ok=True)
        return result

    cdef Py_ssize_t feed_file(self, object f, ResourceDecryptor dec, Py_ssize_t size, object progress,
                              Py_ssize_t length) except -1:
        # Feeds the first `size` bytes of an open file to the decryptor in segment-aligned reads.
        cdef Py_ssize_t done = 0, want
        buffer = bytearray(4 * (dec.segment_size + TAG_LEN))
        view = memoryview(buffer)
        while done < size:
            want = min(dec.read_size(len(buffer)), size - done)
            n = f.readinto(view[:want])
            if not n:
                break
            dec.feed(view[:n])
            done += n
            if progress is not None:
                progress(done, length)
        return done

    cdef bytes load_big_file_cdn(self, str folder, str big_part):
        check_name(folder, "folder")
        check_name(big_part, "file")
        body, length, total = self.cdn().open_download(f"{folder}/{big_part}", 0)
        try:
            return body.read()
        except Exception as e:
            raise CDNError(f"the download of {big_part!r} from the CDN broke off ({type(e).__name__}); "
                           "try again") from None
        finally:
            body.close()

    cpdef bytes load_big_small_resource(self, str resource_name, str folder, object progress=None):
        check_name(folder, "folder")
        check_name(resource_name, "resource")
        small = self.load_bytes(resource_name, folder)
        open_header(small, folder, resource_name)
        path = self.big_path(folder, resource_name)
        seen = None
        try:
            seen = os.stat(path)
            return self.decrypt_cached(path, small, folder, resource_name, progress)
        except FileNotFoundError:
            seen = None
        except IntegrityError:
            log.info("cached big part of %s/%s is stale or damaged; fetching it again", folder, resource_name)
        except OSError:
            pass
        with self.lock_for(path):
            try:
                now = os.stat(path)
            except FileNotFoundError:
                now = None
            if now is not None:
                if seen is None or (now.st_ino, now.st_mtime_ns, now.st_size) != (
                    seen.st_ino, seen.st_mtime_ns, seen.st_size
                ):
                    # Another loader replaced it while this one waited for the lock.
                    try:
                        return self.decrypt_cached(path, small, folder, resource_name, progress)
                    except (IntegrityError, OSError):
                        pass
                try:
                    os.unlink(path)
                except OSError:
                    pass
            try:
                return self.download_big(path, small, folder, resource_name, progress)
            except IntegrityError:
                # A new version may have been published between reading the small part and the
                # big one: read both once more, then give up.
                small = self.load_bytes(resource_name, folder)
                return self.download_big(path, small, folder, resource_name, progress)

    cpdef upload_big_small_resource(self, bytes resource, str resource_name, str folder, object progress=None,
                                    str category=None, bint draft=False):
        # One pass over the resource: the small part is sealed first (its length follows from
        # the total alone), then the big part is sealed part by part while it streams to the CDN
        # and into the uploader's cache file; the whole ciphertext never exists in memory.
        cdef ResourceEncryptor enc
        cdef Py_ssize_t total, small_len
        cdef unsigned char[::1] small_view
        check_name(folder, "folder")
        check_name(resource_name, "resource")
        enc = ResourceEncryptor.new(len(resource), folder, resource_name, DEFAULT_SEGMENT_SIZE)
        total = enc.ciphertext_len()
        small_len = small_length(total, constants.small_size_kb())
        enc.start(resource)
        small_buffer = bytearray(small_len)
        small_view = small_buffer
        enc.read_into(small_view)
        small = bytes(small_buffer)
        cdn = self.cdn()
        # The server signs the URLs for this version's object, and only for a name this caller
        # may write (403 otherwise): no key that writes to the bucket is ever on this machine.
        big_route = self.resource_path(folder, resource_name) + "/big"
        version = bytes(small[10:26]).hex()
        grant = self.json_of(self.request("POST", big_route, {"json": {"version": version,
                                                                       "size": total - small_len}}, False))
        if not isinstance(grant, dict) or grant.get("key") != big_key(folder, resource_name, small):
            raise ServerError("the server signed an upload for another object than this version's big part; "
                              "ask the server's administrator")
        etags = []
        path = self.big_path(folder, resource_name)
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.incomplete")
        cache_file = None
        cached = False
        try:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                cache_file = open(tmp, "wb")
            except OSError as e:
                log.warning("uploading without writing the local cache: cannot write %s (%s)", tmp, e.strerror)
            try:
                cache_failed = cdn.upload(grant, self.session, self.timeout, enc, total - small_len, progress,
                                          cache_file, etags)
                if grant.get("upload_id") is not None:
                    try:
                        self.request("POST", big_route + "/complete",
                                     {"json": {"version": version, "upload_id": grant["upload_id"],
                                               "etags": etags}}, False)
                    except AzaionError:
                        cdn.abort(grant, self.session, self.timeout)
                        raise
            finally:
                enc.source = None
                if cache_file is not None:
                    try:
                        cache_file.close()
                    except OSError:
                        cache_failed = 1
            try:
                response = self.upload_file(resource_name, small, folder, category, draft)
            except AzaionError:
                cdn.delete(grant, self.session, self.timeout)  # the orphan this upload left; the published version stays
                raise
            # The server removes the big parts of earlier versions once the small part is stored.
            if cache_file is not None and not cache_failed:
                try:
                    with self.lock_for(path):
                        os.replace(tmp, path)
                    cached = True
                except (OSError, CacheError) as e:
                    log.warning("uploaded, but the local cache was not written: %s", e)
            elif cache_file is not None:
                log.warning("uploaded, but the local cache was not written: writing %s failed", tmp)
        finally:
            if not cached:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        try:
            return response.json().get("resource")
        except (ValueError, AttributeError):
            return None

    # -- registry ----------------------------------------------------------------------

    cdef str resource_path(self, str folder, str name):
        from urllib.parse import quote

        return f"/resources/{quote(check_name(folder, 'folder'), safe='')}/{quote(check_name(name, 'resource'), safe='')}"

    def list_resources(self, **filters):
        """Resources this account may read, newest first, as dicts (see docs/protocol.md).

        Filters: ``id``, ``folder``, ``name`` (a regular expression), ``since`` and ``uploaded``
        (Unix seconds), ``category``, ``published``, ``alive``, ``count``.
        """
        allowed = {"id", "folder", "name", "since", "uploaded", "category", "published", "alive", "count"}
        unknown = set(filters) - allowed
        if unknown:
            raise BadRequest(f"unknown filter {sorted(unknown)[0]!r}; use one of {sorted(allowed)}")
        params = {}
        for key, value in filters.items():
            if value is None:
                continue
            params[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        answer = self.json_of(self.request("GET", "/resources", {"params": params}, False))
        return list(answer.get("results") or [])

    def resource_info(self, str resource_name, str folder):
        """Metadata of one resource: size, checksum, times, category, published, alive."""
        answer = self.json_of(self.request("GET", self.resource_path(folder, resource_name), {}, False))
        return answer.get("resource")

    def delete_resource(self, str resource_name, str folder):
        """Soft-delete a resource: no longer served, its bytes kept (``alive = false``)."""
        answer = self.json_of(self.request("DELETE", self.resource_path(folder, resource_name), {}, False))
        return answer.get("resource")

    def publish_resource(self, str resource_name, str folder, bint published=True):
        """Publish (or, with ``published=False``, withdraw) a resource for Operators."""
        url = self.resource_path(folder, resource_name) + "/publish"
        answer = self.json_of(self.request("POST", url, {"json": {"published": bool(published)}}, False))
        return answer.get("resource")

    def license_info(self):
        """This account's licence: ``{plan, expires_at, folders}`` (``None`` values when it has none)."""
        return self.json_of(self.request("GET", "/license/info", {}, False))

    def validate_license(self):
        """Ask the server whether this account's licence is valid on this device; raises if not."""
        body = {"hardware": self.hardware_service().hardware_hash}
        return self.json_of(self.request("POST", "/license/validate", {"json": body}, False))

    def events(self, last_event_id=None, *, reconnect=True):
        """Follow the server's change events: yields dicts ``{id, type, data}`` as they come.

        The stream resumes after ``last_event_id``; when the connection drops it reconnects
        with backoff and resumes after the last event it yielded, so none is lost. With
        ``reconnect=False`` the iterator ends when the stream does.
        """
        from azaion._sse import follow

        def connect(last_id):
            headers = {"Accept": "text/event-stream"}
            if last_id is not None:
                headers["Last-Event-ID"] = str(last_id)
            return self.request("GET", "/events", {"headers": headers}, True)

        return follow(connect, last_event_id, reconnect, constants.backoff_factor())
