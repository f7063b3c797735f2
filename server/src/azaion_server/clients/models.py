"""Machine clients: registration, administration and the challenge-response handshake.

The handshake is the registry seed's: `POST /auth` hands out a random text and an IV, the
client answers with the text encrypted under its key (AES-256-CBC, PKCS#7), and
`POST /auth_verify` compares that with what the server computes, in constant time. A
challenge lives in the database (any instance may receive the answer), is bound to the client
that asked for it, expires after AZAION_CHALLENGE_SECONDS, and is consumed by a `DELETE`
before it is checked: of two answers racing for one challenge only the one whose `DELETE`
removed the row goes on, and a wrong answer burns the challenge too.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import logging
import os
import re
import secrets

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from azaion_server.audit import models as audit
from azaion_server.auth.models import Attempt, Throttle
from azaion_server.clients.entities import AuthChallenge, Client
from azaion_server.clients.exceptions import ClientNameTaken, ClientNotFound, HandshakeFailed
from azaion_server.clients.keys import KEY_SIZE, KeyVault, SealedKeyError
from azaion_server.clients.schemas import CLIENT_NAME_PATTERN, Challenge, ClientDetail
from azaion_server.clients.settings import ClientSettings
from azaion_server.db import utcnow
from azaion_server.jwt.models import TokenService
from azaion_server.licenses.entities import ClientLicense
from azaion_server.licenses.models import info
from azaion_server.vocabulary import ChangeLog, Role

log = logging.getLogger(__name__)

CIPHER = "AES-256-CBC"
# Challenges one client may have open at once; asking for more drops its oldest.
MAX_OPEN_CHALLENGES = 8
_NAME = re.compile(CLIENT_NAME_PATTERN)


def create_client(session: Session, vault: KeyVault, *, name: str, role: Role) -> tuple[Client, bytes]:
    """A new client and its raw key (the only time the key leaves the server)."""
    if session.scalar(select(Client.id).where(Client.name == name)) is not None:
        raise ClientNameTaken()
    key = secrets.token_bytes(KEY_SIZE)
    client = Client(name=name, role=role.value, sealed_key=vault.seal(name, key))
    session.add(client)
    try:
        session.commit()
    except IntegrityError as e:  # a concurrent request took the name first
        session.rollback()
        raise ClientNameTaken() from e
    log.info("machine client %s (%s) registered with role %s", client.id, name, client.role)
    return client, key


def get_client(session: Session, name: str) -> Client:
    """The client with this name, or ClientNotFound."""
    client = session.scalar(select(Client).where(Client.name == name))
    if client is None:
        raise ClientNotFound()
    return client


def find_enabled_client(session: Session, client_id: int) -> Client | None:
    """The enabled client with this id, if any (the `CallerDirectory` lookup of kind `client`)."""
    client = session.get(Client, client_id)
    return client if client is not None and client.enabled else None


def list_clients(session: Session) -> list[ClientDetail]:
    """Every client with its state and licence, by id."""
    rows = session.execute(
        select(Client, ClientLicense)
        .outerjoin(ClientLicense, ClientLicense.client_id == Client.id)
        .order_by(Client.id)
    ).all()
    return [
        ClientDetail(
            id=client.id,
            client_name=client.name,
            role=Role(client.role),
            enabled=client.enabled,
            hardware_bound=client.hardware_hash is not None,
            created_at=client.created_at,
            license=info(licence),
        )
        for client, licence in rows
    ]


def set_enabled(session: Session, name: str, enabled: bool) -> Client:
    """Enable or disable a client; a disabled one cannot shake hands and its tokens answer 401."""
    client = get_client(session, name)
    client.enabled = enabled
    if not enabled:
        session.execute(delete(AuthChallenge).where(AuthChallenge.client_id == client.id))
    session.commit()
    log.info("machine client %s %s", client.id, "enabled" if enabled else "disabled")
    return client


def reset_hardware(session: Session, changes: ChangeLog, name: str) -> None:
    """Unbind a client from its machine; the next download binds the machine it comes from."""
    client = get_client(session, name)
    client.hardware_hash = None
    changes.hardware_reset(session, client)
    session.commit()
    log.info("machine client %s unbound from its hardware", client.id)


def delete_client(session: Session, name: str) -> None:
    """Delete a client (its licence and challenges go with it; its uploads stay, without owner)."""
    client = get_client(session, name)
    session.delete(client)
    session.commit()
    log.info("machine client %s (%s) deleted", client.id, name)


def expected_answer(key: bytes, text: str, iv: bytes) -> bytes:
    """AES-256-CBC(key, iv, PKCS#7(text)): what the client must send, base64-decoded."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(text.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


class Handshake:
    """`POST /auth` and `POST /auth_verify`, with their throttling and limits."""

    def __init__(
        self, settings: ClientSettings, vault: KeyVault, throttle: Throttle, tokens: TokenService
    ) -> None:
        self._challenge_ttl = dt.timedelta(seconds=settings.challenge_seconds)
        self._max_session = settings.client_session_max_seconds
        self._vault = vault
        self._throttle = throttle
        self._tokens = tokens

    def __repr__(self) -> str:
        return f"Handshake(challenge={self._challenge_ttl}, max_session={self._max_session}s)"

    def _fail(self, session: Session, name: str, address: str | None, why: str) -> HandshakeFailed:
        session.rollback()
        self._throttle.record_failure(session, Attempt("client", name, address))
        log.info("machine client handshake refused (%s)", why)
        return HandshakeFailed()

    def _client(self, session: Session, name: str) -> Client | None:
        if not _NAME.match(name):
            return None
        client = session.scalar(select(Client).where(Client.name == name))
        return client if client is not None and client.enabled else None

    def challenge(self, session: Session, name: str, address: str | None) -> Challenge:
        """A fresh challenge for the client `name`; HandshakeFailed when there is no such client."""
        self._throttle.check(session, Attempt("client", name, address))
        client = self._client(session, name)
        if client is None:
            raise self._fail(session, name, address, "unknown or disabled client")
        now = utcnow()
        session.execute(delete(AuthChallenge).where(AuthChallenge.expires_at <= now))
        open_ids = session.scalars(
            select(AuthChallenge.id)
            .where(AuthChallenge.client_id == client.id)
            .order_by(AuthChallenge.expires_at.desc())
            .offset(MAX_OPEN_CHALLENGES - 1)
        ).all()
        if open_ids:
            session.execute(delete(AuthChallenge).where(AuthChallenge.id.in_(open_ids)))
        challenge = AuthChallenge(
            id=secrets.token_urlsafe(24),
            client_id=client.id,
            text=secrets.token_urlsafe(32),
            iv=os.urandom(16),
            expires_at=now + self._challenge_ttl,
        )
        session.add(challenge)
        session.commit()
        return Challenge(
            id=challenge.id,
            text=challenge.text,
            duration=int(self._challenge_ttl.total_seconds()),
            cipher=CIPHER,
            cipher_iv=base64.b64encode(challenge.iv).decode("ascii"),
        )

    def verify(
        self,
        session: Session,
        *,
        name: str,
        challenge_id: str,
        duration: int,
        encrypted_text: str,
        address: str | None,
        jkt: str | None = None,
    ) -> tuple[str, int]:
        """A session token and its lifetime in seconds, or HandshakeFailed."""
        self._throttle.check(session, Attempt("client", name, address))
        challenge = session.get(AuthChallenge, challenge_id)
        if challenge is None:
            raise self._fail(session, name, address, "unknown or used challenge")
        # Consume first: only the request whose DELETE removed the row may use the challenge.
        consumed = session.execute(delete(AuthChallenge).where(AuthChallenge.id == challenge_id))
        session.commit()
        if consumed.rowcount != 1:  # type: ignore[attr-defined]
            raise self._fail(session, name, address, "challenge used concurrently")
        client = self._client(session, name)
        if client is None or client.id != challenge.client_id:
            raise self._fail(session, name, address, "challenge of another client, or no such client")
        if challenge.expires_at <= utcnow():
            raise self._fail(session, name, address, "expired challenge")
        try:
            answer = base64.b64decode(encrypted_text, validate=True)
            key = self._vault.open(client.name, client.sealed_key)
        except (binascii.Error, ValueError):
            raise self._fail(session, name, address, "answer is not base64") from None
        except SealedKeyError:
            log.error(
                "the key of machine client %s does not open: AZAION_CLIENT_KEY_SECRET changed?", client.id
            )
            raise self._fail(session, name, address, "stored key does not open") from None
        if not hmac.compare_digest(answer, expected_answer(key, challenge.text, challenge.iv)):
            raise self._fail(session, name, address, "wrong answer")
        self._throttle.clear(session, Attempt("client", name, address))
        audit.record(session, audit.LOGIN, client, address=address)
        session.commit()
        granted = min(duration, self._max_session)
        token = self._tokens.sign(
            nameid=client.nameid,
            name=client.name,
            role=client.role,
            ttl=dt.timedelta(seconds=granted),
            jkt=jkt,
        )
        log.info("machine client %s authenticated for %d s", client.id, granted)
        return token, granted
