"""Smoke test of an installed azaion: run as a script by an interpreter that has the wheel.

    python -I tests/packaging/smoke.py [--expect-prefix DIR]

It needs nothing but the wheel and its declared dependencies (no pytest, no test helpers), so
check_wheel.py runs it in a fresh venv and cibuildwheel runs it as its test command. It checks
that the modules are compiled, that importing is lazy, that the protected modules carry no
docstrings or signatures and hide their internals, that the declared dependencies import, and
that a client constructed against a closed port reports no connection. Exit status 0 on success.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.machinery
import os
import socket
import sys
import tempfile
from pathlib import Path

# setup.py's PROTECTED (all in the one extension azaion._protected) and PUBLIC.
PROTECTED = ("security", "credentials", "hardware_service", "cdn_manager", "cache", "api_client")
COMPILED = PROTECTED + ("_protected", "constants", "user")
LAZY = ("boto3", "botocore", "yaml", "jwt", "requests")
# Modules of the declared dependencies that the compiled code imports when it needs them.
DEPENDENCIES = (
    "requests",
    "urllib3.util.retry",
    "jwt",
    "yaml",
    "boto3",
    "botocore.config",
    "s3transfer",
    "cryptography.hazmat.primitives.keywrap",
    "platformdirs",
    "tqdm",
)
HIDDEN_METHODS = (
    "set_credentials",
    "set_token",
    "request",
    "send",
    "load_bytes",
    "upload_file",
    "load_big_file_cdn",
    "keys",
    "cdn",
    "download_big",
    "decrypt_cached",
    "write_cache",
    "session",
    "envelope_keys",
    "hardware",
)
HIDDEN_SECURITY = (
    "SHARED_KEY",
    "integrity_error",
    "hardware_hash",
    "answer_challenge",
    "small_length",
    "ciphertext_length",
    "plaintext_length",
    "lp",
    "resource_keys",
    "segment_nonce",
    "commitment",
)
PUBLIC_METHODS = (
    "set_credentials_from_dict",
    "login",
    "load_big_small_resource",
    "upload_big_small_resource",
    "close",
    "test_connection",
    "__enter__",
    "__exit__",
)
# Kinds of object whose __doc__ would come from our sources (slot wrappers carry CPython's own).
DOC_CARRIERS = (
    "cython_function_or_method",
    "method_descriptor",
    "builtin_function_or_method",
    "getset_descriptor",
    "member_descriptor",
    "function",
    "staticmethod",
    "classmethod",
    "property",
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check(ok: bool, message: str, failures: list) -> None:
    if not ok:
        failures.append(message)


def documented(obj, name: str = "") -> bool:
    """A docstring or a text signature of our own (CPython's generic ones, as on object, do not count)."""
    doc = (getattr(obj, "__doc__", None) or "").strip()
    generic = getattr(object, name, None) if name else None
    if generic is not None and doc == (generic.__doc__ or "").strip():
        return False
    return bool(doc) or getattr(obj, "__text_signature__", None) is not None


def run(expect_prefix: str | None, visible: list, expect_key: str | None = None) -> list:
    failures: list = []
    import azaion

    location = Path(azaion.__file__).resolve().parent
    if expect_prefix:
        check(
            Path(expect_prefix).resolve() in location.parents,
            f"azaion imported from {location}, not from {expect_prefix}",
            failures,
        )
    heavy = [m for m in LAZY if m in sys.modules]
    check(not heavy, f"'import azaion' imported {heavy}", failures)

    for name in COMPILED:
        module = importlib.import_module(f"azaion.{name}")
        check(
            module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)),
            f"azaion.{name} is not compiled: {module.__file__}",
            failures,
        )
    for path in location.rglob("*"):
        source = path.suffix in (".pyx", ".pxd", ".c") or (
            path.stem in PROTECTED and path.suffix in (".py", ".pyc")
        )
        check(not source, f"source installed: {path.relative_to(location)}", failures)

    for name in PROTECTED:
        module = importlib.import_module(f"azaion.{name}")
        check(not documented(module), f"azaion.{name} has a module docstring", failures)
        for attr, value in vars(module).items():
            if isinstance(value, type) and value.__module__ == module.__name__:
                check(not documented(value), f"azaion.{name}.{attr} has a docstring", failures)
                for member, obj in vars(value).items():
                    if type(obj).__name__ in DOC_CARRIERS and member != "__doc__":
                        check(
                            not documented(obj, member),
                            f"azaion.{name}.{attr}.{member} has a docstring or signature",
                            failures,
                        )
            elif (
                type(value).__name__ in DOC_CARRIERS and getattr(value, "__module__", None) == module.__name__
            ):
                check(not documented(value), f"azaion.{name}.{attr} has a docstring or signature", failures)
                if name == "security":
                    failures.append(f"azaion.security.{attr} is a Python-visible function")
                else:
                    visible.append(f"azaion.{name}.{attr}")

    import azaion._protected as protected

    check(not hasattr(protected, "__pyx_capi__"), "azaion._protected exports __pyx_capi__", failures)
    for name in PROTECTED:
        module = importlib.import_module(f"azaion.{name}")
        check(
            Path(module.__file__).resolve() == Path(protected.__file__).resolve(),
            f"azaion.{name} is not part of azaion._protected: {module.__file__}",
            failures,
        )
        check(not hasattr(module, "__pyx_capi__"), f"azaion.{name} exports __pyx_capi__", failures)
        for attr, value in vars(module).items():
            if isinstance(value, type):
                check(
                    "__pyx_vtable__" not in vars(value),
                    f"azaion.{name}.{attr} has a __pyx_vtable__ capsule",
                    failures,
                )
    info = azaion.build_info()
    check(info.get("stripped") is True, f"not a stripped build: {info}", failures)
    if expect_key:
        check(info.get("wrapping_key") == expect_key, f"expected a {expect_key} key: {info}", failures)

    for method in PUBLIC_METHODS:
        check(callable(getattr(azaion.ApiClient, method, None)), f"ApiClient.{method} is missing", failures)
    for method in HIDDEN_METHODS:
        check(not hasattr(azaion.ApiClient, method), f"ApiClient.{method} is reachable from Python", failures)
    import azaion.security as security

    for name in HIDDEN_SECURITY:
        check(not hasattr(security, name), f"azaion.security.{name} is reachable from Python", failures)
    for attr, value in vars(security).items():
        if isinstance(value, type) and value.__module__ == security.__name__:
            public = [a for a in dir(value) if not a.startswith("__")]
            check(not public, f"azaion.security.{attr} exposes {public}", failures)

    for name in DEPENDENCIES:
        try:
            importlib.import_module(name)
        except ImportError as e:
            failures.append(f"declared dependency does not import: {name} ({e})")

    collected = azaion.HardwareService().hardware_hash
    os.environ["AZAION_HARDWARE_FINGERPRINT"] = "smoke-test"
    if azaion.build_info().get("test_build"):
        check(
            azaion.HardwareService().hardware_hash == hashlib.sha256(b"smoke-test").hexdigest(),
            "HardwareService hashes the fingerprint override wrongly",
            failures,
        )
    else:  # a release honours no fingerprint from the environment
        check(
            azaion.HardwareService().hardware_hash == collected,
            "a release build honours AZAION_HARDWARE_FINGERPRINT",
            failures,
        )
    with tempfile.TemporaryDirectory() as cache:
        os.environ.update(
            AZAION_CACHE_DIR=cache, AZAION_MAX_RETRIES="0", AZAION_BACKOFF="0", AZAION_CONNECT_TIMEOUT="2"
        )
        with azaion.ApiClient(f"http://127.0.0.1:{closed_port()}") as client:
            check(
                client.test_connection() is False,
                "test_connection() is not False against a closed port",
                failures,
            )
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description="smoke test of an installed azaion")
    parser.add_argument("--expect-prefix", help="fail unless azaion is imported from under this directory")
    parser.add_argument(
        "--expect-key", choices=("test", "deployment"), help="fail unless build_info() reports this key"
    )
    args = parser.parse_args()
    visible: list = []
    failures = run(args.expect_prefix, visible, args.expect_key)
    import azaion

    for failure in failures:
        print(f"FAIL {failure}")
    where = Path(azaion.__file__).parent
    if visible:
        names = ", ".join(visible)
        print(f"note: module-level def functions of protected modules, callable from Python: {names}")
    print(
        f"smoke {'FAILED' if failures else 'ok'}: azaion {azaion.__version__} from {where}, "
        f"{azaion.build_info()['wrapping_key']} wrapping key, "
        f"Python {sys.version.split()[0]} ({sys.platform})"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
