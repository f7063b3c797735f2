# cython: language_level=3
import base64
import binascii
import secrets

from azaion.errors import AuthenticationError, ConfigurationError

from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING
from libc.stdlib cimport free, malloc


cdef class Credentials:

    def __init__(self, str email, str password):
        if not email or not email.strip() or "@" not in email:
            raise ConfigurationError("an email address is required, like operator@example.com")
        if not password:
            raise ConfigurationError("a password is required")
        self.email = email.strip().lower()
        encoded = bytearray(password.encode("utf-8"))
        try:
            self.keep(encoded)
        finally:
            wipe_bytes(encoded)

    cdef int keep(self, object secret) except -1:
        # Stores secret (a bytearray) XOR-ed with a random pad, both in C memory of this object.
        cdef Py_ssize_t n = len(secret), i
        cdef const unsigned char* data = <const unsigned char*> PyByteArray_AS_STRING(secret)
        self.forget()
        self.masked = <unsigned char*> malloc(n + 1)
        self.pad = <unsigned char*> malloc(n + 1)
        if self.masked == NULL or self.pad == NULL:
            raise MemoryError()
        pad = secrets.token_bytes(n)
        for i in range(n):
            self.pad[i] = (<unsigned char*> PyBytes_AS_STRING(pad))[i]
            self.masked[i] = data[i] ^ self.pad[i]
        wipe_bytes(pad)
        self.secret_len = n
        return 0

    cdef void forget(self):
        if self.masked != NULL:
            azaion_wipe(self.masked, self.secret_len)
            free(self.masked)
            self.masked = NULL
        if self.pad != NULL:
            azaion_wipe(self.pad, self.secret_len)
            free(self.pad)
            self.pad = NULL
        self.secret_len = 0

    cdef bytes identity(self):
        return self.email.encode("utf-8")

    cdef bytearray secret(self):
        # The secret for one use: the caller wipes it (security's wipe_bytes) when done.
        cdef bytearray out = bytearray(self.secret_len)
        cdef unsigned char* p = <unsigned char*> PyByteArray_AS_STRING(out)
        cdef Py_ssize_t i
        for i in range(self.secret_len):
            p[i] = self.masked[i] ^ self.pad[i]
        return out

    cdef str password(self):
        # For the JSON body of a request: the protocol sends the password with /login and
        # /resources/get, so it cannot be dropped, only kept out of Python objects between uses.
        secret = self.secret()
        try:
            return secret.decode("utf-8")
        finally:
            wipe_bytes(secret)

    cdef bint same_as(self, Credentials other):
        mine, theirs = self.secret(), other.secret()
        try:
            return self.identity() == other.identity() and mine == theirs
        finally:
            wipe_bytes(mine)
            wipe_bytes(theirs)

    cdef bint is_machine(self):
        return False

    def __dealloc__(self):
        self.forget()

    def __repr__(self):
        return f"Credentials(email={self.email!r}, password=***)"

    def __reduce__(self):
        raise TypeError("credentials cannot be pickled")


cdef class MachineCredentials(Credentials):

    def __init__(self, str client_name, str key):
        if not client_name or not client_name.strip():
            raise ConfigurationError("a machine client name is required")
        try:
            raw = bytearray(base64.b64decode(key or "", validate=True))
        except (binascii.Error, ValueError):
            raw = bytearray()
        try:
            if len(raw) != 32:
                raise AuthenticationError(
                    "a machine client key is the base64 of 32 bytes, as POST /clients returned it"
                )
            self.client_name = client_name.strip()
            self.email = self.client_name
            self.keep(raw)
        finally:
            wipe_bytes(raw)

    cdef bytes identity(self):
        return self.client_name.encode("utf-8")

    cdef bint is_machine(self):
        return True

    def __repr__(self):
        return f"MachineCredentials(client_name={self.client_name!r}, key=***)"
