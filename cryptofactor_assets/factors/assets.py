"""Cross-sectional factor research: LTW characteristics, sorts, factors, rolling betas, Fama-MacBeth,
long-short alphas, regime signals and the LTW-calendar replication.

The asset shells live in ``assets_weekly`` (ISO-week partitions), ``assets_daily`` (daily rows in
weekly partitions) and ``assets_summary`` (whole-history tables); ``factors/definitions.py`` loads
them. This module gathers the asset objects for the code that imports them from here; table keys
are in ``factors/tables.py``.
"""

from cryptofactor_assets.factors.assets_daily import factor_returns_daily_asset, rolling_betas_asset
from cryptofactor_assets.factors.assets_summary import (
    fama_macbeth_premia_asset,
    long_short_alphas_asset,
    ltw_replication_asset,
    regime_signals_asset,
)
from cryptofactor_assets.factors.assets_weekly import (
    characteristic_portfolios_asset,
    factor_returns_weekly_asset,
    fama_macbeth_gammas_asset,
    weekly_characteristics_asset,
)

__all__ = [
    "characteristic_portfolios_asset", "factor_returns_daily_asset", "factor_returns_weekly_asset",
    "fama_macbeth_gammas_asset", "fama_macbeth_premia_asset", "long_short_alphas_asset",
    "ltw_replication_asset", "regime_signals_asset", "rolling_betas_asset", "weekly_characteristics_asset",
]
