"""Machine client settings: the secret their keys are stored under, challenge and session limits."""

from __future__ import annotations

import secrets

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from azaion_server.jwt.settings import KNOWN_DEFAULTS, MIN_SECRET_LENGTH


class ClientSettings(BaseSettings):
    """AZAION_CLIENT_KEY_SECRET, AZAION_CHALLENGE_SECONDS, AZAION_CLIENT_SESSION_MAX_SECONDS."""

    model_config = SettingsConfigDict(env_prefix="AZAION_", extra="ignore")

    dev: bool = False
    client_key_secret: SecretStr | None = None
    # Read only to refuse a key secret equal to it: one leaked secret must not give both away.
    jwt_secret: SecretStr | None = Field(default=None, repr=False)
    challenge_seconds: int = Field(default=60, ge=5, le=3600)
    client_session_max_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def _require_strong_distinct_secret(self) -> ClientSettings:
        value = self.client_key_secret.get_secret_value() if self.client_key_secret else ""
        jwt_secret = self.jwt_secret.get_secret_value() if self.jwt_secret else None
        if value and value == jwt_secret:
            raise ValueError("AZAION_CLIENT_KEY_SECRET must differ from AZAION_JWT_SECRET")
        if value.lower() not in KNOWN_DEFAULTS and len(value) >= MIN_SECRET_LENGTH:
            return self
        if not self.dev:
            raise ValueError(
                f"AZAION_CLIENT_KEY_SECRET must be set to a random string of at least "
                f"{MIN_SECRET_LENGTH} characters (not a default) outside --dev"
            )
        # Development only: machine clients registered in a --dev run die with it.
        self.client_key_secret = SecretStr(secrets.token_urlsafe(48))
        return self
