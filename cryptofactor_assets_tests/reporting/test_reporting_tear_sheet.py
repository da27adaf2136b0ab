"""Tier 2: the tear sheet over a small materialised warehouse; self-contained HTML; renders in Chromium."""

from __future__ import annotations

import base64
import math
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.cli import main as cli_main
from cryptofactor_assets.factors.definitions import defs as factors_defs
from cryptofactor_assets.lib.resources import RISK_FREE
from cryptofactor_assets.panels.definitions import defs as panels_defs
from cryptofactor_assets.partitions import daily_partitions, weekly_partitions
from cryptofactor_assets.reporting.assets import CHECK_SELF_CONTAINED, tear_sheet
from cryptofactor_assets.reporting.html import STATUS_ERROR, STATUS_MISSING, STATUS_OK, external_references
from cryptofactor_assets.reporting.stats import Z_95, pick_variant
from cryptofactor_assets.reporting.tables import TEAR_SHEET
from cryptofactor_assets.reporting.tear_sheet import (
    build_tear_sheet,
    build_tear_sheet_from_frames,
    default_report_path,
)
from cryptofactor_assets.rsj.definitions import defs as rsj_defs
from cryptofactor_assets.sources.definitions import defs as sources_defs
from cryptofactor_assets.sources.resources import MarketSourceResource, RiskFreeResource
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets_tests.conftest import SMALL_COINS, query

DAILY_FIRST, DAILY_LAST = "2024-01-01", "2024-04-14"
WEEKLY_FIRST, WEEKLY_LAST = "2024-01-08", "2024-04-08"
DOMAINS = [sources_defs, panels_defs, factors_defs, rsj_defs]
#: Research assets the tear sheet reads, with what they need upstream (built when their domain exists).
WANTED = {"raw_klines_5m", "raw_coin_markets", "daily_panel", "weekly_panel", "weekly_characteristics",
          "characteristic_portfolios", "factor_returns_weekly", "factor_returns_daily", "rolling_betas",
          "fama_macbeth_gammas", "fama_macbeth_premia", "long_short_alphas", "rsj_daily",
          "rsj_portfolios_daily", "rsj_backtest"}
DAILY_CONFIG = {"factor_returns_daily": {"construction": "single_sort"},
                "rolling_betas": {"window": 60, "min_obs": 40}}
SECTION_TABLES = {"factors": "factor_returns_weekly", "long_shorts": "characteristic_portfolios",
                  "rsj": "rsj_portfolios_daily", "premia": "fama_macbeth_premia", "betas": "rolling_betas"}


def _domain_assets() -> list[dg.AssetsDefinition]:
    """The wanted assets of the upstream domains, from each domain's ``definitions.defs()``."""
    found = []
    for domain_defs in DOMAINS:
        defs = domain_defs()
        found += [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)
                  and any(k.to_user_string() in WANTED for k in a.keys)]
    return list({a.key: a for a in found}.values())


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs: list[str] = []
        self.hrefs: list[str] = []
        self.section_ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.srcs.append(a.get("src", ""))
        if "href" in a:
            self.hrefs.append(a["href"])
        if tag == "section":
            self.section_ids.append(a.get("id", ""))


def assert_self_contained(page: str) -> _Images:
    parser = _Images()
    parser.feed(page)
    assert parser.srcs, "no image at all"
    for src in parser.srcs:
        assert src.startswith("data:image/png;base64,"), src[:80]
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(h.startswith("#") for h in parser.hrefs), parser.hrefs
    for needle in ("http:", "https:", "ftp:", "file:", "url(", "@import", "<script", "<link"):
        assert needle not in page.lower(), needle
    assert external_references(page) == []
    return parser


# --------------------------------------------------------------------------------------------
# A small warehouse built by the real assets (module-scoped: built once for the file)
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tear_sheet")
    db = str(folder / "test.duckdb")
    resources = {"duckdb": DuckDBResource(database=db),
                 "market_source": MarketSourceResource(kind="simulated", sim_coins=SMALL_COINS),
                 RISK_FREE: RiskFreeResource()}
    assets = _domain_assets()
    daily = [a for a in assets if a.partitions_def == daily_partitions]
    weekly = [a for a in assets if a.partitions_def == weekly_partitions]
    summary = [a for a in assets if a.partitions_def is None]
    # 12 coins leave the daily 2x3 momentum cells empty on many days: the single sort and a shorter
    # window give rolling betas within the short range (the tear sheet reads whatever variant is stored)
    config = {"ops": {k: {"config": v} for k, v in DAILY_CONFIG.items()
                      if k in {a.key.to_user_string() for a in daily}}}
    assert dg.materialize(daily, resources=resources, run_config=config, raise_on_error=False, tags={
        "dagster/asset_partition_range_start": DAILY_FIRST,
        "dagster/asset_partition_range_end": DAILY_LAST}).success
    if weekly:
        # factor_returns_daily and rolling_betas hold daily rows in weekly partitions
        weekly_config = {"ops": {k: {"config": v} for k, v in DAILY_CONFIG.items()
                                 if k in {a.key.to_user_string() for a in weekly}}}
        assert dg.materialize(weekly, resources=resources, run_config=weekly_config, raise_on_error=False, tags={
            "dagster/asset_partition_range_start": WEEKLY_FIRST,
            "dagster/asset_partition_range_end": WEEKLY_LAST}).success
    result = dg.materialize([*summary, tear_sheet], resources=resources, raise_on_error=False)
    assert result.success
    keys = {a.key.to_user_string() for a in assets}
    return db, result, keys


def test_asset_writes_a_self_contained_page_next_to_the_duckdb_file(built):
    db, result, keys = built
    path = Path(db).parent / "reports" / "tear_sheet.html"
    assert path.exists() and default_report_path(db) == path.resolve()
    page = path.read_text(encoding="utf-8")
    parser = assert_self_contained(page)
    assert parser.section_ids == ["data", "factors", "long_shorts", "rsj", "strategies", "premia", "betas"]
    meta = result.asset_materializations_for_node(TEAR_SHEET)[0].metadata
    assert meta["path"].value == str(path.resolve())
    assert meta["plot"].value.startswith("![") and "data:image/png;base64," in meta["plot"].value
    assert "Data summary" in meta["sections"].value
    check = result.get_asset_check_evaluations()
    assert [c.passed for c in check if c.check_name == CHECK_SELF_CONTAINED] == [True]
    # every section whose table the built domains produce is rendered; the others say what to materialise
    for anchor, table in SECTION_TABLES.items():
        expected = "Not built yet" not in page.split(f"id='{anchor}'")[1].split("</section>")[0]
        assert expected == (table in keys), anchor


def test_sections_show_the_stored_numbers(built):
    db, _, keys = built
    con = duckdb.connect(db, read_only=True)
    try:
        sheet = build_tear_sheet(con, generated_at="fixed")
    finally:
        con.close()
    assert all(s.status != STATUS_ERROR for s in sheet.sections), [s.error for s in sheet.sections]
    summary = sheet.table_summary.set_index("table")
    for table in ("daily_panel", "raw_klines_5m"):
        assert summary.loc[table, "rows"] == query(db, f"SELECT count(*) AS n FROM {quote_ident(table)}").n.iloc[0]
    assert str(summary.loc["daily_panel", "first"])[:10] == DAILY_FIRST
    assert str(summary.loc["daily_panel", "last"])[:10] == DAILY_LAST
    if "factor_returns_weekly" in keys:
        stats = sheet.section("factors").tables["factor_stats"].set_index("series")
        f = query(db, "SELECT cmkt, csmb FROM factor_returns_weekly WHERE construction = 'double_sort' "
                      "ORDER BY week_start")
        for col in ("cmkt", "csmb"):
            r = f[col].dropna().to_numpy()
            assert stats.loc[col, "n"] == len(r)
            assert stats.loc[col, "mean_pct"] == pytest.approx(100 * r.mean(), rel=1e-10)
            assert stats.loc[col, "total_return_pct"] == pytest.approx(100 * (np.prod(1 + r) - 1), rel=1e-10)
            assert stats.loc[col, "ann_vol_pct"] == pytest.approx(100 * r.std(ddof=1) * math.sqrt(52), rel=1e-10)
    if "fama_macbeth_premia" in keys:
        got = sheet.section("premia").tables["premia"]
        raw = query(db, "SELECT * FROM fama_macbeth_premia ORDER BY spec, coefficient")
        assert len(got) == len(raw) > 0
        np.testing.assert_allclose(got["ci_low_pct"], 100 * (raw["mean"] - 1.959963984540054 * raw["nw_se"]),
                                   rtol=1e-10)
        np.testing.assert_allclose(got["ci_high_pct"], 100 * (raw["mean"] + 1.959963984540054 * raw["nw_se"]),
                                   rtol=1e-10)
    if "rolling_betas" in keys:
        latest = sheet.section("betas").tables["latest_betas"]
        last = query(db, "SELECT max(date) AS d FROM rolling_betas").d.iloc[0]
        caps = query(db, "SELECT symbol, arg_max(market_cap, date) AS cap FROM daily_panel WHERE date <= ? "
                         "AND market_cap IS NOT NULL AND symbol IN (SELECT symbol FROM rolling_betas) "
                         "GROUP BY symbol ORDER BY cap DESC LIMIT 5", [last])
        assert latest["symbol"].tolist() == caps["symbol"].tolist()
    if "rsj_portfolios_daily" in keys:
        stats = sheet.section("rsj").tables["rsj_stats"].set_index("series")
        ls = query(db, "SELECT date, net FROM rsj_portfolios_daily WHERE portfolio = 'LS' AND weighting = 'vw' "
                       "AND net IS NOT NULL ORDER BY date")
        assert stats.loc["vw net", "total_return_pct"] == pytest.approx(100 * (np.prod(1 + ls.net) - 1), rel=1e-10)


def test_cli_report_writes_the_page(built, tmp_path, capsys):
    db, _, _ = built
    out = tmp_path / "report.html"
    assert cli_main(["report", "--duckdb", db, "--out", str(out)]) == 0
    assert_self_contained(out.read_text(encoding="utf-8"))
    assert "tear sheet written to" in capsys.readouterr().out
    assert cli_main(["report", "--duckdb", str(tmp_path / "absent.duckdb")]) == 1


def test_renders_in_headless_chromium(built, tmp_path):
    browser = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if browser is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    page = Path(built[0]).parent / "reports" / "tear_sheet.html"
    shot = tmp_path / "tear_sheet.png"
    out = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,4800",
         f"--screenshot={shot}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)},
    )
    assert out.returncode == 0 and shot.exists(), out.stderr[-2000:]
    import matplotlib.image as mpimg

    pixels = mpimg.imread(str(shot))
    assert pixels.shape[:2] == (4800, 1200)
    # drawn content: a dark header band at the top, plots and tables (not a blank or error page)
    assert pixels[:40, :, :3].mean() < 0.3
    assert pixels[:, :, :3].std() > 0.1
    artifacts = os.environ.get("CRYPTOFACTOR_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / "tear_sheet.png")


# --------------------------------------------------------------------------------------------
# Degradation: absent, empty or unreadable tables never crash the page
# --------------------------------------------------------------------------------------------
def test_empty_warehouse_says_what_to_materialise():
    sheet = build_tear_sheet(duckdb.connect(":memory:"))
    assert sheet.section("data").status == STATUS_OK
    for anchor, table in SECTION_TABLES.items():
        s = sheet.section(anchor)
        assert s.status == STATUS_MISSING and table in s.missing, anchor
        assert f"materialise {table}" in s.body_html
    assert "Not built yet: materialise factor_returns_weekly." in sheet.html
    assert external_references(sheet.html) == [] and "<img" not in sheet.html


def _weeks(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=n, freq="W-MON")


def test_unreadable_table_is_an_error_section_and_the_rest_renders():
    rng = np.random.default_rng(7)
    frames = {
        "factor_returns_weekly": pd.DataFrame({"week_start": _weeks(5), "something_else": 1.0}),
        "fama_macbeth_premia": pd.DataFrame({
            "spec": ["betas", "betas", "characteristics"], "coefficient": ["const", "beta_mkt", "mcap"],
            "mean": rng.normal(0, 0.01, 3), "nw_se": [0.002, 0.003, 0.004], "se": [0.002, 0.003, 0.004],
            "shanken_se": [0.0025, 0.0031, np.nan], "n_periods": [50, 50, 50]}).iloc[[1, 0, 2]],  # stored order
        "rsj_portfolios_daily": pd.DataFrame({"date": pd.DatetimeIndex([]), "net": pd.Series([], dtype=float)}),
        "rolling_betas": pd.DataFrame({"symbol": ["A"], "date": pd.Timestamp("2024-01-01")}),
    }
    sheet = build_tear_sheet_from_frames(frames, generated_at="fixed")
    assert sheet.section("factors").status == STATUS_ERROR
    assert "cmkt" in sheet.section("factors").error
    assert sheet.section("rsj").status == STATUS_MISSING  # zero rows: not built yet
    assert sheet.section("betas").missing == ("daily_panel",)
    premia = sheet.section("premia")
    assert premia.status == STATUS_OK and len(premia.plots) == 1
    t = premia.tables["premia"]
    raw = frames["fama_macbeth_premia"].set_index("coefficient").loc[t["coefficient"]]  # section's order
    mean = raw["mean"].to_numpy()
    np.testing.assert_allclose(t["ci_low_pct"], 100 * (mean - Z_95 * raw["nw_se"].to_numpy()), rtol=1e-12)
    np.testing.assert_allclose(t["shanken_high_pct"][:2], 100 * (mean[:2] + Z_95 * raw["shanken_se"][:2].to_numpy()),
                               rtol=1e-12)
    assert np.isnan(t["shanken_high_pct"][2])
    assert Z_95 == pytest.approx(1.959963984540054, abs=1e-12)
    assert_self_contained(sheet.html)


def test_rsj_long_short_layout_and_backtest_pivot():
    days = pd.date_range("2024-01-02", periods=40)
    rng = np.random.default_rng(3)
    rows = []
    for w in ("ew", "vw"):
        gross = rng.normal(0.001, 0.02, len(days))
        cost = np.full(len(days), 0.0005)
        rows.append(pd.DataFrame({"date": days, "weighting": w, "portfolio": "LS", "quantile": None,
                                  "gross": gross, "cost": cost, "net": gross - cost, "top_n": 50,
                                  "trailing_days": 30, "n_quantiles": 5, "fee_bps": 10.0}))
        rows.append(pd.DataFrame({"date": days, "weighting": w, "portfolio": "Q1", "quantile": 1,
                                  "gross": 0.5, "cost": 0.0, "net": 0.5, "top_n": 50, "trailing_days": 30,
                                  "n_quantiles": 5, "fee_bps": 10.0}))
    portfolios = pd.concat(rows, ignore_index=True)
    backtest = pd.DataFrame({"portfolio": ["Q1", "LS", "LS"], "weighting": ["vw", "vw", "vw"],
                             "returns": ["net", "net", "net"], "stat": ["sharpe", "sharpe", "ann_return"],
                             "value": [9.0, 1.5, 0.2]})
    sheet = build_tear_sheet_from_frames({"rsj_portfolios_daily": portfolios, "rsj_backtest": backtest})
    s = sheet.section("rsj")
    assert s.status == STATUS_OK and len(s.plots) == 1
    stats = s.tables["rsj_stats"].set_index("series")
    assert sorted(stats.index) == ["ew gross", "ew net", "vw gross", "vw net"]  # Q1 rows are not the LS
    vw = portfolios[(portfolios.portfolio == "LS") & (portfolios.weighting == "vw")]
    assert stats.loc["vw net", "total_return_pct"] == pytest.approx(100 * (np.prod(1 + vw.net) - 1), rel=1e-12)
    bt = s.tables["rsj_backtest"]
    assert bt["portfolio"].tolist() == ["LS", "Q1"] and bt.loc[0, "sharpe"] == 1.5
    assert bt.loc[0, "ann_return"] == 0.2


def test_pick_variant_prefers_then_counts():
    frame = pd.DataFrame({"construction": ["a", "a", "b", "b", "b", "b"], "u": ["x", "x", "x", "x", "x", "y"]})
    kept, label = pick_variant(frame, ["construction", "u", "absent"], {"construction": "a"})
    assert kept.index.tolist() == [0, 1] and "one of 3 stored variants" in label
    kept, _ = pick_variant(frame, ["construction", "u"])
    assert kept.index.tolist() == [2, 3, 4]
