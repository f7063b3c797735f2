"""Devices through the compiled client and the `azaion` command, against the real server: the key
store on disk, enrolment at the first load, `azaion devices` and `azaion admin devices`."""

from __future__ import annotations

import json
import shutil
import stat

import pytest

import azaion
from tests.e2e.conftest import FOLDER
from tests.e2e.test_cli import run  # noqa: F401 - the fixture


def test_the_key_store_is_private_and_opens_only_with_its_fingerprint(
    make_account, connect, client_env, monkeypatch
):
    uploader = make_account("ResourceUploader")
    client = connect(uploader, device="store-device", cache="store")
    client.upload_big_small_resource(b"weights", "store.bin", FOLDER)
    [store] = [p for p in client.data_dir.iterdir() if p.name.startswith("device-")]
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert store.read_bytes()[:5] == b"AZDK\x01"
    # The whole store (and the cache) copied to a machine with another fingerprint: nothing opens.
    copy = client_env / "copied-data"
    shutil.copytree(client.data_dir, copy)
    other = azaion.ApiClient(client.api_url, cache_dir=str(client_env / "store"), data_dir=str(copy))
    monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", "another machine")
    with pytest.raises(azaion.DeviceError) as refused:
        other.set_credentials_from_dict(uploader.email, uploader.password)
    assert refused.value.code == "DEVICE_KEY_STORE"
    other.close()


def test_the_device_enrols_once_and_keeps_its_id(make_account, connect, live):
    operator = make_account("Operator")
    first = connect(operator, device="enrol-once").enrol_device()
    again = connect(operator, device="enrol-once").enrol_device()
    assert first["id"] == again["id"] and first["state"] == "active" and first["store"] == "software"
    assert [d["id"] for d in live.devices(operator.id)] == [first["id"]]


def test_azaion_devices_and_admin_devices(run, make_account, live):  # noqa: F811 - `run` is the fixture
    operator = make_account("Operator")
    mine = json.loads(run("devices", "--json", account=operator).stdout)
    assert mine["state"] == "active" and mine["jkt"]
    admin = type(operator)(0, live.admin_email, live.admin_password, "ApiAdmin")
    listed = json.loads(
        run("admin", "devices", "ls", "--user-id", str(operator.id), "--json", account=admin).stdout
    )
    assert [d["id"] for d in listed] == [mine["id"]]
    revoked = json.loads(
        run(
            "admin", "devices", "revoke", str(mine["id"]), "--reason", "retired", "--json", account=admin
        ).stdout
    )
    assert revoked["state"] == "revoked" and revoked["revoked_reason"] == "retired"
    refused = run("devices", "--json", account=operator, check=False)
    assert refused.returncode != 0 and b"revoked" in refused.stderr
