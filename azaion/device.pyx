# cython: language_level=3
# The device's keys (docs/security.md, "Device keys"): a sealing key that opens what the server
# seals to this device (HPKE, RFC 9180) and a signing key that signs a DPoP proof (RFC 9449) for
# every request. Without a TPM both live in a key file in the user's data directory, mode 0600,
# encrypted with AES-256-GCM under a key derived from the hardware fingerprint
# (docs/formats.md, section 4).
cimport cython

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
cdef tuple EC_MEMBERS = ("crv", "kty", "x", "y")
cdef int SEALED_FORMAT = 2
cdef str DEVICE_OPEN_FAILED = (
    "the device key store does not open on this machine (another machine's, a changed hardware "
    "fingerprint, or damaged); move it away to enrol this machine as a new device"
)


# Base64url (RFC 7515) and RFC 7638 thumbprints for every key the client handles: the device's
# P-256 keys here, the server's Ed25519 keys in api_client.
cdef str b64url_text(bytes data):
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


cdef bytes b64url_bytes(object text):
    import base64

    if not isinstance(text, str) or "=" in text:
        raise ValueError("not unpadded base64url")
    # Not `-len(text) % 4`: the module is built with cdivision, where that remainder is negative.
    return base64.urlsafe_b64decode(text + "=" * ((4 - len(text) % 4) % 4))


cdef inline bytes device_lp(bytes data):
    return struct.pack(">I", len(data)) + data


cdef bytes hpke_info(str folder, str name, str version, long device_id):
    # docs/formats.md, section 3: what a sealed answer is, and for which device.
    return (SEALED_INFO + device_lp(folder.encode("utf-8")) + device_lp(name.encode("utf-8"))
            + device_lp(version.encode("ascii")) + device_lp(str(device_id).encode("ascii")))


cdef dict public_jwk(object private_key):
    numbers = private_key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url_text(numbers.x.to_bytes(32, "big")),
            "y": b64url_text(numbers.y.to_bytes(32, "big"))}


cdef str jwk_thumbprint(dict jwk, tuple required):
    # RFC 7638: the key type's required members, in lexicographic order, no whitespace.
    members = {}
    for member in required:
        members[member] = jwk[member]
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url_text(hashlib.sha256(canonical.encode("ascii")).digest())


cdef object file_key(str hardware):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=DEVICE_FILE_SALT,
                info=b"").derive(hardware.encode("ascii"))


cdef str compact_json(object value):
    # One JWS part: base64url of compact JSON.
    return b64url_text(json.dumps(value, separators=(",", ":")).encode("utf-8"))


cdef bytes private_der(object key):
    # A function, not a lambda in seal_key_file: a closure in a cdef function puts that
    # function's mangled C name into the binary (build_tools/check_wheel.py).
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


cdef bytes seal_key_file(object signing, object sealing, str hardware):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    head = DEVICE_FILE_MAGIC + bytes([DEVICE_FILE_VERSION])
    nonce = os.urandom(12)
    body = AESGCM(file_key(hardware)).encrypt(nonce, device_lp(private_der(signing)) + device_lp(private_der(sealing)), head)
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


cdef bytes hpke_labeled_extract(bytes suite_id, bytes salt, bytes label, bytes ikm):
    import hmac

    return hmac.new(salt or bytes(32), b"HPKE-v1" + suite_id + label + ikm, hashlib.sha256).digest()


cdef bytes hpke_labeled_expand(bytes suite_id, bytes prk, bytes label, bytes info, int length):
    import hmac

    labeled = struct.pack(">H", length) + b"HPKE-v1" + suite_id + label + info
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.new(prk, block + labeled + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


cdef bytes hpke_open_with_dh(bytes dh, bytes enc, bytes pk_rm, bytes info, bytes ciphertext):
    # RFC 9180 (base mode, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM) after the ECDH,
    # which the TPM did: ExtractAndExpand, KeySchedule, then the first message's AEAD open.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    kem_id = b"KEM\x00\x10"
    eae_prk = hpke_labeled_extract(kem_id, b"", b"eae_prk", dh)
    shared = hpke_labeled_expand(kem_id, eae_prk, b"shared_secret", enc + pk_rm, 32)
    suite_id = b"HPKE\x00\x10\x00\x01\x00\x02"
    context = (b"\x00" + hpke_labeled_extract(suite_id, b"", b"psk_id_hash", b"")
               + hpke_labeled_extract(suite_id, b"", b"info_hash", info))
    secret = hpke_labeled_extract(suite_id, shared, b"secret", b"")
    key = hpke_labeled_expand(suite_id, secret, b"key", context, 32)
    nonce = hpke_labeled_expand(suite_id, secret, b"base_nonce", context, 12)
    return AESGCM(key).decrypt(nonce, ciphertext, b"")


cdef object tpm_template(str kind, bytes account):
    from tpm2_pytss import TPM2B_ECC_PARAMETER, TPM2B_PUBLIC

    if kind == "sign":
        template = TPM2B_PUBLIC.parse("ecc256:ecdsa-sha256",
                                      objectAttributes="userwithauth|sign|fixedtpm|fixedparent|sensitivedataorigin")
    else:
        template = TPM2B_PUBLIC.parse("ecc256:ecdh-sha256",
                                      objectAttributes="userwithauth|decrypt|fixedtpm|fixedparent|sensitivedataorigin")
    # A primary key is derived from the owner seed and its template: the account and the role
    # in `unique` make the same TPM give the same two keys to the same account, every start,
    # with nothing on disk.
    template.publicArea.unique.ecc.x = TPM2B_ECC_PARAMETER(hashlib.sha256(b"azaion " + kind.encode() + account).digest())
    return template


cdef long tpm_counter_index(bytes account):
    # An owner NV index (0x01xxxxxx, below the ranges TCG reserves) named by the account.
    return 0x01500000 + (int.from_bytes(hashlib.sha256(b"azaion counter " + account).digest()[:4], "big") & 0xFFFFF)


cdef bint tpm_index_defined(object tpm, long index) except -1:
    # Asked through the capability list: looking up a missing index makes the ESYS log an error.
    from tpm2_pytss.constants import TPM2_CAP

    more, data = tpm.get_capability(TPM2_CAP.HANDLES, index, 1)
    handles = list(data.data.handles)
    return bool(handles) and handles[0] == index


cdef log_wipe_failure(str failure):
    import logging

    logging.getLogger("azaion").warning("the revoked device's key store could not be removed (%s)", failure)


cdef dict tpm_public_jwk(object public):
    ecc = public.publicArea.unique.ecc
    return {"kty": "EC", "crv": "P-256", "x": b64url_text(bytes(ecc.x).rjust(32, b"\x00")),
            "y": b64url_text(bytes(ecc.y).rjust(32, b"\x00"))}


# No tp_traverse: gc.get_referents would hand out the private key objects, whose
# private_bytes() exports them (tests/e2e/test_device_memory.py). The class holds no cycles.
@cython.no_gc
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
        keys.jkt = jwk_thumbprint(keys.signing_jwk, EC_MEMBERS)
        return keys

    @staticmethod
    cdef DeviceKeys in_tpm(str tcti, bytes account):
        # The keys are created inside the TPM and never leave it (fixedtpm, fixedparent,
        # sensitivedataorigin); only the public halves come out.
        cdef DeviceKeys keys = DeviceKeys.__new__(DeviceKeys)
        try:
            from tpm2_pytss import ESAPI, ESYS_TR, TPM2B_SENSITIVE_CREATE, TCTILdr
        except ImportError:
            raise DeviceError("AZAION_TPM_TCTI names a TPM but tpm2-pytss is not installed; pip install "
                              "'azaion[tpm]'", code="DEVICE_KEY_STORE") from None
        name, _, config = tcti.partition(":")
        failure = None
        try:
            keys.tpm = ESAPI(TCTILdr(name, config) if config else TCTILdr(name))
            keys.tpm_account = account
            # A TPM has few object slots: each key is derived again for each use and flushed
            # after it (the same template gives the same key).
            handle, signing_public = keys.tpm.create_primary(
                TPM2B_SENSITIVE_CREATE(), tpm_template("sign", account), ESYS_TR.OWNER)[:2]
            keys.tpm.flush_context(handle)
            handle, sealing_public = keys.tpm.create_primary(
                TPM2B_SENSITIVE_CREATE(), tpm_template("seal", account), ESYS_TR.OWNER)[:2]
            keys.tpm.flush_context(handle)
        except Exception as e:  # tpm2-pytss raises TSS2_Exception and others
            failure = type(e).__name__
        if failure is not None:
            raise DeviceError(f"the TPM ({tcti}) could not make the device keys ({failure}); check AZAION_TPM_TCTI",
                              code="DEVICE_KEY_STORE") from None
        keys.store = "tpm"
        keys.path = None
        keys.signing_jwk = tpm_public_jwk(signing_public)
        keys.sealing_jwk = tpm_public_jwk(sealing_public)
        keys.jkt = jwk_thumbprint(keys.signing_jwk, EC_MEMBERS)
        return keys

    def __dealloc__(self):
        if self.tpm is not None:
            try:
                self.tpm.close()
            except Exception:
                pass

    cdef object tpm_key(self, str kind):
        from tpm2_pytss import ESYS_TR, TPM2B_SENSITIVE_CREATE

        return self.tpm.create_primary(TPM2B_SENSITIVE_CREATE(), tpm_template(kind, self.tpm_account),
                                       ESYS_TR.OWNER)[0]

    cdef bytes sign_input(self, bytes data):
        # ES256 over `data`: r || s, 32 bytes each.
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        if self.tpm is None:
            r, s = decode_dss_signature(self.signing_key.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        from tpm2_pytss import TPM2_ALG, TPM2_RH, TPM2_ST, TPM2B_DIGEST, TPMT_SIG_SCHEME, TPMT_TK_HASHCHECK

        scheme = TPMT_SIG_SCHEME(scheme=TPM2_ALG.ECDSA)
        scheme.details.ecdsa.hashAlg = TPM2_ALG.SHA256
        handle = self.tpm_key("sign")
        try:
            signature = self.tpm.sign(handle, TPM2B_DIGEST(hashlib.sha256(data).digest()), scheme,
                                      TPMT_TK_HASHCHECK(tag=TPM2_ST.HASHCHECK, hierarchy=TPM2_RH.NULL))
        finally:
            self.tpm.flush_context(handle)
        ecdsa = signature.signature.ecdsa
        return bytes(ecdsa.signatureR).rjust(32, b"\x00") + bytes(ecdsa.signatureS).rjust(32, b"\x00")

    cdef str proof(self, str method, str url, str token):
        # RFC 9449 section 4.2: a JWS (ES256) of htm, htu, iat, jti and, with a token, ath.
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.signing_jwk}
        claims = {"htm": method, "htu": url, "iat": int(time.time()), "jti": uuid.uuid4().hex}
        if token is not None:
            claims["ath"] = b64url_text(hashlib.sha256(token.encode("ascii")).digest())
        signing_input = f"{compact_json(header)}.{compact_json(claims)}"
        return f"{signing_input}.{b64url_text(self.sign_input(signing_input.encode('ascii')))}"

    cdef bint verify_own(self, bytes data, bytes signature):
        # An ES256 signature (r || s) of this device's signing key over `data`: checked with the
        # public half, so the same for both stores.
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        if len(signature) != 64:
            return False
        public = ec.EllipticCurvePublicNumbers(
            int.from_bytes(b64url_bytes(self.signing_jwk["x"]), "big"),
            int.from_bytes(b64url_bytes(self.signing_jwk["y"]), "big"), ec.SECP256R1()).public_key()
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            public.verify(der, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    cdef object counter(self, bint advance):
        # The TPM's monotonic NV counter of this account (created at its first use), after one
        # increment when `advance`; None for a software store. It cannot be set back, so a state
        # file that records it shows when an older copy of the file was put back.
        if self.tpm is None:
            return None
        from tpm2_pytss import TPM2B_NV_PUBLIC, TPMS_NV_PUBLIC
        from tpm2_pytss.constants import TPM2_ALG, TPM2_NT, TPMA_NV

        index = tpm_counter_index(self.tpm_account)
        failure = None
        value = None
        try:
            if tpm_index_defined(self.tpm, index):
                handle = self.tpm.tr_from_tpmpublic(index)
            else:
                attributes = (TPMA_NV.AUTHREAD | TPMA_NV.AUTHWRITE | TPMA_NV.NO_DA
                              | (TPM2_NT.COUNTER << TPMA_NV.TPM2_NT_SHIFT))
                handle = self.tpm.nv_define_space(b"", TPM2B_NV_PUBLIC(nvPublic=TPMS_NV_PUBLIC(
                    nvIndex=index, nameAlg=TPM2_ALG.SHA256, attributes=attributes, dataSize=8)))
                advance = True  # a counter reads only after its first increment
            if advance:
                self.tpm.nv_increment(handle, auth_handle=handle)
            value = int.from_bytes(bytes(self.tpm.nv_read(handle, 8, 0, auth_handle=handle)), "big")
            self.tpm.tr_close(handle)
        except Exception as e:  # tpm2-pytss raises TSS2_Exception and others
            failure = type(e).__name__
        if failure is not None:
            raise DeviceError(f"the TPM's counter of this device could not be read ({failure}); check "
                              "AZAION_TPM_TCTI", code="DEVICE_KEY_STORE") from None
        return value

    cdef int forget(self) except -1:
        # A revoked device: its key store goes (the file; in a TPM, the counter: the keys there
        # are derived again from the TPM's seed and the account, and the server refuses them).
        if self.tpm is not None:
            index = tpm_counter_index(self.tpm_account)
            try:
                if tpm_index_defined(self.tpm, index):
                    self.tpm.nv_undefine_space(self.tpm.tr_from_tpmpublic(index))
            except Exception as e:
                log_wipe_failure(type(e).__name__)
            return 0
        if self.path is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            except OSError as e:
                log_wipe_failure(e.strerror or type(e).__name__)
        self.signing_key = None
        self.sealing_key = None
        return 0

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
        info = hpke_info(folder, name, version, device_id)
        body = data[2 + n:]
        if self.tpm is not None:
            return self.open_in_tpm(body, info), version
        suite = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
        try:
            return suite.decrypt(body, self.sealing_key, info=info), version
        except InvalidTag:
            pass
        raise IntegrityError("the sealed answer does not open with this device's key (tampered, or sealed to "
                             "another device)")

    cdef bytes open_in_tpm(self, bytes body, bytes info):
        # The ECDH step of DHKEM inside the TPM (TPM2_ECDH_ZGen), the rest of RFC 9180 here.
        from cryptography.exceptions import InvalidTag
        from tpm2_pytss import TPM2B_ECC_PARAMETER, TPM2B_ECC_POINT, TPMS_ECC_POINT

        enc = body[:65]
        point = TPM2B_ECC_POINT(TPMS_ECC_POINT(x=TPM2B_ECC_PARAMETER(enc[1:33]), y=TPM2B_ECC_PARAMETER(enc[33:65])))
        failure = False
        plaintext = None
        try:
            # bytes() of the TPM2B itself: its `.buffer` is a view that outlives nothing.
            handle = self.tpm_key("seal")
            try:
                shared_point = self.tpm.ecdh_zgen(handle, point)
            finally:
                self.tpm.flush_context(handle)
            dh = bytes(shared_point.point.x).rjust(32, b"\x00")
            pk_rm = (b"\x04" + b64url_bytes(self.sealing_jwk["x"]) + b64url_bytes(self.sealing_jwk["y"]))
            plaintext = hpke_open_with_dh(dh, enc, pk_rm, info, body[65:])
        except InvalidTag:
            failure = True
        except Exception:  # a point the TPM refuses (not on the curve)
            failure = True
        if failure:
            raise IntegrityError("the sealed answer does not open with this device's key (tampered, or sealed to "
                                 "another device)")
        return plaintext
