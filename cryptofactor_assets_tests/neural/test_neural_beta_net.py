"""The one-loss conditional-beta network (beta_net): gradients against finite differences, the K = 1
case, the ensemble, early stopping, the inputs, and recovery of learnable planted betas."""

from __future__ import annotations

import numpy as np
import pytest

from cryptofactor_assets.neural.baseline import rolling_ols_betas
from cryptofactor_assets.neural.beta_net import (
    ACTIVATIONS,
    INPUT_BLOCKS,
    NetConfig,
    _init,
    beta_features,
    fit_beta_net,
    loss_and_grads,
    model_factors,
    parse_inputs,
    pooled_slope,
)
from cryptofactor_assets.neural.cross_asset import DEFAULT_SEED, SIM_COINS
from cryptofactor_assets.neural.neural_beta import implied_univariate_betas, walk_forward_neural_betas
from cryptofactor_assets.neural.simulation import MARKETS, simulate_cross_asset, stress_weight


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("k", [1, 3])
def test_gradients_equal_central_finite_differences(activation, k):
    rng = np.random.default_rng(0)
    n, d = 40, 5
    x, r, f = rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=(n, k))
    cfg = NetConfig(hidden=4, activation=activation, n_seeds=2, l2=0.05)
    net = _init(d, k, cfg, rng.normal(size=k), np.zeros(d), np.ones(d))
    net.w2 += rng.normal(scale=0.5, size=net.w2.shape)  # away from the small start
    if activation == "relu":  # keep every unit away from the kink, where the derivative jumps
        z = np.matmul(x, net.w1) + net.b1[:, None, :]
        assert np.abs(z).min() > 1e-4
    loss, grads = loss_and_grads(net, x, r, f, cfg.l2)
    eps = 1e-6
    for p, g in zip(net.params(), grads, strict=True):
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for j in range(0, flat.size, max(1, flat.size // 7)):
            old = flat[j]
            flat[j] = old + eps
            up = loss_and_grads(net, x, r, f, cfg.l2)[0].sum()
            flat[j] = old - eps
            down = loss_and_grads(net, x, r, f, cfg.l2)[0].sum()
            flat[j] = old
            assert gflat[j] == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-8)


def test_identity_network_fits_a_linear_varying_coefficient_model():
    # beta = 1 + 0.5 x: a linear network (identity activation) recovers it by least squares.
    rng = np.random.default_rng(1)
    n = 4000
    x = rng.normal(size=(n, 1))
    f = rng.normal(size=(n, 1))
    r = (1.0 + 0.5 * x[:, 0]) * f[:, 0] + 0.1 * rng.normal(size=n)
    net, train, _ = fit_beta_net(x, r, f, NetConfig(hidden=2, activation="identity", l2=0.0, epochs=1500,
                                                    learning_rate=0.02, n_seeds=2, val_fraction=0.0))
    g, spread = net.betas(np.array([[-1.0], [0.0], [2.0]]))
    np.testing.assert_allclose(g[:, 0], [0.5, 1.0, 2.0], atol=0.02)
    assert train[-1] < 0.012 and spread.max() < 0.02


def test_early_stopping_keeps_each_members_best_validation_epoch():
    rng = np.random.default_rng(2)
    n = 300
    x, f = rng.normal(size=(n, 6)), rng.normal(size=(n, 1))
    r = 0.5 * f[:, 0] + rng.normal(size=n)  # pure noise around a constant beta: a big net over-fits
    val = np.arange(n) >= 240
    cfg = NetConfig(hidden=16, l2=0.0, learning_rate=0.05, epochs=200, n_seeds=3)
    net, train, val_mse = fit_beta_net(x, r, f, cfg, val=val)
    assert train[-1] < train[0]
    g, _ = net.betas(x[val])
    pred = (g * f[val]).sum(axis=1) + net.c.mean()
    # The kept weights score (at most) the best epoch's ensemble error, not the last epoch's.
    assert np.mean((r[val] - pred) ** 2) <= val_mse[-1] + 1e-12


def test_fit_is_deterministic_and_seeds_differ():
    rng = np.random.default_rng(3)
    x, f = rng.normal(size=(200, 3)), rng.normal(size=(200, 2))
    r = f.sum(axis=1) + rng.normal(size=200)
    a = fit_beta_net(x, r, f, NetConfig(epochs=50))[0].betas(x)[0]
    b = fit_beta_net(x, r, f, NetConfig(epochs=50))[0].betas(x)[0]
    c = fit_beta_net(x, r, f, NetConfig(epochs=50, random_state=7))[0].betas(x)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_features_use_the_window_only_and_blocks_stack():
    rng = np.random.default_rng(4)
    r, f, ff = rng.normal(size=(40, 3)), rng.normal(size=(40, 4)), rng.normal(size=(40, 5))
    full = beta_features(r, f, 12, "+".join(INPUT_BLOCKS), ff)
    r2, f2 = r.copy(), f.copy()
    r2[30:], f2[30:] = 99.0, -99.0
    cut = beta_features(r2, f2, 12, "+".join(INPUT_BLOCKS), ff)
    np.testing.assert_array_equal(full[:30], cut[:30])  # row t reads months <= t only
    assert np.isnan(full[:11]).all() and np.isfinite(full[11:]).all()
    widths = {b: beta_features(r, f, 12, b, ff).shape[2] for b in INPUT_BLOCKS}
    assert widths == {"moments": 36, "state": 5, "market_state": 14, "anchor": 4, "ff5": 10, "lags": 60}
    assert full.shape[2] == sum(widths.values())
    with pytest.raises(ValueError, match="blocks"):
        parse_inputs("moments+bogus")


def test_stress_weight_is_the_documented_state():
    f = np.zeros((6, 4))
    f[:] = [0.0, 0.007, 0.003, 0.002]  # the means: calm
    f[3] += 3 * np.array([0.02, 0.045, 0.04, 0.09])  # one 3-sigma month in every market
    w = stress_weight(f)
    assert w[0] == pytest.approx(1 / (1 + np.exp(0.5 / 0.15)))  # no history: read as calm, s = 1
    assert w[3] < 1e-3  # month 3's own move is not in its state (s = 0 after exact-mean months)
    s = np.sqrt(9 / 3)  # months 4 .. 6 see it in their 3-month window
    assert w[4] == pytest.approx(1 / (1 + np.exp(-(s - 1.5) / 0.15)))


def test_implied_univariate_betas_are_the_omitted_variable_algebra():
    sim = simulate_cross_asset(n_months=400, seed=5, beta_ar_vol=0.0, p_stay=1.0)
    f = sim.market_returns.to_numpy()
    imp = implied_univariate_betas(sim.betas, f, 300)
    s = np.cov(f[:350].T)
    np.testing.assert_allclose(imp[350, 2], sim.betas[350, 2] @ s / np.diag(s), rtol=1e-12)
    # With the population covariance the algebra gives the simulator's univariate betas exactly.
    pop = sim.betas[350] @ (sim.market_cov / np.diag(sim.market_cov)[None, :])
    np.testing.assert_allclose(pop, sim.univariate_betas[350], rtol=1e-12)


def test_joint_network_recovers_learnable_betas_better_than_rolling_ols():
    # The learnable scenario (betas a logistic function of the markets' trailing volatility), the default
    # draw's first 120 months, 12 coins: the joint network's RMSE to the planted structural betas is below
    # 0.8 x the best rolling OLS (12 or 36 months) over the 72 months from 2019, with a higher correlation.
    sim = simulate_cross_asset(n_months=312, coins=SIM_COINS, seed=DEFAULT_SEED, start="2015-01-01",
                               scenario="learnable")
    cr, mr = sim.coin_returns.iloc[:120], sim.market_returns.iloc[:120]
    truth = sim.betas[48:120]
    nn = walk_forward_neural_betas(cr, mr, joint=True, refit_every=6).betas[48:]

    def score(b):
        return np.sqrt(np.mean((b - truth) ** 2)), np.corrcoef(b.ravel(), truth.ravel())[0, 1]

    ols = [score(rolling_ols_betas(cr, mr, window=w, joint=True).betas[48:120]) for w in (12, 36)]
    best = min(ols)
    ours = score(nn)
    assert ours[0] <= 0.8 * best[0], (ours, ols)
    assert ours[1] > max(o[1] for o in ols)


def test_controls_are_orthogonal_and_keep_the_univariate_slope():
    # Frisch-Waugh-Lovell: with the other markets orthogonalised on the output's market over the training
    # months, the output's least-squares coefficient is the univariate slope, to rounding.
    sim = simulate_cross_asset(n_months=120, seed=3)
    f = sim.market_returns.to_numpy()
    t0 = 80
    fs = (f - f[:t0].mean(axis=0)) / f[:t0].std(axis=0, ddof=1)
    r = sim.coin_returns.to_numpy()[:t0, 0]
    for outputs in ([0], [2], [0, 1]):
        fx = model_factors(fs, t0, outputs)
        assert fx.shape == (120, 4)
        np.testing.assert_allclose(fx[:, : len(outputs)], fs[:, outputs])
        cross = fx[:t0, : len(outputs)].T @ fx[:t0, len(outputs):]
        np.testing.assert_allclose(cross, 0.0, atol=1e-9)
        np.testing.assert_allclose(pooled_slope(r, fx[:t0])[: len(outputs)], pooled_slope(r, fs[:t0, outputs]),
                                   rtol=1e-9, atol=1e-12)
    assert model_factors(fs, t0, [0, 1, 2, 3]).shape == (120, 4)
    assert model_factors(fs, t0, [1], controls=False).shape == (120, 1)


def test_single_market_networks_beat_rolling_ols_on_another_learnable_draw():
    # Seed 1 (not the benchmark's draw), learnable scenario, 12 coins, 120 months: every K = 1 network
    # (with the other markets as orthogonalised controls) has a lower RMSE to the planted univariate betas
    # than the best rolling OLS (12 or 36 months) and a higher correlation with them.
    sim = simulate_cross_asset(n_months=120, coins=SIM_COINS, seed=1, start="2015-01-01", scenario="learnable")
    cr, mr = sim.coin_returns, sim.market_returns
    nn = walk_forward_neural_betas(cr, mr, refit_every=6).betas[48:]
    for k, mk in enumerate(MARKETS):
        truth = sim.univariate_betas[48:, :, k]

        def score(b, truth=truth):
            return np.sqrt(np.mean((b - truth) ** 2)), np.corrcoef(b.ravel(), truth.ravel())[0, 1]

        ols = [score(rolling_ols_betas(cr, mr, markets=[mk], window=w).betas[48:, :, 0]) for w in (12, 36)]
        ours = score(nn[:, :, k])
        assert ours[0] < min(ols)[0], (mk, ours, ols)
        assert ours[1] > max(o[1] for o in ols), (mk, ours, ols)


def test_learnable_and_hidden_scenarios_share_the_market_draws_but_not_the_betas():
    a = simulate_cross_asset(n_months=60, seed=1)
    b = simulate_cross_asset(n_months=60, seed=1, scenario="learnable")
    assert a.markets == b.markets == MARKETS
    calm = b.regimes.to_numpy() == 0
    np.testing.assert_allclose(a.market_returns.to_numpy()[calm], b.market_returns.to_numpy()[calm])
    with pytest.raises(ValueError, match="scenario"):
        simulate_cross_asset(n_months=60, scenario="bogus")


def test_cross_asset_rows_of_the_learnable_scenario_carry_its_truth():
    import datetime as dt

    from cryptofactor_assets.neural.cross_asset import compute_cross_asset, simulation

    rows, truth, source = compute_cross_asset(dt.date(2019, 1, 1), dt.date(2019, 7, 1), DEFAULT_SEED,
                                              scenario="learnable")
    sim = simulation(DEFAULT_SEED, "learnable")
    assert source == "simulated" and len(truth) == 6 * len(SIM_COINS) * 4
    btc = truth[(truth["coin"] == "BTC") & (truth["market"] == "EQUITY")]["beta"].to_numpy()
    np.testing.assert_allclose(btc, sim.betas[48:54, 0, 1])
    hidden = compute_cross_asset(dt.date(2019, 1, 1), dt.date(2019, 7, 1), DEFAULT_SEED)[1]
    assert not np.allclose(hidden["beta"].to_numpy(), truth["beta"].to_numpy())
