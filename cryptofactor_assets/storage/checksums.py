"""Per-table checksums of a warehouse: does a DuckLake hold the same tables as a DuckDB file?

``table_checksums`` gives, per table of the current database's main schema, the row count and an
order-free checksum: the sum (mod 2^64) of a hash of each row. Floating-point columns enter the hash
rounded to ``significant`` significant digits (default 12): the same numerics on two engines, or
the same aggregate summed in another order by DuckDB's parallel threads, may differ in the last bits
of a double, which is not a difference in the data. Identifiers are quoted; no value enters the SQL.

No Dagster import.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from cryptofactor_assets.storage.identifiers import quote_ident, quote_qualified

_FLOATS = {"DOUBLE", "FLOAT", "REAL"}
#: The storage layer's own bookkeeping (DuckLake write locks), not data: left out of the checksums.
INTERNAL_TABLES = frozenset({"lake_write_locks"})


@dataclass(frozen=True)
class TableChecksum:
    table: str
    rows: int
    checksum: int


def _column_expr(name: str, dtype: str, significant: int) -> str:
    col = quote_ident(name)
    if dtype.upper() not in _FLOATS:
        return col
    # round to `significant` significant digits; 0, NaN, +-inf and NULL pass unchanged
    return (f"CASE WHEN {col} IS NULL OR NOT isfinite({col}) OR {col} = 0 THEN {col} "
            f"ELSE round({col}, {int(significant) - 1} - CAST(floor(log10(abs({col}))) AS INTEGER)) END")


def table_checksums(con: duckdb.DuckDBPyConnection, *, significant: int = 12,
                    tables: list[str] | None = None) -> dict[str, TableChecksum]:
    """``table -> TableChecksum`` for the tables of the current database (all of them, or ``tables``)."""
    catalog = con.execute("SELECT current_database()").fetchall()[0][0]
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'main' ORDER BY 1").fetchall()]
    names = [n for n in names if n not in INTERNAL_TABLES]
    if tables is not None:
        names = [n for n in names if n in set(tables)]
    out = {}
    for name in names:
        cols = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = "
                           "current_database() AND table_schema = 'main' AND table_name = ? ORDER BY column_name",
                           [name]).fetchall()  # by name: the column order may differ (columns added later)
        exprs = ", ".join(_column_expr(c, t, significant) for c, t in cols)
        rows, checksum = con.execute(
            f"SELECT count(*), coalesce(sum(hash({exprs})::HUGEINT) % 18446744073709551616, 0)::UBIGINT "
            f"FROM {quote_qualified(catalog, 'main', name)}").fetchall()[0]
        out[name] = TableChecksum(name, int(rows), int(checksum))
    return out


def rows_close(con_a: duckdb.DuckDBPyConnection, con_b: duckdb.DuckDBPyConnection, table: str,
               rtol: float = 1e-9, atol: float = 1e-12) -> str | None:
    """For a table whose checksums differ: None when the rows are the same up to ``rtol`` / ``atol`` on
    floating-point values (the order DuckDB's threads summed in), else a line saying what differs.

    Rows are matched after sorting both sides by the non-float columns, then the floats rounded to 6
    significant digits; a table of millions of differing rows is read into memory (only then)."""
    import numpy as np

    frames = []
    for con in (con_a, con_b):
        catalog = con.execute("SELECT current_database()").fetchall()[0][0]
        frames.append(con.execute(f"SELECT * FROM {quote_qualified(catalog, 'main', table)}").df())
    a, b = frames
    if len(a) != len(b) or set(a.columns) != set(b.columns):
        return f"{table}: {len(a):,} vs {len(b):,} rows or other columns"
    b = b[list(a.columns)]
    floats = [c for c in a.columns if a[c].dtype.kind == "f"]
    others = [c for c in a.columns if c not in floats]

    def ordered(frame):
        keys = frame[others].copy()
        for c in floats:
            v = frame[c].to_numpy(dtype=float)
            with np.errstate(all="ignore"):
                keys[c] = np.where(np.isfinite(v) & (v != 0),
                                   np.round(v / 10.0 ** np.floor(np.log10(np.abs(v))), 5) * 10.0 ** np.floor(np.log10(np.abs(v))),
                                   v)
        order = keys.sort_values(list(keys.columns), na_position="last", kind="mergesort").index
        return frame.loc[order].reset_index(drop=True)

    a, b = ordered(a), ordered(b)
    for c in others:
        same = (a[c] == b[c]) | (a[c].isna() & b[c].isna())
        if not bool(same.all()):
            return f"{table}: column {c} differs in {int((~same).sum()):,} rows"
    for c in floats:
        x, y = a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float)
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            return f"{table}: column {c} is NULL / NaN in other rows"
        ok = ~np.isnan(x)
        if not np.allclose(x[ok], y[ok], rtol=rtol, atol=atol):
            return f"{table}: column {c} differs beyond rtol {rtol:g}"
    return None


def compare_checksums(left: dict[str, TableChecksum], right: dict[str, TableChecksum]) -> list[str]:
    """Lines naming every table whose rows or checksum differ, or that only one side has (empty: equal)."""
    lines = []
    for name in sorted(set(left) | set(right)):
        a, b = left.get(name), right.get(name)
        if a is None or b is None:
            lines.append(f"{name}: only in the {'second' if a is None else 'first'} warehouse")
        elif (a.rows, a.checksum) != (b.rows, b.checksum):
            lines.append(f"{name}: {a.rows:,} rows / checksum {a.checksum:016x} vs {b.rows:,} / {b.checksum:016x}")
    return lines
