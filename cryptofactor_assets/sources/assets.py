"""Raw market data: 5-minute klines, daily coin markets, and the simulated market's planted truths.

The asset objects live in their shell modules (``assets_raw``: the ingest of klines and coin
markets; ``assets_reference``: ``coin_symbols`` and ``sim_truth``), listed by ``definitions.defs``.
This module re-exports them with the domain's table keys and check names for the modules and tests
that import them from here.
"""

from cryptofactor_assets.sources.assets_raw import raw_coin_markets, raw_klines_5m
from cryptofactor_assets.sources.assets_reference import coin_symbols, read_coin_symbols, sim_truth
from cryptofactor_assets.sources.checks import (
    CHECK_KLINES_OHLC,
    CHECK_KLINES_PRICES,
    CHECK_KLINES_RETURNS,
    CHECK_KLINES_UNIQUE,
    CHECK_MARKETS_PRICES,
    CHECK_MARKETS_UNIQUE,
    CHECK_SOURCE_COMPLETE,
)
from cryptofactor_assets.sources.tables import (
    COIN_SYMBOLS,
    RAW_COIN_MARKETS,
    RAW_KLINES_5M,
    REJECTED_ROWS,
    SIM_TRUTH,
)

__all__ = [
    "CHECK_KLINES_OHLC", "CHECK_KLINES_PRICES", "CHECK_KLINES_RETURNS", "CHECK_KLINES_UNIQUE",
    "CHECK_MARKETS_PRICES", "CHECK_MARKETS_UNIQUE", "CHECK_SOURCE_COMPLETE", "COIN_SYMBOLS",
    "RAW_COIN_MARKETS", "RAW_KLINES_5M", "REJECTED_ROWS", "SIM_TRUTH", "coin_symbols", "raw_coin_markets",
    "raw_klines_5m", "read_coin_symbols", "sim_truth",
]
