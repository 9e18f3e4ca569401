r"""The course's model over its parameter blocks: J, the trained model, and a method's shared pieces.

Both model kinds of :func:`cflib.train.fit` are the cost J of
:mod:`cflib.objective` with the ratings shifted by fixed offsets; the biased
kind adds two learned columns (``[X, b, 1] @ [Theta, 1, b_u].T`` equals
``X @ Theta.T + b + b_u``). The parameters travel as a list of *blocks*:
``[X, Theta]`` (normalized) or ``[X, Theta, movie_bias, user_bias]`` (biased),
with X (n_movies, k), Theta (n_users, k), movie_bias (n_movies,), user_bias (n_users,).

A method that trains this model (``gd``, ``momentum``, ``lbfgs``, ``als`` of
:mod:`cflib.trainers`, or a new one) writes only its ``step``; the rest of its
:class:`cflib.loop.Method` entry comes from here: :func:`options` (the declared
options and defaults), :func:`init` (the initialization and the
:class:`BlockObjective` in ``state.objective``), :func:`cost`, :func:`sse`,
:func:`predict` and :func:`finish` (the :class:`MFModel`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .baselines import DEFAULT_LAM_BIAS, BiasedPredictor, predict_at
from .history import Diverged
from .loop import Integer, Param, Real, State, all_finite
from .sparse import SparseProblem, row_dots

__all__ = ["BlockObjective", "MFModel", "options", "init", "cost", "sse", "predict", "finish", "PIECES", "DEFAULT_LAM",
           "KINDS"]

#: The model kinds (``MFModel.kind``).
KINDS = ("biased", "normalized")
#: ``lam`` used when not given (sum-form penalty of J), per kind, tuned for the default k=10
#: with ALS on the ml-100k folds u1..u5 (benchmarks/results_training.md).
DEFAULT_LAM = {"normalized": 12.0, "biased": 15.0}


class BlockObjective:
    """J of the chosen model kind as a function of the parameter blocks, via one SparseProblem.

    Parameters
    ----------
    train : Ratings
    kind : {"normalized", "biased"}
    k : int
    lam, lam_bias : float
    mu : float
        Global mean of the training ratings.
    movie_offset : ndarray of shape (n_movies,)
        Fixed per-movie offset on top of mu (movie mean - mu for the normalized kind, else 0).
    """

    def __init__(self, train, kind, k, lam, lam_bias, mu, movie_offset):
        self.kind, self.k, self.lam, self.lam_bias = kind, k, lam, lam_bias
        self.mu, self.movie_offset = mu, movie_offset  # fixed offsets: mu + movie_offset[i]
        self.n_movies, self.n_users = train.n_movies, train.n_users
        self.movies, self.users, self.nnz = train.movies, train.users, train.nnz
        # What X Theta^T (plus the learned biases) must explain.
        self.shifted = train.ratings - mu - movie_offset[train.movies]
        self._prob = None
        self._ones_m = np.ones((self.n_movies, 1))
        self._ones_u = np.ones((self.n_users, 1))

    @property
    def prob(self):
        """The SparseProblem of the shifted ratings, built on first use (not needed by ALS)."""
        if self._prob is None:
            self._prob = SparseProblem(self.movies, self.users, self.shifted, self.n_movies, self.n_users)
        return self._prob

    def augmented(self, blocks):
        if self.kind == "normalized":
            return blocks[0], blocks[1]
        X, Theta, bm, bu = blocks
        return (np.hstack([X, bm[:, None], self._ones_m]), np.hstack([Theta, self._ones_u, bu[:, None]]))

    def penalty(self, blocks):
        P = 0.5 * self.lam * (np.vdot(blocks[0], blocks[0]) + np.vdot(blocks[1], blocks[1]))
        if self.kind == "biased":
            P += 0.5 * self.lam_bias * (blocks[2] @ blocks[2] + blocks[3] @ blocks[3])
        return float(P)

    def cost_and_gradient(self, blocks):
        """J and its gradient per block; :class:`~cflib.history.Diverged` when a block is not finite.

        Every runner evaluates through here (gradient descent, momentum, and
        L-BFGS, whose line search may try a point that overflows), so a
        non-finite point ends the run as a divergence, never as an input error.
        """
        if not all_finite(blocks):
            raise Diverged
        Xa, Ta = self.augmented(blocks)
        J, (gXa, gTa) = self.prob.cost_and_gradient(Xa, Ta, 0.0)
        k, lam = self.k, self.lam
        grads = [gXa[:, :k] + lam * blocks[0], gTa[:, :k] + lam * blocks[1]]
        if self.kind == "biased":
            grads += [gXa[:, k] + self.lam_bias * blocks[2], gTa[:, k + 1] + self.lam_bias * blocks[3]]
        return J + self.penalty(blocks), grads

    def cost(self, blocks):
        """J from one pass over the ratings."""
        e = row_dots(*self.augmented(blocks), self.movies, self.users) - self.shifted
        return 0.5 * float(e @ e) + self.penalty(blocks)

    def biases(self, blocks):
        """``(movie_bias, user_bias)`` of the prediction rule, fixed offsets included."""
        if self.kind == "biased":
            return self.movie_offset + blocks[2], blocks[3]
        return self.movie_offset, np.zeros(self.n_users)


@dataclass(eq=False)
class MFModel(BiasedPredictor):
    r"""A trained matrix-factorization model (its predict and predict_all are :class:`cflib.baselines.BiasedPredictor`'s).

    Predictions: :math:`\hat y_{ij} = \mu + b_i + b_{u,j} + x_i \cdot \theta_j`,
    clipped to 1..5. For ``kind="normalized"``, :math:`\mu + b_i` is the movie's
    mean training rating (``movie_mean``) and ``user_bias`` is 0.

    Attributes
    ----------
    X : ndarray of shape (n_movies, k)
    Theta : ndarray of shape (n_users, k)
    mu : float
        Global mean of the training ratings.
    movie_bias : ndarray of shape (n_movies,)
    user_bias : ndarray of shape (n_users,)
    kind : {"normalized", "biased"} (or ``"plain"`` for :mod:`cflib.als_wr`)
    lam, lam_bias : float
        Regularization of the factors and of the biases.
    movie_counts : ndarray of int, shape (n_movies,)
        Training ratings per movie.
    user_counts : ndarray of int, shape (n_users,)
    params : dict
        The ``fit`` arguments that produced the model, as used (to retrain with).
    train : Ratings or None
        The training ratings (a reference, not a copy).
    """

    X: np.ndarray
    Theta: np.ndarray
    mu: float
    movie_bias: np.ndarray
    user_bias: np.ndarray
    kind: str
    lam: float
    lam_bias: float
    movie_counts: np.ndarray
    user_counts: np.ndarray
    params: dict = field(default_factory=dict)
    train: object = None

    @property
    def k(self) -> int:
        return int(self.X.shape[1])

    @property
    def movie_mean(self) -> np.ndarray:
        """``mu + movie_bias``, shape (n_movies,): each movie's mean rating for a normalized model."""
        return self.mu + self.movie_bias

    def __repr__(self):
        return (f"MFModel(kind={self.kind!r}, k={self.k}, lam={self.lam:g}, n_movies={self.n_movies}, "
                f"n_users={self.n_users}, method={self.params.get('method')!r})")


# ------------------------------------------------------------------ a method's shared pieces
def options(n_iters: int, **extra) -> dict:
    """The declared options of a method on this model: ``kind`` (checked against the entry's ``kinds``),
    ``k``, ``lam``, ``lam_bias`` (biased kind only), ``n_iters``, ``init_scale``, then ``extra`` (name -> Param)."""
    return dict(kind=Param(None), k=Param(10, Integer(0)),
                lam=Param(lambda o: DEFAULT_LAM[o["kind"]], Real(0.0)),
                lam_bias=Param(DEFAULT_LAM_BIAS, Real(0.0), when=lambda o: o["kind"] == "biased"),
                n_iters=Param(n_iters, Integer(1)),
                init_scale=Param(0.1, Real(0.0, closed="right")),
                **extra)


def init(train, validation, seed, options) -> State:
    """Offsets, the objective and the initialization: ``init_scale * standard_normal`` factors
    (rows without ratings 0), zero biases; ``state.params`` is ``[X, Theta]`` or ``[X, Theta, b, b_u]``."""
    kind, k = options["kind"], options["k"]
    movie_counts = np.bincount(train.movies, minlength=train.n_movies)
    user_counts = np.bincount(train.users, minlength=train.n_users)
    mu = float(train.ratings.mean())
    if kind == "normalized":
        sums = np.bincount(train.movies, weights=train.ratings, minlength=train.n_movies)
        movie_offset = np.divide(sums, movie_counts, out=np.full(train.n_movies, mu), where=movie_counts > 0) - mu
    else:
        movie_offset = np.zeros(train.n_movies)
    objective = BlockObjective(train, kind, k, options["lam"], options.get("lam_bias", 0.0), mu, movie_offset)
    rng = np.random.default_rng(seed)
    X = options["init_scale"] * rng.standard_normal((train.n_movies, k))
    Theta = options["init_scale"] * rng.standard_normal((train.n_users, k))
    X[movie_counts == 0] = 0.0
    Theta[user_counts == 0] = 0.0
    params = [X, Theta]
    if kind == "biased":
        params += [np.zeros(train.n_movies), np.zeros(train.n_users)]
    return State(train=train, options=options, seed=seed, params=params, objective=objective,
                 movie_counts=movie_counts, user_counts=user_counts)


def cost(state) -> float:
    """J at ``state.params`` (one pass over the ratings)."""
    return state.objective.cost(state.params)


def sse(state, J) -> float:
    """The training sum of squared errors read off J: ``2 (J - penalty)`` (no pass over the ratings)."""
    return 2.0 * (J - state.objective.penalty(state.params))


def predict(state, movies, users) -> np.ndarray:
    """Unclipped predictions of ``state.params`` at ``(movies[t], users[t])``."""
    bm, bu = state.objective.biases(state.params)
    return predict_at(state.params[0], state.params[1], state.objective.mu, bm, bu, movies, users)


def finish(state, params, history) -> MFModel:
    """The :class:`MFModel` of ``state.params``."""
    obj, blocks = state.objective, state.params
    movie_bias, user_bias = obj.biases(blocks)
    return MFModel(X=np.ascontiguousarray(blocks[0]), Theta=np.ascontiguousarray(blocks[1]), mu=obj.mu,
                   movie_bias=np.array(movie_bias), user_bias=np.array(user_bias), kind=obj.kind, lam=obj.lam,
                   lam_bias=obj.lam_bias if obj.kind == "biased" else 0.0, movie_counts=state.movie_counts,
                   user_counts=state.user_counts, params=params, train=state.train)


#: The entry fields every method on this model shares: ``Method(name, label, step=..., options=...,
#: **blocks.PIECES)`` (a method may replace one, e.g. ALS its ``init``).
PIECES = dict(init=init, cost=cost, sse=sse, predict=predict, finish=finish)
