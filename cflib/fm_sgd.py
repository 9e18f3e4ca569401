r"""Minibatch SGD for the factorization machine of :mod:`cflib.fm` (``fit(train, method="fm_sgd")``).

An epoch visits the training ratings in a new random order (``seed``), in batches; each batch
computes its errors and the gradient of its share of J (:func:`batch_gradient`, the same
per-row sums as :func:`cflib.fm.data_gradient`, on the block rows the batch touches only) and
steps; the step shrinks from epoch to epoch (:func:`_sgd_step`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .fm import FM_PIECES, fm_options
from .history import Diverged
from .loop import Integer, Method, Param, Real

__all__ = ["METHOD_SGD", "batch_gradient", "rating_gradient", "rating_step"]

_BLOCKS = ("user", "movie", "date")


def batch_gradient(space, squares, idx, y, w0, w, V):
    """Errors and the data gradient of a few ratings: only the block rows they touch are multiplied.

    Returns ``(e (n,), gw (p,), gV (p, k), c (p,))``: ``gw`` and ``gV`` as :func:`data_gradient` at the
    batch's ratings, and :math:`c_i = \\sum_{t \\in B} x_{ti}`, how much of the batch feature i is in.
    """
    V2 = V * V
    lin, s, q, parts = 0.0, 0.0, 0.0, []
    for b in _BLOCKS:
        B = space.blocks[b]
        if B.nnz == 0:
            continue
        rows, inv = np.unique(idx[b], return_inverse=True)
        Bs, B2s = B[rows], squares[b][rows]
        lin = lin + (Bs @ w)[inv]
        s = s + (Bs @ V)[inv]
        q = q + (B2s @ V2)[inv]
        parts.append((inv, rows.size, Bs, B2s))
    e = w0 + lin + 0.5 * (s * s - q).sum(axis=1) - y
    gw, gV, c = np.zeros_like(w), np.zeros_like(V), np.zeros_like(w)
    for inv, n_rows, Bs, B2s in parts:
        agg = sp.csr_matrix((np.ones(inv.size), (inv, np.arange(inv.size))), shape=(n_rows, inv.size))
        E, ES = agg @ e, agg @ (e[:, None] * s)
        gw += Bs.T @ E
        gV += Bs.T @ ES - V * (B2s.T @ E)[:, None]
        c += Bs.T @ np.bincount(inv, minlength=n_rows).astype(np.float64)
    return e, gw, gV, c


def rating_gradient(x, y, w0, w, V):
    r"""Gradient of :math:`\tfrac12 (\hat y(x) - y)^2` for one rating, on a dense feature vector x.

    With :math:`e = \hat y(x) - y` and :math:`s_f = \sum_j v_{jf} x_j`:

    .. math::

        g_0 = e, \qquad g_{w_i} = e\, x_i, \qquad g_{v_{if}} = e\, x_i (s_f - v_{if} x_i).

    Parameters
    ----------
    x : ndarray of shape (p,)
    y : float
    w0 : float
    w : ndarray of shape (p,)
    V : ndarray of shape (p, k)

    Returns
    -------
    g0 : float
    gw : ndarray of shape (p,)
    gV : ndarray of shape (p, k)
    """
    x, w, V = (np.asarray(a, dtype=np.float64) for a in (x, w, V))
    s = x @ V
    e = float(w0 + w @ x + 0.5 * (s @ s - ((x * x) @ (V * V)).sum()) - y)
    return e, e * x, e * x[:, None] * (s[None, :] - V * x[:, None])


def rating_step(x, y, w0, w, V, lr, lam):
    r"""One SGD step on one rating of :math:`\tfrac12 e^2 + \tfrac{\lambda}{2}(\|w\|^2 + \|V\|_F^2)` (w0 not penalised).

    Every gradient is taken at the old parameters (:func:`rating_gradient`):

    .. math::

        w_0 \leftarrow w_0 - \eta\, e, \qquad
        w \leftarrow w - \eta (e\, x + \lambda w), \qquad
        V \leftarrow V - \eta (G_V + \lambda V).

    Parameters
    ----------
    x, y, w0, w, V :
        As :func:`rating_gradient`.
    lr : float
        The step :math:`\eta`.
    lam : float
        :math:`\lambda`.

    Returns
    -------
    (w0, w, V) : float, ndarray (p,), ndarray (p, k)
        New values; the inputs are not changed.
    """
    g0, gw, gV = rating_gradient(x, y, w0, w, V)
    w, V = np.asarray(w, dtype=np.float64), np.asarray(V, dtype=np.float64)
    return float(w0 - lr * g0), w - lr * (gw + lam * w), V - lr * (gV + lam * V)


def _sgd_step(state):
    r"""One epoch of minibatch SGD: the ratings in a new random order, in batches of ``batch_size``.

    A batch B holds the gradient :math:`g = \nabla J_B` of
    :math:`J_B = \tfrac12 \sum_{t \in B} e_t^2 + \tfrac{|B|}{n} \cdot \text{penalty}` (the batches of an
    epoch add up to J) and steps each parameter of feature i by
    :math:`-\eta\, g_i / \max(1, c_i)`, with :math:`c_i = \sum_{t \in B} x_{ti}` (features are >= 0): a feature in many
    of the batch's ratings (a gender, a date) would otherwise take a step hundreds of times longer
    than a user id's and diverge; so each feature moves as one SGD step per rating would move it
    (libFM's SGD takes one rating at a time): :math:`g_{w_i} / c_i` is a weighted mean of the batch's
    errors where feature i is on, bounded by the largest error. The step
    :math:`\eta = \text{lr} \cdot \text{lr\_decay}^{\text{epoch}}` shrinks: a constant step leaves the
    iterate bouncing in a region whose size grows with the step; the shrinking step lets it
    settle (the Robbins-Monro condition, in the geometric form libraries use).
    """
    o, rng, space = state.options, state.rng, state.space
    w, V = (a.copy() for a in state.params)
    epoch = getattr(state, "epoch", 0)
    lr = o["lr"] * o["lr_decay"] ** epoch
    n = state.y.size
    order = rng.permutation(n)
    for start in range(0, n, o["batch_size"]):
        batch = order[start:start + o["batch_size"]]
        idx = {b: r[batch] for b, r in state.idx.items()}
        e, gw, gV, c = batch_gradient(space, state.squares, idx, state.y[batch], state.w0, w, V)
        share = batch.size / n
        step = lr / np.maximum(c, 1.0)
        w -= step * (gw + share * o["lam_bias"] * w)
        V -= step[:, None] * (gV + share * o["lam"] * V)
        if not np.isfinite(e).all():
            raise Diverged
    state.epoch = epoch + 1
    state.params = [w, V]
    return None


#: ``fit(train, method="fm_sgd", features="all", lr=0.05)``.
METHOD_SGD = Method(
    "fm_sgd", "factorization machine (minibatch SGD)", step=_sgd_step, **FM_PIECES,
    hint="the step lr={lr:g} is too large; try a smaller one (e.g. lr={lr_smaller:g})",
    options=fm_options(30, lr=Param(0.01, Real(0.0, closed="right")),
                       lr_decay=Param(0.95, Real(0.0, 1.0, closed="right")),
                       batch_size=Param(1024, Integer(1))))
