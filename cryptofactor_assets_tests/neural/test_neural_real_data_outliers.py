"""The outlier rule of cross_asset_monthly: a monthly return beyond its asset class's bound (the seed's
EQUITY -1.9484 of 2018-05, planted here in a SYNTHETIC yfinance-layout price file) is moved to
cross_asset_quarantine with a reason naming the source, series and month, counted in the metadata and
reported by a WARN check; never dropped silently."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.neural import assets as na
from cryptofactor_assets.neural import checks as nchecks
from cryptofactor_assets.neural import cross_asset as xa
from cryptofactor_assets.neural import loaders as ld
from cryptofactor_assets.neural.resources import CROSS_ASSET_SOURCE, CrossAssetSourceResource
from cryptofactor_assets_tests.conftest import query

PLANTED = -1.9484
MONTHS = pd.date_range("2017-12-31", "2018-12-31", freq="ME")  # month-end trading days, roughly


def _synthetic_prices_csv(path) -> None:
    """SYNTHETIC month-end closes in yf.download().to_csv()'s layout: ^GSPC with a planted -1.9484 log
    return in 2018-05 (a level shift: June onward continue from the bad level, no reversal) and BTC-USD."""
    rng = np.random.default_rng(5)
    eq = rng.normal(0.005, 0.03, len(MONTHS))
    eq[MONTHS.get_loc(pd.Timestamp("2018-05-31"))] = PLANTED
    eq[0] = 0.0
    btc = rng.normal(0.0, 0.2, len(MONTHS))
    btc[0] = 0.0
    frame = pd.DataFrame({("Close", "BTC-USD"): 14000 * np.exp(np.cumsum(btc)),
                          ("Close", "^GSPC"): 2673.61 * np.exp(np.cumsum(eq))}, index=MONTHS)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["Price", "Ticker"])
    frame.index.name = "Date"
    ld.write_yfinance_csv(frame, path)


def _run(db: str, csv: str, bounds: str = ""):
    config = {"history_start": "2018-01-01", "outlier_bounds": bounds, "tickers": "BTC=BTC-USD,EQUITY=^GSPC"}
    return dg.materialize([na.cross_asset_monthly], resources={
        "duckdb": DuckDBResource(database=db), CROSS_ASSET_SOURCE: CrossAssetSourceResource(prices_csv=csv)},
        run_config={"ops": {"cross_asset_monthly": {"config": config}}},
        tags={"dagster/asset_partition_range_start": "2018-01-01", "dagster/asset_partition_range_end": "2018-12-01"})


def test_planted_equity_month_is_quarantined_with_its_reason(tmp_path):
    csv, db = str(tmp_path / "synthetic_prices.csv"), str(tmp_path / "q.duckdb")
    _synthetic_prices_csv(csv)
    assert ld.yfinance_monthly_returns(ld.read_yfinance_csv(csv), {"EQUITY": "^GSPC"}).loc[
        "2018-05-01", "EQUITY"] == pytest.approx(PLANTED, abs=1e-12)
    result = _run(db, csv)
    assert result.success
    q = query(db, "SELECT * FROM cross_asset_quarantine")
    assert len(q) == 1
    row = q.iloc[0]
    assert (row["series"], row["asset_class"], row["month_start"], row["source"]) == (
        "EQUITY", "market", pd.Timestamp("2018-05-01"), "yfinance_csv")
    assert row["ret"] == pytest.approx(PLANTED, abs=1e-12) and row["bound"] == 0.5
    assert row["reason"].startswith("yfinance_csv EQUITY 2018-05: monthly log return -1.9484 beyond +-0.5 "
                                    "(the EQUITY bound): implausible")
    stored = query(db, "SELECT month_start FROM cross_asset_monthly WHERE series = 'EQUITY'")["month_start"]
    assert pd.Timestamp("2018-05-01") not in set(stored) and pd.Timestamp("2018-06-01") in set(stored)
    assert len(stored) == 11  # 2018-01..2018-12 (first close 2017-12-31) minus the quarantined month
    meta = result.asset_materializations_for_node("cross_asset_monthly")[-1].metadata
    assert meta["quarantined_rows"].value == 1
    assert "EQUITY 2018-05" in meta["quarantined (implausible monthly returns)"].value
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    check = evals[nchecks.CROSS_QUARANTINE]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["failures"].value == 1
    assert "yfinance_csv EQUITY 2018-05: monthly log return -1.9484" in check.metadata["description"].value
    assert all(e.passed for name, e in evals.items() if name != nchecks.CROSS_QUARANTINE)


def test_a_wider_bound_keeps_it_and_the_rerun_replaces_the_quarantine(tmp_path):
    csv, db = str(tmp_path / "synthetic_prices.csv"), str(tmp_path / "q.duckdb")
    _synthetic_prices_csv(csv)
    _run(db, csv)
    result = _run(db, csv, bounds="EQUITY=2")
    assert query(db, "SELECT count(*) AS n FROM cross_asset_quarantine")["n"][0] == 0
    eq = query(db, "SELECT ret FROM cross_asset_monthly WHERE series = 'EQUITY' AND month_start = DATE '2018-05-01'")
    assert eq["ret"][0] == pytest.approx(PLANTED, abs=1e-12)
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_rule_on_rows():
    rows = pd.DataFrame({
        "month_start": [dt.date(2018, 5, 1)] * 5,
        "series": ["EQUITY", "BTC", "SMB", "FIAT", "OTHER"],
        "asset_class": ["market", "coin", "factor", "market", "unknown"],
        "ret": [PLANTED, 3.9, -0.6, 0.2, 50.0],
        "return_type": ["log", "log", "simple", "log", "log"],
        "source": ["yfinance_csv", "daily_panel", "french_csv", "yfinance_csv", "x"],
        "seed": pd.array([None] * 5, dtype="Int64"),
    })
    kept, q = xa.quarantine_implausible(rows)
    assert list(q["series"]) == ["EQUITY", "SMB"] and list(kept["series"]) == ["BTC", "FIAT", "OTHER"]
    assert len(kept) + len(q) == len(rows)  # nothing dropped
    assert "french_csv SMB 2018-05: monthly simple return -0.6000 beyond +-0.5 (the factor bound)" in q["reason"][1]
    # a series bound overrides its class's; classes can be widened too
    kept, q = xa.quarantine_implausible(rows, xa.parse_bounds("EQUITY=2,factor=1,BTC=3"))
    assert list(q["series"]) == ["BTC"] and "(the BTC bound)" in q["reason"][0]
    for bad in ("EQUITY", "EQUITY=-1", "EQUITY=x", "=1"):
        with pytest.raises(ValueError, match="NAME=POSITIVE_NUMBER"):
            xa.parse_bounds(bad)


def test_simulated_default_calendar_has_nothing_to_quarantine():
    rows, _, _ = xa.compute_cross_asset(dt.date(2015, 1, 1), dt.date(2041, 1, 1), xa.DEFAULT_SEED)
    kept, q = xa.quarantine_implausible(rows)
    assert len(q) == 0 and len(kept) == len(rows)
