"""What the factor asset shells share: their group and kinds and the markdown / plot metadata values
(the Dagster-facing helpers of the domain; the plain-data ones are in ``factors/summaries.py``)."""

import datetime as dt

import dagster as dg
import pandas as pd

from cryptofactor_assets.analytics.plots import equity_curve_png, png_markdown
from cryptofactor_assets.common import md
from cryptofactor_assets.sources.tables import RAW_FUNDING_RATES, RAW_ONCHAIN_ACTIVITY
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import frame_markdown, load_sql, table_exists

GROUP = "factors"
KINDS = frozenset({"duckdb", "python"})


def table_md(frame: pd.DataFrame) -> dg.MetadataValue:
    """A frame as a markdown metadata value."""
    return md(frame_markdown(frame))


def grouped(frame: pd.DataFrame, by, columns, how) -> pd.DataFrame:
    """``frame`` grouped ``by``, its ``columns`` aggregated ``how``, the groups as columns (an empty frame
    for an empty ``frame``): the per-group summary of an estimate shown in the metadata."""
    return frame.groupby(by)[columns].agg(how).reset_index() if len(frame) else pd.DataFrame()


def config_text(config, *fields: str) -> str:
    """``field=value`` of each of ``fields`` of ``config``, comma-separated (the parameters metadata)."""
    return ", ".join(f"{name}={getattr(config, name)}" for name in fields)


def cumulative_plot(frame: pd.DataFrame, title: str) -> dg.MetadataValue:
    """The cumulative returns of the columns of ``frame`` as an inline PNG."""
    return md(png_markdown(equity_curve_png(frame, title=title), alt=title))



def read_signal_inputs(con, start: dt.date, end: dt.date, funding_days: int, onchain_days: int
                       ) -> tuple[pd.DataFrame | None, pd.DataFrame | None, list[str]]:
    """(per coin-day funding sums from ``funding_days`` before ``start``, raw_onchain_activity rows from
    ``onchain_days`` before ``start``, notes): each None when its table holds nothing in that window
    (its source has none: FUND / CHAIN are then NULL, never 0), said in the notes."""
    notes = []

    def optional_window(table: str, sql_name: str, days: int) -> tuple[pd.DataFrame | None, dt.date]:
        lo = start - dt.timedelta(days=days)
        if not table_exists(con, table):
            return None, lo
        frame = read_sql_frame(con, load_sql(sql_name, domain="factors"), {"start": lo, "end": end}, ["date"])
        return (None if frame.empty else frame), lo

    funding, lo = optional_window(RAW_FUNDING_RATES, "select_funding_daily_window", funding_days)
    if funding is None:
        notes.append(f"FUND is NULL: raw_funding_rates holds no settlement in {lo} .. {end} (exclusive): the source "
                     "has no perpetual funding (spot or file data)")
    onchain, lo = optional_window(RAW_ONCHAIN_ACTIVITY, "select_onchain_activity_window", onchain_days)
    if onchain is None:
        notes.append(f"CHAIN is NULL: raw_onchain_activity holds no row in {lo} .. {end} (exclusive): give an "
                     "on-chain file (--onchain, CSV date,coin,active_addresses,tx_count)")
    return funding, onchain, notes
