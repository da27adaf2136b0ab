"""Quality checks of the factor tables: one ``TableChecks`` per table (names are module constants).

Every table has a blocking unique-key check; numeric checks make sure what is stored is finite
(NULL means "not defined", e.g. an empty leg) and in range.
"""

from __future__ import annotations

import dataclasses

from cryptofactor_assets.factors import tables
from cryptofactor_assets.lib.checks import ExtraCheck, TableChecks
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.quality import CheckOutcome
from cryptofactor_assets.storage.warehouse import load_sql

__all__ = [
    "CHARACTERISTIC_PORTFOLIOS", "FACTOR_RETURNS_DAILY", "FACTOR_RETURNS_WEEKLY", "FAMA_MACBETH_GAMMAS",
    "FAMA_MACBETH_PREMIA", "LONG_SHORT_ALPHAS", "LTW_REPLICATION", "REGIME_SIGNALS", "ROLLING_BETAS",
    "ROLLING_BETAS_R2_RANGE", "TableChecks", "WEEKLY_CHARACTERISTICS",
]

#: R² of the rolling regressions must lie in [0, 1].
ROLLING_BETAS_R2_RANGE = "rolling_betas_r2_in_unit_interval"


def _rolling_betas_in_range(con, table, column, start, end) -> CheckOutcome:
    n = con.execute(load_sql("count_rolling_betas_out_of_range", domain="factors"),
                    {"start": start, "end": end}).fetchone()[0]
    return CheckOutcome(n == 0, int(n), f"{n} rows out of range")


WEEKLY_CHARACTERISTICS = TableChecks(
    tables.WEEKLY_CHARACTERISTICS, ("symbol", "week_start"), "week_start",
    ("mcap", "prc", "maxdprc", "r1_0", "r2_0", "r3_0", "r4_0", "r4_1", "vol", "prcvol", "stdprcvol", "age"),
)
CHARACTERISTIC_PORTFOLIOS = TableChecks(
    tables.CHARACTERISTIC_PORTFOLIOS, ("characteristic", "week_start", "portfolio"), "week_start",
    ("ew_ret", "vw_ret"),
)
#: The chapter's factors (VOL, FUND, CHAIN) are checked finite where defined, not defined after the warm-up:
#: FUND and CHAIN are NULL where their input does not exist (no funding on spot / file sources, no on-chain file).
FACTOR_RETURNS_WEEKLY = TableChecks(
    tables.FACTOR_RETURNS_WEEKLY, ("week_start", "construction"), "week_start",
    ("cmkt", "csmb", "cmom", "rf", "mkt_ret", "cvol", "cfund", "cchain"), ("cmkt", "csmb", "cmom"),
)
FACTOR_RETURNS_DAILY = TableChecks(
    tables.FACTOR_RETURNS_DAILY, ("date",), "date", ("mkt", "size", "mom", "rf", "mkt_ret", "vol", "fund", "chain"),
    ("mkt", "size", "mom"),
)
ROLLING_BETAS = TableChecks(
    tables.ROLLING_BETAS, ("symbol", "date"), "date",
    ("alpha", "beta_mkt", "beta_size", "beta_mom", "beta_mkt_se", "r2", "resid_vol", "alpha_se", "beta_size_se",
     "beta_mom_se", "beta_vol", "beta_fund", "beta_chain", "beta_vol_se", "beta_fund_se", "beta_chain_se"),
    extra=(ExtraCheck(ROLLING_BETAS_R2_RANGE, "0 <= r2 <= 1 and resid_vol > 0 (n_obs >= min_obs)",
                      _rolling_betas_in_range),),
)
FAMA_MACBETH_GAMMAS = TableChecks(
    tables.FAMA_MACBETH_GAMMAS, ("week_start", "spec", "coefficient"), "week_start", ("gamma", "cs_r2"),
)
FAMA_MACBETH_PREMIA = TableChecks(
    tables.FAMA_MACBETH_PREMIA, ("spec", "coefficient"), None, ("mean", "std", "t", "nw_t", "shanken_t", "dk_t"),
)
LONG_SHORT_ALPHAS = TableChecks(
    tables.LONG_SHORT_ALPHAS, ("characteristic", "weighting"), None,
    ("mean", "mean_t_nw", "capm_alpha", "capm_alpha_t", "f3_alpha", "f3_alpha_t"),
)
REGIME_SIGNALS = TableChecks(
    tables.REGIME_SIGNALS, ("symbol",), None, ("beta_mkt_mean", "beta_cv", "r2_longrun", "r2_recent", "max_abs_z"),
)
LTW_REPLICATION = TableChecks(
    tables.LTW_REPLICATION, ("series", "name", "portfolio", "weighting", "week_start"), None, ("ret",),
)
LTW_LONG_SHORT_ALPHAS = TableChecks(
    tables.LTW_LONG_SHORT_ALPHAS, ("characteristic", "weighting"), None,
    ("mean", "mean_t_nw", "capm_alpha", "capm_alpha_t", "capm_beta", "f3_alpha", "f3_alpha_t"),
)
#: ltw_replication's asset writes ltw_long_short_alphas beside its own table: that table's unique-key and
#: finite-values checks (same names as a table of its own) join the asset's checks.
LTW_REPLICATION_WITH_ALPHAS = dataclasses.replace(LTW_REPLICATION, extra=(
    *LTW_REPLICATION.extra,
    ExtraCheck(LTW_LONG_SHORT_ALPHAS.unique_name, f"{tables.LTW_LONG_SHORT_ALPHAS}: "
                                                  f"({', '.join(LTW_LONG_SHORT_ALPHAS.key)}) unique", blocking=True,
               outcome=lambda con, *_: quality.unique_key(con, tables.LTW_LONG_SHORT_ALPHAS,
                                                          list(LTW_LONG_SHORT_ALPHAS.key), None, None, None)),
    ExtraCheck(LTW_LONG_SHORT_ALPHAS.finite_name, f"{tables.LTW_LONG_SHORT_ALPHAS}: "
                                                  f"{', '.join(LTW_LONG_SHORT_ALPHAS.finite)} finite where defined",
               outcome=lambda con, *_: quality.finite(con, tables.LTW_LONG_SHORT_ALPHAS,
                                                      list(LTW_LONG_SHORT_ALPHAS.finite), None, None, None)),
))
