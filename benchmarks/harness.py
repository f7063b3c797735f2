"""What every benchmark shares: the running server, its accounts, timing and the result rows.

The server is the real one (`build_tools/live_server.py`: `azaion_server --dev`, SQLite and moto's
S3 emulator in the server's process); the client is the compiled package, used through its
public API. Reference figures come from `benchmarks/plain.py`, measured in the same run.
"""

from __future__ import annotations

import gc
import os
import secrets
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MiB = 1 << 20
FOLDER = "bench"
FINGERPRINT = "CPU: benchmark. GPU: none. Memory: 24GiB. DriveSerial: bench. MachineId: bench-machine"
# moto accepts any key pair; these are the ones `azaion-server --dev` publishes in cdn.yaml.
S3_KEY, S3_SECRET = "dev-uploader", "dev-uploader-secret"


@dataclass
class Row:
    """One line of the table: the client's figure, the reference's, and how they compare."""

    row: str
    what: str
    size: str
    value: float
    unit: str
    reference: str
    ref_value: Optional[float]
    ratio: Optional[float]
    target: str
    ok: Optional[bool]
    runs: int = 0
    samples: dict = field(default_factory=dict)

    def cells(self) -> list[str]:
        def num(x: Optional[float]) -> str:
            if x is None:
                return "-"
            if self.unit == "s":
                return f"{x:.3f} s"
            if self.unit == "ms":
                return f"{x:.1f} ms"
            if self.unit == "rps":
                return f"{x:.0f} rps"
            if self.unit == "x":
                return f"{x:.2f}x"
            return f"{x:.3g} {self.unit}"

        ok = "-" if self.ok is None else ("yes" if self.ok else "NO")
        ratio = "-" if self.ratio is None else f"{self.ratio:.2f}"
        return [
            self.row,
            self.what,
            self.size,
            num(self.value),
            self.reference,
            num(self.ref_value),
            ratio,
            self.target,
            ok,
        ]


HEADINGS = ["row", "measured", "size", "client", "reference", "ref.", "ratio", "target", "met"]


def render(rows: list[Row]) -> str:
    table = [HEADINGS] + [r.cells() for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADINGS))]
    out = []
    for n, line in enumerate(table):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def timed(fn: Callable[[], object]) -> float:
    """Wall time of one call, with the garbage of earlier runs collected first."""
    gc.collect()
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    del result
    return elapsed


def median(values: list[float]) -> float:
    return statistics.median(values)


def size_label(nbytes: int) -> str:
    return f"{nbytes // MiB} MiB" if nbytes >= MiB else f"{nbytes // 1024} KiB"


def log(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


class Env:
    """A running server with an uploader and a licensed operator, and a client for each."""

    def __init__(self, work: Path) -> None:
        import azaion
        from build_tools.live_server import LiveServer

        self.work = work
        os.environ["AZAION_HARDWARE_FINGERPRINT"] = FINGERPRINT
        started = time.perf_counter()
        # WARNING: no access log line per request (the minimal endpoint of row 5 runs the same way).
        self.server = LiveServer({"AZAION_LOG_LEVEL": "WARNING"}, dev=True, log_dir=work)
        log(f"server up at {self.server.url} in {time.perf_counter() - started:.1f} s")
        self.url = self.server.url
        self.uploader_email, self.uploader_password = "uploader@bench.local", secrets.token_urlsafe(12)
        self.operator_email, self.operator_password = "operator@bench.local", secrets.token_urlsafe(12)
        self.server.create_user(self.uploader_email, self.uploader_password, "ResourceUploader")
        operator_id = self.server.create_user(self.operator_email, self.operator_password, "Operator")
        self.server.set_license(operator_id, [FOLDER], days=30)
        self.uploader = azaion.ApiClient(self.url, cache_dir=str(work / "uploader-cache"))
        self.uploader.set_credentials_from_dict(self.uploader_email, self.uploader_password)
        self.operator = azaion.ApiClient(self.url, cache_dir=str(work / "operator-cache"))
        self.operator.set_credentials_from_dict(self.operator_email, self.operator_password)
        creds = self.operator.cdn_manager.creds
        self.s3_host, self.bucket, self.region = creds.host, creds.bucket, creds.region
        self._s3 = None
        self._token: Optional[str] = None

    def close(self) -> None:
        for c in (self.uploader, self.operator):
            c.close()
        self.server.stop()

    def s3(self):
        """A plain boto3 client of the emulator, configured as boto3 is by default."""
        if self._s3 is None:
            import boto3

            self._s3 = boto3.session.Session().client(
                "s3",
                endpoint_url=self.s3_host,
                region_name=self.region,
                aws_access_key_id=S3_KEY,
                aws_secret_access_key=S3_SECRET,
            )
        return self._s3

    def operator_cache(self, name: str) -> Path:
        return self.work / "operator-cache" / FOLDER / f"{name}.big"

    def token(self) -> str:
        if self._token is None:
            self._token = self.server.login(self.operator_email, self.operator_password)
        return self._token

    def get_body(self, name: str) -> dict:
        import hashlib

        return {
            "fileName": name,
            "password": self.operator_password,
            "hardware": hashlib.sha256(FINGERPRINT.encode()).hexdigest(),
        }

    def envelope(self, name: str) -> bytes:
        """The raw answer of POST /resources/get for the operator (the small part, sealed)."""
        import requests

        response = requests.post(
            f"{self.url}/resources/get/{FOLDER}",
            json=self.get_body(name),
            timeout=30,
            headers={"Authorization": f"Bearer {self.token()}"},
        )
        response.raise_for_status()
        return response.content

    def small_part(self, name: str) -> bytes:
        """The small part, opened with the independent reference implementation of the envelope."""
        import hashlib

        from tests.reference import envelope

        keys = envelope.user_keys(
            self.operator_email, self.operator_password, hashlib.sha256(FINGERPRINT.encode()).hexdigest()
        )
        return envelope.open_(keys, self.envelope(name))

    def big_key(self, name: str) -> str:
        listing = self.s3().list_objects_v2(Bucket=self.bucket, Prefix=f"{FOLDER}/{name}.")
        keys = [o["Key"] for o in listing.get("Contents", []) if o["Key"].endswith(".big")]
        if len(keys) != 1:
            raise RuntimeError(f"expected one big part of {name}, found {keys}")
        return keys[0]


def resource_bytes(size: int) -> bytes:
    """A model-like payload: random, so that nothing on the way can compress it."""
    return os.urandom(size)
