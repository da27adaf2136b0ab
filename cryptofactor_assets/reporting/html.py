"""Rendering of the tear sheet: sections and plots into ONE self-contained HTML page (no Dagster, no SQL).

The page holds no external reference at all (images are ``data:image/png;base64`` URIs, CSS is
inline, links are in-page anchors), so it can be mailed or attached as one file;
:func:`external_references` lists anything that would make a browser fetch something. Every text
that comes from the warehouse (table and column names, values) is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

STATUS_OK = "ok"
STATUS_MISSING = "missing"
STATUS_ERROR = "error"


@dataclass(frozen=True)
class Plot:
    """One embedded chart: its title and PNG bytes."""

    title: str
    png: bytes

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Section:
    """One part of the page. ``status``: ok | missing (tables not built) | error (unreadable table)."""

    anchor: str
    title: str
    status: str
    body_html: str
    plots: tuple[Plot, ...] = ()
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    error: str | None = None
    note: str = ""


def _fmt_value(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float | np.floating):
        a = abs(float(v))
        return f"{v:,.0f}" if a >= 1e5 else f"{v:.4g}"
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.strftime("%Y-%m-%d") if (v.hour, v.minute, v.second) == (0, 0, 0) else v.isoformat(" ")
    return str(v)


def table_html(frame: pd.DataFrame, max_rows: int = 60) -> str:
    """HTML table (escaped) of ``frame``; rows beyond ``max_rows`` are elided with a note."""
    if frame is None or frame.empty:
        return "<p class='muted'>(no rows)</p>"
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for v in row:
            numeric = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            cells.append(f"<td class='{'num' if numeric else 'txt'}'>{html.escape(_fmt_value(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f"<p class='muted'>{len(frame) - max_rows:,} more rows not shown.</p>"
            if len(frame) > max_rows else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def img_html(plot: Plot) -> str:
    """An embedded figure (its PNG as a data URI)."""
    return f"<figure><img alt='{html.escape(plot.title)}' src='{plot.data_uri()}'></figure>"


def paragraph(text: str, cls: str = "") -> str:
    """An escaped paragraph, of class ``cls`` (missing | error | muted) when given."""
    return f"<p class='{cls}'>{html.escape(text)}</p>" if cls else f"<p>{html.escape(text)}</p>"


def missing_section(anchor: str, title: str, missing: Sequence[str], extra: str = "") -> Section:
    """The section of tables not built yet: "Not built yet: materialise ..."."""
    text = f"Not built yet: materialise {', '.join(missing)}."
    return Section(anchor, title, STATUS_MISSING, paragraph(text, "missing") + extra, missing=tuple(missing))


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 32px}header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;color:#c9cfdb;font-size:13px}main{padding:8px 32px 40px;max-width:1150px}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:8px}
nav a{display:inline-block;padding:4px 10px;border-radius:12px;background:#e3e7ee;color:#1d2330;
text-decoration:none;font-size:13px}nav a.missing{background:#fdf1d6}nav a.error{background:#f9d6d6}
section{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:12px 20px;margin:16px 0}
h2{font-size:19px;margin:6px 0 10px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0}
th,td{border-bottom:1px solid #e6e9ef;padding:3px 8px}th{background:#f0f2f6;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}figure{margin:8px 0}img{max-width:100%}
p.missing{background:#fdf6e3;border-left:4px solid #e0a800;padding:6px 10px}
p.error{background:#fbeaea;border-left:4px solid #c62828;padding:6px 10px}p.muted{color:#6b7280}
"""


def render_html(sections: Sequence[Section], title: str, generated_at: str, source_label: str) -> str:
    """The whole page: inline CSS, in-page navigation, sections; no external reference."""
    nav = "".join(
        f"<li><a class='{s.status}' href='#{s.anchor}'>{html.escape(s.title)}"
        f"{'' if s.status == STATUS_OK else ' (' + s.status + ')'}</a></li>" for s in sections)
    body = "".join(f"<section id='{s.anchor}'><h2>{html.escape(s.title)}</h2>{s.body_html}</section>"
                   for s in sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>Generated {html.escape(generated_at)} from "
        f"{html.escape(source_label)}</p></header><main><nav><ul>{nav}</ul></nav>{body}</main></body></html>\n"
    )


_URL = re.compile(r"(?:https?|ftp|file)://|//[a-z0-9.-]+\.[a-z]{2,}/", re.IGNORECASE)
_SRC_HREF = re.compile(r"""\b(src|href)\s*=\s*(['"])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def external_references(page: str) -> list[str]:
    """Everything in ``page`` that would make a browser fetch something: URLs, non-data ``src``,
    non-anchor ``href``. Empty for a self-contained page."""
    found = [m.group(0) for m in _URL.finditer(page)]
    for attr, _, value in _SRC_HREF.findall(page):
        if attr.lower() == "src" and not value.startswith("data:image/"):
            found.append(f"src={value[:60]}")
        if attr.lower() == "href" and not value.startswith("#"):
            found.append(f"href={value[:60]}")
    return found
