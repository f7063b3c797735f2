# Stub of the compiled azaion.lease (protected): the offline leases and the clock's mark, made only
# inside the client.

class LeaseStore:
    """The leases this device keeps beside the cache (internal; made only inside the client)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""

class Clock:
    """The latest time this device has seen, in a signed state file (internal)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""

class ClockChange:
    """One change of the clock's state file (internal)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""
    def __call__(self, old: bytes) -> bytes:
        """The next state file, or an error that leaves the file as it is."""
