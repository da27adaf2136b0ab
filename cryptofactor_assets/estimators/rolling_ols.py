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
uncentred without, classic (homoskedastic) standard errors ``sqrt(s² (X'X)^-1)``.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from cryptofactor_assets.estimators.hac import as_columns

__all__ = ["RollingOLSResult", "rolling_ols", "windowed_sum"]


@dataclass(frozen=True)
class RollingOLSResult:
    """Rolling OLS results, dated by the last row of each window.

    params: (T, N, P) - alpha first when ``add_constant``, then the K slopes.
    bse: (T, N, P) classic OLS standard errors, or None if not requested.
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


def rolling_ols(
    y: np.ndarray,
    x: np.ndarray,
    window: int = 90,
    min_obs: int | None = None,
    add_constant: bool = True,
    *,
    compute_bse: bool = True,
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
    compute_bse : also return classic OLS standard errors.
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
        blk_params, blk_bse, blk_r2, blk_vol, blk_n = _solve_block(
            s, k, pairs, add_constant, x_shift, y_shift[cols], min_obs, singular_tol, compute_bse
        )
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
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Element-wise solution of the windowed normal equations for one block of coins.

    ``s`` is (Q, T, C) windowed moments in the order n, Σx_k, Σx_i x_j (i <= j), Σy, Σx_k y,
    Σy².  Dense: every (t, i) cell is computed (cheaper than gathering the valid ones on typical
    panels) and the invalid ones are set to NaN at the end.
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
    return params, bse, r2, vol, n.astype(np.int64)
