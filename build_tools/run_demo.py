"""`make run`: the main job on embedded defaults, start to finish.

Starts the Resource API (`azaion-server --dev`: SQLite and an S3 emulator on loopback), creates
an uploader and an operator, publishes a real ONNX model (a small network built at run time by
build_tools/demo_model.py, about N MiB of weights) through the compiled client, loads it back as
the operator (cold, from the CDN, then warm, from the cache), checks its SHA-256, runs it with
ONNX Runtime through azaion.onnx.load_session and checks the outputs against the original
file's, and prints the throughput of each step. Stops everything it started, on success,
failure or Ctrl-C.

    python build_tools/run_demo.py [--size-mb N]      (or AZAION_DEMO_SIZE_MB)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from build_tools import demo_model  # noqa: E402
from build_tools.live_server import LiveServer, ServerFailed  # noqa: E402

FOLDER = "models"
NAME = "detector-demo.onnx"


def step(label: str, nbytes: int, started: float) -> float:
    elapsed = time.perf_counter() - started
    rate = nbytes / elapsed / 2**20 if elapsed > 0 else float("inf")
    print(f"  {label:<38} {nbytes / 2**20:8.1f} MiB  {elapsed:7.3f} s  {rate:8.1f} MiB/s")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size-mb",
        type=int,
        default=int(os.environ.get("AZAION_DEMO_SIZE_MB", "32")),
        help="weights of the generated ONNX model in MiB (default 32)",
    )
    args = parser.parse_args(argv)
    if args.size_mb < 1:
        parser.error("--size-mb must be >= 1")

    import azaion

    work = Path(tempfile.mkdtemp(prefix="azaion-run-"))
    print(
        f"azaion {azaion.__version__}: publish, load and run an ONNX model with {args.size_mb} MiB of "
        "weights through the compiled client"
    )
    print(f"  client extension: {Path(azaion.api_client.__file__).name}")
    server = None
    try:
        started = time.perf_counter()
        server = LiveServer({"AZAION_ADMIN_EMAIL": "admin@azaion.local"}, dev=True, log_dir=work)
        print(f"  server up at {server.url} (SQLite + S3 emulator) in {time.perf_counter() - started:.1f} s")

        uploader_password, operator_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        server.create_user("uploader@azaion.local", uploader_password, "ResourceUploader")
        operator_id = server.create_user("operator@azaion.local", operator_password, "Operator")
        server.set_license(operator_id, [FOLDER], days=30)
        print(
            "  created uploader@azaion.local (ResourceUploader) "
            "and operator@azaion.local (Operator, licensed)"
        )

        # A publisher key for the folder: its public half registered (and given to the loader as
        # its trusted publishers file), its private half only on the uploader's side.
        from cryptography.hazmat.primitives.asymmetric import ed25519

        from azaion import releases

        publisher_key = ed25519.Ed25519PrivateKey.generate()
        server.admin(
            "POST",
            "/publishers",
            json={
                "name": "demo publisher",
                "public_key": releases.public_key_pem(publisher_key),
                "folders": [FOLDER],
            },
        )
        server.admin("PUT", f"/publishers/folders/{FOLDER}", json={"signatures_required": True})
        trust_file = work / "trusted-publishers.json"
        trust_file.write_text(server.admin("GET", "/publishers/trust").text)
        print(f"  registered 'demo publisher' (Ed25519) for {FOLDER}/, which now requires signed releases")

        started = time.perf_counter()
        model = demo_model.make_model(args.size_mb)
        size = len(model)
        digest = hashlib.sha256(model).hexdigest()
        step("build the ONNX model (onnx.helper)", size, started)
        import onnxruntime

        from azaion.onnx import load_session

        expected = demo_model.run(onnxruntime.InferenceSession(model))

        os.environ["AZAION_CACHE_DIR"] = str(work / "uploader-cache")
        # Each machine has its own device key store (docs/formats.md, section 4).
        os.environ["AZAION_DATA_DIR"] = str(work / "uploader-device")
        with azaion.ApiClient(server.url) as uploader:
            uploader.set_credentials_from_dict("uploader@azaion.local", uploader_password)
            started = time.perf_counter()
            uploader.upload_big_small_resource(model, NAME, FOLDER, signing_key=publisher_key)
            step("encrypt, split, sign and publish", size, started)
        del model

        os.environ["AZAION_CACHE_DIR"] = str(work / "operator-cache")
        os.environ["AZAION_DATA_DIR"] = str(work / "operator-device")
        with azaion.ApiClient(server.url, trusted_publishers=trust_file) as operator:
            started = time.perf_counter()
            # Logs in with a DPoP proof, enrols this device's keys (POST /devices) and opens
            # cdn.yaml sealed to them.
            operator.set_credentials_from_dict("operator@azaion.local", operator_password)
            device = operator.enrol_device()
            print(
                f"  operator logged in as {operator.user.role.name} and enrolled device {device['id']} "
                f"({device['state']}, key {device['jkt'][:12]}..., {device['store']} key store) "
                f"in {time.perf_counter() - started:.3f} s"
            )
            started = time.perf_counter()
            cold = operator.load_big_small_resource(NAME, FOLDER)
            step("cold load (big part from the CDN)", len(cold), started)
            print(f"  verified: {operator.last_release.describe()}")
            cold_ok = hashlib.sha256(cold).hexdigest() == digest
            del cold
            started = time.perf_counter()
            warm = operator.load_big_small_resource(NAME, FOLDER)
            step("warm load (big part from the cache)", len(warm), started)
            warm_ok = hashlib.sha256(warm).hexdigest() == digest
            del warm
            started = time.perf_counter()
            session = load_session(operator, NAME, FOLDER)
            outputs = demo_model.run(session)
            print(f"  load_session and inference (ONNX Runtime)   {time.perf_counter() - started:7.3f} s")
            inference_ok = outputs == expected

        print(f"  sha256 {digest}")
        if not (cold_ok and warm_ok):
            print("  digest check: FAILED — the loaded bytes differ from the original", file=sys.stderr)
            return 1
        print("  digest check: OK — the loaded bytes equal the original, cold and warm")
        top = max(range(len(outputs)), key=outputs.__getitem__)
        if not inference_ok:
            print("  inference check: FAILED — the outputs differ from the original's", file=sys.stderr)
            return 1
        print(
            f"  inference check: OK — {len(outputs)} outputs equal the original file's "
            f"(class {top}, p={outputs[top]:.4f})"
        )
        return 0
    except ServerFailed as e:
        print(f"make run: the server did not start: {e}", file=sys.stderr)
        return 1
    except azaion.AzaionError as e:
        print(f"make run: {e} [{e.code}]", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("make run: interrupted; stopping", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        print("  stopped the server and the S3 emulator; removed the temporary files")


if __name__ == "__main__":
    sys.exit(main())
