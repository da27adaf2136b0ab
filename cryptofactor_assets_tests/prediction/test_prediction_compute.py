"""The prediction domain's pure table functions, called without Dagster (``prediction.compute``,
``prediction.dashboard``): the table sets they return and their behaviour on missing inputs."""

from __future__ import annotations

import duckdb

from cryptofactor_assets.prediction import compute, tables
from cryptofactor_assets.prediction.dashboard import compute_dashboard
from cryptofactor_assets.storage.identifiers import quote_ident


class _Diag:
    mc_reps, mc_lengths, mc_noises, mc_seed = 3, [26], [0.1], 1


def test_empty_diagnostics_writes_every_table_in_order_with_only_the_monte_carlo_study():
    out = compute.empty_diagnostics(_Diag())
    assert tuple(out) == tables.DIAGNOSTICS_TABLES
    assert all(out[t].empty for t in tables.DIAGNOSTICS_TABLES if t != tables.FM_MONTE_CARLO)
    mc = out[tables.FM_MONTE_CARLO]
    assert len(mc) and set(mc["reps"]) == {3} and set(mc["seed"]) == {1}


def test_dashboard_without_its_inputs_is_empty_and_says_why():
    con = duckdb.connect()
    table, notes = compute_dashboard(con, "double_sort", "expanding")
    assert table.empty and list(table.columns) == ["section", "metric", "value", "detail"]
    assert len(notes) == 4 and any("factor_model_ts_fit absent" in n for n in notes)



def test_dashboard_rows_of_the_chapters_factors():
    """Sharpe rows of every weekly factor, the spanning regression of CVOL / CFUND / CCHAIN on CMKT, CSMB,
    CMOM, the rolling betas' mean |t|; a factor without data (CFUND here) is skipped with a note."""
    import numpy as np
    import pandas as pd

    from cryptofactor_assets.estimators.hac import ols_hac
    from cryptofactor_assets.storage.warehouse import ensure_table

    rng = np.random.default_rng(3)
    n = 60
    f = pd.DataFrame({"week_start": pd.date_range("2023-01-02", periods=n, freq="7D").date,
                      "formation_week": pd.date_range("2022-12-26", periods=n, freq="7D").date,
                      "construction": "double_sort", **{c: rng.normal(0.002, 0.03, n) for c in
                                                       ("cmkt", "csmb", "cmom", "cvol", "cchain")},
                      "cfund": np.nan, "n_coins": 40, "n_small": 12, "n_big": 12, "n_mom_long": 12, "n_mom_short": 12,
                      "breakpoint_universe": "all", "investable_top_n": 100, "calendar": "iso", "rf_source": "default"})
    f["cvol"] += 0.5 * f["csmb"]
    b = pd.DataFrame({"symbol": "A", "date": pd.date_range("2023-01-01", periods=5).date, "alpha": 0.0,
                      "beta_mkt": 1.0, "beta_size": 0.5, "beta_mom": 0.1, "beta_vol": 0.4, "beta_mkt_se": 0.5,
                      "beta_size_se": 0.25, "beta_mom_se": 0.1, "beta_vol_se": 0.2, "n_obs": 60, "window_days": 90,
                      "min_obs": 60, "construction": "double_sort", "factors": "mkt,size,mom,vol"})
    con = duckdb.connect()
    for table, frame in (("factor_returns_weekly", f), ("rolling_betas", b)):
        ensure_table(con, table)
        con.register("incoming", frame)
        con.execute(f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM incoming")
        con.unregister("incoming")
    table, notes = compute_dashboard(con, "double_sort", "expanding")
    got = table.set_index("metric")["value"]
    for c in ("cmkt", "csmb", "cmom", "cvol", "cchain"):
        assert got[f"{c}_sharpe_annualised"] == np.sqrt(52) * f[c].mean() / f[c].std(ddof=1)
    assert "cfund_sharpe_annualised" not in got and any("cfund" in n for n in notes)
    fit = ols_hac(f["cvol"].to_numpy(), f[["cmkt", "csmb", "cmom"]].to_numpy(), "4t100", add_constant=True)
    assert got["cvol_r2_on_ltw"] == fit.r2 and got["cvol_alpha_annualised"] == 52 * fit.params[0]
    assert got["cvol_r2_on_ltw"] > got["cchain_r2_on_ltw"] and "cfund_r2_on_ltw" not in got
    assert got["mean_abs_t_beta_vol"] == 2.0 and got["mean_abs_t_beta_mkt"] == 2.0
    assert "mean_abs_t_beta_fund" not in got
