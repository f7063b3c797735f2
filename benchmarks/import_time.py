"""Start-up cost: ``import azaion`` beside ``python -c pass``, measured in the same run.

    python benchmarks/import_time.py [--runs N] [--top N] [--python PY]

Each figure is the median wall time of N fresh interpreters (runs of the two commands
interleaved, after a warm-up, so both see the same machine). ``-X importtime`` then breaks the
import down by module, and the heavy dependencies that ``import azaion`` must not pull in
(boto3, botocore, yaml, jwt, requests) are listed if they were. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAZY = ("boto3", "botocore", "yaml", "jwt", "requests")  # must wait until needed
WATCHED = LAZY + ("cryptography", "urllib3")  # reported when imported
IMPORT = "import azaion"
PROBE = (
    f"import sys; {IMPORT}; "
    f"print(','.join(m for m in {WATCHED!r} if m in sys.modules)); print(azaion.api_client.__file__)"
)


def environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def wall_time(python: str, code: str, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([python, "-c", code], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def importtime(python: str, env: dict) -> list[tuple[int, int, str]]:
    """(self µs, cumulative µs, module) for every module ``import azaion`` imported."""
    out = subprocess.run(
        [python, "-X", "importtime", "-c", IMPORT],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    rows = []
    for line in out.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own, cumulative, name = line[len("import time:") :].split("|")
        rows.append((int(own), int(cumulative), name.rstrip()))
    return rows


def measure(runs: int = 20, top: int = 8, python: str | None = None) -> dict:
    python = python or sys.executable
    env = environment()
    for _ in range(2):  # warm the page cache and the bytecode caches
        wall_time(python, "pass", env)
        wall_time(python, IMPORT, env)
    bare, loaded = [], []
    for _ in range(runs):
        bare.append(wall_time(python, "pass", env))
        loaded.append(wall_time(python, IMPORT, env))
    probe = subprocess.run(
        [python, "-c", PROBE], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    rows = importtime(python, env)
    root = next((r for r in rows if r[2].strip() == "azaion"), (0, 0, "azaion"))
    pass_ms, import_ms = statistics.median(bare) * 1e3, statistics.median(loaded) * 1e3
    return {
        "python": sys.version.split()[0] if python == sys.executable else python,
        "runs": runs,
        "pass_ms": round(pass_ms, 2),
        "import_ms": round(import_ms, 2),
        "difference_ms": round(import_ms - pass_ms, 2),
        "ratio": round(import_ms / pass_ms, 2),
        "pass_stdev_ms": round(statistics.pstdev(bare) * 1e3, 2),
        "import_stdev_ms": round(statistics.pstdev(loaded) * 1e3, 2),
        "importtime_azaion_ms": round(root[1] / 1e3, 2),
        "modules_imported": len(rows),
        "heavy_modules_imported": [m for m in probe[0].split(",") if m in LAZY],
        "other_dependencies_imported": [m for m in probe[0].split(",") if m and m not in LAZY],
        "compiled": probe[1].endswith((".so", ".pyd")),
        "slowest": [
            {"module": name.strip(), "cumulative_ms": round(cum / 1e3, 2), "self_ms": round(own / 1e3, 2)}
            for own, cum, name in sorted(rows, key=lambda r: -r[1])[:top]
        ],
    }


def report(figures: dict) -> None:
    print(
        f"import time of azaion, Python {figures['python']}, median of {figures['runs']} fresh interpreters"
        f"{'' if figures['compiled'] else ' (NOT COMPILED: run make compile)'}"
    )
    print(f"  python -c pass        {figures['pass_ms']:8.1f} ms  (stdev {figures['pass_stdev_ms']:.1f})")
    imported, stdev = figures["import_ms"], figures["import_stdev_ms"]
    print(f"  python -c 'import azaion' {imported:4.1f} ms  (stdev {stdev:.1f})")
    print(f"  difference            {figures['difference_ms']:8.1f} ms  ratio {figures['ratio']:.2f}x")
    print(
        f"  -X importtime: azaion {figures['importtime_azaion_ms']:.1f} ms cumulative, "
        f"{figures['modules_imported']} modules imported"
    )
    heavy = figures["heavy_modules_imported"]
    print(f"  {', '.join(LAZY)} imported: {', '.join(heavy) if heavy else 'none (lazy, as intended)'}")
    other = figures["other_dependencies_imported"]
    print(f"  dependencies imported at once: {', '.join(other) if other else 'none'}")
    print("  slowest imports (cumulative / self, ms):")
    for row in figures["slowest"]:
        print(f"    {row['cumulative_ms']:7.2f} {row['self_ms']:7.2f}  {row['module']}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="fresh interpreters per command (default 20)")
    parser.add_argument("--top", type=int, default=8, help="slowest imports to list (default 8)")
    parser.add_argument("--python", help="interpreter to measure (default: this one)")
    args = parser.parse_args(argv)
    figures = measure(args.runs, args.top, args.python)
    report(figures)
    return figures


if __name__ == "__main__":
    main()
