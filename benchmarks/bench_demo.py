"""Time `make demo`'s materialisation (60 simulated coins, 2023-01-01..2024-12-31, all 5-minute bars).

Runs `cryptofactor materialize` in a child process on a fresh temporary DuckDB file and an ephemeral
Dagster instance (the compute), or with ``--persistent`` on a fresh on-disk instance seeded from
``deploy/dagster.yaml`` (what `make demo` does so that the UI shows the runs and partitions: Dagster's
SQLite event log then stores every per-partition event), and reports wall time and the child's peak
resident memory:

    seconds demo_materialise <s>
    megabytes demo_peak_rss <MB>

Targets: <= 60 s and <= 2 GB on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persistent", action="store_true",
                        help="record the runs in an on-disk Dagster instance, as `make demo` does")
    args = parser.parse_args()
    start = os.environ.get("DEMO_START", "2023-01-01")
    end = os.environ.get("DEMO_END", "2024-12-31")
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
        env["CRYPTOFACTOR_DUCKDB"] = str(Path(tmp) / "bench.duckdb")
        if args.persistent:
            home = Path(tmp) / "dagster_home"
            home.mkdir()
            shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
            env["DAGSTER_HOME"] = str(home)
        cli = Path(sys.executable).with_name("cryptofactor")
        t0 = time.perf_counter()
        proc = subprocess.run([str(cli), "materialize", "--start", start, "--end", end], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stdout[-4000:], proc.stderr[-4000:], file=sys.stderr)
            return 1
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: kilobytes
        for line in proc.stdout.splitlines():
            if line.startswith("[cryptofactor]") and ("success" in line or "done" in line or " ok " in line):
                print("#", line)
        print(f"seconds demo_materialise{'_persistent_instance' if args.persistent else ''} {seconds:.1f}")
        print(f"megabytes demo_peak_rss {peak_mb:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
