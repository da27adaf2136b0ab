-- Create strategy_returns: every strategy's daily book under the cost model: gross, fees, spread, funding, net, turnover.
CREATE TABLE IF NOT EXISTS strategy_returns (
    family          VARCHAR NOT NULL,
    strategy        VARCHAR NOT NULL,
    date            DATE NOT NULL,      -- day d: return from the close of d - 1 to the close of d
    gross           DOUBLE NOT NULL,    -- sum_i w[d-1, i] r[d, i]
    fee             DOUBLE NOT NULL,    -- fee rate x turnover of the trades at the close of d
    spread          DOUBLE NOT NULL,    -- sum_i half spread x |trade_i|
    funding         DOUBLE NOT NULL,    -- sum_i w[d-1, i] x funding settled during d (positive: paid)
    net             DOUBLE NOT NULL,    -- gross - fee - spread - funding
    turnover        DOUBLE NOT NULL,    -- sum_i |target_i - drifted_i| at the close of d (0 without a trade)
    long_exposure   DOUBLE NOT NULL,    -- sum of long weights after the close of d
    short_exposure  DOUBLE NOT NULL,    -- sum of short weights (negative)
    n_long          INTEGER NOT NULL,
    n_short         INTEGER NOT NULL,
    n_delisted      INTEGER NOT NULL,   -- positions closed today because their coin stopped trading for good
    rebalanced      BOOLEAN NOT NULL,   -- a decision executed at the close of d
    cost_model      VARCHAR NOT NULL,   -- the cost model in words (venue, side, fee, spread, funding, lag)
    venue           VARCHAR NOT NULL,   -- strategies/costs.py VENUES
    side            VARCHAR NOT NULL,   -- taker | maker
    fee_bps         DOUBLE NOT NULL,    -- fee per unit traded, basis points
    spread_model    VARCHAR NOT NULL,   -- corwin_schultz | abdi_ranaldo | constant | none
    spread_bps      DOUBLE NOT NULL,    -- full spread of the constant model / the estimates' fallback
    funding_charged BOOLEAN NOT NULL,   -- funding charged (perpetual venue and funding on)
    lag_days        INTEGER NOT NULL,   -- trades at the close of signal day + lag_days
    delisting_return DOUBLE NOT NULL    -- earned the day after a coin's data end for good (0: out at the last price)
);
