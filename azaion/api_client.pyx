# cython: language_level=3
# The client a loader process imports: log in, fetch a split-encrypted resource and return its
# plaintext in memory, or publish one. Method names and visibility are the seed's
# (docs/client.md lists them); docs/formats.md and docs/protocol.md pin the bytes.
import logging
import time

from azaion import constants
from azaion.errors import (
    AuthenticationError,
    PublisherNotAllowed,
    SignatureError,
    SignatureRequired,
    VersionConflict,
    AzaionError,
    BadRequest,
    CacheError,
    CDNError,
    ConfigurationError,
    DeviceError,
    DeviceRevoked,
    HardwareMismatch,
    IntegrityError,
    InvalidName,
    InvalidToken,
    LicenseError,
    LicenseExpired,
    NetworkError,
    NotAuthenticated,
    OfflineError,
    PermissionDenied,
    ResourceNotFound,
    ServerError,
    TooLarge,
    TooManyAttempts,
    UntrustedServerKeys,
)

from azaion.cache cimport BigPartCache, CacheEntry, StateFile, read_state, write_state
from azaion.cdn_manager cimport CDNCredentials, CDNManager, big_key
from azaion.constants cimport DEFAULT_SEGMENT_SIZE
from azaion.credentials cimport Credentials, MachineCredentials
from azaion.device cimport DeviceKeys, b64url_bytes, b64url_text, jwk_thumbprint
from azaion.hardware_service cimport HardwareService
from azaion.lease cimport Clock, LeaseStore, check_lease, check_lease_small, check_lease_time, lease_claims
from azaion.security cimport (
    EnvelopeKeys,
    ResourceEncryptor,
    answer_challenge,
    open_header,
    small_length,
    version_id,
)
from azaion.user cimport User

log = logging.getLogger("azaion")

# The name rules of docs/protocol.md (INVALID_NAME), the same as the server's
# azaion_server/names.py; tests/vectors/names.json holds the cases both sides are tested with.
# Windows device names: a file called `CON` or `nul.txt` cannot be created there.
cdef frozenset DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"}
    | {f"COM{i}" for i in range(10)} | {f"LPT{i}" for i in range(10)}
)
# Path separators; `:` (drive letters, NTFS streams); `%`, so that no name means one thing raw
# and another URL-decoded.
cdef frozenset FORBIDDEN_CHARACTERS = frozenset("/\\:%")

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
    "METHOD_NOT_ALLOWED": BadRequest,
    "CONFLICT": BadRequest,
    "SIGNATURE_REQUIRED": SignatureRequired,
    "SIGNATURE_INVALID": SignatureError,
    "PUBLISHER_NOT_ALLOWED": PublisherNotAllowed,
    "VERSION_CONFLICT": VersionConflict,
    "INTERNAL": ServerError,
    "INVALID_DPOP_PROOF": AuthenticationError,
    "DEVICE_REQUIRED": DeviceError,
    "DEVICE_NOT_ENROLLED": DeviceError,
    "DEVICE_PENDING": DeviceError,
    "DEVICE_REVOKED": DeviceRevoked,
    "DEVICE_LIMIT": DeviceError,
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
    "METHOD_NOT_ALLOWED": "the server does not allow this call on this path; are the client and server versions "
                          "compatible?",
    "CONFLICT": "the server holds such an entry already",
    "SIGNATURE_REQUIRED": "this folder accepts only signed releases; upload with a signing key of one of its publishers",
    "SIGNATURE_INVALID": "the server refused the release statement: malformed, badly signed, or for another resource",
    "PUBLISHER_NOT_ALLOWED": "this signing key may not sign for this folder; ask an ApiAdmin to register it for the folder",
    "VERSION_CONFLICT": "another upload of this name came first; upload again to sign the next version",
    "INTERNAL": "the server failed",
    "INVALID_DPOP_PROOF": "the server refused this device's request proof even after a fresh login; check "
                          "that this machine's clock is right",
    "DEVICE_REQUIRED": "the server serves only enrolled devices and this client speaks the old envelope; unset "
                       "AZAION_LEGACY_ENVELOPE",
    "DEVICE_NOT_ENROLLED": "this device is not enrolled; the client enrols it at its first load",
    "DEVICE_PENDING": "this device waits for an administrator's approval (azaion admin devices approve ID)",
    "DEVICE_REVOKED": "this device was revoked (lost or retired) and what it held here is wiped; ask an "
                      "administrator to enrol this machine again",
    "DEVICE_LIMIT": "the licence allows no further device; ask an administrator to revoke an old one or raise "
                    "max_devices",
}


cdef str check_name(object value, str what):
    # Runs before any network or disk access: a name must never leave its directory.
    if not isinstance(value, str) or not value:
        raise InvalidName(f"the {what} name must be a non-empty string")
    if len(value) > 255:
        raise InvalidName(f"the {what} name is longer than 255 characters")
    # A loop, not any(<generator>): a closure in a cdef function names it in the binary.
    for c in value:
        if c in FORBIDDEN_CHARACTERS or ord(c) < 0x20 or ord(c) == 0x7F:
            raise InvalidName(f"the {what} name {value!r} holds a path separator, ':', '%' or a control character")
    # Windows drops a trailing dot or space, so `a.` and `a ` would name the file `a` there.
    # Not value[-1]: the modules are built with wraparound off, where a negative index reads out of bounds.
    if value[0] in ". " or value[len(value) - 1] in ". ":
        raise InvalidName(f"the {what} name {value!r} may not start or end with a dot or a space")
    if value.split(".", 1)[0].rstrip(" ").upper() in DEVICE_NAMES:
        raise InvalidName(f"the {what} name {value!r} is reserved on some systems; choose another")
    return value


cdef str sealed_version(bytes small):
    # The version a sealed small part names (docs/formats.md, section 3): the first 16 bytes of
    # its header's salt; bytes too short for a header, the first 16 bytes of their SHA-256.
    import hashlib

    if len(small) >= 26:
        return version_id(small)
    return hashlib.sha256(small).hexdigest()[:32]


cdef str url_segment(str name):
    # A checked name as one path segment of a URL: `#`, `?` and the rest percent-encoded.
    from urllib.parse import quote

    return quote(name, safe="")


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
        code = code if ERRORS_BY_CODE.get(code) is ServerError else "SERVER_ERROR"
        raise ServerError(f"the API answered {status} after retries{hint}", code=code, status=status)
    if code not in ERRORS_BY_CODE:
        code = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                405: "METHOD_NOT_ALLOWED", 413: "TOO_LARGE", 429: "TOO_MANY_ATTEMPTS"}.get(status, "BAD_REQUEST")
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


# -- the server's signing keys ------------------------------------------------------------------
# The client pins the JWK Set it was configured with (ApiClient(jwks=...), AZAION_JWKS_FILE) or,
# without one, the set it first saw (GET /.well-known/jwks.jws), and verifies every token
# against it. A new set is adopted only from that route's JWS (RFC 7515, General JSON
# Serialization) when a key it already trusts signed it and its `iat` is later than the pinned
# one (docs/protocol.md, "Signing keys"). The pin lives in the cache folder, per API URL.

cdef str JWKS_TYPE = "jwk-set+json"
cdef str FIRST_SEEN = "first-seen"


cdef tuple OKP_MEMBERS = ("crv", "kty", "x")


cdef str thumbprint(bytes x):
    # RFC 7638 of an Ed25519 JWK: the server's `kid`.
    return jwk_thumbprint({"crv": "Ed25519", "kty": "OKP", "x": b64url_text(x)}, OKP_MEMBERS)


cdef dict parse_jwks(object jwks):
    # kid -> the 32 bytes of each Ed25519 key of a JWK Set; ValueError when malformed, when a
    # `kid` is not its key's thumbprint, or when it holds no Ed25519 key at all.
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError("not a JWK Set")
    keys = {}
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        x = b64url_bytes(jwk.get("x"))
        if len(x) != 32 or jwk.get("kid") != thumbprint(x):
            raise ValueError("a key whose kid is not its thumbprint")
        keys[jwk["kid"]] = x
    if not keys:
        raise ValueError("no Ed25519 key")
    return keys


cdef class ServerKeys:
    # The signing keys this client trusts for one API URL.

    def __init__(self):
        raise TypeError("ServerKeys is not supposed to be instantiated from Python")

    def __repr__(self):
        return f"ServerKeys(kids={sorted(self.keys)!r}, iat={self.issued_at})"

    @staticmethod
    cdef ServerKeys load(object root, str api_url, object configured):
        import hashlib
        import json

        cdef ServerKeys trusted = ServerKeys.__new__(ServerKeys)
        trusted.root = root
        trusted.state_name = "jwks-" + hashlib.sha256(api_url.encode("utf-8")).hexdigest()[:32] + ".json"
        trusted.keys = {}
        trusted.issued_at = 0
        trusted.anchor = FIRST_SEEN
        if configured is not None:
            try:
                configured_keys = parse_jwks(configured)
            except ValueError:
                configured_keys = None
            if configured_keys is None:
                raise ConfigurationError("the configured JWK Set holds no valid Ed25519 key (each kid the key's "
                                         "RFC 7638 thumbprint); use the server's /.well-known/jwks.json") from None
            canonical = json.dumps(sorted(configured_keys), separators=(",", ":"))
            trusted.anchor = hashlib.sha256(canonical.encode("ascii")).hexdigest()
            trusted.keys = configured_keys
        try:
            data = read_state(root, trusted.state_name)
        except CacheError as e:
            # No usable cache folder: trust is kept for this process only (loads will say why).
            log.warning("the trusted server keys cannot be read: %s", e)
            data = None
        if data is None:
            return trusted
        state = None
        try:
            state = json.loads(data)
            keys = parse_jwks(state)
            issued_at = state["iat"]
            anchor = state["anchor"]
            if type(issued_at) is not int or not isinstance(anchor, str):
                raise ValueError("malformed")
        except (ValueError, KeyError, TypeError):
            state = None
        if state is None:
            if configured is not None:
                return trusted
            raise UntrustedServerKeys(f"the file of trusted server keys in {root} is damaged; delete "
                                      f".state/{trusted.state_name} there to trust the server's keys anew, or set "
                                      "AZAION_JWKS_FILE") from None
        if anchor == trusted.anchor:  # the pin descends from this configuration (or from first sight)
            trusted.keys = keys
            trusted.issued_at = issued_at
        return trusted

    cdef bint pinned(self):
        return bool(self.keys)

    cdef bint knows(self, object kid):
        return isinstance(kid, str) and kid in self.keys

    cdef int save(self) except -1:
        import json

        jwks = [{"kty": "OKP", "crv": "Ed25519", "x": b64url_text(x), "kid": kid} for kid, x in self.keys.items()]
        state = {"keys": jwks, "iat": self.issued_at, "anchor": self.anchor}
        try:
            write_state(self.root, self.state_name, json.dumps(state, sort_keys=True).encode("utf-8"))
        except CacheError as e:
            log.warning("the trusted server keys are kept for this process only: %s", e)
        return 0

    cdef bint adopt(self, object signed, bint first) except -1:
        # Adopt the JWK Set of a signed JWKS document when a trusted key signed it (on first
        # sight: one of its own keys) and it is newer than the pinned one; True when adopted.
        import json

        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        refused = ("the server offered signing keys that no key this client trusts has signed: an impostor, or "
                   "the keys were replaced past those this client knew; if so, set AZAION_JWKS_FILE to the "
                   "server's current /.well-known/jwks.json")
        valid = 0
        try:
            payload_text = signed["payload"]
            payload = json.loads(b64url_bytes(payload_text))
            offered = parse_jwks(payload)
            issued_at = payload["iat"]
            if type(issued_at) is not int:
                raise ValueError("iat")
            signers = offered if first else self.keys
            for entry in signed["signatures"]:
                protected_text = entry["protected"]
                header = json.loads(b64url_bytes(protected_text))
                if header.get("alg") != "EdDSA" or header.get("typ") != JWKS_TYPE:
                    continue
                x = signers.get(header.get("kid"))
                if x is None:
                    continue
                try:
                    Ed25519PublicKey.from_public_bytes(x).verify(
                        b64url_bytes(entry["signature"]), f"{protected_text}.{payload_text}".encode("ascii"))
                    valid += 1
                except InvalidSignature:
                    pass
        except (ValueError, KeyError, TypeError, AttributeError):
            valid = -1
        if valid <= 0:
            raise UntrustedServerKeys(refused) from None
        if not first and issued_at < self.issued_at:
            return False  # an older (replayed) set: keep ours
        self.keys = offered
        self.issued_at = issued_at
        self.save()
        log.info("trusting the server's signing keys %s", ", ".join(sorted(offered)))
        return True

    cdef object verify(self, str token):
        # The claims of a token signed by a trusted key; InvalidToken / UntrustedServerKeys.
        import jwt
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        failure = None
        kid = None
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as e:
            failure = type(e).__name__
        if failure is None and not self.knows(kid):
            raise UntrustedServerKeys("the server's token is signed by a key this client does not trust, and the "
                                      "server offered no change of keys signed by one it trusts; if the server's "
                                      "keys were replaced, set AZAION_JWKS_FILE to its current "
                                      "/.well-known/jwks.json")
        if failure is None:
            try:
                return jwt.decode(token, Ed25519PublicKey.from_public_bytes(self.keys[kid]), algorithms=["EdDSA"],
                                  options={"verify_aud": False})
            except jwt.PyJWTError as e:
                failure = type(e).__name__
        raise InvalidToken(f"the server's token could not be verified ({failure}); check the API URL") from None


cdef object read_jwks_file(object path):
    # AZAION_JWKS_FILE's JWK Set, or None when it is not set.
    import json

    if path is None:
        return None
    failure = None
    try:
        with open(path, "rb") as f:
            return json.loads(f.read(1024 * 1024))
    except OSError as e:
        failure = e.strerror or type(e).__name__
    except ValueError:
        failure = "not JSON"
    raise ConfigurationError(f"AZAION_JWKS_FILE {path} cannot be read ({failure}); point it at a copy of the "
                             "server's /.well-known/jwks.json") from None


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

    def __init__(self, str api_url=None, *, cache_dir=None, jwt_public_key=None, data_dir=None,
                 trusted_publishers=None, jwks=None, offline=None):
        from azaion.releases import TrustedPublishers

        self.api_url = constants.api_url(api_url)
        self.cache_dir = constants.cache_dir(cache_dir)
        self.data_dir = constants.data_dir(data_dir)
        self.legacy = constants.legacy_envelope()
        self.offline = constants.offline() if offline is None else bool(offline)
        self.device_id = -1
        self.big_parts = BigPartCache.new(self.cache_dir)
        self.trusted = TrustedPublishers.of(trusted_publishers if trusted_publishers is not None
                                            else constants.trusted_publishers_file())
        self.release_state = StateFile.new(self.data_dir, constants.RELEASE_STATE)
        self.timeout = constants.timeouts()
        self.public_key = jwt_public_key
        self.configured_jwks = jwks if jwks is not None else read_jwks_file(constants.jwks_file())
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

    cpdef set_credentials_from_dict(self, str email, str password, bint load_cdn=True):
        self.set_credentials(Credentials(email, password))
        self.cdn_manager = None
        if load_cdn and not self.offline:
            # cdn.yaml now, as the seed does: a wrong password (or a device the server does not
            # serve) fails here, not at the first load. The device enrols itself here. Out of
            # reach of the API, a device that keeps leases goes on (it may load offline) and reads
            # cdn.yaml later, when a CDN download needs it.
            try:
                self.cdn()
            except NetworkError:
                if not self.keeps_leases():
                    raise
                log.info("the API cannot be reached: cdn.yaml is read at the first CDN download")

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
        self.device = None  # a key store per account: one machine may hold several accounts' devices
        self.device_id = -1
        self.lease_store = None
        self.clock = None

    cpdef login(self):
        if self.credentials is None:
            raise NotAuthenticated("no credentials: call set_credentials_from_dict(email, password) first")
        if self.credentials.is_machine():
            self.handshake()
            return
        response = self.send("POST", "/login",
                             {"json": {"email": self.credentials.email, "password": self.credentials.password()}},
                             False, False)
        self.raise_for(response)
        token = None
        try:
            token = response.json()["token"]
        except (ValueError, KeyError, TypeError):
            pass
        if not isinstance(token, str):
            raise InvalidToken("the login answer holds no token; is the API URL right?") from None
        self.set_token(token)

    cdef int handshake(self) except -1:
        # The registry's challenge-response (docs/protocol.md): the key never
        # travels, only the challenge text encrypted with it.
        cdef MachineCredentials creds = <MachineCredentials> self.credentials
        refused = "the machine client handshake was refused; check the client name and key"
        response = self.send("POST", "/auth", {"json": {"client_name": creds.client_name}}, False, False)
        raise_for_response(response)
        challenge = self.json_of(response).get("challenge")
        if not isinstance(challenge, dict) or not {"id", "text", "cipher_iv"} <= challenge.keys():
            raise AuthenticationError(refused)
        if str(challenge.get("cipher", "AES-256-CBC")).upper() != "AES-256-CBC":
            raise AuthenticationError(f"the server asks for cipher {challenge.get('cipher')!r}, "
                                      "which this client does not speak")
        answer = None
        try:
            answer = answer_challenge(creds.secret(), str(challenge["text"]), str(challenge["cipher_iv"]))
        except IntegrityError:
            pass
        if answer is None:
            raise AuthenticationError(refused) from None
        body = {"client_name": creds.client_name, "id": challenge["id"], "duration": 3600,
                "encrypted_text": answer}
        response = self.send("POST", "/auth_verify", {"json": body}, False, False)
        self.raise_for(response)
        session = self.json_of(response).get("session")
        if not isinstance(session, dict) or not isinstance(session.get("token"), str):
            raise AuthenticationError(refused)
        self.set_token(session["token"])
        return 0

    cdef object json_of(self, object response):
        try:
            return response.json()
        except ValueError:
            pass
        raise ServerError(f"the API answered {response.status_code} with a body that is not JSON; "
                          "is the API URL right?", status=response.status_code) from None

    cdef ServerKeys trusted_keys(self):
        if self.server_keys is None:
            self.server_keys = ServerKeys.load(self.cache_dir, self.api_url, self.configured_jwks)
        return self.server_keys

    cdef object signed_jwks(self):
        # The server's signed JWKS, or None when it publishes none (a server before signing keys).
        response = self.send("GET", "/.well-known/jwks.jws", {}, False, False)
        if response.status_code == 404:
            return None
        raise_for_response(response)
        return self.json_of(response)

    cdef object verified_claims(self, str token):
        # Pinned keys verify every token; a kid they do not know asks the server for a change of
        # keys (adopted only when signed by a trusted key). Without any pin and with a server that
        # publishes no keys, the claims are read unverified, as in the seed.
        import jwt

        cdef ServerKeys trusted = self.trusted_keys()
        if not trusted.pinned():
            signed = self.signed_jwks()
            if signed is not None:
                trusted.adopt(signed, True)
        if not trusted.pinned():
            return jwt.decode(token, options={"verify_signature": False})
        kid = None
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            pass
        if kid is not None and not trusted.knows(kid):
            signed = self.signed_jwks()
            if signed is not None:
                trusted.adopt(signed, False)
        return trusted.verify(token)

    cdef set_token(self, str token):
        import jwt

        failure = None
        try:
            if self.public_key is not None:
                claims = jwt.decode(token, self.public_key, algorithms=["RS256", "ES256", "EdDSA"],
                                    options={"verify_aud": False})
            else:
                claims = self.verified_claims(token)
        except jwt.PyJWTError as e:
            failure = type(e).__name__
        if failure is not None:
            raise InvalidToken(f"the server's token could not be read ({failure}); "
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

    cdef dict proof_headers(self, str method, str url, bint authenticated):
        # RFC 9449: a fresh proof of this method and URL, signed by the device key, on every
        # authenticated request (and on the logins, whose token it binds to that key).
        if self.legacy or self.credentials is None:
            return {"Authorization": f"Bearer {self.token}"} if authenticated and self.token else {}
        if authenticated and self.token:
            return {"Authorization": f"DPoP {self.token}",
                    "DPoP": self.device_keys().proof(method, self.api_url + url, self.token)}
        if not authenticated and url in ("/login", "/auth_verify"):
            return {"DPoP": self.device_keys().proof(method, self.api_url + url, None)}
        return {}

    cdef object send(self, str method, str url, object payload, bint is_stream, bint authenticated):
        import requests

        if self.offline:
            # The one place a request starts: offline, none does (no DNS lookup, no connection).
            raise OfflineError(f"offline (AZAION_OFFLINE=1): {method} {url} needs the API; only loads from leases "
                               "and the cache work offline")
        extra = {}
        if "headers" in payload:
            payload = dict(payload)
            extra = payload.pop("headers")
        # Failures are raised after the handler, never inside it: a requests exception holds the
        # request (its body the password, its headers the token) and would ride along as context.
        from azaion._retry import after_broken_answer

        retry = self.session.get_adapter(self.api_url + url).max_retries
        while True:
            failure = None
            headers = self.proof_headers(method, url, authenticated)  # a proof is good for one request
            headers.update(extra)
            try:
                response = self.session.request(method, self.api_url + url, headers=headers, timeout=self.timeout,
                                                stream=True, allow_redirects=False, **payload)
            except requests.exceptions.RequestException as e:
                failure = (f"could not reach the API at {self.api_url} ({type(e).__name__}); check the URL and "
                           "the network, then try again")
            if failure is not None:
                log.debug("%s %s failed: %s", method, url, failure)
                raise NetworkError(failure) from None
            if is_stream:
                break
            try:
                response.content  # the whole body now, so that a cut one is retried here
                break
            except requests.exceptions.RequestException as e:
                failure = type(e).__name__
            response.close()
            retry = after_broken_answer(retry, method, url)
            log.debug("%s %s broke off mid-answer (%s)%s", method, url, failure, "; retrying" if retry else "")
            if retry is None:
                raise NetworkError(f"the connection to the API at {self.api_url} broke off in the middle of an "
                                   f"answer ({failure}); try again") from None
            retry.sleep()
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
        self.raise_for(response)
        return response

    cdef int raise_for(self, object response) except -1:
        # raise_for_response, and a revoked device wipes what it holds before the error goes up.
        try:
            raise_for_response(response)
        except DeviceRevoked:
            self.wipe_revoked()
            raise
        return 0

    cdef int wipe_revoked(self) except -1:
        # docs/security.md, "Lost devices": cached big parts, partial downloads, leases, the
        # clock's state and the device key store go; the trusted server keys stay.
        log.warning("this device was revoked: wiping its cache, leases and key store")
        self.big_parts.wipe()
        if self.has_device_keys():
            device = self.device_keys()
            self.device_clock().forget()
            device.forget()
        self.device = None
        self.device_id = -1
        self.lease_store = None
        self.clock = None
        self.cdn_manager = None
        self.token = None
        return 0

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

    cdef DeviceKeys device_keys(self):
        if self.credentials is None:
            raise NotAuthenticated("no credentials: call set_credentials_from_dict(email, password) first")
        if self.device is None:
            account = self.account()
            tcti = constants.tpm_tcti()
            if tcti is not None:
                self.device = DeviceKeys.in_tpm(tcti, account.encode("ascii"))
            else:
                self.device = DeviceKeys.load_or_create(self.key_store_path(),
                                                        self.hardware_service().hardware_hash)
        return self.device

    cdef str account(self):
        # The account's name on disk and in the TPM: the device key store, the clock's state.
        import hashlib

        return hashlib.sha256(self.credentials.identity()).hexdigest()[:32]

    cdef object key_store_path(self):
        return self.data_dir / f"device-{self.account()}.key"

    cdef bint has_device_keys(self):
        # Whether this account has device keys here, without creating a key store to find out.
        if self.legacy or self.credentials is None:
            return False
        return self.device is not None or constants.tpm_tcti() is not None or self.key_store_path().exists()

    cdef bint keeps_leases(self):
        # Whether this account's device keeps a lease here.
        if not self.has_device_keys():
            return False
        try:
            return self.leases().holds_any()
        except AzaionError:
            return False

    cdef LeaseStore leases(self):
        if self.lease_store is None:
            self.lease_store = LeaseStore.new(self.cache_dir, self.device_keys().jkt)
        return self.lease_store

    cdef Clock device_clock(self):
        if self.clock is None:
            self.clock = Clock.new(self.data_dir, self.account(), self.device_keys())
        return self.clock

    cdef long enrolled_device(self) except -1:
        # The client enrols its device itself, once per session: enrolling known keys again
        # answers the same device, so nothing but the key file is kept on disk.
        if self.device_id >= 0:
            return self.device_id
        body = self.device_keys().enrol_body(self.hardware_service().hardware_hash)
        answer = self.json_of(self.request("POST", "/devices", {"json": body}, False))
        state = answer.get("state")
        if state == "pending":
            raise DeviceError(ADVICE["DEVICE_PENDING"], code="DEVICE_PENDING")
        if state == "revoked":
            self.wipe_revoked()
            raise DeviceRevoked(ADVICE["DEVICE_REVOKED"])
        if state != "active" or not isinstance(answer.get("id"), int):
            raise DeviceError("the server answered the enrolment with no active device", code="DEVICE_ERROR")
        self.device_id = answer["id"]
        return self.device_id

    cdef CDNManager cdn(self):
        if self.cdn_manager is None:
            self.cdn_manager = CDNManager.new(CDNCredentials.from_yaml(self.load_bytes(constants.CDN_CONFIG,
                                                                                        constants.SYSTEM_FOLDER)))
        return self.cdn_manager

    cdef bytes load_bytes(self, str filename, str folder):
        check_name(folder, "folder")
        check_name(filename, "file")
        if self.credentials is None:
            raise NotAuthenticated("no credentials: call set_credentials_from_dict(email, password) first")
        body = {"fileName": filename, "hardware": self.hardware_service().hardware_hash}
        if self.legacy:
            # The seed's v1 envelope, only where AZAION_LEGACY_ENVELOPE=true on both sides.
            keys = self.keys()
            if not self.credentials.is_machine():
                body["password"] = self.credentials.password()
            response = self.request("POST", f"/resources/get/{url_segment(folder)}", {"json": body}, False)
            self.served_statement = response.headers.get("Azaion-Release-Statement")
            return keys.open(response.content)
        if not self.token:
            self.login()
        device_id = self.enrolled_device()
        response = self.request("POST", f"/resources/get/{url_segment(folder)}", {"json": body}, False)
        self.served_statement = response.headers.get("Azaion-Release-Statement")
        plaintext, version = self.device.open_sealed(response.content, folder, filename, device_id)
        if folder != constants.SYSTEM_FOLDER and version != sealed_version(plaintext):
            raise IntegrityError("the server sealed a small part under another version than its own; "
                                 "ask the server's administrator")
        lease = response.headers.get("Azaion-Lease")
        if lease is not None and folder != constants.SYSTEM_FOLDER:
            self.keep_lease(folder, filename, lease, response.content, plaintext, version,
                            response.headers.get("Date"))
        return plaintext

    cdef int keep_lease(self, str folder, str name, str lease, bytes sealed, bytes small, str version,
                        object date) except -1:
        # A lease is kept only when it verifies now, with the keys an offline load will use, and
        # names what was just opened; a lease that does not is dropped (the online load goes on).
        import hashlib
        from email.utils import parsedate_to_datetime

        cdef ServerKeys trusted = self.trusted_keys()
        problem = None
        claims = None
        try:
            claims = lease_claims(lease, trusted.keys)
            check_lease(claims, self.device.jkt, folder, name, hashlib.sha256(sealed).hexdigest())
            check_lease_small(claims, small, version)
        except AzaionError as e:
            problem = e.message
        if problem is not None:
            log.warning("the server's lease of %s/%s is not kept: %s", folder, name, problem)
            return 0
        # The latest time seen: the server's clock (its Date), or the lease's signed issue time.
        seen = float(claims["iat"])
        try:
            seen = max(seen, parsedate_to_datetime(date).timestamp()) if date else seen
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
        try:
            self.leases().keep(folder, name, lease, sealed, self.served_statement)
            self.device_clock().seen_online(seen)
        except CacheError as e:
            log.warning("the lease of %s/%s is not kept: %s", folder, name, e.message)
        return 0

    cdef bytes load_offline(self, str folder, str name, object progress, object why):
        # docs/security.md, "Offline leases": the lease, the clock, the sealed small part, then the
        # big part from the cache alone.
        import hashlib

        cdef CacheEntry entry
        cdef DeviceKeys device = self.device_keys()
        found = self.leases().find(folder, name)
        if found is None:
            raise OfflineError(f"{why}, and this device holds no lease for {folder}/{name}: load it once online "
                               "(its licence must allow offline use, offline_hours)")
        lease, sealed, statement = found
        claims = lease_claims(lease, self.trusted_keys().keys)
        check_lease(claims, device.jkt, folder, name, hashlib.sha256(sealed).hexdigest())
        now = time.time()
        self.device_clock().check_offline(now)
        check_lease_time(claims, now)
        small, version = device.open_sealed(sealed, folder, name, claims["device"])
        check_lease_small(claims, small, version)
        open_header(small, folder, name)
        self.served_statement = statement
        if self.trusted is not None:
            self.check_statement(folder, name)
        entry = self.big_parts.entry(folder, name)
        data = entry.read(small, progress)
        if data is None:
            raise OfflineError(f"{why}, and the big part of {folder}/{name} is not in this device's cache: load it "
                               "once online")
        log.info("loaded %s/%s offline under a lease valid until %s", folder, name, claims["exp"])
        return self.accept_release(folder, name, data)

    cdef upload_file(self, str filename, bytes resource, str folder, str category=None, bint draft=False,
                     bytes statement=None):
        check_name(folder, "folder")
        check_name(filename, "file")
        files = {"data": (filename, resource, "application/octet-stream")}
        form = {"draft": "true" if draft else "false"}
        if category:
            form["category"] = category
        if statement is not None:
            form["statement"] = statement.decode("utf-8")
        return self.request("POST", f"/resources/{url_segment(folder)}", {"files": files, "data": form}, False)

    cdef bytes load_big_file_cdn(self, CacheEntry entry, bytes small, object progress):
        # The seed's CDN step: the big part that belongs to `small`, streamed from the CDN
        # through the cache (which verifies and commits it). A new version may have been
        # published between reading the small part and the big one: read both once more, then
        # give up.
        cdef CDNManager cdn = self.cdn()
        try:
            return entry.fetch(small, cdn, progress)
        except IntegrityError:
            small = self.load_bytes(entry.name, entry.folder)
        return entry.fetch(small, cdn, progress)

    cdef object check_statement(self, str folder, str name):
        # The statement served with the last small part, checked before any big part moves:
        # trusted key, allowed for the folder, this folder and name (docs/security.md).
        import base64
        import binascii

        raw = self.served_statement
        statement = None
        if raw is not None:
            try:
                statement = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                statement = b""  # malformed: read_bundle refuses it
        self.trusted.verify_statement(statement, folder, name)
        return statement

    cdef bytes accept_release(self, str folder, str name, bytes data):
        # The plaintext against its statement, then the rollback check; only then are bytes returned.
        from functools import partial

        from azaion.releases import check_rollback

        self.last_release = None
        if self.trusted is None:
            return data
        release = self.trusted.verify(self.check_statement(folder, name), folder, name, data)
        if release is not None:
            self.release_state.update(partial(check_rollback, release=release))
            self.last_release = release
        return data

    cpdef bytes load_big_small_resource(self, str resource_name, str folder, object progress=None):
        cdef CacheEntry entry
        check_name(folder, "folder")
        check_name(resource_name, "resource")
        self.last_release = None
        if self.offline:
            return self.load_offline(folder, resource_name, progress, "offline (AZAION_OFFLINE=1)")
        try:
            small = self.load_bytes(resource_name, folder)
        except (NetworkError, ServerError) as e:
            # Out of reach of the API (or behind a proxy answering 502-504): a lease, if any.
            if isinstance(e, ServerError) and e.status not in (502, 503, 504):
                raise
            if not self.keeps_leases():
                raise
            return self.load_offline(folder, resource_name, progress, "the API cannot be reached")
        open_header(small, folder, resource_name)
        if self.trusted is not None:
            self.check_statement(folder, resource_name)
        entry = self.big_parts.entry(folder, resource_name)
        data = entry.read(small, progress)
        if data is not None:
            return self.accept_release(folder, resource_name, data)
        entry.lock()
        try:
            data = entry.read_if_replaced(small, progress)
            if data is None:
                data = self.load_big_file_cdn(entry, small, progress)
        finally:
            entry.unlock()
        return self.accept_release(folder, resource_name, data)

    cpdef upload_big_small_resource(self, bytes resource, str resource_name, str folder, object progress=None,
                                    str category=None, bint draft=False, object signing_key=None):
        # One pass over the resource: the small part is sealed first (its length follows from
        # the total alone), then the big part is sealed part by part while it streams to the CDN
        # and into the uploader's cache file; the whole ciphertext never exists in memory.
        cdef ResourceEncryptor enc
        cdef CDNManager cdn
        cdef CacheEntry entry
        cdef Py_ssize_t total, small_len
        cdef unsigned char[::1] small_view
        check_name(folder, "folder")
        check_name(resource_name, "resource")
        statement = None
        if signing_key is not None:
            from azaion.releases import load_signing_key, sign_release

            signing_key = load_signing_key(signing_key)  # a bad key fails before anything is sent
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
        version = version_id(small)
        key = big_key(folder, resource_name, version)
        grant = self.json_of(self.request("POST", big_route, {"json": {"version": version,
                                                                       "size": total - small_len}}, False))
        if not isinstance(grant, dict) or grant.get("key") != key:
            raise ServerError("the server signed an upload for another object than this version's big part; "
                              "ask the server's administrator")
        if signing_key is not None:
            # The server assigns version numbers; the statement names the one this upload gets.
            version_number = grant.get("next_version_number")
            if type(version_number) is not int or version_number < 1:
                raise ServerError("the server did not say which version number this upload gets; is it older "
                                  "than this client?")
            statement = sign_release(signing_key, folder=folder, name=resource_name,
                                     version_number=version_number, data=resource)
        etags = []
        entry = self.big_parts.entry(folder, resource_name)
        cached = False
        try:
            try:
                cache_file = entry.start_write()
            except CacheError as e:
                log.warning("uploading without writing the local cache: %s", e)
                cache_file = None
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
                enc.release()
                if cache_file is not None:
                    try:
                        cache_file.close()
                    except OSError:
                        cache_failed = 1
            try:
                response = self.upload_file(resource_name, small, folder, category, draft, statement)
            except AzaionError:
                cdn.delete(grant, self.session, self.timeout)  # the orphan this upload left; the published version stays
                raise
            # The server removes the big parts of earlier versions once the small part is stored.
            if cache_file is not None and not cache_failed:
                try:
                    entry.commit_write()
                    cached = True
                except CacheError as e:
                    log.warning("uploaded, but the local cache was not written: %s", e)
            elif cache_file is not None:
                log.warning("uploaded, but the local cache was not written: writing it failed")
        finally:
            if not cached:
                entry.discard_write()
        try:
            return response.json().get("resource")
        except (ValueError, AttributeError):
            return None

    # -- devices -----------------------------------------------------------------------

    def enrol_device(self):
        """Enrol this device (or find it again): the server's view ``{id, state, jkt, ...}``.

        A pending device (``AZAION_DEVICE_ENROLMENT=approval``) is answered, not raised.
        """
        if self.legacy:
            raise DeviceError("AZAION_LEGACY_ENVELOPE is set: this client speaks the seed's envelope and enrols "
                              "no device; unset it", code="DEVICE_ERROR")
        if not self.token:
            self.login()
        body = self.device_keys().enrol_body(self.hardware_service().hardware_hash)
        answer = self.json_of(self.request("POST", "/devices", {"json": body}, False))
        if answer.get("state") == "active" and isinstance(answer.get("id"), int):
            self.device_id = answer["id"]
        answer["store"] = self.device.store
        return answer

    def list_devices(self, user_id=None, client_id=None):
        """Devices of every account, or of one user or machine client (ApiAdmins)."""
        params = {k: str(int(v)) for k, v in (("user_id", user_id), ("client_id", client_id)) if v is not None}
        return list(self.json_of(self.request("GET", "/devices/all", {"params": params}, False)).get("results") or [])

    def approve_device(self, int device_id):
        """Activate a pending device (ApiAdmins)."""
        return self.json_of(self.request("POST", f"/devices/{device_id}/approve", {}, False))

    def revoke_device(self, int device_id, str reason="lost"):
        """Revoke a device (ApiAdmins any, others their own) as ``lost`` or ``retired``: refused from
        its next request on, and it wipes what it holds when it hears of it."""
        if reason not in ("lost", "retired"):
            raise BadRequest(f"the reason {reason!r} is not 'lost' or 'retired'")
        body = {"json": {"reason": reason}}
        return self.json_of(self.request("POST", f"/devices/{device_id}/revoke", body, False))

    # -- registry ----------------------------------------------------------------------

    cdef str resource_path(self, str folder, str name):
        return f"/resources/{url_segment(check_name(folder, 'folder'))}/{url_segment(check_name(name, 'resource'))}"

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

    # -- publishers (ApiAdmin) -----------------------------------------------------------

    def register_publisher(self, str name, public_key, folders):
        """Register a publisher's public key (PEM, or a key object) for ``folders``; ApiAdmin only."""
        from azaion.releases import load_public_key, public_key_pem

        pem = public_key_pem(load_public_key(public_key) if isinstance(public_key, (str, bytes)) else public_key)
        body = {"name": name, "public_key": pem, "folders": list(folders)}
        return self.json_of(self.request("POST", "/publishers", {"json": body}, False))

    def list_publishers(self):
        """Every registered publisher: ``{name, key_id, algorithm, public_key, folders, revoked}``."""
        return self.json_of(self.request("GET", "/publishers", {}, False))

    def set_publisher_folders(self, str key_id, folders):
        """Replace the folders a publisher key may sign for; ApiAdmin only."""
        url = f"/publishers/{url_segment(key_id)}/folders"
        return self.json_of(self.request("PUT", url, {"json": {"folders": list(folders)}}, False))

    def revoke_publisher(self, str key_id):
        """Revoke a publisher key on the server; devices stop trusting it with a new trust file."""
        return self.json_of(self.request("POST", f"/publishers/{url_segment(key_id)}/revoke", {}, False))

    def set_folder_policy(self, str folder, bint signatures_required):
        """Require (or stop requiring) signed releases for uploads to ``folder``; ApiAdmin only."""
        url = f"/publishers/folders/{url_segment(check_name(folder, 'folder'))}"
        body = {"signatures_required": bool(signatures_required)}
        return self.json_of(self.request("PUT", url, {"json": body}, False))

    def trust_document(self):
        """The trusted publishers document for devices (write it to the file AZAION_TRUSTED_PUBLISHERS names)."""
        return self.json_of(self.request("GET", "/publishers/trust", {}, False))

    def license_info(self):
        """This account's licence: ``{plan, expires_at, folders}`` (``None`` values when it has none)."""
        return self.json_of(self.request("GET", "/license/info", {}, False))

    def validate_license(self):
        """Ask the server whether this account's licence is valid on this device; raises if not."""
        body = {"hardware": self.hardware_service().hardware_hash}
        return self.json_of(self.request("POST", "/license/validate", {"json": body}, False))

    def admin(self, str method, str path, json=None, params=None):
        """One ApiAdmin call of the Resource API (``azaion admin`` uses it): ``method``, a ``path``
        such as ``/users`` or ``/signing-keys/rotate``, a JSON body, query parameters; the JSON answer.

        The server answers an administration call it refuses with a bare 400 (BadRequest), whatever
        the cause; a caller that is not an ApiAdmin gets PermissionDenied.
        """
        method = method.upper()
        if method not in ("GET", "POST", "PUT", "DELETE"):
            raise BadRequest(f"method {method!r} is not one of GET, POST, PUT, DELETE")
        if not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 0x21 for c in path):
            raise BadRequest(f"the path {path!r} must start with one '/' and hold no spaces or control characters")
        payload = {}
        if json is not None:
            payload["json"] = json
        if params:
            payload["params"] = {k: str(v) for k, v in params.items() if v is not None}
        return self.json_of(self.request(method, path, payload, False))

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

        # A `device.revoked` event for this device: the client wipes what it holds and raises.
        stream = follow(connect, last_event_id, reconnect, constants.backoff_factor())
        try:
            for event in stream:
                data = event.get("data")
                if event.get("type") == "device.revoked" and isinstance(data, dict) and self.own_device(data):
                    self.wipe_revoked()
                    raise DeviceRevoked(ADVICE["DEVICE_REVOKED"])
                yield event
        finally:
            stream.close()

    cdef int own_device(self, dict data) except -1:
        # An event names this device by id; known once it enrolled (or found it again) this session.
        if self.legacy or self.credentials is None:
            return False
        if self.device_id < 0:
            try:
                self.enrolled_device()
            except DeviceRevoked:
                return True
        return data.get("device_id") == self.device_id
