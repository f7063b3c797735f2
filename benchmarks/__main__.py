"""`make bench`: every row of docs/performance.md, each beside its reference, in one table.

python -m benchmarks                       64 and 512 MiB, every row (~5 min here)
python -m benchmarks --large               adds 2048 MiB
python -m benchmarks --quick               a smoke run: 4 and 16 MiB, fewer runs, short load
python -m benchmarks --sizes 128 --rows 1,2 --runs 7 --json out.json
python -m benchmarks --rows 5,7            the server alone: /resources/get under load, 2,000 streams

Rows 5 and 7 use PostgreSQL when AZAION_TEST_DATABASE_URL names one (`make bench` runs under
build_tools/with_postgres.sh); row 7 needs it, row 5 falls back to SQLite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Env, MiB, render


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="resource sizes in MiB, comma-separated (default 64,512)")
    parser.add_argument(
        "--large", action="store_true", help="add a 2048 MiB resource (moto needs ~8 GiB for it)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 4 and 16 MiB, 2 runs, 3 s of load")
    parser.add_argument(
        "--runs", type=int, help="runs per figure (default 5; uploads of 512 MiB and more: 3)"
    )
    parser.add_argument("--rows", default="1,2,3,4,5,6,7", help="rows to run (default all: 1,2,3,4,5,6,7)")
    parser.add_argument(
        "--seconds", type=float, help="seconds per round of load in row 5 (default 5; 3 rounds)"
    )
    parser.add_argument(
        "--rps-db",
        help="databases of row 5: sqlite, postgresql or both (default: postgresql when available)",
    )
    parser.add_argument(
        "--rps-workers", default="1,2", help="worker counts of row 5, comma-separated (default 1,2)"
    )
    parser.add_argument("--streams", type=int, help="event streams of row 7 (default 2000)")
    parser.add_argument("--json", help="also write every figure and sample to this file")
    return parser.parse_args(argv)


def rps_databases(choice: str | None, postgresql: str | None) -> list[tuple[str, str]]:
    """(label, URL) of the databases row 5 runs on; `{dir}` is filled with a fresh directory."""
    sqlite = ("SQLite", "sqlite:///{dir}/azaion.db")
    choice = choice or ("postgresql" if postgresql else "sqlite")
    wanted = {"sqlite": [sqlite], "both": [sqlite], "postgresql": []}[choice]
    if choice in ("postgresql", "both"):
        if not postgresql:
            raise SystemExit("--rps-db postgresql needs build_tools/with_postgres.sh")
        wanted.append(("PostgreSQL", postgresql))
    return wanted


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.sizes:
        sizes = [int(float(s) * MiB) for s in args.sizes.split(",")]
    elif args.quick:
        sizes = [4 * MiB, 16 * MiB]
    else:
        sizes = [64 * MiB, 512 * MiB]
    if args.large:
        sizes.append(2048 * MiB)
    rows_wanted = {r.strip() for r in args.rows.split(",") if r.strip()}
    seconds = args.seconds or (3 if args.quick else 5)

    def runs_for(size: int) -> int:
        if args.runs:
            return args.runs
        if args.quick:
            return 2
        return 5

    import azaion

    started = time.perf_counter()
    print(
        f"azaion {azaion.__version__} benchmarks, Python {sys.version.split()[0]}, "
        f"{azaion.api_client.__file__.rsplit('/', 1)[-1]}",
        flush=True,
    )
    rows = []
    work = Path(tempfile.mkdtemp(prefix="azaion-bench-"))
    env = None
    try:
        if rows_wanted & {"1", "2", "3", "4"}:
            env = Env(work)
            from benchmarks import memory, transfers

            for size in sizes:
                if rows_wanted & {"1", "2"}:
                    got = transfers.load_rows(env, size, runs_for(size))
                    rows += [r for r in got if r.row in rows_wanted]
                if "3" in rows_wanted:
                    rows += transfers.upload_rows(env, size, runs_for(size))
                if "4" in rows_wanted:
                    rows += memory.memory_rows(env, size)
        postgresql = os.environ.get("AZAION_TEST_DATABASE_URL")
        if "5" in rows_wanted:
            from benchmarks import server_rps

            rows += server_rps.server_rows(
                work,
                seconds,
                databases=rps_databases(args.rps_db, postgresql),
                rounds=2 if args.quick else 3,
                worker_counts=tuple(int(n) for n in args.rps_workers.split(",")),
            )
        if "7" in rows_wanted:
            from benchmarks import streams

            if not postgresql:
                raise SystemExit("row 7 needs PostgreSQL: run it under build_tools/with_postgres.sh")
            rows += streams.stream_rows(work, postgresql, args.streams or (200 if args.quick else 2000))
        if "6" in rows_wanted:
            from benchmarks import startup

            rows += startup.import_rows(5 if args.quick else 20)
    finally:
        if env is not None:
            env.close()
        shutil.rmtree(work, ignore_errors=True)
    rows.sort(key=lambda r: r.row)
    print()
    print(render(rows))
    missed = [r for r in rows if r.ok is False]
    print(
        f"\n{len(rows)} figures in {time.perf_counter() - started:.0f} s; medians; "
        "ratio = client / reference "
        "(row 1 naive: naive / client; row 4: multiple of the resource size); "
        + ("every target met" if not missed else f"{len(missed)} target(s) missed")
    )
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in rows], indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
