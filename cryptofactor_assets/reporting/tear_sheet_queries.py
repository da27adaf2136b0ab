"""The reads of the tear sheet (no Dagster): which tables the warehouse holds, their columns, row counts
and date coverage, and the stored frames each section shows. Fixed statements are in
``sql/reporting/``; the rest are built from catalog names, every one quoted with ``quote_ident``
(table and column names read back from the catalog may hold anything: quotes, ``;``, ``--``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import duckdb
import pandas as pd

from cryptofactor_assets.sources.tables import REJECTED_ROWS
from cryptofactor_assets.storage.identifiers import quote_ident, quote_qualified
from cryptofactor_assets.storage.warehouse import load_sql

#: Columns naming the date a row of a table belongs to, in order of preference (data summary coverage).
DATE_COLUMNS = ("date", "week_start", "month_start", "date_held", "open_time", "partition_date",
                "formation_week", "first_week", "first_date")
#: Summary tables store their coverage as a (first, last) pair of columns.
DATE_RANGE_COLUMNS = {"first_week": "last_week", "first_date": "last_date"}
#: Columns of rejected_rows the data summary counts by.
REJECTED_COLUMNS = ("dataset", "source", "reason", "partition_date")


class Store:
    """Thin read-only view of a DuckDB connection: which tables exist (schema main of the current
    database), their columns. Catalog names are data: ``count`` and ``coverage`` quote them."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.catalog = con.execute("SELECT current_database()").fetchall()[0][0]
        cols = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = 'main' "
            "ORDER BY table_name, ordinal_position").fetchall()
        self.columns: dict[str, list[str]] = {}
        for table, column in cols:
            self.columns.setdefault(table, []).append(column)

    def has(self, table: str, required: Sequence[str] = ()) -> bool:
        return table in self.columns and set(required) <= set(self.columns[table])

    def qualified(self, table: str) -> str:
        """``"<current database>"."main"."<table>"``, each part quoted."""
        return quote_qualified(self.catalog, "main", table)

    def count(self, table: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {self.qualified(table)}").fetchall()[0][0])

    def df(self, sql: str, params: Sequence | Mapping | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params if params is not None else []).df()

    def named(self, name: str, params: Sequence | Mapping | None = None) -> pd.DataFrame:
        """The frame of the statement ``sql/reporting/<name>.sql``."""
        return self.df(load_sql(name, domain="reporting"), params)

    def table(self, table: str, order_by: Sequence[str] = ()) -> pd.DataFrame:
        """Every row of ``table`` (ordered by the columns ``order_by`` when given)."""
        order = f" ORDER BY {', '.join(quote_ident(c) for c in order_by)}" if order_by else ""
        return self.df(f"SELECT * FROM {self.qualified(table)}{order}")

    def coverage(self, table: str, first_col: str, last_col: str) -> tuple:
        """(min of ``first_col``, max of ``last_col``) over ``table``."""
        return self.con.execute(
            f"SELECT min({quote_ident(first_col)}), max({quote_ident(last_col)}) "
            f"FROM {self.qualified(table)}").fetchall()[0]


def missing_tables(store: Store, tables: Sequence[str]) -> tuple[str, ...]:
    """Tables that are absent or hold no rows."""
    return tuple(t for t in tables if not store.has(t) or store.count(t) == 0)


def table_summary(store: Store) -> pd.DataFrame:
    """Every table with its row count, date column and (first, last) date coverage."""
    rows = []
    for table, cols in sorted(store.columns.items()):
        date_col = next((c for c in DATE_COLUMNS if c in cols), None)
        n = store.count(table)
        first = last = None
        if date_col is not None and n:
            end_col = DATE_RANGE_COLUMNS.get(date_col, date_col)
            end_col = end_col if end_col in cols else date_col
            first, last = store.coverage(table, date_col, end_col)
        rows.append({"table": table, "rows": n, "date_column": date_col or "", "first": first, "last": last})
    return pd.DataFrame(rows, columns=["table", "rows", "date_column", "first", "last"])


def rejected_by_reason(store: Store) -> pd.DataFrame | None:
    """Rejected input rows counted by dataset, source and reason (None when rejected_rows is not built)."""
    if not store.has(REJECTED_ROWS, REJECTED_COLUMNS):
        return None
    return store.named("count_rejected_rows_by_reason")


def long_short_alphas(store: Store) -> pd.DataFrame:
    return store.named("select_long_short_alphas")


def last_beta_date(store: Store) -> dt.date | None:
    return store.con.execute(load_sql("select_last_rolling_beta_date", domain="reporting")).fetchall()[0][0]


def largest_coins(store: Store, as_of, n: int) -> pd.DataFrame:
    return store.named("select_largest_coins", {"as_of": as_of, "n": int(n)})


def rolling_betas_of(store: Store, symbols: Sequence[str]) -> pd.DataFrame:
    return store.named("select_rolling_betas_of_symbols", {"symbols": list(symbols)})


def source_label(con: duckdb.DuckDBPyConnection) -> str:
    """The path of the connection's database file, or "an in-memory database"."""
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return str(path[0][0]) if path and path[0][0] else "an in-memory database"


def load_frames(con: duckdb.DuckDBPyConnection, frames: Mapping[str, pd.DataFrame]) -> None:
    """Copy DataFrames into tables named by their keys."""
    for name, frame in frames.items():
        con.register("_incoming", frame)
        con.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT * FROM _incoming")
        con.unregister("_incoming")
