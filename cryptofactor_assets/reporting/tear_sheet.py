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
5. **Risk premia** (``fama_macbeth_premia``): Fama-MacBeth mean gammas with 95 % confidence
   intervals mean +- z_0.975 x se, z_0.975 = 1.95996 (normal approximation, as the stored t-stats),
   se = Newey-West se (plain se when NW is absent) and, for the betas spec, the Shanken (1992) se.
6. **Rolling betas** (``rolling_betas`` + ``daily_panel``): market beta through time of the ``top_n``
   coins with the largest last known market cap on the last estimation day.

Summary statistics of a return series are those of :func:`cryptofactor_assets.reporting.backtest.
backtest_report` (mean, annualised return P x mean, annualised vol, Sharpe mean / sd x sqrt(P),
Newey-West t of the mean, max drawdown; P = 52 for weekly series, 365 for daily ones).

Every section degrades on its own: an absent or empty table gives "not built yet: materialise X", a
table whose layout cannot be read gives a visible error paragraph (recorded in ``Section.error``);
the page itself is always produced. The page holds no external reference at all (images are
``data:image/png;base64`` URIs, CSS is inline, links are in-page anchors), so it can be mailed or
attached as one file.

Pure: takes a DuckDB connection (read-only is enough) or DataFrames; no Dagster import. Table and
column names read back from the catalog may hold anything (quotes, ``;``, ``--``, a whole statement):
every one is quoted with ``quote_ident`` before it is put into SQL, and shown HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from cryptofactor_assets.reporting import plots
from cryptofactor_assets.reporting.backtest import backtest_report
from cryptofactor_assets.storage.identifiers import quote_ident, quote_qualified
from cryptofactor_assets.storage.warehouse import load_sql

#: Two-sided 95 % normal quantile used for the premia confidence intervals.
Z_95 = statistics.NormalDist().inv_cdf(0.975)
#: Columns naming the date a row of a table belongs to, in order of preference (data summary coverage).
DATE_COLUMNS = ("date", "week_start", "month_start", "date_held", "open_time", "partition_date",
                "formation_week", "first_week", "first_date")
#: Summary tables store their coverage as a (first, last) pair of columns.
DATE_RANGE_COLUMNS = {"first_week": "last_week", "first_date": "last_date"}
#: Portfolio labels meaning "the long-short" in a portfolio column.
LONG_SHORT_LABELS = {"LS", "L-S", "LONG_SHORT", "LONG-SHORT", "HML", "H-L"}
_QN_MINUS_Q1 = re.compile(r"^Q\d+\s*-\s*Q\d+$", re.IGNORECASE)

STATUS_OK = "ok"
STATUS_MISSING = "missing"
STATUS_ERROR = "error"


@dataclass(frozen=True)
class Plot:
    """One embedded chart: its title and PNG bytes."""

    title: str
    png: bytes

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Section:
    """One part of the page. ``status``: ok | missing (tables not built) | error (unreadable table)."""

    anchor: str
    title: str
    status: str
    body_html: str
    plots: tuple[Plot, ...] = ()
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    error: str | None = None
    note: str = ""


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


# --------------------------------------------------------------------------------------------
# Access to the stored tables
# --------------------------------------------------------------------------------------------
class _Store:
    """Thin read-only view of a DuckDB connection: which tables exist (schema main of the current
    database), their columns. Catalog names are data: ``count`` and the data summary quote them."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.catalog = con.execute("SELECT current_database()").fetchall()[0][0]
        cols = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = 'main' "
            "ORDER BY table_name, ordinal_position").fetchall()
        self.columns: dict[str, list[str]] = {}
        for table, column in cols:
            self.columns.setdefault(table, []).append(column)

    def has(self, table: str, required: Sequence[str] = ()) -> bool:
        return table in self.columns and set(required) <= set(self.columns[table])

    def qualified(self, table: str) -> str:
        """``"<current database>"."main"."<table>"``, each part quoted."""
        return quote_qualified(self.catalog, "main", table)

    def count(self, table: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {self.qualified(table)}").fetchall()[0][0])

    def df(self, sql: str, params: Sequence | Mapping | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params if params is not None else []).df()


def _missing_tables(store: _Store, tables: Sequence[str]) -> tuple[str, ...]:
    """Tables that are absent or hold no rows."""
    return tuple(t for t in tables if not store.has(t) or store.count(t) == 0)


# --------------------------------------------------------------------------------------------
# Small numerics / formatting helpers
# --------------------------------------------------------------------------------------------
def pick_variant(frame: pd.DataFrame, columns: Sequence[str],
                 prefer: Mapping[str, object] | None = None) -> tuple[pd.DataFrame, str]:
    """Rows of ONE parameter combination of ``columns`` (those present) and a label saying which.

    Tables store one row per estimator variant (construction, universe, window...); a chart mixes
    nothing: the combination matching most ``prefer`` values wins, then the one with most rows.
    """
    cols = [c for c in columns if c in frame.columns]
    if not cols or frame.empty:
        return frame, ""
    combos = frame.groupby(cols, dropna=False).size().reset_index(name="_n")
    score = np.zeros(len(combos), dtype=int)
    for col, value in (prefer or {}).items():
        if col in combos:
            score += (combos[col] == value).to_numpy(dtype=int)
    ranked = combos.assign(_score=score).sort_values(["_score", "_n"], ascending=False, kind="stable")
    best = {c: ranked[c].iloc[0] for c in cols}  # per column: a row would upcast ints to floats
    mask = np.ones(len(frame), dtype=bool)
    for c in cols:
        value = best[c]
        mask &= (frame[c].isna() if pd.isna(value) else frame[c].eq(value)).to_numpy(dtype=bool)
    label = ", ".join(f"{c} = {best[c]}" for c in cols)
    if len(combos) > 1:
        label += f" (one of {len(combos)} stored variants)"
    return frame.loc[mask], label


def return_statistics(wide: pd.DataFrame, periods_per_year: float) -> pd.DataFrame:
    """One row per column of ``wide`` (simple period returns): backtest statistics, returns in %."""
    rows = []
    for col in wide.columns:
        r = pd.Series(wide[col], dtype=float).dropna()
        row: dict[str, object] = {"series": str(col), "n": len(r)}
        if len(r) >= 3:
            rep = backtest_report(r, periods_per_year=periods_per_year)
            row.update({
                "first": rep.start, "last": rep.end,
                "mean_pct": 100 * rep.mean, "ann_return_pct": 100 * rep.ann_return,
                "ann_vol_pct": 100 * rep.ann_vol, "sharpe": rep.sharpe, "t_nw": rep.mean_t_nw,
                "max_drawdown_pct": 100 * rep.max_drawdown, "total_return_pct": 100 * rep.total_return,
            })
        rows.append(row)
    return pd.DataFrame(rows)


def premia_intervals(premia: pd.DataFrame, z: float = Z_95) -> pd.DataFrame:
    """Premia table with 95 % intervals in % per week: mean +- z se (NW se, else plain se), Shanken too."""
    out = pd.DataFrame({"spec": premia.get("spec", pd.Series("", index=premia.index)),
                        "coefficient": premia["coefficient"]})
    mean = premia["mean"].astype(float)
    se = premia["nw_se"].astype(float) if "nw_se" in premia else pd.Series(np.nan, index=premia.index)
    if "se" in premia:
        se = se.fillna(premia["se"].astype(float))  # plain se where Newey-West is not stored
    out["mean_pct"] = 100 * mean
    out["se_pct"] = 100 * se
    out["ci_low_pct"] = 100 * (mean - z * se)
    out["ci_high_pct"] = 100 * (mean + z * se)
    if "nw_t" in premia:
        out["t_nw"] = premia["nw_t"].astype(float)
    if "shanken_se" in premia and premia["shanken_se"].notna().any():
        sh = premia["shanken_se"].astype(float)
        out["shanken_t"] = mean / sh
        out["shanken_low_pct"] = 100 * (mean - z * sh)
        out["shanken_high_pct"] = 100 * (mean + z * sh)
    for col in ("n_periods", "annualised", "avg_cs_r2"):
        if col in premia:
            out[col if col != "annualised" else "annualised_pct"] = (
                100 * premia[col].astype(float) if col == "annualised" else premia[col])
    return out.reset_index(drop=True)


def interval_plot_png(intervals: pd.DataFrame, title: str) -> bytes:
    """Horizontal interval chart of :func:`premia_intervals` output: one panel per spec, NW (and
    Shanken) 95 % intervals around each mean, zero line (Agg canvas, no pyplot state)."""
    specs = list(dict.fromkeys(intervals["spec"]))
    heights = [max(1.2, 0.45 * (intervals["spec"] == s).sum() + 0.8) for s in specs]
    fig = plots.new_figure(figsize=(plots.FIGSIZE[0], sum(heights)), layout="constrained")  # no title overlaps
    axes = fig.subplots(len(specs), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, spec in zip(axes, specs, strict=True):
        part = intervals[intervals["spec"] == spec].reset_index(drop=True)
        has_shanken = "shanken_low_pct" in part and bool(part["shanken_low_pct"].notna().any())
        y = np.arange(len(part))[::-1].astype(float)
        mean = part["mean_pct"].to_numpy(dtype=float)
        lo, hi = part["ci_low_pct"].to_numpy(dtype=float), part["ci_high_pct"].to_numpy(dtype=float)
        ax.errorbar(mean, y + (0.12 if has_shanken else 0.0), xerr=[mean - lo, hi - mean], fmt="o",
                    capsize=3, label="95 % CI (Newey-West)")
        if has_shanken:
            slo = part["shanken_low_pct"].to_numpy(dtype=float)
            shi = part["shanken_high_pct"].to_numpy(dtype=float)
            ax.errorbar(mean, y - 0.12, xerr=[mean - slo, shi - mean], fmt="s", capsize=3,
                        label="95 % CI (Shanken)")
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_yticks(y, [str(c) for c in part["coefficient"]])
        ax.set_ylim(-0.6, len(part) - 0.4)
        ax.set_title(f"{title}: {spec}" if spec else title, fontsize="medium")
        ax.grid(True, axis="x", alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    axes[-1].set_xlabel("premium (% per week)")
    return plots.render_png(fig)


def _fmt_value(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float | np.floating):
        a = abs(float(v))
        return f"{v:,.0f}" if a >= 1e5 else f"{v:.4g}"
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.strftime("%Y-%m-%d") if (v.hour, v.minute, v.second) == (0, 0, 0) else v.isoformat(" ")
    return str(v)


def table_html(frame: pd.DataFrame, max_rows: int = 60) -> str:
    """HTML table (escaped) of ``frame``; rows beyond ``max_rows`` are elided with a note."""
    if frame is None or frame.empty:
        return "<p class='muted'>(no rows)</p>"
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for v in row:
            numeric = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            cells.append(f"<td class='{'num' if numeric else 'txt'}'>{html.escape(_fmt_value(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f"<p class='muted'>{len(frame) - max_rows:,} more rows not shown.</p>"
            if len(frame) > max_rows else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _img_html(plot: Plot) -> str:
    return f"<figure><img alt='{html.escape(plot.title)}' src='{plot.data_uri()}'></figure>"


def _p(text: str, cls: str = "") -> str:
    return f"<p class='{cls}'>{html.escape(text)}</p>" if cls else f"<p>{html.escape(text)}</p>"


def _missing_section(anchor: str, title: str, missing: Sequence[str], extra: str = "") -> Section:
    text = f"Not built yet: materialise {', '.join(missing)}."
    return Section(anchor, title, STATUS_MISSING, _p(text, "missing") + extra, missing=tuple(missing))


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------
def _data_summary(store: _Store) -> tuple[Section, pd.DataFrame]:
    rows = []
    for table, cols in sorted(store.columns.items()):
        date_col = next((c for c in DATE_COLUMNS if c in cols), None)
        n = store.count(table)
        first = last = None
        if date_col is not None and n:
            end_col = DATE_RANGE_COLUMNS.get(date_col, date_col)
            end_col = end_col if end_col in cols else date_col
            first, last = store.con.execute(
                f"SELECT min({quote_ident(date_col)}), max({quote_ident(end_col)}) "
                f"FROM {store.qualified(table)}").fetchall()[0]
        rows.append({"table": table, "rows": n, "date_column": date_col or "", "first": first, "last": last})
    summary = pd.DataFrame(rows, columns=["table", "rows", "date_column", "first", "last"])
    parts = [_p(f"{len(summary)} tables, {int(summary['rows'].sum()) if len(summary) else 0:,} rows in all."),
             table_html(summary, max_rows=200)]
    tables = {"tables": summary}
    parts.append("<h3>Rejected input rows by reason</h3>")
    if store.has("rejected_rows", ["dataset", "source", "reason", "partition_date"]):
        rejected = store.df(load_sql("count_rejected_rows_by_reason"))
        tables["rejected_by_reason"] = rejected
        parts.append(table_html(rejected) if len(rejected) else _p("No row was rejected.", "muted"))
    else:
        parts.append(_p("Not built yet: materialise raw_klines_5m / raw_coin_markets (rejected_rows).",
                        "missing"))
    if summary.empty:
        parts.insert(0, _p("The warehouse holds no table yet: run `cryptofactor materialize` first.", "missing"))
    return Section("data", "Data summary", STATUS_OK, "".join(parts), tables=tables), summary


def _factor_section(store: _Store) -> Section:
    anchor, title, table = "factors", "Cumulative factor returns (CMKT, CSMB, CMOM)", "factor_returns_weekly"
    missing = _missing_tables(store, [table])
    if missing:
        return _missing_section(anchor, title, missing)
    frame = store.df(f"SELECT * FROM {store.qualified(table)} ORDER BY week_start")
    factors = [c for c in ("cmkt", "csmb", "cmom") if c in frame.columns]
    if not factors:
        raise ValueError(f"{table} has none of the columns cmkt, csmb, cmom (has {list(frame.columns)})")
    frame, variant = pick_variant(frame, ["construction", "breakpoint_universe", "investable_top_n", "calendar"],
                                  {"construction": "double_sort"})
    wide = frame.set_index(pd.to_datetime(frame["week_start"]))[factors].sort_index()
    plot = Plot("Cumulative weekly factor returns", plots.equity_curve_png(
        wide, title="Weekly LTW factors: growth of 1"))
    stats = return_statistics(wide, periods_per_year=52)
    body = (_p(f"Weekly holding-period returns, {variant or 'single variant'}; growth of 1 = prod(1 + f), "
               "drawdown from the running peak below. Statistics: P = 52, t_nw = Newey-West t of the mean.")
            + _img_html(plot) + table_html(stats))
    return Section(anchor, title, STATUS_OK, body, (plot,), {"factor_stats": stats}, note=variant)


def _is_long_short(labels: pd.Series) -> pd.Series:
    text = labels.astype(str).str.strip()
    return text.str.upper().isin(LONG_SHORT_LABELS) | text.str.match(_QN_MINUS_Q1)


def _long_short_section(store: _Store) -> Section:
    anchor, title, table = "long_shorts", "Characteristic long-short portfolios", "characteristic_portfolios"
    missing = _missing_tables(store, [table])
    if missing:
        return _missing_section(anchor, title, missing)
    frame = store.df(f"SELECT * FROM {store.qualified(table)}")
    need = {"week_start", "characteristic", "portfolio"}
    if not need <= set(frame.columns):
        raise ValueError(f"{table} lacks columns {sorted(need - set(frame.columns))}")
    frame = frame[_is_long_short(frame["portfolio"])]
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
    body = [_p(f"Long Qn, short Q1 of each characteristic sorted at week t, held over week t+1; {variant}. "
               "Statistics: P = 52, t_nw = Newey-West t of the mean."),
            *(_img_html(p) for p in plot_list), table_html(stats_frame)]
    if store.has("long_short_alphas") and store.count("long_short_alphas"):
        alphas = store.df("SELECT * FROM long_short_alphas ORDER BY characteristic, weighting")
        keep = [c for c in ("characteristic", "weighting", "n_weeks", "mean", "mean_t_nw", "capm_alpha",
                            "capm_alpha_t", "capm_beta", "f3_alpha", "f3_alpha_t", "sharpe", "construction")
                if c in alphas.columns]
        tables["long_short_alphas"] = alphas[keep]
        body += ["<h3>Alphas (long_short_alphas; fractions per week, Newey-West t)</h3>",
                 table_html(alphas[keep])]
    else:
        body.append(_p("Alphas not built yet: materialise long_short_alphas.", "missing"))
    return Section(anchor, title, STATUS_OK, "".join(body), tuple(plot_list), tables, note=variant)


def _rsj_section(store: _Store) -> Section:
    anchor, title = "rsj", "RSJ long-short strategy (equity curve)"
    daily, summary = "rsj_portfolios_daily", "rsj_backtest"
    missing = _missing_tables(store, [daily, summary])
    body: list[str] = []
    plot_list: list[Plot] = []
    tables: dict[str, pd.DataFrame] = {}
    note = ""
    if daily not in missing:
        frame = store.df(f"SELECT * FROM {store.qualified(daily)}")
        date_col = next((c for c in ("date_held", "date", "holding_date") if c in frame.columns), None)
        ret_cols = [c for c in ("net", "gross") if c in frame.columns] or [
            c for c in ("ls_net", "ls_ret", "ret") if c in frame.columns][:1]
        if date_col is None or not ret_cols:
            raise ValueError(f"{daily} has no date / return column (has {list(frame.columns)})")
        group_cols: list[str] = []
        if "portfolio" in frame.columns:
            ls = _is_long_short(frame["portfolio"])
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
        body += [_p("Daily long-short formed at the close of day t, held over t+1"
                    + (f"; {note}" if note else "") + ". Statistics: P = 365."),
                 _img_html(plot_list[0]), table_html(stats)]
    if summary not in missing:
        bt = _backtest_table(store.df(f"SELECT * FROM {store.qualified(summary)}"))
        tables["rsj_backtest"] = bt
        body += ["<h3>Stored backtest (rsj_backtest; returns as fractions, annualised where named)</h3>",
                 table_html(bt, max_rows=40)]
    if len(missing) == 2:
        return _missing_section(anchor, title, missing)
    if missing:
        body.append(_p(f"Not built yet: materialise {missing[0]}.", "missing"))
    return Section(anchor, title, STATUS_OK, "".join(body), tuple(plot_list), tables, note=note)


#: Backtest statistics shown from a long-format (stat, value) backtest table, in this order.
BACKTEST_STATS = ("n_periods", "ann_return", "ann_vol", "sharpe", "mean_t_nw", "max_drawdown", "cagr",
                  "beta", "alpha_ann", "alpha_t_nw")


def _backtest_table(bt: pd.DataFrame) -> pd.DataFrame:
    """A stored backtest table for display: long (stat, value) rows pivoted to one row per series,
    long-short rows first; any other layout is shown as stored (all-NULL columns dropped)."""
    if not {"stat", "value"} <= set(bt.columns):
        return bt.dropna(axis=1, how="all")
    keys = [c for c in ("portfolio", "weighting", "returns") if c in bt.columns]
    wide = bt.pivot_table(index=keys, columns="stat", values="value", aggfunc="first") if keys else (
        bt.set_index("stat")["value"].to_frame().T)
    stats = [c for c in BACKTEST_STATS if c in wide.columns] or list(wide.columns)
    wide = wide[stats].reset_index() if keys else wide[stats]
    if "portfolio" in wide.columns:
        order = (~_is_long_short(wide["portfolio"])).astype(int)
        wide = wide.assign(_o=order).sort_values(["_o", *keys], kind="stable").drop(columns="_o")
    return wide.reset_index(drop=True)


def _premia_section(store: _Store) -> Section:
    anchor, title, table = "premia", "Fama-MacBeth risk premia with 95 % confidence intervals", "fama_macbeth_premia"
    missing = _missing_tables(store, [table])
    if missing:
        return _missing_section(anchor, title, missing)
    premia = store.df(f"SELECT * FROM {store.qualified(table)} ORDER BY spec, coefficient")
    if not {"coefficient", "mean"} <= set(premia.columns):
        raise ValueError(f"{table} lacks the coefficient / mean columns (has {list(premia.columns)})")
    intervals = premia_intervals(premia)
    plot = Plot("Risk premia", interval_plot_png(intervals.dropna(subset=["ci_low_pct"]), "Weekly premia"))
    body = (_p(f"Mean weekly cross-sectional slopes; 95 % intervals = mean +- {Z_95:.4f} x se (Newey-West se; "
               "Shanken-corrected se for the betas spec). Characteristics are standardised per week when "
               "the stored spec says so (premium per 1 SD).") + _img_html(plot) + table_html(intervals))
    return Section(anchor, title, STATUS_OK, body, (plot,), {"premia": intervals})


def _betas_section(store: _Store, top_n: int) -> Section:
    anchor, title = "betas", "Rolling betas of the largest coins"
    missing = _missing_tables(store, ["rolling_betas", "daily_panel"])
    if missing:
        return _missing_section(anchor, title, missing)
    as_of = store.con.execute("SELECT max(date) FROM rolling_betas").fetchall()[0][0]
    largest = store.df(load_sql("select_largest_coins"), {"as_of": as_of, "n": int(top_n)})
    if largest.empty:
        return Section(anchor, title, STATUS_OK,
                       _p("No coin with rolling betas has a market cap in daily_panel.", "muted"))
    betas = store.df("SELECT * FROM rolling_betas WHERE symbol IN (SELECT unnest($symbols::VARCHAR[])) "
                     "ORDER BY date, symbol", {"symbols": largest["symbol"].tolist()})
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
    body = (_p(f"Coins ranked by their last market cap on or before {as_of} (daily_panel); {variant}.")
            + _img_html(plot) + "<h3>Latest estimates</h3>" + table_html(latest))
    return Section(anchor, title, STATUS_OK, body, (plot,), {"latest_betas": latest}, note=variant)


def _guard(anchor: str, title: str, build: Callable[[], Section]) -> Section:
    """Run one section builder; a failure becomes a visible error section instead of a crash."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - one unreadable table must not take the whole report down
        text = f"{type(exc).__name__}: {exc}"
        return Section(anchor, title, STATUS_ERROR, _p(f"Could not render this section: {text}", "error"),
                       error=text)


# --------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------
_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 32px}header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;color:#c9cfdb;font-size:13px}main{padding:8px 32px 40px;max-width:1150px}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:8px}
nav a{display:inline-block;padding:4px 10px;border-radius:12px;background:#e3e7ee;color:#1d2330;
text-decoration:none;font-size:13px}nav a.missing{background:#fdf1d6}nav a.error{background:#f9d6d6}
section{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:12px 20px;margin:16px 0}
h2{font-size:19px;margin:6px 0 10px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0}
th,td{border-bottom:1px solid #e6e9ef;padding:3px 8px}th{background:#f0f2f6;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}figure{margin:8px 0}img{max-width:100%}
p.missing{background:#fdf6e3;border-left:4px solid #e0a800;padding:6px 10px}
p.error{background:#fbeaea;border-left:4px solid #c62828;padding:6px 10px}p.muted{color:#6b7280}
"""


def render_html(sections: Sequence[Section], title: str, generated_at: str, source_label: str) -> str:
    """The whole page: inline CSS, in-page navigation, sections; no external reference."""
    nav = "".join(
        f"<li><a class='{s.status}' href='#{s.anchor}'>{html.escape(s.title)}"
        f"{'' if s.status == STATUS_OK else ' (' + s.status + ')'}</a></li>" for s in sections)
    body = "".join(f"<section id='{s.anchor}'><h2>{html.escape(s.title)}</h2>{s.body_html}</section>"
                   for s in sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>Generated {html.escape(generated_at)} from "
        f"{html.escape(source_label)}</p></header><main><nav><ul>{nav}</ul></nav>{body}</main></body></html>\n"
    )


def build_tear_sheet(con: duckdb.DuckDBPyConnection, title: str = "cryptofactor tear sheet",
                     top_n: int = 5, source_label: str | None = None,
                     generated_at: str | None = None) -> TearSheet:
    """The tear sheet of everything stored in ``con`` (only reads; a read-only connection is enough)."""
    store = _Store(con)
    if source_label is None:
        path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
                           ).fetchall()
        source_label = str(path[0][0]) if path and path[0][0] else "an in-memory database"
    generated_at = generated_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    data, summary = _data_summary(store)
    sections = [
        data,
        _guard("factors", "Cumulative factor returns (CMKT, CSMB, CMOM)", lambda: _factor_section(store)),
        _guard("long_shorts", "Characteristic long-short portfolios", lambda: _long_short_section(store)),
        _guard("rsj", "RSJ long-short strategy (equity curve)", lambda: _rsj_section(store)),
        _guard("premia", "Fama-MacBeth risk premia with 95 % confidence intervals", lambda: _premia_section(store)),
        _guard("betas", "Rolling betas of the largest coins", lambda: _betas_section(store, top_n)),
    ]
    page = render_html(sections, title, generated_at, source_label)
    return TearSheet(page, tuple(sections), summary, generated_at, source_label)


def build_tear_sheet_from_frames(frames: Mapping[str, pd.DataFrame], **kwargs) -> TearSheet:
    """The same page from DataFrames named like the warehouse tables (copied into an in-memory DuckDB)."""
    con = duckdb.connect(":memory:")
    try:
        for name, frame in frames.items():
            con.register("_incoming", frame)
            con.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT * FROM _incoming")
            con.unregister("_incoming")
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


_URL = re.compile(r"(?:https?|ftp|file)://|//[a-z0-9.-]+\.[a-z]{2,}/", re.IGNORECASE)
_SRC_HREF = re.compile(r"""\b(src|href)\s*=\s*(['"])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def external_references(page: str) -> list[str]:
    """Everything in ``page`` that would make a browser fetch something: URLs, non-data ``src``,
    non-anchor ``href``. Empty for a self-contained page."""
    found = [m.group(0) for m in _URL.finditer(page)]
    for attr, _, value in _SRC_HREF.findall(page):
        if attr.lower() == "src" and not value.startswith("data:image/"):
            found.append(f"src={value[:60]}")
        if attr.lower() == "href" and not value.startswith("#"):
            found.append(f"href={value[:60]}")
    return found
