"""Rolling time-series OLS of many coins on common factors, vectorised across coins.

For every day ``t`` and coin ``i`` the regression uses the calendar window of ``window`` rows
``s in (t - window, t]`` and, inside it, only the rows where ``y[s, i]`` and every ``x[s, :]`` are
finite (a mask; rows before the first row of the panel count as missing).  The window is never
shrunk or stretched: a window with fewer than ``min_obs`` usable rows gives NaN.  Every output
dated ``t`` depends on rows ``<= t`` only.  This is statsmodels
``RollingOLS(y_i, [1, x], window, min_nobs=min_obs, missing="drop", expanding=True)`` per coin
(``expanding=True`` only so that statsmodels, like us, treats rows before the sample start as
missing instead of refusing the first ``window - 1`` dates).

Algorithm (no per-window Python loop):

1. Shift the data by a causal constant (x by its first finite row, each coin's y by its first
   usable value) - OLS slopes are shift-invariant and the intercept is shifted back at the end -
   so that centred moments below do not lose digits when means are large relative to spreads.
2. For each coin the masked moments ``n, Σx, Σxx', Σy, Σxy, Σy²`` (15 numbers for 3 factors) are
   summed over each window with the van Herk / Gil-Werman block scheme: the series is cut into
   blocks of ``window`` rows; a window sum is the suffix sum of one block plus the prefix sum of
   the next.  Only additions of in-window terms happen, so there is none of the catastrophic
   cancellation of ``cumsum[t] - cumsum[t - window]`` (whose error grows with t).
3. Centred normal equations ``C_xx b = C_xy`` are solved element-wise for all (t, i) at once,
   (closed-form adjugate inverse for K <= 3, batched ``np.linalg.inv``
   otherwise).  Windows whose regressor has (numerically) no variance or whose scaled design has
   ``det(R) = det(C_xx) / prod(diag C_xx) < singular_tol`` (R the correlation matrix:
   collinear regressors) are NaN, never garbage.

Outputs follow statsmodels: ``resid_vol = sqrt(SSR / (n - P))``, R² centred with a constant and
uncentred without, and standard errors of the type asked for (``se_type``):

* ``classical``: ``sqrt(s² (X'X)^-1)`` from the moments above (statsmodels' default);
* ``white``: HC0 ``(X'X)^-1 (Σ e_s² x_s x_s') (X'X)^-1``; ``hc1`` the same times ``n / (n - P)``;
  ``hc3`` MacKinnon & White's (1985) jackknife-type ``e_s² / (1 - h_s)²``, ``h_s = x_s'(X'X)^-1 x_s``
  the row's leverage in its window (the best-sized of the three in small windows with leverage:
  Long & Ervin 2000);
* ``hac``: Newey-West, the meat adds ``Σ_j (1 - j/(L+1)) Σ_s e_s e_{s-j} (x_s x_{s-j}' + x_{s-j} x_s')``
  over the pairs of rows inside the window, ``L`` stored (``hac_lags``).

A window's residuals depend on its own coefficients, so running sums of ``x_s e_s`` do not exist;
expanding ``e_s² = (y_s - x_s'b)²`` into running sums would need the 4th moments of the regressors
(65 windowed sums for 3 factors, ~200 more per HAC lag) and lose digits to cancellation.  Robust
errors instead form each window's residuals exactly and contract them with the per-row products
of the common regressors in batched matmuls (:func:`_robust_bse`): still no per-window Python
loop, equal to statsmodels' per-window ``OLS.fit(cov_type="HC0" | "HAC")`` to ~1e-14.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cryptofactor_assets.estimators.hac import as_columns, bartlett_weights, nw_lag

__all__ = ["SE_TYPES", "RollingOLSResult", "rolling_ols", "windowed_sum"]

#: Standard errors :func:`rolling_ols` computes: classic OLS, White HC0 (``white``), HC1, HC3 and
#: Newey-West (Bartlett kernel, ``hac_lags`` lags).
SE_TYPES = ("classical", "white", "hc1", "hc3", "hac")
#: Cells (window rows x coins x windows) of one batch of exact residuals in :func:`_robust_bse`.
_ROBUST_CELLS = 250_000


@dataclass(frozen=True)
class RollingOLSResult:
    """Rolling OLS results, dated by the last row of each window.

    params: (T, N, P) - alpha first when ``add_constant``, then the K slopes.
    bse: (T, N, P) standard errors of type ``se_type`` (``hac_lags`` lags for ``"hac"``), or None
    if not requested.
    r2, resid_vol: (T, N).  n_obs: (T, N) int, usable rows in each window (also where the
    estimate is NaN because ``n_obs < min_obs`` or the window is singular).
    """

    params: np.ndarray
    bse: np.ndarray | None
    r2: np.ndarray
    resid_vol: np.ndarray
    n_obs: np.ndarray
    window: int
    min_obs: int
    add_constant: bool
    param_names: tuple[str, ...]
    se_type: str = "classical"
    hac_lags: int | None = None

    @property
    def alpha(self) -> np.ndarray:
        if not self.add_constant:
            raise AttributeError("fitted without a constant")
        return self.params[..., 0]

    @property
    def betas(self) -> np.ndarray:
        """(T, N, K) slopes."""
        return self.params[..., 1:] if self.add_constant else self.params


def windowed_sum(a: np.ndarray, window: int, axis: int = 0) -> np.ndarray:
    """Sum over positions ``(t - window, t]`` along ``axis`` for every t (positions before 0 are
    zero); same shape as ``a``.

    van Herk / Gil-Werman: pad ``window - 1`` zeros in front, cut into blocks of ``window``
    positions; the window ending at padded position p = b*window + j is
    prefix[b, j] + suffix[b - 1, j + 1] (suffix of the previous block from j + 1 on).
    Additions of in-window terms only: no cancellation, unlike cumsum[t] - cumsum[t - window].
    """
    a = np.asarray(a, dtype=float)
    a = np.moveaxis(a, axis, 0)
    t = a.shape[0]
    rest = a.shape[1:]
    if window >= t:
        out = np.cumsum(a, axis=0)  # every window starts before position 0: a running sum
        return np.moveaxis(out, 0, axis)
    w = window
    front = w - 1
    nb = -(-(front + t) // w)
    lead = a.reshape(t, -1)
    buf = np.zeros((nb * w, lead.shape[1]))
    buf[front : front + t] = lead
    prefix = buf.reshape(nb, w, -1)
    suffix = prefix.copy()
    # In-place running sums over the w positions of every block at once: a short Python loop of
    # large vector additions, measured 2-4x faster than np.cumsum along a middle axis.
    for j in range(1, w):
        prefix[:, j] += prefix[:, j - 1]
    for j in range(w - 2, -1, -1):
        suffix[:, j] += suffix[:, j + 1]
    if w > 1:
        prefix[1:, : w - 1] += suffix[:-1, 1:]
    out = buf[front : front + t].reshape(t, *rest)
    return np.moveaxis(out, 0, axis)


def _moment_buffer(q_len: int, t: int, c: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(Q, padded T, C) buffer for :func:`_windowed_sum_inplace` and the (Q, T, C) view of it
    that the caller fills with the per-row moments (no extra copy)."""
    if window >= t:
        buf = np.empty((q_len, t, c))
        return buf, buf
    front = window - 1
    nb = -(-(front + t) // window)
    buf = np.empty((q_len, nb * window, c))
    buf[:, :front] = 0.0
    buf[:, front + t :] = 0.0
    return buf, buf[:, front : front + t]


def _windowed_sum_inplace(buf: np.ndarray, t: int, window: int) -> np.ndarray:
    """:func:`windowed_sum` along axis 1 of a buffer from :func:`_moment_buffer`, in place;
    returns the (Q, T, C) view of the window sums."""
    q_len, _, c = buf.shape
    if window >= t:
        for j in range(1, t):  # every window starts before row 0: a running sum
            buf[:, j] += buf[:, j - 1]
        return buf
    w = window
    blocks = buf.reshape(q_len, -1, w, c)
    # Suffix sums (only positions 1..w-1 of each block are ever used), then prefix sums in place:
    # short Python loops of large vector additions, 2-4x faster than np.cumsum on a middle axis.
    suffix = np.empty_like(blocks)
    suffix[:, :, w - 1] = blocks[:, :, w - 1]
    for j in range(w - 2, 0, -1):
        np.add(suffix[:, :, j + 1], blocks[:, :, j], out=suffix[:, :, j])
    for j in range(1, w):
        blocks[:, :, j] += blocks[:, :, j - 1]
    if w > 1:
        blocks[:, 1:, : w - 1] += suffix[:, :-1, 1:]
    return buf[:, w - 1 : w - 1 + t]


def _sym_inverse(r: list[list[np.ndarray]], k: int) -> tuple[list[list[np.ndarray]], np.ndarray]:
    """Element-wise inverse and determinant of symmetric K x K matrices given as nested lists
    of equally shaped arrays (closed forms for K <= 3, batched ``np.linalg.inv`` above)."""
    if k == 1:
        det = r[0][0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return [[1.0 / det]], det
    if k == 2:
        a, b, d = r[0][0], r[0][1], r[1][1]
        det = a * d - b * b
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_det = 1.0 / det
        off = -b * inv_det
        return [[d * inv_det, off], [off, a * inv_det]], det
    if k == 3:
        a, b, c = r[0][0], r[0][1], r[0][2]
        d, e = r[1][1], r[1][2]
        f = r[2][2]
        c00 = d * f - e * e
        c01 = c * e - b * f
        c02 = b * e - c * d
        c11 = a * f - c * c
        c12 = b * c - a * e
        c22 = a * d - b * b
        det = a * c00 + b * c01 + c * c02
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_det = 1.0 / det
        i00, i01, i02 = c00 * inv_det, c01 * inv_det, c02 * inv_det
        i11, i12, i22 = c11 * inv_det, c12 * inv_det, c22 * inv_det
        return [[i00, i01, i02], [i01, i11, i12], [i02, i12, i22]], det
    shape = r[0][0].shape
    m = np.empty((*shape, k, k))
    for i in range(k):
        for j in range(k):
            m[..., i, j] = r[i][j]
    det = np.linalg.det(m)
    ok = np.isfinite(det) & (np.abs(det) > 0)
    inv = np.full_like(m, np.nan)
    if ok.any():
        inv[ok] = np.linalg.inv(m[ok])
    return [[inv[..., i, j] for j in range(k)] for i in range(k)], det


def _windows(a: np.ndarray, window: int) -> np.ndarray:
    """Read-only (R - window + 1, window, X) view of the windows of consecutive rows of ``a`` (R, X)."""
    s0, s1 = a.strides
    return as_strided(a, shape=(a.shape[0] - window + 1, window, a.shape[1]), strides=(s0, s0, s1),
                      writeable=False)


def _design_inverse(aux: dict, k: int, add_constant: bool, pairs: list[tuple[int, int]]) -> np.ndarray:
    """(T, S, C) entries ``pairs`` (a <= b) of the inverse of every window's design ``Z'Z`` in the
    shifted coordinates of :func:`_robust_bse`, off-diagonal ones doubled (so that a leverage
    ``z'(Z'Z)^-1 z`` is their dot product with the S products ``z_a z_b``), 0 where not estimated.
    From the centred inverse: with a constant ``[[1/n + x̄'C⁻¹x̄, -(C⁻¹x̄)'], [-C⁻¹x̄, C⁻¹]]`` (x̄ the
    shifted means), else ``C⁻¹``."""
    cinv = aux["cinv"]
    n = aux["n"]
    good = ~aux["bad"]
    off = int(add_constant)
    t_len, c = n.shape
    out = np.empty((t_len, len(pairs), c))
    with np.errstate(divide="ignore", invalid="ignore"):
        if add_constant:
            xs = aux["xbar_s"]
            u = [sum(cinv[i][j] * xs[j] for j in range(k)) for i in range(k)]
            corner = 1.0 / n + sum(xs[i] * u[i] for i in range(k))
        for q, (a, b) in enumerate(pairs):
            if a < off:  # the constant's row
                val = corner if b == 0 else -u[b - 1]
            else:
                val = cinv[a - off][b - off]
            out[:, q] = np.where(good, val if a == b else 2.0 * val, 0.0)
    return out


def _robust_bse(
    yc: np.ndarray,
    m: np.ndarray,
    zs: np.ndarray,
    aux: dict,
    window: int,
    weights: np.ndarray,
    se_type: str,
    add_constant: bool,
) -> np.ndarray:
    """White-type (``se_type`` white / hc1 / hc3, ``weights = [1]``) or Newey-West (``hac``, Bartlett
    ``weights``) standard errors of one block.

    ``yc`` (T, C) is y in the shifted coordinates with 0 where unusable, ``m`` the (T, C) 0/1 mask,
    ``zs`` (T, P) the shifted design ``[1, x - x_shift]`` (or ``x``), ``aux`` from
    :func:`_solve_block`.  The residuals of a window depend on its own coefficients, so they are
    formed exactly for every window, ``e_s = m_s (y_s - z_s'θ_t)`` over its ``window`` rows (views of
    the data, no copies), and the meat

        S_t = Σ_s e_s² z_s z_s' + Σ_{j=1..L} w_j Σ_s e_s e_{s-j} (z_s z_{s-j}' + z_{s-j} z_s')

    over the pairs of rows inside the window is one batched matmul per lag: the P (P + 1) / 2
    products of the common regressors of every row that the symmetric meat needs (computed once
    per row, not per window) times the (window, C) residual products, in batches of rows that stay
    in cache.  HC3 divides each residual by
    ``1 - h_s``, the leverages of a window's rows being one more such matmul with the window's
    ``(Z'Z)^-1``.  An unusable row has a zero score, so
    lag j pairs rows j calendar rows apart (gaps are not closed up).  The sandwich is formed in
    centred coordinates, ``z_c = [1, x - x̄]``, with the influence of a row on (alpha, beta)
    ``[1/n - v'(x_s - x̄), C⁻¹(x_s - x̄)]``, ``v = C⁻¹ x̄`` (x̄ in original units): no cancellation
    when the regressors' means are large.
    """
    t_len, c = yc.shape
    p = zs.shape[1]
    k = p - int(add_constant)
    w = window
    lags = min(len(weights) - 1, w - 1)
    pad = w - 1

    def padded(a: np.ndarray) -> np.ndarray:
        out = np.zeros((pad + t_len, a.shape[1]))
        out[pad:] = a
        return out

    zp = padded(zs)
    y_win = _windows(padded(yc), w)  # (T, w, C)
    m_win = _windows(padded(m), w)
    z_win = _windows(zp, w)  # (T, w, P)
    # The meat is symmetric: only its S = P (P + 1) / 2 entries a <= b are formed.  Per row, the
    # products z_a z_b (lag 0) and z_{s,a} z_{s-j,b} + z_{s,b} z_{s-j,a} (lag j: the entry's share of
    # Γ_j + Γ_j'), windowed and transposed to (T, S, w).
    pairs = [(a, b) for a in range(p) for b in range(a, p)]
    ia = np.array([a for a, _ in pairs])
    ib = np.array([b for _, b in pairs])
    zz_win = []
    for j in range(lags + 1):
        prod = np.zeros((pad + t_len, len(pairs)))
        lo, hi = zp[j:], zp[: pad + t_len - j]
        prod[j:] = lo[:, ia] * hi[:, ib] + (lo[:, ib] * hi[:, ia] if j else 0.0)
        zz_win.append(_windows(prod, w).transpose(0, 2, 1))
    theta = aux["theta"].transpose(0, 2, 1)  # (T, P, C)
    n = aux["n"]
    cinv = aux["cinv"]
    if se_type == "hc3":
        zz_rows = zz_win[0].transpose(0, 2, 1)  # (T, w, S)
        xz_inv = _design_inverse(aux, k, add_constant, pairs)  # (Z'Z)^-1 of each window, (T, S, C)
    meat = np.empty((len(pairs), t_len, c))  # entry-major: each entry a contiguous (T, C) slab below
    rows_per = max(1, _ROBUST_CELLS // (c * w))
    for r0 in range(0, t_len, rows_per):
        r1 = min(t_len, r0 + rows_per)
        e = np.matmul(z_win[r0:r1], theta[r0:r1])  # fitted values of every window's rows, (r, w, C)
        np.subtract(y_win[r0:r1], e, out=e)
        e *= m_win[r0:r1]
        if se_type == "hc3":
            lev = np.matmul(zz_rows[r0:r1], xz_inv[r0:r1])  # h_s = z_s'(Z'Z)^-1 z_s, (r, w, C)
            lev *= m_win[r0:r1]
            with np.errstate(divide="ignore", invalid="ignore"):
                e /= 1.0 - lev
        g = np.matmul(zz_win[0][r0:r1], e * e)
        for j in range(1, lags + 1):
            g += weights[j] * np.matmul(zz_win[j][r0:r1, :, j:], e[:, j:] * e[:, : w - j])
        meat[:, r0:r1] = g.transpose(1, 0, 2)
    entry = {pair: meat[q] for q, pair in enumerate(pairs)}

    def mt(a: int, b: int) -> np.ndarray:
        return entry[(a, b) if a <= b else (b, a)]

    out = np.empty((t_len, c, p))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if add_constant:
            xs = aux["xbar_s"]
            m00 = mt(0, 0)
            # centred meat: z_c = L z with L = [[1, 0], [-x̄_s, I]]
            mc0 = [mt(0, 1 + i) - xs[i] * m00 for i in range(k)]
            mc = {(i, j): mt(1 + i, 1 + j) - xs[i] * mt(0, 1 + j) - xs[j] * mc0[i]
                  for i in range(k) for j in range(i, k)}
        else:
            mc = {(i, j): mt(i, j) for i in range(k) for j in range(i, k)}

        def quad(q: list[np.ndarray]) -> np.ndarray:
            """q' M_c q over the centred regressors (symmetric sums)."""
            acc = q[0] * q[0] * mc[(0, 0)]
            for i in range(k):
                for j in range(i, k):
                    if i or j:
                        acc += (q[i] * q[j] * mc[(i, j)]) * (1.0 if i == j else 2.0)
            return acc

        if add_constant:
            xbar = aux["xbar"]
            v = [sum(cinv[i][j] * xbar[j] for j in range(k)) for i in range(k)]
            inv_n = 1.0 / n
            # alpha's influence weights: [1/n, -v] on [1, x - x̄]
            out[..., 0] = quad(v) + inv_n * (m00 * inv_n - 2.0 * sum(v[i] * mc0[i] for i in range(k)))
        for a in range(k):
            out[..., p - k + a] = quad(cinv[a])
        if se_type == "hc1":
            out *= (n / (n - p))[..., None]
        np.sqrt(np.maximum(out, 0.0), out=out)
    out[aux["bad"]] = np.nan
    return out


def rolling_ols(
    y: np.ndarray,
    x: np.ndarray,
    window: int = 90,
    min_obs: int | None = None,
    add_constant: bool = True,
    *,
    compute_bse: bool = True,
    se_type: str = "classical",
    hac_lags: int | str | None = None,
    singular_tol: float = 1e-10,
    chunk_size: int | None = None,
    n_threads: int | None = None,
) -> RollingOLSResult:
    """Rolling OLS of every column of ``y`` (T, N) on the common regressors ``x`` (T, K).

    Parameters
    ----------
    y : coin (excess) returns, NaN where missing (gaps, before listing, after delisting).
    x : factor returns common to all coins; a row with any NaN is unusable for every coin.
    window : calendar rows per window (the window is ``(t - window, t]``).
    min_obs : minimum usable rows; default ``max(P + 1, ceil(2 window / 3))`` (60 of 90) with
        ``P = K + add_constant``.  Must satisfy ``P + 1 <= min_obs <= window`` so that the
        residual variance has a positive number of degrees of freedom.
    add_constant : include the intercept (alpha), reported first.
    compute_bse : also return standard errors (of the type ``se_type``).
    se_type : ``"classical"`` ``sqrt(s² (X'X)^-1)`` (statsmodels' default), ``"white"``
        heteroskedasticity-robust HC0 ``(X'X)^-1 (Σ e² x x') (X'X)^-1`` (statsmodels
        ``cov_type="HC0"``), ``"hc1"`` (HC0 times ``n / (n - P)``), ``"hc3"`` (``e_s / (1 - h_s)``
        in place of ``e_s``, ``h_s`` the leverage of the row in its window; statsmodels
        ``"HC1"`` / ``"HC3"``), or ``"hac"`` Newey-West with Bartlett weights ``1 - j / (L + 1)``
        (statsmodels ``cov_type="HAC", cov_kwds={"maxlags": L, "use_correction": False}``).  Robust
        errors use each window's exact residuals (see :func:`_robust_bse`); within a window an
        unusable row has a zero score, so HAC lag j pairs rows j calendar rows apart (the
        "amplitude-modulated" treatment of gaps; statsmodels on the window with its unusable rows
        set to zero gives the same numbers, statsmodels on the rows dropped pairs the j-th usable
        rows instead: identical without gaps inside the window).
    hac_lags : Newey-West lags L (``se_type="hac"``): a count, or a rule of
        :func:`~cryptofactor_assets.estimators.hac.nw_lag` applied to ``window``; default
        ``"4t100"`` = floor(4 (window / 100)^(2/9)) (3 for a 90-row window).  The count used is
        stored in the result (``hac_lags``).
    singular_tol : windows whose correlation-scaled centred design has a determinant below this
        (collinear regressors), or a regressor with relative variance below 1e-12 (constant in
        the window), are NaN.
    chunk_size : coins per block (memory / cache); default keeps a block's moments around 1 M
        numbers (a few MB, cache-friendly).
    n_threads : blocks are independent (disjoint coins) and numpy releases the GIL in its array
        loops, so they run on a thread pool; default ``min(4, os.cpu_count())``, 1 = serial.
        Results do not depend on it (each coin's arithmetic is the same).
    """
    y = as_columns(y)
    x = as_columns(x)
    t_len, n_coins = y.shape
    if x.shape[0] != t_len:
        raise ValueError(f"x has {x.shape[0]} rows, y has {t_len}")
    k = x.shape[1]
    p = k + int(add_constant)
    if window < 1:
        raise ValueError("window must be >= 1")
    if min_obs is None:
        min_obs = max(p + 1, math.ceil(2 * window / 3))
    if not (p + 1 <= min_obs <= window):
        raise ValueError(f"min_obs must be in [{p + 1}, window={window}] for {p} parameters, got {min_obs}")
    if se_type not in SE_TYPES:
        raise ValueError(f"se_type must be one of {SE_TYPES}, got {se_type!r}")
    robust = compute_bse and se_type != "classical"
    if se_type == "hac":
        hac_lags = nw_lag(window, "4t100" if hac_lags is None else hac_lags)
        if hac_lags >= window:
            raise ValueError(f"hac_lags ({hac_lags}) must be below the window ({window})")
    else:
        hac_lags = None
    weights = bartlett_weights(hac_lags) if se_type == "hac" else np.ones(1)

    fx = np.all(np.isfinite(x), axis=1)
    valid = np.isfinite(y) & fx[:, None]
    # Causal shifts (step 1 of the module docstring).  Without a constant the model is not
    # shift-invariant, so no shift.
    if add_constant and fx.any():
        x_shift = x[int(np.argmax(fx))].copy()
    else:
        x_shift = np.zeros(k)
    xs = np.where(fx[:, None], x - x_shift, 0.0)
    if add_constant:
        first = np.argmax(valid, axis=0)
        y_shift = np.where(valid.any(axis=0), y[first, np.arange(n_coins)], 0.0)
    else:
        y_shift = np.zeros(n_coins)

    if k < 1:
        raise ValueError("x needs at least one column")
    pairs = [(i, j) for i in range(k) for j in range(i, k)]
    n_q = 1 + k + len(pairs) + 1 + k + 1
    xx_common = np.stack([xs[:, i] * xs[:, j] for i, j in pairs], axis=1) if pairs else np.empty((t_len, 0))

    if chunk_size is None:
        chunk_size = max(1, int(1_000_000 // max(1, t_len * n_q)))
    if n_threads is None:
        n_threads = min(4, os.cpu_count() or 1)

    # np.empty: every element is written by _solve_block.
    params = np.empty((t_len, n_coins, p))
    bse = np.empty((t_len, n_coins, p)) if compute_bse else None
    r2 = np.empty((t_len, n_coins))
    resid_vol = np.empty((t_len, n_coins))
    n_obs = np.empty((t_len, n_coins), dtype=np.int64)

    # Rows where no coin of a block can have an estimate (before the first listing, a window
    # after the last trade) are skipped.  The kept row range starts on a multiple of `window`,
    # which keeps the block grid of the window sums where it is for the full panel: every
    # coin's arithmetic (element-wise across coins) is bitwise the same whatever the blocking,
    # so outputs stay exactly causal.  (Sorting coins by listing date would skip more rows, but
    # the scattered writes it needs cost more than they save.)
    has_any = valid.any(axis=0)
    first_row = np.where(has_any, np.argmax(valid, axis=0), t_len)
    last_row = np.where(has_any, t_len - 1 - np.argmax(valid[::-1], axis=0), -1)

    def run_block(start: int) -> None:
        cols = slice(start, min(n_coins, start + chunk_size))
        f0 = int(first_row[cols].min())
        r0 = (f0 // window) * window if window < t_len else 0
        r1 = int(min(t_len, last_row[cols].max() + window))
        outside = [slice(0, r0), slice(max(r0, r1), t_len)]
        for rows in outside:
            params[rows, cols] = np.nan
            if bse is not None:
                bse[rows, cols] = np.nan
            r2[rows, cols] = np.nan
            resid_vol[rows, cols] = np.nan
            n_obs[rows, cols] = 0
        if r1 <= r0:
            return  # no coin of the block ever trades
        rows = slice(r0, r1)
        tt = r1 - r0
        vb = valid[rows, cols]
        m = vb.astype(float)
        yc = np.where(vb, y[rows, cols] - y_shift[cols], 0.0)
        xsb = xs[rows]
        xxb = xx_common[rows]
        c = m.shape[1]
        # Moments laid out (Q, T, C) so that every moment is a contiguous (T, C) slab.
        buf, g = _moment_buffer(n_q, tt, c, window)
        q = 0
        g[q] = m
        q += 1
        for i in range(k):
            np.multiply(m, xsb[:, i, None], out=g[q])
            q += 1
        for pi in range(len(pairs)):
            np.multiply(m, xxb[:, pi, None], out=g[q])
            q += 1
        g[q] = yc
        q += 1
        for i in range(k):
            np.multiply(yc, xsb[:, i, None], out=g[q])
            q += 1
        np.multiply(yc, yc, out=g[q])
        s = _windowed_sum_inplace(buf, tt, window)
        blk_params, blk_bse, blk_r2, blk_vol, blk_n, aux = _solve_block(
            s, k, pairs, add_constant, x_shift, y_shift[cols], min_obs, singular_tol,
            compute_bse and not robust, robust,
        )
        if robust:
            zsb = np.column_stack([np.ones(tt), xsb]) if add_constant else xsb
            blk_bse = _robust_bse(yc, m, zsb, aux, window, weights, se_type, add_constant)
        params[rows, cols] = blk_params
        if bse is not None:
            bse[rows, cols] = blk_bse
        r2[rows, cols] = blk_r2
        resid_vol[rows, cols] = blk_vol
        n_obs[rows, cols] = blk_n

    starts = range(0, n_coins, chunk_size)
    if n_threads <= 1 or len(starts) == 1:
        for start in starts:
            run_block(start)
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(run_block, starts))  # list(): re-raise any worker exception

    names = (("alpha",) if add_constant else ()) + tuple(f"beta_{i}" for i in range(k))
    return RollingOLSResult(
        params=params,
        bse=bse,
        r2=r2,
        resid_vol=resid_vol,
        n_obs=n_obs,
        window=window,
        min_obs=min_obs,
        add_constant=add_constant,
        param_names=names,
        se_type=se_type,
        hac_lags=hac_lags,
    )


def _solve_block(
    s: np.ndarray,
    k: int,
    pairs: list[tuple[int, int]],
    add_constant: bool,
    x_shift: np.ndarray,
    y_shift: np.ndarray,
    min_obs: int,
    singular_tol: float,
    compute_bse: bool,
    robust: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray, dict | None]:
    """Element-wise solution of the windowed normal equations for one block of coins.

    ``s`` is (Q, T, C) windowed moments in the order n, Σx_k, Σx_i x_j (i <= j), Σy, Σx_k y,
    Σy².  Dense: every (t, i) cell is computed (cheaper than gathering the valid ones on typical
    panels) and the invalid ones are set to NaN at the end.  With ``robust`` it also returns what
    :func:`_robust_bse` needs: the coefficients in the shifted coordinates of the residuals
    (``theta``, 0 where not estimated), the centred inverse, the shifted and original-unit
    regressor means, n and the invalid cells.
    """
    n = np.rint(s[0])  # counts are exact integers (sums of 0/1, no cancellation)
    sx = [s[1 + i] for i in range(k)]
    base = 1 + k
    sxx = {pair: s[base + pi] for pi, pair in enumerate(pairs)}
    sy = s[base + len(pairs)]
    sxy = [s[base + len(pairs) + 1 + i] for i in range(k)]
    syy = s[base + len(pairs) + 1 + k]
    p = k + int(add_constant)
    t_len, c = n.shape

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv_n = 1.0 / n
        # Centred (with a constant) or raw (without) cross-products.
        cxx: list[list[np.ndarray]] = [[np.empty(0)] * k for _ in range(k)]
        for i, j in pairs:
            v = sxx[(i, j)] - sx[i] * sx[j] * inv_n if add_constant else sxx[(i, j)]
            cxx[i][j] = v
            cxx[j][i] = v
        if add_constant:
            mean_y = sy * inv_n
            cxy = [sxy[i] - sx[i] * mean_y for i in range(k)]
            cyy = syy - sy * mean_y
        else:
            cxy, cyy = sxy, syy
        # Usable: enough rows, and every regressor varies in the window (relative to its raw
        # second moment about the causal shift).
        ok = n >= min_obs
        diag_prod = np.ones_like(n)
        for i in range(k):
            ok &= cxx[i][i] > 1e-12 * sxx[(i, i)]
            diag_prod *= cxx[i][i]
        # Closed-form inverse of the centred matrix.  det / prod(diag) is the determinant of the
        # correlation matrix, in (0, 1]: the scale-free collinearity check.  (Cofactors are
        # differences of products, so a diagonal rescaling changes their rounding by the same
        # factor only: no need to invert the rescaled matrix.)
        cinv, det = _sym_inverse(cxx, k)
        ok &= det > singular_tol * diag_prod
        bad = ~ok
        beta = [sum(cinv[i][j] * cxy[j] for j in range(k)) for i in range(k)]
        ssr = np.maximum(cyy - sum(beta[i] * cxy[i] for i in range(k)), 0.0)
        s2 = ssr / (n - p)
        params = np.empty((t_len, c, p))
        if add_constant:
            xbar = [sx[i] * inv_n + x_shift[i] for i in range(k)]  # original-unit means
            params[..., 0] = mean_y + y_shift - sum(beta[i] * xbar[i] for i in range(k))
        for i in range(k):
            params[..., p - k + i] = beta[i]
        params[bad] = np.nan
        r2 = 1.0 - ssr / cyy
        r2[bad | ~(cyy > 0)] = np.nan
        vol = np.sqrt(s2)
        vol[bad] = np.nan
        bse = None
        if compute_bse:
            bse = np.empty((t_len, c, p))
            if add_constant:
                # Var(alpha) = s² (1/n + x̄' C^-1 x̄) in original units
                quad = sum(cinv[i][j] * xbar[i] * xbar[j] for i in range(k) for j in range(k))
                bse[..., 0] = s2 * (inv_n + quad)
            for i in range(k):
                bse[..., p - k + i] = s2 * cinv[i][i]
            np.sqrt(bse, out=bse)
            bse[bad] = np.nan
        aux = None
        if robust:
            theta = np.empty((t_len, c, p))
            if add_constant:
                xbar_s = [sx[i] * inv_n for i in range(k)]  # shifted-coordinate means
                theta[..., 0] = mean_y - sum(beta[i] * xbar_s[i] for i in range(k))
            else:
                xbar_s = xbar = None
            for i in range(k):
                theta[..., p - k + i] = beta[i]
            theta[bad] = 0.0
            aux = {"theta": theta, "n": n, "cinv": cinv, "xbar_s": xbar_s,
                   "xbar": xbar if add_constant else None, "bad": bad}
    return params, bse, r2, vol, n.astype(np.int64), aux
