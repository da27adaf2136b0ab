"""Short ranges and small universes just work (issue 12, item 5).

``cryptofactor materialize`` over one day, one ISO week, a week that holds no whole ISO week, five weeks
and a month, with 2 to 60 simulated coins and on a few real files: every step succeeds and no ERROR check
fails; an asset with too little history (or whose weekly / monthly upstream was never built) writes an
empty table with a ``note`` saying what it lacked. A longer run still fills the tables (no regression).

The CLI runs in-process (``cli.main``) with the definitions rebuilt for the run's settings (the module
builds them once, at import, from the environment) and the runs recorded in one ephemeral instance, so
the test reads each asset's materialisation metadata and each check's result.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from cryptofactor_assets import cli
from cryptofactor_assets import definitions as definitions_module
from cryptofactor_assets.sources.simulated import MIN_COINS, SimConfig, markets_only_count, simulate_daily
from cryptofactor_assets_tests.conftest import REAL_DATA

ROOT = Path(__file__).resolve().parents[2]
#: Assets whose zero rows need no note here (not research outputs: the planted truths of the simulated
#: market are empty on a real source; the tear sheet has no row count).
NO_NOTE_NEEDED = {"sim_truth", "tear_sheet"}


class Run:
    """One ``cryptofactor materialize``: exit code, the DuckDB file, the instance that recorded it."""

    def __init__(self, code: int, db: str, instance: dg.DagsterInstance):
        self.code, self.db, self.instance = code, db, instance

    def rows(self, table: str) -> int | None:
        """Row count of ``table``, None when the table does not exist."""
        con = duckdb.connect(self.db, read_only=True)
        try:
            exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                 [table]).fetchone()[0]
            return con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] if exists else None
        finally:
            con.close()

    def metadata(self, asset: str) -> dict:
        event = self.instance.get_latest_materialization_event(dg.AssetKey(asset))
        assert event is not None, f"{asset} was not materialised"
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}

    def note(self, asset: str) -> str:
        meta = self.metadata(asset)
        return str(meta.get("note", meta.get("notes", "")))

    def materialised(self) -> list[str]:
        return sorted(k.to_user_string() for k in self.instance.get_asset_keys()
                      if self.instance.get_latest_materialization_event(k) is not None)

    def failed_checks(self) -> list[tuple[str, str, dg.AssetCheckSeverity]]:
        out = []
        for run in self.instance.get_runs():
            for entry in self.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
                data = entry.dagster_event.event_specific_data
                if not data.passed:
                    out.append((data.asset_key.to_user_string(), data.check_name, data.severity))
        return out

    def assert_good(self) -> None:
        """Every step succeeded, no ERROR check failed, and every empty research table says why."""
        assert self.code == 0
        errors = [c for c in self.failed_checks() if c[2] == dg.AssetCheckSeverity.ERROR]
        assert not errors, errors
        for asset in self.materialised():
            meta = self.metadata(asset)
            if meta.get("dagster/row_count") == 0 and asset not in NO_NOTE_NEEDED:
                assert self.note(asset).strip(), f"{asset} wrote nothing and says not why: {meta}"


SETTINGS = ("CRYPTOFACTOR_SOURCE", "CRYPTOFACTOR_KLINES_GLOB", "CRYPTOFACTOR_MARKETS_GLOB", "CRYPTOFACTOR_SIM_COINS",
            "CRYPTOFACTOR_SIM_SEED", "CRYPTOFACTOR_SYMBOLS", "CRYPTOFACTOR_COINGECKO_IDS", "CRYPTOFACTOR_STRICT",
            "CRYPTOFACTOR_DUCKDB", "DAGSTER_HOME")


@pytest.fixture
def materialize(monkeypatch, tmp_path):
    """``materialize(start, end, coins=None, source=None, klines=None, markets=None) -> Run``."""
    saved = dict(os.environ)
    count = iter(range(100))

    def run(start: str, end: str, coins: int | None = None, source: str | None = None,
            klines: str | None = None, markets: str | None = None) -> Run:
        db = str(tmp_path / f"run{next(count)}.duckdb")
        flags = {"--coins": coins, "--source": source, "--klines": klines, "--markets": markets, "--duckdb": db}
        env = {"CRYPTOFACTOR_SIM_COINS": coins, "CRYPTOFACTOR_SOURCE": source, "CRYPTOFACTOR_KLINES_GLOB": klines,
               "CRYPTOFACTOR_MARKETS_GLOB": markets, "CRYPTOFACTOR_DUCKDB": db}
        for key in SETTINGS:
            os.environ.pop(key, None)
        os.environ["CRYPTOFACTOR_LOG_LEVEL"] = "ERROR"
        os.environ.update({k: str(v) for k, v in env.items() if v is not None})
        # the definitions read the source and the DuckDB path when built: build them for this run
        monkeypatch.setattr(definitions_module, "defs", definitions_module.build_definitions())
        instance = dg.DagsterInstance.ephemeral()
        monkeypatch.setattr(dg.DagsterInstance, "ephemeral", staticmethod(lambda *a, **k: instance))
        argv = ["materialize", "--start", start, "--end", end]
        for flag, value in flags.items():
            if value is not None:
                argv += [flag, str(value)]
        return Run(cli.main(argv), db, instance)

    yield run
    os.environ.clear()
    os.environ.update(saved)


# --------------------------------------------------------------------------------------------
# the simulator: small markets
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 5, 10, 11])
def test_small_simulated_markets_are_drawn(n):
    st = simulate_daily(SimConfig(n_coins=n))
    assert st.alive.shape[1] == n and st.has_bars.sum() >= MIN_COINS
    assert (~st.has_bars).sum() == markets_only_count(SimConfig(n_coins=n))
    if n <= 3:
        assert st.has_bars.all()  # tiny markets keep every coin on the exchange


@pytest.mark.parametrize("n", [1, 0, -5])
def test_too_few_coins_is_a_one_line_error_naming_the_minimum(n):
    with pytest.raises(ValueError, match=rf">= {MIN_COINS} coins"):
        SimConfig(n_coins=n)


def test_cli_rejects_one_coin_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    out = subprocess.run(
        [sys.executable, "-m", "cryptofactor_assets.cli", "materialize", "--start", "2024-01-01", "--end",
         "2024-01-01", "--coins", "1", "--duckdb", str(tmp_path / "x.duckdb")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert [ln for ln in out.stderr.splitlines() if f">= {MIN_COINS} coins" in ln], out.stderr
    assert "daily_job" not in out.stdout  # nothing ran


# --------------------------------------------------------------------------------------------
# short ranges
# --------------------------------------------------------------------------------------------
def test_one_day_on_the_default_market(materialize):
    run = materialize("2024-01-01", "2024-01-01")
    run.assert_good()
    assert run.rows("daily_panel") > 0
    # the daily research rows live in weekly partitions (issue 13): a day without its whole ISO week
    # gets none (the weekly job runs the weeks wholly inside the range)
    assert run.rows("rsj_daily") in (None, 0) and run.rows("factor_returns_daily") in (None, 0)
    assert not {"factor_returns_daily", "rolling_betas", "rsj_daily", "rsj_portfolios_daily"} & set(
        run.materialised())
    # the summaries of what was never built: empty tables (with their schema) and a note
    for table in ("neural_beta_grid", "neural_beta_learning_curves", "neural_beta_stats", "rolling_betas",
                  "regime_signals", "ltw_replication", "fama_macbeth_premia", "rsj_backtest"):
        assert run.rows(table) == 0, table
    assert "cross_asset_monthly holds no months" in run.note("neural_beta_grid")
    assert "neural_betas holds no betas" in run.note("neural_beta_stats")
    assert "needs >= 10 held days" in run.note("rsj_backtest")
    # the weekly and monthly jobs did not run: their assets were not materialised, nothing failed
    assert "weekly_panel" not in run.materialised() and "neural_betas" not in run.materialised()


def test_a_week_without_a_whole_iso_week_and_two_coins(materialize):
    run = materialize("2024-01-03", "2024-01-09", coins=2)  # Wednesday to Tuesday
    run.assert_good()
    assert run.rows("daily_panel") == 2 * 7
    # no weekly asset was built (no weekly run) ...
    assert not {"weekly_panel", "feature_matrix", "factor_returns_weekly"} & set(run.materialised())
    assert run.rows("weekly_panel") in (None, 0) and run.rows("feature_matrix") in (None, 0)
    # ... and the summaries over them are empty, with a note
    for table in ("prediction_walk_forward", "long_short_alphas", "fama_macbeth_premia", "pca_factors"):
        assert run.rows(table) == 0 and run.note(table), table


def test_one_iso_week_and_three_coins(materialize):
    run = materialize("2024-01-01", "2024-01-07", coins=3)
    run.assert_good()
    assert run.rows("weekly_panel") == 3
    for table in ("factor_returns_weekly", "characteristic_portfolios", "fama_macbeth_gammas", "factor_risk_model"):
        assert run.rows(table) == 0, table
    assert "eligible coins in the formation week" in run.note("factor_returns_weekly")
    assert "rolling betas" in run.note("factor_risk_model")
    # the daily research rows of the week (weekly partitions): too short a history for a rolling beta
    assert run.rows("rolling_betas") == 0 and run.rows("rsj_daily") == 3 * 7
    assert "needs >= 60 daily observations per coin" in run.note("rolling_betas")
    assert "the most any coin has in a window is 0" in run.note("rolling_betas")


def test_five_weeks_and_a_month_on_five_coins_fill_what_fits(materialize):
    """Also the fast no-regression case: what the range can hold is built (non-empty)."""
    run = materialize("2024-01-01", "2024-02-10", coins=5)
    run.assert_good()
    for table in ("daily_panel", "factor_returns_daily", "weekly_panel", "weekly_characteristics",
                  "characteristic_portfolios", "factor_returns_weekly", "fama_macbeth_gammas", "feature_matrix",
                  "ltw_replication", "cross_asset_monthly", "neural_betas", "beta_quartile_portfolios",
                  "neural_beta_grid", "neural_beta_stats", "neural_beta_forecasts"):
        assert run.rows(table) > 0, table
    assert run.rows("rolling_betas") == 0
    assert "needs >= 60 daily observations per coin" in run.note("rolling_betas")
    assert "needs >= 4 weeks of Fama-MacBeth gammas" in run.note("fama_macbeth_premia")
    # five coins, four with bars: too few for RSJ quintiles, said so
    assert run.rows("rsj_portfolios_daily") == 0 and ">= 5 universe coins" in run.note("rsj_portfolios_daily")


# --------------------------------------------------------------------------------------------
# real files over a few days
# --------------------------------------------------------------------------------------------
def _copy(tmp_path: Path, folder: str, names: list[str]) -> str:
    """A few real files in a temporary folder; their glob."""
    target = tmp_path / folder
    target.mkdir()
    for name in names:
        shutil.copy(REAL_DATA / folder / name, target / name)
    return str(target / "*")


def real_files(test):
    """A test on real files: marked ``real_data``, skipped where ../shared/data/real is absent."""
    skip = pytest.mark.skipif(not REAL_DATA.exists(), reason="../shared/data/real is absent")
    return pytest.mark.real_data(skip(test))


def _materialize_files(materialize, tmp_path, first: str, last: str, **files: tuple[str, list[str]]):
    """A good run of [first, last] on the files source reading, for each of its ``files`` options
    (``klines`` / ``markets``), a few real files (folder, names) copied to a temporary folder."""
    globs = {option: _copy(tmp_path, folder, names) for option, (folder, names) in files.items()}
    run = materialize(first, last, source="files", **globs)
    run.assert_good()
    return run


@real_files
def test_a_few_days_of_binance_5m_files(materialize, tmp_path):
    # one whole ISO week (Monday to Sunday): rsj_daily and the other daily research rows are weekly partitions
    run = _materialize_files(materialize, tmp_path, "2024-03-04", "2024-03-10",
                             klines=("binance_spot_genetrader", ["BTC_USDT-5m.feather", "ETH_USDT-5m.feather"]))
    assert run.rows("raw_klines_5m") == 2 * 7 * 288 and run.rows("rsj_daily") == 2 * 7
    assert run.rows("rolling_betas") == 0 and run.note("rolling_betas")


@real_files
def test_a_week_of_coingecko_csv_files_without_bars(materialize, tmp_path):
    run = _materialize_files(materialize, tmp_path, "2021-03-01", "2021-03-07",
                             markets=("coingecko_daily_tylerilunga", ["btc-usd-max.csv", "eth-usd-max.csv"]))
    assert run.rows("daily_panel") == 2 * 7 and run.rows("weekly_panel") == 2
    assert run.rows("rsj_daily") == 0 and "needs 5-minute bars" in run.note("rsj_daily")


# --------------------------------------------------------------------------------------------
# no regression: a longer run fills the tables
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_longer_run_still_fills_the_tables(materialize):
    run = materialize("2023-09-04", "2024-01-14", coins=30)
    run.assert_good()
    for table in ("rolling_betas", "regime_signals", "factor_risk_model", "fama_macbeth_gammas",
                  "fama_macbeth_premia", "long_short_alphas", "characteristic_portfolios", "factor_returns_weekly",
                  "feature_matrix", "rsj_portfolios_daily", "rsj_backtest", "ltw_replication", "neural_betas",
                  "beta_quartile_portfolios", "neural_beta_grid", "neural_beta_stats"):
        assert run.rows(table) > 0, table
    assert "note" not in run.metadata("rolling_betas")
