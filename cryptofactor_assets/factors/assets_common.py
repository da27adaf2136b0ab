"""What the factor asset shells share: their group and kinds and the markdown / plot metadata values
(the Dagster-facing helpers of the domain; the plain-data ones are in ``factors/summaries.py``)."""

import dagster as dg
import pandas as pd

from cryptofactor_assets.analytics.plots import equity_curve_png, png_markdown
from cryptofactor_assets.common import md
from cryptofactor_assets.storage.warehouse import frame_markdown

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

