r"""Posterior samples of a biased MF model and what they predict (the result of :func:`cflib.gibbs.fit_gibbs`).

A prediction averages the kept samples,
:math:`\hat y_{ij} = \frac1S \sum_s \hat y^{(s)}_{ij}` with
:math:`\hat y^{(s)}_{ij} = \mu + b^{(s)}_i + c^{(s)}_j + x^{(s)}_i \cdot \theta^{(s)}_j`,
and its predictive standard deviation adds the spread of the samples and the noise,
:math:`\sigma_{ij}^2 = \overline{1/\tau} + \operatorname{Var}_s \hat y^{(s)}_{ij}`,
with :math:`\tau` the noise precision of a sample. Predictions are clipped to the
rating scale of the data the model was trained on (``Ratings.scale``: 1..5, or 0.5..5
for the half stars of ml-latest-small), as every other model's are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arguments import check_index_pair
from .history import History
from .ratings import RATING_SCALE, check_scale
from .sparse import row_dots

__all__ = ["GibbsModel", "GibbsHistory", "record_tau", "kept_samples"]


@dataclass(eq=False)
class GibbsHistory(History):
    """:class:`cflib.history.History` plus the noise precision of every sweep.

    ``train_rmse``/``val_rmse`` are those of the running average of the kept
    samples' predictions (during burn-in, of the current sample); ``cost`` is J
    of the current sample with the sampled :math:`\\lambda_d / \\tau` as penalties;
    ``tau`` holds the noise precision drawn at each sweep.
    """

    tau: list = field(default_factory=list)
    burn_in: int = 0


def record_tau(state, history, validation):
    """A sampler's ``record`` entry (:class:`cflib.loop.Method`): the sweep's noise precision in ``history.tau``."""
    history.tau.append(state.tau)


def kept_samples(state, history) -> dict:
    """The samples a sampler kept (``state.kept``, each array cut to ``state.n_kept``), for its ``finish`` entry.

    Sets ``history.burn_in``. Raises ValueError, naming the fix, when the sampler stopped (diverged)
    before the end of the burn-in, so that no sample was kept.
    """
    o = state.options
    if history is not None:
        history.burn_in = o["burn_in"]
    if state.n_kept == 0:
        raise ValueError(f"the sampler diverged at sweep {state.sweep + 1} of burn_in={o['burn_in']}, "
                         f"so no sample was kept: use a smaller init_std (now {o['init_std']:g}; "
                         "default 0.1) or a smaller burn_in")
    return {name: arr[:state.n_kept] for name, arr in state.kept.items()}


@dataclass(eq=False)
class GibbsModel:
    r"""Posterior samples of a biased Bayesian MF model.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_movies, k)
    Theta : ndarray of shape (n_samples, n_users, k)
    movie_bias : ndarray of shape (n_samples, n_movies)
    user_bias : ndarray of shape (n_samples, n_users)
    tau : ndarray of shape (n_samples,)
        Noise precision of each kept sample (a rating's noise has variance 1/tau).
    mu : float
        Global mean rating (of the training data).
    movie_counts, user_counts : ndarray of int
        Training ratings per movie and per user.
    params : dict
    scale : (float, float), default (1, 5)
        The training data's rating scale (``Ratings.scale``), which predictions are clipped to.
    """

    X: np.ndarray
    Theta: np.ndarray
    movie_bias: np.ndarray
    user_bias: np.ndarray
    tau: np.ndarray
    mu: float
    movie_counts: np.ndarray
    user_counts: np.ndarray
    params: dict = field(default_factory=dict)
    scale: tuple = RATING_SCALE

    def __post_init__(self):
        self.scale = check_scale(self.scale)

    @property
    def rating_scale(self) -> tuple:
        """``(lo, hi)`` that predictions are clipped to: the training data's scale."""
        return self.scale

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def k(self) -> int:
        return int(self.X.shape[2])

    @property
    def n_movies(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_users(self) -> int:
        return int(self.Theta.shape[1])

    def sample_predictions(self, movies, users) -> np.ndarray:
        """Each kept sample's prediction at ``(movies[t], users[t])``, shape (n_samples, n), unclipped."""
        movies, users = check_index_pair(movies, users, self.n_movies, self.n_users)
        out = np.empty((self.n_samples, movies.size))
        for s in range(self.n_samples):
            out[s] = row_dots(self.X[s], self.Theta[s], movies, users)
            out[s] += self.movie_bias[s, movies] + self.user_bias[s, users] + self.mu
        return out

    def predict(self, movies, users, *, clip: bool = True) -> np.ndarray:
        """Posterior-mean prediction (average over the kept samples), shape (n,), clipped to :attr:`scale`
        (the training data's rating scale) unless ``clip=False``."""
        pred = self.sample_predictions(movies, users).mean(axis=0)
        return np.clip(pred, *self.scale) if clip else pred

    def predict_std(self, movies, users) -> np.ndarray:
        r"""Predictive standard deviation :math:`\sqrt{\overline{1/\tau} + \operatorname{Var}_s \hat y^{(s)}}`, shape (n,)."""
        samples = self.sample_predictions(movies, users)
        return np.sqrt(np.mean(1.0 / self.tau) + samples.var(axis=0))

    def predict_all(self, *, clip: bool = True) -> np.ndarray:
        """All posterior-mean predictions, shape (n_movies, n_users), clipped to :attr:`scale` by default."""
        total = np.zeros((self.n_movies, self.n_users))
        for s in range(self.n_samples):
            total += self.X[s] @ self.Theta[s].T
            total += self.movie_bias[s][:, None] + self.user_bias[s][None, :]
        total /= self.n_samples
        total += self.mu
        return np.clip(total, *self.scale, out=total) if clip else total

    def __repr__(self):
        return (f"GibbsModel(k={self.k}, n_samples={self.n_samples}, n_movies={self.n_movies}, "
                f"n_users={self.n_users})")
