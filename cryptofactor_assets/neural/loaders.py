"""Real cross-asset monthly data: yfinance download frames and Ken French factor files.

Conventions shared with the simulation: index = month-start ``Timestamp`` named ``month`` (the key of
Dagster's monthly partitions), returns are monthly **log** returns for prices, **decimal simple**
returns for the Fama-French factors (French publishes percent).

Missing months and revisions (documented policy):

* A month without any price is NaN; its return and the next month's return are NaN. Nothing is
  interpolated or carried forward (a gap stays a gap).
* Revised values: when several vintages (downloads, or French files of different CRSP vintages)
  cover the same month, the **later vintage wins** cell by cell; a cell the later vintage lacks
  (NaN / missing code) keeps the earlier value. Duplicated dates inside one yfinance frame: the
  last row wins.
* French's missing-data codes ``-99.99`` and ``-999`` become NaN.

yfinance is optional (the ``cross-asset`` extra: ``pip install 'cryptofactor[cross-asset]'``):
:func:`download_yfinance` imports it lazily (``cryptofactor fetch-cross-asset`` writes its CSV); all
parsing works offline on a frame in yfinance's ``download`` layout (columns MultiIndex
``(Price, Ticker)``, e.g. ``("Close", "BTC-USD")``, index ``Date``; ``group_by="ticker"`` gives
``(Ticker, Price)``, also read).

Ken French files are read as published: the ``.CSV`` or the ``_CSV.zip`` that holds it (e.g.
``F-F_Research_Data_5_Factors_2x3_CSV.zip``); any other binary file is an error naming the file.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: Default Yahoo tickers: coins in USD and the four asset classes (dollar index, S&P 500, gold
#: futures, WTI crude futures). Configurable everywhere.
DEFAULT_COIN_TICKERS: dict[str, str] = {"BTC": "BTC-USD", "ETH": "ETH-USD", "LTC": "LTC-USD",
                                        "BCH": "BCH-USD"}
DEFAULT_MARKET_TICKERS: dict[str, str] = {"FIAT": "DX-Y.NYB", "EQUITY": "^GSPC", "GOLD": "GC=F",
                                          "ENERGY": "CL=F"}
FRENCH_MISSING = (-99.99, -999.0)


# ----------------------------------------------------------------------------------------- yfinance
def read_yfinance_csv(path_or_text: str | Path) -> pd.DataFrame:
    """Read ``yf.download(...).to_csv()`` output (3 header rows ``Price``/``Ticker``/``Date``)."""
    src: object = path_or_text
    if isinstance(path_or_text, str) and "\n" in path_or_text:
        src = io.StringIO(path_or_text)
    frame = pd.read_csv(src, header=[0, 1], index_col=0)
    frame.index = pd.to_datetime(frame.index)
    frame.index.name = "Date"
    return frame


def yfinance_close_prices(frame: pd.DataFrame, field: str = "Close") -> pd.DataFrame:
    """Date x ticker prices of one field from a frame in yfinance's download layout."""
    cols = frame.columns
    if not isinstance(cols, pd.MultiIndex):
        raise ValueError("expected yfinance's MultiIndex columns (Price, Ticker)")
    names = list(cols.names)
    level = names.index("Price") if "Price" in names else (0 if field in cols.get_level_values(0) else 1)
    if field not in cols.get_level_values(level):
        raise KeyError(f"field {field!r} not in the frame; have {sorted(set(cols.get_level_values(level)))}")
    prices = frame.xs(field, axis=1, level=level).astype(float)
    prices.columns = [str(c) for c in prices.columns]
    idx = pd.to_datetime(prices.index)
    if idx.tz is not None:  # intraday/tz-aware downloads: the trading day is what matters
        idx = idx.tz_localize(None)
    prices.index = idx.normalize()
    prices = prices[~prices.index.duplicated(keep="last")].sort_index()  # revised rows: last wins
    return prices


def monthly_log_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Month-start-indexed log returns from the last valid price of each calendar month.

    ``r_m = log(P_last(m) / P_last(m-1))``; a month with no valid price gives NaN for itself and the
    following month (no forward fill: the return over a gap is not attributed to either month).
    """
    month = prices.index.to_period("M").to_timestamp()
    last = prices.groupby(month).last()  # last non-NaN price per calendar month and column
    full = pd.date_range(last.index.min(), last.index.max(), freq="MS")
    last = last.reindex(full)
    out = np.log(last / last.shift(1))
    out.index.name = "month"
    return out


def yfinance_monthly_returns(
    frame: pd.DataFrame, tickers: Mapping[str, str], field: str = "Close"
) -> pd.DataFrame:
    """Monthly log returns of ``tickers`` (name -> Yahoo ticker) from a download-layout frame.

    Columns are the names (``BTC``, ``EQUITY``...); a ticker absent from the frame raises ``KeyError``.
    """
    prices = yfinance_close_prices(frame, field)
    missing = [t for t in tickers.values() if t not in prices.columns]
    if missing:
        raise KeyError(f"tickers not in the frame: {missing}")
    prices = prices[list(tickers.values())]
    prices.columns = list(tickers.keys())
    return monthly_log_returns(prices)


def combine_vintages(*frames: pd.DataFrame) -> pd.DataFrame:
    """Cell-wise merge of vintages given oldest first: a later non-NaN value wins (revisions)."""
    if not frames:
        raise ValueError("no frames")
    out = frames[-1]
    for older in reversed(frames[:-1]):
        out = out.combine_first(older)
    return out.sort_index()


#: How to install the optional yfinance dependency (said by every error that needs it).
YFINANCE_INSTALL_HINT = "pip install 'cryptofactor[cross-asset]' (or: pip install yfinance)"


class YFinanceMissingError(ImportError):
    """yfinance is not installed (it is the optional ``cross-asset`` extra)."""


def import_yfinance():
    """The ``yfinance`` module, or :class:`YFinanceMissingError` saying how to install it."""
    try:
        import yfinance as yf  # noqa: PLC0415 - optional dependency, imported on use only
    except ImportError as exc:
        raise YFinanceMissingError(f"the optional package 'yfinance' is not installed: {YFINANCE_INSTALL_HINT}") from exc
    return yf


def yfinance_session():
    """The HTTP session handed to yfinance: None lets yfinance open its own (curl_cffi, as it
    prefers). The offline tests replace this function with a session that sends Yahoo's URLs to a
    local server of recorded chart-API bodies, so yfinance's own request and parsing code runs."""
    return None


def download_yfinance(tickers: Sequence[str], start: str, end: str | None = None,
                      field: str = "Close", session=None, threads: bool = True) -> pd.DataFrame:
    """Download daily bars with yfinance (imported lazily; the optional ``cross-asset`` extra).

    ``end`` is exclusive (yfinance's convention). Returns the raw download-layout frame (feed it to
    :func:`yfinance_monthly_returns`); a ticker yfinance could not fetch is absent or all-NaN in it
    (yfinance logs the error and carries on), see :func:`fetch_yfinance_closes`.
    """
    yf = import_yfinance()
    frame = yf.download(list(tickers), start=start, end=end, interval="1d", auto_adjust=True,
                        progress=False, multi_level_index=True, threads=threads,
                        session=session if session is not None else yfinance_session())
    if frame is None or frame.empty:
        raise RuntimeError(f"yfinance returned no data for {list(tickers)}")
    return frame


@dataclass(frozen=True)
class YFinanceFetch:
    """What :func:`fetch_yfinance_closes` brought: the download-layout frame of the tickers that have
    prices, the name -> ticker mapping asked for, and the names whose ticker brought no price."""

    frame: pd.DataFrame
    mapping: dict[str, str]
    missing: list[str]

    def coverage(self) -> pd.DataFrame:
        """Per name: ticker, first and last day with a close, number of closes."""
        rows = []
        closes = yfinance_close_prices(self.frame) if len(self.frame) else pd.DataFrame()
        for name, ticker in self.mapping.items():
            s = closes[ticker].dropna() if ticker in closes.columns else pd.Series(dtype=float)
            rows.append({"name": name, "ticker": ticker, "first": s.index.min().date() if len(s) else None,
                         "last": s.index.max().date() if len(s) else None, "closes": int(len(s))})
        return pd.DataFrame(rows)


def fetch_yfinance_closes(mapping: Mapping[str, str], start: str, end: str | None = None,
                          session=None, threads: bool = False) -> YFinanceFetch:
    """Daily bars of ``mapping``'s tickers (name -> Yahoo ticker; yfinance upper-cases tickers, so the
    mapping is too) from ``start`` to ``end`` (exclusive), in yfinance's download layout; one ticker
    at a time by default (Yahoo rate-limits bursts; a handful of tickers takes seconds).

    A ticker without a single close (unknown symbol, Yahoo error, rate limit: yfinance only logs
    them) is listed in ``missing`` and dropped from the frame, never written as an empty column.
    """
    mapping = {name: ticker.strip().upper() for name, ticker in mapping.items()}
    try:
        frame = download_yfinance(list(dict.fromkeys(mapping.values())), start, end, session=session,
                                  threads=threads)
    except RuntimeError:  # nothing at all came back
        return YFinanceFetch(pd.DataFrame(), mapping, list(mapping))
    closes = yfinance_close_prices(frame)
    have = {t for t in closes.columns if closes[t].notna().any()}
    missing = [name for name, ticker in mapping.items() if ticker not in have]
    level = list(frame.columns.names).index("Ticker") if "Ticker" in frame.columns.names else 1
    keep = [c for c in frame.columns if str(c[level]) in have]
    return YFinanceFetch(frame.loc[:, keep], mapping, missing)


def write_yfinance_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a download-layout frame as ``yf.download(...).to_csv()`` does (the layout
    :func:`read_yfinance_csv` reads), atomically: a temporary file renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        frame.to_csv(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# ------------------------------------------------------------------------------------ Ken French
@dataclass(frozen=True)
class FrenchFactors:
    """A parsed French factor file: monthly and annual blocks in decimals, plus its header text."""

    monthly: pd.DataFrame  # month-start index named "month"
    annual: pd.DataFrame  # integer year index named "year"
    header: str  # the free text above the first table (CRSP vintage, RF source)


_ROW = re.compile(r"^\s*(\d{4}|\d{6})\s*,")


def french_csv_text(data: str | bytes, name: str = "the French file") -> str:
    """The CSV text of a Ken French file as published: the ``.CSV`` itself, or the ``_CSV.zip`` that
    holds it (one ``.csv`` member, any case). Any other binary content (an Excel file, a corrupt or
    several-member ZIP, a web page saved as binary) is a ``ValueError`` naming ``name``."""
    return _french_text(data, name)[0]


def _french_text(data: str | bytes, name: str) -> tuple[str, str]:
    """(CSV text, name for errors: the file, and the ZIP member it came from)."""
    if isinstance(data, str):
        return data, name
    if data[:2] == b"PK":  # a ZIP local-file header (or a damaged one)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
                if len(members) != 1:
                    raise ValueError(f"{name}: a Ken French ZIP holds one .CSV; this one holds "
                                     f"{archive.namelist()}")
                data, name = archive.read(members[0]), f"{name} ({members[0]} inside)"
        except zipfile.BadZipFile as exc:
            raise ValueError(f"{name}: starts like a ZIP file but cannot be opened ({exc}); download "
                             f"the Ken French _CSV.zip again") from None
    if b"\x00" in data[:65536]:
        raise ValueError(f"{name}: binary content, not a Ken French factor file; give the _CSV.zip as "
                         f"published (e.g. F-F_Research_Data_5_Factors_2x3_CSV.zip) or the .CSV inside it")
    try:
        return data.decode("utf-8"), name
    except UnicodeDecodeError:
        return data.decode("latin-1"), name  # French's files are ASCII; a stray byte must not stop the parse


def parse_french_csv(text: str | bytes, name: str = "the French file") -> FrenchFactors:
    """Parse a Ken French factor CSV as published (e.g. ``F-F_Research_Data_5_Factors_2x3.CSV``), or
    the ZIP holding it (:func:`french_csv_text`); ``name`` (the file) is said by every error.

    Layout: free-text header lines, a blank line, ``,Mkt-RF,SMB,HML,RMW,CMA,RF``, rows ``YYYYMM, v...``
    (percent, space-padded), a blank line, `` Annual Factors: January-December ``, the header again,
    rows ``YYYY, v...``, a blank line and ``Copyright YYYY Kenneth R. French``. Values are divided by
    100; ``-99.99`` / ``-999`` become NaN. Duplicate months inside one file: the last row wins.
    """
    text, name = _french_text(text, name)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header_lines: list[str] = []
    blocks: list[tuple[list[str], list[list[str]]]] = []
    cols: list[str] | None = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(",") and cols is None:  # a table header row
            cols = [c.strip() for c in stripped.split(",")[1:]]
            blocks.append((cols, []))
        elif cols is not None and _ROW.match(line):
            cells = [c.strip() for c in line.split(",")]
            blocks[-1][1].append(cells)
        elif cols is not None and not stripped:
            cols = None  # a blank line ends the table
        elif cols is None and not blocks and stripped:
            header_lines.append(stripped.rstrip(","))
        elif cols is not None:
            cols = None  # any other text line ends the table too
    monthly = [b for b in blocks if b[1] and len(b[1][0][0]) == 6]
    annual = [b for b in blocks if b[1] and len(b[1][0][0]) == 4]
    if not monthly:
        raise ValueError(f"{name}: no monthly block (rows 'YYYYMM, ...') found: not a Ken French "
                         f"monthly factor file")
    return FrenchFactors(monthly=_french_block(monthly[0], "M"),
                         annual=_french_block(annual[0], "Y") if annual else pd.DataFrame(),
                         header="\n".join(header_lines))


def _french_block(block: tuple[list[str], list[list[str]]], kind: str) -> pd.DataFrame:
    cols, rows = block
    keys = [r[0] for r in rows]
    vals = np.array([[float(v) if v else np.nan for v in r[1 : len(cols) + 1]] for r in rows])
    vals[np.isin(vals, FRENCH_MISSING)] = np.nan
    if kind == "M":
        index = pd.DatetimeIndex(pd.to_datetime(keys, format="%Y%m"), name="month")
    else:
        index = pd.Index([int(k) for k in keys], name="year")
    frame = pd.DataFrame(vals / 100.0, index=index, columns=cols)
    frame = frame[~frame.index.duplicated(keep="last")].sort_index()
    if kind == "M":  # a month missing from the file becomes an explicit NaN row (not invented)
        frame = frame.reindex(pd.date_range(frame.index.min(), frame.index.max(), freq="MS", name="month"))
    return frame


def read_french_csv(path: str | Path) -> FrenchFactors:
    """A French file on disk: the ``.CSV`` or the ``_CSV.zip`` as published."""
    path = Path(path)
    return parse_french_csv(path.read_bytes(), path.name)


def french_monthly_vintages(*sources: str | bytes | Path) -> pd.DataFrame:
    """Monthly factors merged across file vintages given oldest first (later file wins). Each source
    is a path (``Path``: the ``.CSV`` or its ZIP), the file's bytes (CSV or ZIP) or its text."""
    frames = []
    for i, src in enumerate(sources, start=1):
        if isinstance(src, Path):
            frames.append(read_french_csv(src).monthly)
        else:
            frames.append(parse_french_csv(src, f"French file #{i}").monthly)
    return combine_vintages(*frames)


def load_french_shipped() -> pd.DataFrame:
    """The French subset shipped with ``linearmodels`` (no network): monthly 1949-01 .. 2017-03.

    It carries ``Mkt-RF, SMB, HML, RF`` (and ``Mom``) already in decimals; **RMW and CMA are not in
    it**, so they are returned as all-NaN columns to keep the five-factor layout explicit.
    """
    from linearmodels.datasets import french  # noqa: PLC0415 - heavy import, only when used

    raw = french.load()
    index = pd.DatetimeIndex(pd.to_datetime(raw["dates"]), name="month").to_period("M").to_timestamp()
    out = pd.DataFrame({"Mkt-RF": raw["MktRF"].to_numpy(), "SMB": raw["SMB"].to_numpy(),
                        "HML": raw["HML"].to_numpy(), "RMW": np.nan, "CMA": np.nan,
                        "RF": raw["RF"].to_numpy(), "Mom": raw["Mom"].to_numpy()}, index=index)
    out.index.name = "month"
    return out
