r"""Factorization machines (Rendle 2010) on the relational feature blocks of :mod:`cflib.features`.

The model of a rating with feature vector :math:`x \in \mathbb R^p`:

.. math::

    \hat y(x) = w_0 + \sum_i w_i x_i + \sum_{i<j} \langle v_i, v_j \rangle x_i x_j ,

with :math:`w \in \mathbb R^p` and :math:`V \in \mathbb R^{p \times k}` (row :math:`v_i`). The
pairwise term costs :math:`O(k p^2)` as written; the identity

.. math::

    \sum_{i<j} \langle v_i, v_j \rangle x_i x_j
        = \tfrac12 \sum_{f=1}^k \Big[\Big(\sum_i v_{if} x_i\Big)^2 - \sum_i v_{if}^2 x_i^2\Big]

(the square of a sum holds every pair twice plus the diagonal) makes it :math:`O(k\,n_x)` in the
number :math:`n_x` of nonzeros of x (:func:`pairwise` against :func:`pairwise_naive`). Writing
:math:`s_f = \sum_i v_{if} x_i` and :math:`q_f = \sum_i v_{if}^2 x_i^2`, the derivatives are

.. math::

    \frac{\partial \hat y}{\partial w_0} = 1, \qquad
    \frac{\partial \hat y}{\partial w_i} = x_i, \qquad
    \frac{\partial \hat y}{\partial v_{if}} = x_i (s_f - v_{if} x_i).

**MF with biases is an FM** with two one-hot groups, user and movie: x has a 1 at user j and
at movie i, so :math:`\hat y = w_0 + w_i + w_j + \langle v_i, v_j \rangle`, which is
:math:`\mu + b_i + b_{u,j} + x_i \cdot \theta_j`.

**The cost** of the solvers ``fm_sgd`` and ``fm_als`` is cflib's J with the same conventions
(a half, sums over ratings, ``lam`` for the factors, ``lam_bias`` for the linear weights) and
:math:`w_0` fixed at the mean training rating :math:`\mu`, as the biased model's:

.. math::

    J = \tfrac12 \sum_t (\hat y(x_t) - y_t)^2 + \tfrac{\lambda}{2} \|V\|_F^2 + \tfrac{\lambda_b}{2} \|w\|^2 .

On the relational design :math:`x_t = B_u[u_t] + B_m[m_t] + B_d[d_t]` every per-rating sum is a
gather of per-row products (:func:`terms`), and every gradient a per-row sum scattered back
through the blocks (:func:`data_gradient`): no (n_ratings, p) matrix is formed.

This module: the model (:class:`FMModel`) and the shared pieces of the solvers' loop entries;
:mod:`cflib.fm_sgd`, :mod:`cflib.fm_als` and :mod:`cflib.fm_mcmc` hold the three solvers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .arguments import check_index_pair
from .features import SIDE_GROUPS, FeatureSpace, build_features, resolve_groups
from .fm_base import OnFeatureBlocks
from .loop import Integer, Param, Real, State
from .ratings import RATING_SCALE

__all__ = ["FMModel", "pairwise", "pairwise_naive", "predict_dense", "terms", "predict_relational",
           "data_gradient", "cost", "gradient", "fm_options", "fm_init", "FM_PIECES"]

_BLOCKS = ("user", "movie", "date")


# ------------------------------------------------------------------ the model on a dense x
def pairwise_naive(X, V) -> np.ndarray:
    r""":math:`\sum_{i<j} \langle v_i, v_j\rangle x_i x_j` of each row of X by the definition, :math:`O(k p^2)`.

    Parameters
    ----------
    X : ndarray of shape (n, p)
    V : ndarray of shape (p, k)

    Returns
    -------
    ndarray of shape (n,)
    """
    X, V = np.asarray(X, dtype=np.float64), np.asarray(V, dtype=np.float64)
    G = V @ V.T  # <v_i, v_j>
    iu, ju = np.triu_indices(V.shape[0], k=1)
    return (X[:, iu] * X[:, ju]) @ G[iu, ju]


def pairwise(X, V) -> np.ndarray:
    r"""The same sum by the identity :math:`\frac12 \sum_f [(XV)_{\cdot f}^2 - (X^2 V^2)_{\cdot f}]`, :math:`O(k\,\text{nnz})`.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n, p)
    V : ndarray of shape (p, k)

    Returns
    -------
    ndarray of shape (n,)
    """
    V = np.asarray(V, dtype=np.float64)
    S = np.asarray(X @ V)
    X2 = X.multiply(X) if sp.issparse(X) else np.asarray(X, dtype=np.float64) ** 2
    return 0.5 * ((S * S).sum(axis=1) - np.asarray(X2 @ (V * V)).sum(axis=1))


def predict_dense(X, w0, w, V) -> np.ndarray:
    r""":math:`\hat y(x) = w_0 + X w + \text{pairwise}(X, V)` for each row of X (n, p); shape (n,)."""
    return w0 + np.asarray(X @ w).ravel() + pairwise(X, V)


# ------------------------------------------------------------------ the model on the blocks
def terms(space: FeatureSpace, idx: dict, w, V, squares=None):
    r"""Per-rating :math:`\sum_i w_i x_i`, :math:`s = \sum_i v_i x_i` and :math:`q = \sum_i v_i^2 x_i^2`.

    Each block's products (``B @ w``, ``B @ V``, ``(B*B) @ (V*V)``: one row per user, movie or
    date) are computed once and gathered at the ratings' rows ``idx``.

    Parameters
    ----------
    space : FeatureSpace
    idx : dict of str -> ndarray of int, shape (n,)
        From ``space.indices``.
    w : ndarray of shape (p,)
    V : ndarray of shape (p, k)
    squares : dict of str -> csr_matrix, optional
        The blocks squared entrywise (computed when not given).

    Returns
    -------
    lin : ndarray of shape (n,)
    s, q : ndarray of shape (n, k)
    """
    V2 = V * V
    lin = s = q = 0.0
    for b in _BLOCKS:
        B = space.blocks[b]
        if B.nnz == 0:
            continue
        B2 = squares[b] if squares is not None else B.multiply(B).tocsr()
        r = idx[b]
        lin = lin + (B @ w)[r]
        s = s + (B @ V)[r]
        q = q + (B2 @ V2)[r]
    n = idx["user"].size
    if np.isscalar(s):
        s = q = np.zeros((n, V.shape[1]))
    return (np.zeros(n) if np.isscalar(lin) else lin), s, q


def predict_relational(space, idx, w0, w, V, squares=None) -> np.ndarray:
    """Unclipped :math:`\\hat y` of the ratings at the block rows ``idx``, shape (n,) (see :func:`terms`)."""
    lin, s, q = terms(space, idx, w, V, squares)
    return w0 + lin + 0.5 * (s * s - q).sum(axis=1)


def _row_sums(r, n_rows, values):
    """Sum of ``values`` (n,) or (n, k) over the ratings of each block row ``r`` (n,)."""
    agg = sp.csr_matrix((np.ones(r.size), (r, np.arange(r.size))), shape=(n_rows, r.size))
    return agg @ values


def data_gradient(space, idx, e, s, V, squares=None):
    r"""Gradient of :math:`\frac12 \sum_t e_t^2` (with :math:`e_t = \hat y_t - y_t`) in w and V.

    .. math::

        \frac{\partial}{\partial w_i} = \sum_t e_t x_{ti}, \qquad
        \frac{\partial}{\partial v_{if}} = \sum_t e_t x_{ti} s_{tf} - v_{if} \sum_t e_t x_{ti}^2 ,

    with the sums over ratings taken per block row first: :math:`B^T (\text{per-row } \sum e)`
    and :math:`B^T (\text{per-row } \sum e\, s)`.

    Parameters
    ----------
    space : FeatureSpace
    idx : dict of str -> ndarray of int, shape (n,)
    e : ndarray of shape (n,)
    s : ndarray of shape (n, k)
        :math:`\sum_i v_i x_{ti}` of each rating (from :func:`terms`).
    V : ndarray of shape (p, k)

    Returns
    -------
    gw : ndarray of shape (p,)
    gV : ndarray of shape (p, k)
    """
    gw = np.zeros(V.shape[0])
    gV = np.zeros_like(V)
    for b in _BLOCKS:
        B = space.blocks[b]
        if B.nnz == 0:
            continue
        B2 = squares[b] if squares is not None else B.multiply(B).tocsr()
        r = idx[b]
        rows, inv = np.unique(r, return_inverse=True)
        E = _row_sums(inv, rows.size, e)
        ES = _row_sums(inv, rows.size, e[:, None] * s)
        Bs, B2s = B[rows], B2[rows]
        gw += Bs.T @ E
        gV += Bs.T @ ES - V * (B2s.T @ E)[:, None]
    return gw, gV


def cost(space, idx, y, w0, w, V, lam, lam_bias) -> float:
    """J (module docstring) of the ratings y at the block rows ``idx``."""
    e = predict_relational(space, idx, w0, w, V) - y
    return float(0.5 * e @ e + 0.5 * lam * np.vdot(V, V) + 0.5 * lam_bias * w @ w)


def gradient(space, idx, y, w0, w, V, lam, lam_bias):
    """(dJ/dw (p,), dJ/dV (p, k)) of J (module docstring)."""
    lin, s, q = terms(space, idx, w, V)
    e = w0 + lin + 0.5 * (s * s - q).sum(axis=1) - y
    gw, gV = data_gradient(space, idx, e, s, V)
    return gw + lam_bias * w, gV + lam * V


# ------------------------------------------------------------------ the trained model
@dataclass(eq=False)
class FMModel(OnFeatureBlocks):
    r"""A trained factorization machine: :math:`\hat y(x) = w_0 + w \cdot x + \sum_{i<j} \langle v_i, v_j\rangle x_i x_j`.

    Attributes
    ----------
    w0 : float
    w : ndarray of shape (p,)
    V : ndarray of shape (p, k)
    space : FeatureSpace
        The feature blocks (and the side information it reads the dates from).
    params : dict
    scale : (float, float)
        The training data's rating scale, which predictions are clipped to.
    """

    w0: float
    w: np.ndarray
    V: np.ndarray
    space: FeatureSpace
    params: dict = field(default_factory=dict)
    scale: tuple = RATING_SCALE

    @property
    def k(self) -> int:
        return int(self.V.shape[1])

    def predict(self, movies, users, *, timestamps=None, clip: bool = True) -> np.ndarray:
        """Predicted ratings of user ``users[t]`` for movie ``movies[t]``, shape (n,).

        With the ``date`` group the rating's date is ``timestamps[t]`` when given, else the date
        u.data records for the pair (the side information), else the latest date bucket. So
        ``cflib.evaluate.evaluate(model, test)`` scores the test ratings at their own dates.
        """
        movies, users = check_index_pair(movies, users, self.n_movies, self.n_users)
        pred = predict_relational(self.space, self.space.indices(movies, users, timestamps), self.w0, self.w,
                                  self.V, self._squares)
        return np.clip(pred, *self.scale) if clip else pred

    def predict_all(self, *, clip: bool = True) -> np.ndarray:
        """Every movie for every user at the latest date bucket, shape (n_movies, n_users).

        ``x = B_m[i] + B_u[j] + B_d[last]``, so :math:`\\hat y_{ij}` is a sum of per-movie and per-user
        terms plus :math:`\\langle s_i, s_j \\rangle`: one (n_movies, k) @ (k, n_users) product.
        """
        parts = {}
        for b in ("movie", "user"):
            B = self.space.blocks[b]
            s = B @ self.V
            parts[b] = (B @ self.w + 0.5 * ((s * s).sum(1) - (self._squares[b] @ (self.V ** 2)).sum(1)), s)
        d = self.space.n_dates - 1
        Bd = self.space.blocks["date"][[d]]
        sd = np.asarray((Bd @ self.V)).ravel()
        ld = float((Bd @ self.w)[0]) + 0.5 * float(sd @ sd - (self._squares["date"][[d]] @ (self.V ** 2)).sum())
        (lm, sm), (lu, su) = parts["movie"], parts["user"]
        Y = self.w0 + ld + (lm + sm @ sd)[:, None] + (lu + su @ sd)[None, :] + sm @ su.T
        return np.clip(Y, *self.scale, out=Y) if clip else Y


    def __repr__(self):
        return f"FMModel(k={self.k}, p={self.V.shape[0]}, groups={self.space.groups})"


# ------------------------------------------------------------------ the loop pieces
def _check_features(value, name, options):
    resolve_groups(value, side=object())  # the names; whether side data is there is checked at init
    return value if isinstance(value, str) else tuple(value)


def _check_side(value, name, options):
    if value is not None and not hasattr(value, "rating_times"):
        raise TypeError(f"side must be None or a SideInfo (cflib.datasets.load_side_info()), got {type(value).__name__}")
    return value


def fm_options(n_iters, **extra):
    """The declared options shared by the FM solvers, plus a solver's own."""
    return dict(features=Param("ids", _check_features), side=Param(None, _check_side), k=Param(10, Integer(0)),
                lam=Param(10.0, Real(0.0)), lam_bias=Param(5.0, Real(0.0)), n_iters=Param(n_iters, Integer(1)),
                init_std=Param(0.1, Real(0.0)), **extra)


def fm_init(train, validation, seed, o):
    """The feature blocks, w0 = mean rating, w = 0, V ~ init_std * N(0, 1), and the training rows.

    Without ``side``, ratings of ml-100k (``train.name`` starting with "ml-100k", as from
    ``load_split``) get :func:`cflib.datasets.load_side_info` when their groups need it (the side
    groups, and ``date`` so that a test rating's date can be read); for other data ``"all"`` means
    the groups the ratings alone give.
    """
    side = o["side"]
    ml100k = side is None and str(train.name).startswith("ml-100k")  # ratings of load_movielens / load_split
    groups = resolve_groups(o["features"], side=side if side is not None else (object() if ml100k else None))
    if ml100k and any(g in SIDE_GROUPS or g == "date" for g in groups):
        from .datasets import load_side_info  # the side data (and every rating's date) of the same folder
        side = load_side_info(progress=False)
    space = build_features(train, groups, side)
    rng = np.random.default_rng(seed)
    p, k = space.n_features, o["k"]
    state = State(train=train, options=o, seed=seed, rng=rng, space=space, w0=float(train.ratings.mean()),
                  squares={b: B.multiply(B).tocsr() for b, B in space.blocks.items()},
                  idx=space.indices(train.movies, train.users, train.timestamps if "date" in groups else None),
                  y=train.ratings, validation=validation, val_idx=None)
    if validation is not None:
        state.val_idx = space.indices(validation.movies, validation.users,
                                      validation.timestamps if "date" in groups else None)
    state.params = [np.zeros(p), o["init_std"] * rng.standard_normal((p, k))]
    return state


def fm_cost(state):
    o = state.options
    w, V = state.params
    e = predict_relational(state.space, state.idx, state.w0, w, V, state.squares) - state.y
    state.sse_now = float(e @ e)
    return 0.5 * state.sse_now + 0.5 * o["lam"] * float(np.vdot(V, V)) + 0.5 * o["lam_bias"] * float(w @ w)


def fm_sse(state, J):
    return state.sse_now


def fm_predict(state, movies, users):
    w, V = state.params
    if state.validation is not None and movies is state.validation.movies:
        idx = state.val_idx
    else:
        idx = state.space.indices(movies, users)
    return predict_relational(state.space, idx, state.w0, w, V, state.squares)


def fm_finish(state, params, history):
    w, V = state.params
    return FMModel(w0=state.w0, w=w, V=V, space=state.space, params=params,
                   scale=getattr(state.train, "scale", RATING_SCALE))


def fm_memory(train, o):
    k = o["k"]
    floats = 4 * (train.n_movies + train.n_users) * (k + 1) * 2 + 4 * train.nnz * (k + 1)
    return floats, f"k={k}", "the factors V, their gradients and the per-rating sums", "choose a smaller k"


#: The pieces of an FM solver's entry besides its step (as :data:`cflib.blocks.PIECES`).
FM_PIECES = dict(init=fm_init, cost=fm_cost, sse=fm_sse, predict=fm_predict, finish=fm_finish, memory=fm_memory,
                 kinds=("fm",))
