"""`azaion-server [--host H] [--port P] [--workers N] [--dev]` (also `python -m azaion_server`)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from pydantic import ValidationError

DEV_ADMIN_EMAIL = "admin@azaion.local"


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dev_overrides(stack: contextlib.ExitStack) -> dict[str, Any]:
    """Settings for `--dev`: a throwaway SQLite database and file store, an S3 emulator on
    loopback (stopped with the server) and an admin, with a generated password unless
    AZAION_ADMIN_PASSWORD is set."""
    from moto.server import ThreadedMotoServer

    data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="azaion-dev-")))
    port = _free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    s3.start()
    stack.callback(s3.stop)
    return {
        "dev": True,
        "data_dir": data_dir,
        "database_url": f"sqlite:///{data_dir / 'azaion.db'}",
        "storage": "files",
        "storage_dir": data_dir / "storage",
        "s3_endpoint": f"http://127.0.0.1:{port}",
        "s3_downloader_key": "dev-downloader",
        "s3_downloader_secret": "dev-downloader-secret",
        "s3_uploader_key": "dev-uploader",
        "s3_uploader_secret": "dev-uploader-secret",
        "admin_email": os.environ.get("AZAION_ADMIN_EMAIL") or DEV_ADMIN_EMAIL,
        "admin_password": os.environ.get("AZAION_ADMIN_PASSWORD") or secrets.token_urlsafe(12),
    }


def _settings_error(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ()))
        lines.append(f"  {('AZAION_' + where.upper()) if where else 'settings'}: {item['msg']}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="azaion-server",
        description="The azaion Resource API. Settings come from AZAION_* environment variables.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes sharing the port (1); they behave as one server (docs/server.md)",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="development: SQLite in a temporary directory, an S3 emulator, a generated admin",
    )
    parser.add_argument(
        "--rotate-signing-key",
        action="store_true",
        help="make a fresh signing key current (sealed under AZAION_JWT_SECRET), print its kid and exit; "
        "the previous key stays published until its tokens expire",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 64:
        parser.error("--workers must be between 1 and 64")
    return args


def rotate_signing_key(settings: Any) -> int:
    """`--rotate-signing-key`: on the database of `settings`, without starting the server.

    Also the way out when AZAION_JWT_SECRET changed and the current key no longer opens.
    """
    from azaion_server.audit import models as audit
    from azaion_server.db import make_engine, make_sessionmaker, migrate
    from azaion_server.jwt.models import TokenService

    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        sessions = make_sessionmaker(engine)
        tokens = TokenService(settings.jwt, settings.clients.client_session_max_seconds, sessions=sessions)
        with sessions() as session:
            key = tokens.keys.rotate(session)
            audit.record(session, audit.KEY_ROTATED, actor="azaion-server", detail=key.kid)
            session.commit()
    finally:
        engine.dispose()
    print(f"signing key {key.kid} is now current")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the server until interrupted; 2 for bad settings."""
    import uvicorn

    from azaion_server.app import create_app
    from azaion_server.connection_limits import uvicorn_options
    from azaion_server.logs import configure_logging, uvicorn_log_config
    from azaion_server.settings import Settings
    from azaion_server.workers import prepare as prepare_workers

    args = parse_args(argv)
    with contextlib.ExitStack() as stack:
        overrides: dict[str, Any] = {}
        if args.dev:
            try:
                overrides = dev_overrides(stack)
            except ImportError:
                print("azaion-server: --dev needs moto: pip install 'azaion-server[dev]'", file=sys.stderr)
                return 2
        try:
            settings = Settings.load(**overrides)
        except ValidationError as e:
            print(f"azaion-server: invalid settings\n{_settings_error(e)}", file=sys.stderr)
            return 2
        configure_logging(settings.server)
        if args.rotate_signing_key:
            return rotate_signing_key(settings)
        # moto's embedded web server logs every S3 request at INFO: noise in a dev console.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        url = f"http://{args.host}:{args.port}"
        if args.dev:
            password = overrides["admin_password"]
            print(
                f"azaion-server --dev on {url} (API docs: {url}/docs)\n"
                f"  log in:  curl -X POST {url}/login -H 'Content-Type: application/json' "
                f'-d \'{{"email": "{overrides["admin_email"]}", "password": "{password}"}}\'\n'
                f"  email:    {overrides['admin_email']}\n"
                f"  password: {password}\n"
                f"  data:     {settings.data_dir} (removed on exit)\n"
                f"  S3:       {settings.resources.s3_endpoint} bucket {settings.resources.s3_bucket}",
                flush=True,
            )
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: turn it
        # into an exception so that the ExitStack still stops the S3 emulator and removes the
        # --dev data directory.
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
            stack.callback(signal.signal, signal.SIGTERM, previous)
        app: Any
        options: dict[str, Any] = {}
        if args.workers > 1:
            # Each worker builds its own app from the environment the parent prepares.
            prepare_workers(settings, overrides, stack)
            app, options = "azaion_server.app:create_app", {"factory": True, "workers": args.workers}
        else:
            app = create_app(settings)
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.run(
                app,
                host=args.host,
                port=args.port,
                log_level=settings.server.log_level.lower(),
                log_config=uvicorn_log_config(settings.server),
                **uvicorn_options(settings.server, by_name=args.workers > 1),
                **options,
            )
    return 0
