"""Ken French factor files as published: the _CSV.zip (built here from a truncated copy of the real
202101-vintage five-factor CSV) reads like the CSV, wherever a French path is taken; binary or
damaged files are errors naming the file, not "no monthly block"."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.neural import assets as na
from cryptofactor_assets.neural import cross_asset as xa
from cryptofactor_assets.neural import loaders as ld
from cryptofactor_assets.neural.resources import CROSS_ASSET_SOURCE, CrossAssetSourceResource
from cryptofactor_assets_tests.conftest import query

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "neural"
CSV = DATA / "F-F_Research_Data_5_Factors_2x3_202101_truncated.CSV"
PRICES = Path(__file__).resolve().parents[1] / "fixtures" / "neural" / "yfinance_download_daily.csv"
LATER = Path(__file__).resolve().parents[1] / "fixtures" / "neural" / "F-F_Research_Data_5_Factors_2x3_vintage202401.CSV"


def _zip(tmp_path: Path, members: dict[str, bytes], name: str = "F-F_Research_Data_5_Factors_2x3_CSV.zip") -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture
def french_zip(tmp_path) -> Path:
    """The Data Library's packaging: F-F_Research_Data_5_Factors_2x3_CSV.zip holding the .CSV."""
    return _zip(tmp_path, {"F-F_Research_Data_5_Factors_2x3.CSV": CSV.read_bytes()})


def test_zip_reads_like_the_csv(french_zip):
    from_csv, from_zip = ld.read_french_csv(CSV), ld.read_french_csv(french_zip)
    pd.testing.assert_frame_equal(from_zip.monthly, from_csv.monthly)
    pd.testing.assert_frame_equal(from_zip.annual, from_csv.annual)
    assert from_zip.header.startswith("This file was created by CMPT_ME_BEME_OP_INV_RETS using the 202101 CRSP")
    m = from_zip.monthly
    assert list(m.columns) == ["Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF"]
    assert (m.index[0], m.index[-1], len(m)) == (pd.Timestamp("2018-01-01"), pd.Timestamp("2021-01-01"), 37)
    assert m.loc["2020-03-01", "Mkt-RF"] == pytest.approx(-0.1338)  # published -13.38 %
    assert m.loc["2020-04-01", "RF"] == 0.0
    assert from_zip.annual.loc[2020, "HML"] == pytest.approx(-0.4720)
    # bytes of the ZIP too, and vintages mixing a ZIP and a CSV (later file wins where both have a month)
    pd.testing.assert_frame_equal(ld.french_monthly_vintages(french_zip.read_bytes()), from_csv.monthly)
    merged = ld.french_monthly_vintages(french_zip, LATER)
    assert merged.index[0] == pd.Timestamp("2018-01-01") and merged.index[-1] == pd.Timestamp("2023-12-01")
    assert merged.loc["2020-03-01", "Mkt-RF"] == pytest.approx(-0.1338)


def test_zip_through_load_real_cross_asset_and_the_asset(french_zip, tmp_path):
    _, _, ff5, _, ff_src = xa.load_real_cross_asset(str(PRICES), "BTC=BTC-USD,EQUITY=^GSPC", str(french_zip))
    assert ff_src == "french_csv"
    np.testing.assert_allclose(ff5.to_numpy(), ld.read_french_csv(CSV).monthly.to_numpy(), rtol=0, atol=0)
    db = str(tmp_path / "ff.duckdb")
    cfg = {"prices_csv": str(PRICES), "tickers": "BTC=BTC-USD,EQUITY=^GSPC", "ff5_csv": str(french_zip),
           "history_start": "2018-01-01"}
    result = dg.materialize([na.cross_asset_monthly], resources={
        "duckdb": DuckDBResource(database=db), CROSS_ASSET_SOURCE: CrossAssetSourceResource()},
        run_config={"ops": {"cross_asset_monthly": {"config": cfg}}},
        tags={"dagster/asset_partition_range_start": "2020-01-01", "dagster/asset_partition_range_end": "2021-06-01"})
    assert result.success
    factors = query(db, "SELECT month_start, series, ret, source FROM cross_asset_monthly WHERE asset_class = 'factor'")
    assert set(factors["source"]) == {"french_csv"} and len(factors) == 37 * 6
    row = factors[(factors["series"] == "SMB") & (factors["month_start"] == pd.Timestamp("2021-01-01"))]
    assert row["ret"].iloc[0] == pytest.approx(0.0687)


def test_env_path_list_takes_zips(french_zip):
    ff5 = xa.load_real_cross_asset(str(PRICES), "BTC=BTC-USD,EQUITY=^GSPC",
                                   os.pathsep.join([str(french_zip), str(LATER)]))[2]
    assert ff5.index[-1] == pd.Timestamp("2023-12-01")


def test_binary_files_are_errors_naming_the_file(tmp_path):
    xls = tmp_path / "F-F_Research_Data_5_Factors_2x3.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + b"Workbook")
    with pytest.raises(ValueError) as err:
        ld.read_french_csv(xls)
    message = str(err.value)
    assert "F-F_Research_Data_5_Factors_2x3.xls" in message and "binary content" in message
    assert "no monthly block" not in message and "_CSV.zip" in message
    # the same through the asset's loading path
    with pytest.raises(ValueError, match=r"F-F_Research_Data_5_Factors_2x3\.xls: binary content"):
        xa.load_real_cross_asset(str(PRICES), "BTC=BTC-USD,EQUITY=^GSPC", str(xls))


def test_damaged_or_ambiguous_zips_name_the_file(tmp_path):
    broken = tmp_path / "broken_CSV.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x14\x00truncated")
    with pytest.raises(ValueError, match=r"broken_CSV\.zip: starts like a ZIP file but cannot be opened"):
        ld.read_french_csv(broken)
    two = _zip(tmp_path, {"a.CSV": CSV.read_bytes(), "b.csv": CSV.read_bytes()}, "two_CSV.zip")
    with pytest.raises(ValueError, match=r"two_CSV\.zip: a Ken French ZIP holds one \.CSV; this one holds"):
        ld.read_french_csv(two)
    none = _zip(tmp_path, {"readme.txt": b"hello"}, "none_CSV.zip")
    with pytest.raises(ValueError, match=r"none_CSV\.zip: a Ken French ZIP holds one \.CSV"):
        ld.read_french_csv(none)


def test_text_without_a_monthly_block_names_the_file_and_the_member(tmp_path):
    text = tmp_path / "not_french.CSV"
    text.write_text("date,value\n2021-01-01,1\n")
    with pytest.raises(ValueError, match=r"not_french\.CSV: no monthly block"):
        ld.read_french_csv(text)
    zipped = _zip(tmp_path, {"inner.CSV": b"header only\n\nCopyright 2024 Kenneth R. French\n"}, "outer_CSV.zip")
    with pytest.raises(ValueError, match=r"outer_CSV\.zip \(inner\.CSV inside\): no monthly block"):
        ld.read_french_csv(zipped)
    with pytest.raises(ValueError, match=r"French file #2: no monthly block"):
        ld.french_monthly_vintages(CSV.read_text(), "header only\n")
