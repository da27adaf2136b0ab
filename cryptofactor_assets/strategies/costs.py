"""Execution and cost assumptions of every strategy backtest: venue fees, spread, funding, execution lag.

A :class:`CostModel` is a parameter set stored with every result (``strategy_returns.cost_model``,
the ``strategy_comparison`` columns). The defaults are meant to be honest for a small account trading
USDT perpetual futures on Bybit:

* **fees** by venue and side, charged on the traded weight (turnover against drifted weights, see
  ``execution.py``): ``fee_bps / 1e4 x sum_i |w_target_i - w_drifted_i|``. Regular-user (VIP 0)
  rates of the venues' public fee pages, as read for issue 15 (December 2026):
  Bybit derivatives (USDT perpetuals) maker 0.02 % / taker 0.055 %, Bybit spot 0.1 % / 0.1 %
  (https://www.bybit.com/en/help-center/article/Trading-Fee-Structure); Binance spot 0.1 % / 0.1 %
  (https://www.binance.com/en/fee/schedule; NautilusTrader's ``BINANCE_SPOT_FEE_DEFAULT`` = 0.001
  agrees), Binance USD-M futures 0.02 % / 0.05 % (same page). A strategy that rebalances with market
  orders pays the taker rate: ``side = "taker"`` is the default.
* **spread**: half the proportional bid-ask spread per unit traded. ``spread = "corwin_schultz"``
  (default) or ``"abdi_ranaldo"`` reads the coin-day estimate of the execution day from the daily
  panel (``daily_panel.spread_cs`` / ``spread_ar``, estimated from that day's 5-minute bars; a day
  is known at its close, which is when the trade executes); coin-days without an estimate (no bars:
  market-data-only coins) use the constant ``spread_bps``. ``"constant"`` uses ``spread_bps``
  everywhere, ``"none"`` charges no spread.
* **funding** on perpetual positions: a position w_i held over day d pays ``w_i x F_i,d`` where
  ``F_i,d`` is the sum of the coin's funding rates settled during day d (``raw_funding_rates``;
  positive rates: longs pay shorts, so a short earns them). Zero on spot venues.
* **execution lag**: a signal formed at the close of day s trades at the close of day s + ``lag_days``
  (default 1: never at the close that formed the signal).

Pure Python, no Dagster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

BPS = 1e-4


@dataclass(frozen=True)
class Venue:
    """A trading venue's regular-user fees (basis points of traded notional) and instrument type."""

    name: str
    instrument: str  # "perp" (funding applies) or "spot"
    maker_bps: float
    taker_bps: float
    source: str


VENUES: dict[str, Venue] = {v.name: v for v in (
    Venue("bybit_linear", "perp", 2.0, 5.5,
          "Bybit Trading Fee Structure, derivatives VIP 0 (bybit.com/en/help-center/article/Trading-Fee-Structure)"),
    Venue("bybit_spot", "spot", 10.0, 10.0,
          "Bybit Trading Fee Structure, spot VIP 0 (bybit.com/en/help-center/article/Trading-Fee-Structure)"),
    Venue("binance_spot", "spot", 10.0, 10.0, "Binance fee schedule, spot regular user (binance.com/en/fee/schedule)"),
    Venue("binance_usdm", "perp", 2.0, 5.0,
          "Binance fee schedule, USD-M futures regular user (binance.com/en/fee/schedule)"),
)}
SIDES = ("taker", "maker")
SPREAD_MODELS = ("corwin_schultz", "abdi_ranaldo", "constant", "none")
#: daily_panel column of each estimated spread model
SPREAD_COLUMNS = {"corwin_schultz": "spread_cs", "abdi_ranaldo": "spread_ar"}


@dataclass(frozen=True)
class CostModel:
    """Fees, spread, funding and execution lag of a backtest (module docstring)."""

    venue: str = "bybit_linear"
    side: str = "taker"
    spread: str = "corwin_schultz"
    #: full proportional spread in bp: the ``constant`` model's value and the fallback of the estimates
    spread_bps: float = 10.0
    funding: bool = True
    lag_days: int = 1

    def __post_init__(self) -> None:
        if self.venue not in VENUES:
            raise ValueError(f"venue must be one of {sorted(VENUES)}, not {self.venue!r}")
        if self.side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {self.side!r}")
        if self.spread not in SPREAD_MODELS:
            raise ValueError(f"spread must be one of {SPREAD_MODELS}, not {self.spread!r}")
        if self.spread_bps < 0 or self.lag_days < 0:
            raise ValueError("spread_bps and lag_days must be >= 0")

    @property
    def fee_bps(self) -> float:
        v = VENUES[self.venue]
        return v.taker_bps if self.side == "taker" else v.maker_bps

    @property
    def charges_funding(self) -> bool:
        """Funding applies to perpetual venues only (and only when ``funding`` is on)."""
        return self.funding and VENUES[self.venue].instrument == "perp"

    @property
    def spread_column(self) -> str | None:
        return SPREAD_COLUMNS.get(self.spread)

    def describe(self) -> str:
        """One line stored with every result, e.g. ``bybit_linear taker 5.5 bp; spread corwin_schultz
        (fallback 10 bp); funding on; lag 1 day``."""
        spread = ("no spread" if self.spread == "none" else f"spread constant {self.spread_bps:g} bp"
                  if self.spread == "constant" else f"spread {self.spread} (fallback {self.spread_bps:g} bp)")
        funding = "funding on" if self.charges_funding else (
            "funding off" if VENUES[self.venue].instrument == "perp" else "no funding (spot)")
        return (f"{self.venue} {self.side} {self.fee_bps:g} bp; {spread}; {funding}; "
                f"lag {self.lag_days} day{'s' if self.lag_days != 1 else ''}")

    def as_columns(self) -> dict:
        """The parameters as table columns (``strategy_comparison``)."""
        return {**asdict(self), "fee_bps": self.fee_bps, "instrument": VENUES[self.venue].instrument}


#: No costs at all and trading at the signal's close: the gross, paper-style figures.
FRICTIONLESS = CostModel(spread="none", funding=False, lag_days=0)
