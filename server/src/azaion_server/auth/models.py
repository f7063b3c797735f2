"""Password hashing (argon2id), login throttling, finding the caller a token names, hardware binding.

Users log in (`users`) and machine clients shake hands (`clients`) with what is here; both
sit above this package and register how their rows are found (`CallerDirectory`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, inspect, select, update
from sqlalchemy.orm import Session

from azaion_server.auth.entities import LoginFailure
from azaion_server.auth.exceptions import HardwareMismatch, InvalidCredentials, TooManyAttempts
from azaion_server.auth.settings import AuthSettings
from azaion_server.db import utcnow
from azaion_server.jwt.dpop import ProofRequest
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


AccountT = TypeVar("AccountT", bound=Account)


class PasswordService:
    """argon2id hashing and verification, with the configured parameters.

    Nothing is cached here: the download path remembers envelope keys instead
    (`resources.keycache`), and a hit there needs no password check at all.
    """

    def __init__(self, settings: AuthSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self.max_length = settings.max_password_length
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


@dataclass(frozen=True)
class Attempt:
    """One try at a secret: whose (`kind` "email" with an email, or "client" with a machine
    client's name) and from which address (None when the server does not know it)."""

    kind: str
    name: str
    address: str | None

    def __repr__(self) -> str:
        return f"Attempt(kind={self.kind!r}, address={self.address!r})"


class Throttle:
    """Growing delays after failed password checks and handshakes, per (name, address) and per
    address, never per name alone.

    After AZAION_LOGIN_MAX_ATTEMPTS failures of one name from one address, that pair waits
    AZAION_LOGIN_DELAY_SECONDS after its latest failure, twice as long after each further one,
    at most AZAION_LOGIN_WINDOW_SECONDS; likewise one address after
    AZAION_LOGIN_MAX_ATTEMPTS_PER_ADDRESS failures for any names. A failure is forgotten a window
    after it happened, and a success forgets its pair's. Because no count belongs to a name
    alone, someone who knows an email cannot make its owner, at another address, wait.

    Kept in the database (not in memory) so that every instance behind a load balancer sees the
    same counts; a refused attempt checks no secret and so counts nothing.
    """

    def __init__(self, settings: AuthSettings) -> None:
        self._per_pair = settings.login_max_attempts
        self._per_address = settings.login_max_attempts_per_address
        self._delay = settings.login_delay_seconds
        self._window = dt.timedelta(seconds=settings.login_window_seconds)

    def __repr__(self) -> str:
        return f"Throttle(per_pair={self._per_pair}, per_address={self._per_address})"

    @staticmethod
    def exempt(attempt: Attempt) -> bool:
        """Whether `attempt` is never made to wait: the one place for such a rule.

        None is today. The device-key issue adds here: a request that carries a valid proof of
        the account's device.
        """
        return False

    @staticmethod
    def _pair_key(attempt: Attempt) -> str:
        # A digest, not the name: any length fits the column, and the table holds no list of the
        # emails someone tried.
        parts = (attempt.kind, attempt.name, attempt.address or "")
        digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
        return f"pair:{digest}"

    def _limits(self, attempt: Attempt) -> list[tuple[str, int]]:
        limits = [(self._pair_key(attempt), self._per_pair)]
        if attempt.address:
            limits.append((f"addr:{attempt.address}", self._per_address))
        return limits

    def delay(self, failures: int, allowed: int) -> float:
        """Seconds to wait after the latest of `failures`, when `allowed` go unpunished."""
        if failures < allowed:
            return 0.0
        doublings = min(failures - allowed, 40)
        return min(self._window.total_seconds(), self._delay * 2.0**doublings)

    def wait(self, session: Session, attempt: Attempt) -> float:
        """Seconds `attempt` must still wait (0 when it may go on)."""
        now = utcnow()
        since = now - self._window
        longest = 0.0
        for key, allowed in self._limits(attempt):
            count, latest = session.execute(
                select(func.count(), func.max(LoginFailure.at)).where(
                    LoginFailure.key == key, LoginFailure.at > since
                )
            ).one()
            if latest is not None:
                until = latest + dt.timedelta(seconds=self.delay(count, allowed))
                longest = max(longest, (until - now).total_seconds())
        return longest

    def check(self, session: Session, attempt: Attempt) -> None:
        """Raise TooManyAttempts (with Retry-After) while `attempt` must wait."""
        if self.exempt(attempt):
            return
        left = self.wait(session, attempt)
        if left > 0:
            raise TooManyAttempts(retry_after=math.ceil(left))

    def record_failure(self, session: Session, attempt: Attempt) -> None:
        """Remember one failure (committed at once) and forget those older than the window."""
        now = utcnow()
        session.execute(delete(LoginFailure).where(LoginFailure.at <= now - self._window))
        session.add_all(LoginFailure(key=key, at=now) for key, _allowed in self._limits(attempt))
        session.commit()

    def clear(self, session: Session, attempt: Attempt) -> None:
        """Forget the failures of a name at an address after it succeeds (the address keeps its
        count, other addresses theirs)."""
        session.execute(delete(LoginFailure).where(LoginFailure.key == self._pair_key(attempt)))


class PasswordCheck:
    """The one password check of the server, throttled: `POST /login` and `POST /resources/get`."""

    def __init__(self, passwords: PasswordService, throttle: Throttle) -> None:
        self.passwords = passwords
        self.throttle = throttle

    def __repr__(self) -> str:
        return f"PasswordCheck({self.passwords!r}, {self.throttle!r})"

    def check(self, session: Session, attempt: Attempt, account: AccountT | None, password: str) -> AccountT:
        """`account` when `password` is its password; InvalidCredentials otherwise (an unknown
        account included, after the same work), TooManyAttempts while the attempt must wait.

        A failure counts towards throttling and is committed; a success forgets its pair's.
        """
        self.throttle.check(session, attempt)
        if len(password) > self.passwords.max_length:
            # Refused before hashing; still counted, so it cannot be used to probe for free.
            ok = False
        elif account is None:
            self.passwords.verify_dummy(password)
            ok = False
        else:
            ok = self.passwords.verify(account.password_hash, password)
        if not ok or account is None:
            self.throttle.record_failure(session, attempt)
            raise InvalidCredentials()
        self.throttle.clear(session, attempt)
        return account


CallerLookup = Callable[[Session, int], Caller | None]
# Refuses a token whose device was revoked (`devices.models.check_bound_device`, wired by the context).
DeviceCheck = Callable[[Session, Caller, str], None]


class CallerDirectory:
    """Finds the user or machine client verified token claims name.

    `users` and `clients` register a lookup per kind (`AppContext` wires them), so that this
    package needs neither of them.
    """

    def __init__(self, lookups: Mapping[str, CallerLookup], device_check: DeviceCheck | None = None) -> None:
        self._lookups = dict(lookups)
        self._device_check = device_check

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
        if claims.jkt is not None and self._device_check is not None:
            self._device_check(session, caller, claims.jkt)
        return caller


def authenticate(
    session: Session,
    tokens: TokenService,
    callers: CallerDirectory,
    token: str | None,
    request: ProofRequest | None,
) -> tuple[TokenClaims, Caller]:
    """The verified claims of `token` and the caller they name: what `CurrentCaller` does for a
    route (`jwt.models.check_token`, then `CallerDirectory.load`), for the event stream, which
    checks its token when it opens and again at every heartbeat."""
    claims = check_token(session, tokens, token, request)
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
