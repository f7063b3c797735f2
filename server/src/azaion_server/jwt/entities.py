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
