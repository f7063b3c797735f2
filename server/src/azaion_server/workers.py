"""`azaion-server --workers N`: N uvicorn worker processes that behave as one server.

uvicorn starts each worker as a fresh interpreter (multiprocessing's spawn) that imports
`azaion_server.app:create_app` and reads its settings from the environment. So the parent puts
into the environment everything a worker must share with the others, before any is started:

* the settings `--dev` chose (its database, file store, S3 emulator and admin), as the AZAION_*
  variables a worker reads;
* the JWT and client key secrets: in `--dev` they are generated, and a token signed by one
  worker must verify on every other (outside `--dev` they come from the environment anyway);
* the directory of prometheus_client's multiprocess mode (`metrics.py`), so `/metrics` of any
  worker sums every worker's counters.

The parent also migrates the database and creates the first ApiAdmin once, so the workers do
not race each other at start (their own start-up then finds nothing to do). Everything else
that must hold across workers already holds across instances: throttling, revocation, stream
leases and the caller's state live in the database, events fan out through LISTEN/NOTIFY, and
the in-memory caches are keyed by what they depend on (a stored hash, a resource's checksum),
so no worker can serve what another has changed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from azaion_server.settings import Settings

# prometheus_client reads this variable when it is first imported.
PROMETHEUS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def _as_environment(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def share_settings(settings: Settings, overrides: dict[str, Any]) -> dict[str, str]:
    """The AZAION_* variables that give every worker the settings of this process."""
    shared = {f"AZAION_{name.upper()}": _as_environment(value) for name, value in overrides.items()}
    if settings.jwt.jwt_secret is not None:
        shared["AZAION_JWT_SECRET"] = settings.jwt.jwt_secret.get_secret_value()
    if settings.clients.client_key_secret is not None:
        shared["AZAION_CLIENT_KEY_SECRET"] = settings.clients.client_key_secret.get_secret_value()
    return shared


def prepare(settings: Settings, overrides: dict[str, Any], stack: contextlib.ExitStack) -> None:
    """Set up the environment of the workers and the database they share (in the parent)."""
    from azaion_server.app import startup
    from azaion_server.context import AppContext

    os.environ.update(share_settings(settings, overrides))
    if settings.server.metrics and not os.environ.get(PROMETHEUS_DIR_VARIABLE):
        directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="azaion-metrics-"))
        os.environ[PROMETHEUS_DIR_VARIABLE] = directory
    if os.environ.get(PROMETHEUS_DIR_VARIABLE):
        # Files of an earlier run would add their counts to this one's.
        for stale in Path(os.environ[PROMETHEUS_DIR_VARIABLE]).glob("*.db"):
            stale.unlink()
    context = AppContext.build(settings)
    try:
        startup(context)
    finally:
        context.engine.dispose()
