# Stub of the compiled azaion.hardware_service (protected: no docstrings in the binary).

class HardwareService:
    """This device's hardware fingerprint (CPU, GPU, memory, disk, machine id) and its hash.

    ``AZAION_HARDWARE_FINGERPRINT`` replaces the collected fingerprint (tests, images without
    stable ids).
    """

    @property
    def hardware_hash(self) -> str:
        """The hash the server binds an account to."""
    @property
    def missing(self) -> tuple[str, ...]:
        """The sources that could not be read on this device (their place holds a fallback)."""
    def __init__(self) -> None: ...
