"""The shared research library below every domain, no Dagster import: plots (matplotlib, rendered to
PNG for asset metadata) and backtest statistics (returns, Sharpe, drawdowns, HAC t-statistics). Every
domain reports with it; the tear sheet (``reporting/``) composes it."""
