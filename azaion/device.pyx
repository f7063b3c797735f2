# cython: language_level=3
# The device's keys (docs/security.md, "Device keys"): a sealing key that opens what the server
# seals to this device (HPKE, RFC 9180) and a signing key that signs a DPoP proof (RFC 9449) for
# every request. Without a TPM both live in a key file in the user's data directory, mode 0600,
# encrypted with AES-256-GCM under a key derived from the hardware fingerprint
# (docs/formats.md, section 4).
import hashlib
import json
import os
import struct
import time
import uuid

from azaion.errors import DeviceError, IntegrityError

cdef bytes DEVICE_FILE_MAGIC = b"AZDK"
cdef int DEVICE_FILE_VERSION = 1
cdef bytes DEVICE_FILE_SALT = b"azaion device key file v1"
cdef bytes SEALED_INFO = b"azaion sealed v2"
cdef int SEALED_FORMAT = 2
cdef str DEVICE_OPEN_FAILED = (
    "the device key store does not open on this machine (another machine's, a changed hardware "
    "fingerprint, or damaged); move it away to enrol this machine as a new device"
)


cdef str device_b64url(bytes data):
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


cdef inline bytes device_lp(bytes data):
    return struct.pack(">I", len(data)) + data


cdef bytes hpke_info(str folder, str name, str version, long device_id):
    # docs/formats.md, section 3: what a sealed answer is, and for which device.
    return (SEALED_INFO + device_lp(folder.encode("utf-8")) + device_lp(name.encode("utf-8"))
            + device_lp(version.encode("ascii")) + device_lp(str(device_id).encode("ascii")))


cdef dict public_jwk(object private_key):
    numbers = private_key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": device_b64url(numbers.x.to_bytes(32, "big")),
            "y": device_b64url(numbers.y.to_bytes(32, "big"))}


cdef str jwk_thumbprint(dict jwk):
    # RFC 7638: the required members of an EC key, in lexicographic order, no whitespace.
    canonical = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]},
                           separators=(",", ":"), sort_keys=True)
    return device_b64url(hashlib.sha256(canonical.encode("ascii")).digest())


cdef object file_key(str hardware):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=DEVICE_FILE_SALT,
                info=b"").derive(hardware.encode("ascii"))


cdef bytes seal_key_file(object signing, object sealing, str hardware):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    der = lambda key: key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    head = DEVICE_FILE_MAGIC + bytes([DEVICE_FILE_VERSION])
    nonce = os.urandom(12)
    body = AESGCM(file_key(hardware)).encrypt(nonce, device_lp(der(signing)) + device_lp(der(sealing)), head)
    return head + nonce + body


cdef tuple open_key_file(bytes data, str hardware):
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    head = DEVICE_FILE_MAGIC + bytes([DEVICE_FILE_VERSION])
    plain = None
    if len(data) > 17 + 16 and data[:5] == head:
        try:
            plain = AESGCM(file_key(hardware)).decrypt(data[5:17], data[17:], head)
        except InvalidTag:
            plain = None
    if plain is None:
        raise DeviceError(DEVICE_OPEN_FAILED, code="DEVICE_KEY_STORE")
    keys = []
    offset = 0
    try:
        for _ in range(2):
            (n,) = struct.unpack_from(">I", plain, offset)
            key = serialization.load_der_private_key(plain[offset + 4:offset + 4 + n], password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                raise ValueError("not a P-256 key")
            keys.append(key)
            offset += 4 + n
    except (struct.error, ValueError, TypeError):
        raise DeviceError(DEVICE_OPEN_FAILED, code="DEVICE_KEY_STORE") from None
    return keys[0], keys[1]


cdef class DeviceKeys:

    def __init__(self):
        raise TypeError("DeviceKeys is made by the client (ApiClient.device), not from Python")

    def __repr__(self):
        return f"DeviceKeys(store={self.store!r}, jkt={self.jkt!r})"

    def __reduce__(self):
        raise TypeError("DeviceKeys cannot be pickled: it holds private keys")

    @staticmethod
    cdef DeviceKeys load_or_create(object path, str hardware):
        # Two processes starting at once on a new machine: each writes a temporary file and
        # links it to the final name; the one whose link fails reads the winner's.
        from pathlib import Path

        from cryptography.hazmat.primitives.asymmetric import ec

        cdef DeviceKeys keys = DeviceKeys.__new__(DeviceKeys)
        path = Path(path)
        keys.path = path
        keys.store = "software"
        data = None
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = None
        except OSError as e:
            raise DeviceError(f"the device key store {path} cannot be read ({type(e).__name__}); check its "
                              "permissions", code="DEVICE_KEY_STORE") from None
        if data is None:
            signing = ec.generate_private_key(ec.SECP256R1())
            sealing = ec.generate_private_key(ec.SECP256R1())
            sealed = seal_key_file(signing, sealing, hardware)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.write(fd, sealed)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                try:
                    os.link(tmp, path)
                    data = sealed
                except FileExistsError:
                    data = path.read_bytes()
                finally:
                    os.unlink(tmp)
            except OSError as e:
                raise DeviceError(f"the device key store {path} cannot be written ({type(e).__name__}); check "
                                  "the data directory (AZAION_DATA_DIR)", code="DEVICE_KEY_STORE") from None
        keys.signing_key, keys.sealing_key = open_key_file(data, hardware)
        keys.signing_jwk = public_jwk(keys.signing_key)
        keys.sealing_jwk = public_jwk(keys.sealing_key)
        keys.jkt = jwk_thumbprint(keys.signing_jwk)
        return keys

    cdef str proof(self, str method, str url, str token):
        # RFC 9449 section 4.2: a JWS (ES256) of htm, htu, iat, jti and, with a token, ath.
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.signing_jwk}
        claims = {"htm": method, "htu": url, "iat": int(time.time()), "jti": uuid.uuid4().hex}
        if token is not None:
            claims["ath"] = device_b64url(hashlib.sha256(token.encode("ascii")).digest())
        compact = lambda value: device_b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))
        signing_input = f"{compact(header)}.{compact(claims)}"
        r, s = decode_dss_signature(self.signing_key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{device_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    cdef dict enrol_body(self, str hardware):
        return {"signing_key": dict(self.signing_jwk), "sealing_key": dict(self.sealing_jwk), "hardware": hardware}

    cdef tuple open_sealed(self, object sealed, str folder, str name, long device_id):
        # docs/formats.md, section 3: (plaintext, the version it names). The caller that knows
        # what a version is checks the plaintext against it.
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives import hpke

        data = bytes(sealed)
        if len(data) < 2 + 65 + 16 or data[0] != SEALED_FORMAT or len(data) < 2 + data[1] + 65 + 16:
            raise IntegrityError("the server's answer is not sealed to a device (format 2); is the server "
                                 "older than this client?")
        n = data[1]
        try:
            version = data[2:2 + n].decode("ascii")
        except UnicodeDecodeError:
            raise IntegrityError("the sealed answer names no version") from None
        suite = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
        try:
            return suite.decrypt(data[2 + n:], self.sealing_key,
                                 info=hpke_info(folder, name, version, device_id)), version
        except InvalidTag:
            pass
        raise IntegrityError("the sealed answer does not open with this device's key (tampered, or sealed to "
                             "another device)")
