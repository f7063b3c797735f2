"""Row 6: `import azaion` against `python -c pass`, in fresh interpreters.

benchmarks/import_time.py (the packaging side's measurement, with its breakdown by module) is
used when it is there; otherwise the same figure is measured here.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import time

from benchmarks.harness import ROOT, Row, log


def own_measure(runs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(ROOT)

    def wall(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started

    for _ in range(2):
        wall("pass")
        wall("import azaion")
    bare, loaded = [], []
    for _ in range(runs):
        bare.append(wall("pass"))
        loaded.append(wall("import azaion"))
    pass_ms, import_ms = statistics.median(bare) * 1e3, statistics.median(loaded) * 1e3
    return {"pass_ms": pass_ms, "import_ms": import_ms, "difference_ms": import_ms - pass_ms, "runs": runs}


def import_rows(runs: int) -> list[Row]:
    log(f"import time: {runs} fresh interpreters each")
    try:
        from benchmarks import import_time
    except ImportError:
        figures = own_measure(runs)
    else:
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            figures = import_time.main(["--runs", str(runs)])
    difference = figures["difference_ms"]
    return [
        Row(
            "6",
            "import azaion",
            "-",
            figures["import_ms"],
            "ms",
            "python -c pass",
            figures["pass_ms"],
            figures["import_ms"] / figures["pass_ms"],
            "<= pass + 50 ms",
            difference <= 50,
            runs,
            figures,
        )
    ]
