"""Asset checks of stored tables, one idiom for every domain: a ``TableChecks`` per table.

A ``TableChecks`` names a table, its key, its window column (None for an unpartitioned table) and the
columns that must be finite where defined (and, optionally, defined after the warm-up); it gives the
``AssetCheckSpec`` list for the asset decorator and the ``AssetCheckResult`` list for a window.
Every table has a blocking unique-key check. Further checks of one table are ``ExtraCheck``s: a
name, a description and a function ``(con, table, window_column, start, end) -> CheckOutcome``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.quality import CheckOutcome


def check_result(check_name: str, outcome: CheckOutcome, asset_key: str | None = None,
                 severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR) -> dg.AssetCheckResult:
    """The ``AssetCheckResult`` of an outcome: passed, and its failure count and description as metadata."""
    kwargs = {"asset_key": asset_key} if asset_key else {}
    return dg.AssetCheckResult(
        check_name=check_name, passed=outcome.passed, severity=severity,
        metadata={"failures": outcome.failures, "description": outcome.description}, **kwargs,
    )


@dataclass(frozen=True)
class ExtraCheck:
    """A check of one table beyond its ``TableChecks``: name, description, the outcome function
    ``(con, table, window_column, start, end) -> CheckOutcome`` (column, start and end None for a whole
    table, as ``storage.quality``'s functions take them) and its severity."""

    name: str
    description: str
    outcome: Callable[..., CheckOutcome]
    blocking: bool = False
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR

    def spec(self, asset: str) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(self.name, asset=asset, blocking=self.blocking, description=self.description)

    def result(self, con, table: str, column: str | None = None, start=None, end=None) -> dg.AssetCheckResult:
        return check_result(self.name, self.outcome(con, table, column, start, end), severity=self.severity)


@dataclass(frozen=True)
class TableChecks:
    """The checks of one table: its key and the columns that must be finite where defined."""

    table: str
    key: tuple[str, ...]
    window_column: str | None
    finite: tuple[str, ...]
    not_null: tuple[str, ...] = ()
    extra: tuple[ExtraCheck, ...] = ()
    #: the unique-key check's name (default ``<table>_unique_key``)
    unique_check: str | None = None

    @property
    def unique_name(self) -> str:
        return self.unique_check or f"{self.table}_unique_key"

    @property
    def finite_name(self) -> str:
        return f"{self.table}_finite_values"

    @property
    def not_null_name(self) -> str:
        return f"{self.table}_defined_values"

    def specs(self) -> list[dg.AssetCheckSpec]:
        out = [
            dg.AssetCheckSpec(self.unique_name, asset=self.table, blocking=True,
                              description=f"({', '.join(self.key)}) unique"),
        ]
        if self.finite:
            out.append(dg.AssetCheckSpec(self.finite_name, asset=self.table,
                                         description=f"{', '.join(self.finite)} finite where defined"))
        if self.not_null:
            out.append(dg.AssetCheckSpec(
                self.not_null_name, asset=self.table,
                description=f"{', '.join(self.not_null)} defined after the warm-up (the first "
                            f"{self.window_column} where all are defined); WARN"))
        return out + [extra.spec(self.table) for extra in self.extra]

    def results(self, con, start=None, end=None) -> list[dg.AssetCheckResult]:
        col = self.window_column if start is not None else None
        out = [check_result(self.unique_name, quality.unique_key(con, self.table, list(self.key), col, start, end))]
        if self.finite:
            out.append(check_result(self.finite_name, quality.finite(con, self.table, list(self.finite), col, start, end)))
        if self.not_null:
            out.append(check_result(self.not_null_name,
                                    quality.defined_after_warm_up(con, self.table, self.not_null, col, start, end),
                                    severity=dg.AssetCheckSeverity.WARN))
        return out + [extra.result(con, self.table, col, start, end) for extra in self.extra]
