"""rsj_daily: the SQL fast path (sql/rsj/insert_rsj_daily.sql) against the numpy oracle and hand-made bars:
the midnight return counted (288 returns on a complete day) or excluded, the stale filter, the reasons."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.rsj.daily import write_rsj_daily
from cryptofactor_assets.rsj.numerics import RSJ_COLUMNS, log_returns_5m, rsj_from_bars
from cryptofactor_assets.sources.validation import ingest_klines
from cryptofactor_assets.storage.warehouse import load_sql, transaction

DAY0 = pd.Timestamp("2024-03-01")
FIVE = pd.Timedelta(minutes=5)
#: MMM's returns: day 0 (287 within the day), the midnight return, day 1 (287 within the day)
MMM_DAY0 = np.where(np.arange(287) % 2 == 0, 0.001, -0.0015)
MMM_DAY1 = np.where(np.arange(287) % 3 == 0, 0.002, -0.0005)
MIDNIGHT = -0.04


def day_bars(symbol: str, day: int, log_rets: np.ndarray, slots: np.ndarray | None = None,
             start_price: float = 100.0) -> pd.DataFrame:
    """Bars of one coin-day: closes start_price * exp(cumsum) on the given 5-minute slots (0..287)."""
    slots = np.arange(len(log_rets) + 1) if slots is None else np.asarray(slots)
    closes = start_price * np.exp(np.concatenate([[0.0], np.cumsum(log_rets)]))[: len(slots)]
    times = DAY0 + pd.Timedelta(days=day) + FIVE * slots
    return pd.DataFrame({"symbol": symbol, "open_time": times, "close": closes})


def full_day(symbol: str, day: int, rng: np.random.Generator, drop: list[int] | None = None) -> pd.DataFrame:
    slots = np.setdiff1d(np.arange(288), drop or [])
    rets = rng.normal(0.0, 0.002, 287) + (rng.random(287) < 0.01) * rng.normal(0, 0.02, 287)
    frame = day_bars(symbol, day, rets)
    return frame[frame["open_time"].isin(DAY0 + pd.Timedelta(days=day) + FIVE * slots)]


def store(bars: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """The bars written through the production ingest (validation, symbol ids, stored log returns)."""
    con = duckdb.connect()
    frame = bars.assign(open=bars["close"], high=bars["close"], low=bars["close"], volume=1.0,
                        turnover=bars["close"])
    with transaction(con):
        counts = ingest_klines(con, frame, dt.date(2024, 1, 1), dt.date(2025, 1, 1), "simulated")
    assert counts.stored == len(bars) and not counts.rejected, counts
    return con


def run_sql(con, start=dt.date(2024, 1, 1), end=dt.date(2025, 1, 1), min_share=0.8, **params) -> pd.DataFrame:
    write_rsj_daily(con, start, end, min_share, **params)
    out = con.execute("SELECT * FROM rsj_daily ORDER BY symbol, date").df()
    out["date"] = out["date"].astype("datetime64[ns]")
    return out


def assert_same(sql: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(sql.columns) == RSJ_COLUMNS
    ref = ref.sort_values(["symbol", "date"]).reset_index(drop=True)
    sql = sql.reset_index(drop=True)
    pd.testing.assert_series_equal(sql["symbol"], ref["symbol"], check_dtype=False)
    np.testing.assert_array_equal(sql["date"].to_numpy(), ref["date"].to_numpy())
    for col in ["n_bars", "n_returns", "n_zero"]:
        np.testing.assert_array_equal(sql[col].to_numpy(), ref[col].to_numpy(), err_msg=col)
    assert sql["reason"].fillna("").tolist() == ref["reason"].fillna("").tolist()
    for col in ["min_share", "max_zero_share", "include_midnight"]:
        assert sql[col].tolist() == ref[col].tolist(), col
    rv = ref["rv"].to_numpy()
    # Sums of squares: relative to RV (the SQL forms RS+/RS- as (RV +- SJ)/2, exact up to rounding).
    for col in ["rv", "rs_pos", "rs_neg", "sj"]:
        np.testing.assert_allclose(sql[col].to_numpy(), ref[col].to_numpy(), rtol=0, atol=1e-12 * rv.max(),
                                   err_msg=col)
        np.testing.assert_array_less(np.abs(sql[col] - ref[col]), 1e-12 * rv + 1e-300)
    for col in ["rsj", "rskew"]:
        np.testing.assert_allclose(sql[col].to_numpy(), ref[col].to_numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=col)
    np.testing.assert_allclose(sql["rkurt"].to_numpy(), ref["rkurt"].to_numpy(), rtol=1e-12, err_msg="rkurt")


@pytest.fixture(scope="module")
def hand_bars() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    parts = [
        full_day("AAA", 0, rng),                       # complete day
        full_day("AAA", 1, rng, drop=[10, 11, 100]),   # gaps: 285 bars, 287 - 3 - 2 = 282 returns
        # AAA day 2 missing entirely (missing coin-day)
        full_day("AAA", 3, rng),
        day_bars("BBB", 0, np.array([])),              # a single bar
        day_bars("BBB", 1, np.full(287, 0.001)),       # all returns positive: RSJ = +1
        day_bars("CCC", 0, np.zeros(287)),             # stale price: RV = 0
        day_bars("CCC", 1, -rng.uniform(1e-4, 3e-3, 287)),  # all returns negative: RSJ = -1
        day_bars("DDD", 0, rng.normal(0, 0.002, 229)),  # 230 bars < 0.8 * 288 = 230.4
        day_bars("DDD", 1, rng.normal(0, 0.002, 230)),  # 231 bars: enough
    ]
    hand = np.zeros(287)
    hand[[5, 50, 200]] = [0.01, -0.02, 0.03]
    parts.append(day_bars("EEE", 0, hand))             # hand-computed statistics below (284 zeros: stale)
    # MMM: two complete days; day 1's first bar is 5 minutes after day 0's last: its midnight return
    # ln(C(1, 00:00) / C(0, 23:55)) = MIDNIGHT makes day 1's 288th return
    day0 = day_bars("MMM", 0, MMM_DAY0)
    parts += [day0, day_bars("MMM", 1, MMM_DAY1, start_price=day0["close"].iloc[-1] * np.exp(MIDNIGHT))]
    # SSS: 251 bars, 250 returns of which 150 (60 %) exactly zero
    sss = rng.normal(0.0, 0.002, 250)
    sss[rng.permutation(250)[:150]] = 0.0
    parts.append(day_bars("SSS", 0, sss))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def hand_results(hand_bars):
    con = store(hand_bars)
    return run_sql(con), rsj_from_bars(hand_bars)


def row(frame: pd.DataFrame, symbol: str, day: int) -> pd.Series:
    sel = frame[(frame["symbol"] == symbol) & (frame["date"] == DAY0 + pd.Timedelta(days=day))]
    assert len(sel) == 1
    return sel.iloc[0]


def test_sql_equals_numpy_oracle_on_hand_made_bars(hand_results):
    sql, ref = hand_results
    assert_same(sql, ref)


@pytest.mark.parametrize("which", [0, 1])
def test_counts_gaps_missing_day_single_bar(hand_results, which):
    frame = hand_results[which]
    assert (row(frame, "AAA", 0)[["n_bars", "n_returns"]] == [288, 287]).all()  # no day before: no midnight return
    assert (row(frame, "AAA", 1)[["n_bars", "n_returns"]] == [285, 283]).all()  # 287 - 3 - 2 + the midnight return
    assert not ((frame["symbol"] == "AAA") & (frame["date"] == DAY0 + pd.Timedelta(days=2))).any()
    assert (row(frame, "AAA", 3)[["n_bars", "n_returns"]] == [288, 287]).all()  # day 2 missing: no midnight return
    assert (row(frame, "MMM", 1)[["n_bars", "n_returns"]] == [288, 288]).all()  # a complete day: 288 returns
    # BBB's day 0 bar opens at 00:00, not 23:55: day 1 has no midnight return; DDD's day 0 ends at 19:05
    assert row(frame, "BBB", 1)["n_returns"] == 287 and row(frame, "DDD", 1)["n_returns"] == 230
    single = row(frame, "BBB", 0)
    got = (single["n_bars"], single["n_returns"], single["rv"], single["reason"])
    assert got == (1, 0, 0.0, "too_few_bars")
    assert np.isnan(single["rsj"])


@pytest.mark.parametrize("which", [0, 1])
def test_one_signed_days_and_reasons(hand_results, which):
    frame = hand_results[which]
    pos, neg = row(frame, "BBB", 1), row(frame, "CCC", 1)
    assert pos["rsj"] == 1.0 and pos["rs_neg"] == 0.0 and pd.isna(pos["reason"])
    assert neg["rsj"] == -1.0 and neg["rs_pos"] == 0.0
    # CCC's day 1 opens at its day 0 price: the midnight return is exactly 0 (counted, zero, signless)
    assert neg["n_returns"] == 288 and neg["n_zero"] == 1
    flat = row(frame, "CCC", 0)  # every return zero: zero_rv comes before stale
    assert flat["reason"] == "zero_rv" and flat["rv"] == 0.0 and np.isnan(flat["rsj"])
    assert np.isnan(flat["rskew"]) and np.isnan(flat["rkurt"]) and flat["n_zero"] == 287
    short, enough = row(frame, "DDD", 0), row(frame, "DDD", 1)
    assert short["n_bars"] == 230 and short["reason"] == "too_few_bars" and np.isnan(short["rsj"])
    assert short["rv"] > 0  # the sums are still reported
    assert enough["n_bars"] == 231 and pd.isna(enough["reason"]) and -1 < enough["rsj"] < 1
    assert (frame["min_share"] == 0.8).all() and (frame["max_zero_share"] == 0.5).all()
    assert frame["include_midnight"].all()


@pytest.mark.parametrize("which", [0, 1])
def test_stale_coin_days(hand_results, which):
    """60 % of the returns exactly zero (> 0.5): no RSJ, reason stale, the sums still reported."""
    frame = hand_results[which]
    sss = row(frame, "SSS", 0)
    assert (sss["n_bars"], sss["n_returns"], sss["n_zero"]) == (251, 250, 150)
    assert sss["reason"] == "stale" and np.isnan(sss["rsj"]) and np.isnan(sss["rskew"]) and sss["rv"] > 0
    eee = row(frame, "EEE", 0)  # 3 non-zero returns of 287
    assert eee["reason"] == "stale" and eee["n_zero"] == 284
    assert (frame["reason"] == "stale").sum() == 2


def test_stale_threshold_is_strict_and_one_switches_it_off(hand_bars):
    for share, defined in [(0.6, {"SSS"}), (0.599, set()), (1.0, {"SSS", "EEE"})]:
        sql = run_sql(store(hand_bars), max_zero_share=share)
        assert set(sql.loc[sql["reason"].isna() & sql["symbol"].isin(["SSS", "EEE"]), "symbol"]) == defined, share
        assert (sql["max_zero_share"] == share).all()
        assert_same(sql, rsj_from_bars(hand_bars, max_zero_share=share))
    with pytest.raises(ValueError, match="max_zero_share"):
        run_sql(store(hand_bars), max_zero_share=1.5)


def test_midnight_return_hand_computed(hand_results):
    """MMM's day 1: the 288 returns are the midnight return and the 287 within the day, exactly."""
    r = np.concatenate([[MIDNIGHT], MMM_DAY1])
    rv = (r**2).sum()
    for frame in hand_results:
        got = row(frame, "MMM", 1)
        assert got["n_returns"] == 288 and got["n_zero"] == 0 and pd.isna(got["reason"])
        np.testing.assert_allclose(got[["rv", "rs_pos", "rs_neg"]].astype(float),
                                   [rv, (r[r > 0]**2).sum(), (r[r < 0]**2).sum()], rtol=1e-12)
        np.testing.assert_allclose(got["rsj"], (r * np.abs(r)).sum() / rv, rtol=1e-11)
        np.testing.assert_allclose(got["rskew"], np.sqrt(288) * (r**3).sum() / rv**1.5, rtol=1e-10)
        np.testing.assert_allclose(got["rkurt"], 288 * (r**4).sum() / rv**2, rtol=1e-10)
        day0 = row(frame, "MMM", 0)  # no day before: 287 returns
        assert day0["n_returns"] == 287
        np.testing.assert_allclose(day0["rv"], (MMM_DAY0**2).sum(), rtol=1e-12)


def test_midnight_return_can_be_excluded(hand_bars):
    sql = run_sql(store(hand_bars), include_midnight=False)
    assert not sql["include_midnight"].any()
    assert (sql["n_returns"] <= 287).all()
    mmm = row(sql, "MMM", 1)
    assert mmm["n_returns"] == 287
    np.testing.assert_allclose(mmm["rv"], (MMM_DAY1**2).sum(), rtol=1e-12)
    assert (row(sql, "AAA", 1)[["n_bars", "n_returns"]] == [285, 282]).all()
    assert row(sql, "CCC", 1)["n_zero"] == 0
    assert_same(sql, rsj_from_bars(hand_bars, include_midnight=False))


@pytest.mark.parametrize("which", [0, 1])
def test_hand_computed_statistics(hand_bars, which):
    """EEE's three non-zero returns (stale by default: checked with the stale filter off)."""
    frame = run_sql(store(hand_bars), max_zero_share=1.0) if which == 0 else rsj_from_bars(hand_bars, max_zero_share=1.0)
    got = row(frame, "EEE", 0)
    r = np.array([0.01, -0.02, 0.03])
    rv, n = 0.0014, 287
    assert got["n_returns"] == n and pd.isna(got["reason"])
    np.testing.assert_allclose(got[["rv", "rs_pos", "rs_neg", "sj"]].astype(float),
                               [rv, 0.0010, 0.0004, 0.0006], rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(got["rsj"], 0.6 / 1.4, rtol=1e-12)
    np.testing.assert_allclose(got["rskew"], np.sqrt(n) * 2.0e-5 / rv**1.5, rtol=1e-10)
    np.testing.assert_allclose(got["rkurt"], n * (r**4).sum() / rv**2, rtol=1e-10)


def test_min_share_parameter(hand_bars):
    con = store(hand_bars)
    sql = run_sql(con, min_share=0.5)
    assert pd.isna(row(sql, "DDD", 0)["reason"])
    assert (sql["min_share"] == 0.5).all()
    assert_same(sql, rsj_from_bars(hand_bars, min_share=0.5))


def test_window_replace_only_touches_its_days(hand_bars):
    con = store(hand_bars)
    full = run_sql(con)
    # Rerun on day 1 only: same rows, no duplicates; the window is bound as parameters.
    again = run_sql(con, start=dt.date(2024, 3, 2), end=dt.date(2024, 3, 3))
    pd.testing.assert_frame_equal(full, again)
    con.execute("DELETE FROM rsj_daily")
    part = run_sql(con, start=dt.date(2024, 3, 2), end=dt.date(2024, 3, 3))
    assert set(part["date"]) == {DAY0 + pd.Timedelta(days=1)}
    # the window's first day reads the 23:55 bar of the day before (its midnight return), nothing later
    ref = rsj_from_bars(hand_bars[hand_bars["open_time"] < DAY0 + pd.Timedelta(days=2)])
    assert_same(part, ref[ref["date"] == DAY0 + pd.Timedelta(days=1)])
    assert row(part, "AAA", 1)["n_returns"] == 283


@pytest.mark.parametrize("seed, include_midnight", [(0, True), (1, True), (2, False)])
def test_random_bars_with_gaps_sql_equals_numpy(seed, include_midnight):
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(6):
        for day in range(4):
            if rng.random() < 0.15:
                continue  # missing coin-day
            drop = list(rng.choice(288, size=int(rng.integers(0, 80)), replace=False))
            parts.append(full_day(f"C{k}", day, rng, drop=drop))
    bars = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)  # unsorted input
    sql = run_sql(store(bars), include_midnight=include_midnight)
    ref = rsj_from_bars(bars, include_midnight=include_midnight)
    assert_same(sql, ref)
    # the midnight return adds at most one return to a day, and some days have one
    extra = sql["n_returns"].to_numpy() - rsj_from_bars(bars, include_midnight=False)["n_returns"].to_numpy()
    assert set(extra) <= {0, 1} and (extra.sum() > 0) == include_midnight
    ok = sql["rsj"].dropna()
    assert ((ok >= -1) & (ok <= 1)).all()
    assert (sql["reason"] == "too_few_bars").any() and sql["reason"].isna().any()


def test_log_returns_match_the_stored_definition(hand_bars):
    con = store(hand_bars)
    stored = con.execute(
        "SELECT symbol, open_time, log_ret FROM raw_klines_5m ORDER BY symbol, open_time").df()
    ours = log_returns_5m(hand_bars)
    np.testing.assert_array_equal(np.isnan(ours["log_ret"]), stored["log_ret"].isna())
    np.testing.assert_allclose(ours["log_ret"], stored["log_ret"], rtol=1e-15)


def test_tz_aware_input_and_duplicates(hand_bars):
    tokyo = hand_bars["open_time"].dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")
    aware = hand_bars.assign(open_time=tokyo)
    pd.testing.assert_frame_equal(rsj_from_bars(aware), rsj_from_bars(hand_bars))
    with pytest.raises(ValueError, match="duplicate"):
        rsj_from_bars(pd.concat([hand_bars, hand_bars.iloc[[3]]]))


def test_window_bounds_are_truncated_to_whole_days(hand_bars):
    con = store(hand_bars)
    con.execute(load_sql("create_rsj_daily"))
    con.execute(load_sql("insert_rsj_daily"),
                {"start": dt.datetime(2024, 3, 2, 12, 30), "end": dt.datetime(2024, 3, 3, 6),
                 "min_share": 0.8, "max_zero_share": 0.5, "include_midnight": True})
    got = con.execute("SELECT symbol, date, n_bars, n_returns FROM rsj_daily ORDER BY symbol").fetchall()
    assert got == [("AAA", dt.date(2024, 3, 2), 285, 283), ("BBB", dt.date(2024, 3, 2), 288, 287),
                   ("CCC", dt.date(2024, 3, 2), 288, 288), ("DDD", dt.date(2024, 3, 2), 231, 230),
                   ("MMM", dt.date(2024, 3, 2), 288, 288)]


def test_coin_days_are_grouped_by_the_perfect_hash_aggregate(hand_bars):
    """The speed of rsj_daily rests on DuckDB grouping (symbol_id, date) without hashing: keep it so."""
    from cryptofactor_assets.rsj.daily import PERFECT_HASH_BITS

    con = store(hand_bars)
    run_sql(con)  # creates rsj_daily and sets the threshold as the asset does
    plan = "\n".join(row[1] for row in con.execute(
        "EXPLAIN " + load_sql("insert_rsj_daily"),
        {"start": dt.date(2024, 1, 1), "end": dt.date(2025, 1, 1), "min_share": 0.8, "max_zero_share": 0.5,
         "include_midnight": True}).fetchall())
    assert "Perfect Hash Group By" in plan or "PERFECT_HASH_GROUP_BY" in plan, plan
    assert con.execute("SELECT current_setting('perfect_ht_threshold')").fetchall()[0][0] == PERFECT_HASH_BITS
