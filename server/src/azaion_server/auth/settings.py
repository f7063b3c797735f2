"""Password hashing and login throttling settings."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthSettings(BaseSettings):
    """argon2id parameters (defaults: RFC 9106 low-memory profile) and throttling limits."""

    model_config = SettingsConfigDict(env_prefix="AZAION_", extra="ignore")

    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    # Anything longer is refused before hashing: argon2 of a megabyte is a cheap denial of service.
    max_password_length: int = Field(default=1024, ge=8, le=65536)
    # Failures answered at once, per (email or client, address) and per address; then each
    # further attempt waits login_delay_seconds after the latest failure, doubled per failure.
    login_max_attempts: int = Field(default=5, ge=1)
    login_max_attempts_per_address: int = Field(default=50, ge=1)
    login_delay_seconds: float = Field(default=5.0, gt=0, le=3600)
    # How long a failure is remembered, and the longest wait.
    login_window_seconds: int = Field(default=900, ge=1)
    # How long envelope keys are remembered (in memory only) for `POST /resources/get`.
    password_cache_seconds: int = Field(default=600, ge=0)

    @model_validator(mode="after")
    def _argon2_memory_covers_lanes(self) -> AuthSettings:
        # argon2 needs at least 8 KiB per lane; refuse at start-up rather than at first login.
        if self.argon2_memory_kib < 8 * self.argon2_parallelism:
            raise ValueError("AZAION_ARGON2_MEMORY_KIB must be at least 8 x AZAION_ARGON2_PARALLELISM")
        return self
