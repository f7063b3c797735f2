"""Row 4: peak resident memory of a load (and of an upload), each in a fresh interpreter.

The child logs in and does one small load (or upload) first, so that every library the transfer
needs is imported and every client is built; it then reads VmRSS (the baseline), resets the
kernel's high-water mark (`/proc/self/clear_refs` = 5), runs the measured call and reads VmHWM.
The figure is (peak - baseline) / resource size: 1.0 is the returned bytes alone.

    python -m benchmarks.memory MODE URL EMAIL PASSWORD NAME WARMUP CACHE_DIR SIZE   (the child)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks.harness import FOLDER, ROOT, Env, MiB, Row, log, size_label
from benchmarks.transfers import publish

WARMUP = "memory-warmup.bin"


def status(field: str) -> int:
    """A field of /proc/self/status in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(argv: list[str]) -> None:
    import gc

    import azaion

    mode, url, email, password, name, warmup, cache_dir, size = argv
    size = int(size)
    with azaion.ApiClient(url, cache_dir=cache_dir) as client:
        client.set_credentials_from_dict(email, password)
        if mode == "upload":
            client.upload_big_small_resource(os.urandom(64 * 1024), warmup, FOLDER)
            data = os.urandom(size)
        else:
            client.load_big_small_resource(warmup, FOLDER)
        gc.collect()
        baseline = status("VmRSS")
        exact = reset_peak()
        if mode == "upload":
            client.upload_big_small_resource(data, name, FOLDER)
        else:
            data = client.load_big_small_resource(name, FOLDER)
            assert len(data) == size
        peak = status("VmHWM")
    print(json.dumps({"baseline": baseline, "peak": peak, "exact": exact}))


def measure(env: Env, mode: str, name: str, cache_dir: str, size: int, email: str, password: str) -> dict:
    command = [
        sys.executable,
        "-m",
        "benchmarks.memory",
        mode,
        env.url,
        email,
        password,
        name,
        WARMUP,
        cache_dir,
        str(size),
    ]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    if done.returncode:
        raise RuntimeError(f"memory child ({mode}) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory_rows(env: Env, size: int) -> list[Row]:
    label = size_label(size)
    name = f"memory-{size // MiB}mib.bin"
    publish(env, WARMUP, 256 * 1024)
    publish(env, name, size)
    cache_dir = str(env.work / f"memory-cache-{size}")
    rows = []
    log(f"peak memory {label}: cold, warm and upload, each in a fresh interpreter")
    for mode in ("cold", "warm"):
        # The first child starts with an empty cache (cold) and leaves it filled for the second.
        m = measure(env, mode, name, cache_dir, size, env.operator_email, env.operator_password)
        extra = (m["peak"] - m["baseline"]) / size
        rows.append(
            Row(
                "4",
                f"peak RSS, {mode} load",
                label,
                extra,
                "x",
                "resource size above baseline",
                None,
                extra,
                "<= 1.15",
                extra <= 1.15,
                1,
                {"baseline_mib": m["baseline"] / MiB, "peak_mib": m["peak"] / MiB, "exact": m["exact"]},
            )
        )
    m = measure(
        env,
        "upload",
        f"memory-upload-{size // MiB}mib.bin",
        str(env.work / "memory-upload-cache"),
        size,
        env.uploader_email,
        env.uploader_password,
    )
    extra = (m["peak"] - m["baseline"]) / size
    # The design bound: the parts in flight (AZAION_CONCURRENCY, default 4), the one being
    # sealed and one more for what the allocator keeps, 8 MiB each; the input is in the baseline.
    bound = (4 + 2) * 8 * MiB
    rows.append(
        Row(
            "4",
            "peak RSS, upload (extra)",
            label,
            (m["peak"] - m["baseline"]) / MiB,
            "MiB",
            "above baseline holding the input",
            None,
            extra,
            "<= 48 MiB",
            m["peak"] - m["baseline"] <= bound,
            1,
            {"baseline_mib": m["baseline"] / MiB, "peak_mib": m["peak"] / MiB, "exact": m["exact"]},
        )
    )
    return rows


if __name__ == "__main__":
    child(sys.argv[1:])
