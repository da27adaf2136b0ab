"""Asset checks of the sources domain: one ``TableChecks`` per table (``lib/checks.py``).

The raw tables keep their historical check names (``klines_unique_key``, not
``raw_klines_5m_unique_key``), so their ``TableChecks`` name the unique-key check explicitly.
``source_fetch_complete`` is not a check of stored rows but of the fetch itself: its spec is here,
its result is built by the ingest shell from what the source reported (``ingest.source_complete``).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from cryptofactor_assets.lib.checks import ExtraCheck, TableChecks
from cryptofactor_assets.sources.tables import (
    COIN_SYMBOLS,
    RAW_COIN_MARKETS,
    RAW_FUNDING_RATES,
    RAW_KLINES_5M,
    RAW_ONCHAIN_ACTIVITY,
    SIM_TRUTH,
)
from cryptofactor_assets.sources.validation import MAX_ABS_FUNDING_RATE
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.quality import CheckOutcome
from cryptofactor_assets.storage.warehouse import load_sql

CHECK_KLINES_UNIQUE = "klines_unique_key"
CHECK_KLINES_PRICES = "klines_positive_prices"
CHECK_KLINES_OHLC = "klines_ohlc_consistent"
CHECK_KLINES_RETURNS = "klines_finite_returns"
CHECK_MARKETS_UNIQUE = "markets_unique_key"
CHECK_MARKETS_PRICES = "markets_positive_prices"
CHECK_SOURCE_COMPLETE = "source_fetch_complete"
CHECK_SIM_TRUTH_UNIQUE = "sim_truth_unique_key"
CHECK_COIN_SYMBOLS_UNIQUE = "coin_symbols_unique_coin_id"
CHECK_FUNDING_PLAUSIBLE = "funding_rates_plausible"
CHECK_ONCHAIN_COUNTS = "onchain_counts_valid"

KLINE_PRICES = ("open", "high", "low", "close")
MARKET_VALUES = ("price", "market_cap", "total_volume")
#: Unknown (NULL) market cap and volume are allowed; a known one must be > 0.
MARKET_UNKNOWN_ALLOWED = ("market_cap", "total_volume")


def _positive(columns: tuple[str, ...], allow_null: tuple[str, ...] = ()):
    """An ExtraCheck body: ``columns`` finite and > 0 in the window (``allow_null`` may be NULL)."""
    def check(con, table, column, start, end):
        if allow_null:
            return quality.positive(con, table, list(columns), column, start, end, allow_null=list(allow_null))
        return quality.positive(con, table, list(columns), column, start, end)
    return check


RAW_KLINES_5M_CHECKS = TableChecks(
    RAW_KLINES_5M, key=("symbol", "open_time"), window_column="open_time", finite=(),
    unique_check=CHECK_KLINES_UNIQUE,
    extra=(
        ExtraCheck(CHECK_KLINES_PRICES, "prices are finite and > 0", _positive(KLINE_PRICES)),
        ExtraCheck(CHECK_KLINES_OHLC, "low <= open, close <= high", quality.ohlc_consistent),
        ExtraCheck(CHECK_KLINES_RETURNS, "stored 5-minute log returns are finite",
                   lambda con, table, column, start, end: quality.finite(con, table, ["log_ret"], column, start, end)),
    ),
)

RAW_COIN_MARKETS_CHECKS = TableChecks(
    RAW_COIN_MARKETS, key=("symbol", "date"), window_column="date", finite=(),
    unique_check=CHECK_MARKETS_UNIQUE,
    extra=(
        ExtraCheck(CHECK_MARKETS_PRICES, "price finite and > 0; market cap and volume > 0 where known",
                   _positive(MARKET_VALUES, allow_null=MARKET_UNKNOWN_ALLOWED)),
    ),
)

#: Bounds standing for "the whole table" in a windowed statement.
_WHOLE_TABLE = (dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1))


def _funding_plausible(con, table, column, start, end) -> CheckOutcome:
    """An ExtraCheck body: every stored settlement of the window has |funding_rate| <= MAX_ABS_FUNDING_RATE
    and a positive interval (the validation layer rejects the others; this checks what was stored). No
    window (``start`` None): the whole table."""
    bounds = {"start": start or _WHOLE_TABLE[0], "end": end or _WHOLE_TABLE[1], "max_rate": MAX_ABS_FUNDING_RATE}
    n = int(con.execute(load_sql("count_raw_funding_rates_implausible", domain="sources"), bounds).fetchall()[0][0])
    return CheckOutcome(n == 0, n, f"{n} settlements with |funding_rate| > {MAX_ABS_FUNDING_RATE:g} "
                                   "or a non-positive interval")


RAW_FUNDING_RATES_CHECKS = TableChecks(
    RAW_FUNDING_RATES, key=("symbol", "funding_time"), window_column="funding_time",
    finite=("funding_rate", "interval_hours"),
    extra=(ExtraCheck(CHECK_FUNDING_PLAUSIBLE,
                      f"|funding_rate| <= {MAX_ABS_FUNDING_RATE:g} per settlement and interval_hours > 0",
                      _funding_plausible),),
)

def _onchain_counts(con, table, column, start, end) -> CheckOutcome:
    """An ExtraCheck body: every stored on-chain row of the window has a count and none is negative (the
    validation layer rejects the others; this checks what was stored). No window: the whole table."""
    bounds = {"start": start or _WHOLE_TABLE[0], "end": end or _WHOLE_TABLE[1]}
    n = int(con.execute(load_sql("count_raw_onchain_activity_negative", domain="sources"), bounds).fetchall()[0][0])
    return CheckOutcome(n == 0, n, f"{n} rows with a negative count or with neither count")


RAW_ONCHAIN_ACTIVITY_CHECKS = TableChecks(
    RAW_ONCHAIN_ACTIVITY, key=("symbol", "date"), window_column="date",
    finite=("active_addresses", "tx_count"),
    extra=(ExtraCheck(CHECK_ONCHAIN_COUNTS, "active_addresses and tx_count >= 0, at least one of them known",
                      _onchain_counts),),
)

#: GROUP BY groups NULL dates, so the key holds for the undated parameters too.
SIM_TRUTH_CHECKS = TableChecks(SIM_TRUTH, key=("category", "name", "symbol", "date"), window_column=None,
                               finite=())

COIN_SYMBOLS_CHECKS = TableChecks(COIN_SYMBOLS, key=("coin_id",), window_column=None, finite=(),
                                       unique_check=CHECK_COIN_SYMBOLS_UNIQUE)


def source_complete_spec(asset: str, what: str) -> dg.AssetCheckSpec:
    """The ``source_fetch_complete`` spec of an ingest asset (``what``: symbol | coin)."""
    return dg.AssetCheckSpec(CHECK_SOURCE_COMPLETE, asset=asset,
                             description=f"every requested {what} was fetched (WARN; ERROR in strict mode)")
