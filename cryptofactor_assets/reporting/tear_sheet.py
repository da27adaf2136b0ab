"""Tear sheet: ONE self-contained HTML page of what the DuckDB warehouse holds (tables + embedded PNG plots).

Sections, each built from the stored tables only (nothing is re-estimated here except summary
statistics of stored return series):

1. **Data summary**: every table with its row count and date coverage, rejected input rows by reason.
2. **Factor returns** (``factor_returns_weekly``): growth of 1, prod_s (1 + f_s), of CMKT, CSMB, CMOM
   (Liu, Tsyvinski & Wu 2022, JF 77(2), Table IV factors), with the drawdown below; summary statistics.
3. **Characteristic long-shorts** (``characteristic_portfolios``, portfolio ``LS`` = Qn - Q1; LTW
   Table II-III style): growth of 1 of each value-weighted long-short, statistics for EW and VW, and
   the CAPM / 3-factor alphas of ``long_short_alphas`` when stored.
4. **RSJ strategy** (``rsj_portfolios_daily`` / ``rsj_backtest``; Zhang & Zhao 2023): equity curve of
   the daily long-short (net and gross of costs when both are stored) and the stored backtest table.
5. **Strategies** (``strategy_comparison`` / ``strategy_returns``): every strategy gross and net of the
   cost model (Sharpe, NW t, drawdown, turnover, cost drag by component, CMKT beta, 3-factor alpha) and
   the net equity curve of each family's best strategy.
6. **Risk premia** (``fama_macbeth_premia``): Fama-MacBeth mean gammas with 95 % confidence
   intervals mean +- z_0.975 x se, z_0.975 = 1.95996 (normal approximation, as the stored t-stats),
   se = Newey-West se (plain se when NW is absent) and, for the betas spec, the Shanken (1992) se.
7. **Rolling betas** (``rolling_betas`` + ``daily_panel``): market beta through time of the ``top_n``
   coins with the largest last known market cap on the last estimation day.

Summary statistics of a return series are those of :func:`cryptofactor_assets.analytics.backtest.
backtest_report` (mean, annualised return P x mean, annualised vol, Sharpe mean / sd x sqrt(P),
Newey-West t of the mean, max drawdown; P = 52 for weekly series, 365 for daily ones).

Every section degrades on its own: an absent or empty table gives "not built yet: materialise X", a
table whose layout cannot be read gives a visible error paragraph (recorded in ``Section.error``);
the page itself is always produced. The page holds no external reference at all (images are
``data:image/png;base64`` URIs, CSS is inline, links are in-page anchors), so it can be mailed or
attached as one file.

Pure: takes a DuckDB connection (read-only is enough) or DataFrames; no Dagster import. This module
only composes the library: the reads of ``reporting.tear_sheet_queries`` (every catalog name quoted),
the statistics of ``reporting.stats``, the charts of ``analytics.plots`` and the rendering of
``reporting.html`` (every warehouse text HTML-escaped).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from cryptofactor_assets.analytics import plots
from cryptofactor_assets.reporting import tear_sheet_queries as q
from cryptofactor_assets.reporting.html import (
    STATUS_ERROR,
    STATUS_MISSING,
    STATUS_OK,
    Plot,
    Section,
    external_references,
    img_html,
    missing_section,
    paragraph,
    render_html,
    table_html,
)
from cryptofactor_assets.reporting.stats import (
    Z_95,
    backtest_table,
    is_long_short,
    pick_variant,
    premia_intervals,
    return_statistics,
)

__all__ = [
    "STATUS_ERROR", "STATUS_MISSING", "STATUS_OK", "Z_95", "Plot", "Section", "TearSheet", "build_tear_sheet",
    "build_tear_sheet_from_frames", "default_report_path", "external_references", "pick_variant",
    "write_tear_sheet",
]


@dataclass(frozen=True)
class TearSheet:
    """The rendered page and the pieces it was built from (for metadata and tests)."""

    html: str
    sections: tuple[Section, ...]
    table_summary: pd.DataFrame
    generated_at: str
    source_label: str

    @property
    def plots(self) -> tuple[Plot, ...]:
        return tuple(p for s in self.sections for p in s.plots)

    @property
    def first_plot(self) -> Plot | None:
        return self.plots[0] if self.plots else None

    def section(self, anchor: str) -> Section:
        return next(s for s in self.sections if s.anchor == anchor)

    def status_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "section": [s.title for s in self.sections],
            "status": [s.status for s in self.sections],
            "note": [s.error or (f"not built yet: materialise {', '.join(s.missing)}" if s.missing else s.note)
                     for s in self.sections],
        })


def _data_summary(store: q.Store) -> tuple[Section, pd.DataFrame]:
    summary = q.table_summary(store)
    parts = [paragraph(f"{len(summary)} tables, {int(summary['rows'].sum()) if len(summary) else 0:,} rows in all."),
             table_html(summary, max_rows=200)]
    tables = {"tables": summary}
    parts.append("<h3>Rejected input rows by reason</h3>")
    rejected = q.rejected_by_reason(store)
    if rejected is not None:
        tables["rejected_by_reason"] = rejected
        parts.append(table_html(rejected) if len(rejected) else paragraph("No row was rejected.", "muted"))
    else:
        parts.append(paragraph("Not built yet: materialise raw_klines_5m / raw_coin_markets (rejected_rows).",
                               "missing"))
    if summary.empty:
        parts.insert(0, paragraph("The warehouse holds no table yet: run `cryptofactor materialize` first.", "missing"))
    return Section("data", "Data summary", STATUS_OK, "".join(parts), tables=tables), summary


def _factor_section(store: q.Store) -> Section:
    anchor, title, table = "factors", "Cumulative factor returns (CMKT, CSMB, CMOM)", "factor_returns_weekly"
    missing = q.missing_tables(store, [table])
    if missing:
        return missing_section(anchor, title, missing)
    frame = store.table(table, ["week_start"])
    factors = [c for c in ("cmkt", "csmb", "cmom") if c in frame.columns]
    if not factors:
        raise ValueError(f"{table} has none of the columns cmkt, csmb, cmom (has {list(frame.columns)})")
    frame, variant = pick_variant(frame, ["construction", "breakpoint_universe", "investable_top_n", "calendar"],
                                  {"construction": "double_sort"})
    wide = frame.set_index(pd.to_datetime(frame["week_start"]))[factors].sort_index()
    plot = Plot("Cumulative weekly factor returns", plots.equity_curve_png(
        wide, title="Weekly LTW factors: growth of 1"))
    stats = return_statistics(wide, periods_per_year=52)
    body = (paragraph(f"Weekly holding-period returns, {variant or 'single variant'}; growth of 1 = prod(1 + f), "
               "drawdown from the running peak below. Statistics: P = 52, t_nw = Newey-West t of the mean.")
            + img_html(plot) + table_html(stats))
    return Section(anchor, title, STATUS_OK, body, (plot,), {"factor_stats": stats}, note=variant)


def _long_short_section(store: q.Store) -> Section:
    anchor, title, table = "long_shorts", "Characteristic long-short portfolios", "characteristic_portfolios"
    missing = q.missing_tables(store, [table])
    if missing:
        return missing_section(anchor, title, missing)
    frame = store.table(table)
    need = {"week_start", "characteristic", "portfolio"}
    if not need <= set(frame.columns):
        raise ValueError(f"{table} lacks columns {sorted(need - set(frame.columns))}")
    frame = frame[is_long_short(frame["portfolio"])]
    if frame.empty:
        raise ValueError(f"{table} holds no long-short rows (portfolio 'LS' or 'Qn-Q1')")
    frame, variant = pick_variant(frame, ["n_quantiles", "breakpoint_universe", "investable_top_n", "min_coins"])
    weightings = [c for c in ("vw_ret", "ew_ret", "ret") if c in frame.columns]
    stats, plot_list = [], []
    for col in weightings:
        wide = frame.pivot_table(index="week_start", columns="characteristic", values=col, aggfunc="first")
        wide.index = pd.to_datetime(wide.index)
        wide = wide.sort_index()
        s = return_statistics(wide, periods_per_year=52)
        s.insert(1, "weighting", col.removesuffix("_ret") if col != "ret" else "")
        stats.append(s)
        if not plot_list:  # one chart: the first weighting (value-weighted when stored)
            label = {"vw_ret": "value-weighted", "ew_ret": "equal-weighted"}.get(col, "")
            plot_list.append(Plot("Characteristic long-shorts", plots.line_plot_png(
                (1.0 + wide.fillna(0.0)).cumprod(), title=f"Qn - Q1 long-shorts ({label}): growth of 1",
                ylabel="growth of 1")))
    stats_frame = pd.concat(stats, ignore_index=True) if stats else pd.DataFrame()
    tables = {"long_short_stats": stats_frame}
    body = [paragraph(f"Long Qn, short Q1 of each characteristic sorted at week t, held over week t+1; {variant}. "
               "Statistics: P = 52, t_nw = Newey-West t of the mean."),
            *(img_html(p) for p in plot_list), table_html(stats_frame)]
    if store.has("long_short_alphas") and store.count("long_short_alphas"):
        alphas = q.long_short_alphas(store)
        keep = [c for c in ("characteristic", "weighting", "n_weeks", "mean", "mean_t_nw", "capm_alpha",
                            "capm_alpha_t", "capm_beta", "f3_alpha", "f3_alpha_t", "sharpe", "construction")
                if c in alphas.columns]
        tables["long_short_alphas"] = alphas[keep]
        body += ["<h3>Alphas (long_short_alphas; fractions per week, Newey-West t)</h3>",
                 table_html(alphas[keep])]
    else:
        body.append(paragraph("Alphas not built yet: materialise long_short_alphas.", "missing"))
    return Section(anchor, title, STATUS_OK, "".join(body), tuple(plot_list), tables, note=variant)


def _rsj_section(store: q.Store) -> Section:
    anchor, title = "rsj", "RSJ long-short strategy (equity curve)"
    daily, summary = "rsj_portfolios_daily", "rsj_backtest"
    missing = q.missing_tables(store, [daily, summary])
    body: list[str] = []
    plot_list: list[Plot] = []
    tables: dict[str, pd.DataFrame] = {}
    note = ""
    if daily not in missing:
        frame = store.table(daily)
        date_col = next((c for c in ("date_held", "date", "holding_date") if c in frame.columns), None)
        ret_cols = [c for c in ("net", "gross") if c in frame.columns] or [
            c for c in ("ls_net", "ls_ret", "ret") if c in frame.columns][:1]
        if date_col is None or not ret_cols:
            raise ValueError(f"{daily} has no date / return column (has {list(frame.columns)})")
        group_cols: list[str] = []
        if "portfolio" in frame.columns:
            ls = is_long_short(frame["portfolio"])
            if ls.any():
                frame = frame[ls]
            else:
                group_cols.append("portfolio")
        elif "quantile" in frame.columns and frame["quantile"].nunique() > 1:
            group_cols.append("quantile")
        frame, note = pick_variant(frame, ["top_n", "trailing_days", "n_quantiles", "fee_bps"])
        if "weighting" in frame.columns:
            group_cols.insert(0, "weighting")
        frame = frame.dropna(subset=ret_cols, how="all")
        wide = frame.pivot_table(index=date_col, columns=group_cols or None, values=ret_cols, aggfunc="first")
        if isinstance(wide.columns, pd.MultiIndex):
            # (value, group...) -> "vw net"; groups first so a weighting's net and gross sit together
            wide.columns = [" ".join(str(x) for x in (*c[1:], c[0])) for c in wide.columns]
        wide = wide[sorted(wide.columns)[:8]]
        wide.index = pd.to_datetime(wide.index)
        wide = wide.sort_index()
        plot_list.append(Plot("RSJ equity curve", plots.equity_curve_png(
            wide, title="RSJ long-short (low RSJ minus high RSJ): growth of 1")))
        stats = return_statistics(wide, periods_per_year=365)
        tables["rsj_stats"] = stats
        body += [paragraph("Daily long-short formed at the close of day t, held over t+1"
                    + (f"; {note}" if note else "") + ". Statistics: P = 365."),
                 img_html(plot_list[0]), table_html(stats)]
    if summary not in missing:
        bt = backtest_table(store.table(summary))
        tables["rsj_backtest"] = bt
        body += ["<h3>Stored backtest (rsj_backtest; returns as fractions, annualised where named)</h3>",
                 table_html(bt, max_rows=40)]
    if len(missing) == 2:
        return missing_section(anchor, title, missing)
    if missing:
        body.append(paragraph(f"Not built yet: materialise {missing[0]}.", "missing"))
    return Section(anchor, title, STATUS_OK, "".join(body), tuple(plot_list), tables, note=note)


#: strategy_comparison columns shown in the tear sheet (returns, drags and alpha annualised, fractions)
STRATEGY_COLUMNS = ["family", "strategy", "basis", "ann_return", "sharpe", "sharpe_t_nw", "max_drawdown",
                    "turnover_ann", "fee_drag", "spread_drag", "funding_drag", "cmkt_beta", "alpha_3f_ann",
                    "alpha_3f_t_nw"]


def _strategies_section(store: q.Store) -> Section:
    anchor, title = "strategies", "Strategy comparison, gross and net of costs"
    table, daily = "strategy_comparison", "strategy_returns"
    missing = q.missing_tables(store, [table, daily])
    if missing:
        return missing_section(anchor, title, missing)
    comp = store.table(table, ["family", "strategy", "basis"])
    shown = comp[[c for c in STRATEGY_COLUMNS if c in comp.columns]]
    net = comp[comp["basis"] == "net"].sort_values("sharpe", ascending=False)
    best = net.drop_duplicates("family")["strategy"].tolist()
    returns = store.table(daily)
    wide = returns[returns["strategy"].isin(best)].pivot_table(index="date", columns="strategy", values="net",
                                                                aggfunc="first").sort_index().fillna(0.0)
    wide.index = pd.to_datetime(wide.index)
    cost = str(returns["cost_model"].iloc[0]) if "cost_model" in returns.columns and len(returns) else ""
    plot_list = ([Plot("Strategy net equity", plots.equity_curve_png(
        wide, title="Net of costs: growth of 1, best strategy of each family"))] if len(wide) >= 2 else [])
    body = [paragraph(f"Every strategy run through one daily book (strategy_returns): {cost}. Returns, drags and "
                      "alphas annualised (365 days, fractions); Sharpe t = Newey-West t of the mean; alpha of the "
                      "regression on the daily mkt, size and mom factors.")]
    body += [img_html(p) for p in plot_list]
    body.append(table_html(shown, max_rows=120))
    return Section(anchor, title, STATUS_OK, "".join(body), tuple(plot_list), {"strategy_comparison": shown},
                   note=cost)


def _premia_section(store: q.Store) -> Section:
    anchor, title, table = "premia", "Fama-MacBeth risk premia with 95 % confidence intervals", "fama_macbeth_premia"
    missing = q.missing_tables(store, [table])
    if missing:
        return missing_section(anchor, title, missing)
    premia = store.table(table, ["spec", "coefficient"])
    if not {"coefficient", "mean"} <= set(premia.columns):
        raise ValueError(f"{table} lacks the coefficient / mean columns (has {list(premia.columns)})")
    intervals = premia_intervals(premia)
    plot = Plot("Risk premia", plots.interval_plot_png(intervals.dropna(subset=["ci_low_pct"]), "Weekly premia"))
    body = (paragraph(f"Mean weekly cross-sectional slopes; 95 % intervals = mean +- {Z_95:.4f} x se (Newey-West se; "
               "Shanken-corrected se for the betas spec). Characteristics are standardised per week when "
               "the stored spec says so (premium per 1 SD).") + img_html(plot) + table_html(intervals))
    return Section(anchor, title, STATUS_OK, body, (plot,), {"premia": intervals})


def _betas_section(store: q.Store, top_n: int) -> Section:
    anchor, title = "betas", "Rolling betas of the largest coins"
    missing = q.missing_tables(store, ["rolling_betas", "daily_panel"])
    if missing:
        return missing_section(anchor, title, missing)
    as_of = q.last_beta_date(store)
    largest = q.largest_coins(store, as_of, top_n)
    if largest.empty:
        return Section(anchor, title, STATUS_OK,
                       paragraph("No coin with rolling betas has a market cap in daily_panel.", "muted"))
    betas = q.rolling_betas_of(store, largest["symbol"].tolist())
    betas, variant = pick_variant(betas, ["construction", "window_days", "min_obs"], {"construction": "double_sort"})
    wide = betas.pivot_table(index="date", columns="symbol", values="beta_mkt", aggfunc="first")
    wide = wide[[s for s in largest["symbol"] if s in wide.columns]]
    wide.index = pd.to_datetime(wide.index)
    plot = Plot("Rolling market betas", plots.line_plot_png(
        wide.sort_index(), title=f"Rolling market beta of the {wide.shape[1]} largest coins", ylabel="beta_mkt"))
    latest = betas.sort_values("date").groupby("symbol", sort=False).tail(1)
    keep = [c for c in ("symbol", "date", "beta_mkt", "beta_size", "beta_mom", "alpha", "r2", "n_obs")
            if c in latest.columns]
    latest = largest[["symbol", "market_cap"]].merge(latest[keep], on="symbol", how="left")
    body = (paragraph(f"Coins ranked by their last market cap on or before {as_of} (daily_panel); {variant}.")
            + img_html(plot) + "<h3>Latest estimates</h3>" + table_html(latest))
    return Section(anchor, title, STATUS_OK, body, (plot,), {"latest_betas": latest}, note=variant)


def _guard(anchor: str, title: str, build: Callable[[], Section]) -> Section:
    """Run one section builder; a failure becomes a visible error section instead of a crash."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - one unreadable table must not take the whole report down
        text = f"{type(exc).__name__}: {exc}"
        return Section(anchor, title, STATUS_ERROR, paragraph(f"Could not render this section: {text}", "error"),
                       error=text)


def build_tear_sheet(con: duckdb.DuckDBPyConnection, title: str = "cryptofactor tear sheet",
                     top_n: int = 5, source_label: str | None = None,
                     generated_at: str | None = None) -> TearSheet:
    """The tear sheet of everything stored in ``con`` (only reads; a read-only connection is enough)."""
    store = q.Store(con)
    if source_label is None:
        source_label = q.source_label(con)
    generated_at = generated_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    data, summary = _data_summary(store)
    sections = [
        data,
        _guard("factors", "Cumulative factor returns (CMKT, CSMB, CMOM)", lambda: _factor_section(store)),
        _guard("long_shorts", "Characteristic long-short portfolios", lambda: _long_short_section(store)),
        _guard("rsj", "RSJ long-short strategy (equity curve)", lambda: _rsj_section(store)),
        _guard("strategies", "Strategy comparison, gross and net of costs", lambda: _strategies_section(store)),
        _guard("premia", "Fama-MacBeth risk premia with 95 % confidence intervals", lambda: _premia_section(store)),
        _guard("betas", "Rolling betas of the largest coins", lambda: _betas_section(store, top_n)),
    ]
    page = render_html(sections, title, generated_at, source_label)
    return TearSheet(page, tuple(sections), summary, generated_at, source_label)


def build_tear_sheet_from_frames(frames: Mapping[str, pd.DataFrame], **kwargs) -> TearSheet:
    """The same page from DataFrames named like the warehouse tables (copied into an in-memory DuckDB)."""
    con = duckdb.connect(":memory:")
    try:
        q.load_frames(con, frames)
        kwargs.setdefault("source_label", "DataFrames")
        return build_tear_sheet(con, **kwargs)
    finally:
        con.close()


def default_report_path(duckdb_path: str | os.PathLike) -> Path:
    """``<folder of the DuckDB file>/reports/tear_sheet.html`` (data/reports/ for the default file)."""
    return Path(duckdb_path).resolve().parent / "reports" / "tear_sheet.html"


def write_tear_sheet(sheet: TearSheet, path: str | os.PathLike) -> Path:
    """Write the page atomically (temporary file + rename: a reader never sees half a page)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(sheet.html, encoding="utf-8")
    os.replace(tmp, target)
    return target
