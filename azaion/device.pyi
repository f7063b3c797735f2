# Stub of the compiled azaion.device (protected): the device's key pairs, made only inside the client.
from pathlib import Path
from typing import Optional

class DeviceKeys:
    """This device's sealing and signing key pairs (internal; reached as ``ApiClient``'s device)."""

    def __init__(self) -> None:
        """Raises TypeError: made inside the client only."""
    @property
    def jkt(self) -> str:
        """The RFC 7638 thumbprint of the signing key (the tokens' ``cnf.jkt``)."""
    @property
    def store(self) -> str:
        """Where the private keys live: ``software`` (a key file) or ``tpm``."""
    @property
    def path(self) -> Optional[Path]:
        """The key file (None for a TPM store: nothing is on disk)."""
