"""The ``azaion`` command: log in, push and pull models, verify them, list, delete, publish, follow
events; ``azaion admin ...`` for ApiAdmins (azaion/cli_admin.py).

Configuration comes from flags, then the environment (``AZAION_API_URL``, ``AZAION_EMAIL``,
``AZAION_PASSWORD``, ``AZAION_CLIENT_NAME``, ``AZAION_CLIENT_KEY``), then the config file
(``azaion login`` writes the API URL and the email there; never a password or a token).

Exit codes: 0 success, 1 any other error, 2 usage, 3 authentication, 4 permission (role,
hardware, licence), 5 not found, 6 integrity, 7 network, server or CDN, 8 configuration or
cache, 130 interrupted.
"""

from __future__ import annotations

import argparse
import configparser
import getpass
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

from azaion import errors

EXIT_CODES: list[tuple[type, int]] = [
    (errors.AuthenticationError, 3),
    (errors.NotAuthenticated, 3),
    (errors.PermissionDenied, 4),
    (errors.ResourceNotFound, 5),
    (errors.IntegrityError, 6),
    (errors.NetworkError, 7),
    (errors.ServerError, 7),
    (errors.CDNError, 7),
    (errors.OfflineError, 7),
    (errors.ClockError, 4),
    (errors.ConfigurationError, 8),
    (errors.CacheError, 8),
    (errors.InvalidName, 2),
    (errors.BadRequest, 2),
]


class UsageError(errors.AzaionError):
    """The command line is missing something a person must supply."""

    code = "USAGE"


def exit_code_for(error: BaseException) -> int:
    """The documented exit code of an error."""
    if isinstance(error, UsageError):
        return 2
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return 1


# -- configuration ----------------------------------------------------------------------------


def config_path() -> Path:
    """The config file: ``AZAION_CONFIG``, else ``config.ini`` in the user's config directory."""
    override = os.environ.get("AZAION_CONFIG")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("azaion", appauthor=False)) / "config.ini"


def read_config() -> dict[str, str]:
    parser = configparser.ConfigParser()
    path = config_path()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as e:
        raise errors.ConfigurationError(
            f"{path} is not a valid config file ({e.message}); fix or delete it"
        ) from None
    return dict(parser["default"]) if parser.has_section("default") else {}


def write_config(values: dict[str, Optional[str]]) -> Path:
    """Merge ``values`` into the config file (``None`` removes a key); atomic, mode 0600."""
    current = read_config()
    for key, value in values.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    parser = configparser.ConfigParser()
    parser["default"] = current
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            parser.write(f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def setting(args: argparse.Namespace, flag: str, env: str, config: dict[str, str]) -> Optional[str]:
    """Flag, then environment, then config file."""
    value = getattr(args, flag, None)
    if value:
        return value
    value = os.environ.get(env)
    if value:
        return value
    return config.get(flag) or None


def read_secret(args: argparse.Namespace, env: str, prompt: str) -> str:
    """A password or key: ``--password-stdin``, else the environment, else a prompt that does not echo."""
    if getattr(args, "password_stdin", False):
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise UsageError("--password-stdin given but standard input was empty")
        return value
    value = os.environ.get(env)
    if value:
        return value
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    raise UsageError(f"no secret given: set {env}, pipe it with --password-stdin, or run in a terminal")


def connect(args: argparse.Namespace, with_cdn: bool = True):
    """An authenticated ApiClient from the command line, the environment and the config file."""
    from azaion import ApiClient

    config = read_config()
    url = setting(args, "api_url", "AZAION_API_URL", config)
    if not url:
        raise UsageError(
            "no API URL: pass --api-url, set AZAION_API_URL, or run 'azaion login --api-url URL'"
        )
    client = ApiClient(url, trusted_publishers=getattr(args, "trusted_publishers", None))
    client_name = setting(args, "client_name", "AZAION_CLIENT_NAME", config)
    try:
        if client_name:
            client.set_machine_credentials(
                client_name, read_secret(args, "AZAION_CLIENT_KEY", "Client key: ")
            )
            client.login()
        else:
            email = setting(args, "email", "AZAION_EMAIL", config)
            if not email:
                raise UsageError("no email: pass --email, set AZAION_EMAIL, or run 'azaion login'")
            client.set_credentials_from_dict(
                email, read_secret(args, "AZAION_PASSWORD", "Password: "), load_cdn=with_cdn
            )
    except BaseException:
        client.close()
        raise
    return client


# -- output -----------------------------------------------------------------------------------


def emit(args: argparse.Namespace, data: Any, text: Callable[[Any], str]) -> None:
    if args.json:
        print(json.dumps(data, indent=None, sort_keys=True, default=str))
    else:
        print(text(data))


def progress_bar(args: argparse.Namespace, label: str):
    """A tqdm callback ``(done, total)`` when stderr is a terminal, else None."""
    if args.json or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(
        total=0, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr, leave=False
    )

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return update, bar.close


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no resources)"
    lines = [f"{'FOLDER':<16} {'NAME':<32} {'SIZE':>10}  {'MODIFIED':<19}  STATE"]
    for r in rows:
        state = ("published" if r.get("published") else "draft") + (
            "" if r.get("alive", True) else ", deleted"
        )
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(r.get("modified") or 0)))
        lines.append(
            f"{r.get('folder', ''):<16} {r.get('name', ''):<32} {r.get('size', 0):>10}  {when:<19}  {state}"
        )
    return "\n".join(lines)


# -- commands ---------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    with connect(args) as client:
        saved = {"api_url": client.api_url}
        if client.credentials is not None and "@" in client.credentials.email:
            saved["email"] = client.credentials.email
        path = write_config(saved)
        user = client.user
        emit(
            args,
            {"email": user.email, "role": user.role.name, "config": str(path)},
            lambda d: (
                f"Logged in as {d['email']} ({d['role']}); saved the API URL and email in {d['config']}"
            ),
        )
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    config = read_config()
    email = setting(args, "email", "AZAION_EMAIL", config)
    if (
        config.get("api_url")
        and (email or args.client_name)
        and (os.environ.get("AZAION_PASSWORD") or args.password_stdin)
    ):
        with connect(args) as client:
            client.logout()
    path = write_config({"email": None})
    emit(args, {"config": str(path)}, lambda d: f"Logged out; forgot the email saved in {d['config']}")
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    from azaion import HardwareService

    with connect(args) as client:
        user = client.user
        data = {
            "id": user.id,
            "email": user.email,
            "role": user.role.name,
            "api_url": client.api_url,
            "hardware": HardwareService().hardware_hash,
        }
    emit(
        args,
        data,
        lambda d: f"{d['email']} ({d['role']}, id {d['id']}) at {d['api_url']}\nhardware {d['hardware']}",
    )
    return 0


def cmd_license(args: argparse.Namespace) -> int:
    with connect(args) as client:
        info = client.license_info()

    def text(d: dict) -> str:
        if not d.get("plan"):
            return "No licence: ask an administrator for one."
        folders = ", ".join(d.get("folders") or []) or "all"
        return f"Plan {d['plan']}, expires {d.get('expires_at') or 'never'}, folders: {folders}"

    emit(args, info, text)
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    """This device: enrolled (or enrolled now), its id, state and key thumbprint."""
    with connect(args, with_cdn=False) as client:
        info = client.enrol_device()
    data = {k: info.get(k) for k in ("id", "state", "jkt", "store")}
    emit(args, data, lambda d: f"device {d['id']}: {d['state']}, key {d['jkt']} ({d['store']} key store)")
    return 0


def cmd_admin_devices(args: argparse.Namespace) -> int:
    """`azaion admin devices ls|approve|revoke`."""
    with connect(args, with_cdn=False) as client:
        if args.action == "ls":
            rows = client.list_devices(user_id=args.user_id, client_id=args.client_id)
            columns = ("id", "owner", "state", "revoked_reason", "jkt", "hardware")
            data = [{k: d.get(k) for k in columns} for d in rows]
            emit(args, data, lambda rows: table(rows) if rows else "No devices.")
            return 0
        if args.device_id is None:
            raise UsageError(f"'azaion admin devices {args.action}' needs a device id")
        if args.action == "approve":
            answer = client.approve_device(args.device_id)
        else:
            answer = client.revoke_device(args.device_id, args.reason)
    emit(
        args,
        answer,
        lambda d: (
            f"device {d['id']}: {d['state']}"
            + (f" ({d['revoked_reason']})" if d.get("revoked_reason") else "")
        ),
    )
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    data = path.read_bytes()
    name = args.name or path.name
    with connect(args) as client:
        update, close = progress_bar(args, f"push {name}")
        started = time.perf_counter()
        try:
            result = client.upload_big_small_resource(
                data, name, args.folder, update, args.category, args.draft, signing_key=args.sign_key
            )
        finally:
            close()
        elapsed = time.perf_counter() - started
    out = {
        "folder": args.folder,
        "name": name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "seconds": round(elapsed, 3),
        "published": not args.draft,
        "resource": result,
        "version_number": (result or {}).get("version_number"),
        "signed": bool(args.sign_key),
    }
    emit(
        args,
        out,
        lambda d: (
            f"Pushed {d['folder']}/{d['name']} ({human_size(d['size'])}) in {d['seconds']:.2f} s"
            + ("" if d["published"] else " as a draft")
            + (f"\nsigned as version {d['version_number']}" if d["signed"] else "")
        ),
    )
    return 0


def confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


def cmd_pull(args: argparse.Namespace) -> int:
    to_stdout = args.output == "-"
    question = f"Write the plaintext of {args.name} to {args.output}? The split keeps models out of files"
    if not to_stdout and not args.yes and not confirm(question):
        raise UsageError("writing plaintext to disk needs confirmation on a terminal, or --yes")
    with connect(args) as client:
        update, close = progress_bar(args, f"pull {args.name}")
        started = time.perf_counter()
        try:
            data = client.load_big_small_resource(args.name, args.folder, update)
        finally:
            close()
        elapsed = time.perf_counter() - started
        release = client.last_release
    digest = hashlib.sha256(data).hexdigest()
    if to_stdout:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        if release is not None:  # who signed what: on stderr, so that stdout stays the plaintext
            print(signed_by(release), file=sys.stderr)
        return 0
    target = Path(args.output)
    fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    out = {
        "folder": args.folder,
        "name": args.name,
        "size": len(data),
        "sha256": digest,
        "output": str(target),
        "seconds": round(elapsed, 3),
        "release": release.as_dict() if release is not None else None,
    }
    emit(
        args,
        out,
        lambda d: (
            f"Pulled {d['folder']}/{d['name']} ({human_size(d['size'])}) to {d['output']} "
            f"in {d['seconds']:.2f} s\nsha256 {d['sha256']}\n{signed_by(release)}"
        ),
    )
    return 0


def signed_by(release: Any) -> str:
    """Who signed what, for a person; says so when nothing was verified."""
    if release is None:
        return "not verified: unsigned, or no trusted publishers (AZAION_TRUSTED_PUBLISHERS)"
    return f"verified: {release.describe()}"


# -- azaion admin publishers (ApiAdmin) -----------------------------------------------------


def cmd_publishers_add(args: argparse.Namespace) -> int:
    from azaion.releases import load_public_key

    try:
        pem = Path(args.key).read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {args.key} ({e.strerror})") from None
    with connect(args, with_cdn=False) as client:
        out = client.register_publisher(args.name, load_public_key(pem), args.folder)
    emit(
        args,
        out,
        lambda d: f"Registered {d['name']} ({d['algorithm']}, key {d['key_id']}) for {d['folders']}",
    )
    return 0


def cmd_publishers_list(args: argparse.Namespace) -> int:
    with connect(args, with_cdn=False) as client:
        out = client.list_publishers()
    emit(
        args,
        out,
        lambda d: (
            "\n".join(
                f"{p['key_id'][:16]}  {p['algorithm']:<10}  {p['name']}  {','.join(p['folders'])}"
                + ("  (revoked)" if p["revoked"] else "")
                for p in d
            )
            or "no publishers"
        ),
    )
    return 0


def cmd_publishers_export(args: argparse.Namespace) -> int:
    with connect(args, with_cdn=False) as client:
        document = client.trust_document()
    text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(
            f"Wrote {len(document['publishers'])} publishers to {args.output}; give it to devices as "
            "AZAION_TRUSTED_PUBLISHERS, by a channel that is not this server"
        )
    return 0


def cmd_publishers_folders(args: argparse.Namespace) -> int:
    with connect(args, with_cdn=False) as client:
        out = client.set_publisher_folders(args.key_id, args.folder)
    emit(args, out, lambda d: f"{d['name']} may sign for {d['folders']}")
    return 0


def cmd_publishers_revoke(args: argparse.Namespace) -> int:
    with connect(args, with_cdn=False) as client:
        out = client.revoke_publisher(args.key_id)
    emit(args, out, lambda d: f"Revoked {d['name']}; export the trust file again for devices")
    return 0


def cmd_publishers_require(args: argparse.Namespace) -> int:
    with connect(args, with_cdn=False) as client:
        out = client.set_folder_policy(args.folder, not args.off)
    emit(
        args,
        out,
        lambda d: f"{d['folder']}: signatures {'required' if d['signatures_required'] else 'optional'}",
    )
    return 0


def add_publisher_commands(admin: Any, common: argparse.ArgumentParser) -> None:
    """``azaion admin publishers ...`` under the ``admin`` command's subparsers."""
    group = admin.add_parser("publishers", help="publisher keys and signed folders (ApiAdmin)")
    sub = group.add_subparsers(dest="publishers_command", metavar="ACTION")
    sub.required = True

    def action(name: str, func: Callable, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(func=func)
        return p

    p = action("add", cmd_publishers_add, "register a publisher's public key for folders")
    p.add_argument("name")
    p.add_argument("--key", required=True, metavar="PUB.pem", help="the public key (PEM)")
    p.add_argument("--folder", action="append", default=[], help="a folder it may sign for (repeat)")
    action("list", cmd_publishers_list, "list publishers")
    p = action("export", cmd_publishers_export, "write the trusted publishers file for devices")
    p.add_argument("-o", "--output", default="-", help="a file, or - for standard output")
    p = action("folders", cmd_publishers_folders, "replace the folders a key may sign for")
    p.add_argument("key_id")
    p.add_argument("--folder", action="append", default=[])
    p = action("revoke", cmd_publishers_revoke, "revoke a publisher key")
    p.add_argument("key_id")
    p = action("require-signatures", cmd_publishers_require, "accept only signed uploads in a folder")
    p.add_argument("folder")
    p.add_argument("--off", action="store_true", help="make signatures optional again")


def cmd_verify(args: argparse.Namespace) -> int:
    from azaion import constants

    if not (args.trusted_publishers or constants.trusted_publishers_file()):
        raise UsageError(
            "verify needs trusted publishers: pass --trusted-publishers FILE or set AZAION_TRUSTED_PUBLISHERS"
        )
    with connect(args) as client:
        data = client.load_big_small_resource(args.name, args.folder)
        release = client.last_release
    if release is None:
        raise errors.SignatureRequired(
            f"{args.folder}/{args.name} carries no release statement; nothing to verify"
        )
    out = dict(release.as_dict(), verified=True)
    del data
    emit(args, out, lambda d: f"verified: {release.describe()}")
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    filters = {
        "folder": args.folder,
        "name": args.name,
        "category": args.category,
        "since": args.since,
        "count": args.count,
        "id": args.id,
    }
    if args.published is not None:
        filters["published"] = args.published
    if not args.all:
        filters["alive"] = True
    with connect(args) as client:
        rows = client.list_resources(**filters)
    emit(args, rows, table)
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    with connect(args) as client:
        result = client.delete_resource(args.name, args.folder)
    emit(
        args,
        result,
        lambda d: f"Deleted {args.folder}/{args.name} (its bytes are kept; upload it again to revive it)",
    )
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    with connect(args) as client:
        result = client.publish_resource(args.name, args.folder, not args.unpublish)
    verb = "Withdrew" if args.unpublish else "Published"
    emit(args, result, lambda d: f"{verb} {args.folder}/{args.name}")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    with connect(args) as client:
        for seen, event in enumerate(client.events(args.last_event_id, reconnect=not args.no_reconnect), 1):
            if args.json:
                print(json.dumps(event, sort_keys=True, default=str), flush=True)
            else:
                data = event.get("data") if isinstance(event.get("data"), dict) else {}
                what = data.get("resource") or {}
                subject = f"{what.get('folder')}/{what.get('name')}" if what else data.get("email", "")
                print(f"{event.get('id')}\t{event.get('type')}\t{subject}", flush=True)
            if args.count and seen >= args.count:
                break
    return 0


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``azaion`` command."""
    from azaion._version import __version__

    # The global options are accepted before the command and after it. The command's copy has
    # no defaults: an option left out after the command must not overwrite one given before it.
    def global_options(defaults: bool) -> argparse.ArgumentParser:
        common = argparse.ArgumentParser(add_help=False)
        given = {} if defaults else {"default": argparse.SUPPRESS}
        common.add_argument("--api-url", help="Resource API URL (env AZAION_API_URL)", **given)
        common.add_argument("--email", help="account email (env AZAION_EMAIL)", **given)
        common.add_argument(
            "--client-name",
            help="authenticate as this machine client (env AZAION_CLIENT_NAME; key from AZAION_CLIENT_KEY)",
            **given,
        )
        common.add_argument(
            "--password-stdin", action="store_true", help="read the password (or key) from stdin", **given
        )
        common.add_argument("--json", action="store_true", help="print JSON for scripts", **given)
        common.add_argument("--debug", action="store_true", help="show tracebacks and debug logs", **given)
        return common

    common = global_options(defaults=False)
    parser = argparse.ArgumentParser(
        prog="azaion",
        description=__doc__.split("\n\n")[0],
        parents=[global_options(defaults=True)],
        epilog="exit codes: 0 ok, 1 error, 2 usage, 3 authentication, 4 permission, "
        "5 not found, 6 integrity, 7 network/server/CDN, 8 configuration/cache, "
        "130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"azaion {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, func: Callable, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(func=func)
        return p

    command("login", cmd_login, "check the credentials and save the API URL and email")
    command("logout", cmd_logout, "revoke the session and forget the saved email")
    command("whoami", cmd_whoami, "show the account, its role and this device's hardware hash")
    command("license", cmd_license, "show this account's licence")

    command("devices", cmd_devices, "enrol this device (once) and show its id, state and key thumbprint")

    p = command("push", cmd_push, "encrypt, split and publish a file")
    p.add_argument("file")
    p.add_argument("--folder", required=True)
    p.add_argument("--name", help="resource name (default: the file's name)")
    p.add_argument("--category")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--publish", dest="draft", action="store_false", help="publish at once (the default)")
    group.add_argument("--draft", dest="draft", action="store_true", help="keep it unpublished")
    p.set_defaults(draft=False)
    p.add_argument(
        "--sign-key",
        metavar="KEY.pem",
        help="sign a release statement with this private key "
        "(ECDSA P-256 or Ed25519, unencrypted PEM); it never leaves this machine",
    )

    p = command("pull", cmd_pull, "load a resource and write its plaintext to a file or stdout")
    p.add_argument("name")
    p.add_argument("--folder", required=True)
    p.add_argument("-o", "--output", required=True, help="a file, or - for standard output")
    p.add_argument("-y", "--yes", action="store_true", help="write plaintext to a file without asking")
    p.add_argument(
        "--trusted-publishers",
        metavar="FILE",
        help="verify against these publishers (default: AZAION_TRUSTED_PUBLISHERS)",
    )

    p = command("verify", cmd_verify, "load a resource, verify its release statement, print who signed what")
    p.add_argument("name")
    p.add_argument("--folder", required=True)
    p.add_argument(
        "--trusted-publishers",
        metavar="FILE",
        help="the trusted publishers file (default: AZAION_TRUSTED_PUBLISHERS)",
    )

    p = command("ls", cmd_ls, "list resources")
    p.add_argument("--folder")
    p.add_argument("--name", help="regular expression on the name")
    p.add_argument("--category")
    p.add_argument("--since", type=float, help="modified at or after (Unix seconds)")
    p.add_argument("--id", type=int)
    p.add_argument("--count", type=int)
    p.add_argument("--published", dest="published", action="store_true", default=None)
    p.add_argument("--unpublished", dest="published", action="store_false")
    p.add_argument("--all", action="store_true", help="include deleted resources")

    p = command("rm", cmd_rm, "soft-delete a resource")
    p.add_argument("name")
    p.add_argument("--folder", required=True)

    p = command("publish", cmd_publish, "publish (or withdraw) a resource")
    p.add_argument("name")
    p.add_argument("--folder", required=True)
    p.add_argument("--unpublish", action="store_true")

    p = command("events", cmd_events, "follow the change stream")
    p.add_argument("--last-event-id", type=int, help="resume after this event id")
    p.add_argument("--count", type=int, help="stop after this many events")
    p.add_argument("--no-reconnect", action="store_true", help="stop when the stream ends")

    from azaion.cli_admin import add_admin

    add_admin(sub, common)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the ``azaion`` command; returns the exit code."""
    import logging

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, format="azaion: %(levelname)s: %(message)s"
    )
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("azaion: interrupted", file=sys.stderr)
        return 130
    except errors.AzaionError as e:
        if args.debug:
            raise
        print(f"azaion: error: {e} [{e.code}]", file=sys.stderr)
        return exit_code_for(e)
    except BrokenPipeError:
        return 1
    except OSError as e:
        if args.debug:
            raise
        print(f"azaion: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
