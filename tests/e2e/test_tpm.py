"""The device keys in a TPM 2.0: Debian's software TPM (swtpm), started here on a free port and
stopped after, against the real server and the compiled client.

The keys are created inside the TPM and never leave it; decapsulation runs the ECDH in the TPM
(TPM2_ECDH_ZGen) and the rest of RFC 9180 in software, and opens what the server sealed with
`cryptography`'s HPKE, the same ciphertexts the software key store opens.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import tpm2_pytss  # noqa: F401 - azaion[tpm]; requirements-dev.txt installs it (never skipped)

import azaion
from tests.conftest import free_port
from tests.e2e.conftest import FOLDER


def port_pair() -> int:
    """A loopback port P with P + 1 free too."""
    while True:
        port = free_port()
        with contextlib.suppress(OSError), socket.socket() as probe:
            probe.bind(("127.0.0.1", port + 1))
            return port


@contextlib.contextmanager
def software_tpm(state: Path) -> Iterator[str]:
    """A fresh swtpm (its own seeds in `state`); yields its TCTI."""
    swtpm = shutil.which("swtpm")
    assert swtpm, "swtpm is missing: make packages"
    state.mkdir(parents=True, exist_ok=True)
    port = port_pair()
    ctrl = port + 1  # the swtpm TCTI finds the control channel at port + 1
    process = subprocess.Popen(
        [
            swtpm, "socket", "--tpm2",
            "--server", f"type=tcp,port={port},bindaddr=127.0.0.1",
            "--ctrl", f"type=tcp,port={ctrl},bindaddr=127.0.0.1",
            "--flags", "not-need-init,startup-clear",
            "--tpmstate", f"dir={state}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, "swtpm exited"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", ctrl), timeout=1):
                break
            assert time.monotonic() < deadline, "swtpm did not listen"
            time.sleep(0.05)
        yield f"swtpm:host=127.0.0.1,port={port}"
    finally:
        process.terminate()
        process.wait(10)


def test_a_tpm_device_enrols_and_loads(make_account, connect, tmp_path, monkeypatch):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    data = b"tpm-held weights " * 300
    connect(uploader, cache="uploader").upload_big_small_resource(data, "tpm.bin", FOLDER)
    with software_tpm(tmp_path / "tpm-a") as tcti:
        monkeypatch.setenv("AZAION_TPM_TCTI", tcti)
        client = connect(operator, device="tpm-device", cache="tpm")
        info = client.enrol_device()
        assert info["store"] == "tpm" and info["state"] == "active"
        assert client.load_big_small_resource("tpm.bin", FOLDER) == data
        # Nothing of the key on disk: the data directory holds no key file.
        assert (
            not list(Path(client.data_dir).glob("device-*.key")) if Path(client.data_dir).exists() else True
        )
        again = connect(operator, device="tpm-device", cache="tpm")  # the same TPM: the same keys
        assert again.enrol_device()["id"] == info["id"]
        client.close()
        again.close()
    # The whole data directory and cache copied, onto a second software TPM: another key, refused.
    with software_tpm(tmp_path / "tpm-b") as other:
        monkeypatch.setenv("AZAION_TPM_TCTI", other)
        with pytest.raises(azaion.DeviceError) as refused:
            connect(operator, device="tpm-device", cache="tpm")
        assert refused.value.code == "DEVICE_LIMIT"
