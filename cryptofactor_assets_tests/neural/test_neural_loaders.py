"""Loaders on recorded files: Ken French five-factor CSV vintages and a yfinance download CSV."""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.neural import loaders as ld

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "neural"
V1 = FIX / "F-F_Research_Data_5_Factors_2x3_vintage202401.CSV"
V2 = FIX / "F-F_Research_Data_5_Factors_2x3_vintage202402.CSV"
YF = FIX / "yfinance_download_daily.csv"


def test_french_parse_units_blocks_header_and_missing():
    ff = ld.read_french_csv(V1)
    m = ff.monthly
    assert list(m.columns) == ["Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF"]
    assert m.index[0] == pd.Timestamp("2023-01-01") and m.index[-1] == pd.Timestamp("2023-12-01")
    assert m.loc["2023-01-01", "Mkt-RF"] == pytest.approx(0.0664, abs=1e-15)  # percent -> decimal
    assert m.loc["2023-12-01", "SMB"] == pytest.approx(0.0634, abs=1e-15)
    assert m.loc["2023-06-01"].isna().all()  # month absent from the file: explicit NaN row
    assert np.isnan(m.loc["2023-12-01", "CMA"])  # -99.99 missing code
    assert len(m) == 12
    assert list(ff.annual.index) == [2023]
    assert ff.annual.loc[2023, "RF"] == pytest.approx(0.05)
    assert "202401 CRSP" in ff.header and "Copyright" not in ff.header


def test_french_vintages_later_file_wins_and_fills():
    merged = ld.french_monthly_vintages(V1.read_bytes(), V2.read_text())
    assert merged.loc["2023-11-01", "Mkt-RF"] == pytest.approx(0.0884)  # revised value
    assert merged.loc["2023-12-01", "CMA"] == pytest.approx(0.0131)  # filled by the later file
    assert merged.loc["2023-01-01", "Mkt-RF"] == pytest.approx(0.0664)  # only in the older file
    assert merged.loc["2024-01-01", "SMB"] == pytest.approx(-0.0508)
    assert merged.loc["2023-06-01"].isna().all()  # gap stays a gap
    # Order matters: the older file given last wins instead.
    flipped = ld.french_monthly_vintages(V2.read_text(), V1.read_text())
    assert flipped.loc["2023-11-01", "Mkt-RF"] == pytest.approx(0.0883)


def test_french_without_monthly_block_raises():
    with pytest.raises(ValueError):
        ld.parse_french_csv("header only\n\nCopyright 2024 Kenneth R. French\n")


def test_french_shipped_subset():
    ff = ld.load_french_shipped()
    assert ff.index[0] == pd.Timestamp("1949-01-01") and len(ff) == 819
    assert ff["RMW"].isna().all() and ff["CMA"].isna().all()
    from linearmodels.datasets import french

    np.testing.assert_array_equal(ff["Mkt-RF"].to_numpy(), french.load()["MktRF"].to_numpy())


def test_yfinance_csv_monthly_log_returns_with_gap():
    frame = ld.read_yfinance_csv(YF)
    assert isinstance(frame.columns, pd.MultiIndex) and list(frame.columns.names) == ["Price", "Ticker"]
    out = ld.yfinance_monthly_returns(frame, {"BTC": "BTC-USD", "ETH": "ETH-USD", "EQUITY": "^GSPC"})
    assert list(out.columns) == ["BTC", "ETH", "EQUITY"]
    assert out.index.name == "month" and out.index[0] == pd.Timestamp("2020-12-01")
    # Last close of each month: crypto on the weekend day, the index on the last trading day.
    assert out.loc["2021-01-01", "BTC"] == pytest.approx(np.log(33114.36 / 29001.72), abs=1e-14)
    assert out.loc["2021-01-01", "EQUITY"] == pytest.approx(np.log(3714.24 / 3756.07), abs=1e-14)
    assert out.loc["2021-05-01", "ETH"] == pytest.approx(np.log(2714.95 / 2773.21), abs=1e-14)
    # ETH has no March price: March and April are NaN (nothing carried forward).
    assert np.isnan(out.loc["2021-03-01", "ETH"]) and np.isnan(out.loc["2021-04-01", "ETH"])
    assert out.iloc[0].isna().all()


def test_yfinance_group_by_ticker_layout_duplicates_and_revisions():
    frame = ld.read_yfinance_csv(YF)
    swapped = frame.swaplevel(axis=1)
    swapped.columns.names = ["Ticker", "Price"]
    a = ld.yfinance_monthly_returns(frame, {"BTC": "BTC-USD"})
    b = ld.yfinance_monthly_returns(swapped, {"BTC": "BTC-USD"})
    pd.testing.assert_frame_equal(a, b)
    # A later re-download revising the last BTC close: the duplicate row that comes last wins.
    revised = frame.iloc[[-1]].copy()
    revised[("Close", "BTC-USD")] = 40000.0
    both = pd.concat([frame, revised])
    c = ld.yfinance_monthly_returns(both, {"BTC": "BTC-USD"})
    assert c.loc["2021-05-01", "BTC"] == pytest.approx(np.log(40000.0 / 57750.18))
    merged = ld.combine_vintages(a, c)
    assert merged.loc["2021-05-01", "BTC"] == c.loc["2021-05-01", "BTC"]
    with pytest.raises(KeyError):
        ld.yfinance_monthly_returns(frame, {"GOLD": "GC=F"})


def test_download_yfinance_is_optional(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "yfinance":
            raise ImportError("no yfinance")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="optional package 'yfinance'"):
        ld.download_yfinance(["BTC-USD"], start="2021-01-01")
