# Stub of the compiled azaion.constants: the client's configuration from the environment.
from pathlib import Path
from typing import Optional, TypedDict, Union

from azaion.errors import ConfigurationError as ConfigurationError

APP_NAME: str
BIG_SUFFIX: str
CDN_CONFIG: str
RELEASE_STATE: str
CLOCK_STATE: str
CLOCK_TOLERANCE_SECONDS: int
SYSTEM_FOLDER: str
USER_AGENT: str

class _BuildInfo(TypedDict):
    wrapping_key: str
    key_id: int
    previous_key_id: Optional[int]
    stripped: bool

def build_info() -> _BuildInfo:
    """What this build of the client holds (docs/packaging.md).

    ``wrapping_key`` is ``"deployment"`` for a build with ``AZAION_WRAPPING_KEY_FILE`` and
    ``"test"`` for one with the published test key, which opens only test resources;
    ``key_id`` and ``previous_key_id`` are the resource-header key ids it reads (it writes
    ``key_id``); ``stripped`` is False only for ``make debug``.
    """

def api_url(override: Optional[str] = None) -> str:
    """The Resource API base URL: ``override``, else ``AZAION_API_URL``."""

def cache_dir(override: Optional[Union[str, Path]] = None) -> Path:
    """Where big parts are cached: ``override``, else ``AZAION_CACHE_DIR``, else the user cache dir."""

def small_size_kb() -> int:
    """Upper bound of the small part, in KiB."""

def timeouts() -> tuple[float, float]:
    """``(connect, read)`` timeouts in seconds for every HTTP call."""

def max_retries() -> int:
    """How many times a network error or a 5xx answer is retried."""

def backoff_factor() -> float:
    """First backoff step in seconds; each retry doubles it, with jitter."""

def retry_after_max() -> float:
    """The longest ``Retry-After`` the client waits; a longer one fails at once."""

def chunk_size() -> int:
    """Bytes per read when streaming a transfer."""

def transfer_concurrency() -> int:
    """Parallel S3 transfer threads."""

def hardware_fingerprint_override() -> Optional[str]:
    """A fingerprint string that replaces the collected one (tests, images without stable ids)."""

def jwks_file() -> Optional[Path]:
    """``AZAION_JWKS_FILE``: a JWK Set to trust from the start; None when unset."""

def data_dir(override: Optional[Union[str, Path]] = None) -> Path:
    """Where the device's key store lives: the argument, ``AZAION_DATA_DIR``, or the user's data directory."""

def legacy_envelope() -> bool:
    """``AZAION_LEGACY_ENVELOPE=true``: speak the seed's v1 envelope to a server that still serves it."""

def offline() -> bool:
    """``AZAION_OFFLINE=1``: load only from leases and the cache, never open a connection."""

def trusted_publishers_file() -> Optional[str]:
    """The trusted publishers file (``AZAION_TRUSTED_PUBLISHERS``), or None when unset."""

def tpm_tcti() -> Optional[str]:
    """The TPM for the device keys: ``AZAION_TPM_TCTI``, else ``/dev/tpmrm0`` with tpm2-pytss, else None."""
