"""Everything one running application holds: settings, database and services.

The one module (with `app.py` and `settings.py`) that knows every package: it builds each
service once and wires the packages together (the caller lookups of `users` and `clients`,
the change log of `events`). Routes reach a service through `deps.provide(ItsClass)`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from azaion_server.audit.models import AuditLog
from azaion_server.auth.models import CallerDirectory, PasswordCheck, PasswordService, Throttle
from azaion_server.caller_state import prefetch
from azaion_server.clients.keys import KeyVault
from azaion_server.clients.models import Handshake, find_enabled_client
from azaion_server.db import make_engine, make_sessionmaker
from azaion_server.devices.models import check_bound_device
from azaion_server.events.hub import EventHub
from azaion_server.events.models import PENDING, EventLog
from azaion_server.jwt.keys import KeyRing
from azaion_server.jwt.leases import LeaseIssuer
from azaion_server.jwt.models import TokenService
from azaion_server.metrics import Metrics
from azaion_server.prefetched import READER
from azaion_server.prefetched import forget as forget_prefetched
from azaion_server.resources.bigparts import BigPartStore
from azaion_server.resources.cdn import CdnDocuments
from azaion_server.resources.keycache import EnvelopeKeyCache
from azaion_server.resources.smallparts import CachedStorage
from azaion_server.resources.storage import DatabaseStorage, FileStorage, Storage
from azaion_server.settings import Settings
from azaion_server.users.models import find_user
from azaion_server.vocabulary import AuditTrail, ChangeLog


@dataclass
class AppContext:
    """Built once per application by `app.py`; routes reach its services through `deps.provide`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Any]
    tokens: TokenService
    leases: LeaseIssuer
    passwords: PasswordService
    throttle: Throttle
    storage: Storage
    key_vault: KeyVault
    handshake: Handshake
    envelope_keys: EnvelopeKeyCache
    cdn: CdnDocuments
    events: EventHub
    callers: CallerDirectory
    changes: EventLog
    password_check: PasswordCheck
    big_parts: BigPartStore
    # Prometheus metrics (metrics.py), when AZAION_METRICS is on.
    metrics: Metrics | None = None

    @classmethod
    def build(cls, settings: Settings) -> AppContext:
        """Engine, services and storage for `settings` (no I/O beyond creating directories)."""
        url = settings.database_url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        server = settings.server
        engine = make_engine(url, pool_size=server.db_pool_size, max_overflow=server.db_max_overflow)
        storage: Storage
        if settings.resources.storage == "files":
            storage = FileStorage(settings.storage_dir)
        else:
            storage = DatabaseStorage()
        storage = CachedStorage(storage, settings.resources.small_part_cache_bytes)
        sessions = make_sessionmaker(engine)
        # The token check reads revocation, caller and licence in one query (caller_state.py).
        sessions.configure(info={READER: prefetch})
        hub = EventHub()

        def wake_streams(session: Session) -> None:
            # A commit that recorded events: this process's streams read them at once (other
            # instances hear of them through NOTIFY).
            if session.info.pop(PENDING, False):
                hub.wake()

        def forget_events(session: Session, _previous: Any = None) -> None:
            session.info.pop(PENDING, None)

        event.listen(sessions, "after_commit", wake_streams)
        # Answers read ahead for the checks hold for one transaction (prefetched.py).
        event.listen(sessions, "after_commit", forget_prefetched)
        event.listen(sessions, "after_soft_rollback", forget_prefetched)
        event.listen(sessions, "after_soft_rollback", forget_events)
        assert settings.clients.client_key_secret is not None  # the settings validator guarantees it
        key_vault = KeyVault(settings.clients.client_key_secret.get_secret_value())
        tokens = TokenService(settings.jwt, settings.clients.client_session_max_seconds, sessions=sessions)
        throttle = Throttle(settings.auth)
        passwords = PasswordService(settings.auth)
        metrics = None
        if settings.server.metrics:
            metrics = Metrics()
            metrics.watch_pool(engine)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            tokens=tokens,
            leases=LeaseIssuer(settings.jwt, tokens.keys),
            passwords=passwords,
            throttle=throttle,
            storage=storage,
            key_vault=key_vault,
            handshake=Handshake(settings.clients, key_vault, throttle, tokens),
            envelope_keys=EnvelopeKeyCache(settings.auth.password_cache_seconds),
            cdn=CdnDocuments(settings.resources),
            events=hub,
            callers=CallerDirectory(
                {"user": find_user, "client": find_enabled_client}, device_check=check_bound_device
            ),
            changes=EventLog(),
            password_check=PasswordCheck(passwords, throttle),
            metrics=metrics,
            big_parts=BigPartStore(settings.resources),
        )

    def services(self) -> dict[type, Any]:
        """Every service and settings part by its class, for `deps.provide`."""
        parts = (getattr(self.settings, field.name) for field in dataclasses.fields(self.settings))
        services: dict[type, Any] = {type(part): part for part in parts}
        services.update(
            {
                sessionmaker: self.sessions,
                TokenService: self.tokens,
                KeyRing: self.tokens.keys,
                LeaseIssuer: self.leases,
                PasswordService: self.passwords,
                Throttle: self.throttle,
                PasswordCheck: self.password_check,
                Storage: self.storage,
                KeyVault: self.key_vault,
                Handshake: self.handshake,
                EnvelopeKeyCache: self.envelope_keys,
                CdnDocuments: self.cdn,
                BigPartStore: self.big_parts,
                EventHub: self.events,
                CallerDirectory: self.callers,
                ChangeLog: self.changes,
                AuditTrail: AuditLog(),
            }
        )
        if self.metrics is not None:
            services[Metrics] = self.metrics
        return services
