"""What Python sees of the compiled package: the seed's surface, and nothing more."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import azaion
import azaion.api_client
import azaion.security

ROOT = Path(__file__).resolve().parents[2]


def test_modules_are_compiled_extensions():
    for name in (
        "api_client",
        "security",
        "cdn_manager",
        "hardware_service",
        "credentials",
        "constants",
        "user",
        "cache",
        "device",
        "lease",
    ):
        module = __import__(f"azaion.{name}", fromlist=["_"])
        assert Path(module.__file__).suffix in (".so", ".pyd"), module.__file__


# The seed's methods: cpdef/def are callable from Python, cdef are not.
PUBLIC = [
    "set_credentials_from_dict",
    "login",
    "load_big_small_resource",
    "upload_big_small_resource",
    "close",
    "logout",
    "is_authenticated",
    "test_connection",
    "__enter__",
    "__exit__",
]
# What Python sees of each compiled class and module, beyond dunders: an allow-list, so that a
# new name reachable from Python is a decision (a cdef internal stays invisible).
CLASS_SURFACE = {
    "ApiClient": {
        "admin",
        "approve_device",
        "data_dir",
        "enrol_device",
        "revoke_device",
        "api_url",
        "cache_dir",
        "cdn_manager",
        "close",
        "credentials",
        "delete_resource",
        "events",
        "is_authenticated",
        "last_release",
        "license_info",
        "list_devices",
        "list_publishers",
        "list_resources",
        "load_big_small_resource",
        "login",
        "logout",
        "offline",
        "publish_resource",
        "register_publisher",
        "resource_info",
        "revoke_publisher",
        "set_credentials_from_dict",
        "set_folder_policy",
        "set_machine_credentials",
        "set_publisher_folders",
        "test_connection",
        "token",
        "trust_document",
        "upload_big_small_resource",
        "user",
        "validate_license",
    },
    "CDNManager": {"creds"},
    "CDNCredentials": {"bucket", "host", "region"},
    "Credentials": {"email"},
    "MachineCredentials": {"client_name", "email"},
    "HardwareService": {"hardware_hash", "missing"},
    "User": {"email", "id", "role"},
    "BigPartCache": set(),
    "CacheEntry": set(),
    "Directory": set(),
    "CacheFile": set(),
    "StateFile": set(),
    "LeaseStore": set(),
    "Clock": set(),
    "ClockChange": set(),
    "ServerKeys": set(),
    "DeviceKeys": {"jkt", "path", "store"},
    "Download": set(),
    "EnvelopeKeys": set(),
    "ResourceEncryptor": set(),
    "ResourceDecryptor": set(),
}
MODULE_SURFACE = {
    "api_client": {"ApiClient", "ServerKeys"},
    "cache": {"BigPartCache", "CacheEntry", "CacheFile", "Directory", "SegmentReceiver", "StateFile"},
    "cdn_manager": {"CDNCredentials", "CDNManager", "Download"},
    "security": {"EnvelopeKeys", "ResourceDecryptor", "ResourceEncryptor"},
    "credentials": {"Credentials", "MachineCredentials"},
    "hardware_service": {"HardwareService"},
    "user": {"RoleEnum", "User", "role_from_claim"},
    "device": {"DeviceKeys"},
    "lease": {"Clock", "ClockChange", "LeaseStore"},
    "constants": {
        "APP_NAME", "BIG_SUFFIX", "CDN_CONFIG", "CLOCK_STATE", "CLOCK_TOLERANCE_SECONDS", "RELEASE_STATE",
        "SYSTEM_FOLDER", "USER_AGENT", "api_url", "backoff_factor", "build_info", "cache_dir", "chunk_size",
        "data_dir", "hardware_fingerprint_override", "jwks_file", "legacy_envelope", "max_retries", "offline",
        "retry_after_max", "small_size_kb", "timeouts", "tpm_tcti", "transfer_concurrency",
        "trusted_publishers_file",
    },
}  # fmt: skip


def own_names(module) -> set[str]:
    """Names a module defines (not what it imports): its classes, functions and plain values."""
    import types

    names = set()
    for name in dir(module):
        value = getattr(module, name)
        if name.startswith("__") or isinstance(value, types.ModuleType):
            continue
        origin = getattr(value, "__module__", None) if callable(value) else None
        if origin == module.__name__ or (origin is None and isinstance(value, (str, int, float, tuple))):
            names.add(name)
    return names


@pytest.mark.parametrize("name", sorted(MODULE_SURFACE))
def test_each_compiled_module_shows_only_its_allowed_names(name):
    module = __import__(f"azaion.{name}", fromlist=["_"])
    assert own_names(module) == MODULE_SURFACE[name]


@pytest.mark.parametrize("name", sorted(CLASS_SURFACE))
def test_each_compiled_class_shows_only_its_allowed_names(name):
    import azaion.api_client
    import azaion.cache
    import azaion.cdn_manager
    import azaion.device
    import azaion.lease

    modules = (azaion, azaion.api_client, azaion.cache, azaion.cdn_manager, azaion.security, azaion.device)
    cls = next(getattr(m, name) for m in (*modules, azaion.lease) if hasattr(m, name))
    assert {n for n in dir(cls) if not n.startswith("__")} == CLASS_SURFACE[name]


def test_security_exposes_no_function():
    own = [
        n
        for n in dir(azaion.security)
        if getattr(getattr(azaion.security, n), "__module__", None) == "azaion.security"
    ]
    assert sorted(own) == ["EnvelopeKeys", "ResourceDecryptor", "ResourceEncryptor"]
    for name in own:
        cls = getattr(azaion.security, name)
        assert [a for a in dir(cls) if not a.startswith("__")] == []
        with pytest.raises(TypeError):
            cls()
    for name in ("SHARED_KEY", "integrity_error", "hardware_hash", "small_length", "ciphertext_length"):
        assert not hasattr(azaion.security, name)


def test_attributes_are_readable_but_not_writable(client):
    for name in ("credentials", "user", "token", "cdn_manager", "api_url"):
        assert getattr(client, name) is not None
        with pytest.raises(AttributeError):
            setattr(client, name, None)


def test_secrets_are_not_attributes(client):
    assert not hasattr(client.credentials, "password")
    assert not hasattr(client.cdn_manager.creds, "downloader_access_secret")
    assert not hasattr(client.cdn_manager.creds, "uploader_access_key")


def test_reprs_hold_no_secret(client):
    from tests.client.conftest import PASSWORD

    for obj in (client, client.credentials, client.cdn_manager, client.cdn_manager.creds, client.user):
        text = repr(obj)
        assert PASSWORD not in text
        assert client.token not in text
        assert "secret" not in text.replace("keys=***", "")


def test_credentials_cannot_be_pickled(client):
    import pickle

    for obj in (client, client.credentials, client.cdn_manager.creds):
        with pytest.raises(TypeError):
            pickle.dumps(obj)


def test_import_is_cheap_and_lazy():
    code = (
        "import sys, azaion\n"
        "heavy = [m for m in ('boto3', 'botocore', 'yaml', 'jwt', 'requests') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_error_is_an_azaion_error_with_a_code():
    import azaion.errors as errors

    classes = [getattr(errors, n) for n in errors.__all__]
    codes = set()
    for cls in classes:
        assert issubclass(cls, azaion.AzaionError)
        assert cls.code and cls.code.isupper()
        codes.add(cls.code)
    assert {
        "INVALID_CREDENTIALS",
        "NETWORK_ERROR",
        "HARDWARE_MISMATCH",
        "LICENSE_EXPIRED",
        "NOT_FOUND",
        "INTEGRITY",
        "INVALID_NAME",
    } <= codes
    assert issubclass(azaion.InvalidName, ValueError)
    assert issubclass(azaion.NetworkError, ConnectionError)


def test_role_enum_has_the_seed_roles():
    assert [r.name for r in azaion.RoleEnum] == [
        "NONE",
        "Operator",
        "Validator",
        "ResourceUploader",
        "Admin",
        "ApiAdmin",
    ]


def test_api_url_is_required_and_checked(monkeypatch):
    monkeypatch.delenv("AZAION_API_URL", raising=False)
    with pytest.raises(azaion.ConfigurationError):
        azaion.ApiClient()
    with pytest.raises(azaion.ConfigurationError):
        azaion.ApiClient("ftp://example.com")
    monkeypatch.setenv("AZAION_API_URL", "http://127.0.0.1:1/")
    assert azaion.ApiClient().api_url == "http://127.0.0.1:1"


def test_bad_environment_numbers_raise_configuration_error(monkeypatch):
    monkeypatch.setenv("AZAION_READ_TIMEOUT", "ten")
    with pytest.raises(azaion.ConfigurationError) as info:
        azaion.ApiClient("http://127.0.0.1:1")
    assert "AZAION_READ_TIMEOUT" in str(info.value)
