"""Reading stored tables into frames (no dagster import).

:func:`read_sql_frame` runs a ``sql/<domain>/*.sql`` statement with bound ``$params`` and normalises DATE
columns to ``datetime64[ns]`` (what the numerics merge on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from cryptofactor_assets.estimators.ltw_calendar import as_datetime_ns


def read_sql_frame(con, sql: str, params: Mapping | Sequence | None = None,
                   date_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Run ``sql`` (text of a ``sql/<domain>/*.sql`` file) with bound parameters; DATE columns -> datetime64[ns]."""
    frame = con.execute(sql, params if params is not None else []).df()
    for c in date_columns:
        if c in frame.columns:
            frame[c] = as_datetime_ns(frame[c])
    return frame
