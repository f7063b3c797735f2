"""An example loader, type-checked with mypy --strict against the stubs (tests/packaging/test_stubs.py).

It is what a device's program does: log in, load a model into memory, run it. Not run by the
tests (the e2e and aarch64 tests run the same calls for real); only its types are checked.
"""

from __future__ import annotations

import hashlib
import os

import azaion
from azaion.errors import AzaionError, IntegrityError, LicenseError
from azaion.onnx import load_session


def load_model(url: str, email: str, password: str, name: str, folder: str) -> tuple[bytes, str]:
    """The model's plaintext and its SHA-256."""
    with azaion.ApiClient(url, cache_dir=os.environ.get("AZAION_CACHE_DIR")) as client:
        client.set_credentials_from_dict(email, password)
        user = client.user
        if user is not None and user.role < azaion.RoleEnum.Operator:
            raise SystemExit(f"{user.email} may not load models")

        def progress(done: int, total: int) -> None:
            print(f"{done}/{total}")

        model: bytes = client.load_big_small_resource(name, folder, progress)
        return model, hashlib.sha256(model).hexdigest()


def run(url: str, email: str, password: str) -> int:
    info = azaion.build_info()
    key_kind: str = info["wrapping_key"]
    try:
        model, digest = load_model(url, email, password, "detector.onnx", "models")
    except IntegrityError as e:
        print(f"tampered: {e.code}")
        return 2
    except LicenseError as e:
        print(e.message)
        return 3
    except AzaionError as e:
        print(f"{e.code}: {e}")
        return 1
    print(key_kind, digest, len(model))
    with azaion.ApiClient(url) as client:
        client.set_credentials_from_dict(email, password)
        session = load_session(client, "detector.onnx", "models")
        print([i.name for i in session.get_inputs()])
        for event in client.events(reconnect=False):
            print(event["type"])
    return 0
