"""Robust standard errors of the rolling betas (White HC0, HC1, HC3, Newey-West HAC) against per-window
statsmodels OLS, their storage in rolling_betas and their use by the regime-shift z-test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.regression.rolling import RollingOLS

from cryptofactor_assets.estimators.rolling_ols import rolling_ols
from cryptofactor_assets.factors import research
from cryptofactor_assets.factors.compute_daily import ROLLING_SE_TYPE, compute_rolling_betas
from cryptofactor_assets_tests.factors.test_factors_rolling_ols import _panel

HAC = "hac"


def _fit_kwargs(se_type: str, lags: int | None) -> dict:
    if se_type != HAC:
        return {"cov_type": {"white": "HC0", "hc1": "HC1", "hc3": "HC3"}[se_type]}
    return {"cov_type": "HAC", "cov_kwds": {"maxlags": lags, "use_correction": False}}


def _window(y_i, x, t, window, drop: bool, const: bool = True):
    """The design and response of the window ending at row t: unusable rows dropped, or kept as
    rows of zeros (a zero score: what our HAC pairs by calendar lag)."""
    rows = np.arange(max(0, t - window + 1), t + 1)
    fx = np.isfinite(x[rows]).all(axis=1)
    use = np.isfinite(y_i[rows]) & fx
    xr = np.where(fx[:, None], x[rows], 0.0)
    z = np.column_stack([np.ones(len(rows)), xr]) if const else xr
    if drop:
        return y_i[rows][use], z[use]
    return np.where(use, y_i[rows], 0.0), z * use[:, None]


def _compare(res, y, x, window, se_type, lags, drop, const=True, cells=None) -> int:
    """Per-window statsmodels OLS standard errors vs ours at every estimated (row, coin)."""
    compared = 0
    for i in range(y.shape[1]):
        for t in range(y.shape[0]):
            if not np.isfinite(res.params[t, i]).all() or (cells is not None and (t, i) not in cells):
                continue
            yy, z = _window(y[:, i], x, t, window, drop, const)
            sm_res = sm.OLS(yy, z).fit(**_fit_kwargs(se_type, lags))
            np.testing.assert_allclose(res.params[t, i], sm_res.params, rtol=0, atol=1e-10)
            np.testing.assert_allclose(res.bse[t, i], sm_res.bse, rtol=1e-9, atol=1e-12)
            compared += 1
    return compared


@pytest.mark.parametrize("se_type,lags", [("white", None), ("hc3", None), (HAC, 1), (HAC, 3), (HAC, 7)])
@pytest.mark.parametrize("window,min_obs", [(90, 60), (30, 12)])
def test_equal_per_window_statsmodels_with_gaps(se_type, lags, window, min_obs):
    """Random gaps, a late listing, a delisting, an outage and missing factor rows: every estimated
    window equals statsmodels OLS(cov_type="HC0" | "HC3" | "HAC", use_correction=False) on the
    window with its unusable rows set to zero (calendar lags; a zero row has no leverage)."""
    y, x = _panel()
    res = rolling_ols(y, x, window=window, min_obs=min_obs, se_type=se_type, hac_lags=lags)
    assert res.se_type == se_type and res.hac_lags == lags
    assert _compare(res, y, x, window, se_type, lags, drop=False) > 800


def test_white_equals_statsmodels_rolling_hc0_and_the_dropped_rows():
    """White errors have no lags: the dropped-row fit and statsmodels' own RollingOLS HC0 agree."""
    y, x = _panel(1)
    res = rolling_ols(y, x, window=60, min_obs=40, se_type="white")
    for i in (0, 1, 2, 3, 5):
        sm_res = RollingOLS(y[:, i], sm.add_constant(x), window=60, min_nobs=40, missing="drop",
                            expanding=True).fit(cov_type="HC0")
        bse = np.asarray(sm_res.bse)
        est = np.isfinite(bse).all(axis=1)
        np.testing.assert_array_equal(est, np.isfinite(res.bse[:, i]).all(axis=1))
        np.testing.assert_allclose(res.bse[est, i], bse[est], rtol=1e-9, atol=1e-12)
    assert _compare(res, y, x, 60, "white", None, drop=True, cells={(t, 0) for t in range(0, 360, 7)}) > 30


def _listing_panel(seed: int = 2, t: int = 260, n: int = 5):
    """Gaps only before a listing and after a delisting: every window is a run of consecutive rows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.001, 0.03, size=(t, 3))
    vol = 0.02 + 2 * np.abs(x[:, :1])  # heteroskedastic in the market factor
    e = rng.normal(size=(t, n))
    e[1:] += 0.4 * e[:-1]  # serially correlated
    y = x @ rng.normal(1, 0.5, size=(3, n)) + vol * e
    y[:70, 1] = np.nan
    y[200:, 2] = np.nan
    return y, x


@pytest.mark.parametrize("se_type,lags", [("white", None), ("hc1", None), ("hc3", None), (HAC, 4)])
def test_without_inner_gaps_equal_statsmodels_on_dropped_rows(se_type, lags):
    """Without gaps inside a window both gap conventions are the same, and HC1's n / (n - P) uses
    the window's own n."""
    y, x = _listing_panel()
    res = rolling_ols(y, x, window=50, min_obs=30, se_type=se_type, hac_lags=lags)
    assert _compare(res, y, x, 50, se_type, lags, drop=True) > 700


def test_hac_pairs_rows_by_calendar_lag_not_by_usable_row():
    """Inside a window with a gap, lag j pairs rows j calendar rows apart (zero score on the gap),
    not the j-th usable rows before: it equals statsmodels on the zero-filled window and differs
    from statsmodels on the dropped rows."""
    y, x = _listing_panel(3, n=3)
    y[120:123, 0] = np.nan
    res = rolling_ols(y, x, window=40, min_obs=30, se_type=HAC, hac_lags=3)
    t = 140
    zero = sm.OLS(*_window(y[:, 0], x, t, 40, drop=False)).fit(**_fit_kwargs(HAC, 3))
    dropped = sm.OLS(*_window(y[:, 0], x, t, 40, drop=True)).fit(**_fit_kwargs(HAC, 3))
    np.testing.assert_allclose(res.bse[t, 0], zero.bse, rtol=1e-10)
    np.testing.assert_allclose(res.params[t, 0], dropped.params, rtol=0, atol=1e-12)
    assert np.max(np.abs(res.bse[t, 0] / dropped.bse - 1)) > 1e-4


def test_no_constant_and_other_numbers_of_factors():
    y, x = _panel(4)
    res = rolling_ols(y, x, window=60, min_obs=40, add_constant=False, se_type=HAC, hac_lags=2)
    assert _compare(res, y, x, 60, HAC, 2, drop=False, const=False, cells={(t, i) for t in range(359) for i in (0, 3)
                                                                          if t % 5 == 0}) > 50
    for k in (1, 2, 4, 5):
        y, x = _panel(13, t=200, n=5, k=k)
        res = rolling_ols(y, x, window=60, min_obs=45, se_type="hc3")
        assert _compare(res, y, x, 60, "hc3", None, drop=False,
                        cells={(t, i) for t in range(200) for i in (0, 1) if t % 4 == 0}) > 30


def test_stable_with_large_means_and_long_history():
    """Regressors with a mean 10^4 times their spread, 20,000 rows: the sandwich in centred
    coordinates keeps the intercept's robust se accurate (no cancellation)."""
    rng = np.random.default_rng(6)
    t = 20_000
    x = 100.0 + 0.01 * rng.normal(size=(t, 1))
    y = 5000.0 + 3.0 * x[:, 0] + 0.01 * rng.normal(size=t) * (1 + 50 * np.abs(x[:, 0] - 100))
    for se_type, lags in ((HAC, 2), ("hc3", None)):
        res = rolling_ols(y, x, window=50, min_obs=50, se_type=se_type, hac_lags=lags)
        for t0 in (49, 7_777, t - 1):
            z = np.column_stack([np.ones(50), x[t0 - 49 : t0 + 1, 0]])
            sm_res = sm.OLS(y[t0 - 49 : t0 + 1], z).fit(**_fit_kwargs(se_type, lags))
            np.testing.assert_allclose(res.bse[t0, 0], sm_res.bse, rtol=1e-7)


def test_chunking_threads_and_no_look_ahead():
    y, x = _panel(9, n=13)
    kw = {"window": 45, "min_obs": 30, "se_type": HAC, "hac_lags": 3}
    hc3 = [rolling_ols(y, x, window=45, min_obs=30, se_type="hc3", chunk_size=cs, n_threads=nt).bse
           for cs, nt in ((13, 1), (2, 3))]
    np.testing.assert_allclose(hc3[0], hc3[1], rtol=1e-13, atol=0)
    a = rolling_ols(y, x, chunk_size=13, n_threads=1, **kw)
    b = rolling_ols(y, x, chunk_size=2, n_threads=3, **kw)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-13, atol=0)
    np.testing.assert_array_equal(np.isnan(a.bse), np.isnan(b.bse))
    # no look-ahead: scrambling rows after t0 leaves every standard error up to t0 unchanged
    t0 = 222
    y2, x2 = y.copy(), x.copy()
    rng = np.random.default_rng(8)
    y2[t0 + 1 :] = rng.normal(size=y2[t0 + 1 :].shape) * 10
    x2[t0 + 1 :] = rng.normal(size=x2[t0 + 1 :].shape) * 10
    c = rolling_ols(y2, x2, chunk_size=13, n_threads=1, **kw)
    np.testing.assert_array_equal(a.bse[: t0 + 1], c.bse[: t0 + 1])
    assert not np.allclose(a.bse[t0 + 45 :], c.bse[t0 + 45 :], equal_nan=True)
    # the estimates themselves do not depend on the type of standard errors
    np.testing.assert_array_equal(a.params, rolling_ols(y, x, window=45, min_obs=30).params)


def test_validation_and_default_lags():
    y, x = _panel(10, t=120, n=5)
    with pytest.raises(ValueError, match="se_type"):
        rolling_ols(y, x, window=30, se_type="hc2")
    with pytest.raises(ValueError, match="below the window"):
        rolling_ols(y, x, window=30, se_type=HAC, hac_lags=30)
    assert rolling_ols(y, x, window=90, se_type=HAC).hac_lags == 3  # floor(4 (90/100)^(2/9))
    assert rolling_ols(y, x, window=90, se_type=HAC, hac_lags="t14").hac_lags == 3
    assert rolling_ols(y, x, window=30, se_type="white").hac_lags is None
    assert rolling_ols(y, x, window=30, se_type="white", compute_bse=False).bse is None


def test_white_errors_cover_where_classical_ones_do_not():
    """Heteroskedasticity that grows with the market factor: in non-overlapping windows the
    classical 95 % interval of the beta covers the true beta too rarely, White's (HC0, HC3) about
    95 %."""
    rng = np.random.default_rng(12)
    t, n, w = 3600, 40, 90
    x = rng.normal(size=(t, 1)) * 0.03
    y = 1.2 * x + rng.normal(size=(t, n)) * (0.005 + np.abs(x))
    ends = np.arange(w - 1, t, w)
    cover = {}
    for se_type in ("classical", "white", "hc3"):
        res = rolling_ols(y, x, window=w, min_obs=w, se_type=se_type)
        z = (res.betas[ends, :, 0] - 1.2) / res.bse[ends, :, 1]
        cover[se_type] = np.mean(np.abs(z) < 1.99)
    assert cover["classical"] < 0.85  # 0.77
    assert 0.91 <= cover["white"] <= 0.96  # 0.934 (HC0 is a little liberal in 90-row windows)
    assert cover["white"] < cover["hc3"] <= 0.97  # HC3 corrects most of that


# --------------------------------------------------------------------------------------------
# the rolling_betas table function and the regime-shift z-test
# --------------------------------------------------------------------------------------------
def _frames(seed: int = 0, days: int = 200, coins: int = 3):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    f = pd.DataFrame({"date": dates, "mkt": rng.normal(0, 0.03, days), "size": rng.normal(0, 0.02, days),
                      "mom": rng.normal(0, 0.02, days), "rf": 0.0001})
    rows = []
    for c in range(coins):
        ret = 1.1 * f["mkt"] + 0.3 * f["size"] + rng.normal(0, 0.02, days) * (1 + 20 * np.abs(f["mkt"]))
        rows.append(pd.DataFrame({"symbol": f"C{c}", "date": dates, "ret": ret}))
    daily = pd.concat(rows, ignore_index=True)
    daily = daily.drop(index=rng.choice(len(daily), 20, replace=False)).reset_index(drop=True)
    return daily, f


@pytest.mark.parametrize("se_type,lags", [("classical", None), ("white", 0), ("hc3", 0), (HAC, 3)])
def test_compute_rolling_betas_stores_the_type_and_the_lags(se_type, lags):
    daily, f = _frames()
    start, end = pd.Timestamp("2024-04-01"), pd.Timestamp("2024-05-01")
    out = compute_rolling_betas(daily, f, start, end, 60, 40, se_type, "4t100")
    assert len(out) and set(out["se_type"]) == {se_type}
    assert out["se_lags"].isna().all() if lags is None else (out["se_lags"] == lags).all()
    # the stored errors are rolling_ols' of that type on the same panel
    days = pd.date_range(start - pd.Timedelta(days=59), end - pd.Timedelta(days=1))
    ret = daily.pivot(index="date", columns="symbol", values="ret").reindex(days)
    ff = f.set_index("date").reindex(days)
    res = rolling_ols(ret.to_numpy() - ff[["rf"]].to_numpy(), ff[["mkt", "size", "mom"]].to_numpy(), 60, 40,
                      se_type=se_type, hac_lags=lags if se_type == HAC else None)
    row = out.iloc[-1]
    t, i = days.get_loc(row["date"]), list(ret.columns).index(row["symbol"])
    np.testing.assert_allclose([row["alpha_se"], row["beta_mkt_se"], row["beta_size_se"], row["beta_mom_se"]],
                               res.bse[t, i], rtol=1e-12)
    with pytest.raises(ValueError, match="se_type"):
        compute_rolling_betas(daily, f, start, end, 60, 40, "hc2")


def test_default_standard_errors_are_robust():
    assert ROLLING_SE_TYPE == "hc3"


def test_regime_z_uses_the_stored_standard_errors_and_reports_their_type():
    """Same betas, two sets of stored errors: z (and the shifts) follow the stored se; the output
    names the type (rows stored before the column existed count as classical)."""
    days = pd.date_range("2024-01-01", periods=300, freq="D")
    beta = np.where(np.arange(300) < 150, 1.0, 1.6)
    base = pd.DataFrame({"symbol": "A", "date": days, "beta_mkt": beta, "r2": 0.5})
    small = research.regime_signals(base.assign(beta_mkt_se=0.1, se_type="classical"), horizon=90)
    large = research.regime_signals(base.assign(beta_mkt_se=0.2, se_type="white"), horizon=90)
    assert small["max_abs_z"].iloc[0] == pytest.approx(0.6 / np.sqrt(2 * 0.01))
    assert large["max_abs_z"].iloc[0] == pytest.approx(0.6 / np.sqrt(2 * 0.04))
    assert small["n_shifts"].iloc[0] == 1 and large["n_shifts"].iloc[0] == 0  # |z| 4.2 and 2.1 vs 3
    assert (small["se_type"].iloc[0], large["se_type"].iloc[0]) == ("classical", "white")
    assert research.regime_signals(base.assign(beta_mkt_se=0.1), horizon=90)["se_type"].iloc[0] == "classical"
    mixed = base.assign(beta_mkt_se=0.1, se_type=np.where(np.arange(300) < 100, None, "white"))
    assert research.regime_signals(mixed, horizon=90)["se_type"].iloc[0] == "classical,white"
