"""The resources the prediction assets read besides DuckDB: the risk-free rate (``risk_free``)."""

from cryptofactor_assets.lib.resources import RISK_FREE
from cryptofactor_assets.lib.table_asset import TableRun
from cryptofactor_assets.prediction.reads import RiskFree

#: Resource keys of the assets that read the risk-free rate.
RISK_FREE_KEYS: frozenset[str] = frozenset({RISK_FREE})


def risk_free(run: TableRun) -> RiskFree:
    """The run's risk-free series ``(periods, frequency) -> (rate, source, note)``."""
    return run.context.resources.risk_free.series
