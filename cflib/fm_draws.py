r"""The Bayesian FM's draw of one feature group's rows (:mod:`cflib.fm_mcmc`), in numpy or compiled.

**One-hot groups** (:func:`draw_one_hot_numpy`): the group's features never share a rating, so
given everything else their rows :math:`\theta_i = (w_i, v_i)` are independent Gaussians,
:math:`\theta_i \sim \mathcal N(P_i^{-1} h_i, P_i^{-1})` with :math:`P_i = \tau A_i + \Lambda`
and :math:`h_i = \tau b_i + \Lambda \nu`, where :math:`A_i, b_i` are the ALS normal equations
of :func:`cflib.fm_als.one_hot_systems`: all are drawn at once.

**Weighted groups** (:func:`draw_weighted_numpy`: genres, ``movie_raters``, ``user_rated``):
features sharing block rows depend on each other, so their rows are drawn one after the other,
each from its Gaussian conditional given all the others. Feature j sits in the block rows
:math:`R_j` with values :math:`x_r`; a rating t in row r has :math:`u_t = s_t - x_r v_j` (what
the rest of the rating's features contribute to :math:`s_t`) and :math:`z_t = x_r (1, u_t)`, so

.. math::

    A_j = \sum_{r \in R_j} x_r^2 \begin{pmatrix} n_r & U_r^T \\ U_r & \sum_{t \in r} u_t u_t^T \end{pmatrix},
    \quad U_r = S_r - n_r x_r v_j, \quad
    \sum_{t \in r} u_t u_t^T = SS_r - x_r (S_r v_j^T + v_j S_r^T) + n_r x_r^2 v_j v_j^T,

    \theta_j \mid \cdot \sim \mathcal N\big(P_j^{-1} h_j,\ P_j^{-1}\big), \quad P_j = \tau A_j + \Lambda,
    \quad h_j = \tau (A_j \theta_j^{old} - \textstyle\sum_t z_t e_t) + \Lambda \nu ,

from the per-row sums of the ratings (count :math:`n_r`, :math:`E_r = \sum e`,
:math:`S_r = \sum s`, :math:`ES_r = \sum e s`, :math:`SS_r = \sum s s^T`), never a pass over
the ratings. After the draw, every rating of row r moves by the same :math:`c_r = x_r \Delta v`
in s and by :math:`\alpha_r + c_r \cdot s_t` in e (:math:`\alpha_r = x_r \Delta w - x_r^2
\Delta v \cdot v_j`): the row sums are updated in closed form, and the shifts accumulated in
``A_e``, ``B_e``, ``D`` are applied to the ratings once, at the end of the group.

**Two paths, one signature, the same draws.** The numpy functions here vectorize over a
group's features (one-hot) or over one feature's rows (weighted); :mod:`cflib.fm_compiled` does
the same arithmetic as scalar loops compiled by numba, used when numba is installed (optional:
``pip install numba``; the environment variable ``CFLIB_NUMBA=0`` turns it off). The standard
normals ``Z`` are drawn beforehand by numpy's generator, so both paths give the same samples up
to round-off (``tests/test_fm.py``). Why compile: a weighted group's features must be drawn one
after the other, and ``movie_raters`` alone has 943 features on ml-100k, each a few dozen numpy
calls on ~85 rows; in numpy that loop costs 0.3-0.5 s per sweep in call overhead (a sweep of
the myFM feature set 0.4-0.6 s, 74 s for u1's 200 sweeps), compiled about 15 ms (a sweep
about 35 ms, as fast as myFM: ``benchmarks/README.md``). No vectorization removes the loop: the
draws depend on each other.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from .conditionals import draw_rows

__all__ = ["draw_group", "row_sums", "apply_shifts", "draw_one_hot_numpy", "draw_weighted_numpy", "row_sums_numpy",
           "apply_shifts_numpy", "compiled_available"]


def draw_one_hot_numpy(indptr, indices, data, N, E, S1, ES, SS, A_e, B_e, D, wg, Vg, tau, nu, lam, Z):
    """Draw every row of a one-hot group at once (its features share no block row), in place.

    The arguments of :func:`draw_weighted_numpy`. Each block row holds at most one of the
    group's features, so the systems :math:`A_j` are sums of per-row terms over disjoint sets of
    rows (one sparse product for all features), the draws are independent, and each row's sums
    move by its own feature's shift: the same numbers as drawing the features one after the other.
    """
    k = Vg.shape[1]
    d = k + 1
    m, q = wg.size, indices.size
    fi = np.repeat(np.arange(m), np.diff(indptr))  # the feature of each of the group's rows
    R, x = indices, data
    v = Vg[fi]
    n_r, x2 = N[R], x * x
    E_R, S1_R, ES_R, SS_R = E[R], S1[R], ES[R], SS[R]
    parts = np.empty((q, d * d + d))
    A_r = parts[:, :d * d].reshape(q, d, d)
    A_r[:, 0, 0] = x2 * n_r
    A_r[:, 0, 1:] = x2[:, None] * (S1_R - (n_r * x)[:, None] * v)
    A_r[:, 1:, 0] = A_r[:, 0, 1:]
    xS1v = (x2 * x)[:, None, None] * S1_R[:, :, None] * v[:, None, :]
    A_r[:, 1:, 1:] = x2[:, None, None] * SS_R - xS1v - xS1v.transpose(0, 2, 1) \
        + (x2 * x2 * n_r)[:, None, None] * v[:, :, None] * v[:, None, :]
    parts[:, d * d] = x * E_R
    parts[:, d * d + 1:] = x[:, None] * ES_R - (x2 * E_R)[:, None] * v
    sums = sp.csr_matrix((np.ones(q), (fi, np.arange(q))), shape=(m, q)) @ parts
    A, ze = sums[:, :d * d].reshape(m, d, d), sums[:, d * d:]
    theta_old = np.column_stack([wg, Vg])
    h = tau * (np.einsum("jab,jb->ja", A, theta_old) - ze) + lam * nu
    P = tau * A
    P[:, np.arange(d), np.arange(d)] += lam
    theta = draw_rows(P, h, Z)
    delta = theta - theta_old
    _shift_rows(R, x, delta[fi, 0], delta[fi, 1:], v, N, E, S1, ES, SS, A_e, B_e, D)
    wg[:], Vg[:] = theta[:, 0], theta[:, 1:]


def draw_weighted_numpy(indptr, indices, data, N, E, S1, ES, SS, A_e, B_e, D, wg, Vg, tau, nu, lam, Z):
    """Draw the rows of a weighted group feature after feature (module docstring), in place.

    Parameters
    ----------
    indptr, indices, data : ndarray
        The group's columns of its block, CSC: feature j's rows are
        ``indices[indptr[j]:indptr[j+1]]`` with values ``data[...]``.
    N : ndarray of shape (n_rows,)
        Ratings per block row.
    E : ndarray of shape (n_rows,)
    S1, ES : ndarray of shape (n_rows, k)
    SS : ndarray of shape (n_rows, k, k)
        Per-row sums of e, s, e s, s s^T over the ratings; updated after each draw.
    A_e, B_e, D : ndarray of shape (n_rows,), (n_rows, k), (n_rows, k)
        Accumulated shifts: each rating of row r gets ``e += A_e[r] + B_e[r] . s_old``, ``s += D[r]``.
    wg : ndarray of shape (n_features,)
    Vg : ndarray of shape (n_features, k)
        The group's rows, overwritten by the draws.
    tau : float
    nu, lam : ndarray of shape (k + 1,)
        The group's prior means and precisions (w first).
    Z : ndarray of shape (n_features, k + 1)
        Standard normal draws, one row per feature.
    """
    k = Vg.shape[1]
    d = k + 1
    prior = np.diag(lam)
    for j in range(wg.size):
        R, x = indices[indptr[j]:indptr[j + 1]], data[indptr[j]:indptr[j + 1]]
        wv, v = wg[j], Vg[j]
        A = np.zeros((d, d))
        ze = np.zeros(d)
        if R.size:
            n_r, x2 = N[R], x * x
            E_R, S1_R, ES_R, SS_R = E[R], S1[R], ES[R], SS[R]
            U1 = S1_R - n_r[:, None] * (x[:, None] * v)  # sum over the row's ratings of u = s - x v
            A[0, 0] = x2 @ n_r
            A[0, 1:] = A[1:, 0] = x2 @ U1
            xS1v = np.outer((x2 * x) @ S1_R, v)
            A[1:, 1:] = np.einsum("r,rab->ab", x2, SS_R) - xS1v - xS1v.T + ((x2 * x2) @ n_r) * np.outer(v, v)
            ze = np.r_[x @ E_R, x @ ES_R - (x2 @ E_R) * v]
        h = tau * (A @ np.r_[wv, v] - ze) + lam * nu
        theta = draw_rows((tau * A + prior)[None], h[None], Z[j:j + 1])[0]
        if R.size:
            _shift_rows(R, x, theta[0] - wv, theta[1:] - v, v, N, E, S1, ES, SS, A_e, B_e, D)
        wg[j], Vg[j] = theta[0], theta[1:]


def _shift_rows(R, x, dw, dv, v, N, E, S1, ES, SS, A_e, B_e, D):
    """Update the sums of the rows R after their feature's row moved by (dw, dv) from (w, v) (module docstring).

    ``x`` (q,) the feature's value in each row; ``dw`` scalar or (q,), ``dv`` and ``v`` (k,) or (q, k).
    """
    n_r, x2 = N[R], x * x
    E_R, S1_R, SS_R = E[R], S1[R], SS[R]
    c = x[:, None] * dv  # shift of s in each row (and the slope of e's shift)
    alpha = x * dw - x2 * np.sum(dv * v, axis=-1)
    cS1 = np.einsum("rb,rb->r", c, S1_R)
    ES[R] = ES[R] + E_R[:, None] * c + alpha[:, None] * S1_R + (alpha * n_r)[:, None] * c \
        + np.einsum("rab,rb->ra", SS_R, c) + cS1[:, None] * c
    E[R] = E_R + alpha * n_r + cS1
    SS[R] = SS_R + S1_R[:, :, None] * c[:, None, :] + c[:, :, None] * S1_R[:, None, :] \
        + n_r[:, None, None] * c[:, :, None] * c[:, None, :]
    S1[R] = S1_R + n_r[:, None] * c
    A_e[R] += alpha + np.einsum("rb,rb->r", c, D[R])
    B_e[R] += c
    D[R] += c


def row_sums_numpy(r, n_rows, e, s):
    """Per block row, sums over its ratings: ``E (n_rows,), S1 (n_rows, k), ES (n_rows, k), SS (n_rows, k, k)``.

    ``r`` (n,) is each rating's block row, ``e`` (n,) its error, ``s`` (n, k) its :math:`\\sum_i v_i x_i`.
    """
    n, k = s.shape
    agg = sp.csr_matrix((np.ones(n), (r, np.arange(n))), shape=(n_rows, n))
    SS = (agg @ (s[:, :, None] * s[:, None, :]).reshape(n, k * k)).reshape(n_rows, k, k)
    return agg @ e, agg @ s, agg @ (e[:, None] * s), SS


def apply_shifts_numpy(r, e, s, A_e, B_e, D):
    """Move each rating by its row's accumulated shifts: ``e += A_e[r] + B_e[r] . s``, then ``s += D[r]`` (in place)."""
    e += A_e[r] + np.einsum("tb,tb->t", B_e[r], s)
    s += D[r]


_COMPILED = None  # the module cflib.fm_compiled once imported; False when numba is missing


def _compiled():
    global _COMPILED
    if _COMPILED is None:
        try:
            from . import fm_compiled
        except ImportError:
            _COMPILED = False
        else:
            _COMPILED = fm_compiled
    return _COMPILED


def compiled_available() -> bool:
    """True when numba is importable and the environment variable ``CFLIB_NUMBA`` is not ``0``."""
    return os.environ.get("CFLIB_NUMBA", "1") != "0" and _compiled() is not False


def draw_group(one_hot, indptr, indices, data, N, E, S1, ES, SS, A_e, B_e, D, wg, Vg, tau, nu, lam, Z, *,
               compiled=None):
    """Draw one group's rows: :func:`draw_one_hot_numpy` or :func:`draw_weighted_numpy` (by ``one_hot``),
    or their compiled twin (``compiled=None``: when :func:`compiled_available`)."""
    if _use_compiled(compiled):
        run = _compiled().weighted_loops  # one after the other: for a one-hot group the same draws
    else:
        run = draw_one_hot_numpy if one_hot else draw_weighted_numpy
    run(indptr, indices, data, N, E, S1, ES, SS, A_e, B_e, D, wg, Vg, float(tau), nu, lam, Z)


def row_sums(r, n_rows, e, s, *, compiled=None):
    """:func:`row_sums_numpy`, or compiled (which fills only the lower triangle of each SS: its
    draws read no other)."""
    if _use_compiled(compiled):
        return _compiled().row_sums_loops(r, n_rows, e, s)
    return row_sums_numpy(r, n_rows, e, s)


def apply_shifts(r, e, s, A_e, B_e, D, *, compiled=None):
    """:func:`apply_shifts_numpy`, or compiled."""
    (_compiled().apply_shifts_loops if _use_compiled(compiled) else apply_shifts_numpy)(r, e, s, A_e, B_e, D)


def _use_compiled(compiled):
    if compiled is None:
        return compiled_available()
    if compiled and _compiled() is False:
        raise ImportError("compiled=True needs numba (pip install numba); compiled=False needs nothing")
    return bool(compiled)
