"""The `revoked_tokens` table: tokens logged out before they expire."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from azaion_server.db import Base, UTCDateTime


class RevokedToken(Base):
    """A `jti` that must no longer be accepted; kept until the token would have expired."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class UsedProof(Base):
    """A DPoP proof already accepted (a digest of its key's thumbprint and `jti`), kept while
    the proof could still pass the clock-skew check, so that it is accepted once."""

    __tablename__ = "used_proofs"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
