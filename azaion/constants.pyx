# cython: language_level=3
"""Defaults and the environment: the one place azaion reads ``AZAION_*`` variables.

Every value is read when asked for, not at import, so a process (or a test) that sets the
environment before it builds an :class:`~azaion.ApiClient` gets what it set.

=============================  =========================================  ===================
variable                       meaning                                    default
=============================  =========================================  ===================
``AZAION_API_URL``             Resource API base URL                      (none: required)
``AZAION_CACHE_DIR``           cache of big parts                         user cache dir
``AZAION_SMALL_SIZE_KB``       upper bound of the small part              3
``AZAION_CONNECT_TIMEOUT``     seconds to connect                         10
``AZAION_READ_TIMEOUT``        seconds between bytes of an answer         60
``AZAION_MAX_RETRIES``         retries of network errors and 5xx          4
``AZAION_BACKOFF``             first backoff step, seconds (doubles)      0.5
``AZAION_RETRY_AFTER_MAX``     longest ``Retry-After`` honoured, seconds  60
``AZAION_CHUNK_SIZE``          bytes per read of a transfer               4 MiB
``AZAION_CONCURRENCY``         parallel S3 transfers                      4
``AZAION_HARDWARE_FINGERPRINT`` replaces the collected fingerprint        (none)
``AZAION_TRUSTED_PUBLISHERS``  JSON file of trusted publisher keys        (none: no checks)
``AZAION_DATA_DIR``            the device's key store, the release state  user data dir
``AZAION_JWKS_FILE``           the server's signing keys to trust first   (none: first seen)
``AZAION_TPM_TCTI``            the TPM holding the device keys            /dev/tpmrm0 if present
``AZAION_LEGACY_ENVELOPE``     speak the seed's v1 envelope               false
``AZAION_OFFLINE``             load from leases only, open no connection  false
=============================  =========================================  ===================
"""

import os

from azaion.errors import ConfigurationError

CDN_CONFIG = "cdn.yaml"
# In the data directory, beside the device key store: the highest release accepted per resource.
RELEASE_STATE = ".releases.json"
# In the data directory too: the clock's high-water mark of one account's device (azaion/lease.pyx).
CLOCK_STATE = ".clock-{account}.json"
# How far this machine's clock may be behind the latest time seen before offline loads stop: the
# usual drift of an unsynchronised clock over a few days, not a rollback.
CLOCK_TOLERANCE_SECONDS = 300
SYSTEM_FOLDER = "system"
BIG_SUFFIX = ".big"
APP_NAME = "azaion"
USER_AGENT = "azaion-client"


cdef extern from "azaion_build_info.h":
    const char* AZAION_WRAPPING_KEY_KIND
    int AZAION_KEY_ID
    int AZAION_PREVIOUS_KEY_ID
    int AZAION_STRIPPED
    int AZAION_TEST_BUILD


cpdef dict build_info():
    """What this build of the client holds (docs/packaging.md).

    ``wrapping_key`` is ``"deployment"`` for a build with ``AZAION_WRAPPING_KEY_FILE`` and
    ``"test"`` for one with the published test key, which opens only test resources;
    ``key_id`` and ``previous_key_id`` are the resource-header key ids it reads (it writes
    ``key_id``); ``stripped`` is False only for ``make debug``; ``test_build`` is True for
    builds made for tests (``make compile``), which alone honour ``AZAION_HARDWARE_FINGERPRINT``.
    """
    return {
        "wrapping_key": AZAION_WRAPPING_KEY_KIND.decode("ascii"),
        "key_id": AZAION_KEY_ID,
        "previous_key_id": AZAION_PREVIOUS_KEY_ID if AZAION_PREVIOUS_KEY_ID >= 0 else None,
        "stripped": bool(AZAION_STRIPPED),
        "test_build": bool(AZAION_TEST_BUILD),
    }


cdef object _env(str name):
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


cdef object _number(str name, object default, object kind, object minimum):
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number; unset it or give a number") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={raw!r} is below its minimum {minimum}")
    return value


cpdef str api_url(object override=None):
    """The Resource API base URL: ``override``, else ``AZAION_API_URL``."""
    url = override if override else _env("AZAION_API_URL")
    if not url:
        raise ConfigurationError("no API URL: pass ApiClient(api_url) or set AZAION_API_URL")
    url = str(url).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"API URL {url!r} must start with http:// or https://")
    return url


cdef object _user_dir(object override, str env, str platform_dir):
    # The argument, else the variable, else platformdirs' folder of that kind for this user.
    from pathlib import Path

    chosen = override if override is not None else _env(env)
    if chosen is None:
        import platformdirs

        chosen = getattr(platformdirs, platform_dir)(APP_NAME, appauthor=False)
    return Path(chosen).expanduser()


cpdef object cache_dir(object override=None):
    """Where big parts are cached: ``override``, else ``AZAION_CACHE_DIR``, else the user cache dir."""
    return _user_dir(override, "AZAION_CACHE_DIR", "user_cache_dir")


cpdef int small_size_kb():
    """Upper bound of the small part, in KiB."""
    return _number("AZAION_SMALL_SIZE_KB", 3, int, 1)


cpdef tuple timeouts():
    """``(connect, read)`` timeouts in seconds for every HTTP call."""
    return (
        _number("AZAION_CONNECT_TIMEOUT", 10.0, float, 0.01),
        _number("AZAION_READ_TIMEOUT", 60.0, float, 0.01),
    )


cpdef int max_retries():
    """How many times a network error or a 5xx answer is retried."""
    return _number("AZAION_MAX_RETRIES", 4, int, 0)


cpdef double backoff_factor():
    """First backoff step in seconds; each retry doubles it, with jitter."""
    return _number("AZAION_BACKOFF", 0.5, float, 0.0)


cpdef double retry_after_max():
    """The longest ``Retry-After`` the client waits; a longer one fails at once."""
    return _number("AZAION_RETRY_AFTER_MAX", 60.0, float, 0.0)


cpdef int chunk_size():
    """Bytes per read when streaming a transfer."""
    return _number("AZAION_CHUNK_SIZE", 4 * 1024 * 1024, int, 64 * 1024)


cpdef int transfer_concurrency():
    """Parallel S3 transfer threads."""
    return _number("AZAION_CONCURRENCY", 4, int, 1)


cpdef object hardware_fingerprint_override():
    """A fingerprint string that replaces the collected one: honoured only by test builds
    (``build_info()["test_build"]``), never by a release wheel, so that nobody can make a
    release client claim another machine's fingerprint."""
    if not AZAION_TEST_BUILD:
        return None
    return _env("AZAION_HARDWARE_FINGERPRINT")


cpdef object jwks_file():
    """``AZAION_JWKS_FILE``: a JWK Set (the server's ``/.well-known/jwks.json``) to trust from the
    start, instead of the keys first seen; None when unset."""
    from pathlib import Path

    chosen = _env("AZAION_JWKS_FILE")
    return Path(chosen).expanduser() if chosen is not None else None
cpdef object trusted_publishers_file():
    """The trusted publishers file (``AZAION_TRUSTED_PUBLISHERS``), or None when unset."""
    return _env("AZAION_TRUSTED_PUBLISHERS")


cpdef object data_dir(object override=None):
    """Where the device's key store lives: the argument, ``AZAION_DATA_DIR``, or the user's data
    directory (``platformdirs``)."""
    return _user_dir(override, "AZAION_DATA_DIR", "user_data_dir")


cpdef object tpm_tcti():
    """The TPM to keep the device keys in: ``AZAION_TPM_TCTI`` (a TCTI, e.g. ``swtpm:port=2321`` or
    ``device:/dev/tpmrm0``); else ``/dev/tpmrm0`` when it exists and tpm2-pytss is installed
    (``azaion[tpm]``); else None, and the keys live in the software key store."""
    value = _env("AZAION_TPM_TCTI")
    if value is not None:
        return value.strip()
    if os.path.exists("/dev/tpmrm0"):
        import importlib.util

        if importlib.util.find_spec("tpm2_pytss") is not None:
            return "device:/dev/tpmrm0"
    return None


cpdef bint legacy_envelope():
    """``AZAION_LEGACY_ENVELOPE=true``: speak the seed's v1 envelope (password and hardware hash,
    no device key) to a server that still serves it."""
    value = _env("AZAION_LEGACY_ENVELOPE")
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on")


cpdef bint offline():
    """``AZAION_OFFLINE=1`` (huggingface_hub's words and values): load only from leases and the
    cache, and never open a connection."""
    value = _env("AZAION_OFFLINE")
    return value is not None and value.strip().upper() in ("1", "ON", "YES", "TRUE")
