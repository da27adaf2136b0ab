"""The factor-model validation assets over everything stored: PCA factors, factor-model diagnostics
and the metrics dashboard (configs and specs; the numerics are in ``prediction.compute`` and
``prediction.dashboard``)."""

import warnings

import dagster as dg
import pandas as pd

from cryptofactor_assets.analytics.plots import line_plot_png, png_markdown
from cryptofactor_assets.common import md
from cryptofactor_assets.factors import research
from cryptofactor_assets.factors.tables import (
    FACTOR_RETURNS_WEEKLY,
    LONG_SHORT_ALPHAS,
    REGIME_SIGNALS,
    ROLLING_BETAS,
)
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.panels.tables import WEEKLY_PANEL
from cryptofactor_assets.prediction import checks, monte_carlo
from cryptofactor_assets.prediction import diagnostics as dgn
from cryptofactor_assets.prediction.compute import (
    WEEKLY_FACTORS,
    compute_diagnostics,
    compute_pca,
    empty_diagnostics,
)
from cryptofactor_assets.prediction.dashboard import compute_dashboard
from cryptofactor_assets.prediction.reads import weekly_excess_returns
from cryptofactor_assets.prediction.resources import RISK_FREE_KEYS, risk_free
from cryptofactor_assets.prediction.tables import (
    FACTOR_MODEL_DIAGNOSTICS,
    FM_MONTE_CARLO,
    FM_PREDICTION_REGIMES,
    FM_REGIMES,
    FM_ROLLING,
    METRICS_DASHBOARD,
    PCA_EXPLAINED,
    PCA_FACTORS,
    PCA_LOADINGS,
    PREDICTION_FORECASTS,
    PREDICTION_WALK_FORWARD,
)
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import frame_markdown, load_sql, table_exists

GROUP = "prediction"


def _notes(notes: list[str]) -> str:
    return md("\n".join(f"- {n}" for n in notes))


class PcaConfig(dg.Config):
    n_components: int = 3
    method: str = "em"  # em (Stock-Watson EM imputation) | pairwise
    min_obs: int = 26  # weeks a coin needs to enter
    construction: str = "double_sort"  # of the CMKT / CSMB / CMOM compared with
    universe_only: bool = False


@table_asset(checks.PCA_FACTORS, group=GROUP, config=PcaConfig, required_resource_keys=RISK_FREE_KEYS,
             deps=[WEEKLY_PANEL, FACTOR_RETURNS_WEEKLY])
def pca_factors(run: TableRun) -> TableOutput:
    """Statistical factors: PCA of the weekly excess-return panel (every stored week; coins with at least
    `min_obs` weeks). Missing coin-weeks: EM imputation of the rank-k model (Stock & Watson 2002) or the
    pairwise-complete covariance (`prediction.pca`). Tables: `pca_factors` (factor series per week),
    `pca_explained` (eigenvalue, variance explained, cumulative, correlation with CMKT / CSMB / CMOM of
    the same week) and `pca_loadings`.
    """
    config, notes = run.config, []
    wide = weekly_excess_returns(run.con, risk_free(run), notes, config.universe_only)
    given = research.read_weekly_factors(run.con, config.construction)
    n_ok = int((wide.notna().sum() >= config.min_obs).sum()) if len(wide) else 0
    if n_ok < config.n_components:
        series, expl, loads = pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
        notes.append(f"{n_ok} coins with >= {config.min_obs} weeks: too few for {config.n_components} components")
    else:
        series, expl, loads = compute_pca(wide, given, config.n_components, config.method, config.min_obs)
    meta = {"parameters": md(f"n_components={config.n_components}, method={config.method}, min_obs={config.min_obs}, "
                             f"construction={config.construction}, universe_only={config.universe_only}"),
            "notes": _notes(notes)}
    if len(expl):
        meta["explained_and_correlations"] = md(frame_markdown(expl[[
            "component", "explained_ratio", "cumulative_ratio", "corr_cmkt", "corr_csmb", "corr_cmom"]]))
        wide_f = series.pivot(index="week_start", columns="component", values="value")
        meta["factors_cumulative"] = md(png_markdown(line_plot_png(wide_f.cumsum(), "PCA factors (cumulative "
                                                                                    "scores)"), "pca"))
    return TableOutput({PCA_FACTORS: series, PCA_EXPLAINED: expl, PCA_LOADINGS: loads}, metadata=meta)


class DiagnosticsConfig(dg.Config):
    construction: str = "double_sort"
    min_obs: int = 26  # weeks per coin for the time-series fit
    se_type: str = dgn.TS_SE_TYPE  # coin alpha / beta t's: hac (Newey-West, default) | white | hc3 | classical ...
    lag_rule: str = str(dgn.TS_LAG_RULE)  # Newey-West lags per coin: a rule (4t100, t14) or an integer
    resid_lags: int = 4
    resid_min_obs: int = 30
    rolling_window: int = 52
    rolling_horizon: int = 13
    regime_lookback: int = 12
    prediction_scheme: str = "expanding"
    mc_reps: int = monte_carlo.REPS
    mc_lengths: list[int] = list(monte_carlo.LENGTHS)
    mc_noises: list[float] = list(monte_carlo.NOISES)
    mc_seed: int = monte_carlo.SEED


@table_asset(checks.FACTOR_MODEL_DIAGNOSTICS, group=GROUP, config=DiagnosticsConfig,
             required_resource_keys=RISK_FREE_KEYS, deps=[WEEKLY_PANEL, FACTOR_RETURNS_WEEKLY, PREDICTION_WALK_FORWARD])
def factor_model_diagnostics(run: TableRun) -> TableOutput:
    """Validation of the CMKT / CSMB / CMOM model on weekly excess returns (`prediction.diagnostics`):
    per-coin time-series OLS (alpha, betas, robust t: Newey-West by default, `se_type`; R²; the t of the
    cross-sectional mean alpha; `factor_model_ts_fit`), per-week
    cross-sectional R² on the betas (`factor_model_cs_r2`), loading t-stats (`factor_model_loadings`),
    residual tests from statsmodels (Ljung-Box, ARCH-LM, Breusch-Pagan, Jarque-Bera;
    `factor_model_residual_tests`), rolling-window out-of-sample fit (`factor_model_rolling_validation`),
    regime validation on past-only bull / bear / high-vol labels from CMKT (`factor_model_regimes`,
    and the walk-forward forecasts by regime in `factor_model_prediction_regimes`), and a Monte Carlo
    study of beta / premium estimation error against sample length and noise (`factor_model_monte_carlo`).
    `factor_model_diagnostics` holds the headline figures.
    """
    config, con, notes = run.config, run.con, []
    returns = weekly_excess_returns(con, risk_free(run), notes)
    factors = research.read_weekly_factors(con, config.construction)
    forecasts = None
    if table_exists(con, PREDICTION_FORECASTS):
        forecasts = read_sql_frame(con, load_sql("select_prediction_forecasts_of_scheme"),
                                   {"scheme": config.prediction_scheme}, ["week_start"])
    n_weeks = factors[list(WEEKLY_FACTORS)].dropna().shape[0] if len(factors) else 0
    if n_weeks < config.min_obs or returns.empty:
        # too short a history: empty tables (and the data-free Monte Carlo study), said so in the metadata
        notes.append(f"{n_weeks} weeks with CMKT, CSMB, CMOM ({config.construction}) and returns < min_obs="
                     f"{config.min_obs}: diagnostics tables left empty")
        tables = empty_diagnostics(config)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # statsmodels 0.15 het_arch return-type notice
            tables = compute_diagnostics(returns, factors, forecasts, config)
    mc = tables[FM_MONTE_CARLO]

    def metadata(written) -> dict:
        return {
            "rows_per_table": md(frame_markdown(pd.DataFrame([{"table": t, "rows": w.inserted}
                                                               for t, w in written.items()]))),
            "summary": md(frame_markdown(tables[FACTOR_MODEL_DIAGNOSTICS].drop(columns="construction",
                                                                              errors="ignore"))),
            "regimes": md(frame_markdown(tables[FM_REGIMES])),
            "prediction_by_regime": md(frame_markdown(tables[FM_PREDICTION_REGIMES])),
            "rolling_validation": md(frame_markdown(tables[FM_ROLLING])),
            "monte_carlo": md(frame_markdown(mc[mc["parameter"].isin(["beta_0", "premium_0"])])),
            "monte_carlo_plot": md(png_markdown(monte_carlo.plot_study(mc), "Monte Carlo RMSE")),
            "parameters": md(f"construction={config.construction}, min_obs={config.min_obs}, "
                             f"lags={config.resid_lags}, rolling={config.rolling_window}/{config.rolling_horizon}, "
                             f"regime_lookback={config.regime_lookback}, mc_reps={config.mc_reps}, "
                             f"seed={config.mc_seed}"),
            "notes": _notes(notes),
        }

    return TableOutput(tables, metadata=metadata)


class DashboardConfig(dg.Config):
    construction: str = "double_sort"
    prediction_scheme: str = "expanding"


@table_asset(checks.METRICS_DASHBOARD, group=GROUP, config=DashboardConfig, deps=[
    FACTOR_MODEL_DIAGNOSTICS, PREDICTION_WALK_FORWARD, LONG_SHORT_ALPHAS, REGIME_SIGNALS, FACTOR_RETURNS_WEEKLY,
    ROLLING_BETAS])
def metrics_dashboard(run: TableRun) -> TableOutput:
    """The chapter's headline metrics, one markdown table per section: factor R² (time-series,
    cross-sectional, rolling), annualised alphas with t (coins and VW long-short portfolios), beta
    stability (regime signals), Spearman IC of the walk-forward forecasts, factor Sharpe ratios
    (sqrt(52) mean / sd) and Lasso sparsity. Read from the stored tables; stored in `metrics_dashboard`.
    """
    config = run.config
    table, notes = compute_dashboard(run.con, config.construction, config.prediction_scheme)
    meta = {section: md(frame_markdown(g[["metric", "value", "detail"]].reset_index(drop=True)))
            for section, g in table.groupby("section", sort=False)}
    if notes:
        meta["notes"] = _notes(notes)
    return TableOutput({METRICS_DASHBOARD: table.assign(construction=config.construction,
                                                        prediction_scheme=config.prediction_scheme)}, metadata=meta)
