"""Where resources live (database or files), upload limits, and the S3 store of big parts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ResourceSettings(BaseSettings):
    """Storage of small parts and the content of `cdn.yaml`."""

    model_config = SettingsConfigDict(env_prefix="AZAION_", extra="ignore")

    storage: Literal["db", "files"] = "db"
    storage_dir: Path | None = None
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    # Small parts kept in memory per process (resources/smallparts.py); 0: none.
    small_part_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    # Serve the seed's v1 envelope (password + hardware hash) to callers without an enrolled
    # device. Off by default: then only a device-bound session gets a small part (docs/security.md).
    legacy_envelope: bool = False
    s3_endpoint: str | None = None
    s3_bucket: str = Field(default="azaion", min_length=3, max_length=63)
    s3_region: str = "us-east-1"
    s3_downloader_key: str = ""
    s3_downloader_secret: SecretStr = SecretStr("")
    s3_uploader_key: str = ""
    s3_uploader_secret: SecretStr = SecretStr("")
    # How long the URLs `POST /resources/{folder}/{name}/big` signs stay valid.
    s3_upload_url_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
