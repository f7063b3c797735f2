"""What a device does, run by the device's own interpreter (under QEMU in make test-aarch64).

    AZAION_DEVICE_PASSWORD=... python device_load.py URL EMAIL NAME FOLDER

Logs in, loads ``FOLDER/NAME`` cold (the big part from the CDN) and warm (from the cache), and
runs it with ONNX Runtime through ``azaion.onnx.load_session``. Prints one JSON line: the
platform, the timings, the SHA-256 of each load and the model's output for demo_model's sample
input; the caller compares them with the original's. Needs the installed wheel,
``onnxruntime`` and ``numpy``, nothing of the build side. The password comes from the
environment, so it is in no process list.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
import time


def main(argv: list[str]) -> int:
    url, email, name, folder = argv
    password = os.environ.pop("AZAION_DEVICE_PASSWORD")
    import demo_model

    import azaion
    from azaion.onnx import load_session

    result = {"machine": platform.machine(), "python": platform.python_version()}
    result["extension"] = os.path.basename(azaion._protected.__file__)
    scratch = tempfile.TemporaryDirectory(prefix="azaion-device-")
    with scratch as cache, azaion.ApiClient(url, cache_dir=cache) as client:
        started = time.perf_counter()
        client.set_credentials_from_dict(email, password)
        result["login_s"] = round(time.perf_counter() - started, 3)
        for load in ("cold", "warm"):
            started = time.perf_counter()
            model = client.load_big_small_resource(name, folder)
            result[f"{load}_s"] = round(time.perf_counter() - started, 3)
            result[f"{load}_sha256"] = hashlib.sha256(model).hexdigest()
            result["bytes"] = len(model)
            del model
        started = time.perf_counter()
        session = load_session(client, name, folder)
        result["output"] = demo_model.run(session)
        result["inference_s"] = round(time.perf_counter() - started, 3)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
