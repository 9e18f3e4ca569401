r"""Alternating least squares for the factorization machine of :mod:`cflib.fm`: one feature group at a time.

J (:mod:`cflib.fm`) is quadratic in the parameters of one feature with all others fixed, since
:math:`\hat y_t = c_t + x_{ti} \big(w_i + \langle v_i, s_t - v_i x_{ti} \rangle\big)`, where
:math:`c_t` and :math:`s_t - v_i x_{ti}` do not depend on :math:`(w_i, v_i)`. A sweep visits the
groups in turn (libFM's ALS visits single parameters; here whole groups, vectorized):

**One-hot groups** (user, movie, age, gender, occupation, zip, year, date: each rating has at most
one of the group's features, with value 1). The group's features never share a rating, so
their exact updates are independent: for every feature i at once, the ridge system in
:math:`\theta_i = (w_i, v_i)` of length k + 1,

.. math::

    \Big(\sum_{t \ni i} z_t z_t^T + \operatorname{diag}(\lambda_b, \lambda, \dots, \lambda)\Big) \theta_i
        = \sum_{t \ni i} z_t\, (y_t - c_t), \qquad z_t = (1,\ s_t - v_i),

is built for all features by one sparse product and solved by one batched ``np.linalg.solve``.
On ids only this is exactly :func:`cflib.train.fit`'s ``als`` for the biased model (its movie
step is this update of the movie group; its user step, of the user group).

**Weighted groups** (genres, ``movie_raters``, ``user_rated``: a rating has many of their
features). Their features share ratings, so the exact one-coordinate updates
(:math:`w_i`, then each column f of V) are computed for all features of the group at once as a
direction :math:`\Delta` (each coordinate's own Newton step, from sums per block row), and the
whole group moves by :math:`\eta\Delta` with the :math:`\eta` that minimizes J along it: J is a
quadratic in :math:`\eta` for w and a quartic for a column of V (the group's features interact
with each other), minimized exactly through the roots of its cubic derivative. So every update
lowers J (or leaves it), and a sweep has no Python loop over features.

Features without training ratings keep w = 0 and v = 0 (their systems are the penalty alone).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .features import GROUP_SIDE
from .fm import FM_PIECES, fm_init, fm_options, terms
from .history import Diverged
from .loop import Method

__all__ = ["METHOD_ALS", "one_hot_systems", "apply_one_hot", "group_structure"]

def _init(train, validation, seed, o):
    """:func:`cflib.fm.fm_init`, then each group's structure (:func:`group_structure`)."""
    return group_structure(fm_init(train, validation, seed, o))


def group_structure(state):
    """Add to ``state`` each group's structure: for a one-hot group, each rating's feature; for a
    weighted group, its columns of the block and their entrywise powers; ``state.agg[side]`` sums
    per block row."""
    space, n = state.space, state.y.size
    state.agg = {}
    state.groups = []
    for g in space.groups:
        b = GROUP_SIDE[g]
        cols = space.group_slices[g]
        Bg = space.blocks[b][:, cols].tocsr()
        r = state.idx[b]
        if space.one_hot[g]:
            row_feat = np.full(Bg.shape[0], -1, dtype=np.int64)
            counts = np.diff(Bg.indptr)
            row_feat[counts == 1] = Bg.indices[Bg.indptr[:-1][counts == 1]]
            feat = row_feat[r]
            active = np.flatnonzero(feat >= 0)
            active = active[np.argsort(feat[active], kind="stable")]  # the ratings of each feature together
            n_per = np.bincount(feat[active], minlength=Bg.shape[1])
            bounds = np.r_[0, np.cumsum(n_per)]
            seen = np.flatnonzero(n_per)
            state.groups.append(dict(kind="one_hot", cols=cols, active=active, feat=feat[active],
                                     n_g=Bg.shape[1], counts=n_per, seen=seen,
                                     starts=bounds[seen], stops=bounds[seen + 1]))
        else:
            if b not in state.agg:
                state.agg[b] = sp.csr_matrix((np.ones(n), (r, np.arange(n))), shape=(space.blocks[b].shape[0], n))
            state.groups.append(dict(kind="weighted", cols=cols, side=b, B=Bg, B2=Bg.multiply(Bg).tocsr(),
                                     B3=Bg.multiply(Bg).multiply(Bg).tocsr(),
                                     B4=Bg.multiply(Bg).multiply(Bg).multiply(Bg).tocsr(),
                                     n_rows=np.asarray(state.agg[b].sum(axis=1)).ravel()))
    return state


def one_hot_systems(y, grp, w, V, pred, s):
    """The normal equations of every feature of a one-hot group, without the penalty.

    Returns ``(A (n_g, k+1, k+1), h (n_g, k+1), s_minus (n_a, k), old (n_a,))``: with
    :math:`z_t = (1, s_t - v_i)` over the ratings where feature i is on,
    :math:`A_i = \\sum z_t z_t^T` and :math:`h_i = \\sum z_t (y_t - c_t)`; ``s_minus`` and ``old``
    (the feature's present contribution) at the group's active ratings, for :func:`apply_one_hot`.

    The active ratings are sorted by feature (:func:`group_structure`), so feature i's ratings
    are one segment ``Z[start:stop]`` of the (n_a, k+1) matrix of the :math:`z_t`:
    :math:`A_i = Z_i^T Z_i` is one BLAS product per feature and h one ``np.add.reduceat``;
    no (n_a, (k+1)^2) array of outer products is formed.
    """
    k = V.shape[1]
    a, i, cols = grp["active"], grp["feat"], grp["cols"]
    wg, Vg = w[cols], V[cols]
    d = k + 1
    Z = np.empty((a.size, d))
    Z[:, 0] = 1.0
    s_minus = Z[:, 1:]
    np.subtract(s[a], Vg[i], out=s_minus)
    old = wg[i] + np.einsum("tf,tf->t", Vg[i], s_minus)
    target = y[a] - (pred[a] - old)
    A = np.zeros((grp["n_g"], d, d))
    h = np.zeros((grp["n_g"], d))
    if grp["seen"].size:
        for f, lo, hi in zip(grp["seen"].tolist(), grp["starts"].tolist(), grp["stops"].tolist()):
            Zf = Z[lo:hi]
            np.matmul(Zf.T, Zf, out=A[f])
        h[grp["seen"]] = np.add.reduceat(Z * target[:, None], grp["starts"], axis=0)
    return A, h, s_minus, old


def apply_one_hot(grp, theta, w, V, pred, s, s_minus, old):
    """Put the rows ``theta`` (n_g, k+1) = (w_i, v_i) of a one-hot group in w and V and update pred and s."""
    a, i, cols = grp["active"], grp["feat"], grp["cols"]
    new = theta[i, 0] + np.einsum("tf,tf->t", theta[i, 1:], s_minus)
    pred[a] += new - old
    s[a] = s_minus + theta[i, 1:]
    w[cols], V[cols] = theta[:, 0], theta[:, 1:]


def _one_hot_update(state, grp, w, V, pred, s):
    """Exact ridge solves of every feature of a one-hot group (module docstring); updates w, V, pred, s in place."""
    o, k = state.options, V.shape[1]
    A, h, s_minus, old = one_hot_systems(state.y, grp, w, V, pred, s)
    d = k + 1
    A[:, np.arange(d), np.arange(d)] += np.r_[o["lam_bias"], np.full(k, o["lam"])]
    seen = grp["counts"] > 0
    theta = np.zeros((grp["n_g"], d))
    try:
        theta[seen] = np.linalg.solve(A[seen], h[seen][:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        raise Diverged from None
    apply_one_hot(grp, theta, w, V, pred, s, s_minus, old)


def _best_step(coef, J_of):
    """The real root of dJ/deta (``coef``, highest power first) where J (``J_of``) is lowest, or 0 if none lowers J."""
    roots = np.roots(coef) if np.any(coef[:-1]) else np.array([])
    cands = [0.0] + [float(r.real) for r in np.atleast_1d(roots) if abs(r.imag) < 1e-9 * (1 + abs(r))]
    return min(cands, key=J_of)


def _weighted_update(state, grp, w, V, pred, s):
    """Jacobi coordinate directions for a weighted group, each moved by the exact minimizing step (module docstring)."""
    o = state.options
    cols, B, B2, agg, r = grp["cols"], grp["B"], grp["B2"], state.agg[grp["side"]], state.idx[grp["side"]]
    N = grp["n_rows"]
    lam_b, lam = o["lam_bias"], o["lam"]
    # linear weights: J is quadratic along the direction
    e = pred - state.y
    wg = w[cols]
    grad = B.T @ (agg @ e) + lam_b * wg
    hdiag = B2.T @ N + lam_b
    delta = np.divide(-grad, hdiag, out=np.zeros_like(grad), where=hdiag > 0)
    dt = (B @ delta)[r]
    den = dt @ dt + lam_b * delta @ delta
    if den > 0:
        eta = -(e @ dt + lam_b * wg @ delta) / den
        w[cols] = wg + eta * delta
        pred += eta * dt
    # each column of V: J is a quartic along the direction
    for f in range(V.shape[1]):
        e = pred - state.y
        sf, v = s[:, f], V[cols, f]
        E, ES, S1, SS = agg @ e, agg @ (e * sf), agg @ sf, agg @ (sf * sf)
        grad = B.T @ ES - v * (B2.T @ E) + lam * v
        hdiag = B2.T @ SS - 2 * v * (grp["B3"].T @ S1) + v * v * (grp["B4"].T @ N) + lam
        delta = np.divide(-grad, hdiag, out=np.zeros_like(grad), where=hdiag > 0)
        d_t = (B @ delta)[r]
        alpha = sf * d_t - (B2 @ (v * delta))[r]
        beta = 0.5 * (d_t * d_t - (B2 @ (delta * delta))[r])
        c1 = e @ alpha + lam * v @ delta
        c2 = 0.5 * (alpha @ alpha + 2 * e @ beta) + 0.5 * lam * delta @ delta
        c3, c4 = alpha @ beta, 0.5 * beta @ beta
        eta = _best_step(np.array([4 * c4, 3 * c3, 2 * c2, c1]),
                         lambda x: ((c4 * x + c3) * x + c2) * x * x + c1 * x)
        V[cols, f] = v + eta * delta
        s[:, f] = sf + eta * d_t
        pred += eta * alpha + eta * eta * beta


def _step(state):
    """One sweep over the groups (module docstring); returns J and the training SSE."""
    w, V = (a.copy() for a in state.params)
    if not hasattr(state, "pred"):
        lin, state.s, q = terms(state.space, state.idx, w, V, state.squares)
        state.pred = state.w0 + lin + 0.5 * (state.s * state.s - q).sum(axis=1)
    pred, s = state.pred.copy(), state.s.copy()
    for grp in state.groups:
        (_one_hot_update if grp["kind"] == "one_hot" else _weighted_update)(state, grp, w, V, pred, s)
    if not (np.isfinite(pred).all() and np.isfinite(V).all()):
        raise Diverged
    state.params, state.pred, state.s = [w, V], pred, s
    e = pred - state.y
    o = state.options
    state.sse_now = float(e @ e)
    return 0.5 * state.sse_now + 0.5 * o["lam"] * float(np.vdot(V, V)) + 0.5 * o["lam_bias"] * float(w @ w), None


#: ``fit(train, method="fm_als", features="all")``.
METHOD_ALS = Method("fm_als", "factorization machine (ALS)", step=_step, **{**FM_PIECES, "init": _init},
                    one_blas_thread=True, hint="try a smaller init_std (now {init_std:g}) or a larger lam (now {lam:g})",
                    options=fm_options(15))
