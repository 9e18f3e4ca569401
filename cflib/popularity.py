r"""The popularity baseline: recommend what most people rated.

Every user gets the same score for movie i, the number of training ratings it
received:

.. math::

    s_{iu} = n_i = \sum_j R_{ij} .

It knows nothing about the user, yet on MovieLens it is a hard baseline for
top-N lists: people rate the movies they watched, and they watched the popular
ones. The scores are counts, not ratings, so the model has no RMSE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arguments import check_index_pair, check_scalar

__all__ = ["PopularityModel", "fit_popularity"]


@dataclass(frozen=True, eq=False)
class PopularityModel:
    """Scores every movie by its number of training ratings, the same for every user.

    Attributes
    ----------
    counts : ndarray of int64, shape (n_movies,)
        Training ratings per movie.
    n_users : int
    """

    counts: np.ndarray
    n_users: int

    #: No rating scale: the scores are counts (``cflib.ratings.rating_scale`` reads this).
    rating_scale = None

    @property
    def n_movies(self) -> int:
        return int(self.counts.size)

    def _no_clip(self, clip):
        if clip:
            raise ValueError("popularity scores are rating counts, not ratings: call with clip=False "
                             "(an RMSE of this model would mean nothing; use cflib.ranking.ranking_metrics)")

    def predict(self, movies, users, *, clip: bool = False) -> np.ndarray:
        """Scores ``counts[movies[t]]`` at the coordinates, shape (n,), as float."""
        self._no_clip(clip)
        movies, users = check_index_pair(movies, users, self.n_movies, self.n_users)
        return self.counts[movies].astype(np.float64)

    def predict_all(self, *, clip: bool = False) -> np.ndarray:
        """All scores, shape (n_movies, n_users): column j is ``counts`` for every user j."""
        self._no_clip(clip)
        return np.repeat(self.counts.astype(np.float64)[:, None], self.n_users, axis=1)

    def __repr__(self):
        return f"PopularityModel(n_movies={self.n_movies}, n_users={self.n_users})"


def fit_popularity(train, *, min_rating: float | None = None) -> PopularityModel:
    """Count the training ratings of every movie.

    Parameters
    ----------
    train : Ratings
    min_rating : float, optional
        Count only ratings >= this (e.g. 4: "liked" rather than "watched").
        Default: every rating counts.

    Returns
    -------
    PopularityModel
    """
    if not hasattr(train, "movies") or not hasattr(train, "n_users"):
        raise TypeError(f"train must be a cflib.Ratings, got {type(train).__name__}")
    keep = np.ones(train.nnz, dtype=bool)
    if min_rating is not None:
        keep = train.ratings >= check_scalar(min_rating, "min_rating")
    counts = np.bincount(train.movies[keep], minlength=train.n_movies).astype(np.int64)
    return PopularityModel(counts=counts, n_users=int(train.n_users))
