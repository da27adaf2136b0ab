"""SQL identifiers quoted by DuckDB's rules, for the few statements that must name a table or column
chosen at run time.

DuckDB (like PostgreSQL, whose parser it uses) reads ``"..."`` as ONE identifier whatever it holds:
spaces, semicolons, ``--``, quotes of the other kind, dots, unicode, keywords. The only character
with a meaning inside is the double quote itself, written twice (``""``). So

    quote_ident('a"; DELETE FROM t; --')  ->  '"a""; DELETE FROM t; --"'

names exactly the table called ``a"; DELETE FROM t; --`` and can never end the identifier early.
There are no backslash escapes inside a quoted identifier, so none are needed. Quoting never changes
which object an ordinary name refers to: DuckDB matches identifiers case-insensitively, quoted or not.

Values (dates, thresholds, names compared with ``=``) are NOT identifiers: bind them as parameters
(``?`` / ``$name``), never format them into SQL. Only identifiers go through this module.

A qualified name is quoted part by part (``quote_qualified("db", "main", "t")`` gives
``"db"."main"."t"``); ``quote_ident`` never splits on dots, since ``a.b`` is a valid table name.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["quote_ident", "quote_idents", "quote_qualified"]


def quote_ident(name: str) -> str:
    """``name`` as one DuckDB identifier: embedded ``"`` doubled, the whole wrapped in ``"``.

    Raises ``TypeError`` for a non-string (a stray ``None`` or number must not become SQL) and
    ``ValueError`` for the empty string (DuckDB has no zero-length identifier).
    """
    if not isinstance(name, str):
        raise TypeError(f"an SQL identifier must be a str, not {type(name).__name__}: {name!r}")
    if not name:
        raise ValueError("an SQL identifier cannot be empty")
    return '"' + name.replace('"', '""') + '"'


def quote_qualified(*parts: str) -> str:
    """A qualified name, each part quoted: ``quote_qualified("cat", "main", "t")`` -> ``"cat"."main"."t"``."""
    if not parts:
        raise ValueError("a qualified name needs at least one part")
    return ".".join(quote_ident(p) for p in parts)


def quote_idents(names: Iterable[str]) -> str:
    """A comma-separated list of quoted identifiers (a column list, a GROUP BY key)."""
    quoted = [quote_ident(n) for n in names]
    if not quoted:
        raise ValueError("an identifier list cannot be empty")
    return ", ".join(quoted)
