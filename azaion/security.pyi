# Stub of the compiled azaion.security (protected). Its classes hold keys in C memory and have
# no Python surface: they are named here so that type checkers know they exist, nothing more.

class EnvelopeKeys:
    """The keys of one session's envelopes (internal; made only inside the client)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""

class ResourceEncryptor:
    """Encrypts and splits a resource (internal; made only inside the client)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""

class ResourceDecryptor:
    """Authenticates and decrypts a resource (internal; made only inside the client)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""
