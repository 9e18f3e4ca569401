r"""BPR: Bayesian personalized ranking, a pairwise loss trained by SGD (Rendle et al., UAI 2009).

Implicit ALS (notebook 10) asks every score to match 0 or 1. BPR asks only
for the right *order*: a movie the user interacted with (a positive i) should
score above a movie they did not (a negative j). With movie factors X
(n_movies, k), user factors Theta (n_users, k) and scores
:math:`s_{iu} = x_i \cdot \theta_u`, one training triple (u, i, j) costs

.. math::

    \ell_{uij} = -\ln \sigma(z_{uij}) + \tfrac{\lambda}{2}\big(\|\theta_u\|^2 + \|x_i\|^2 + \|x_j\|^2\big),
    \qquad z_{uij} = \theta_u \cdot (x_i - x_j), \qquad \sigma(z) = \frac{1}{1 + e^{-z}},

where :math:`-\ln \sigma(z)` is the logistic loss of "i before j" (it is
small when :math:`z \gg 0`). With :math:`g = \sigma(-z_{uij})`, since
:math:`\frac{d}{dz}(-\ln\sigma(z)) = -\sigma(-z)`:

.. math::

    \frac{\partial \ell}{\partial \theta_u} = -g\,(x_i - x_j) + \lambda \theta_u, \qquad
    \frac{\partial \ell}{\partial x_i} = -g\,\theta_u + \lambda x_i, \qquad
    \frac{\partial \ell}{\partial x_j} = g\,\theta_u + \lambda x_j .

The penalty is on the rows a triple touches, as in Rendle et al.'s SGD.
:func:`bpr_loss` sums :math:`\ell` over a batch of triples and
:func:`bpr_gradient` gives its gradient (repeated rows add up);
:func:`bpr_step` is one SGD step, :math:`p \leftarrow p - \eta \nabla`.

Training
--------
One epoch (``n_iters`` counts epochs) visits every positive (u, i) once, in a
random order, in mini-batches of ``batch_size``; each positive gets one
negative j drawn uniformly from the movies that are *not* u's positives
(redrawn until it is not one). Everything random comes from
``np.random.default_rng(seed)``. The history's ``cost`` is the sum of the
epoch's :math:`\ell_{uij}`, each taken just before its batch's step (a noisy
figure: the negatives change every epoch).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from .arguments import check_factors, check_indices, check_scalar
from .implicit_als import INTERACTIONS, ImplicitHistory, ImplicitModel, to_interactions
from .loop import Integer, Method, OneOf, Param, Real, State, run

__all__ = ["BPRModel", "METHOD", "fit_bpr", "bpr_loss", "bpr_gradient", "bpr_step", "DEFAULTS"]

#: Defaults chosen on a validation split of u1.base (``benchmarks/bench_eval.py --tune-bpr``).
DEFAULTS = dict(k=64, lam=0.03, lr=0.05, n_iters=60, batch_size=256, interactions="liked")


def _check_triples(X, Theta, users, pos, neg):
    X, Theta = check_factors(X, Theta)
    users = check_indices(users, "users", Theta.shape[0], what="rows of Theta")
    pos = check_indices(pos, "pos", X.shape[0], what="rows of X")
    neg = check_indices(neg, "neg", X.shape[0], what="rows of X")
    if not users.size == pos.size == neg.size:
        raise ValueError(f"users, pos and neg must have the same length (one triple each), got {users.size}, "
                         f"{pos.size} and {neg.size}")
    return X, Theta, users, pos, neg


def bpr_loss(X, Theta, users, pos, neg, lam) -> float:
    r"""The summed BPR loss of the triples ``(users[t], pos[t], neg[t])`` (module docstring).

    .. math::

        L = \sum_t \Big[\ln\big(1 + e^{-z_t}\big)
            + \tfrac{\lambda}{2}\big(\|\theta_{u_t}\|^2 + \|x_{i_t}\|^2 + \|x_{j_t}\|^2\big)\Big]

    Parameters
    ----------
    X : ndarray of shape (n_movies, k)
    Theta : ndarray of shape (n_users, k)
    users, pos, neg : array_like of int, shape (n,)
        Each triple: a user, a movie they interacted with, a movie they did not.
    lam : float >= 0
    """
    X, Theta, users, pos, neg = _check_triples(X, Theta, users, pos, neg)
    return _loss(X, Theta, users, pos, neg, check_scalar(lam, "lam", min_val=0.0))


def _loss(X, Theta, users, pos, neg, lam):
    T, Xi, Xj = Theta[users], X[pos], X[neg]
    z = np.einsum("nk,nk->n", T, Xi - Xj)
    reg = np.einsum("nk,nk->n", T, T) + np.einsum("nk,nk->n", Xi, Xi) + np.einsum("nk,nk->n", Xj, Xj)
    return float(np.sum(np.logaddexp(0.0, -z)) + 0.5 * lam * np.sum(reg))


def bpr_gradient(X, Theta, users, pos, neg, lam):
    r"""The gradient of :func:`bpr_loss`: ``(X_grad, Theta_grad)``, shapes (n_movies, k) and (n_users, k).

    With :math:`g_t = \sigma(-z_t)`, triple t adds :math:`-g_t (x_i - x_j) + \lambda \theta_u`
    to row u of ``Theta_grad``, :math:`-g_t \theta_u + \lambda x_i` to row i and
    :math:`g_t \theta_u + \lambda x_j` to row j of ``X_grad`` (repeated rows add up).
    """
    X, Theta, users, pos, neg = _check_triples(X, Theta, users, pos, neg)
    return _gradient(X, Theta, users, pos, neg, check_scalar(lam, "lam", min_val=0.0))[:2]


def _gradient(X, Theta, users, pos, neg, lam):
    """``(X_grad, Theta_grad, loss)`` on checked arguments."""
    user_terms, movies, movie_terms, loss = _terms(X, Theta, users, pos, neg, lam)
    X_grad = np.zeros_like(X)
    Theta_grad = np.zeros_like(Theta)
    _scatter_add(Theta_grad, users, user_terms)
    _scatter_add(X_grad, movies, movie_terms)
    return X_grad, Theta_grad, loss


def _terms(X, Theta, users, pos, neg, lam):
    """Each triple's gradient rows: for Theta (at ``users``), for X (at ``movies`` = pos then neg); and the loss."""
    T, Xi, Xj = Theta[users], X[pos], X[neg]
    d = Xi - Xj
    z = np.einsum("nk,nk->n", T, d)
    g = expit(-z)[:, None]
    reg = np.einsum("nk,nk->n", T, T) + np.einsum("nk,nk->n", Xi, Xi) + np.einsum("nk,nk->n", Xj, Xj)
    loss = float(np.sum(np.logaddexp(0.0, -z)) + 0.5 * lam * np.sum(reg))
    return -g * d + lam * T, np.concatenate([pos, neg]), np.concatenate([-g * T + lam * Xi, g * T + lam * Xj]), loss


def _scatter_add(target, rows, values):
    """``target[rows[t]] += values[t]``, repeated rows adding up (as ``np.add.at``).

    The rows are summed by one sparse product: ``M @ values`` with M (n_distinct, n) holding
    a 1 at (the distinct row of t, t); faster than ``np.add.at`` for a batch of 512 rows.
    """
    distinct, inverse = np.unique(rows, return_inverse=True)
    M = sp.csc_array((np.ones(rows.size), inverse, np.arange(rows.size + 1)), shape=(distinct.size, rows.size))
    target[distinct] += M @ values


def bpr_step(X, Theta, users, pos, neg, lam, lr):
    r"""One SGD step on a batch of triples: :math:`X - \eta \nabla_X L`, :math:`\Theta - \eta \nabla_\Theta L`.

    Returns new arrays ``(X_new, Theta_new)``; the inputs are not modified.
    """
    lr = check_scalar(lr, "lr", min_val=0.0, include_boundaries="right")
    X_grad, Theta_grad = bpr_gradient(X, Theta, users, pos, neg, lam)
    return np.asarray(X, dtype=np.float64) - lr * X_grad, np.asarray(Theta, dtype=np.float64) - lr * Theta_grad


class BPRModel(ImplicitModel):
    """Scores :math:`s_{iu} = x_i \\cdot \\theta_u` learned by BPR: only their order per user means anything.

    Attributes
    ----------
    X : ndarray of shape (n_movies, k)
    Theta : ndarray of shape (n_users, k)
    params : dict   the fit arguments
    """

    def _no_clip(self, clip):
        if clip:
            raise ValueError("BPR scores only order the movies of a user, they are not ratings: call with "
                             "clip=False (judge the model with cflib.ranking.ranking_metrics, not RMSE)")

    def __repr__(self):
        return f"BPRModel(k={self.k}, n_movies={self.n_movies}, n_users={self.n_users})"


def fit_bpr(train, *, k: int | None = None, lam: float | None = None, lr: float | None = None,
            n_iters: int | None = None, batch_size: int | None = None, interactions: str | None = None,
            init_scale: float = 0.1, seed: int = 0, validation=None, progress: bool = False):
    """Fit BPR-MF by mini-batch SGD with sampled negatives, through the one loop (``fit(train, method="bpr")``).

    Parameters
    ----------
    train : Ratings
    k : int >= 1, default ``DEFAULTS["k"]``
    lam : float >= 0, default ``DEFAULTS["lam"]``
        Penalty on the rows each triple touches.
    lr : float > 0, default ``DEFAULTS["lr"]``
        The SGD step :math:`\\eta`.
    n_iters : int >= 1, default ``DEFAULTS["n_iters"]``
        Epochs: every positive is visited once per epoch.
    batch_size : int >= 1, default ``DEFAULTS["batch_size"]``
    interactions : {"liked", "all"}, default ``DEFAULTS["interactions"]``
        Positives: training ratings >= 4, or every training rating.
    init_scale : float > 0, default 0.1
        Initial factors ``init_scale * standard_normal``.
    seed : int >= 0
        Seeds the initialization, the visiting order and the negatives.
    validation : Ratings, optional
        If given, NDCG@10 on it (ratings >= 4 relevant) after every epoch, in ``history.val_ndcg``.

    Returns
    -------
    model : BPRModel
    history : cflib.implicit_als.ImplicitHistory
    """
    return run(METHOD, train, validation=validation, seed=seed, progress=progress, k=k, lam=lam, lr=lr,
               n_iters=n_iters, batch_size=batch_size, interactions=interactions, init_scale=init_scale)


# ------------------------------------------------------------------ the entry of the one loop
def _init(train, validation, seed, o):
    if validation is not None and not np.any(validation.ratings >= 4.0):
        raise ValueError("validation has no rating >= 4, so NDCG@10 cannot be measured on it: "
                         "give a larger validation set or validation=None")
    movies, users, _ = to_interactions(train, interactions=o["interactions"])
    n_pos = np.bincount(users, minlength=train.n_users)
    full = n_pos[users] >= train.n_movies  # a user with every movie as a positive has no negative
    movies, users = movies[~full], users[~full]
    if movies.size == 0:
        raise ValueError(f"train has no positives with interactions={o['interactions']!r} (or no negatives): "
                         "use interactions='all'")
    rng = np.random.default_rng(seed)
    X = o["init_scale"] * rng.standard_normal((train.n_movies, o["k"]))
    Theta = o["init_scale"] * rng.standard_normal((train.n_users, o["k"]))
    keys = np.sort(users * np.int64(train.n_movies) + movies)
    return State(train=train, options=o, seed=seed, params=[X, Theta], rng=rng, movies=movies, users=users,
                 keys=keys)


def _negatives(state, users):
    """One movie per entry of ``users`` that is not among that user's positives (uniform, redrawn)."""
    n_movies, keys, rng = state.train.n_movies, state.keys, state.rng
    neg = rng.integers(0, n_movies, users.size)
    todo = np.arange(users.size)
    while todo.size:
        key = users[todo] * np.int64(n_movies) + neg[todo]
        at = np.minimum(np.searchsorted(keys, key), keys.size - 1)
        todo = todo[keys[at] == key]
        neg[todo] = rng.integers(0, n_movies, todo.size)
    return neg


def _step(state):
    """One epoch of mini-batch SGD."""
    o = state.options
    X, Theta = (p.copy() for p in state.params)
    order = state.rng.permutation(state.movies.size)
    total = 0.0
    for start in range(0, order.size, o["batch_size"]):
        batch = order[start:start + o["batch_size"]]
        users, pos = state.users[batch], state.movies[batch]
        neg = _negatives(state, users)
        user_terms, movies, movie_terms, loss = _terms(X, Theta, users, pos, neg, o["lam"])
        # both sides move from the same point: every term above was computed before either update
        _scatter_add(Theta, users, -o["lr"] * user_terms)
        _scatter_add(X, movies, -o["lr"] * movie_terms)
        total += loss
    state.params = [X, Theta]
    return total, None


def _record(state, history, validation):
    if validation is not None:
        from .ranking import ranking_metrics
        history.val_ndcg.append(ranking_metrics(BPRModel(*state.params), state.train, validation)["ndcg"])


def _finish(state, params, history):
    return BPRModel(X=state.params[0], Theta=state.params[1], params=params)


def _memory(train, o):
    return 3 * (train.n_movies + train.n_users) * o["k"] + 4 * train.nnz, f"k={o['k']}", \
        "the factors and their gradients", "choose a smaller k (the number of features)"


#: The registry entry (:mod:`cflib.trainers`): ``fit(train, method="bpr", k=64)``.
METHOD = Method(
    "bpr", "BPR (pairwise, SGD)", step=_step, init=_init, record=_record, finish=_finish, history=ImplicitHistory,
    memory=_memory, kinds=("implicit",),
    hint="the step lr={lr:g} is too large; try a smaller one (e.g. lr={lr_smaller:g})",
    options=dict(k=Param(DEFAULTS["k"], Integer(1)), lam=Param(DEFAULTS["lam"], Real(0.0)),
                 lr=Param(DEFAULTS["lr"], Real(0.0, closed="right")), n_iters=Param(DEFAULTS["n_iters"], Integer(1)),
                 batch_size=Param(DEFAULTS["batch_size"], Integer(1)),
                 interactions=Param(DEFAULTS["interactions"], OneOf(*INTERACTIONS)),
                 init_scale=Param(0.1, Real(0.0, closed="neither"))))
