# cython: language_level=3
# Offline loads (docs/security.md, "Offline leases"; docs/formats.md, section 6). A successful
# online load may bring back a lease: a JWS the server signed (EdDSA, its `kid`) naming this
# device, the resource version and the digest of the sealed small part served with it, valid
# until `exp`. Offline, the client opens that sealed small part with the device key, but only
# after the lease verifies against the server keys this client pinned, names this device and
# resource, has not expired, and this machine's clock is not earlier than the latest time the
# device has seen (a signed state file; with a TPM, tied to its monotonic NV counter).
import hashlib
import json
import time

from azaion import constants
from azaion.errors import ClockError, LeaseError, LeaseExpired, OfflineStateError

# LEASE_PREFIX: azaion/cache.pyx (the one namespace of the protected modules).
from azaion.cache cimport Directory, StateFile, open_state, read_state, write_state
from azaion.device cimport DeviceKeys, b64url_bytes, b64url_text

cdef str LEASE_TYPE = "azaion-lease+jwt"
cdef int CLOCK_FORMAT = 1
cdef bytes CLOCK_CONTEXT = b"azaion clock v1\x00"
cdef tuple LEASE_TEXT_CLAIMS = ("folder", "name", "version", "sha256", "sealed_sha256")
cdef tuple LEASE_TIME_CLAIMS = ("iat", "nbf", "exp")
cdef str RELOAD_ONLINE = "load it once online to get a new lease"


cdef str lease_when(double seconds):
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


cdef dict lease_claims(str token, dict keys):
    # The claims of a lease whose signature verifies with one of `keys` (kid -> Ed25519 public
    # bytes, the server keys this client pinned); LeaseError otherwise.
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    header = None
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        pass
    if not isinstance(header, dict) or header.get("alg") != "EdDSA" or header.get("typ") != LEASE_TYPE:
        raise LeaseError(f"the stored lease is not a lease (malformed or edited); {RELOAD_ONLINE}")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        raise LeaseError("the lease is signed by a key this client does not trust (not one of the server keys it "
                         f"pinned); {RELOAD_ONLINE}")
    claims = None
    try:
        claims = jwt.decode(token, Ed25519PublicKey.from_public_bytes(keys[kid]), algorithms=["EdDSA"],
                            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                     "verify_aud": False, "verify_iss": False})
    except jwt.PyJWTError:
        pass
    if not isinstance(claims, dict):
        raise LeaseError(f"the lease's signature does not verify (edited, or not the server's); {RELOAD_ONLINE}")
    return claims


cdef int check_lease(dict claims, str jkt, str folder, str name, str sealed_sha256) except -1:
    # A verified lease for this device, this resource and the sealed small part kept beside it.
    cnf = claims.get("cnf")
    if type(claims.get("device")) is not int or not isinstance(cnf, dict) or cnf.get("jkt") != jkt:
        raise LeaseError(f"the lease was issued to another device; {RELOAD_ONLINE} on this one")
    for claim in LEASE_TEXT_CLAIMS:
        if not isinstance(claims.get(claim), str):
            raise LeaseError(f"the lease has no {claim!r}; {RELOAD_ONLINE}")
    for claim in LEASE_TIME_CLAIMS:
        if type(claims.get(claim)) is not int:
            raise LeaseError(f"the lease has no {claim!r} time; {RELOAD_ONLINE}")
    if claims["folder"] != folder or claims["name"] != name:
        raise LeaseError(f"the lease kept for {folder}/{name} is for another resource; {RELOAD_ONLINE}")
    if claims["sealed_sha256"] != sealed_sha256:
        raise LeaseError(f"the small part kept with the lease is not the one it names; {RELOAD_ONLINE}")
    return 0


cdef int check_lease_small(dict claims, bytes small, str version) except -1:
    # The opened small part is the one the lease names.
    if claims["version"] != version or hashlib.sha256(small).hexdigest() != claims["sha256"]:
        raise LeaseError(f"the small part kept with the lease of {claims['folder']}/{claims['name']} is not the "
                         f"one it names; {RELOAD_ONLINE}")
    return 0


cdef int check_lease_time(dict claims, double now) except -1:
    # After the clock check: a clock before the lease's issue is a clock set back; past `exp`, it
    # has expired.
    if now + constants.CLOCK_TOLERANCE_SECONDS < claims["nbf"]:
        raise ClockError(f"this machine's clock ({lease_when(now)}) is earlier than the lease's issue "
                         f"({lease_when(claims['nbf'])}): set the clock right")
    if now >= claims["exp"]:
        raise LeaseExpired(f"the offline lease of {claims['folder']}/{claims['name']} expired at "
                           f"{lease_when(claims['exp'])}; {RELOAD_ONLINE}")
    return 0


cdef class LeaseStore:

    def __init__(self):
        raise TypeError("LeaseStore is not supposed to be instantiated from Python")

    def __repr__(self):
        return f"LeaseStore({str(self.root)!r})"

    @staticmethod
    cdef LeaseStore new(object root, str jkt):
        cdef LeaseStore store = LeaseStore.__new__(LeaseStore)
        store.root = root
        store.jkt = jkt
        return store

    cdef str device_prefix(self):
        return LEASE_PREFIX + hashlib.sha256(self.jkt.encode("ascii")).hexdigest()[:16] + "-"

    cdef str state_name(self, str folder, str name):
        # One file per device and resource; the names stay out of the file name.
        key = "\x00".join((folder, name)).encode("utf-8")
        return self.device_prefix() + hashlib.sha256(key).hexdigest()[:32] + ".json"

    cdef bint holds_any(self) except -1:
        # Whether this device keeps any lease (then it may load offline: worth going on without the API).
        cdef Directory folder = open_state(self.root, False)
        if folder is None:
            return False
        prefix = self.device_prefix()
        try:
            for name in folder.names():
                if name.startswith(prefix):
                    return True
        finally:
            folder.close()
        return False

    cdef int keep(self, str folder, str name, str lease, bytes sealed, object statement) except -1:
        import base64

        record = {"lease": lease, "sealed": base64.b64encode(sealed).decode("ascii"), "statement": statement}
        write_state(self.root, self.state_name(folder, name), json.dumps(record, sort_keys=True).encode("utf-8"))
        return 0

    cdef tuple find(self, str folder, str name):
        # (lease, sealed small part, statement) kept for the resource, or None.
        import base64
        import binascii

        data = read_state(self.root, self.state_name(folder, name))
        if data is None:
            return None
        found = None
        try:
            record = json.loads(data)
            statement = record["statement"]
            if not isinstance(record["lease"], str) or not (statement is None or isinstance(statement, str)):
                raise ValueError("malformed")
            found = (record["lease"], base64.b64decode(record["sealed"], validate=True), statement)
        except (ValueError, KeyError, TypeError, binascii.Error):
            pass
        if found is None:
            raise LeaseError(f"the lease kept for {folder}/{name} is damaged; {RELOAD_ONLINE}")
        return found


cdef bytes clock_canonical(dict body):
    return CLOCK_CONTEXT + json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


cdef bytes clock_document(DeviceKeys device, double mark):
    # The state file: the mark, this device's thumbprint, the TPM counter after this write (None
    # without a TPM), and the device key's signature over them.
    body = {"format": CLOCK_FORMAT, "jkt": device.jkt, "mark": int(mark), "counter": device.counter(True)}
    signed = dict(body)
    signed["signature"] = b64url_text(device.sign_input(clock_canonical(body)))
    return json.dumps(signed, sort_keys=True).encode("utf-8")


cdef tuple clock_mark(DeviceKeys device, bytes data):
    # (the mark, None) from a valid state file, or (None, why not).
    if not data:
        return None, "missing"
    body = None
    signature = b""
    try:
        document = json.loads(data)
        signature = b64url_bytes(document.pop("signature"))
        body = document
        if set(body) != {"format", "jkt", "mark", "counter"} or body["format"] != CLOCK_FORMAT:
            body = None
        elif type(body["mark"]) is not int or not (body["counter"] is None or type(body["counter"]) is int):
            body = None
    except (ValueError, KeyError, TypeError, AttributeError):
        body = None
    if body is None or body["jkt"] != device.jkt or not device.verify_own(clock_canonical(body), signature):
        return None, "damaged"
    if device.counter(False) != body["counter"]:
        return None, "restored"
    return body["mark"], None


cdef class ClockChange:
    # What StateFile.update calls with the file's bytes: the next document, or an exception
    # (and then nothing is written).

    def __init__(self):
        raise TypeError("ClockChange is not supposed to be instantiated from Python")

    def __call__(self, bytes old):
        if not self.offline:
            # Online, the time seen is the server's (or a lease's issue): it replaces the mark,
            # which also mends a mark that a clock set wrongly ahead had pushed too far.
            return clock_document(self.device, self.now)
        mark, problem = clock_mark(self.device, old)
        if problem == "missing":
            raise OfflineStateError("this device has no offline state (never online with a lease, or its state "
                                    "file was deleted): offline loads need one online load first")
        if problem == "restored":
            raise OfflineStateError("the offline state file is an older copy than the TPM's counter: offline "
                                    "loads stay refused until the device has been online again")
        if problem is not None:
            raise OfflineStateError("the offline state file is damaged or another device's: offline loads stay "
                                    "refused until the device has been online again")
        if self.now + constants.CLOCK_TOLERANCE_SECONDS < mark:
            raise ClockError(f"this machine's clock ({lease_when(self.now)}) is earlier than the latest time this "
                             f"device has seen ({lease_when(mark)}): set the clock right; offline loads stay "
                             "refused until then")
        return clock_document(self.device, max(mark, self.now))


cdef class Clock:

    def __init__(self):
        raise TypeError("Clock is not supposed to be instantiated from Python")

    def __repr__(self):
        return f"Clock({self.state.name!r})"

    @staticmethod
    cdef Clock new(object data_dir, str account, DeviceKeys device):
        cdef Clock clock = Clock.__new__(Clock)
        clock.state = StateFile.new(data_dir, constants.CLOCK_STATE.format(account=account))
        clock.device = device
        return clock

    cdef int change(self, bint offline, double now) except -1:
        cdef ClockChange change = ClockChange.__new__(ClockChange)
        change.device = self.device
        change.offline = offline
        change.now = now
        self.state.update(change)
        return 0

    cdef int seen_online(self, double seen) except -1:
        return self.change(False, seen)

    cdef int check_offline(self, double now) except -1:
        # The clock against the mark (OfflineStateError, ClockError), then the mark moved up.
        return self.change(True, now)

    cdef int forget(self) except -1:
        return self.state.remove()
