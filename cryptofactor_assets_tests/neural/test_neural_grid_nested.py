"""The seed's grid by chronological nested validation: 36 configurations x 7 targets, selection blind to
the test block, parallel == serial, planted activations, winners for neural_betas, old warehouses,
``cryptofactor materialize --full-grid``."""

from __future__ import annotations

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets import cli
from cryptofactor_assets.neural import assets as na
from cryptofactor_assets.neural import assets_summary as ns
from cryptofactor_assets.neural import grid as G
from cryptofactor_assets.neural import tables as nt
from cryptofactor_assets.neural.beta_net import NetConfig
from cryptofactor_assets.neural.compute import compute_grid, grid_lacks
from cryptofactor_assets.neural.resources import CROSS_ASSET_SOURCE, CrossAssetSourceResource
from cryptofactor_assets.neural.simulation import MARKETS, simulate_cross_asset
from cryptofactor_assets.storage.replace import replace_rows_of_tables
from cryptofactor_assets.storage.warehouse import declared_columns, ensure_table, load_sql
from cryptofactor_assets_tests.conftest import query

TARGETS = ["FIAT", "EQUITY", "GOLD", "ENERGY", "FIAT+EQUITY", "FIAT+GOLD", "JOINT"]
#: Tiny fits: the tests are about the bookkeeping, not the networks' quality.
FAST = NetConfig(epochs=6, n_seeds=1)


@pytest.fixture(scope="module")
def sim():
    s = simulate_cross_asset(n_months=72, coins=("BTC", "ETH", "LTC", "XRP", "ADA"), seed=5)
    return s.coin_returns, s.market_returns


def _small_grid(base: NetConfig = NetConfig(epochs=40, n_seeds=2)) -> list[NetConfig]:
    return G.config_grid((4,), (0.01, 0.1), ("identity", "tanh"), base)


# ----------------------------------------------------------------------------------- the full grid
def test_full_grid_has_36_configurations_on_7_targets_and_one_winner_each(sim):
    coins, markets = sim
    table, curves, png = compute_grid(coins, markets, G.config_grid(base=FAST), n_jobs=1)
    assert len(table) == 36 * 7
    assert list(dict.fromkeys(table["market"])) == TARGETS
    per = table.groupby("market")
    assert (per.size() == 36).all() and (per["is_best"].sum() == 1).all()
    assert (per["rank"].apply(lambda r: sorted(r) == list(range(1, 37)))).all()
    assert table.set_index("market")["n_outputs"].groupby(level=0).first().to_dict() == {
        "FIAT": 1, "EQUITY": 1, "GOLD": 1, "ENERGY": 1, "FIAT+EQUITY": 2, "FIAT+GOLD": 2, "JOINT": 4}
    best = table[table["is_best"]].set_index("market")
    assert (best["val_rmse"] == per["val_rmse"].min().reindex(best.index)).all()
    assert table[["val_rmse", "test_rmse", "train_rmse_std"]].notna().all().all()
    # blocks: 72 months, 12 of look-back, 60 targets -> 36 / 12 / 12, contiguous and in time order
    row = table.iloc[0]
    months = pd.date_range(row["train_first"], row["test_last"], freq="MS")
    assert len(months) == 60 and row["first_month"] == coins.index[0].date()
    assert [pd.Timestamp(row[c]) for c in ("train_last", "val_first", "val_last", "test_first")] == [
        months[35], months[36], months[47], months[48]]
    assert (table["n_coins"] == 5).all() and (table["epochs"] == 6).all() and (table["inputs"] == G.DEFAULT_INPUTS).all()
    # the learning curves: the winner's per-epoch MSEs of every target
    assert len(curves) == 7 * 6 and set(curves["market"]) == set(TARGETS)
    w = best.loc["JOINT"]
    cj = curves[curves["market"] == "JOINT"]
    assert (cj["hidden"] == w["hidden"]).all() and (cj["activation"] == w["activation"]).all()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # stored in a fresh warehouse; the grid's own check query holds
    con = duckdb.connect(":memory:")
    replace_rows_of_tables(con, [(nt.NEURAL_BETA_GRID, table), (nt.NEURAL_BETA_LEARNING_CURVES, curves)])
    assert con.execute(load_sql("count_grid_markets_without_one_best", domain="neural")).fetchone()[0] == 0
    winners = G.read_grid_winners(con)
    assert set(winners) == set(TARGETS)
    assert winners["JOINT"] == G.config_grid((int(w["hidden"]),), (float(w["learning_rate"]),),
                                             (str(w["activation"]),), FAST)[0]


def test_blocks_and_the_minimum_history():
    assert G.block_sizes(120, 12) == (64, 22, 22)
    b = G.nested_blocks(120, 12)
    assert (b.val_start, b.test_start) == (76, 98)
    assert G.block_sizes(120, 12, 0.5, 0.25) == (54, 27, 27)
    need = G.min_history_months(12)
    assert G.blocks_fit(need, 12) and not G.blocks_fit(need - 1, 12)
    with pytest.raises(ValueError, match="needs >="):
        G.nested_blocks(need - 1, 12)
    with pytest.raises(ValueError, match="test block"):
        G.block_sizes(120, 12, 0.8, 0.2)
    idx = pd.date_range("2015-01-01", periods=need, freq="MS")
    coins = pd.DataFrame({"BTC": np.zeros(need)}, idx)
    markets = pd.DataFrame({"EQUITY": np.zeros(need)}, idx)
    assert grid_lacks(coins, markets, 12) is None
    assert "needs >=" in grid_lacks(coins.iloc[1:], markets.iloc[1:], 12)


# ------------------------------------------------------------------------------ selection is blind
def test_selection_never_looks_at_the_test_block(sim):
    coins, markets = sim
    grid = _small_grid()
    res = G.grid_search(coins, markets, grid=grid, n_jobs=1)
    t0 = res.blocks.test_start
    rng = np.random.default_rng(1)
    c2, m2 = coins.copy(), markets.copy()
    c2.iloc[t0:] += rng.normal(0, 0.5, size=c2.iloc[t0:].shape)  # test months only, coins and markets
    m2.iloc[t0:] *= -3.0
    other = G.grid_search(c2, m2, grid=grid, n_jobs=1)
    same = ["market", "hidden", "learning_rate", "activation", "train_rmse_std", "val_rmse", "rank", "is_best"]
    pd.testing.assert_frame_equal(res.table[same], other.table[same], check_exact=True)
    assert res.best == other.best
    assert (res.table["test_rmse"] != other.table["test_rmse"]).all()  # the test block was scored on the new data
    # and the validation block does matter: perturbing it changes the scores
    c3 = coins.copy()
    c3.iloc[res.blocks.val_start:t0] += rng.normal(0, 0.5, size=c3.iloc[res.blocks.val_start:t0].shape)
    third = G.grid_search(c3, markets, grid=grid, n_jobs=1)
    assert (third.table["val_rmse"] != res.table["val_rmse"]).all()


# --------------------------------------------------------------------------------------- parallel
def test_parallel_equals_serial(sim):
    coins, markets = sim
    grid = _small_grid()
    serial = G.grid_search(coins, markets, grid=grid, n_jobs=1)
    calls: list[tuple[int, int]] = []
    parallel = G.grid_search(coins, markets, grid=grid, n_jobs=2, progress=lambda d, t: calls.append((d, t)))
    pd.testing.assert_frame_equal(serial.table, parallel.table, check_exact=True)
    assert serial.best == parallel.best
    for name, c in serial.curves.items():
        np.testing.assert_array_equal(c.train_mse, parallel.curves[name].train_mse)
        np.testing.assert_array_equal(c.val_mse, parallel.curves[name].val_mse)
    total = len(grid) * 7
    assert calls == [(d, total) for d in range(1, total + 1)]


def test_n_jobs_default_is_the_cpu_count_capped_at_the_fits(monkeypatch):
    monkeypatch.setattr(G.os, "cpu_count", lambda: 8)
    assert G.resolve_n_jobs(None, 252) == 8 and G.resolve_n_jobs(0, 252) == 8
    assert G.resolve_n_jobs(None, 3) == 3 and G.resolve_n_jobs(2, 252) == 2 and G.resolve_n_jobs(5, 0) == 1


# ---------------------------------------------------------------------------------- planted cases
def _planted(kind: str, seed: int = 0, n_months: int = 144, n_coins: int = 10):
    """One market whose volatility switches (3 % / 9 % a month, ~6-month spells); each coin's beta is a
    function of the market's trailing 3-month RMS move (months t-3 .. t-1, the ``state`` input):
    linear (``0.5 + vol``) or a step (``-0.5`` below 1, ``2.5`` above)."""
    rng = np.random.default_rng(seed)
    high = np.cumsum(rng.random(n_months) < 1 / 6) % 2 == 1
    f = np.where(high, 0.09, 0.03) * rng.normal(size=n_months)
    z2 = (f / 0.05) ** 2
    vol = np.ones(n_months)
    for t in range(3, n_months):
        vol[t] = np.sqrt(z2[t - 3:t].mean())
    beta = 0.5 + vol if kind == "linear" else np.where(vol > 1.0, 2.5, -0.5)
    r = (beta[:, None] + rng.normal(0, 0.1, n_coins)[None]) * f[:, None] + 0.02 * rng.normal(size=(n_months, n_coins))
    idx = pd.date_range("2010-01-01", periods=n_months, freq="MS")
    return pd.DataFrame(r, idx, [f"C{i}" for i in range(n_coins)]), pd.DataFrame({"EQUITY": f}, idx)


def _by_activation(kind: str) -> tuple[str, pd.Series]:
    coins, markets = _planted(kind)
    grid = G.config_grid((4, 8), (0.01, 0.1), G.ACTIVATIONS, NetConfig(n_seeds=3))
    res = G.grid_search(coins, markets, grid=grid, inputs="state", n_jobs=1)
    return res.best["EQUITY"].activation, res.table.groupby("activation")["val_rmse"].min()


def test_planted_linear_betas_pick_the_identity_activation():
    winner, val = _by_activation("linear")
    assert winner == "identity" and val["identity"] == val.min()


def test_planted_step_betas_pick_a_nonlinear_activation():
    winner, val = _by_activation("step")
    assert winner != "identity"
    assert val["identity"] > 1.1 * val.min()


# ------------------------------------------------------------------------------------------ winners
def test_grid_winners_is_pure_and_fills_missing_fields_from_the_base():
    table = pd.DataFrame({
        "market": ["FIAT", "FIAT", "JOINT"], "is_best": [False, True, True], "hidden": [4, 16, 8],
        "learning_rate": [0.1, 0.001, 0.01], "activation": ["relu", "tanh", "identity"],
        "l2": [0.1, 0.2, 0.3], "epochs": [300, 50, None], "n_seeds": [5, 3, None],
        "random_state": [0, 1, None], "early_stopping_fraction": [0.2, 0.25, None]})
    base = NetConfig(epochs=77, n_seeds=2)
    got = G.grid_winners(table, base)
    assert got == {"FIAT": NetConfig(hidden=16, learning_rate=0.001, activation="tanh", l2=0.2, epochs=50,
                                     n_seeds=3, random_state=1, val_fraction=0.25),
                   "JOINT": NetConfig(hidden=8, learning_rate=0.01, activation="identity", l2=0.3, epochs=77,
                                      n_seeds=2)}
    assert G.grid_winners(table.iloc[:0]) == {}
    with pytest.raises(ValueError, match="several best"):
        G.grid_winners(table.assign(is_best=True))


# --------------------------------------------------------------------------------- old warehouses
#: neural_beta_grid and its curves as the scikit-learn grid created them (before issue 17).
OLD_GRID = """CREATE TABLE neural_beta_grid (market VARCHAR NOT NULL, hidden INTEGER NOT NULL,
    learning_rate DOUBLE NOT NULL, activation VARCHAR NOT NULL, l2 DOUBLE NOT NULL, max_iter INTEGER NOT NULL,
    train_rmse_std DOUBLE, val_rmse DOUBLE, rank INTEGER NOT NULL, is_best BOOLEAN NOT NULL,
    lookback INTEGER NOT NULL, val_fraction DOUBLE NOT NULL, first_month DATE NOT NULL,
    last_month DATE NOT NULL, n_coins INTEGER NOT NULL)"""
OLD_CURVES = """CREATE TABLE neural_beta_learning_curves (market VARCHAR NOT NULL, epoch INTEGER NOT NULL,
    train_loss DOUBLE, val_rmse DOUBLE, hidden INTEGER NOT NULL, learning_rate DOUBLE NOT NULL,
    activation VARCHAR NOT NULL)"""
OLD_ROWS = """INSERT INTO neural_beta_grid VALUES
    ('EQUITY', 8, 0.01, 'tanh', 0.001, 200, 0.9, 0.1, 1, TRUE, 12, 0.3, '2015-01-01', '2022-12-01', 12),
    ('EQUITY', 4, 0.01, 'identity', 0.001, 200, 0.9, 0.2, 2, FALSE, 12, 0.3, '2015-01-01', '2022-12-01', 12)"""


def _old_warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(OLD_GRID)
    con.execute(OLD_CURVES)
    con.execute(OLD_ROWS)
    return con


def test_an_old_grid_table_keeps_working(sim):
    coins, markets = sim
    con = _old_warehouse()
    # neural_betas may read the winners before the grid is rerun: the new columns come in as NULL
    assert G.read_grid_winners(con, NetConfig(epochs=9)) == {
        "EQUITY": NetConfig(hidden=8, learning_rate=0.01, activation="tanh", l2=0.001, epochs=9)}
    table, curves, _ = compute_grid(coins, markets, _small_grid(FAST), n_jobs=1)
    # ensure_table adds the new columns as nullable but leaves max_iter NOT NULL: the new rows lack it
    with pytest.raises(duckdb.ConstraintException, match="max_iter"):
        replace_rows_of_tables(con, [(nt.NEURAL_BETA_GRID, table), (nt.NEURAL_BETA_LEARNING_CURVES, curves)])
    assert con.execute("SELECT count(*) FROM neural_beta_grid").fetchone()[0] == 2  # rolled back
    assert G.drop_retired_columns(con, nt.NEURAL_BETA_GRID) == ["max_iter"]
    assert G.drop_retired_columns(con, nt.NEURAL_BETA_LEARNING_CURVES) == ["train_loss", "val_rmse"]
    replace_rows_of_tables(con, [(nt.NEURAL_BETA_GRID, table), (nt.NEURAL_BETA_LEARNING_CURVES, curves)])
    for t in (nt.NEURAL_BETA_GRID, nt.NEURAL_BETA_LEARNING_CURVES):
        have = [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()]
        assert sorted(have) == sorted(n for n, _ in declared_columns(t))
    assert len(G.read_grid_winners(con)) == 7
    assert G.drop_retired_columns(con, nt.NEURAL_BETA_GRID) == []  # idempotent
    fresh = duckdb.connect(":memory:")
    assert G.drop_retired_columns(fresh, nt.NEURAL_BETA_GRID) == []  # no table yet: nothing to do
    ensure_table(fresh, nt.NEURAL_BETA_GRID)
    assert G.read_grid_winners(fresh) == {}


def _materialize(assets, db: str, run_config=None, tags=None) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, resources={"duckdb": DuckDBResource(database=db),
                                             CROSS_ASSET_SOURCE: CrossAssetSourceResource()},
                          run_config=run_config, tags=tags or {}, raise_on_error=True)


def test_the_asset_on_an_old_warehouse_with_the_full_grid(tmp_path):
    """``full_grid: true`` (what ``--full-grid`` sets) on a warehouse holding the old tables: 36 x 7 rows."""
    db = str(tmp_path / "old.duckdb")
    with duckdb.connect(db) as con:
        con.execute(OLD_GRID)
        con.execute(OLD_CURVES)
        con.execute(OLD_ROWS)
    _materialize([na.cross_asset_monthly], db, {"ops": {nt.CROSS_ASSET_MONTHLY: {"config": {"seed": 7}}}},
                 {"dagster/asset_partition_range_start": "2020-12-01",
                  "dagster/asset_partition_range_end": "2020-12-01"})
    cfg = {"ops": {nt.NEURAL_BETA_GRID: {"config": {**cli.FULL_GRID_OPS[nt.NEURAL_BETA_GRID]["config"],
                                                    "epochs": 2, "n_seeds": 1, "n_jobs": 2}}}}
    res = _materialize([ns.neural_beta_grid], db, cfg)
    assert all(e.passed for e in res.get_asset_check_evaluations())
    grid = query(db, "SELECT * FROM neural_beta_grid ORDER BY market, rank")
    assert len(grid) == 36 * 7 and set(grid["market"]) == set(TARGETS) and "max_iter" not in grid
    assert (grid.groupby("market")["is_best"].sum() == 1).all()
    assert grid["first_month"].min() == pd.Timestamp("2015-01-01")
    assert grid["test_last"].max() == pd.Timestamp("2020-12-01")
    meta = res.asset_materializations_for_node(nt.NEURAL_BETA_GRID)[0].metadata
    assert meta["configurations"].value == 36 and "data:image/png;base64," in meta["learning_curves"].value
    assert "JOINT" in meta["targets"].value


def test_the_asset_docstring_states_the_nested_split_and_the_winners_use():
    desc = ns.neural_beta_grid.descriptions_by_key[dg.AssetKey(nt.NEURAL_BETA_GRID)]
    for words in ("train block", "validation block", "test block", "never used for selection", "neural_betas",
                  "--full-grid"):
        assert words in desc


# -------------------------------------------------------------------------------------------- CLI
def _args(*extra: str):
    return cli.build_parser().parse_args(["materialize", "--start", "2023-01-01", "--end", "2023-01-31", *extra])


def test_materialize_full_grid_flag_sets_the_grid_config():
    assert _args().full_grid is False and cli.run_ops_config(_args()) == {}
    ops = cli.run_ops_config(_args("--full-grid"))
    assert ops == {nt.NEURAL_BETA_GRID: {"config": {"full_grid": True}}}
    assert ns.NeuralGridConfig(**ops[nt.NEURAL_BETA_GRID]["config"]).full_grid


def test_full_grid_run_config_reaches_the_summary_job_only(monkeypatch):
    from cryptofactor_assets.definitions import DAILY_JOB, SUMMARY_JOB, build_definitions
    from cryptofactor_assets.ops import run_guard

    class Captured(Exception):
        pass

    def fake(job, instance, *, tags, run_config, **_):
        dg.validate_run_config(job, run_config)  # the job accepts it
        raise Captured(run_config)

    monkeypatch.setattr(run_guard, "execute_guarded", fake)
    defs = build_definitions()
    ops = cli.run_ops_config(_args("--full-grid"))
    with pytest.raises(Captured) as got:
        cli._run_job(defs, None, SUMMARY_JOB, None, None, ops)
    assert got.value.args[0]["ops"] == ops
    with pytest.raises(Captured) as got:
        cli._run_job(defs, None, DAILY_JOB, "2023-01-01", "2023-01-01", ops)
    assert "ops" not in got.value.args[0]


def test_targets_follow_the_markets_present():
    assert [n for n, _ in G.grid_targets(MARKETS)] == TARGETS
