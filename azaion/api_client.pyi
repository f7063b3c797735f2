# Stub of the compiled azaion.api_client (a protected module: it ships without docstrings, so
# they are here). tests/packaging/test_stubs.py checks it against the built module.
from collections.abc import Callable, Iterator
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Optional, Union

from azaion.cdn_manager import CDNManager
from azaion.credentials import Credentials
from azaion.releases import Release, TrustedPublishers
from azaion.user import User

_Progress = Callable[[int, int], object]

class ServerKeys:
    """The server signing keys this client trusts for one API URL (built by ApiClient only)."""

    def __init__(self) -> None: ...

class ApiClient:
    """A client of the Resource API: log in, load split-encrypted resources into memory, publish them.

    ``api_url`` defaults to ``AZAION_API_URL``; ``cache_dir`` (where big parts are cached) to
    ``AZAION_CACHE_DIR`` or the user cache directory; ``jwt_public_key`` (PEM), when given,
    makes the client verify the server's tokens. Use it as a context manager, or call
    :meth:`close`. It cannot be pickled: it holds credentials.
    """

    @property
    def credentials(self) -> Optional[Credentials]:
        """The credentials set last (the secret is not readable from them)."""
    @property
    def user(self) -> Optional[User]:
        """Who is logged in, from the session token's claims; None before login."""
    @property
    def token(self) -> Optional[str]:
        """The session token, or None."""
    @property
    def cdn_manager(self) -> Optional[CDNManager]:
        """The CDN of the big parts, from the server's ``cdn.yaml``; None before it is read."""
    @property
    def api_url(self) -> str:
        """The API's base URL, without a trailing slash."""
    @property
    def cache_dir(self) -> Path:
        """Where the big parts are cached."""
    @property
    def last_release(self) -> Optional[Release]:
        """Who signed the resource the last load returned, when trusted publishers are configured."""
    @property
    def data_dir(self) -> Path:
        """Where the device's key store lives (``AZAION_DATA_DIR`` or the user's data directory)."""
    @property
    def offline(self) -> bool:
        """True when loads come from leases and the cache only and no connection is opened
        (``AZAION_OFFLINE=1`` or ``offline=True``)."""
    def __init__(
        self,
        api_url: Optional[str] = None,
        *,
        cache_dir: Optional[Union[str, PathLike[str]]] = None,
        jwt_public_key: Optional[Union[str, bytes]] = None,
        data_dir: Optional[Union[str, PathLike[str]]] = None,
        trusted_publishers: Optional[Union[str, PathLike[str], TrustedPublishers]] = None,
        jwks: Optional[dict[str, Any]] = None,
        offline: Optional[bool] = None,
    ) -> None:
        """``jwks``: the server's JWK Set to trust (else ``AZAION_JWKS_FILE``, else the set first seen);
        ``offline``: load from leases only and open no connection (else ``AZAION_OFFLINE``)."""
    def __enter__(self) -> ApiClient: ...
    def __exit__(
        self,
        *exc_info: Union[Optional[type[BaseException]], Optional[BaseException], Optional[TracebackType]],
    ) -> Literal[False]: ...
    def close(self) -> None:
        """Close the HTTP session and forget the session token."""
    def set_credentials_from_dict(self, email: str, password: str, load_cdn: bool = True) -> None:
        """Log in as a user: email and password; reads ``cdn.yaml`` now (unless ``load_cdn`` is
        false, or offline), so a wrong password fails here; the device enrols itself on that first
        contact. When the API cannot be reached, ``cdn.yaml`` is read later, at the first CDN
        download, so that a device with leases loads offline.

        Raises :class:`~azaion.errors.AuthenticationError` for refused credentials.
        """
    def set_machine_credentials(self, client_name: str, key: str) -> None:
        """Authenticate as a machine client (name and the base64 key of ``POST /clients``)."""
    def login(self) -> None:
        """Get a session token with the credentials set (called by the calls that need one)."""
    def is_authenticated(self) -> bool:
        """True when a session token is held and has not expired."""
    def logout(self) -> None:
        """Revoke the session token on the server and forget it here."""
    def test_connection(self) -> bool:
        """True when the API answers its health check, False when it cannot be reached."""
    def load_big_small_resource(
        self, resource_name: str, folder: str, progress: Optional[_Progress] = None
    ) -> bytes:
        """The plaintext of resource ``folder/resource_name``, in memory.

        The small part comes from the API, the big part from the local cache or the CDN (then
        cached); both are authenticated before a byte is returned. ``progress(done, total)`` is
        called as the big part arrives. Raises :class:`~azaion.errors.IntegrityError` for
        tampered or stale bytes, :class:`~azaion.errors.LicenseError` and the other
        :class:`~azaion.errors.AzaionError` subclasses for what the server refuses.

        When the API cannot be reached (or offline), the device's lease for the resource and
        the cached big part serve the load; :class:`~azaion.errors.OfflineError` when there is
        none, :class:`~azaion.errors.LeaseExpired`, :class:`~azaion.errors.LeaseError`,
        :class:`~azaion.errors.ClockError` and :class:`~azaion.errors.OfflineStateError` when the
        lease or the clock is refused (docs/client.md, "Offline").
        """
    def upload_big_small_resource(
        self,
        resource: bytes,
        resource_name: str,
        folder: str,
        progress: Optional[_Progress] = None,
        category: Optional[str] = None,
        draft: bool = False,
        signing_key: Any = None,
    ) -> None:
        """Encrypt ``resource``, split it, and publish it as ``folder/resource_name``.

        ``signing_key`` (a publisher's private key, PEM or key object) signs a release statement
        over the plaintext that the server stores with the version (docs/formats.md, section 3).

        The big part goes to the CDN through URLs the server signs, the small part to the API.
        ``draft=True`` keeps it unpublished. Needs the ResourceUploader role.
        """
    def enrol_device(self) -> dict[str, Any]:
        """Enrol this device (or find it again): the server's view ``{id, state, jkt, ...}``.

        A pending device (``AZAION_DEVICE_ENROLMENT=approval``) is answered, not raised.
        """
    def list_devices(
        self, user_id: Optional[int] = None, client_id: Optional[int] = None
    ) -> list[dict[str, Any]]:
        """Devices of every account, or of one user or machine client (ApiAdmins)."""
    def approve_device(self, device_id: int) -> dict[str, Any]:
        """Activate a pending device (ApiAdmins)."""
    def revoke_device(self, device_id: int, reason: str = "lost") -> dict[str, Any]:
        """Revoke a device (ApiAdmins any, others their own) as ``lost`` or ``retired``: refused from
        its next request on, and it wipes what it holds when it hears of it."""
    def register_publisher(self, name: str, public_key: Any, folders: list[str]) -> dict[str, Any]:
        """Register a publisher's public key (PEM, or a key object) for ``folders``; ApiAdmin only."""
    def list_publishers(self) -> list[dict[str, Any]]:
        """Every registered publisher: ``{name, key_id, algorithm, public_key, folders, revoked}``."""
    def set_publisher_folders(self, key_id: str, folders: list[str]) -> dict[str, Any]:
        """Replace the folders a publisher key may sign for; ApiAdmin only."""
    def revoke_publisher(self, key_id: str) -> dict[str, Any]:
        """Revoke a publisher key on the server; devices stop trusting it with a new trust file."""
    def set_folder_policy(self, folder: str, signatures_required: bool) -> dict[str, Any]:
        """Require (or stop requiring) signed releases for uploads to ``folder``; ApiAdmin only."""
    def trust_document(self) -> dict[str, Any]:
        """The trusted publishers document for devices (the file ``AZAION_TRUSTED_PUBLISHERS`` names)."""
    def list_resources(self, **filters: Any) -> list[dict[str, Any]]:
        """Resources this account may read, newest first, as dicts (see docs/protocol.md).

        Filters: ``id``, ``folder``, ``name`` (a regular expression), ``since`` and ``uploaded``
        (Unix seconds), ``category``, ``published``, ``alive``, ``count``.
        """
    def resource_info(self, resource_name: str, folder: str) -> Optional[dict[str, Any]]:
        """Metadata of one resource: size, checksum, times, category, published, alive."""
    def delete_resource(self, resource_name: str, folder: str) -> Optional[dict[str, Any]]:
        """Soft-delete a resource: no longer served, its bytes kept (``alive = false``)."""
    def publish_resource(
        self, resource_name: str, folder: str, published: bool = True
    ) -> Optional[dict[str, Any]]:
        """Publish (or, with ``published=False``, withdraw) a resource for Operators."""
    def license_info(self) -> dict[str, Any]:
        """This account's licence: ``{plan, expires_at, folders}`` (``None`` values when it has none)."""
    def validate_license(self) -> dict[str, Any]:
        """Ask the server whether this account's licence is valid on this device; raises if not."""
    def admin(
        self,
        method: str,
        path: str,
        json: Optional[Any] = None,
        params: Optional[dict[str, Any]] = None,
    ) -> Any:
        """One ApiAdmin call of the Resource API (``azaion admin`` uses it); its JSON answer."""
    def events(
        self, last_event_id: Optional[Union[int, str]] = None, *, reconnect: bool = True
    ) -> Iterator[dict[str, Any]]:
        """Follow the server's change events: yields dicts ``{id, type, data}`` as they come.

        The stream resumes after ``last_event_id``; when the connection drops it reconnects
        with backoff and resumes after the last event it yielded, so none is lost. With
        ``reconnect=False`` the iterator ends when the stream does. A ``device.revoked`` event
        for this device wipes what the client holds for it and raises
        :class:`~azaion.errors.DeviceRevoked`.
        """
