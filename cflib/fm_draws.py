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
to round-off (``tests/test_fm.py``). Why compile: ``movie_raters`` alone has 943 features on
ml-100k, each a dozen numpy calls on ~85 rows, so the numpy path spends about 0.1 s per sweep
in call overhead, and each one-hot group makes several (n_ratings, k) temporaries; compiled,
a sweep of the myFM feature set takes a few tens of ms, the time of myFM itself
(``benchmarks/README.md``, where both are measured).
"""

from __future__ import annotations

import os

import numpy as np

from .conditionals import draw_rows
from .fm_als import apply_one_hot, one_hot_systems

__all__ = ["draw_one_hot", "draw_weighted", "draw_one_hot_numpy", "draw_weighted_numpy", "compiled_available"]


def draw_one_hot_numpy(grp, y, pred, s, w, V, tau, nu, lam, Z):
    r"""Draw every row of a one-hot group at once (module docstring); updates w, V, pred, s in place.

    Parameters
    ----------
    grp : dict
        The group's structure (:func:`cflib.fm_als.group_structure`).
    y, pred : ndarray of shape (n,)
        The ratings and the current predictions.
    s : ndarray of shape (n, k)
        :math:`\sum_i v_i x_{ti}` of each rating.
    w : ndarray of shape (p,)
    V : ndarray of shape (p, k)
    tau : float
    nu, lam : ndarray of shape (k + 1,)
        The group's prior means and precisions (w first).
    Z : ndarray of shape (n_g, k + 1)
        Standard normal draws, one row per feature of the group.
    """
    d = V.shape[1] + 1
    A, h, s_minus, old = one_hot_systems(y, grp, w, V, pred, s)
    A *= tau
    A[:, np.arange(d), np.arange(d)] += lam
    theta = draw_rows(A, tau * h + lam * nu, Z)
    apply_one_hot(grp, theta, w, V, pred, s, s_minus, old)


def draw_weighted_numpy(indptr, indices, data, N, E, S1, ES, SS, A_e, B_e, D, wg, Vg, tau, nu, lam, Z):
    """Draw the rows of one weighted group feature after feature (module docstring), in place.

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
        theta_old = np.r_[wv, v]
        h = tau * (A @ theta_old - ze) + lam * nu
        L = np.linalg.cholesky(tau * A + prior)
        theta = np.linalg.solve(L.T, np.linalg.solve(L, h) + Z[j])
        if R.size:
            dw, dv = theta[0] - wv, theta[1:] - v
            c = x[:, None] * dv  # shift of s in each row (and the slope of e's shift)
            alpha = x * dw - x2 * (dv @ v)
            cS1 = np.einsum("rb,rb->r", c, S1_R)
            ES[R] = ES_R + E_R[:, None] * c + alpha[:, None] * S1_R + (alpha * n_r)[:, None] * c \
                + np.einsum("rab,rb->ra", SS_R, c) + cS1[:, None] * c
            E[R] = E_R + alpha * n_r + cS1
            SS[R] = SS_R + S1_R[:, :, None] * c[:, None, :] + c[:, :, None] * S1_R[:, None, :] \
                + n_r[:, None, None] * c[:, :, None] * c[:, None, :]
            S1[R] = S1_R + n_r[:, None] * c
            A_e[R] += alpha + np.einsum("rb,rb->r", c, D[R])
            B_e[R] += c
            D[R] += c
        wg[j], Vg[j] = theta[0], theta[1:]


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


def draw_one_hot(grp, y, pred, s, w, V, tau, nu, lam, Z, *, compiled=None):
    """:func:`draw_one_hot_numpy`, or its compiled twin (``compiled=None``: when :func:`compiled_available`)."""
    if not _use_compiled(compiled):
        return draw_one_hot_numpy(grp, y, pred, s, w, V, tau, nu, lam, Z)
    cols = grp["cols"]
    _compiled().one_hot_loops(grp["active"], grp["bounds"], y, pred, s, w[cols], V[cols], float(tau), nu, lam, Z)


def draw_weighted(indptr, indices, data, N, E, S1, ES, SS, A_e, B_e, D, wg, Vg, tau, nu, lam, Z, *, compiled=None):
    """:func:`draw_weighted_numpy`, or its compiled twin (``compiled=None``: when :func:`compiled_available`)."""
    run = _compiled().weighted_loops if _use_compiled(compiled) else draw_weighted_numpy
    run(indptr, indices, data, N, E, S1, ES, SS, A_e, B_e, D, wg, Vg, float(tau), nu, lam, Z)


def _use_compiled(compiled):
    if compiled is None:
        return compiled_available()
    if compiled and _compiled() is False:
        raise ImportError("compiled=True needs numba (pip install numba); compiled=False needs nothing")
    return bool(compiled)
