"""Everything one running application holds: settings, database and services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from azaion_server.auth.models import PasswordService, Throttle
from azaion_server.db import make_engine, make_sessionmaker
from azaion_server.jwt.models import TokenService
from azaion_server.resources.storage import DatabaseStorage, FileStorage, Storage
from azaion_server.settings import Settings


@dataclass
class AppContext:
    """Built once per application by `app.py`; routes reach it through `ContextDep`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Any]
    tokens: TokenService
    passwords: PasswordService
    throttle: Throttle
    storage: Storage

    @classmethod
    def build(cls, settings: Settings) -> AppContext:
        """Engine, services and storage for `settings` (no I/O beyond creating directories)."""
        url = settings.database_url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        storage: Storage
        if settings.resources.storage == "files":
            storage = FileStorage(settings.storage_dir)
        else:
            storage = DatabaseStorage()
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            tokens=TokenService(settings.jwt),
            passwords=PasswordService(settings.auth),
            throttle=Throttle(settings.auth),
            storage=storage,
        )
