"""The `revoked_tokens` table (tokens logged out before they expire) and `signing_keys`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from azaion_server.db import Base, UTCDateTime, utcnow


class RevokedToken(Base):
    """A `jti` that must no longer be accepted; kept until the token would have expired."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class SigningKey(Base):
    """One Ed25519 signing key of the server (`jwt/keys.py`): the public half in the clear, the
    private half sealed under AZAION_JWT_SECRET; current while `retired_at` is null."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_private: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r}, retired_at={self.retired_at!r})"


class UsedProof(Base):
    """A DPoP proof already accepted (a digest of its key's thumbprint and `jti`), kept while
    the proof could still pass the clock-skew check, so that it is accepted once."""

    __tablename__ = "used_proofs"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
