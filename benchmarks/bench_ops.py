"""Operations benchmark: what users wait on besides the computation, on an on-disk instance.

Prints, each measured once in this run:

    seconds ui_daily_run <s>                      one daily partition launched through the real webserver
                                                  (dagster-graphql client), launch to RUN_SUCCESS; target <= 10
    overhead demo_on_disk_vs_in_memory <x>        demo wall with an on-disk DAGSTER_HOME / with an in-memory
                                                  instance; target <= 1.25
    events history_7y <rows>                      event-log rows after the 7-year CoinGecko history; <= 25,000
    megabytes history_7y_instance <MB>            size of DAGSTER_HOME after it; target <= 60

The pieces live in ``ops_ui.py`` (webserver run) and ``ops_events.py`` (history and demo), which can be run
alone. ``python benchmarks/bench_ops.py [ui] [demo] [history]`` runs a subset. The history needs
``../shared/data/real`` (skipped with a message when absent). About 15 minutes in all on 2 cores.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ops_events  # noqa: E402
import ops_ui  # noqa: E402


def main(argv: list[str]) -> int:
    which = set(argv) or {"ui", "demo", "history"}
    if "ui" in which:
        with tempfile.TemporaryDirectory(prefix="bench_ops_ui_") as tmp:
            print(f"seconds ui_daily_run {ops_ui.ui_daily_run(tmp):.1f}", flush=True)
    if "demo" in which:
        d = ops_events.demo_overhead()
        print(f"overhead demo_on_disk_vs_in_memory {d['overhead']:.2f}", flush=True)
        print(f"seconds demo_on_disk {d['on_disk']:.1f}")
        print(f"seconds demo_in_memory {d['in_memory']:.1f}", flush=True)
    if "history" in which:
        h = ops_events.history_7y()
        if h is not None:
            print(f"events history_7y {h['events']}")
            print(f"megabytes history_7y_instance {h['megabytes']:.1f}")
            print(f"seconds history_7y {h['seconds']:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
