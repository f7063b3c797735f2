# cython: language_level=3
import base64
import binascii

from azaion.errors import AuthenticationError, ConfigurationError


cdef class Credentials:

    def __init__(self, str email, str password):
        if not email or not email.strip() or "@" not in email:
            raise ConfigurationError("an email address is required, like operator@example.com")
        if not password:
            raise ConfigurationError("a password is required")
        self.email = email.strip().lower()
        self.password = password

    cdef bytes identity(self):
        return self.email.encode("utf-8")

    cdef bytes secret(self):
        return self.password.encode("utf-8")

    cdef bint is_machine(self):
        return False

    def __repr__(self):
        return f"Credentials(email={self.email!r}, password=***)"

    def __reduce__(self):
        raise TypeError("credentials cannot be pickled")


cdef class MachineCredentials(Credentials):

    def __init__(self, str client_name, str key):
        if not client_name or not client_name.strip():
            raise ConfigurationError("a machine client name is required")
        try:
            raw = base64.b64decode(key or "", validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise AuthenticationError(
                "a machine client key is the base64 of 32 bytes, as POST /clients returned it"
            )
        self.client_name = client_name.strip()
        self.email = self.client_name
        self.password = ""
        self.key = raw

    cdef bytes identity(self):
        return self.client_name.encode("utf-8")

    cdef bytes secret(self):
        return self.key

    cdef bint is_machine(self):
        return True

    def __repr__(self):
        return f"MachineCredentials(client_name={self.client_name!r}, key=***)"
