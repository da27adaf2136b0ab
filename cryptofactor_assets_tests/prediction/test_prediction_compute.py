"""The prediction domain's pure table functions, called without Dagster (``prediction.compute``,
``prediction.dashboard``): the table sets they return and their behaviour on missing inputs."""

from __future__ import annotations

import duckdb

from cryptofactor_assets.prediction import compute, tables
from cryptofactor_assets.prediction.dashboard import compute_dashboard


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

