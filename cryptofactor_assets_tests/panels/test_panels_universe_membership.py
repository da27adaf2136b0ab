"""universe_membership: eligibility and its reason per coin-day, known that day (no look-ahead)."""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.panels.assets import universe_membership
from cryptofactor_assets.storage.warehouse import ensure_table
from cryptofactor_assets_tests.conftest import query

DAYS = pd.date_range("2024-01-01", periods=6, freq="D")


def _panel(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["symbol", "day", "market_cap", "ret", "dollar_volume"])
    frame["date"] = DAYS[frame.pop("day")].date
    frame["in_universe"] = ((frame["market_cap"] >= 1e6) & frame["ret"].notna() & frame["dollar_volume"].notna())
    return frame.assign(close=1.0, close_source="markets", n_bars=0)


def _build(path: str, panel: pd.DataFrame) -> pd.DataFrame:
    with duckdb.connect(path) as con:
        ensure_table(con, "daily_panel")
        con.register("p", panel)
        con.execute("INSERT INTO daily_panel BY NAME SELECT * FROM p")
    result = dg.materialize([universe_membership], resources={"duckdb": DuckDBResource(database=path)})
    assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
    return query(path, "SELECT * FROM universe_membership ORDER BY symbol, date")


ROWS = [
    # A: eligible, then gone for good after day 2
    ("A", 0, 5e7, None, 1e6), ("A", 1, 5e7, 0.01, 1e6), ("A", 2, 5e7, 0.02, 1e6),
    # B: a gap on day 2, back on day 3 (no return on 3: its previous day is missing)
    ("B", 0, 2e7, 0.0, 1e5), ("B", 1, 2e7, 0.01, 1e5), ("B", 3, 2e7, None, 1e5), ("B", 4, 2e7, 0.0, 1e5),
    ("B", 5, 2e7, 0.0, 1e5),
    # C: below $1M, then without a market cap, then without volume
    ("C", 1, 5e5, 0.0, 1e4), ("C", 2, None, 0.0, 1e4), ("C", 3, 3e6, 0.0, None), ("C", 5, 3e6, 0.0, 1e4),
]


def test_reasons_by_hand(tmp_path):
    um = _build(str(tmp_path / "u.duckdb"), _panel(ROWS)).set_index(["symbol", "date"])
    reason = um["reason"].where(um["reason"].notna(), "ok").to_dict()
    d = list(DAYS)
    assert reason[("A", d[0])] == "no_return" and reason[("A", d[1])] == "ok" and reason[("A", d[3])] == "no_data"
    assert ("A", d[4]) not in reason  # only the first day without data: no row claims A is delisted
    assert reason[("B", d[2])] == "no_data" and reason[("B", d[3])] == "no_return" and reason[("B", d[4])] == "ok"
    assert [reason[("C", d[i])] for i in (1, 2, 3, 4, 5)] == ["below_min_cap", "no_market_cap", "no_volume",
                                                            "no_data", "ok"]
    assert pd.Timestamp(um.loc[("A", d[3]), "last_seen"]) == d[2] and um.loc[("B", d[4]), "days_listed"] == 4
    assert not um.loc[("A", d[3]), "eligible"] and um.loc[("A", d[2]), "eligible"]


def test_a_day_is_known_that_day(tmp_path):
    """Membership up to day 3 from the panel up to day 3 equals the full run's rows up to day 3."""
    full = _build(str(tmp_path / "full.duckdb"), _panel(ROWS))
    upto = _panel([r for r in ROWS if r[1] <= 3])
    early = _build(str(tmp_path / "early.duckdb"), upto)
    cut = DAYS[3].date()
    pd.testing.assert_frame_equal(full[full["date"] <= pd.Timestamp(cut)].reset_index(drop=True),
                                  early[early["date"] <= pd.Timestamp(cut)].reset_index(drop=True))
