"""Issue 16's cases on the real CoinGecko files (45 coins; skipped when ../shared is absent): the
7-complete-days rule drops the market's biggest coins, LTW's last available price keeps them.

* 2015 LTW week 4 (Jan 22-28): 2015-01-28 is missing for BTC, LTC, DOGE and XLM, so under the complete-week
  rule only XRP is held in weeks 4 to 6 and CMKT of week 4 is XRP's -10.3 %; with the last available
  price (Jan 27) all five coins are held and CMKT is +12.3 %.
* 2017 LTW week 14 (Apr 2-8): CoinGecko has no market cap on Apr 2 for BTC, ETH, LTC and DOGE, so the
  complete-week rule leaves 2 eligible coins in formation week 14 and CMKT of week 15 is -4.6 %; with
  eligibility on the last available day 6 coins are held and CMKT is +1.4 %.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.estimators.ltw_calendar import RETURN_RULES, aggregate_weekly
from cryptofactor_assets.factors.characteristics import weekly_characteristics
from cryptofactor_assets.factors.construction import factor_returns
from cryptofactor_assets_tests.factors.test_factors_construction import REAL, _coingecko_daily

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def by_rule():
    if not REAL.is_dir():
        pytest.skip("real data folder absent")
    daily = _coingecko_daily()
    out = {}
    for rule in RETURN_RULES:
        weekly = aggregate_weekly(daily, "ltw", return_rule=rule)
        chars = weekly_characteristics(weekly, calendar="ltw", vol_column="avg_dollar_volume")
        # the "before": the complete-week rule with a coin lacking a return dropped from the average
        # (delisting_return=None); the default keeps it at its last price (delisting_return 0)
        dropped = None if rule == "complete_week" else 0.0
        out[rule] = (weekly.set_index(["symbol", "week_start"]),
                     factor_returns(chars, calendar="ltw", delisting_return=dropped).set_index("period"))
    return out


WEEK4_2015, WEEK5_2015, WEEK6_2015 = (pd.Timestamp(d) for d in ("2015-01-22", "2015-01-29", "2015-02-05"))
WEEK14_2017, WEEK15_2017 = pd.Timestamp("2017-04-02"), pd.Timestamp("2017-04-09")


def test_2015_week_4_btc_stays_in_cmkt_with_the_last_available_price(by_rule):
    weekly, fac = by_rule["last_price"]
    old_weekly, old_fac = by_rule["complete_week"]
    # BTC: 6 days in week 4 (Jan 28 missing); the week's return runs from Jan 21 to Jan 27
    btc = weekly.loc[("btc", WEEK4_2015)]
    assert btc["n_days"] == 6 and btc["last_date"] == pd.Timestamp("2015-01-27") and btc["in_universe"]
    assert btc["ret"] == pytest.approx(btc["close"] / weekly.loc[("btc", pd.Timestamp("2015-01-15")), "close"] - 1)
    assert np.isnan(old_weekly.loc[("btc", WEEK4_2015), "ret"]) and not old_weekly.loc[("btc", WEEK4_2015), "in_universe"]
    # CMKT of week 4: +12.3 % with the five coins, -10.3 % (XRP alone) under the complete-week rule
    assert fac.loc[WEEK4_2015, "cmkt"] == pytest.approx(0.1226, abs=5e-4) and fac.loc[WEEK4_2015, "n_coins"] == 5
    assert old_fac.loc[WEEK4_2015, "cmkt"] == pytest.approx(-0.1030, abs=5e-4)
    assert old_fac.loc[WEEK4_2015, "cmkt"] == pytest.approx(old_weekly.loc[("xrp", WEEK4_2015), "ret"], rel=1e-12)
    # the complete-week rule holds one coin for three weeks running; LTW's rule all five
    for week in (WEEK4_2015, WEEK5_2015, WEEK6_2015):
        assert old_fac.loc[week, "n_coins"] == 1 and fac.loc[week, "n_coins"] == 5
    assert fac.loc[WEEK4_2015, "cmkt"] - old_fac.loc[WEEK4_2015, "cmkt"] > 0.2


def test_2017_week_15_a_missing_first_day_cap_no_longer_removes_four_coins(by_rule):
    weekly, fac = by_rule["last_price"]
    old_weekly, old_fac = by_rule["complete_week"]
    eligible = weekly.xs(WEEK14_2017, level="week_start")["in_universe"]
    old_eligible = old_weekly.xs(WEEK14_2017, level="week_start")["in_universe"]
    assert eligible.sum() == 6 and old_eligible.sum() == 2
    for sym in ("btc", "eth", "ltc", "doge"):
        assert eligible[sym] and not old_eligible[sym], sym
    assert fac.loc[WEEK15_2017, "cmkt"] == pytest.approx(0.0142, abs=5e-4) and fac.loc[WEEK15_2017, "n_coins"] == 6
    assert old_fac.loc[WEEK15_2017, "cmkt"] == pytest.approx(-0.0462, abs=5e-4)
    assert old_fac.loc[WEEK15_2017, "n_coins"] == 2
    # the fewest eligible coins of a 2017 week: 2 under the complete-week rule, 6 under LTW's
    count = lambda w: w.loc[w["in_universe"]].groupby(level="week_start").size()  # noqa: E731
    assert count(old_weekly).loc["2017"].min() == 2 and count(weekly).loc["2017"].min() == 6


def test_the_rules_agree_on_complete_weeks_and_ltw_adds_weeks(by_rule):
    weekly, fac = by_rule["last_price"]
    old_weekly, old_fac = by_rule["complete_week"]
    both = old_weekly["ret"].notna()
    np.testing.assert_allclose(weekly.loc[both[both].index, "ret"], old_weekly.loc[both, "ret"], rtol=1e-10)
    assert weekly["ret"].notna().sum() > both.sum() and weekly["in_universe"].sum() > old_weekly["in_universe"].sum()
    span = slice("2014-01-01", "2020-07-31")
    assert fac.loc[span, "cmkt"].notna().all() and fac.loc[span, "n_coins"].min() >= 3
