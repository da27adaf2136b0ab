"""The neural domain's resource: where the cross-asset series come from.

``CrossAssetSourceResource`` (key ``cross_asset_source``) holds the real sources of
``cross_asset_monthly`` (yfinance CSVs, their ticker mapping, the Fama-French CSVs) and the simulation
seed; empty values mean "not given": simulate, with the default seed. A run config value of the asset
overrides the resource's. ``from_settings`` builds it from the environment (the README's configuration
table lists the variables); a test builds it with explicit values.
"""

from __future__ import annotations

import os

import dagster as dg

from cryptofactor_assets import settings

#: Resource key.
CROSS_ASSET_SOURCE = "cross_asset_source"
#: Where the coins' monthly returns come from: ``prices`` (the yfinance CSVs' coin tickers, default) or
#: ``daily_panel`` (the warehouse's stored daily closes, any market source; markets still from the CSVs).
CROSS_ASSET_COINS_ENV = "CRYPTOFACTOR_CROSS_ASSET_COINS"
#: With ``daily_panel``: which panel symbols are the coins (``BTC=BTCUSDT,ETHUSDT``; empty: all).
CROSS_ASSET_PANEL_SYMBOLS_ENV = "CRYPTOFACTOR_CROSS_ASSET_PANEL_SYMBOLS"

class CrossAssetSourceResource(dg.ConfigurableResource):
    """Sources of the cross-asset monthly series: ``prices_csv`` (yfinance download CSV(s),
    ``os.pathsep``-separated; empty: simulate), ``tickers`` (``NAME=TICKER,...``; empty: the default
    tickers present in the files), ``ff5_csv`` (Ken French CSV(s) oldest vintage first, or
    ``linearmodels``; empty: no factors), ``seed`` (simulation seed as text; empty: the default),
    ``coins_from`` (``prices`` or ``daily_panel``; empty: prices) and ``panel_symbols`` (the panel
    symbols that are the coins with ``daily_panel``; empty: all)."""

    prices_csv: str = ""
    tickers: str = ""
    ff5_csv: str = ""
    seed: str = ""  # text: empty means "not given" (an int field cannot say so)
    coins_from: str = ""
    panel_symbols: str = ""

    @classmethod
    def from_settings(cls) -> CrossAssetSourceResource:
        """From the environment, through ``settings.cross_asset_settings`` (and the coins' two variables)."""
        return cls(**settings.cross_asset_settings(),
                   coins_from=(os.environ.get(CROSS_ASSET_COINS_ENV) or "").strip(),
                   panel_symbols=(os.environ.get(CROSS_ASSET_PANEL_SYMBOLS_ENV) or "").strip())

    def resolve(self, prices_csv: str | None, tickers: str | None, ff5_csv: str | None, seed: int | None,
                default_seed: int) -> tuple[str | None, str | None, str | None, int]:
        """The run's sources: each run config value, else the resource's (None when neither is given)."""
        def pick(value, mine):
            return value if value is not None else (mine or None)

        return (pick(prices_csv, self.prices_csv), pick(tickers, self.tickers), pick(ff5_csv, self.ff5_csv),
                seed if seed is not None else int(self.seed or default_seed))

    def resolve_coins(self, coins_from: str | None, panel_symbols: str | None) -> tuple[str, str | None]:
        """The run's coin source (``prices`` / ``daily_panel``) and panel symbols: each run config value,
        else the resource's; an unknown coin source is a ``ValueError`` naming the choices."""
        source = (coins_from if coins_from is not None else self.coins_from).strip().lower() or "prices"
        if source not in ("prices", "daily_panel"):
            raise ValueError(f"coins_from {source!r} (env {CROSS_ASSET_COINS_ENV}) is not one of prices, daily_panel")
        symbols = panel_symbols if panel_symbols is not None else (self.panel_symbols or None)
        return source, symbols
