"""Nothing reachable from a client, or from a loader in the middle of a load, is a key or a password.

The attack: ``gc.get_referents`` from an ``ApiClient`` (and, mid-load, from every decryptor the
collector knows) walked transitively. Before, a decryptor's referents held the cryptography AES
object with the segment key, and ``Credentials`` held the password as a str. Now keys are C
arrays, ciphers are made per segment over a memoryview that is released before the call returns,
and the password is kept masked in C memory. Runs on the installed package (make compile's
in-place build, which `pip install -e .` imports) against the scripted API and the S3 emulator.
"""

from __future__ import annotations

import base64
import gc
import os
import types

import azaion
from tests.adversarial.conftest import FOLDER, SEGMENT, SHARED_KEY
from tests.client.conftest import EMAIL, FINGERPRINT, PASSWORD
from tests.reference import envelope as envelope_reference
from tests.reference import resource as reference

# Walk data, not code: modules, classes and functions lead to the whole interpreter.
OPAQUE = (
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.CodeType,
    types.FrameType,
)


def reachable(roots, limit: int = 300_000) -> list:
    seen, out, todo = set(), [], list(roots)
    while todo and len(out) < limit:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        out.append(obj)
        if isinstance(obj, OPAQUE):
            continue
        todo.extend(gc.get_referents(obj))
    return out


def secrets_among(objects, secrets: dict[str, bytes]) -> list[str]:
    found = []
    for obj in objects:
        kind = type(obj)
        if kind.__module__.startswith("cryptography"):
            found.append(f"a cryptography object {kind.__module__}.{kind.__qualname__}")
            continue
        if isinstance(obj, str):
            data = obj.encode("utf-8", "surrogatepass")
        elif isinstance(obj, (bytes, bytearray)):
            data = bytes(obj)
        elif isinstance(obj, memoryview):
            try:
                data = obj.tobytes()
            except ValueError:  # released
                continue
        else:
            continue
        for label, secret in secrets.items():
            if secret in data or secret.hex().encode() in data:
                found.append(f"{label} in a {kind.__name__}")
    return found


def known_secrets(resource_key: bytes, salt: bytes, name: str) -> dict[str, bytes]:
    hardware = envelope_reference.hardware_hash(FINGERPRINT)
    enc_key, mac_key = envelope_reference.user_keys(EMAIL, PASSWORD, hardware)
    segment_key, commit_key = reference.keys(resource_key, salt, FOLDER, name)
    return {
        "the password": PASSWORD.encode(),
        "the envelope's encryption key": enc_key,
        "the envelope's MAC key": mac_key,
        "the wrapping key": SHARED_KEY,
        "the resource key": resource_key,
        "the segment key": segment_key,
        "the commitment key": commit_key,
    }


def test_nothing_reachable_from_a_client_mid_load_is_a_secret(client, serve):
    resource_key, salt = os.urandom(32), os.urandom(32)
    data = os.urandom(6 * SEGMENT + 100)
    ciphertext = reference.encrypt(
        data,
        shared_key=SHARED_KEY,
        folder=FOLDER,
        name="gc.bin",
        resource_key=resource_key,
        salt=salt,
        nonce_prefix=os.urandom(7),
        segment_size=SEGMENT,
    )
    serve(ciphertext, "gc.bin", cache=False)
    secrets = known_secrets(resource_key, salt, "gc.bin")
    findings, decryptors = [], []

    def progress(done, total):
        if decryptors or done >= total:  # once, in the middle of the load
            return
        live = [o for o in gc.get_objects() if type(o).__name__ == "ResourceDecryptor"]
        decryptors.extend(live)
        findings.extend(secrets_among(reachable([client, *live, *vars_of(client)]), secrets))

    assert client.load_big_small_resource("gc.bin", FOLDER, progress=progress) == data
    assert decryptors, "no decryptor was alive during the load: the walk proved nothing"
    assert findings == []
    assert secrets_among(reachable([client, *vars_of(client)]), secrets) == []


def vars_of(client) -> list:
    return [
        getattr(client, n) for n in ("credentials", "user", "token", "cdn_manager", "api_url", "cache_dir")
    ]


def test_nothing_reachable_after_an_upload_is_a_secret(client, api):
    client.upload_big_small_resource(os.urandom(3 * SEGMENT), "up.bin", FOLDER)
    small = api.resources[(FOLDER, "up.bin")]
    resource_key = reference.aes_key_unwrap(SHARED_KEY, small[49:89])
    secrets = known_secrets(resource_key, small[10:42], "up.bin")
    assert secrets_among(reachable([client, *vars_of(client)]), secrets) == []


def test_credentials_hold_no_password_object():
    creds = azaion.Credentials(EMAIL, PASSWORD)
    assert secrets_among(reachable([creds]), {"the password": PASSWORD.encode()}) == []
    key = os.urandom(32)
    machine = azaion.MachineCredentials("drone-07", base64.b64encode(key).decode())
    assert secrets_among(reachable([machine]), {"the machine key": key}) == []
    assert gc.get_referents(creds) in ([], [EMAIL.lower()], [EMAIL])
