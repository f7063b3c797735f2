"""Change stream settings: heartbeats, the cap on streams per caller, how long events are kept."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EventSettings(BaseSettings):
    """`GET /events`."""

    model_config = SettingsConfigDict(env_prefix="AZAION_", extra="ignore")

    # Also how often a stream re-checks its token (revocation, deleted caller, role, licence).
    sse_ping_seconds: float = Field(default=15.0, ge=0.05, le=3600)
    sse_max_streams_per_user: int = Field(default=4, ge=1, le=1000)
    events_retention_seconds: int = Field(default=7 * 24 * 3600, ge=60)
