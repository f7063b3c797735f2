"""The hardware fingerprint: stable, root-free, with clear fallbacks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import azaion

ROOT = Path(__file__).resolve().parents[2]


def hash_in_subprocess(env: dict) -> str:
    code = "import azaion; print(azaion.HardwareService().hardware_hash)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_collected_fingerprint_is_stable_across_processes(monkeypatch, tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AZAION_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    first, second = hash_in_subprocess(env), hash_in_subprocess(env)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert first == second


def test_override_replaces_the_collected_fingerprint(monkeypatch):
    import hashlib

    monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", "drone-17")
    service = azaion.HardwareService()
    assert service.hardware_hash == hashlib.sha256(b"drone-17").hexdigest()
    assert service.missing == ()


def test_missing_sources_are_named_not_fatal(monkeypatch):
    monkeypatch.delenv("AZAION_HARDWARE_FINGERPRINT")
    service = azaion.HardwareService()
    assert isinstance(service.missing, tuple)
    assert set(service.missing) <= {"cpu", "gpu", "memory", "disk", "machine"}
    assert "missing=" in repr(service)
    assert not hasattr(service, "fingerprint")
