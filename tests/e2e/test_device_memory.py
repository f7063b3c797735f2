"""The device's private keys are out of `gc`'s reach in a loader that went through enrolment.

The attack of tests/adversarial/binary/test_reachable.py on the device path: from the ApiClient
of an enrolled device, after a load, `gc.get_referents` walked transitively reaches no
`cryptography` object (which would hand out its key through `private_bytes`).
"""

from __future__ import annotations

import os

from tests.adversarial.binary.test_reachable import reachable
from tests.e2e.conftest import FOLDER


def test_no_private_key_object_is_reachable_from_an_enrolled_client(make_account, connect):
    uploader, operator = make_account("ResourceUploader"), make_account("Operator")
    data = os.urandom(70_000)
    connect(uploader, cache="uploader").upload_big_small_resource(data, "keys.bin", FOLDER)
    client = connect(operator, device="a device with keys", cache="operator")
    assert client.load_big_small_resource("keys.bin", FOLDER) == data
    seen = reachable([client])
    # Untracked by gc (no tp_traverse), so found through the client, not gc.get_objects().
    assert [o for o in seen if type(o).__name__ == "DeviceKeys"], (
        "no device key store: the walk proved nothing"
    )
    found = [
        f"{type(o).__module__}.{type(o).__qualname__}"
        for o in seen
        if type(o).__module__.startswith("cryptography")
    ]
    assert found == []
