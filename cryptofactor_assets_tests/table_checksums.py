"""Checksums of every table of a cryptofactor DuckDB file, to show a refactor left the data unchanged.

``python -m cryptofactor_assets_tests.table_checksums FILE [--exclude-columns a,b]`` prints one line
per table: ``<table> <rows> <checksum>``, where the checksum is the sum over rows of DuckDB's 64-bit
hash of the row's text (order-independent; DuckDB prints doubles as their shortest round-trip
decimal, so equal text means equal bits). Columns that record when or by which run a row was written
(``--exclude-columns``; default: names ending in ``_at`` and ``run_id``) are left out.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

from cryptofactor_assets.storage.identifiers import quote_ident, quote_qualified


def table_checksums(path: str, exclude: set[str] | None = None) -> dict[str, tuple[int, int]]:
    con = duckdb.connect(path, read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2").fetchall()
        out = {}
        for schema, table in tables:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "ORDER BY column_index", [schema, table]).fetchall()
                if not (exclude is None and (c.endswith("_at") or c == "run_id")) and c not in (exclude or set())]
            name = quote_qualified(schema, table)
            row = " || '|' || ".join(f"coalesce(CAST({quote_ident(c)} AS VARCHAR), '<null>')" for c in columns) or "''"
            n, total = con.execute(f"SELECT count(*), coalesce(sum(hash({row})::HUGEINT), 0) FROM {name}").fetchone()
            out[f"{schema}.{table}" if schema != "main" else table] = (int(n), int(total))
        return out
    finally:
        con.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--exclude-columns", default=None)
    args = parser.parse_args(argv)
    exclude = set(args.exclude_columns.split(",")) if args.exclude_columns else None
    for table, (n, total) in table_checksums(args.path, exclude).items():
        print(f"{table} {n} {total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
