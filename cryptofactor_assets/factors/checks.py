"""Quality checks of the factor tables (names are module constants; the assets yield the results).

Every table has a blocking unique-key check; numeric checks make sure what is stored is finite
(NULL means "not defined", e.g. an empty leg) and in range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from cryptofactor_assets.common import check_result
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.quality import CheckOutcome


@dataclass(frozen=True)
class TableChecks:
    """The checks of one table: its key and the columns that must be finite where defined."""

    table: str
    key: tuple[str, ...]
    window_column: str | None
    finite: tuple[str, ...]
    not_null: tuple[str, ...] = ()

    @property
    def unique_name(self) -> str:
        return f"{self.table}_unique_key"

    @property
    def finite_name(self) -> str:
        return f"{self.table}_finite_values"

    @property
    def not_null_name(self) -> str:
        return f"{self.table}_defined_values"

    def specs(self) -> list[dg.AssetCheckSpec]:
        out = [
            dg.AssetCheckSpec(self.unique_name, asset=self.table, blocking=True,
                              description=f"({', '.join(self.key)}) unique"),
            dg.AssetCheckSpec(self.finite_name, asset=self.table,
                              description=f"{', '.join(self.finite)} finite where defined"),
        ]
        if self.not_null:
            out.append(dg.AssetCheckSpec(
                self.not_null_name, asset=self.table,
                description=f"{', '.join(self.not_null)} defined after the warm-up (the first "
                            f"{self.window_column} where all are defined); WARN"))
        return out

    def results(self, con, start=None, end=None) -> list[dg.AssetCheckResult]:
        col = self.window_column if start is not None else None
        out = [
            check_result(self.unique_name, quality.unique_key(con, self.table, list(self.key), col, start, end)),
            check_result(self.finite_name, quality.finite(con, self.table, list(self.finite), col, start, end)),
        ]
        if self.not_null:
            out.append(check_result(self.not_null_name, not_null(con, self.table, self.not_null, col, start, end),
                                    severity=dg.AssetCheckSeverity.WARN))
        return out


def not_null(con, table: str, columns: Sequence[str], column: str, start, end) -> CheckOutcome:
    """No NULL in the listed columns within the window after the warm-up.

    The warm-up ends at the first ``column`` value (over the whole table) where every listed column
    is defined: before it a signal lacks history (e.g. 21 days of momentum), which is expected;
    a NULL after it means a leg without coins or missing data, worth a look.
    """
    conds = " OR ".join(f"{quote_ident(c)} IS NULL" for c in columns)
    defined = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in columns)
    table_q, column_q = quote_ident(table), quote_ident(column)
    n = con.execute(
        f"SELECT count(*) FROM {table_q} WHERE {column_q} >= ? AND {column_q} < ? AND ({conds}) "
        f"AND {column_q} > (SELECT min({column_q}) FROM {table_q} WHERE {defined})", [start, end]).fetchone()[0]
    return CheckOutcome(n == 0, int(n), f"{n} rows with NULL {', '.join(columns)} after the warm-up")


WEEKLY_CHARACTERISTICS = TableChecks(
    "weekly_characteristics", ("symbol", "week_start"), "week_start",
    ("mcap", "prc", "maxdprc", "r1_0", "r2_0", "r3_0", "r4_0", "r4_1", "vol", "prcvol", "stdprcvol", "age"),
)
CHARACTERISTIC_PORTFOLIOS = TableChecks(
    "characteristic_portfolios", ("characteristic", "week_start", "portfolio"), "week_start",
    ("ew_ret", "vw_ret"),
)
FACTOR_RETURNS_WEEKLY = TableChecks(
    "factor_returns_weekly", ("week_start", "construction"), "week_start",
    ("cmkt", "csmb", "cmom", "rf", "mkt_ret"), ("cmkt", "csmb", "cmom"),
)
FACTOR_RETURNS_DAILY = TableChecks(
    "factor_returns_daily", ("date",), "date", ("mkt", "size", "mom", "rf", "mkt_ret"), ("mkt", "size", "mom"),
)
ROLLING_BETAS = TableChecks(
    "rolling_betas", ("symbol", "date"), "date",
    ("alpha", "beta_mkt", "beta_size", "beta_mom", "beta_mkt_se", "r2", "resid_vol"),
)
FAMA_MACBETH_GAMMAS = TableChecks(
    "fama_macbeth_gammas", ("week_start", "spec", "coefficient"), "week_start", ("gamma", "cs_r2"),
)
FAMA_MACBETH_PREMIA = TableChecks(
    "fama_macbeth_premia", ("spec", "coefficient"), None, ("mean", "std", "t", "nw_t", "shanken_t"),
)
LONG_SHORT_ALPHAS = TableChecks(
    "long_short_alphas", ("characteristic", "weighting"), None,
    ("mean", "mean_t_nw", "capm_alpha", "capm_alpha_t", "f3_alpha", "f3_alpha_t"),
)
REGIME_SIGNALS = TableChecks(
    "regime_signals", ("symbol",), None, ("beta_mkt_mean", "beta_cv", "r2_longrun", "r2_recent", "max_abs_z"),
)
LTW_REPLICATION = TableChecks(
    "ltw_replication", ("series", "name", "portfolio", "weighting", "week_start"), None, ("ret",),
)

#: R² of the rolling regressions must lie in [0, 1].
ROLLING_BETAS_R2_RANGE = "rolling_betas_r2_in_unit_interval"


def rolling_betas_r2_spec() -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(ROLLING_BETAS_R2_RANGE, asset=ROLLING_BETAS.table,
                             description="0 <= r2 <= 1 and resid_vol > 0 (n_obs >= min_obs)")


def rolling_betas_r2_result(con, start, end) -> dg.AssetCheckResult:
    n = con.execute(
        "SELECT count(*) FROM rolling_betas WHERE date >= ? AND date < ? "
        "AND (r2 < -1e-12 OR r2 > 1 + 1e-12 OR resid_vol <= 0 OR n_obs < min_obs)", [start, end]).fetchone()[0]
    return check_result(ROLLING_BETAS_R2_RANGE, CheckOutcome(n == 0, int(n), f"{n} rows out of range"))
