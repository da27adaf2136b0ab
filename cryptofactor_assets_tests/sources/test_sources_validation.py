"""Tier 1: the shared validation layer sorts every row into stored or rejected, with a reason."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptofactor_assets.sources.validation import ingest_klines, ingest_markets
from cryptofactor_assets.storage.warehouse import transaction

START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 2)


def _bar(minute=0, **kw):
    row = {"symbol": "BTCUSDT", "open_time": pd.Timestamp("2024-01-01") + pd.Timedelta(minutes=minute),
           "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.5, "volume": 3.0, "turnover": 300.0}
    row.update(kw)
    return row


def _ingest(rows):
    con = duckdb.connect()
    with transaction(con):
        counts = ingest_klines(con, pd.DataFrame(rows), START, END, "test")
    return con, counts


def test_each_bad_kind_is_rejected_with_its_reason():
    rows = [
        _bar(0), _bar(5), _bar(10, close=101.0, high=101.0), _bar(15),
        _bar(20, close=-1.0), _bar(25, high=98.0), _bar(30, volume=np.nan), _bar(35, volume=-1.0),
        _bar(5, close=100.7, high=101.0),  # conflicting duplicate of minute 5: BOTH versions quarantined
        _bar(15),  # identical copy of minute 15: collapses to the first one
        _bar(2.5),  # off the 5-minute grid
        _bar(60 * 24 + 5),  # next day: outside the partition
        _bar(40, open=np.inf), _bar(45, symbol=None),
    ]
    con, counts = _ingest(rows)
    assert counts.received == len(rows) == counts.stored + counts.n_rejected
    assert counts.stored == 3
    assert dict(counts.rejected) == {
        "non_positive_price": 1, "ohlc_inconsistent": 1, "missing_value": 1, "negative_volume": 1,
        "conflicting_duplicate": 2, "duplicate_key": 1, "off_5_minute_grid": 1, "outside_partition": 1,
        "non_finite_value": 1, "missing_key": 1,
    }
    stored = con.execute("SELECT open_time, close, log_ret FROM raw_klines_5m ORDER BY open_time").df()
    assert stored.close.tolist() == [100.5, 101.0, 100.5]  # minutes 0, 10, 15: no minute-5 row at all
    # log returns only between adjacent bars: 10->15 is adjacent, 0->10 is not (minute 5 quarantined)
    assert stored.log_ret.isna().tolist() == [True, True, False]
    np.testing.assert_allclose(stored.log_ret[2], np.log(100.5 / 101.0))
    rejected = con.execute("SELECT reason, symbol, partition_date, raw FROM rejected_rows").df()
    assert len(rejected) == counts.n_rejected
    assert (rejected.partition_date == pd.Timestamp(START)).all()
    assert rejected.raw.str.startswith("{").all()
    conflict = rejected[rejected.reason == "conflicting_duplicate"].raw.str.contains('"close":100.7').tolist()
    assert sorted(conflict) == [False, True]  # both versions of minute 5, the first and the second


def test_a_valid_row_is_not_rejected_as_duplicate_of_an_invalid_copy():
    # duplicates are judged among valid rows: the broken copy comes first and is rejected for what it is
    con, counts = _ingest([_bar(0, close=np.nan), _bar(0)])
    assert counts.stored == 1 and dict(counts.rejected) == {"missing_value": 1}


def test_no_return_across_a_gap_or_a_day():
    rows = [_bar(0), _bar(5), _bar(15), _bar(60 * 24 - 5)]
    con = duckdb.connect()
    with transaction(con):
        ingest_klines(con, pd.DataFrame(rows + [_bar(60 * 24)]), START, dt.date(2024, 1, 3), "test")
    lr = con.execute("SELECT log_ret FROM raw_klines_5m ORDER BY open_time").df().log_ret
    assert lr.notna().tolist() == [False, True, False, False, False]


def test_markets_zero_caps_become_null_and_bad_prices_are_rejected():
    frame = pd.DataFrame({
        "coin_id": ["a", "a", "b", "c", "d", "d"],
        "symbol": ["AUSDT", "AUSDT", "BUSDT", "CUSDT", "DUSDT", "DUSDT"],
        "date": pd.to_datetime(["2024-01-01"] * 6), "price": [1.0, 1.0, 0.0, 2.0, 3.0, 3.3],
        "market_cap": [0.0, 0.0, 1.0, np.nan, 3.0, 3.0], "total_volume": [1.0, 1.0, 1.0, 0.0, 1.0, 1.0],
    })
    con = duckdb.connect()
    with transaction(con):
        counts = ingest_markets(con, frame, START, END, "test")
    # a's identical copy collapses; d's two different prices are a conflict: both quarantined
    assert counts.stored == 2 and dict(counts.rejected) == {"duplicate_key": 1, "non_positive_price": 1,
                                                            "conflicting_duplicate": 2}
    assert counts.quirks["zero_market_cap"] == 1 and counts.quirks["missing_market_cap"] == 1
    stored = con.execute("SELECT symbol, market_cap, total_volume FROM raw_coin_markets ORDER BY symbol").df()
    assert stored.symbol.tolist() == ["AUSDT", "CUSDT"]
    assert stored.market_cap.isna().all() and stored.total_volume.isna().tolist() == [False, True]


finite = st.floats(allow_nan=True, allow_infinity=True, width=64)
rows_strategy = st.lists(
    st.fixed_dictionaries({
        "symbol": st.sampled_from(["BTCUSDT", "ETHUSDT", "", None]),
        "open_time": st.integers(-10, 300).map(lambda k: pd.Timestamp("2024-01-01") + pd.Timedelta(seconds=150 * k)),
        "open": finite, "high": finite, "low": finite, "close": finite, "volume": finite, "turnover": finite,
    }),
    min_size=1, max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_strategy)
def test_random_rows_are_all_accounted_for(rows):
    con, counts = _ingest(rows)
    stored = con.execute("SELECT count(*) FROM raw_klines_5m").fetchone()[0]
    rejected = con.execute("SELECT count(*) FROM rejected_rows").fetchone()[0]
    assert counts.received == len(rows) == stored + rejected
    assert con.execute(
        "SELECT count(*) FROM raw_klines_5m WHERE NOT (low <= least(open, close) AND high >= greatest(open, close) "
        "AND close > 0 AND volume >= 0 AND isfinite(close))").fetchone()[0] == 0
    assert con.execute("SELECT count(*) - count(DISTINCT (symbol, open_time)) FROM raw_klines_5m").fetchone()[0] == 0


def _ids(con) -> dict[str, int]:
    return dict(con.execute("SELECT symbol, symbol_id FROM symbol_ids").fetchall())


def test_symbol_ids_are_dense_stable_and_only_for_stored_bars():
    con, _ = _ingest([_bar(0, symbol="ETHUSDT"), _bar(0, symbol="BTCUSDT"), _bar(5, symbol="BADUSDT", low=200.0)])
    # BADUSDT's only bar is rejected (ohlc_inconsistent): no id for a symbol with nothing stored
    assert _ids(con) == {"BTCUSDT": 0, "ETHUSDT": 1}
    with transaction(con):
        ingest_klines(con, pd.DataFrame([_bar(10, symbol="AAAUSDT"), _bar(10, symbol="ETHUSDT")]), START, END, "test")
    assert _ids(con) == {"BTCUSDT": 0, "ETHUSDT": 1, "AAAUSDT": 2}  # known ids never change
    # a failed ingest takes its new ids with it (same transaction)
    try:
        with transaction(con):
            ingest_klines(con, pd.DataFrame([_bar(15, symbol="ZZZUSDT")]), START, END, "test")
            raise RuntimeError("the write fails after the ingest")
    except RuntimeError:
        pass
    assert "ZZZUSDT" not in _ids(con)
    stored = con.execute("SELECT k.symbol, k.symbol_id, i.symbol_id FROM raw_klines_5m k "
                         "JOIN symbol_ids i USING (symbol)").fetchall()
    assert len(stored) == 4 and all(a == b for _, a, b in stored)


def test_raw_klines_written_before_symbol_ids_are_migrated_in_place():
    con = duckdb.connect()
    # the table as session 1 created it: no symbol_id column
    con.execute("""CREATE TABLE raw_klines_5m (symbol VARCHAR NOT NULL, open_time TIMESTAMP NOT NULL,
        open DOUBLE NOT NULL, high DOUBLE NOT NULL, low DOUBLE NOT NULL, close DOUBLE NOT NULL,
        volume DOUBLE NOT NULL, turnover DOUBLE, log_ret DOUBLE, source VARCHAR NOT NULL)""")
    con.execute("""INSERT INTO raw_klines_5m VALUES
        ('ETHUSDT', TIMESTAMP '2024-01-01 00:00', 1, 1, 1, 1, 1, 1, NULL, 'files'),
        ('BTCUSDT', TIMESTAMP '2024-01-01 00:00', 2, 2, 2, 2, 1, 2, NULL, 'files'),
        ('BTCUSDT', TIMESTAMP '2024-01-01 00:05', 2, 2, 2, 2, 1, 2, 0.0, 'files')""")
    before = con.execute("SELECT * FROM raw_klines_5m ORDER BY symbol, open_time").df()
    # the next ingest migrates first (inside its transaction), then stores its bars as usual
    with transaction(con):
        counts = ingest_klines(con, pd.DataFrame([_bar(10, symbol="SOLUSDT")]), START, END, "test")
    assert counts.stored == 1
    assert _ids(con) == {"BTCUSDT": 0, "ETHUSDT": 1, "SOLUSDT": 2}
    after = con.execute("SELECT * FROM raw_klines_5m WHERE symbol <> 'SOLUSDT' ORDER BY symbol, open_time").df()
    pd.testing.assert_frame_equal(after.drop(columns="symbol_id"), before)  # nothing lost or changed
    assert after["symbol_id"].tolist() == [0, 0, 1]
    # and rsj_daily (which reads symbol_id) runs on the migrated table
    from cryptofactor_assets.rsj.daily import write_rsj_daily

    assert write_rsj_daily(con, START, END, 0.0).inserted == 3
