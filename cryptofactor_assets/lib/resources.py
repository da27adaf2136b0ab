"""Resources every domain shares: the warehouse connection and the risk-free rate.

Configuration reaches assets one way: as Dagster resources (``dg.ConfigurableResource``), built in
``definitions.py`` from the environment through ``settings.py`` (the one module that reads it; the
README's configuration table lists the variables). A test or a notebook builds the same resources
with explicit values.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from cryptofactor_assets import settings
from cryptofactor_assets.sources.risk_free import RiskFreeRate, configured_risk_free

#: Resource keys.
DUCKDB = "duckdb"
RISK_FREE = "risk_free"


class RiskFreeResource(dg.ConfigurableResource):
    """The risk-free rate of every excess return, Sharpe ratio and alpha: a CSV of annualised T-bill
    yields (``csv_path``), else a constant annual percentage (``constant_pct``), else 0 with a note.
    Each period's rate is the last observation before the period (``sources/risk_free.py``)."""

    csv_path: str = ""
    constant_pct: str = ""  # text: empty means "not given" (a float field cannot say so)

    @classmethod
    def from_settings(cls) -> RiskFreeResource:
        csv_path, constant_pct = settings.risk_free_settings()
        return cls(csv_path=csv_path, constant_pct=constant_pct)

    def rate(self) -> RiskFreeRate:
        pct = float(self.constant_pct) if self.constant_pct.strip() else None
        return configured_risk_free(self.csv_path or None, pct)

    def series(self, periods, frequency: str) -> tuple[pd.Series, str, str]:
        """Simple rate per period start (``weekly`` or ``daily``), its source label and a note for the
        metadata."""
        rf = self.rate()
        idx = pd.DatetimeIndex(periods)
        out = rf.weekly(idx) if frequency == "weekly" else rf.daily(idx)
        out.index = idx
        return out, str(rf.source), rf.coverage_note(idx)
