"""What the factor asset shells share: their group and kinds and the markdown / plot metadata values
(the Dagster-facing helpers of the domain; the plain-data ones are in ``factors/summaries.py``)."""

import dagster as dg
import pandas as pd

from cryptofactor_assets.common import md, risk_free_series
from cryptofactor_assets.lib.resources import RISK_FREE
from cryptofactor_assets.lib.table_asset import TableRun
from cryptofactor_assets.reporting.plots import equity_curve_png, png_markdown
from cryptofactor_assets.storage.warehouse import frame_markdown

GROUP = "factors"
KINDS = frozenset({"duckdb", "python"})


def table_md(frame: pd.DataFrame) -> dg.MetadataValue:
    """A frame as a markdown metadata value."""
    return md(frame_markdown(frame))


def cumulative_plot(frame: pd.DataFrame, title: str) -> dg.MetadataValue:
    """The cumulative returns of the columns of ``frame`` as an inline PNG."""
    return md(png_markdown(equity_curve_png(frame, title=title), alt=title))


#: Resource keys of the shells that read the risk-free rate. Empty for now: ``lib.table_asset``
#: cannot yet combine ``required_resource_keys`` with its ``duckdb`` argument (Dagster refuses
#: resources both as arguments and in the decorator); then ``frozenset({RISK_FREE})``.
RISK_FREE_KEYS: frozenset[str] = frozenset()


def risk_free(run: TableRun, periods, frequency: str) -> tuple:
    """(rate per period start, source label, note) of the ``risk_free`` resource (``weekly`` or ``daily``)."""
    if RISK_FREE in RISK_FREE_KEYS:
        return getattr(run.context.resources, RISK_FREE).series(periods, frequency)
    return risk_free_series(periods, frequency)
