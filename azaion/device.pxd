# cython: language_level=3

# The device's two P-256 key pairs behind one interface: a software store (a key file under the
# user's data directory, encrypted under the hardware fingerprint) or, later, a TPM 2.0. The
# private keys are attributes of a cdef class without a Python accessor: nothing outside this
# module reaches them.
cdef class DeviceKeys:
    cdef object signing_key   # ec.EllipticCurvePrivateKey (ES256 proofs)
    cdef object sealing_key   # ec.EllipticCurvePrivateKey (HPKE recipient)
    cdef readonly str jkt     # RFC 7638 thumbprint of the signing key
    cdef readonly str store   # "software" or "tpm"
    cdef object tpm           # tpm2_pytss.ESAPI, for a TPM store
    cdef bytes tpm_account    # what the TPM's templates name (the keys are re-derived per use)
    cdef readonly object path
    cdef dict signing_jwk
    cdef dict sealing_jwk

    @staticmethod
    cdef DeviceKeys load_or_create(object path, str hardware)
    @staticmethod
    cdef DeviceKeys in_tpm(str tcti, bytes account)
    cdef bytes sign_input(self, bytes data)
    cdef object tpm_key(self, str kind)
    cdef str proof(self, str method, str url, str token)
    cdef dict enrol_body(self, str hardware)
    cdef bint verify_own(self, bytes data, bytes signature)
    cdef object counter(self, bint advance)
    cdef int forget(self) except -1
    cdef tuple open_sealed(self, object sealed, str folder, str name, long device_id)
    cdef bytes open_in_tpm(self, bytes body, bytes info)


cdef str b64url_text(bytes data)
cdef bytes b64url_bytes(object text)
cdef str jwk_thumbprint(dict jwk, tuple required)
cdef bytes hpke_info(str folder, str name, str version, long device_id)
