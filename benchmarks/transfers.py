"""Rows 1-3: warm load, cold load and upload through the compiled client's public API, each run
paired with its references in the same loop (so both see the same machine at the same moment)."""

from __future__ import annotations

import hashlib

from benchmarks import plain
from benchmarks.harness import FOLDER, Env, MiB, Row, log, median, resource_bytes, size_label, timed


def publish(env: Env, name: str, size: int) -> str:
    """Upload a fresh resource of `size` bytes as the uploader; its SHA-256."""
    data = resource_bytes(size)
    digest = hashlib.sha256(data).hexdigest()
    env.uploader.upload_big_small_resource(data, name, FOLDER)
    return digest


def load_rows(env: Env, size: int, runs: int) -> list[Row]:
    """Row 1 (warm: big part cached) and row 2 (cold: big part from the S3 emulator)."""
    name = f"load-{size // MiB}mib.bin"
    digest = publish(env, name, size)
    path = env.operator_cache(name)
    path.unlink(missing_ok=True)
    loaded = env.operator.load_big_small_resource(name, FOLDER)
    if hashlib.sha256(loaded).hexdigest() != digest:
        raise RuntimeError(f"{name}: the loaded bytes differ from the uploaded ones")
    del loaded
    small = env.small_part(name)
    key = plain.SegmentKey(small, name)
    label = size_label(size)
    s3, bucket, big_key = env.s3(), env.bucket, env.big_key(name)

    log(f"warm load {label}: {runs} runs")
    warm, floor, naive = [], [], []
    # One unmeasured round first: the first large allocations after the cold load are the ones
    # most likely to meet memory the VM's host has reclaimed (docs/performance.md).
    timed(lambda: env.operator.load_big_small_resource(name, FOLDER))
    timed(lambda: plain.floor_load(path, small, key))
    for _ in range(runs):
        warm.append(timed(lambda: env.operator.load_big_small_resource(name, FOLDER)))
        floor.append(timed(lambda: plain.floor_load(path, small, key)))
        naive.append(timed(lambda: plain.naive_load(path, small, name)))
    w, f, n = median(warm), median(floor), median(naive)
    rows = [
        Row(
            "1",
            "warm load",
            label,
            w,
            "s",
            "floor: read + decrypt in place",
            f,
            w / f,
            "<= 1.3",
            w / f <= 1.3,
            runs,
            {"client": warm, "floor": floor},
        ),
        Row(
            "1",
            "warm load",
            label,
            w,
            "s",
            "naive: concat + decrypt",
            n,
            n / w,
            ">= 3 (faster)",
            n / w >= 3,
            runs,
            {"naive": naive},
        ),
    ]

    log(f"cold load {label}: {runs} runs")
    cold, get_object, downloads = [], [], []
    dl_path = env.work / "download_fileobj.tmp"
    for i in range(runs):
        path.unlink(missing_ok=True)
        cold.append(timed(lambda: env.operator.load_big_small_resource(name, FOLDER)))
        get_object.append(timed(lambda: plain.plain_get_object(s3, bucket, big_key)))
        # moto serves ranged GETs of large objects very slowly (../shared/NOTES.md), and each
        # range costs it a copy of the whole object: once is enough to know that download_fileobj
        # is not the faster plain download there, and above 512 MiB it would take many minutes.
        if size <= 64 * MiB or (i == 0 and size <= 512 * MiB):
            downloads.append(timed(lambda: plain.plain_download_fileobj(s3, bucket, big_key, dl_path)))
            dl_path.unlink(missing_ok=True)
    c = median(cold)
    fileobj = median(downloads) if downloads else float("inf")
    best_plain = min(median(get_object), fileobj)
    which = "get_object" if median(get_object) <= fileobj else "download_fileobj"
    reference = best_plain + f
    rows.append(
        Row(
            "2",
            "cold load",
            label,
            c,
            "s",
            f"{which} + floor",
            reference,
            c / reference,
            "<= 1.2",
            c / reference <= 1.2,
            runs,
            {"client": cold, "get_object": get_object, "download_fileobj": downloads},
        )
    )
    return rows


def upload_rows(env: Env, size: int, runs: int) -> list[Row]:
    """Row 3: upload against a plain encrypt plus a plain boto3 upload of the same bytes."""
    name = f"upload-{size // MiB}mib.bin"
    label = size_label(size)
    data = resource_bytes(size)
    s3, bucket = env.s3(), env.bucket
    if size >= 512 * MiB:
        runs = min(runs, 3)  # each run moves the resource several times through the emulator
    log(f"upload {label}: {runs} runs")
    ours, encrypt, upload = [], [], []
    box: list = []
    for _ in range(runs):
        ours.append(timed(lambda: env.uploader.upload_big_small_resource(data, name, FOLDER)))
        box.clear()
        encrypt.append(timed(lambda: box.append(plain.plain_encrypt(data, name))))
        upload.append(timed(lambda: plain.plain_upload(s3, bucket, f"plain/{name}", box[0])))
        box.clear()
        s3.delete_object(Bucket=bucket, Key=f"plain/{name}")
    u = median(ours)
    reference = median([a + b for a, b in zip(encrypt, upload)])
    return [
        Row(
            "3",
            "upload",
            label,
            u,
            "s",
            "plain encrypt + boto3 upload",
            reference,
            u / reference,
            "<= 1.3",
            u / reference <= 1.3,
            runs,
            {"client": ours, "encrypt": encrypt, "upload": upload},
        )
    ]
