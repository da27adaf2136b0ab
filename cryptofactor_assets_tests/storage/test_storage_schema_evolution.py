"""A warehouse written before a column existed gains it: ``ensure_table`` adds the columns the create
statement declares and the stored table lacks (nullable, rows kept), so later writes by name work."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cryptofactor_assets.storage import warehouse
from cryptofactor_assets.storage.replace import replace_rows_of_tables


def test_an_old_table_gains_the_new_columns_and_keeps_its_rows(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    # model_comparison as an older release created it: no calibration columns
    con.execute("CREATE TABLE model_comparison (scheme VARCHAR NOT NULL, model VARCHAR NOT NULL, brier DOUBLE)")
    con.execute("INSERT INTO model_comparison VALUES ('expanding', 'logit_l2', 0.25)")
    declared = [name for name, _ in warehouse.declared_columns("model_comparison")]
    assert {"brier_calibrated", "log_loss"} <= set(declared)
    new = pd.DataFrame({"scheme": ["rolling"], "model": ["logit_l1"], "brier": [0.24], "brier_calibrated": [0.23]})
    replace_rows_of_tables(con, [("model_comparison", new)], None)  # ensure_table first, then the insert
    have = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'model_comparison' ORDER BY ordinal_position").fetchall()]
    assert set(declared) <= set(have)
    rows = con.execute("SELECT scheme, brier_calibrated FROM model_comparison ORDER BY scheme").fetchall()
    assert rows == [("rolling", 0.23)]  # the unpartitioned table was replaced by name, with the new column
    warehouse.ensure_table(con, "model_comparison")  # idempotent
    con.close()


def test_old_rows_of_a_partitioned_table_get_null_in_the_new_column(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE TABLE strategy_comparison (family VARCHAR, strategy VARCHAR, basis VARCHAR, sharpe DOUBLE)")
    con.execute("INSERT INTO strategy_comparison VALUES ('rsj', 'rsj_ew', 'net', 0.5)")
    warehouse.ensure_table(con, "strategy_comparison")
    row = con.execute("SELECT sharpe, cost_drag, venue FROM strategy_comparison").fetchone()
    assert row == (0.5, None, None)
    con.close()


def test_only_catalog_types_are_accepted():
    assert warehouse._COLUMN_TYPE.fullmatch("DECIMAL(18,3)") and warehouse._COLUMN_TYPE.fullmatch("TIMESTAMP WITH TIME ZONE")
    with pytest.raises(AssertionError):
        assert warehouse._COLUMN_TYPE.fullmatch("DOUBLE; DROP TABLE x")
