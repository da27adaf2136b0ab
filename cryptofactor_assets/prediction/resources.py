"""The resources the prediction assets read besides DuckDB: the risk-free rate (``risk_free``)."""

from cryptofactor_assets.lib.resources import RISK_FREE, RiskFreeResource
from cryptofactor_assets.lib.table_asset import TableRun
from cryptofactor_assets.prediction.reads import RiskFree

#: Resource keys of the assets that read the risk-free rate. Empty while ``lib.table_asset`` cannot
#: combine ``required_resource_keys`` with its ``duckdb`` argument (Dagster refuses both on one asset):
#: the rate then comes from ``RiskFreeResource.from_settings()``, the resource ``definitions.py`` builds.
RISK_FREE_KEYS: frozenset[str] = frozenset()


def risk_free(run: TableRun) -> RiskFree:
    """The run's risk-free series ``(periods, frequency) -> (rate, source, note)``."""
    if RISK_FREE in RISK_FREE_KEYS:
        return run.context.resources.risk_free.series
    return RiskFreeResource.from_settings().series
