"""The weekly prediction assets: the point-in-time feature matrix and the factor risk model (specs and
configs; the numerics are in ``prediction.compute``, the reads in ``prediction.reads``)."""

import dagster as dg
import pandas as pd

from cryptofactor_assets.common import md
from cryptofactor_assets.factors.tables import (
    FACTOR_RETURNS_DAILY,
    ROLLING_BETAS,
    WEEKLY_CHARACTERISTICS,
)
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.panels.tables import DAILY_PANEL, WEEKLY_PANEL
from cryptofactor_assets.partitions import previous_weeks, weekly_partitions
from cryptofactor_assets.prediction import checks
from cryptofactor_assets.prediction.compute import (
    DAILY_FACTORS,
    FEATURE_LOOKBACK_WEEKS,
    MIN_RSJ_DAYS,
    compute_feature_matrix,
    compute_risk_model,
    feature_coverage,
)
from cryptofactor_assets.prediction.features import ALL_FEATURES
from cryptofactor_assets.prediction.reads import mondays, read_feature_inputs, read_risk_inputs
from cryptofactor_assets.prediction.resources import RISK_FREE_KEYS, risk_free
from cryptofactor_assets.prediction.tables import FACTOR_RISK_MODEL, FACTOR_RISK_MODEL_WEEKS, FEATURE_MATRIX
from cryptofactor_assets.rsj.tables import RSJ_DAILY
from cryptofactor_assets.storage.replace import SqlInsert
from cryptofactor_assets.storage.warehouse import frame_markdown, load_sql

GROUP = "prediction"
#: Weekly look-back of the risk model's daily inputs (covers the rolling betas' default 90-day window).
RISK_LOOKBACK_WEEKS = 13


class FeatureMatrixConfig(dg.Config):
    min_rsj_days: int = MIN_RSJ_DAYS  # days with a defined RSJ a week needs for the RSJ features


@table_asset(checks.FEATURE_MATRIX, group=GROUP, partitions_def=weekly_partitions, config=FeatureMatrixConfig,
             required_resource_keys=RISK_FREE_KEYS, deps=[
                 dg.AssetDep(WEEKLY_CHARACTERISTICS, partition_mapping=previous_weeks(1)),
                 dg.AssetDep(WEEKLY_PANEL, partition_mapping=previous_weeks(FEATURE_LOOKBACK_WEEKS + 1)),
                 dg.AssetDep(DAILY_PANEL, partition_mapping=previous_weeks(FEATURE_LOOKBACK_WEEKS + 1)),
                 dg.AssetDep(ROLLING_BETAS, partition_mapping=previous_weeks(1)),
                 dg.AssetDep(RSJ_DAILY, partition_mapping=previous_weeks(1)),
             ])
def feature_matrix(run: TableRun) -> TableOutput:
    """Point-in-time features per coin-week t and the next-week targets (`prediction.features`).

    Features, all known at the end of week t: the 12 LTW characteristics (MAXDPRC in logs), rolling
    betas on the daily factors as of the week's last day (beta_mkt, beta_size, beta_mom, beta_vol,
    beta_fund, beta_chain, alpha, R², idiosyncratic vol), realised vol (1 and 4 weeks), max / min daily return, Amihud illiquidity,
    turnover, dollar-volume growth, and weekly RSJ aggregates (Zhang & Zhao 2023) when `rsj_daily`
    exists. Targets: `y_next` = return of week t+1 minus the weekly risk-free rate, `y_up` = 1{y_next > 0}.

    Partitions: partition w stores the features of week w, with the target filled if week w+1 is
    already stored (always inside a backfill), and fills the target of week w-1 (whose features it
    leaves untouched) now that week w's return exists. A weekly run therefore completes the previous
    row; `y_next` is NULL only for the newest week.
    """
    start, end, min_rsj_days = run.start, run.end, run.config.min_rsj_days
    prev = pd.Timestamp(start) - pd.Timedelta(weeks=1)
    inputs = read_feature_inputs(run.con, start, end, min_rsj_days, risk_free(run))
    rsj_note, rf_note = inputs.pop("rsj_note"), inputs.pop("rf_note")
    frame = compute_feature_matrix(**inputs, min_rsj_days=min_rsj_days)
    current = frame[frame["week_start"] >= pd.Timestamp(start)]
    # the targets of the stored rows of the week before the window (their features untouched), in
    # the write's transaction
    previous_targets = SqlInsert(load_sql("update_feature_matrix_targets"), frames={
        "incoming_targets": frame.loc[frame["week_start"] == prev,
                                      ["symbol", "week_start", "ret_next", "rf_next", "y_next", "y_up"]]})
    coverage, summary = feature_coverage(current)

    def metadata(_written) -> dict:
        filled = run.con.execute(load_sql("count_feature_matrix_targets_of_week"), {"week": prev.date()}).fetchone()[0]
        return {
            "rows_with_target": int(current["y_next"].notna().sum()),
            "previous_week_targets_filled": int(filled),
            "rsj": rsj_note,
            "risk_free": rf_note,
            "parameters": md(f"min_rsj_days={min_rsj_days}, beta window="
                             f"{frame['beta_window_days'].iloc[0] if len(frame) else None} days, "
                             f"features={len(ALL_FEATURES)}"),
            "feature_coverage_eligible": md(frame_markdown(coverage)),
            "feature_summary_eligible": md(frame_markdown(summary)),
        }

    return TableOutput({FEATURE_MATRIX: current}, after=[previous_targets], metadata=metadata, empty_reason=(
        f"needs weekly_characteristics rows for the weeks {start} .. {end} (exclusive); none stored"))


class RiskModelConfig(dg.Config):
    ddof: int = 1  # of the factor covariance, the residual variances and the sample covariance


@table_asset(checks.FACTOR_RISK_MODEL, group=GROUP, partitions_def=weekly_partitions, config=RiskModelConfig, deps=[
    dg.AssetDep(ROLLING_BETAS, partition_mapping=dg.TimeWindowPartitionMapping()),
    dg.AssetDep(FACTOR_RETURNS_DAILY, partition_mapping=previous_weeks(RISK_LOOKBACK_WEEKS)),
    dg.AssetDep(DAILY_PANEL, partition_mapping=previous_weeks(RISK_LOOKBACK_WEEKS)),
])
def factor_risk_model(run: TableRun) -> TableOutput:
    """Factor risk model Sigma = B Omega_f B' + D per week, as of the week's last day d (Grinold & Kahn,
    ch. 3): B = rolling betas of day d on the daily factors the rolling regressions used (MKT, SIZE, MOM
    and VOL, FUND, CHAIN where their inputs exist; `factors` column), Omega_f = covariance of those daily
    factors over the same window (d - window, d], D = residual variances SSR / (n - ddof). Per coin:
    total, systematic and residual daily variance, explained-variance ratio, the sample variance over
    the window; parameter count N K + K(K+1)/2 + N against N(N+1)/2. `factor_risk_model_weeks` holds
    per week the reproduction check: same-sample OLS reproduces the sample covariance of the coins
    complete over the window (diagonal exactly, off-diagonal up to the residual cross-covariance).
    """
    ddof, weeks = run.config.ddof, mondays(run.start, run.end)
    betas, daily, factors = read_risk_inputs(run.con, run.start, run.end, RISK_LOOKBACK_WEEKS)
    table, week_table = compute_risk_model(betas, daily, factors, weeks, ddof)
    used = sorted(set(week_table["factors"])) if len(week_table) else []
    meta = {"parameters": md(f"ddof={ddof}, factors = the rolling betas' (daily): {used or list(DAILY_FACTORS)}, "
                             "window = the rolling betas' window_days")}
    if len(week_table):
        meta["weeks"] = md(frame_markdown(week_table[[
            "week_start", "n_coins", "n_complete_coins", "n_params_factor", "n_params_full", "mean_explained_ratio",
            *[c for c in ("relative_offdiag_error", "reproduction_ok") if c in week_table]]].tail(12)))
        last = table[table["week_start"] == table["week_start"].max()]
        betas_shown = [c for c in last.columns if c.startswith("beta_") and last[c].notna().any()]
        meta["last_week_by_coin"] = md(frame_markdown(last[[
            "symbol", *betas_shown, "total_var", "sample_var", "explained_ratio"]]))
    return TableOutput(
        {FACTOR_RISK_MODEL: table, FACTOR_RISK_MODEL_WEEKS: week_table}, metadata=meta, empty_reason=(
            f"needs rolling betas on the weeks' last days (a rolling beta needs the daily factors and >= its "
            f"min_obs daily observations per coin); rolling_betas holds {len(betas)} rows on the {len(weeks)} "
            "last days of the window's weeks"))
