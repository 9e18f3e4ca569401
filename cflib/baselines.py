r"""Baseline predictors: the rungs of the ladder below matrix factorization.

Three predictors of increasing power, each a special case of

.. math::

    \hat y_{ij} = \mu + b_i + b_u{}_j

with :math:`\mu` the global mean of the training ratings, :math:`b_i` a movie
bias (row offset) and :math:`b_{u,j}` a user bias (column offset):

* ``"global"``: :math:`b_i = b_{u,j} = 0`, every prediction is :math:`\mu`;
* ``"movie"``: :math:`b_i = \sum_{j \in R(i)} (y_{ij} - \mu) / (n_i + \lambda)`, no user
  bias. With ``lam=0`` (the default) this is each movie's mean rating;
* ``"biases"``: movie and user biases minimizing

  .. math::

      J_b = \tfrac12 \sum_{R_{ij}=1} (\mu + b_i + b_{u,j} - y_{ij})^2
            + \tfrac{\lambda}{2}\Big(\sum_i b_i^2 + \sum_j b_{u,j}^2\Big),

  found by alternating the two closed-form ridge solves
  :math:`b_i = \sum_{j \in R(i)} (y_{ij} - \mu - b_{u,j}) / (n_i + \lambda)` and
  :math:`b_{u,j} = \sum_{i \in R(j)} (y_{ij} - \mu - b_i) / (n_j + \lambda)`.
  This is the biased matrix-factorization model of :mod:`cflib.train` with ``k = 0``.

Movies or users without training ratings get a bias of 0, so they are
predicted by :math:`\mu` plus whichever bias is known. Predictions are clipped
to the rating scale 1..5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ratings import RATING_SCALE
from .validation import check_index_pair

__all__ = ["BaselineModel", "fit_baseline", "DEFAULT_BASELINE_LAM"]

#: Regularization used when ``lam`` is not given, per kind. ``"movie"`` uses the
#: plain per-movie mean; the bias strength was tuned on the ml-100k folds u1..u5
#: (``benchmarks/bench_training.py``).
DEFAULT_BASELINE_LAM = {"global": 0.0, "movie": 0.0, "biases": 5.0}

_KINDS = ("global", "movie", "biases")


@dataclass(frozen=True, eq=False)
class BaselineModel:
    """A fitted baseline ``mu + movie_bias[i] + user_bias[j]``.

    Attributes
    ----------
    kind : {"global", "movie", "biases"}
    mu : float
        Global mean of the training ratings.
    movie_bias : ndarray of shape (n_movies,)
    user_bias : ndarray of shape (n_users,)
    lam : float
        Regularization used for the biases.
    """

    kind: str
    mu: float
    movie_bias: np.ndarray
    user_bias: np.ndarray
    lam: float

    @property
    def n_movies(self) -> int:
        return int(self.movie_bias.size)

    @property
    def n_users(self) -> int:
        return int(self.user_bias.size)

    def predict(self, movies, users, *, clip: bool = True) -> np.ndarray:
        """Predicted ratings at the coordinates ``(movies[t], users[t])``.

        Parameters
        ----------
        movies, users : array_like of int, shape (n,)
        clip : bool, default True
            Clip to the rating scale 1..5.

        Returns
        -------
        ndarray of shape (n,)
        """
        movies, users = check_index_pair(movies, users, self.n_movies, self.n_users)
        pred = self.mu + self.movie_bias[movies] + self.user_bias[users]
        return np.clip(pred, *RATING_SCALE) if clip else pred

    def predict_all(self, *, clip: bool = True) -> np.ndarray:
        """All predictions, shape (n_movies, n_users)."""
        pred = self.mu + self.movie_bias[:, None] + self.user_bias[None, :]
        return np.clip(pred, *RATING_SCALE) if clip else pred



def bias_solve(residual, index, n, lam) -> np.ndarray:
    """Closed-form ridge solve for one set of biases.

    Minimizes :math:`\\tfrac12 \\sum_t (b_{index_t} - r_t)^2 + \\tfrac{\\lambda}{2}\\|b\\|^2`:
    ``b[g] = sum of residual over group g / (count of g + lam)``; groups
    without entries get 0.

    Parameters
    ----------
    residual : ndarray of shape (nnz,)
    index : ndarray of int, shape (nnz,)
        Group (movie or user) of each entry.
    n : int
        Number of groups.
    lam : float

    Returns
    -------
    ndarray of shape (n,)
    """
    sums = np.bincount(index, weights=residual, minlength=n)
    counts = np.bincount(index, minlength=n).astype(float)
    denom = counts + lam
    return np.divide(sums, denom, out=np.zeros(n), where=denom > 0)


def fit_baseline(train, kind: str = "biases", lam: float | None = None, *, n_iters: int = 15) -> BaselineModel:
    """Fit a baseline predictor on a :class:`cflib.Ratings`.

    Parameters
    ----------
    train : Ratings
        Training ratings.
    kind : {"global", "movie", "biases"}
        See the module docstring for the formulas.
    lam : float, optional
        Regularization of the biases (sum form, as in the cost J: a bias backed by
        ``n`` ratings is shrunk by the factor ``n / (n + lam)``). Default
        ``DEFAULT_BASELINE_LAM[kind]``.
    n_iters : int, default 15
        Alternating sweeps for ``"biases"`` (it converges in a few).

    Returns
    -------
    BaselineModel
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if train.nnz == 0:
        raise ValueError("train holds no ratings: a baseline needs at least one")
    lam = DEFAULT_BASELINE_LAM[kind] if lam is None else lam
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam}")
    lam = float(lam)
    mu = float(train.ratings.mean())
    movie_bias = np.zeros(train.n_movies)
    user_bias = np.zeros(train.n_users)
    r = train.ratings - mu
    if kind == "movie":
        movie_bias = bias_solve(r, train.movies, train.n_movies, lam)
    elif kind == "biases":
        for _ in range(n_iters):
            movie_bias = bias_solve(r - user_bias[train.users], train.movies, train.n_movies, lam)
            user_bias = bias_solve(r - movie_bias[train.movies], train.users, train.n_users, lam)
    return BaselineModel(kind=kind, mu=mu, movie_bias=movie_bias, user_bias=user_bias, lam=lam)
