r"""Baseline predictors: the rungs of the ladder below matrix factorization.

Three predictors of increasing power, each a special case of

.. math::

    \hat y_{ij} = \mu + b_i + b_u{}_j

with :math:`\mu` the global mean of the training ratings, :math:`b_i` a movie
bias (row offset) and :math:`b_{u,j}` a user bias (column offset):

* ``"global"``: :math:`b_i = b_{u,j} = 0`, every prediction is :math:`\mu`;
* ``"movie"``: :math:`b_i = \sum_{j \in R(i)} (y_{ij} - \mu) / (n_i + \lambda_b)`, no user
  bias. With ``lam_bias=0`` (its default) this is each movie's mean rating;
* ``"biases"``: movie and user biases minimizing

  .. math::

      J_b = \tfrac12 \sum_{R_{ij}=1} (\mu + b_i + b_{u,j} - y_{ij})^2
            + \tfrac{\lambda_b}{2}\Big(\sum_i b_i^2 + \sum_j b_{u,j}^2\Big),

  found by alternating the two closed-form ridge solves
  :math:`b_i = \sum_{j \in R(i)} (y_{ij} - \mu - b_{u,j}) / (n_i + \lambda_b)` and
  :math:`b_{u,j} = \sum_{i \in R(j)} (y_{ij} - \mu - b_i) / (n_j + \lambda_b)`.
  This is the biased matrix-factorization model of :mod:`cflib.train` with ``k = 0``,
  and :math:`\lambda_b` is the same ``lam_bias`` with the same default
  (``DEFAULT_LAM_BIAS``).

Movies or users without training ratings get a bias of 0, so they are
predicted by :math:`\mu` plus whichever bias is known. Predictions are clipped
to the training data's rating scale (``train.scale``: 1..5, or 0.5..5 for half stars).

:class:`BiasedPredictor` is the one prediction rule of cflib,
:math:`\hat y_{ij} = \mu + b_i + b_{u,j} + x_i \cdot \theta_j`: a baseline is
the case k = 0, and :class:`cflib.train.MFModel` inherits the same methods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arguments import check_index_pair, check_int, check_lam
from .ratings import RATING_SCALE
from .sparse import row_dots

__all__ = ["BASELINES", "BaselineModel", "BiasedPredictor", "fit_baseline", "bias_solve", "predict_at",
           "DEFAULT_LAM_BIAS"]

#: Regularization of the biases (``lam_bias``) when not given, for the ``"biases"``
#: baseline and for the biased model of :func:`cflib.train.fit` alike: tuned with
#: ALS on the ml-100k folds u1..u5 (``benchmarks/results_training.md``: the
#: winner k=5, lam=10, lam_bias=5). The ``"global"`` and ``"movie"`` baselines
#: are the plain means unless a ``lam_bias`` is given.
DEFAULT_LAM_BIAS = 5.0

BASELINES = ("global", "movie", "biases")


def predict_at(X, Theta, mu, movie_bias, user_bias, movies, users) -> np.ndarray:
    r"""Unclipped :math:`\mu + b_i + b_{u,j} + x_i \cdot \theta_j` at ``(movies[t], users[t])``.

    Parameters
    ----------
    X : ndarray of shape (n_movies, k)
    Theta : ndarray of shape (n_users, k)
    mu : float
    movie_bias : ndarray of shape (n_movies,)
    user_bias : ndarray of shape (n_users,)
    movies, users : ndarray of int, shape (n,)
        Valid 0-based indices (already checked).

    Returns
    -------
    ndarray of shape (n,)
    """
    out = row_dots(X, Theta, movies, users)
    out += movie_bias[movies]
    out += user_bias[users]
    out += mu
    return out


class BiasedPredictor:
    """Predictions ``mu + movie_bias[i] + user_bias[j] + X[i] . Theta[j]``, clipped to the rating scale.

    Shared by :class:`BaselineModel` (k = 0) and :class:`cflib.train.MFModel`;
    a subclass provides ``X`` (n_movies, k), ``Theta`` (n_users, k), ``mu``,
    ``movie_bias`` (n_movies,) and ``user_bias`` (n_users,), and either ``scale``
    or ``train`` (a :class:`cflib.Ratings`, whose ``scale`` is used).
    """

    @property
    def rating_scale(self) -> tuple:
        """``(lo, hi)`` that predictions are clipped to: the training data's scale, else (1, 5)."""
        scale = getattr(self, "scale", None)
        if scale is None:
            scale = getattr(getattr(self, "train", None), "scale", None)
        return RATING_SCALE if scale is None else tuple(scale)

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
            0-based movie and user indices.
        clip : bool, default True
            Clip to the rating scale (:attr:`rating_scale`, 1..5 for MovieLens 100K).

        Returns
        -------
        ndarray of shape (n,)
        """
        movies, users = check_index_pair(movies, users, self.n_movies, self.n_users)
        pred = predict_at(self.X, self.Theta, self.mu, self.movie_bias, self.user_bias, movies, users)
        return np.clip(pred, *self.rating_scale, out=pred) if clip else pred

    def predict_all(self, *, clip: bool = True) -> np.ndarray:
        """All predictions ``mu + b[:, None] + b_u[None, :] + X @ Theta.T``, shape (n_movies, n_users)."""
        pred = self.X @ self.Theta.T
        pred += self.mu + self.movie_bias[:, None] + self.user_bias[None, :]
        return np.clip(pred, *self.rating_scale, out=pred) if clip else pred


@dataclass(frozen=True, eq=False)
class BaselineModel(BiasedPredictor):
    """A fitted baseline ``mu + movie_bias[i] + user_bias[j]`` (a :class:`BiasedPredictor` with k = 0).

    Attributes
    ----------
    baseline : {"global", "movie", "biases"}
        Which baseline (``kind`` is the word of :class:`cflib.train.MFModel`'s model kinds).
    mu : float
        Global mean of the training ratings.
    movie_bias : ndarray of shape (n_movies,)
    user_bias : ndarray of shape (n_users,)
    lam_bias : float
        Regularization used for the biases.
    scale : (float, float)
        The training data's rating scale, which predictions are clipped to.
    """

    baseline: str
    mu: float
    movie_bias: np.ndarray
    user_bias: np.ndarray
    lam_bias: float
    scale: tuple = RATING_SCALE

    @property
    def X(self) -> np.ndarray:
        """No features: shape (n_movies, 0)."""
        return np.zeros((self.n_movies, 0))

    @property
    def Theta(self) -> np.ndarray:
        """No features: shape (n_users, 0)."""
        return np.zeros((self.n_users, 0))


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


def fit_baseline(train, baseline: str = "biases", lam_bias: float | None = None, *, n_iters: int = 15,
                 **renamed) -> BaselineModel:
    """Fit a baseline predictor on a :class:`cflib.Ratings`.

    Parameters
    ----------
    train : Ratings
        Training ratings.
    baseline : {"global", "movie", "biases"}
        See the module docstring for the formulas.
    lam_bias : float, optional
        Regularization of the biases (sum form, as in the cost J: a bias backed by
        ``n`` ratings is shrunk by the factor ``n / (n + lam_bias)``). Default
        ``DEFAULT_LAM_BIAS`` for ``"biases"``, 0 (the plain means) for the others.
    n_iters : int, default 15
        Alternating sweeps for ``"biases"`` (it converges in a few).

    Returns
    -------
    BaselineModel
    """
    if "lam" in renamed:
        raise TypeError("fit_baseline() calls the bias regularization lam_bias (as fit does): "
                        "write lam_bias=... instead of lam=...")
    if "kind" in renamed:
        raise TypeError(f"fit_baseline() calls the choice of baseline `baseline` (`kind` is a model kind of "
                        f"fit): write baseline={renamed['kind']!r}, or pass it second, fit_baseline(train, "
                        f"{renamed['kind']!r})")
    if renamed:
        raise TypeError(f"fit_baseline() got unexpected keyword argument(s) {sorted(renamed)}")
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    if not hasattr(train, "movies") or not hasattr(train, "n_users"):
        raise TypeError(f"train must be a cflib.Ratings, got {type(train).__name__}")
    if train.nnz == 0:
        raise ValueError("train holds no ratings: a baseline needs at least one")
    if lam_bias is None:
        lam_bias = DEFAULT_LAM_BIAS if baseline == "biases" else 0.0
    lam_bias = check_lam(lam_bias, "lam_bias")
    n_iters = check_int(n_iters, "n_iters", min_val=1)
    mu = float(train.ratings.mean())
    movie_bias = np.zeros(train.n_movies)
    user_bias = np.zeros(train.n_users)
    r = train.ratings - mu
    if baseline == "movie":
        movie_bias = bias_solve(r, train.movies, train.n_movies, lam_bias)
    elif baseline == "biases":
        for _ in range(n_iters):
            movie_bias = bias_solve(r - user_bias[train.users], train.movies, train.n_movies, lam_bias)
            user_bias = bias_solve(r - movie_bias[train.movies], train.users, train.n_users, lam_bias)
    return BaselineModel(baseline=baseline, mu=mu, movie_bias=movie_bias, user_bias=user_bias, lam_bias=lam_bias,
                         scale=tuple(getattr(train, "scale", RATING_SCALE)))
