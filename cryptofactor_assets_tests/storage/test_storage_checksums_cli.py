"""`cryptofactor checksums` compares two warehouses table by table; `sql --at-snapshot` on a DuckDB file is a
one-line error (time travel needs a DuckLake). Tier 1: tiny DuckDB files, the CLI's main()."""

from __future__ import annotations

import duckdb
import pytest

from cryptofactor_assets import cli
from cryptofactor_assets.storage.checksums import rows_close, table_checksums


def _file(path, values, extra: float = 0.0):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (k INTEGER, x DOUBLE)")
        con.executemany("INSERT INTO t VALUES (?, ?)", [(i, v + extra) for i, v in enumerate(values)])
        con.execute("CREATE TABLE u (s VARCHAR)")
        con.execute("INSERT INTO u VALUES ('a'), ('b')")


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.delenv("CRYPTOFACTOR_WAREHOUSE", raising=False)
    a, b, c = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "c.duckdb"
    values = [0.1, 0.2, 0.3 + 1e-17, 1e6 / 3]
    _file(a, values)
    _file(b, values)  # the same rows
    _file(c, values, extra=1e-6)  # a real difference
    return a, b, c


def test_equal_warehouses_exit_0_and_a_real_difference_exits_1(files, capsys):
    a, b, c = files
    assert cli.main(["checksums", "--duckdb", str(a), "--against", f"duckdb:{b}"]) == 0
    assert "EQUAL" in capsys.readouterr().out
    assert cli.main(["checksums", "--duckdb", str(a), "--against", f"duckdb:{c}"]) == 1
    out = capsys.readouterr().out
    assert "differs: t: column x differs beyond rtol" in out and "1 table(s) differ" in out


def test_rows_close_forgives_only_the_last_bits_of_floats(tmp_path):
    left, right = duckdb.connect(), duckdb.connect()
    for con, shift in ((left, 0.0), (right, 1e-13)):
        con.execute("CREATE TABLE t AS SELECT range AS k, (range + 1) / 3.0 * (1 + ?) AS x FROM range(50)", [shift])
    sums = [table_checksums(con)["t"] for con in (left, right)]
    assert sums[0].rows == sums[1].rows == 50
    assert rows_close(left, right, "t") is None  # 1e-13 relative: the order of a float sum
    right.execute("UPDATE t SET x = x * 1.001 WHERE k = 7")
    assert "differs beyond rtol" in rows_close(left, right, "t")


def test_time_travel_on_a_duckdb_file_is_a_one_line_error(files, capsys):
    a, _, _ = files
    assert cli.main(["sql", "--duckdb", str(a), "--at-snapshot", "1", "SELECT 1"]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "need a DuckLake warehouse" in err and "Traceback" not in err
