"""The sources domain reads its configuration through ``settings.py`` only, and its checks keep their names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cryptofactor_assets import settings
from cryptofactor_assets.sources import checks
from cryptofactor_assets.sources.definitions import defs
from cryptofactor_assets.sources.resources import MarketSourceResource

SOURCES = Path(__file__).resolve().parents[2] / "cryptofactor_assets" / "sources"


def test_no_module_of_the_domain_reads_the_environment():
    readers = [p.name for p in sorted(SOURCES.glob("*.py"))
               if re.search(r"\bos\.(environ|getenv)\b", p.read_text())]
    assert readers == []


def test_market_source_from_settings(monkeypatch):
    monkeypatch.setenv(settings.SOURCE_ENV, "files")
    monkeypatch.setenv(settings.KLINES_GLOB_ENV, "/data/*.csv")
    monkeypatch.setenv(settings.SIM_COINS_ENV, "12")
    monkeypatch.setenv(settings.STRICT_ENV, "on")
    monkeypatch.setenv(settings.ONCHAIN_GLOB_ENV, "/data/onchain/*.csv")
    res = MarketSourceResource.from_settings()
    assert (res.kind, res.klines_glob, res.sim_coins, res.strict, res.replace) == ("files", "/data/*.csv", 12, True, False)
    assert res.onchain_glob == "/data/onchain/*.csv" and not res.onchain_streams
    monkeypatch.setenv(settings.SIM_COINS_ENV, "two")
    with pytest.raises(ValueError, match=settings.SIM_COINS_ENV):
        MarketSourceResource.from_settings()


def test_client_settings(monkeypatch):
    for name in (settings.BYBIT_BASE_URL_ENV, settings.COINGECKO_API_KEY_ENV, settings.COINGECKO_PLAN_ENV,
                 settings.COINGECKO_BASE_URL_ENV, settings.COINGECKO_CALLS_PER_MINUTE_ENV):
        monkeypatch.delenv(name, raising=False)
    assert (settings.bybit_base_url(), settings.coingecko_api_key(), settings.coingecko_plan(),
            settings.coingecko_base_url(), settings.coingecko_calls_per_minute()) == (None, "", None, None, 0.0)
    monkeypatch.setenv(settings.COINGECKO_CALLS_PER_MINUTE_ENV, "25")
    assert settings.coingecko_calls_per_minute() == 25.0
    with pytest.raises(ValueError, match=settings.MAX_RETRY_WAIT_ENV):
        settings.max_retry_wait({settings.MAX_RETRY_WAIT_ENV: "-1"})


def test_check_names_are_kept():
    names = {(spec.asset_key.to_user_string(), spec.name, spec.blocking)
             for a in defs().assets for spec in a.check_specs}
    assert names == {
        ("raw_klines_5m", checks.CHECK_KLINES_UNIQUE, True), ("raw_klines_5m", "klines_positive_prices", False),
        ("raw_klines_5m", "klines_ohlc_consistent", False), ("raw_klines_5m", "klines_finite_returns", False),
        ("raw_klines_5m", "source_fetch_complete", False), ("raw_coin_markets", "markets_unique_key", True),
        ("raw_coin_markets", "markets_positive_prices", False), ("raw_coin_markets", "source_fetch_complete", False),
        ("sim_truth", "sim_truth_unique_key", True), ("coin_symbols", "coin_symbols_unique_coin_id", True),
        ("raw_funding_rates", "raw_funding_rates_unique_key", True),
        ("raw_funding_rates", "raw_funding_rates_finite_values", False),
        ("raw_funding_rates", "funding_rates_plausible", False), ("raw_funding_rates", "source_fetch_complete", False),
        ("raw_onchain_activity", "raw_onchain_activity_unique_key", True),
        ("raw_onchain_activity", "raw_onchain_activity_finite_values", False),
        ("raw_onchain_activity", "onchain_counts_valid", False),
        ("raw_onchain_activity", "source_fetch_complete", False),
    }
