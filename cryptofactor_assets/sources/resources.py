"""The market-data source as a Dagster resource: simulated (default), files or bybit (+ CoinGecko).

Datasets: 5-minute klines, daily coin markets, the funding rates of perpetual contracts
(simulated, or Bybit's linear perpetuals; the files source and Bybit spot have none: spot pays no
funding, so their funding batch is "not requested" and leaves the stored rows alone), and daily
on-chain activity (the user's CSV files when ``onchain_glob`` is given, whatever the source; else
simulated on the simulated market, none elsewhere).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import dagster as dg
import pandas as pd
from pydantic import Field

from cryptofactor_assets import settings
from cryptofactor_assets.settings import SOURCE_ENV  # noqa: F401 (re-exported)
from cryptofactor_assets.sources.base import SourceBatch
from cryptofactor_assets.sources.risk_free import RiskFreeRate, configured_risk_free
from cryptofactor_assets.sources.simulated import SimConfig, SimulatedMarket, sim_coins_from_env

SOURCE_KINDS = ("simulated", "files", "bybit")
#: ``SourceBatch.stats`` key: 1 when the source was asked for nothing (no glob, no ids): the
#: ingest then leaves the window's stored rows untouched instead of treating it as an empty fetch.
NOT_REQUESTED = "not_requested"


def _not_requested(note: str) -> SourceBatch:
    return SourceBatch(frame=pd.DataFrame(), notes=[note], stats={NOT_REQUESTED: 1})


class MarketSourceResource(dg.ConfigurableResource):
    """Where raw klines and coin markets come from. Every field has an env var (see README), read by
    ``settings.market_source_settings`` (:meth:`from_settings`)."""

    kind: str = Field(default="simulated", description="simulated | files | bybit")
    sim_seed: int = Field(default=SimConfig.seed, description="seed of the simulated market")
    sim_coins: int = Field(default=SimConfig.n_coins, description="number of simulated coins")
    klines_glob: str = Field(default="", description="files: glob of kline files (feather / csv / parquet)")
    markets_glob: str = Field(default="", description="files: glob of CoinGecko export CSV files")
    onchain_glob: str = Field(
        default="", description="any source: glob of on-chain activity CSV files (date,coin,active_addresses,"
                                "tx_count); empty: simulated on the simulated market, none elsewhere")
    symbols: str = Field(default="", description="bybit: comma-separated symbols, e.g. BTCUSDT,ETHUSDT")
    bybit_category: str = Field(default="linear",
                                description="bybit: linear | spot (spot has no funding rates)")
    coingecko_ids: str = Field(default="", description="bybit: CoinGecko ids for market caps (optional)")
    dead_coingecko_ids: str = Field(
        default="", description="bybit: CoinGecko ids of dead coins, fetched with coingecko_ids: a list of today's "
                                "coins alone is survivorship-biased (see sources/coingecko.py)")
    strict: bool = Field(default=False, description="fail the run when any symbol's fetch fails")
    replace: bool = Field(
        default=False,
        description="let a fetch with fewer valid rows than stored (per symbol and UTC day) replace them; "
                    "by default such a fetch fails for that symbol and the stored rows are kept")
    timezone: str = Field(
        default="UTC",
        description="files: IANA time zone of NAIVE times in kline / market files (tz-aware times and "
                    "epoch numbers are UTC instants whatever this says)")

    @classmethod
    def from_settings(cls) -> MarketSourceResource:
        """The resource configured from the environment, through ``settings.market_source_settings``."""
        return cls(**settings.market_source_settings(SimConfig.seed), sim_coins=sim_coins_from_env())

    #: The same constructor under its former name (the CLI's code location and the tests call it).
    from_env = from_settings

    def _check_kind(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise dg.Failure(f"unknown source kind {self.kind!r}; expected one of {SOURCE_KINDS}")
        if self.kind == "files":
            from cryptofactor_assets.sources.files import resolve_timezone

            try:
                resolve_timezone(self.timezone)
            except ValueError as exc:
                raise dg.Failure(str(exc)) from None

    def simulated(self) -> SimulatedMarket:
        return SimulatedMarket(SimConfig(seed=self.sim_seed, n_coins=self.sim_coins))

    @property
    def streams(self) -> bool:
        """True when batches can be written as they come (no per-symbol partial failure possible)."""
        return self.kind == "simulated"

    @property
    def onchain_streams(self) -> bool:
        """``streams`` for the on-chain activity: simulated and no user files (files can fail one by one)."""
        return self.kind == "simulated" and not self.onchain_glob

    def klines_batches(
        self, start: dt.date, end: dt.date, partition: str, log: Callable[[str], None] = print
    ) -> Iterator[SourceBatch]:
        """5-minute bars with open_time in [start, end)."""
        self._check_kind()
        if self.kind == "simulated":
            for frame in self.simulated().iter_klines_5m(start, end):
                yield SourceBatch(frame=frame)
        elif self.kind == "files":
            if not self.klines_glob:
                yield _not_requested("no kline glob given: no 5-minute bars")
                return
            from cryptofactor_assets.sources.files import read_klines_glob

            yield read_klines_glob(self.klines_glob, start, end, strict=self.strict, timezone=self.timezone, log=log)
        else:
            from cryptofactor_assets.sources.bybit import BybitClient

            client = BybitClient(category=self.bybit_category)
            yield client.fetch_klines_5m(self._bybit_symbols(), start, end, strict=self.strict, log=log)

    def _bybit_symbols(self) -> list[str]:
        symbols = [s.strip().upper() for s in self.symbols.split(",") if s.strip()]
        if not symbols:
            raise dg.Failure("source bybit needs symbols (--symbols or CRYPTOFACTOR_SYMBOLS)")
        return symbols

    def funding_batches(
        self, start: dt.date, end: dt.date, partition: str, log: Callable[[str], None] = print
    ) -> Iterator[SourceBatch]:
        """Funding settlements of perpetual contracts with funding_time in [start, end) (``funding.FUNDING_COLUMNS``).

        simulated: the simulated perpetuals' funding (``simulated.funding_frame``); bybit with category
        linear: ``BybitClient.fetch_funding`` of ``symbols``; bybit spot and files: nothing requested
        (spot data pays no funding), with a note, so the stored rows are left alone.
        """
        self._check_kind()
        if self.kind == "simulated":
            yield SourceBatch(frame=self.simulated().funding_rates(start, end))
        elif self.kind == "files":
            yield _not_requested("files source: no funding rates (kline and market files carry none, and spot "
                                 "data pays no funding)")
        elif self.bybit_category != "linear":
            yield _not_requested(f"bybit category {self.bybit_category!r}: no funding rates (funding is paid on "
                                 "perpetual contracts only; set bybit_category linear)")
        else:
            from cryptofactor_assets.sources.bybit import BybitClient

            client = BybitClient(category="linear")
            yield client.fetch_funding(self._bybit_symbols(), start, end, strict=self.strict, log=log)

    def onchain_batches(
        self, start: dt.date, end: dt.date, partition: str, log: Callable[[str], None] = print,
        symbol_map: pd.DataFrame | None = None,
    ) -> Iterator[SourceBatch]:
        """Daily on-chain activity with date in [start, end) (``onchain.ONCHAIN_COLUMNS``).

        ``onchain_glob`` given: the user's CSV files, coins mapped to exchange symbols through
        ``symbol_map`` (``coin_symbols``), whatever the market source; else the simulated market's
        activity on the simulated source, and nothing requested elsewhere (stored rows left alone).
        """
        self._check_kind()
        if self.onchain_glob:
            from cryptofactor_assets.sources.onchain import read_onchain_glob

            yield read_onchain_glob(self.onchain_glob, start, end, symbol_map=symbol_map, strict=self.strict)
        elif self.kind == "simulated":
            yield SourceBatch(frame=self.simulated().onchain_activity(start, end))
        else:
            yield _not_requested(f"source {self.kind}: no on-chain activity (give --onchain / "
                                 "CRYPTOFACTOR_ONCHAIN_GLOB, CSV date,coin,active_addresses,tx_count)")

    def markets_batches(
        self, start: dt.date, end: dt.date, partition: str, log: Callable[[str], None] = print,
        symbol_map: pd.DataFrame | None = None,
    ) -> Iterator[SourceBatch]:
        """Daily market snapshots with date in [start, end)."""
        self._check_kind()
        if self.kind == "simulated":
            yield SourceBatch(frame=self.simulated().coin_markets(start, end))
        elif self.kind == "files":
            if not self.markets_glob:
                yield _not_requested("no markets glob given: no market caps")
                return
            from cryptofactor_assets.sources.files import read_markets_glob

            yield read_markets_glob(self.markets_glob, start, end, symbol_map=symbol_map, strict=self.strict,
                                    timezone=self.timezone)
        else:
            # today's coins plus the user's dead ones (CoinGecko keeps some history of inactive coins;
            # one it no longer serves fails for that coin, reported, never silently dropped)
            ids = list(dict.fromkeys(s.strip() for s in f"{self.coingecko_ids},{self.dead_coingecko_ids}".split(",")
                                     if s.strip()))
            if not ids:
                yield _not_requested("no CoinGecko ids given: no market caps")
                return
            from cryptofactor_assets.sources.coingecko import CoinGeckoSource

            batch = CoinGeckoSource.from_env().fetch_markets(ids, start, end, symbol_map=symbol_map,
                                                              strict=self.strict, log=log)
            yield _failures_by_symbol(batch, symbol_map)


def _failures_by_symbol(batch: SourceBatch, symbol_map: pd.DataFrame | None) -> SourceBatch:
    """CoinGecko reports a failed coin by its id; the stored rows are keyed by exchange symbol, so
    re-key each failure by the symbol the coin maps to (the same lookup the fetch used)."""
    from cryptofactor_assets.sources.base import SymbolFailure
    from cryptofactor_assets.sources.coingecko import guess_symbol, symbol_lookup

    if not batch.failures:
        return batch
    lookup = {**symbol_lookup(None), **(symbol_lookup(symbol_map) if symbol_map is not None else {})}
    batch.failures = [SymbolFailure(lookup.get(f.symbol) or guess_symbol(f.symbol),
                                    f.error if f.symbol in f.error else f"{f.symbol}: {f.error}")
                      for f in batch.failures]
    return batch


class RiskFreeResource(dg.ConfigurableResource):
    """The risk-free rate of every excess return, Sharpe ratio and alpha: a CSV of annualised T-bill
    yields (``csv_path``), else a constant annual percentage (``constant_pct``), else 0 with a note.
    Each period's rate is the last observation before the period (``sources/risk_free.py``)."""

    csv_path: str = ""
    constant_pct: str = ""  # text: empty means "not given" (a float field cannot say so)

    @classmethod
    def from_settings(cls) -> RiskFreeResource:
        csv_path, constant_pct = settings.risk_free_settings()
        return cls(csv_path=csv_path, constant_pct=constant_pct)

    def rate(self) -> RiskFreeRate:
        pct = float(self.constant_pct) if self.constant_pct.strip() else None
        return configured_risk_free(self.csv_path or None, pct)

    def series(self, periods, frequency: str) -> tuple[pd.Series, str, str]:
        """Simple rate per period start (``weekly`` or ``daily``), its source label and a note for the
        metadata."""
        rf = self.rate()
        idx = pd.DatetimeIndex(periods)
        out = rf.weekly(idx) if frequency == "weekly" else rf.daily(idx)
        out.index = idx
        return out, str(rf.source), rf.coverage_note(idx)
