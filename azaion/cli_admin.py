"""``azaion admin ...``: everything an ApiAdmin does over HTTP, with ``--json`` for scripts.

One function per group (users, licences, clients, signing keys, audit) adds its commands, so
that new groups (devices, publishers) are one more function. Every command calls
``ApiClient.admin`` and prints the server's answer: as JSON with ``--json``, else as text.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import os
import secrets
from typing import Any, Callable

from azaion import errors

ROLES = ("ApiAdmin", "Admin", "ResourceUploader", "Validator", "Operator")
# The new user's password: this variable, else a generated one printed once.
NEW_PASSWORD_ENV = "AZAION_NEW_USER_PASSWORD"  # noqa: S105 - a variable name

Command = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def _one_client(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run an admin command with one client for all of its calls: one login, one password
    prompt (a second read of ``--password-stdin`` would find standard input empty)."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        with contextlib.ExitStack() as session:
            args.admin_session = session
            return func(args)

    return run


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None, params: Any = None) -> Any:
    from azaion.cli import connect

    client = getattr(args, "admin_client", None)
    if client is None:
        client = args.admin_session.enter_context(connect(args, with_cdn=False))
        args.admin_client = client
    return client.admin(method, path, body, params)


def _emit(args: argparse.Namespace, data: Any, text: Callable[[Any], str]) -> int:
    from azaion.cli import emit

    emit(args, data, text)
    return 0


def _licence_text(licence: dict | None) -> str:
    if not licence or not licence.get("plan"):
        return "no licence"
    folders = ", ".join(licence.get("folders") or []) or "none"
    hours = licence.get("offline_hours") or 0
    offline = f"offline {hours} h" if hours else "never offline"
    return f"plan {licence['plan']}, expires {licence.get('expires_at')}, folders: {folders}, {offline}"


def _rows(rows: list[dict], columns: list[tuple[str, str, int]], empty: str) -> str:
    if not rows:
        return empty
    lines = ["  ".join(f"{title:<{width}}" for title, _key, width in columns).rstrip()]
    for row in rows:
        cells = []
        for _title, key, width in columns:
            value = row.get(key)
            cells.append(f"{'' if value is None else str(value):<{width}}")
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _licence_body(args: argparse.Namespace) -> dict[str, Any]:
    folders = [f.strip() for f in (args.folders or "").split(",") if f.strip()]
    return {
        "plan": args.plan,
        "expires_at": args.expires_at,
        "folders": folders,
        "offline_hours": args.offline_hours,
        "max_devices": args.max_devices,
    }


def _licence_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plan", required=True)
    p.add_argument("--expires-at", required=True, help="ISO 8601 date and time (UTC when no offset)")
    p.add_argument("--folders", default="", help="comma-separated folders the licence covers")
    p.add_argument(
        "--offline-hours",
        type=int,
        default=0,
        help="hours a device may load offline under a lease (0: never)",
    )
    p.add_argument("--max-devices", type=int, default=1, help="devices the holder may enrol (1)")


# -- users ----------------------------------------------------------------------------------


def _find_user(args: argparse.Namespace, user: str) -> dict:
    users = _call(args, "GET", "/users")
    for row in users:
        if str(row.get("id")) == user or str(row.get("email", "")).lower() == user.strip().lower():
            return row
    raise errors.ResourceNotFound(f"no user {user!r}: give its id or email ('azaion admin users list')")


def _emit_with_licences(args: argparse.Namespace, rows: Any, columns: list, empty: str, name: str) -> int:
    """Accounts (users or machine clients) as a table, then each one's licence on a line."""
    return _emit(
        args,
        rows,
        lambda d: "\n".join(
            [_rows(d, columns, empty)] + [f"  {r[name]}: {_licence_text(r.get('license'))}" for r in d]
        ),
    )


def users_list(args: argparse.Namespace) -> int:
    rows = _call(args, "GET", "/users")
    columns = [("ID", "id", 6), ("EMAIL", "email", 32), ("ROLE", "role", 16), ("BOUND", "hardware_bound", 5)]
    return _emit_with_licences(args, rows, columns, "(no users)", "email")


def users_create(args: argparse.Namespace) -> int:
    password = os.environ.get(NEW_PASSWORD_ENV)
    generated = not password
    password = password or secrets.token_urlsafe(12)
    created = _call(
        args, "POST", "/users", {"email": args.new_email, "password": password, "role": args.role}
    )
    out = dict(created)
    if generated:
        out["password"] = password  # shown once: the server keeps only its hash
    return _emit(
        args,
        out,
        lambda d: (
            f"Created user {d['email']} (id {d['id']}, {d['role']})"
            + (f"\npassword: {d['password']} (shown once)" if "password" in d else "")
        ),
    )


def users_role(args: argparse.Namespace) -> int:
    user = _find_user(args, args.user)
    changed = _call(args, "PUT", f"/users/{user['id']}/role", {"role": args.role})
    return _emit(args, changed, lambda d: f"{d['email']} is now {d['role']}")


def users_delete(args: argparse.Namespace) -> int:
    user = _find_user(args, args.user)
    _call(args, "DELETE", f"/users/{user['id']}")
    return _emit(args, {"deleted": user["id"], "email": user["email"]}, lambda d: f"Deleted {d['email']}")


def users_reset_hardware(args: argparse.Namespace) -> int:
    user = _find_user(args, args.user)
    _call(args, "DELETE", f"/users/{user['id']}/hardware")
    return _emit(
        args,
        {"reset": user["id"], "email": user["email"]},
        lambda d: f"{d['email']} is no longer bound to a device",
    )


def add_users(group: Command) -> None:
    """``azaion admin users list|create|role|delete|reset-hardware``."""
    group("list", users_list, "every user, its role, binding and licence")
    p = group("create", users_create, f"create a user (password from {NEW_PASSWORD_ENV}, else generated)")
    p.add_argument("new_email", metavar="email")
    p.add_argument("--role", required=True, choices=ROLES)
    p = group("role", users_role, "change a user's role")
    p.add_argument("user", help="id or email")
    p.add_argument("role", choices=ROLES)
    p = group("delete", users_delete, "delete a user")
    p.add_argument("user", help="id or email")
    p = group("reset-hardware", users_reset_hardware, "unbind a user from its device")
    p.add_argument("user", help="id or email")


# -- licences -------------------------------------------------------------------------------


def _holder(args: argparse.Namespace) -> tuple[str, dict]:
    if bool(args.user) == bool(args.client):
        from azaion.cli import UsageError

        raise UsageError("name the holder: --user ID_OR_EMAIL or --client NAME")
    if args.user:
        user = _find_user(args, args.user)
        return f"/users/{user['id']}/license", user
    client = _find_client(args, args.client)
    return f"/clients/{client['client_name']}/license", client


def licences_set(args: argparse.Namespace) -> int:
    path, _holder_row = _holder(args)
    licence = _call(args, "PUT", path, _licence_body(args))
    return _emit(args, licence, _licence_text)


def licences_show(args: argparse.Namespace) -> int:
    _path, holder = _holder(args)
    licence = holder.get("license") or {}
    return _emit(args, licence, _licence_text)


def add_licences(group: Command) -> None:
    """``azaion admin licences set|show`` (for a user or a machine client)."""
    for name, func, help in (
        ("set", licences_set, "create or replace a licence"),
        ("show", licences_show, "show a licence"),
    ):
        p = group(name, func, help)
        p.add_argument("--user", help="the user's id or email")
        p.add_argument("--client", help="the machine client's name")
        if name == "set":
            _licence_options(p)


# -- machine clients ------------------------------------------------------------------------


def _find_client(args: argparse.Namespace, name: str) -> dict:
    for row in _call(args, "GET", "/clients"):
        if row.get("client_name") == name:
            return row
    raise errors.ResourceNotFound(f"no machine client {name!r} ('azaion admin clients list')")


def clients_list(args: argparse.Namespace) -> int:
    rows = _call(args, "GET", "/clients")
    columns = [
        ("NAME", "client_name", 24),
        ("ROLE", "role", 16),
        ("ENABLED", "enabled", 7),
        ("BOUND", "hardware_bound", 5),
    ]
    return _emit_with_licences(args, rows, columns, "(no machine clients)", "client_name")


def clients_create(args: argparse.Namespace) -> int:
    created = _call(args, "POST", "/clients", {"client_name": args.name, "role": args.role})
    return _emit(
        args,
        created,
        lambda d: f"Created machine client {d['client_name']} ({d['role']})\nkey: {d['key']} (shown once)",
    )


def clients_licence(args: argparse.Namespace) -> int:
    licence = _call(args, "PUT", f"/clients/{args.name}/license", _licence_body(args))
    return _emit(args, licence, _licence_text)


def clients_enable(args: argparse.Namespace) -> int:
    enabled = args.command_name == "enable"
    _call(args, "PUT", f"/clients/{args.name}/enabled", {"enabled": enabled})
    return _emit(
        args,
        {"client_name": args.name, "enabled": enabled},
        lambda d: f"{d['client_name']} {'enabled' if d['enabled'] else 'disabled'}",
    )


def clients_delete(args: argparse.Namespace) -> int:
    _call(args, "DELETE", f"/clients/{args.name}")
    return _emit(args, {"deleted": args.name}, lambda d: f"Deleted machine client {d['deleted']}")


def clients_reset_hardware(args: argparse.Namespace) -> int:
    _call(args, "DELETE", f"/clients/{args.name}/hardware")
    return _emit(args, {"reset": args.name}, lambda d: f"{d['reset']} is no longer bound to a machine")


def add_clients(group: Command) -> None:
    """``azaion admin clients list|create|licence|enable|disable|delete|reset-hardware``."""
    group("list", clients_list, "every machine client, its state and licence")
    p = group("create", clients_create, "register a machine client; prints its key once")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p = group("licence", clients_licence, "create or replace a machine client's licence")
    p.add_argument("name")
    _licence_options(p)
    for name, help in (("enable", "let a client shake hands again"), ("disable", "stop a client at once")):
        p = group(name, clients_enable, help)
        p.add_argument("name")
        p.set_defaults(command_name=name)
    p = group("delete", clients_delete, "delete a machine client")
    p.add_argument("name")
    p = group("reset-hardware", clients_reset_hardware, "unbind a machine client from its machine")
    p.add_argument("name")


# -- signing keys ---------------------------------------------------------------------------


def keys_list(args: argparse.Namespace) -> int:
    rows = _call(args, "GET", "/signing-keys")
    columns = [
        ("KID", "kid", 44),
        ("CURRENT", "current", 7),
        ("CREATED", "created_at", 32),
        ("UNTIL", "expires_at", 32),
    ]
    return _emit(args, rows, lambda d: _rows(d, columns, "(no signing keys)"))


def keys_rotate(args: argparse.Namespace) -> int:
    key = _call(args, "POST", "/signing-keys/rotate")
    return _emit(
        args,
        key,
        lambda d: (
            f"Signing key {d['kid']} is now current; the previous one verifies its tokens until they expire"
        ),
    )


def add_signing_keys(group: Command) -> None:
    """``azaion admin signing-keys list|rotate``."""
    group("list", keys_list, "the server's published signing keys")
    group("rotate", keys_rotate, "make a fresh signing key current")


# -- audit ----------------------------------------------------------------------------------


def audit(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {
        key: getattr(args, key)
        for key in ("action", "actor", "device", "folder", "name", "mode", "since", "until", "before")
    }
    params["limit"] = args.limit
    page = _call(args, "GET", "/audit", params=params)

    def text(d: dict) -> str:
        lines = []
        for r in d.get("results", []):
            what = f"{r['folder']}/{r['name']}" if r.get("folder") else (r.get("detail") or "")
            when = r["at"]
            if isinstance(when, str):
                when = dt.datetime.fromisoformat(when.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(
                f"{r['id']:>8}  {when}  {r['action']:<20} {r.get('actor_name') or r.get('actor') or '-':<28} "
                f"{r.get('address') or '-':<15} {r.get('mode') or '':<7} {what}".rstrip()
            )
        if d.get("next"):
            lines.append(f"(more: --before {d['next']})")
        return "\n".join(lines) or "(no audit rows)"

    return _emit(args, page, text)


def add_audit(command: Command) -> None:
    """``azaion admin audit [filters]``."""
    p = command("audit", audit, "the audit trail, newest first (filters combine)")
    for option in ("action", "actor", "device", "folder", "name", "mode"):
        p.add_argument(f"--{option}")
    p.add_argument("--since", help="ISO 8601 date and time")
    p.add_argument("--until", help="ISO 8601 date and time")
    p.add_argument("--before", type=int, help="rows older than this id (the 'more' of a page)")
    p.add_argument("--limit", type=int, default=50, help="rows per page (at most 500)")


# -- devices --------------------------------------------------------------------------------


def add_devices(group: Command) -> None:
    """``azaion admin devices ls|approve|revoke`` (`azaion.cli.cmd_admin_devices`)."""
    from azaion.cli import cmd_admin_devices

    for action, help in (
        ("ls", "every device, or one user's or machine client's"),
        ("approve", "let a pending device load"),
        ("revoke", "revoke a lost or retired device, for good"),
    ):
        p = group(action, cmd_admin_devices, help)
        p.set_defaults(action=action)
        p.add_argument("device_id", nargs="?" if action == "ls" else None, type=int)
        if action == "ls":
            p.add_argument("--user-id", type=int)
            p.add_argument("--client-id", type=int)
        if action == "revoke":
            p.add_argument(
                "--reason",
                choices=("lost", "retired"),
                default="lost",
                help="why (lost: the default); the device wipes what it holds when it hears of it",
            )


# -- the group ------------------------------------------------------------------------------


def add_admin(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``azaion admin`` and its groups to the ``azaion`` parser's subcommands."""
    admin = sub.add_parser(
        "admin", help="administer users, licences, machine clients, keys, audit (ApiAdmin)"
    )
    admin_sub = admin.add_subparsers(dest="admin_group", metavar="GROUP")
    admin_sub.required = True

    def group(name: str, help: str, adder: Callable[[Command], None]) -> None:
        parser = admin_sub.add_parser(name, help=help, description=help)
        commands = parser.add_subparsers(dest="admin_command", metavar="COMMAND")
        commands.required = True

        def command(
            cname: str, func: Callable[[argparse.Namespace], int], chelp: str
        ) -> argparse.ArgumentParser:
            p = commands.add_parser(cname, help=chelp, description=chelp, parents=[common])
            p.set_defaults(func=_one_client(func))
            return p

        adder(command)

    def leaf(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = admin_sub.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(func=_one_client(func))
        return p

    group("users", "user accounts", add_users)
    group("licences", "licences of users and machine clients", add_licences)
    group("clients", "machine clients", add_clients)
    group("signing-keys", "the server's signing keys", add_signing_keys)
    group("devices", "enrolled devices", add_devices)
    from azaion.cli import add_publisher_commands

    add_publisher_commands(admin_sub, common)
    add_audit(leaf)
