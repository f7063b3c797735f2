# Stub of the compiled azaion.cache (protected). Its classes have no Python surface: named here
# so that type checkers know they exist, nothing more.
from typing import Optional

class BigPartCache:
    """The local cache of big parts (internal; made only inside the client)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""

class CacheEntry:
    """One cached big part (internal; made only inside the client)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""

class CacheFile:
    """An open file of the cache (internal; made only inside the client)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""

class Directory:
    """A directory of the cache, opened without following links (internal; made only inside the client)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""

class SegmentReceiver:
    """The read-ahead thread's step of a cold load (internal; made only inside the client)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""
    def __call__(self) -> Optional[bytes]:
        """The next segment received (and appended to the partial file), or None at the end."""

class StateFile:
    """A state file at the cache's root, changed under a lock (internal; made only inside the client)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""
