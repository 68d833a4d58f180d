"""Run every benchmark under bench/ in sequence and keep their output in bench/results/<timestamp>.txt."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ["import_bench.py", "--rows", os.environ.get("LINLI_BENCH_ROWS", "100000")],
    ["resident_list_bench.py", "--rows", os.environ.get("LINLI_BENCH_ROWS", "100000")],
    # PostgreSQL only (LINLI_BENCH_PG_URL or DATABASE_URL; skipped without); LINLI_BENCH_TICKETS=1000000 for the full run
    ["ticket_bench.py", "--tickets", os.environ.get("LINLI_BENCH_TICKETS", "100000"), "--skip-without-pg"],
    # PostgreSQL (DATABASE_URL, else 127.0.0.1:5432), Mosquitto and Redis; LINLI_BENCH_EVENTS=1000000 for the full run
    ["events_bench.py", "--events", os.environ.get("LINLI_BENCH_EVENTS", "100000")],
]


def main() -> int:
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log = out_dir / f"{stamp}.txt"
    failed = 0
    with log.open("w") as fh:
        for script, *args in BENCHES:
            cmd = [sys.executable, str(HERE / script), *args]
            header = f"=== {' '.join([script, *args])} ===\n"
            print(header, end="", flush=True)
            fh.write(header)
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
            print(proc.stdout, end="")
            print(proc.stderr, end="", file=sys.stderr)
            fh.write(proc.stdout)
            if proc.returncode:
                failed += 1
                fh.write(proc.stderr)
    print(f"results kept in {log.relative_to(HERE.parent)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
