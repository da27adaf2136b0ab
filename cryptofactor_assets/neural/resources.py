"""The neural domain's resource: where the cross-asset series come from.

``CrossAssetSourceResource`` (key ``cross_asset_source``) holds the real sources of
``cross_asset_monthly`` (yfinance CSVs, their ticker mapping, the Fama-French CSVs) and the simulation
seed; empty values mean "not given": simulate, with the default seed. A run config value of the asset
overrides the resource's. ``from_settings`` builds it from the environment (the README's configuration
table lists the variables); a test builds it with explicit values.
"""

from __future__ import annotations

import dagster as dg

from cryptofactor_assets import settings

#: Resource key.
CROSS_ASSET_SOURCE = "cross_asset_source"

class CrossAssetSourceResource(dg.ConfigurableResource):
    """Sources of the cross-asset monthly series: ``prices_csv`` (yfinance download CSV(s),
    ``os.pathsep``-separated; empty: simulate), ``tickers`` (``NAME=TICKER,...``; empty: the default
    tickers present in the files), ``ff5_csv`` (Ken French CSV(s) oldest vintage first, or
    ``linearmodels``; empty: no factors) and ``seed`` (simulation seed as text; empty: the default)."""

    prices_csv: str = ""
    tickers: str = ""
    ff5_csv: str = ""
    seed: str = ""  # text: empty means "not given" (an int field cannot say so)

    @classmethod
    def from_settings(cls) -> CrossAssetSourceResource:
        """From the environment, through ``settings.cross_asset_settings``."""
        return cls(**settings.cross_asset_settings())

    def resolve(self, prices_csv: str | None, tickers: str | None, ff5_csv: str | None, seed: int | None,
                default_seed: int) -> tuple[str | None, str | None, str | None, int]:
        """The run's sources: each run config value, else the resource's (None when neither is given)."""
        def pick(value, mine):
            return value if value is not None else (mine or None)

        return (pick(prices_csv, self.prices_csv), pick(tickers, self.tickers), pick(ff5_csv, self.ff5_csv),
                seed if seed is not None else int(self.seed or default_seed))
