"""Offline leases and lost devices, end to end: a server of its own (stopped mid-test), the S3
emulator, the compiled client, and field loaders in their own processes under Debian's
`faketime` (docs/security.md, "Offline leases" and "Lost devices").
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import azaion
from build_tools.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
FOLDER = "field"
OFFLINE_HOURS = 24


@dataclass
class Field:
    """A server with one published model and an Operator whose licence allows a day offline."""

    server: LiveServer
    email: str
    password: str
    user_id: int
    name: str
    model: bytes
    home: Path
    fingerprint: str
    tpm: Optional[str] = None

    def client(self, *, offline: Optional[bool] = None, home: Optional[Path] = None) -> azaion.ApiClient:
        home = home or self.home
        client = azaion.ApiClient(
            self.server.url, cache_dir=str(home / "cache"), data_dir=str(home / "data"), offline=offline
        )
        client.set_credentials_from_dict(self.email, self.password)
        return client

    def loader(self, *, faketime: Optional[str] = None, network: bool = False) -> dict[str, Any]:
        """The model loaded by a field loader process with AZAION_OFFLINE=1 (unless `network`)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AZAION_")}
        env.update(
            AZAION_API_URL=self.server.url,
            AZAION_CACHE_DIR=str(self.home / "cache"),
            AZAION_DATA_DIR=str(self.home / "data"),
            AZAION_HARDWARE_FINGERPRINT=self.fingerprint,
            AZAION_CONFIG=str(self.home / "config.ini"),
            PYTHONPATH=str(ROOT),
        )
        if self.tpm is not None:
            env["AZAION_TPM_TCTI"] = self.tpm
        command = [sys.executable, "-m", "tests.e2e.offline_loader", self.email, FOLDER, self.name]
        if not network:
            env["AZAION_OFFLINE"] = "1"
            command.append("--no-network")
        if faketime is not None:
            faketime_binary = shutil.which("faketime")
            assert faketime_binary, "faketime is missing: make packages"
            command = [faketime_binary, "-f", faketime, *command]
        done = subprocess.run(
            command,
            input=self.password + "\n",
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def field(server_env, tmp_path, monkeypatch) -> Iterator[Field]:
    # The suite's settings, with a database, a store and a bucket of its own: this server stops.
    env = {
        **server_env,
        "AZAION_DATABASE_URL": f"sqlite:///{tmp_path / 'field.db'}",
        "AZAION_STORAGE_DIR": str(tmp_path / "storage"),
        "AZAION_S3_BUCKET": f"azaion-field-{uuid.uuid4().hex[:8]}",
    }
    server = LiveServer(env, log_dir=tmp_path)
    try:
        uploader = f"uploader-{uuid.uuid4().hex[:6]}@field.local"
        email = f"operator-{uuid.uuid4().hex[:6]}@field.local"
        password = secrets.token_urlsafe(12)
        server.create_user(uploader, password, "ResourceUploader")
        user_id = server.create_user(email, password, "Operator")
        # Room for three devices: some tests enrol a second machine of the same account.
        server.admin("PUT", f"/users/{user_id}/license", json={
            "plan": "field", "expires_at": "2099-01-01T00:00:00+00:00", "folders": [FOLDER],
            "offline_hours": OFFLINE_HOURS, "max_devices": 3,
        })  # fmt: skip
        model = os.urandom(300_000)
        name = "detector.onnx"
        publisher = azaion.ApiClient(
            server.url,
            cache_dir=str(tmp_path / "uploader" / "cache"),
            data_dir=str(tmp_path / "uploader" / "data"),
        )
        monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", "uploader-machine")
        publisher.set_credentials_from_dict(uploader, password)
        publisher.upload_big_small_resource(model, name, FOLDER)
        publisher.close()
        fingerprint = f"drone-{uuid.uuid4().hex}"
        monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", fingerprint)
        yield Field(server, email, password, user_id, name, model, tmp_path / "drone", fingerprint)
    finally:
        server.stop()


def lease_files(home: Path) -> list[Path]:
    state = home / "cache" / ".state"
    return sorted(state.glob("lease-*.json")) if state.exists() else []


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def loaded_online(field: Field) -> dict[str, Any]:
    """One online load (it brings back a lease); the stored lease record."""
    client = field.client()
    assert client.load_big_small_resource(field.name, FOLDER) == field.model
    client.close()
    [path] = lease_files(field.home)
    return json.loads(path.read_text())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_lease(home: Path, record: dict[str, Any]) -> None:
    [path] = lease_files(home)
    path.write_text(json.dumps(record))


# -- loading offline ---------------------------------------------------------------------------


def test_a_device_loads_offline_once_the_server_is_gone(field):
    record = loaded_online(field)
    header, payload, _ = record["lease"].split(".")
    claims = json.loads(unb64url(payload))
    assert json.loads(unb64url(header))["typ"] == "azaion-lease+jwt"
    assert claims["folder"] == FOLDER and claims["name"] == field.name
    assert claims["exp"] - claims["iat"] <= OFFLINE_HOURS * 3600
    field.server.stop()
    # The same loader, online mode: the API is out of reach, the lease and the cache serve it.
    client = field.client()
    assert client.cdn_manager is None  # cdn.yaml could not be read: it waits for a CDN download
    assert digest(client.load_big_small_resource(field.name, FOLDER)) == digest(field.model)
    # AZAION_OFFLINE=1: the same digest, and not one name resolved or socket opened.
    loaded = field.loader()
    assert loaded.get("sha256") == digest(field.model), loaded
    assert loaded["connections"] == []


def test_offline_mode_opens_no_connection_even_with_the_server_up(field):
    loaded_online(field)
    loaded = field.loader()
    assert loaded.get("sha256") == digest(field.model), loaded
    assert loaded["connections"] == []
    client = field.client(offline=True)
    with pytest.raises(azaion.OfflineError):
        client.list_resources()


def test_without_a_lease_an_offline_load_says_what_to_do(field):
    refused = field.loader()
    assert refused["error"] == "OFFLINE_UNAVAILABLE" and "load it once online" in refused["message"]
    assert refused["connections"] == []


def test_a_licence_without_offline_hours_brings_no_lease(field):
    field.server.set_license(field.user_id, [FOLDER], days=30, offline_hours=0)
    client = field.client()
    assert client.load_big_small_resource(field.name, FOLDER) == field.model
    assert lease_files(field.home) == []
    field.server.stop()
    with pytest.raises(azaion.NetworkError):
        field.client().load_big_small_resource(field.name, FOLDER)


def test_the_big_part_must_be_cached(field):
    loaded_online(field)
    shutil.rmtree(field.home / "cache" / FOLDER)
    refused = field.loader()
    assert refused["error"] == "OFFLINE_UNAVAILABLE" and "not in this device's cache" in refused["message"]


# -- the clock -----------------------------------------------------------------------------------


def test_a_clock_past_the_lease_refuses_with_lease_expired(field):
    loaded_online(field)
    assert field.loader(faketime="+23h").get("sha256") == digest(field.model)
    expired = field.loader(faketime=f"+{OFFLINE_HOURS + 1}h")
    assert expired["error"] == "LEASE_EXPIRED", expired
    assert expired["clock"] > time.time() + OFFLINE_HOURS * 3600  # faketime moved the loader's clock


def test_a_clock_moved_back_refuses_with_clock_rolled_back(field):
    loaded_online(field)
    # Seen at 20 h ahead: the mark moves there; back to "now" (20 h earlier) is a rollback.
    assert field.loader(faketime="+20h").get("sha256") == digest(field.model)
    back = field.loader()
    assert back["error"] == "CLOCK_ROLLED_BACK", back
    earlier = field.loader(faketime="-2d")
    assert earlier["error"] == "CLOCK_ROLLED_BACK", earlier
    # Online again, the server's time replaces the mark: offline loads work with a right clock.
    loaded_online(field)
    assert field.loader().get("sha256") == digest(field.model)


@pytest.mark.parametrize("damage", ["delete", "edit", "other-device"])
def test_a_missing_or_edited_state_file_refuses_offline_loads(field, damage, monkeypatch):
    loaded_online(field)
    [state] = list((field.home / "data").glob(".clock-*.json"))
    if damage == "delete":
        state.unlink()
    elif damage == "edit":
        document = json.loads(state.read_text())
        document["mark"] -= 7 * 24 * 3600  # an earlier mark, to allow a rolled-back clock
        state.write_text(json.dumps(document))
    else:
        # A valid state file of another device (its own key signed it) put in this one's place.
        other = field.home.parent / "other-drone"
        monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", "other-drone")
        loaded_online(Field(**{**field.__dict__, "home": other}))
        monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", field.fingerprint)
        [theirs] = list((other / "data").glob(".clock-*.json"))
        shutil.copyfile(theirs, state)
    refused = field.loader()
    assert refused["error"] == "OFFLINE_STATE", refused
    loaded_online(field)  # online again mends it
    assert field.loader().get("sha256") == digest(field.model)


# -- the lease ---------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["device", "folder", "exp", "sealed_sha256", "sub"])
def test_a_lease_edited_in_any_field_is_refused(field, claim):
    record = loaded_online(field)
    header, payload, signature = record["lease"].split(".")
    claims = json.loads(unb64url(payload))
    claims[claim] = claims[claim] + 1 if isinstance(claims[claim], int) else claims[claim] + "x"
    record["lease"] = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    write_lease(field.home, record)
    refused = field.loader()
    assert refused["error"] == "LEASE_INVALID", refused


def test_a_lease_signed_by_an_unknown_key_is_refused(field):
    record = loaded_online(field)
    header, payload, _ = record["lease"].split(".")
    forged_key = Ed25519PrivateKey.generate()
    forged_header = b64url(json.dumps({**json.loads(unb64url(header))}).encode())
    forged = f"{forged_header}.{payload}"
    record["lease"] = f"{forged}.{b64url(forged_key.sign(forged.encode()))}"
    write_lease(field.home, record)
    assert field.loader()["error"] == "LEASE_INVALID"
    # With its own kid too: a key this client never pinned.
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    x = b64url(forged_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = b64url(hashlib.sha256(canonical.encode()).digest())
    forged_header = b64url(json.dumps({**json.loads(unb64url(header)), "kid": kid}).encode())
    forged = f"{forged_header}.{payload}"
    record["lease"] = f"{forged}.{b64url(forged_key.sign(forged.encode()))}"
    write_lease(field.home, record)
    refused = field.loader()
    assert refused["error"] == "LEASE_INVALID" and "does not trust" in refused["message"]


def test_a_sealed_part_swapped_under_the_lease_is_refused(field):
    record = loaded_online(field)
    sealed = bytearray(base64.b64decode(record["sealed"]))
    sealed[-1] ^= 1
    record["sealed"] = base64.b64encode(bytes(sealed)).decode()
    write_lease(field.home, record)
    assert field.loader()["error"] == "LEASE_INVALID"


def test_a_lease_copied_to_another_device_is_refused(field, monkeypatch):
    loaded_online(field)
    other_home = field.home.parent / "second-drone"
    monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", "second-drone")
    second = Field(**{**field.__dict__, "home": other_home, "fingerprint": "second-drone"})
    loaded_online(second)  # the second device: its own lease, clock state and cache
    [theirs] = lease_files(other_home)
    [ours] = lease_files(field.home)
    # The first device's lease (and its sealed part) under the second device's file name.
    shutil.copyfile(ours, theirs)
    refused = second.loader()
    assert refused["error"] == "LEASE_INVALID" and "another device" in refused["message"], refused


# -- lost devices --------------------------------------------------------------------------------


def test_a_revoked_device_wipes_what_it_holds_at_its_next_contact(field):
    loaded_online(field)
    data = field.home / "data"
    assert list(data.glob("device-*.key")) and lease_files(field.home)
    [device] = field.server.devices(field.user_id)
    field.server.admin("POST", f"/devices/{device['id']}/revoke", json={"reason": "lost"})
    client = azaion.ApiClient(field.server.url, cache_dir=str(field.home / "cache"), data_dir=str(data))
    with pytest.raises(azaion.DeviceRevoked) as revoked:
        client.set_credentials_from_dict(field.email, field.password)
        client.load_big_small_resource(field.name, FOLDER)
    assert "wiped" in str(revoked.value)
    assert lease_files(field.home) == []
    assert [p.name for p in (field.home / "cache").iterdir()] in ([], [".state"])  # no big part, no partial
    assert not list(data.glob("device-*.key")) and not list(data.glob(".clock-*.json"))
    # Nothing is left for an offline load either.
    assert field.loader()["error"] == "OFFLINE_UNAVAILABLE"


def test_a_loader_following_events_wipes_at_device_revoked(field):
    loaded_online(field)
    client = field.client()
    device = client.enrol_device()
    raised: list[BaseException] = []

    def follow() -> None:
        try:
            for _event in client.events(reconnect=False):
                pass
        except BaseException as e:  # noqa: BLE001 - handed to the test
            raised.append(e)

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    time.sleep(2)  # the stream is open (no event before the revocation can wipe)
    assert lease_files(field.home) and not raised
    field.server.admin("POST", f"/devices/{device['id']}/revoke", json={"reason": "retired"})
    follower.join(30)
    assert [type(e) for e in raised] == [azaion.DeviceRevoked]
    assert lease_files(field.home) == []
    assert not list((field.home / "data").glob("device-*.key"))


# -- the server's keys ---------------------------------------------------------------------------


def test_a_lease_signed_before_a_key_rotation_still_loads_offline(field):
    loaded_online(field)
    field.server.admin("POST", "/signing-keys/rotate")
    # Online again (another login: a token under the new key, adopted as signed by the old one).
    client = field.client()
    assert client.is_authenticated()
    client.close()
    field.server.stop()
    loaded = field.loader()
    assert loaded.get("sha256") == digest(field.model), loaded


def test_audit_rows_for_online_and_lease_issuance(field):
    loaded_online(field)
    rows = field.server.admin("GET", "/audit", params={"action": "small_part"}).json()["results"]
    modes = sorted(row["mode"] for row in rows if row["name"] == field.name)
    assert modes == ["lease", "online"]


# -- with a TPM --------------------------------------------------------------------------------


def test_with_a_tpm_an_older_copy_of_the_state_file_is_refused(field, tmp_path, monkeypatch):
    from tests.e2e.test_tpm import software_tpm

    with software_tpm(tmp_path / "tpm") as tcti:
        monkeypatch.setenv("AZAION_TPM_TCTI", tcti)
        field.tpm = tcti
        record = loaded_online(field)
        assert not list((field.home / "data").glob("device-*.key"))  # the keys are in the TPM
        [state] = list((field.home / "data").glob(".clock-*.json"))
        counter = json.loads(state.read_text())["counter"]
        assert isinstance(counter, int)
        older = state.read_bytes()
        assert field.loader().get("sha256") == digest(field.model)
        assert json.loads(state.read_text())["counter"] == counter + 1  # each write moves the counter
        # The older copy, validly signed by this device, is put back (to undo a later mark).
        state.write_bytes(older)
        refused = field.loader()
        assert refused["error"] == "OFFLINE_STATE" and "older copy" in refused["message"], refused
        assert record["lease"]
        loaded_online(field)
        assert field.loader().get("sha256") == digest(field.model)
