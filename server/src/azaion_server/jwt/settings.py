"""Token settings: the secret sealing the signing keys, issuer, audience, lifetime (AZAION_JWT_*)
and the longest offline lease (AZAION_LEASE_MAX_HOURS)."""

from __future__ import annotations

import secrets

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that appear in examples and templates: signing keys sealed under one of them would open
# for anyone who read the same example and a dump of the database.
KNOWN_DEFAULTS = frozenset({"", "changethis", "changeme", "change-me", "secret", "jwt-secret"})
MIN_SECRET_LENGTH = 32


class JwtSettings(BaseSettings):
    """The tokens `POST /login` hands out: issuer, audience, lifetime, and the secret the server's
    signing keys are sealed under (`jwt/keys.py`)."""

    model_config = SettingsConfigDict(env_prefix="AZAION_", extra="ignore")

    dev: bool = False
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "azaion"
    jwt_audience: str = "azaion"
    jwt_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    # How far a DPoP proof's `iat` may be from the server's clock, either way (docs/protocol.md).
    dpop_skew_seconds: int = Field(default=60, ge=1, le=3600)
    # The longest offline lease the server signs, whatever a licence's `offline_hours` says
    # (`jwt/leases.py`); retired signing keys stay published at least this long.
    lease_max_hours: int = Field(default=720, ge=1, le=366 * 24)

    @model_validator(mode="after")
    def _require_strong_secret(self) -> JwtSettings:
        value = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if value.lower() not in KNOWN_DEFAULTS and len(value) >= MIN_SECRET_LENGTH:
            return self
        if not self.dev:
            raise ValueError(
                f"AZAION_JWT_SECRET must be set to a random string of at least "
                f"{MIN_SECRET_LENGTH} characters (not a default) outside --dev"
            )
        # Development only: a fresh secret per process (the --dev database dies with it too).
        self.jwt_secret = SecretStr(secrets.token_urlsafe(48))
        return self
