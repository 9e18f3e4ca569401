r"""The Bayesian FM's group draws (:mod:`cflib.fm_draws`) as scalar loops compiled by numba.

Optional: this module imports numba, and :mod:`cflib.fm_draws` imports it only when numba is
installed (``pip install numba``). Each function does the arithmetic of its numpy twin in
:mod:`cflib.fm_draws` one rating or one block row at a time, with the standard normals ``Z``
given, so both give the same draws up to round-off (``tests/test_fm.py``). The Cholesky
factor of each (k+1, k+1) precision and its two triangular solves are written out here.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["row_sums_loops", "apply_shifts_loops", "weighted_loops"]

_jit = numba.njit(cache=True, fastmath={"reassoc", "contract"}, error_model="numpy")  # NaN-safe flags only


@_jit
def _cholesky_draw(P, h, z, L, y, theta):
    """``theta = L^{-T}(L^{-1} h + z)`` with ``P = L L^T`` (d, d); L, y are scratch."""
    d = h.size
    for a in range(d):
        for b in range(a + 1):
            acc = P[a, b]
            for m in range(b):
                acc -= L[a, m] * L[b, m]
            if a == b:
                if not acc > 0.0:
                    raise ValueError("the precision tau A + diag(lam) is not positive definite (or not finite)")
                L[a, a] = np.sqrt(acc)
            else:
                L[a, b] = acc / L[b, b]
    for a in range(d):
        acc = h[a]
        for m in range(a):
            acc -= L[a, m] * y[m]
        y[a] = acc / L[a, a]
    for a in range(d - 1, -1, -1):
        acc = y[a] + z[a]
        for m in range(a + 1, d):
            acc -= L[m, a] * theta[m]
        theta[a] = acc / L[a, a]


@_jit
def row_sums_loops(r, n_rows, e, s):
    """:func:`cflib.fm_draws.row_sums_numpy`, one rating at a time."""
    n, k = s.shape
    E = np.zeros(n_rows)
    S1 = np.zeros((n_rows, k))
    ES = np.zeros((n_rows, k))
    SS = np.zeros((n_rows, k, k))  # lower triangle only (weighted_loops reads no other)
    for t in range(n):
        q = r[t]
        E[q] += e[t]
        for a in range(k):
            sa = s[t, a]
            S1[q, a] += sa
            ES[q, a] += e[t] * sa
            for b in range(a + 1):
                SS[q, a, b] += sa * s[t, b]
    return E, S1, ES, SS


@_jit
def apply_shifts_loops(r, e, s, A_e, B_e, D):
    """:func:`cflib.fm_draws.apply_shifts_numpy`, one rating at a time."""
    n, k = s.shape
    for t in range(n):
        q = r[t]
        acc = A_e[q]
        for a in range(k):
            acc += B_e[q, a] * s[t, a]
            s[t, a] += D[q, a]
        e[t] += acc


@_jit
def weighted_loops(indptr, indices, data, N, E, S1, ES, SS, A_e, B_e, D, wg, Vg, tau, nu, lam, Z):
    """:func:`cflib.fm_draws.draw_weighted_numpy`, one block row at a time (for a one-hot group, the
    draws of :func:`cflib.fm_draws.draw_one_hot_numpy`, its features sharing no row)."""
    k = Vg.shape[1]
    d = k + 1
    A = np.empty((d, d))
    P = np.empty((d, d))
    L = np.empty((d, d))
    ze = np.empty(d)
    h = np.empty(d)
    yv = np.empty(d)
    theta = np.empty(d)
    c = np.empty(k)
    dv = np.empty(k)
    cSS = np.empty(k)
    sx3 = np.empty(k)
    for j in range(wg.size):
        A[:, :] = 0.0
        ze[:] = 0.0
        sx3[:] = 0.0
        sx4n = 0.0
        sx2E = 0.0
        for p in range(indptr[j], indptr[j + 1]):
            r, x = indices[p], data[p]
            x2 = x * x
            n = N[r]
            A[0, 0] += x2 * n
            ze[0] += x * E[r]
            sx2E += x2 * E[r]
            sx4n += x2 * x2 * n
            for a in range(k):
                A[0, a + 1] += x2 * (S1[r, a] - n * x * Vg[j, a])
                sx3[a] += x2 * x * S1[r, a]
                ze[a + 1] += x * ES[r, a]
                for b in range(a + 1):
                    A[a + 1, b + 1] += x2 * SS[r, a, b]
        for a in range(k):
            ze[a + 1] -= sx2E * Vg[j, a]
            A[a + 1, 0] = A[0, a + 1]
            for b in range(a + 1):
                A[a + 1, b + 1] += -sx3[a] * Vg[j, b] - Vg[j, a] * sx3[b] + sx4n * Vg[j, a] * Vg[j, b]
                A[b + 1, a + 1] = A[a + 1, b + 1]
        for a in range(d):  # h = tau (A theta_old - ze) + lam nu; P = tau A + diag(lam)
            acc = A[a, 0] * wg[j]
            for b in range(k):
                acc += A[a, b + 1] * Vg[j, b]
            h[a] = tau * (acc - ze[a]) + lam[a] * nu[a]
            for b in range(d):
                P[a, b] = tau * A[a, b]
            P[a, a] += lam[a]
        _cholesky_draw(P, h, Z[j], L, yv, theta)
        dw = theta[0] - wg[j]
        dvv = 0.0
        for a in range(k):
            dv[a] = theta[a + 1] - Vg[j, a]
            dvv += dv[a] * Vg[j, a]
        for p in range(indptr[j], indptr[j + 1]):
            r, x = indices[p], data[p]
            n = N[r]
            alpha = x * dw - x * x * dvv
            cS1 = 0.0
            cD = 0.0
            for a in range(k):
                c[a] = x * dv[a]
                cS1 += c[a] * S1[r, a]
                cD += c[a] * D[r, a]
            for a in range(k):  # SS c, from the lower triangle (the only one kept)
                acc = 0.0
                for b in range(a + 1):
                    acc += SS[r, a, b] * c[b]
                for b in range(a + 1, k):
                    acc += SS[r, b, a] * c[b]
                cSS[a] = acc
            Er = E[r]
            for a in range(k):
                ES[r, a] += Er * c[a] + alpha * S1[r, a] + alpha * n * c[a] + cSS[a] + cS1 * c[a]
            E[r] = Er + alpha * n + cS1
            for a in range(k):
                for b in range(a + 1):
                    SS[r, a, b] += S1[r, a] * c[b] + c[a] * S1[r, b] + n * c[a] * c[b]
            for a in range(k):
                S1[r, a] += n * c[a]
            A_e[r] += alpha + cD
            for a in range(k):
                B_e[r, a] += c[a]
                D[r, a] += c[a]
        wg[j] = theta[0]
        for a in range(k):
            Vg[j, a] = theta[a + 1]
