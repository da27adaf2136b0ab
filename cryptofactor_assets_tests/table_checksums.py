"""Checksums of every table of a cryptofactor DuckDB file, to show a refactor left the data unchanged.

``python -m cryptofactor_assets_tests.table_checksums FILE [--exclude-columns a,b]`` prints one line
per table: ``<table> <rows> <checksum>``, where the checksum is the sum over rows of DuckDB's 64-bit
hash of the row's text (order-independent), floats written with 9 significant digits: DuckDB's parallel
aggregates add in a thread-dependent order, so two runs of the same code differ in the last bits of a
float sum (``--digits`` changes it). Columns that record when or by which run a row was written
(``--exclude-columns``; default: names ending in ``_at`` and ``run_id``) are left out.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

from cryptofactor_assets.storage.identifiers import quote_ident, quote_qualified


def _text(column: str, data_type: str, digits: int) -> str:
    """The column as text; floats with ``digits`` significant digits (parallel aggregation in DuckDB
    sums in a thread-dependent order, so the last bits of a float sum vary from run to run)."""
    if data_type in ("DOUBLE", "FLOAT", "REAL"):
        return f"printf('%.{int(digits)}g', {quote_ident(column)})"
    return f"CAST({quote_ident(column)} AS VARCHAR)"


def table_checksums(path: str, exclude: set[str] | None = None, digits: int = 9) -> dict[str, tuple[int, int]]:
    con = duckdb.connect(path, read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2").fetchall()
        out = {}
        for schema, table in tables:
            columns = [(c, t) for (c, t) in con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "ORDER BY column_index", [schema, table]).fetchall()
                if not (exclude is None and (c.endswith("_at") or c == "run_id")) and c not in (exclude or set())]
            name = quote_qualified(schema, table)
            row = " || '|' || ".join(f"coalesce({_text(c, t, digits)}, '<null>')" for c, t in columns) or "''"
            n, total = con.execute(f"SELECT count(*), coalesce(sum(hash({row})::HUGEINT), 0) FROM {name}").fetchone()
            out[f"{schema}.{table}" if schema != "main" else table] = (int(n), int(total))
        return out
    finally:
        con.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--exclude-columns", default=None)
    parser.add_argument("--digits", type=int, default=9)
    args = parser.parse_args(argv)
    exclude = set(args.exclude_columns.split(",")) if args.exclude_columns else None
    for table, (n, total) in table_checksums(args.path, exclude, args.digits).items():
        print(f"{table} {n} {total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
