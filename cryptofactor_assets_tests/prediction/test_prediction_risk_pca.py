"""Factor risk model (exact reproduction statements) and PCA factors (sklearn oracle, missing coins)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.decomposition import PCA

from cryptofactor_assets.prediction.pca import factor_correlations, pairwise_covariance, pca_factors
from cryptofactor_assets.prediction.risk_model import (
    check_reproduction,
    factor_risk_model,
    fit_time_series,
    parameter_count,
    trailing_factor_cov,
)


def market(T=260, N=25, K=3, seed=0, noise=0.05):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((T, K)) * np.array([0.1, 0.06, 0.05])[:K] + 0.01
    B = rng.normal([1.0, 0.3, 0.0][:K], 0.4, size=(N, K))
    E = noise * rng.standard_normal((T, N)) * rng.uniform(0.5, 2, N)
    return F, B, F @ B.T + E


def test_parameter_count():
    assert parameter_count(100, 3) == (100 * 3 + 6 + 100, 5050)
    m = factor_risk_model(np.ones((4, 2)), np.eye(2), np.ones(4))
    assert (m.n_params_factor, m.n_params_full) == (8 + 3 + 4, 10)


def test_factor_risk_model_hand_case():
    B = np.array([[1.0, 0.5], [0.2, -1.0]])
    Om = np.array([[0.04, 0.01], [0.01, 0.09]])
    d = np.array([0.02, 0.03])
    m = factor_risk_model(B, Om, d, symbols=["A", "B"], factors=["cmkt", "csmb"])
    sysA = 1 * 1 * 0.04 + 2 * 1 * 0.5 * 0.01 + 0.25 * 0.09
    assert m.systematic_var[0] == pytest.approx(sysA, abs=1e-15)
    assert m.covariance[0, 1] == pytest.approx(1 * 0.2 * 0.04 + (1 * -1 + 0.5 * 0.2) * 0.01 + 0.5 * -1 * 0.09)
    assert m.explained_ratio[0] == pytest.approx(sysA / (sysA + 0.02))
    assert list(m.table().columns[:3]) == ["symbol", "beta_cmkt", "beta_csmb"]
    with pytest.raises(ValueError, match="shapes"):
        factor_risk_model(B, Om, np.ones(3))


def test_fit_time_series_equals_statsmodels():
    F, _, R = market()
    fit = fit_time_series(R, F)
    for i in [0, 7, 24]:
        res = sm.OLS(R[:, i], sm.add_constant(F)).fit()
        np.testing.assert_allclose(fit.betas[i], res.params[1:], atol=1e-12)
        np.testing.assert_allclose(fit.alpha[i], res.params[0], atol=1e-12)
        np.testing.assert_allclose(fit.resid_var[i], res.ssr / (len(F) - 1), rtol=1e-12)


@pytest.mark.parametrize("ddof", [0, 1])
def test_decomposition_reproduces_diagonal_exactly_and_offdiagonal_up_to_residual_cov(ddof):
    F, _, R = market(seed=1)
    chk = check_reproduction(R, F, ddof=ddof)
    assert chk.ok
    assert chk.max_abs_diag_error < 1e-14 and chk.max_abs_offdiag_identity_error < 1e-14
    assert chk.max_abs_resid_cov > 1e-5  # the model does leave the residual cross-covariance out
    # independent recomputation with numpy only
    S = np.cov(R, rowvar=False, ddof=ddof)
    fit = fit_time_series(R, F, ddof)
    Sig = fit.betas @ np.cov(F, rowvar=False, ddof=ddof) @ fit.betas.T + np.diag(fit.resid_var)
    np.testing.assert_allclose(np.diag(Sig), np.diag(S), rtol=1e-12)
    SE = np.cov(fit.residuals, rowvar=False, ddof=ddof)
    np.testing.assert_allclose(S - Sig, SE - np.diag(np.diag(SE)), atol=1e-14)


def test_reproduction_fails_with_a_wrong_ddof_for_d():
    """The exactness needs the same ddof in D as in the covariances: the check must be able to fail."""
    F, _, R = market(seed=2)
    fit = fit_time_series(R, F, ddof=1)
    m = factor_risk_model(fit.betas, fit.factor_cov, fit.residuals.var(axis=0, ddof=4))
    assert np.max(np.abs(np.diag(m.covariance) - np.diag(np.cov(R, rowvar=False)))) > 1e-6


def test_trailing_factor_cov_uses_past_only():
    F, _, _ = market(T=60)
    df = pd.DataFrame(F, columns=["cmkt", "csmb", "cmom"])
    df["week_start"] = pd.date_range("2022-01-03", periods=60, freq="7D")
    asof = df["week_start"].iloc[39]
    np.testing.assert_allclose(trailing_factor_cov(df, asof, window=20), np.cov(F[20:40], rowvar=False))
    bad = df.copy()
    bad.loc[40:, ["cmkt", "csmb", "cmom"]] *= 100
    np.testing.assert_array_equal(trailing_factor_cov(df, asof), trailing_factor_cov(bad, asof))


# ------------------------------------------------------------------ PCA


def wide_panel(T=200, N=30, seed=3, missing=0.0):
    F, B, R = market(T=T, N=N, seed=seed, noise=0.015)
    rng = np.random.default_rng(seed + 10)
    R = R.copy()
    if missing:
        R[rng.random(R.shape) < missing] = np.nan
        R[: T // 3, :5] = np.nan  # five coins list late
    idx = pd.date_range("2020-01-06", periods=T, freq="7D")
    return pd.DataFrame(R, index=idx, columns=[f"C{i:02d}" for i in range(N)]), F, B, idx


@pytest.mark.parametrize("method", ["em", "pairwise"])
def test_pca_equals_sklearn_on_complete_panel(method):
    wide, *_ = wide_panel()
    res = pca_factors(wide, 3, method=method)
    sk = PCA(3).fit(wide.to_numpy())
    np.testing.assert_allclose(res.eigenvalues, sk.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(res.explained_ratio, sk.explained_variance_ratio_, rtol=1e-10)
    signs = np.sign(np.sum(sk.components_.T * res.loadings.to_numpy(), axis=0))
    np.testing.assert_allclose(res.loadings.to_numpy(), sk.components_.T * signs, atol=1e-10)
    np.testing.assert_allclose(res.factors.to_numpy(), sk.transform(wide.to_numpy()) * signs, atol=1e-10)
    assert res.n_iter == 0 and res.converged


def test_pairwise_covariance_equals_pandas():
    wide, *_ = wide_panel(missing=0.2)
    np.testing.assert_allclose(pairwise_covariance(wide.to_numpy()), wide.cov().to_numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("method", ["em", "pairwise"])
def test_pca_with_missing_coins_recovers_factor_space(method):
    wide, F, B, idx = wide_panel(missing=0.15)
    res = pca_factors(wide, 3, method=method)
    assert res.converged
    # principal angles between the estimated loading space and the true B space are small
    Q1, _ = np.linalg.qr(res.loadings.to_numpy())
    Q2, _ = np.linalg.qr(B)
    cosines = np.linalg.svd(Q1.T @ Q2, compute_uv=False)
    assert cosines.min() > (0.97 if method == "em" else 0.95)  # pairwise is noisier
    # the true factors are spanned by the PCA factor series (R^2 of each true factor on PCs)
    Fh = res.factors.to_numpy()
    X = np.column_stack([np.ones(len(Fh)), Fh])
    for j in range(3):
        coef, *_ = np.linalg.lstsq(X, F[:, j], rcond=None)
        r2 = 1 - np.sum((F[:, j] - X @ coef) ** 2) / np.sum((F[:, j] - F[:, j].mean()) ** 2)
        assert r2 > (0.955 if method == "em" else 0.93)
    # observed cells are never altered by the EM imputation: scores use only observed returns
    assert np.isfinite(Fh).all()


def test_factor_correlations_table():
    wide, F, _, idx = wide_panel()
    res = pca_factors(wide, 2)
    given = pd.DataFrame(F, index=idx, columns=["cmkt", "csmb", "cmom"])
    tab = factor_correlations(res, given)
    assert list(tab.index) == ["pc1", "pc2"] and tab["n_periods"].iloc[0] == len(idx)
    np.testing.assert_allclose(tab.loc["pc1", "cmkt"], np.corrcoef(res.factors["pc1"], F[:, 0])[0, 1])
    assert abs(tab.loc["pc1", "cmkt"]) > 0.8
