"""Settings read from the environment (documented in the README's configuration table).

The ONE module that reads the environment for configuration: the DuckDB path, the partition range,
the market source (``market_source_settings``, the fields of ``MarketSourceResource.from_settings``),
the exchange and CoinGecko clients (base URLs, API key and plan, calls per minute, the longest
honoured retry wait), the simulated market's size and the risk-free rate. Other modules call these
functions; they never read ``os.environ`` for configuration themselves.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping
from pathlib import Path

DUCKDB_ENV = "CRYPTOFACTOR_DUCKDB"
DEFAULT_DUCKDB = "data/cryptofactor.duckdb"
PARTITIONS_START_ENV = "CRYPTOFACTOR_PARTITIONS_START"
DEFAULT_PARTITIONS_START = "2013-01-01"
#: Last daily partition (inclusive); unset = up to today.
PARTITIONS_END_ENV = "CRYPTOFACTOR_PARTITIONS_END"


def duckdb_path() -> str:
    """Path of the DuckDB file; its folder is created when missing."""
    path = Path(os.environ.get(DUCKDB_ENV, DEFAULT_DUCKDB))
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


WAREHOUSE_ENV = "CRYPTOFACTOR_WAREHOUSE"
LAKE_DATA_PATH_ENV = "CRYPTOFACTOR_LAKE_DATA_PATH"


def warehouse():
    """The warehouse the tables live in (``storage.lake.WarehouseSpec``): ``CRYPTOFACTOR_WAREHOUSE``
    (``duckdb:<file>``, ``ducklake:postgres:<dsn>``, ``ducklake:sqlite:<file>``); unset: the DuckDB file
    ``CRYPTOFACTOR_DUCKDB``. A DuckLake's Parquet files go under ``CRYPTOFACTOR_LAKE_DATA_PATH``."""
    from cryptofactor_assets.storage.lake import parse_warehouse

    return parse_warehouse(os.environ.get(WAREHOUSE_ENV), duckdb_file=duckdb_path(),
                           data_path=os.environ.get(LAKE_DATA_PATH_ENV))


def warehouse_pool() -> str | None:
    """The Dagster pool every warehouse-writing asset is in: ``duckdb`` (one slot: one writing process per
    file) on a DuckDB file, none on a DuckLake (concurrent writers; commit conflicts are retried)."""
    from cryptofactor_assets.partitions import DUCKDB_POOL

    try:
        return None if warehouse().is_lake else DUCKDB_POOL
    except ValueError:
        return DUCKDB_POOL  # a bad setting is reported when the resource is built, in one line


def _env_date(name: str, default: str | None) -> dt.date | None:
    """A ``YYYY-MM-DD`` setting; unset or empty -> ``default``; anything else is an error naming it."""
    text = (os.environ.get(name) or "").strip() or default
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a date: use YYYY-MM-DD, e.g. 2023-01-01") from None


def partitions_start() -> dt.date:
    """First daily partition (UTC day); configurable because real histories start in 2013."""
    return _env_date(PARTITIONS_START_ENV, DEFAULT_PARTITIONS_START)


def partitions_end() -> dt.date | None:
    """LAST daily partition (UTC day, inclusive), or None: partitions run up to today (Dagster's default).

    ``make demo`` / ``make ui`` set it to ``DEMO_END`` so the UI shows the range the demo built.
    """
    end = _env_date(PARTITIONS_END_ENV, None)
    if end is not None and end < partitions_start():
        raise ValueError(f"{PARTITIONS_END_ENV}={end} is before {PARTITIONS_START_ENV}={partitions_start()}")
    return end


def partitions_end_exclusive() -> dt.date | None:
    """The ``end_date`` handed to Dagster's time-window partitions: the day AFTER ``partitions_end()``.

    Dagster's ``end_date`` is exclusive: a partition exists when its whole window ends on or before it
    (checked on Dagster 1.13: daily ``end_date=2023-01-05`` ends at 2023-01-04; a week or month
    is kept only when it ends by then). So the day after the last day gives the daily partitions up
    to that day, and the weeks and months lying wholly inside the range, as ``cryptofactor
    materialize`` builds them.
    """
    end = partitions_end()
    return None if end is None else end + dt.timedelta(days=1)


def first_monday_on_or_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "f", ""})


def parse_bool(name: str, value: str | None, default: bool = False) -> bool:
    """A boolean setting: 1/true/yes/on/y/t or 0/false/no/off/n/f/empty, any case; anything else is an
    error naming the setting (a typo must not silently mean "off")."""
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{name}={value!r} is not a boolean: use one of 1/true/yes/on or 0/false/no/off")


def env_bool(name: str, default: bool = False) -> bool:
    """``parse_bool`` of the environment variable ``name``."""
    return parse_bool(name, os.environ.get(name), default)


RISK_FREE_CSV_ENV = "CRYPTOFACTOR_RISK_FREE_CSV"
RISK_FREE_PCT_ENV = "CRYPTOFACTOR_RISK_FREE_PCT"


def risk_free_settings() -> tuple[str, str]:
    """(CSV path, constant annual %) of the risk-free rate, each '' when unset."""
    return (os.environ.get(RISK_FREE_CSV_ENV) or "").strip(), (os.environ.get(RISK_FREE_PCT_ENV) or "").strip()


# ---------------------------------------------------------------------------- market source
SOURCE_ENV = "CRYPTOFACTOR_SOURCE"
SIM_SEED_ENV = "CRYPTOFACTOR_SIM_SEED"
SIM_COINS_ENV = "CRYPTOFACTOR_SIM_COINS"
KLINES_GLOB_ENV = "CRYPTOFACTOR_KLINES_GLOB"
MARKETS_GLOB_ENV = "CRYPTOFACTOR_MARKETS_GLOB"
ONCHAIN_GLOB_ENV = "CRYPTOFACTOR_ONCHAIN_GLOB"
SYMBOLS_ENV = "CRYPTOFACTOR_SYMBOLS"
BYBIT_CATEGORY_ENV = "CRYPTOFACTOR_BYBIT_CATEGORY"
COINGECKO_IDS_ENV = "CRYPTOFACTOR_COINGECKO_IDS"
DEAD_COINGECKO_IDS_ENV = "CRYPTOFACTOR_DEAD_COINGECKO_IDS"
STRICT_ENV = "CRYPTOFACTOR_STRICT"
REPLACE_ENV = "CRYPTOFACTOR_REPLACE"
TIMEZONE_ENV = "CRYPTOFACTOR_TIMEZONE"


def sim_coins_text() -> str | None:
    """The raw ``CRYPTOFACTOR_SIM_COINS`` (None when unset); ``simulated.sim_coins_from_env`` checks it."""
    return os.environ.get(SIM_COINS_ENV)


def market_source_settings(sim_seed_default: int) -> dict:
    """The ``MarketSourceResource`` fields set by the environment (the simulated market's size is
    read by ``sim_coins_text``); strict / replace are booleans (``env_bool``)."""
    env = os.environ.get
    return {
        "kind": env(SOURCE_ENV, "simulated"),
        "sim_seed": int(env(SIM_SEED_ENV, sim_seed_default)),
        "klines_glob": env(KLINES_GLOB_ENV, ""),
        "markets_glob": env(MARKETS_GLOB_ENV, ""),
        "onchain_glob": env(ONCHAIN_GLOB_ENV, ""),
        "symbols": env(SYMBOLS_ENV, ""),
        "bybit_category": env(BYBIT_CATEGORY_ENV, "linear"),
        "coingecko_ids": env(COINGECKO_IDS_ENV, ""),
        "dead_coingecko_ids": env(DEAD_COINGECKO_IDS_ENV, ""),
        "strict": env_bool(STRICT_ENV),
        "replace": env_bool(REPLACE_ENV),
        "timezone": env(TIMEZONE_ENV, "") or "UTC",
    }


# ---------------------------------------------------------------------------- trading costs
#: The venue whose fees the strategy backtests charge by default (strategies/costs.py VENUES).
VENUE_ENV = "CRYPTOFACTOR_VENUE"
DEFAULT_VENUE = "bybit_linear"


def default_venue() -> str:
    """``CRYPTOFACTOR_VENUE`` (e.g. ``binance_spot`` for Binance spot files), default ``bybit_linear``:
    the default of ``strategy_returns``' ``venue`` config (a run config still overrides it)."""
    return (os.environ.get(VENUE_ENV) or "").strip() or DEFAULT_VENUE


# ---------------------------------------------------------------------------- HTTP clients
#: The longest server-requested wait (seconds) that is honoured; longer ones fail fast.
MAX_RETRY_WAIT_ENV = "CRYPTOFACTOR_MAX_RETRY_WAIT"
DEFAULT_MAX_RETRY_WAIT = 120.0
BYBIT_BASE_URL_ENV = "BYBIT_BASE_URL"
COINGECKO_API_KEY_ENV = "COINGECKO_API_KEY"
COINGECKO_PLAN_ENV = "COINGECKO_API_PLAN"
COINGECKO_BASE_URL_ENV = "COINGECKO_BASE_URL"
COINGECKO_CALLS_PER_MINUTE_ENV = "COINGECKO_CALLS_PER_MINUTE"


def max_retry_wait(environ: Mapping[str, str] | None = None) -> float:
    """The wait cap from ``CRYPTOFACTOR_MAX_RETRY_WAIT`` (seconds >= 0), default 120; ``environ``
    replaces the environment (tests)."""
    env = os.environ if environ is None else environ
    text = (env.get(MAX_RETRY_WAIT_ENV) or "").strip()
    if not text:
        return DEFAULT_MAX_RETRY_WAIT
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{MAX_RETRY_WAIT_ENV} must be a number of seconds >= 0, got {text!r}")
    return value


def bybit_base_url() -> str | None:
    """``BYBIT_BASE_URL`` (None or '' when unset: the client's default)."""
    return os.environ.get(BYBIT_BASE_URL_ENV)


def coingecko_api_key() -> str:
    """``COINGECKO_API_KEY`` ('' when unset). A secret: never log it (see ``sources/redaction.py``)."""
    return os.environ.get(COINGECKO_API_KEY_ENV, "")


def coingecko_plan() -> str | None:
    """``COINGECKO_API_PLAN`` (demo | pro), None when unset."""
    return os.environ.get(COINGECKO_PLAN_ENV)


def coingecko_base_url() -> str | None:
    """``COINGECKO_BASE_URL``, None when unset."""
    return os.environ.get(COINGECKO_BASE_URL_ENV)


def coingecko_calls_per_minute() -> float:
    """``COINGECKO_CALLS_PER_MINUTE``; 0 when unset or empty (the plan's default then applies)."""
    return float(os.environ.get(COINGECKO_CALLS_PER_MINUTE_ENV, 0) or 0)


def environment() -> Mapping[str, str]:
    """The process environment itself, for the redaction of secret-named variables (whatever they
    configure) in ``sources/redaction.py``."""
    return os.environ


CROSS_ASSET_CSV_ENV = "CRYPTOFACTOR_CROSS_ASSET_CSV"  # yfinance download CSV(s), os.pathsep-separated
CROSS_ASSET_TICKERS_ENV = "CRYPTOFACTOR_CROSS_ASSET_TICKERS"  # "BTC=BTC-USD,ETH=ETH-USD,EQUITY=^GSPC,..."
FF5_CSV_ENV = "CRYPTOFACTOR_FF5_CSV"  # Ken French CSV(s) oldest vintage first, or "linearmodels"


def cross_asset_settings() -> dict[str, str]:
    """The cross-asset sources of the neural domain (each '' when unset): prices CSV(s), tickers,
    Fama-French CSV(s), simulation seed."""
    def get(name: str) -> str:
        return (os.environ.get(name) or "").strip()

    return {"prices_csv": get(CROSS_ASSET_CSV_ENV), "tickers": get(CROSS_ASSET_TICKERS_ENV),
            "ff5_csv": get(FF5_CSV_ENV), "seed": get(SIM_SEED_ENV)}
