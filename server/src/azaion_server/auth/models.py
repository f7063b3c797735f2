"""Password hashing (argon2id), login throttling, finding the caller a token names, hardware binding.

Users log in (`users`) and machine clients shake hands (`clients`) with what is here; both
sit above this package and register how their rows are found (`CallerDirectory`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Protocol

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, inspect, select, update
from sqlalchemy.orm import Session

from azaion_server.auth.entities import LoginFailure
from azaion_server.auth.exceptions import HardwareMismatch, TooManyAttempts
from azaion_server.auth.settings import AuthSettings
from azaion_server.db import utcnow
from azaion_server.jwt.exceptions import InvalidToken
from azaion_server.jwt.models import TokenService, check_token
from azaion_server.jwt.schemas import TokenClaims
from azaion_server.vocabulary import Caller

log = logging.getLogger(__name__)


class Account(Protocol):
    """What a password check needs of a user row (`users.entities.User`)."""

    @property
    def id(self) -> int:
        """The row id."""

    @property
    def password_hash(self) -> str:
        """The stored argon2id hash."""


class PasswordService:
    """argon2id hashing, with a small in-memory cache of successful verifications.

    The cache exists for `POST /resources/get`, which carries the password on every call:
    without it every download would cost one argon2 run. Its keys are HMACs under a per-process
    random key of (user id, stored hash, password), so neither a password nor anything that
    could be brute-forced offline sits in memory, and nothing is ever written to disk. A
    password change alters the stored hash and so misses the cache.
    """

    _MAX_ENTRIES = 10_000

    def __init__(self, settings: AuthSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self.max_length = settings.max_password_length
        self._cache_seconds = settings.password_cache_seconds
        self._cache_key_secret = secrets.token_bytes(32)
        self._cache: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()
        # Verified against when the email is unknown, so that both failures cost the same time.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def __repr__(self) -> str:
        return "PasswordService(argon2id)"

    def hash(self, password: str) -> str:
        """A new argon2id hash of `password` with the configured parameters."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches; never raises for a wrong or corrupt hash."""
        if len(password) > self.max_length:
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_dummy(self, password: str) -> None:
        """Spend the time of one verification, for an unknown email."""
        self.verify(self._dummy_hash, password[: self.max_length])

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the configured ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def _cache_key(self, user: Account, password: str) -> bytes:
        message = f"{user.id}\0{user.password_hash}\0".encode() + password.encode()
        return hmac.new(self._cache_key_secret, message, hashlib.sha256).digest()

    def is_cached(self, user: Account, password: str) -> bool:
        """True when this user's password was verified within AZAION_PASSWORD_CACHE_SECONDS."""
        if len(password) > self.max_length:
            return False
        key = self._cache_key(user, password)
        with self._lock:
            expires = self._cache.get(key)
            return expires is not None and expires > time.monotonic()

    def verify_user(self, user: Account, password: str) -> bool:
        """`verify` for a user, remembering a success for AZAION_PASSWORD_CACHE_SECONDS."""
        if self.is_cached(user, password):
            return True
        if not self.verify(user.password_hash, password):
            return False
        if self._cache_seconds:
            key = self._cache_key(user, password)
            with self._lock:
                self._cache[key] = time.monotonic() + self._cache_seconds
                self._cache.move_to_end(key)
                while len(self._cache) > self._MAX_ENTRIES:
                    self._cache.popitem(last=False)
        return True


class Throttle:
    """Counts failed password checks (and handshakes) per email or client, and per address.

    Kept in the database (not in memory) so that every instance behind a load balancer sees
    the same count.
    """

    def __init__(self, settings: AuthSettings) -> None:
        self._per_email = settings.login_max_attempts
        self._per_address = settings.login_max_attempts_per_address
        self._window = dt.timedelta(seconds=settings.login_window_seconds)

    @staticmethod
    def _subject(kind: str, name: str) -> str:
        # A digest, not the name: any length fits the column (a 320-character email plus its
        # prefix did not), and the table holds no list of the emails someone tried.
        return f"{kind}:{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()}"

    @classmethod
    def _keys(cls, name: str, address: str | None, kind: str) -> list[str]:
        keys = [cls._subject(kind, name)]
        if address:
            keys.append(f"addr:{address}")
        return keys

    def check(self, session: Session, name: str, address: str | None, *, kind: str = "email") -> None:
        """Raise TooManyAttempts while either limit is reached within the window.

        `name` is an email (`kind` "email") or a machine client's name (`kind` "client").
        """
        now = utcnow()
        since = now - self._window
        keys = self._keys(name, address, kind)
        for key, limit in zip(keys, (self._per_email, self._per_address), strict=False):
            count, oldest = session.execute(
                select(func.count(), func.min(LoginFailure.at)).where(
                    LoginFailure.key == key, LoginFailure.at > since
                )
            ).one()
            if count >= limit:
                retry = (oldest + self._window - now).total_seconds()
                raise TooManyAttempts(retry_after=math.ceil(retry))

    def record_failure(
        self, session: Session, name: str, address: str | None, *, kind: str = "email"
    ) -> None:
        """Remember one failure (committed at once) and forget those older than the window."""
        now = utcnow()
        session.execute(delete(LoginFailure).where(LoginFailure.at <= now - self._window))
        session.add_all(LoginFailure(key=key, at=now) for key in self._keys(name, address, kind))
        session.commit()

    def clear(self, session: Session, name: str, *, kind: str = "email") -> None:
        """Forget the failures of a name after it logs in (its address keeps its count)."""
        session.execute(delete(LoginFailure).where(LoginFailure.key == self._subject(kind, name)))


CallerLookup = Callable[[Session, int], Caller | None]


class CallerDirectory:
    """Finds the user or machine client verified token claims name.

    `users` and `clients` register a lookup per kind (`AppContext` wires them), so that this
    package needs neither of them.
    """

    def __init__(self, lookups: Mapping[str, CallerLookup]) -> None:
        self._lookups = dict(lookups)

    def __repr__(self) -> str:
        return f"CallerDirectory(kinds={sorted(self._lookups)})"

    def load(self, session: Session, claims: TokenClaims) -> Caller:
        """The caller `claims` name; InvalidToken when it is gone or disabled.

        The role is read from the database, not the token, so a role change or a deletion takes
        effect at once rather than when the token expires. The name must match too: ids are never
        reused, but a token must not outlive a rename either.
        """
        lookup = self._lookups.get(claims.kind)
        caller = lookup(session, claims.subject_id) if lookup is not None else None
        if caller is None or caller.identity != claims.unique_name:
            raise InvalidToken()
        return caller


def authenticate(
    session: Session, tokens: TokenService, callers: CallerDirectory, token: str | None
) -> tuple[TokenClaims, Caller]:
    """The verified claims of `token` and the caller they name: what `CurrentCaller` does for a
    route (`jwt.models.check_token`, then `CallerDirectory.load`), for the event stream, which
    checks its token when it opens and again at every heartbeat."""
    claims = check_token(session, tokens, token)
    return claims, callers.load(session, claims)


def check_hardware(caller: Caller, hardware: str) -> None:
    """HardwareMismatch when the caller is bound to another machine (an unbound one passes)."""
    if caller.hardware_hash is not None and caller.hardware_hash != hardware:
        raise HardwareMismatch()


def bind_hardware(session: Session, caller: Caller, hardware: str) -> None:
    """Bind an unbound user or machine client to `hardware`, or check it is the one it is bound to.

    The conditional UPDATE makes the first binding atomic: of two machines racing to be first,
    one wins and the other gets HardwareMismatch.
    """
    check_hardware(caller, hardware)
    if caller.hardware_hash is not None:
        return
    table = inspect(caller).mapper.local_table
    session.execute(
        update(table)
        .where(table.c.id == caller.id, table.c.hardware_hash.is_(None))
        .values(hardware_hash=hardware)
    )
    session.commit()
    session.refresh(caller)
    check_hardware(caller, hardware)
    if caller.hardware_hash == hardware:
        log.info("%s %s bound to its hardware", caller.kind, caller.id)
