"""The RSJ tables as pure functions of frames (no Dagster): `rsj_portfolios_daily` rows from rsj_daily and
daily_panel rows, the `rsj_backtest` reports and their long layout, and the parameters they share with
the asset configs and the look-back of the portfolio partitions.

Numerics: ``rsj.portfolios.rsj_quintile_portfolios`` and ``analytics.backtest.backtest_report``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptofactor_assets.analytics.backtest import DEFAULT_LAG_RULE, BacktestReport, backtest_report
from cryptofactor_assets.rsj.portfolios import (
    DEFAULT_BALANCED_LEGS,
    DEFAULT_FEE_BPS,
    DEFAULT_MIN_MARKET_CAP,
    DEFAULT_N_QUANTILES,
    DEFAULT_TOP_N,
    DEFAULT_TRAILING_DAYS,
    RSJPortfolios,
    rsj_quintile_portfolios,
)

__all__ = [
    "DEFAULT_BALANCED_LEGS", "DEFAULT_FEE_BPS", "DEFAULT_LAG_RULE", "DEFAULT_MIN_DAYS", "DEFAULT_MIN_MARKET_CAP",
    "DEFAULT_N_QUANTILES", "DEFAULT_TOP_N",
    "DEFAULT_TRAILING_DAYS", "PORTFOLIO_LOOKBACK_DAYS", "backtest_long_frame", "backtest_markdown",
    "compute_rsj_backtest", "compute_rsj_portfolios", "empty_portfolios", "lag_rule", "latest_value",
    "portfolio_lookback", "portfolios_long_format",
]

#: Fewer held days than this: rsj_backtest is an empty table with a note.
DEFAULT_MIN_DAYS = 10
#: The backtest uses factor_returns_daily.mkt when it covers at least this share of the held days.
MARKET_MIN_COVERAGE = 0.5
#: Parameter columns of rsj_portfolios_daily repeated in rsj_backtest (latest stored value).
PORTFOLIO_PARAMETERS = ("top_n", "trailing_days", "n_quantiles", "fee_bps", "min_share", "min_market_cap",
                        "balanced_legs", "max_zero_share", "include_midnight")
#: rsj_daily's parameters, per formation day, stored on the portfolio rows.
RSJ_DAILY_PARAMETERS = ("min_share", "max_zero_share", "include_midnight")

PORTFOLIO_COLUMNS = [
    "date", "date_formed", "weighting", "weight_source", "portfolio", "quantile", "gross", "turnover", "cost",
    "net", "n_coins", "n_long", "n_short", "n_universe", "top_n", "trailing_days", "n_quantiles", "fee_bps",
    "min_share", "min_market_cap", "cap_filter", "balanced_legs", "max_zero_share", "include_midnight",
]
BACKTEST_STATS = [
    "n_periods", "mean", "mean_t_nw", "nw_lags", "ann_return", "cagr", "total_return", "ann_vol", "sharpe",
    "sortino", "max_drawdown", "win_rate", "beta", "beta_t_nw", "alpha", "alpha_ann", "alpha_t_nw",
    "market_lags", "n_market_periods", "avg_coins_long", "avg_coins_short",
]


def portfolio_lookback(trailing_days: int) -> int:
    """Days read before the first holding day so its turnover equals that of an unbroken run.

    Holding day d is formed on d-1; its turnover compares with the weights formed on d-2 (drifted over
    d-1), whose universe needs the trailing dollar volume of (d-2-k, d-2], k = ``trailing_days``.
    """
    return trailing_days + 1


#: The look-back of the default configuration (the declared partition look-back of the portfolios).
PORTFOLIO_LOOKBACK_DAYS = portfolio_lookback(DEFAULT_TRAILING_DAYS)


def _ts(d) -> pd.Timestamp:
    return pd.Timestamp(d)


def rsj_daily_parameters(rsj: pd.DataFrame) -> pd.DataFrame:
    """rsj_daily's parameters per formation day (index date) from its rows (the columns they have)."""
    cols = [c for c in RSJ_DAILY_PARAMETERS if c in rsj.columns]
    if not cols or rsj.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    return rsj.groupby("date")[cols].max()


def portfolios_long_format(out: RSJPortfolios, rsj_params: pd.DataFrame | None = None) -> pd.DataFrame:
    """The quantile and long-short rows of ``out`` in the `rsj_portfolios_daily` layout (keyed by holding day).

    Quantile rows: gross = the quantile's held return, cost = fee x its turnover. LS rows: gross =
    r_Q1 - r_Qn, turnover of both legs, n_coins = n_long + n_short. ``rsj_params``: rsj_daily's
    parameters (min_share, max_zero_share, include_midnight) per formation day (index date,
    :func:`rsj_daily_parameters`); the universe's cap_filter per formation day comes from ``out``.
    """
    fee = out.fee_bps * 1e-4
    q = out.quantiles
    quant = pd.DataFrame({
        "date": q["date_held"], "date_formed": q["date_formed"], "weighting": q["weighting"],
        "weight_source": q["weight_source"], "portfolio": "Q" + q["quantile"].astype(str),
        "quantile": q["quantile"].astype("Int64"), "gross": q["ret"], "turnover": q["turnover"],
        "cost": fee * q["turnover"], "n_coins": q["n_coins"],
        "n_long": pd.array([pd.NA] * len(q), dtype="Int64"), "n_short": pd.array([pd.NA] * len(q), dtype="Int64"),
    })
    quant["net"] = quant["gross"] - quant["cost"]
    ls = out.long_short
    long_short = pd.DataFrame({
        "date": ls["date_held"], "date_formed": ls["date_formed"], "weighting": ls["weighting"],
        "weight_source": ls["weight_source"], "portfolio": "LS",
        "quantile": pd.array([pd.NA] * len(ls), dtype="Int64"), "gross": ls["gross"], "turnover": ls["turnover"],
        "cost": ls["cost"], "net": ls["net"], "n_coins": ls["n_long"] + ls["n_short"],
        "n_long": ls["n_long"].astype("Int64"), "n_short": ls["n_short"].astype("Int64"),
    })
    frame = pd.concat([quant, long_short], ignore_index=True)
    universe = out.universe.set_index("date_formed")
    frame["n_universe"] = frame["date_formed"].map(universe["n_universe"]).astype("int64")
    frame["cap_filter"] = frame["date_formed"].map(universe["cap_filter"])
    frame = frame.assign(top_n=out.top_n, trailing_days=out.trailing_days, n_quantiles=out.n_quantiles,
                         fee_bps=float(out.fee_bps), min_market_cap=float(out.min_market_cap),
                         balanced_legs=bool(out.balanced_legs))
    for column in RSJ_DAILY_PARAMETERS:
        given = rsj_params is not None and column in rsj_params.columns and len(rsj_params)
        frame[column] = frame["date_formed"].map(rsj_params[column]) if given else np.nan
    frame["include_midnight"] = frame["include_midnight"].astype("boolean")
    return frame[PORTFOLIO_COLUMNS].sort_values(["date", "weighting", "portfolio"], ignore_index=True)


def empty_portfolios() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in PORTFOLIO_COLUMNS})
    for c in ("date", "date_formed"):
        frame[c] = pd.Series(dtype="datetime64[ns]")
    for c in ("weighting", "weight_source", "portfolio", "cap_filter"):
        frame[c] = pd.Series(dtype="object")
    for c in ("balanced_legs", "include_midnight"):
        frame[c] = pd.Series(dtype="boolean")
    return frame


def compute_rsj_portfolios(rsj: pd.DataFrame, panel: pd.DataFrame, start, end, top_n: int = DEFAULT_TOP_N,
                           trailing_days: int = DEFAULT_TRAILING_DAYS, n_quantiles: int = DEFAULT_N_QUANTILES,
                           fee_bps: float = DEFAULT_FEE_BPS, min_market_cap: float = DEFAULT_MIN_MARKET_CAP,
                           balanced_legs: bool = DEFAULT_BALANCED_LEGS) -> tuple[pd.DataFrame, RSJPortfolios | None]:
    """`rsj_portfolios_daily` rows for the holding days in [start, end).

    ``rsj``: rsj_daily rows (symbol, date, rsj and its parameters min_share, max_zero_share,
    include_midnight) of [start - lookback, end - 1) (formation days only: the RSJ of a holding day is
    never read); ``panel``: daily_panel rows (symbol, date, ret, market_cap, dollar_volume) of
    [start - lookback, end). The rows before ``start`` only warm up the trailing volume and the
    previous weights (turnover), then are dropped.
    """
    if rsj.empty or panel.empty or not np.isfinite(rsj["rsj"].to_numpy(dtype=float)).any():
        return empty_portfolios(), None
    out = rsj_quintile_portfolios(rsj[["symbol", "date", "rsj"]], panel, top_n=top_n, trailing_days=trailing_days,
                                  n_quantiles=n_quantiles, fee_bps=fee_bps, min_market_cap=min_market_cap,
                                  balanced_legs=balanced_legs)
    frame = portfolios_long_format(out, rsj_daily_parameters(rsj))
    frame = frame.loc[(frame["date"] >= _ts(start)) & (frame["date"] < _ts(end))].reset_index(drop=True)
    return frame, out


def portfolio_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (weighting, portfolio): days, mean gross and net return in %, mean turnover and coins."""
    per_portfolio = (frame.groupby(["weighting", "portfolio"])
                     .agg(days=("gross", "count"), mean_gross_pct=("gross", "mean"), mean_net_pct=("net", "mean"),
                          mean_turnover=("turnover", "mean"), mean_coins=("n_coins", "mean")).reset_index())
    per_portfolio[["mean_gross_pct", "mean_net_pct"]] *= 100
    return per_portfolio


def lag_rule(value: str):
    """The Newey-West lag rule of a config text: an integer lag, or a rule name ('4t100', 't14'...)."""
    return int(value) if value.strip().isdigit() else value.strip()


def compute_rsj_backtest(ports: pd.DataFrame, market: pd.Series | None, nw_lags=DEFAULT_LAG_RULE,
                         min_days: int = DEFAULT_MIN_DAYS) -> dict[tuple[str, str, str], BacktestReport]:
    """backtest_report of every (portfolio, weighting) series, gross and net, from rsj_portfolios_daily rows.

    LS series carry the coins per leg (n_long, n_short); beta and alpha against ``market`` (aligned by
    holding day). Series with fewer than ``min_days`` returns are skipped.
    """
    reports: dict[tuple[str, str, str], BacktestReport] = {}
    for (portfolio, weighting), g in ports.groupby(["portfolio", "weighting"], sort=True):
        g = g.set_index("date").sort_index()
        for returns in ("gross", "net"):
            r = g[returns].astype(float)
            if r.notna().sum() < max(min_days, 3):
                continue
            legs = ({"n_long": g["n_long"].astype(float), "n_short": g["n_short"].astype(float)}
                    if portfolio == "LS" else {})
            reports[(portfolio, weighting, returns)] = backtest_report(r, 365, market=market, nw_lags=nw_lags, **legs)
    return reports


def backtest_long_frame(reports: dict[tuple[str, str, str], BacktestReport]) -> pd.DataFrame:
    """Long table (portfolio, weighting, returns, stat, value, first_date, last_date) of reports keyed by
    (portfolio, weighting, returns); every numeric BacktestReport field is a row (None -> NULL)."""
    rows = []
    for (portfolio, weighting, returns), rep in reports.items():
        d = rep.as_dict()
        for stat in BACKTEST_STATS:
            v = d.get(stat)
            rows.append({"portfolio": portfolio, "weighting": weighting, "returns": returns, "stat": stat,
                         "value": np.nan if v is None else float(v), "first_date": _ts(rep.start),
                         "last_date": _ts(rep.end)})
    return pd.DataFrame(rows)


def latest_value(frame: pd.DataFrame, column: str):
    """The value of a parameter column at the latest stored day, and whether it varies over the rows."""
    values = frame[column].dropna().unique()
    last = frame.loc[frame["date"] == frame["date"].max(), column].dropna()
    return (last.iloc[0] if len(last) else np.nan), len(values) > 1


def rsj_backtest_frame(ports: pd.DataFrame, reports: dict[tuple[str, str, str], BacktestReport],
                       market_source: str, nw_lag_rule: str) -> tuple[pd.DataFrame, list[str]]:
    """The `rsj_backtest` rows of ``reports`` with the portfolios' parameters (latest stored value each)
    and the market and lag rule used; also the parameters that vary over the stored days."""
    frame = backtest_long_frame(reports)
    mixed = []
    for column in PORTFOLIO_PARAMETERS:
        value, varies = latest_value(ports, column)
        frame[column] = value
        if varies:
            mixed.append(column)
    return frame.assign(market_source=market_source, nw_lag_rule=nw_lag_rule), mixed


def backtest_markdown(reports: dict[str, BacktestReport]) -> str:
    """One markdown table, a column per series (e.g. 'EW net'), rows as in BacktestReport.to_markdown."""
    tables = {name: rep.to_markdown().splitlines()[2:] for name, rep in reports.items()}
    names = list(tables)
    stats = [line.split(" | ")[0].lstrip("| ") for line in tables[names[0]]]
    values = {n: {line.split(" | ")[0].lstrip("| "): line.split(" | ", 1)[1].rstrip(" |") for line in lines}
              for n, lines in tables.items()}
    lines = ["| statistic | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += ["| " + s + " | " + " | ".join(values[n].get(s, "") for n in names) + " |" for s in stats]
    return "\n".join(lines)
