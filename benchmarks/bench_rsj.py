"""Benchmark: rsj_daily from >= 10 million stored 5-minute bars, DuckDB SQL vs a pandas groupby().apply.

Builds a DuckDB file (temporary unless ``--path``) with synthetic bars in ``raw_klines_5m`` (created
from ``sql/sources/create_raw_klines_5m.sql``; default 100 coins x 360 days x 288 bars with random missing
bars, partial coin-days and stale days, ``log_ret`` stored as defined: ln(close / previous close)
when the previous bar of the same symbol and UTC day is 5 minutes earlier). Then, in one run:

* ours: ``rsj.daily.write_rsj_daily``, what the asset runs: ``sql/rsj/insert_rsj_daily.sql`` through
  ``storage.replace.replace_rows_of_tables`` (BEGIN; DELETE; INSERT; COMMIT) over the whole window, DuckDB threads=2, best of
  ``--repeat`` runs;
* peer: read (symbol, open_time, close, log_ret) from the same table into pandas, add the midnight
  returns (a day's 00:00 bar from the previous 23:55 close, vectorised) and
  ``groupby([symbol, date]).apply`` a function computing the same statistics directly
  (RS+ / RS- with indicator masks, zero returns, the stale rule), on the first ``--pandas-coins``
  coins; when that is a subset, its time is extrapolated linearly in the number of bars (printed);
  best of ``--pandas-repeat`` runs.

``--exclude-midnight`` times the option that drops the midnight returns (both sides).
The two results are compared on the peer's coins: counts and reasons exactly, RV/RS+/RS-/SJ to
1e-12 x RV, RSJ and RSkew to 1e-12 absolute, RKurt to 1e-12 relative. Prints
``ratio rsj_vs_pandas_groupby <peer/ours>`` and ``ratio rsj_mbars_per_second <M bars/s>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptofactor_assets.rsj.daily import write_rsj_daily  # noqa: E402
from cryptofactor_assets.rsj.numerics import DEFAULT_MAX_ZERO_SHARE, DEFAULT_MIN_SHARE  # noqa: E402
from cryptofactor_assets.sources.validation import ensure_raw_klines_tables  # noqa: E402
from cryptofactor_assets.storage.warehouse import transaction  # noqa: E402

START = dt.date(2024, 1, 1)

# Synthetic bars (Gaussian 5-minute returns, sd 0.2 %, rare jumps); ~0.3 % of bars missing at
# random, a coin-day in 61 loses its last 88 bars (too_few_bars), a coin-day in 97 is flat (zero_rv, or stale when
# the running sum leaves its midnight return a rounding error away from 0).
BUILD_SQL = """
INSERT INTO raw_klines_5m BY NAME
WITH bars AS (
    SELECT 'C' || lpad(CAST(c AS VARCHAR), 3, '0') || 'USDT' AS symbol,
           TIMESTAMP '2024-01-01' + to_minutes(CAST((d * 288 + b) * 5 AS BIGINT)) AS open_time,
           CASE WHEN (c * 7 + d) % 97 = 0 THEN 0.0
                ELSE 0.002 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())
                     + CASE WHEN random() < 0.002 THEN 0.02 * (random() - 0.5) ELSE 0 END END AS shock
    FROM range($coins) t1(c), range($days) t2(d), range(288) t3(b)
    WHERE random() > 0.003 AND NOT ((c * 13 + d) % 61 = 0 AND b >= 200)
), priced AS (
    SELECT *, 100 * exp(sum(shock) OVER (PARTITION BY symbol ORDER BY open_time)) AS close FROM bars
)
SELECT symbol, CAST(substr(symbol, 2, 3) AS INTEGER) AS symbol_id, open_time, close AS open, close AS high,
       close AS low, close, 1.0 AS volume,
       close AS turnover,
       CASE WHEN lag(open_time) OVER w = open_time - INTERVAL 5 MINUTE
             AND CAST(lag(open_time) OVER w AS DATE) = CAST(open_time AS DATE)
            THEN ln(close / lag(close) OVER w) END AS log_ret,
       'simulated' AS source
FROM priced WINDOW w AS (PARTITION BY symbol ORDER BY open_time)
ORDER BY symbol, open_time
"""


def build(con: duckdb.DuckDBPyConnection, coins: int, days: int) -> int:
    with transaction(con):
        ensure_raw_klines_tables(con)  # also migrates a file built by an earlier version of this script
    if con.execute("SELECT count(*) FROM raw_klines_5m").fetchone()[0] == 0:
        con.execute("SELECT setseed(0.42)")
        con.execute(BUILD_SQL, {"coins": coins, "days": days})
        # symbol C007USDT has id 7, as the ingest would give in symbol order
        con.execute("INSERT INTO symbol_ids SELECT DISTINCT symbol, symbol_id FROM raw_klines_5m")
        con.execute("CHECKPOINT")
    return con.execute("SELECT count(*) FROM raw_klines_5m").fetchone()[0]


def pandas_reference(con: duckdb.DuckDBPyConnection, symbols: list[str], end: dt.date,
                     min_share: float, max_zero_share: float, include_midnight: bool) -> pd.DataFrame:
    """The peer: fetch the stored returns and closes, add the midnight returns, then
    groupby(symbol, date).apply(direct formulas)."""
    bars = con.execute(
        "SELECT symbol, open_time, close, log_ret FROM raw_klines_5m "
        "WHERE open_time >= ? AND open_time < ? AND list_contains(?, symbol) ORDER BY symbol, open_time",
        [START, end, symbols],
    ).df()
    bars["date"] = bars["open_time"].dt.floor("D")
    if include_midnight:  # the 00:00 bar's return from the previous bar, same symbol, 5 minutes earlier
        prev_ok = ((bars["symbol"] == bars["symbol"].shift()) & (bars["date"] != bars["date"].shift())
                   & (bars["open_time"] - bars["open_time"].shift() == pd.Timedelta(minutes=5)))
        bars.loc[prev_ok, "log_ret"] = np.log(bars["close"] / bars["close"].shift())[prev_ok]

    def day_stats(g: pd.DataFrame) -> pd.Series:
        r = g["log_ret"].to_numpy()
        r = r[~np.isnan(r)]
        n_bars, n = len(g), len(r)
        n_zero = int(np.sum(r == 0))
        rv = float(np.sum(r * r))
        rs_pos = float(np.sum(r[r > 0] ** 2))
        rs_neg = float(np.sum(r[r < 0] ** 2))
        reason = ("too_few_bars" if n_bars < min_share * 288 else "zero_rv" if rv == 0
                  else "stale" if n_zero > max_zero_share * n else None)
        ok = reason is None
        return pd.Series({
            "n_bars": n_bars, "n_returns": n, "n_zero": n_zero, "rv": rv, "rs_pos": rs_pos, "rs_neg": rs_neg,
            "sj": rs_pos - rs_neg,
            "rsj": (rs_pos - rs_neg) / rv if ok else np.nan,
            "rskew": np.sqrt(n) * np.sum(r**3) / rv**1.5 if ok else np.nan,
            "rkurt": n * np.sum(r**4) / rv**2 if ok else np.nan,
            "reason": reason,
        })

    return bars.groupby(["symbol", "date"])[["log_ret"]].apply(day_stats).reset_index()


def verify(ours: pd.DataFrame, ref: pd.DataFrame) -> dict[str, float]:
    ours = ours[ours["symbol"].isin(ref["symbol"])].sort_values(["symbol", "date"], ignore_index=True)
    ref = ref.sort_values(["symbol", "date"], ignore_index=True)
    assert len(ours) == len(ref), (len(ours), len(ref))
    assert (ours["symbol"].to_numpy() == ref["symbol"].to_numpy()).all()
    assert (ours["date"].to_numpy() == ref["date"].to_numpy().astype(ours["date"].dtype)).all()
    for col in ["n_bars", "n_returns", "n_zero"]:
        assert (ours[col].to_numpy() == ref[col].to_numpy().astype(np.int64)).all(), col
    assert ours["reason"].fillna("").tolist() == ref["reason"].fillna("").tolist()
    rv = ref["rv"].to_numpy(dtype=float)
    err: dict[str, float] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for col in ["rv", "rs_pos", "rs_neg", "sj"]:
            d = np.abs(ours[col].to_numpy(dtype=float) - ref[col].to_numpy(dtype=float))
            err[col + "/rv"] = float(np.nanmax(np.where(rv > 0, d / rv, d)))
        for col in ["rsj", "rskew"]:
            a, b = ours[col].to_numpy(dtype=float), ref[col].to_numpy(dtype=float)
            assert (np.isnan(a) == np.isnan(b)).all(), col
            err[col] = float(np.nanmax(np.abs(a - b)))
        a, b = ours["rkurt"].to_numpy(dtype=float), ref["rkurt"].to_numpy(dtype=float)
        err["rkurt_rel"] = float(np.nanmax(np.abs(a - b) / np.abs(b)))
    bad = {k: v for k, v in err.items() if not v <= 1e-12}
    if bad:
        raise SystemExit(f"MISMATCH beyond 1e-12: {bad}")
    return err


def timed(repeat: int, run):
    """Call ``run()`` ``repeat`` times: (its last result, the seconds of each call)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t)
    return out, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coins", type=int, default=100)
    parser.add_argument("--days", type=int, default=360)
    parser.add_argument("--path", help="DuckDB file to build/reuse (default: a temporary file, deleted)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pandas-coins", type=int, default=25,
                        help="coins for the pandas peer (extrapolated)")
    parser.add_argument("--pandas-repeat", type=int, default=2, help="best of this many peer runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-share", type=float, default=DEFAULT_MIN_SHARE)
    parser.add_argument("--max-zero-share", type=float, default=DEFAULT_MAX_ZERO_SHARE)
    parser.add_argument("--exclude-midnight", action="store_true", help="time include_midnight=False")
    args = parser.parse_args()

    tmp = None if args.path else tempfile.mkdtemp(prefix="bench_rsj_")
    path = args.path or str(Path(tmp) / "bench_rsj.duckdb")
    try:
        con = duckdb.connect(path)
        con.execute(f"SET threads={int(args.threads)}")
        t0 = time.perf_counter()
        n_bars = build(con, args.coins, args.days)
        print(f"seconds build_or_open {time.perf_counter() - t0:.2f}  "
              f"({n_bars:,} stored 5-minute bars, {path})")
        if n_bars < 10_000_000:
            print("WARNING: fewer than 10 million bars")
        end = START + dt.timedelta(days=args.days)
        midnight = not args.exclude_midnight
        res, times = timed(args.repeat, lambda: write_rsj_daily(con, START, end, args.min_share, args.max_zero_share,
                                                                midnight))
        ours_s = min(times)
        ours = con.execute("SELECT * FROM rsj_daily ORDER BY symbol, date").df()
        print(f"seconds rsj_sql best {ours_s:.4f} median {statistics.median(times):.4f} "
              f"({res.inserted:,} coin-days, threads={args.threads}, include_midnight={midnight})")

        symbols = sorted(ours["symbol"].unique())[: args.pandas_coins]
        peer_bars = con.execute("SELECT count(*) FROM raw_klines_5m WHERE list_contains(?, symbol)",
                                [symbols]).fetchone()[0]
        ref, peer_times = timed(args.pandas_repeat, lambda: pandas_reference(con, symbols, end, args.min_share,
                                                                             args.max_zero_share, midnight))
        peer_s = min(peer_times)
        scale = n_bars / peer_bars
        peer_full = peer_s * scale
        print(f"seconds pandas_groupby_apply best {peer_s:.2f} of {len(peer_times)} "
              f"on {len(symbols)} coins ({peer_bars:,} bars)"
              + (f"; extrapolated x{scale:.2f} to all bars: {peer_full:.2f}" if scale > 1.0001 else ""))

        err = verify(ours, ref)
        print("max_error " + " ".join(f"{k}={v:.2e}" for k, v in err.items()) + " (all <= 1e-12)")
        print(f"load_average_1m {os.getloadavg()[0]:.2f} (2 shared cores: figures are noisy under load)")
        print(f"ratio rsj_vs_pandas_groupby {peer_full / ours_s:.1f}")
        print(f"ratio rsj_mbars_per_second {n_bars / ours_s / 1e6:.1f}")
        con.close()
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
