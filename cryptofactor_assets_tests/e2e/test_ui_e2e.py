"""The Dagster UI driven in Debian's headless Chromium (Playwright) against a real ``dagster dev``.

Opens the asset graph, launches one daily and one weekly partition through the Materialize /
partition dialog, waits for the runs to succeed, opens the asset page and checks the metadata
table is rendered. Screenshots go to ``artifacts/e2e/`` (git-ignored).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from cryptofactor_assets_tests.ops_harness import ROOT, DagsterDev, tags_of

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CRYPTOFACTOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "artifacts" / "e2e"
DAILY_ASSETS = ["raw_klines_5m", "raw_coin_markets", "daily_panel"]
DAILY_KEY, WEEKLY_KEY = "2024-01-08", "2024-01-01"
# the week 2024-01-01 reads its 7 daily panels, stored before the server starts (with 2023-12-31, so
# that its first day has a return and the week a weekly return)
PRELOAD_FIRST, PRELOAD_LAST = "2023-12-31", "2024-01-07"


def _shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def _dismiss_popups(page) -> None:
    """The first visit shows a 'Join the Dagster community' dialog: skip it when present."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(state="visible", timeout=4000)
        skip.click()
    except Exception:  # noqa: BLE001 (no dialog this time)
        pass


def _launch_from_graph(page, base: str, keys: list[str], partition: str, shot_prefix: str) -> None:
    """Asset graph -> filter to ``keys`` -> Materialize all… -> type the partition -> Launch 1 run."""
    page.goto(f"{base}/asset-groups")
    _dismiss_popups(page)
    query_box = page.locator("[class*=AssetGraphExplorer_graphQueryInput] .CodeMirror").first
    query_box.wait_for(state="visible", timeout=60000)
    query_box.click()
    page.keyboard.type(" or ".join(f'key:"{k}"' for k in keys))
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    # the filtered graph keeps only the groups holding the selected assets (collapsed group boxes)
    page.wait_for_function("() => decodeURIComponent(location.href).includes('key:')", timeout=30000)
    time.sleep(2)
    _shot(page, f"{shot_prefix}_graph")
    # "Materialize all…" for several assets, "Materialize…" for one
    page.locator("button", has_text=re.compile(r"^Materialize")).first.click()
    page.get_by_text("Partition selection").wait_for(timeout=60000)
    # the dialog first offers the last 90 days only; the test partitions are older
    show_all = page.get_by_text("Show all partitions")
    try:
        show_all.wait_for(state="visible", timeout=15000)
        show_all.click()
    except Exception:  # noqa: BLE001 (all partitions already shown)
        pass
    box = page.locator("input[placeholder^='ex: ']").first
    box.wait_for(state="visible", timeout=30000)
    box.fill(partition)
    page.keyboard.press("Enter")
    launch = page.get_by_role("button", name="Launch 1 run")
    launch.wait_for(state="visible", timeout=30000)
    _shot(page, f"{shot_prefix}_partition_dialog")
    launch.click()


def _partition_of(run: dict) -> str | None:
    tags = tags_of(run)
    return tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_start")


def test_ui_materialises_a_daily_and_a_weekly_partition_and_shows_metadata(tmp_path):
    from playwright.sync_api import sync_playwright

    from cryptofactor_assets.panels.assets import daily_panel
    from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
    from cryptofactor_assets_tests.conftest import materialize_range

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    db = str(tmp_path / "e2e.duckdb")

    from dagster_duckdb import DuckDBResource

    from cryptofactor_assets.sources.resources import MarketSourceResource

    res = {"duckdb": DuckDBResource(database=db), "market_source": MarketSourceResource(kind="simulated", sim_coins=12)}
    assert materialize_range([raw_klines_5m, raw_coin_markets, daily_panel], res, PRELOAD_FIRST, PRELOAD_LAST).success

    env = {"CRYPTOFACTOR_DUCKDB": db, "CRYPTOFACTOR_SIM_COINS": "12"}
    with DagsterDev(tmp_path, ["-w", "workspace.yaml"], env=env) as dev, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(60000)
            page.goto(f"{dev.url}/asset-groups")
            _dismiss_popups(page)
            page.get_by_text("panels", exact=True).first.wait_for(state="visible")
            time.sleep(2)  # let the graph lay out before the picture
            _shot(page, "01_asset_graph")

            _launch_from_graph(page, dev.url, DAILY_ASSETS, DAILY_KEY, "02_daily")
            (daily_run,) = dev.wait_runs_done(lambda r: _partition_of(r) == DAILY_KEY, 1, timeout=180)
            assert daily_run["status"] == "SUCCESS", dev.log_tail()

            _launch_from_graph(page, dev.url, ["weekly_panel"], WEEKLY_KEY, "03_weekly")
            (weekly_run,) = dev.wait_runs_done(lambda r: _partition_of(r) == WEEKLY_KEY, 1, timeout=180)
            assert weekly_run["status"] == "SUCCESS", dev.log_tail()

            # the run page shows the success
            page.goto(f"{dev.url}/runs/{weekly_run['runId']}")
            page.get_by_text("Success", exact=False).first.wait_for(state="visible")
            time.sleep(1)
            _shot(page, "04_weekly_run_success")

            # the asset page shows the materialisation's metadata: the markdown summary table
            for asset, header in (("daily_panel", "in_universe"), ("weekly_panel", "mean_ret")):
                page.goto(f"{dev.url}/assets/{asset}?view=events")
                page.get_by_text("summary", exact=True).first.wait_for(state="visible")
                cell = page.locator("table th", has_text=header).first
                cell.wait_for(state="visible")
                cell.scroll_into_view_if_needed()
                time.sleep(1)
                _shot(page, f"05_{asset}_metadata")
        finally:
            browser.close()
    for name in ("01_asset_graph", "02_daily_partition_dialog", "04_weekly_run_success", "05_daily_panel_metadata"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000, name
    # what the UI run stored: a weekly return for exactly the coins with all 7 daily returns (the day
    # before the week was preloaded too, so only the simulator's planted gaps leave a week without one)
    import duckdb

    with duckdb.connect(db, read_only=True) as con:
        n_rows, n_returns = con.execute("SELECT count(*), count(ret) FROM weekly_panel "
                                        "WHERE week_start = TIMESTAMP '2024-01-01'").fetchall()[0]
        (full_weeks,) = con.execute(
            "SELECT count(*) FROM (SELECT symbol FROM daily_panel WHERE date BETWEEN DATE '2024-01-01' "
            "AND DATE '2024-01-07' GROUP BY symbol HAVING count(ret) = 7)").fetchall()[0]
    assert n_rows == 12 and n_returns == full_weeks >= 10, (n_rows, n_returns, full_weeks)
