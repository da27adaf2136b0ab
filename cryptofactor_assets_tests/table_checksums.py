"""Checksums of every table of a cryptofactor DuckDB file, to show a refactor left the data unchanged.

``python -m cryptofactor_assets_tests.table_checksums FILE [--digits N]`` prints one line per table:
``<table> <rows> <checksum>``. The checksum is the product's (``cryptofactor_assets.storage.checksums``,
also ``cryptofactor checksums --against``): order-free, floats rounded to ``--digits`` significant digits
(default 9: DuckDB's parallel aggregates add in a thread-dependent order, so two runs of the same code
differ in the last bits of a float sum). No stored table has a column recording when or by which run a
row was written, so every column enters the checksum.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

from cryptofactor_assets.storage.checksums import table_checksums as warehouse_checksums


def table_checksums(path: str, digits: int = 9) -> dict[str, tuple[int, int]]:
    """``table -> (rows, checksum)`` of the DuckDB file ``path`` (read-only)."""
    con = duckdb.connect(path, read_only=True)
    try:
        return {name: (c.rows, c.checksum) for name, c in warehouse_checksums(con, significant=digits).items()}
    finally:
        con.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--digits", type=int, default=9)
    args = parser.parse_args(argv)
    for table, (n, total) in table_checksums(args.path, args.digits).items():
        print(f"{table} {n} {total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
