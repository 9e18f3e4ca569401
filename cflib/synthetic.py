"""Seeded synthetic ratings from a known low-rank model.

Used by the tests (no download needed), by the benchmarks (MovieLens-1M, 10M
and 25M shapes), and by the notebooks to show that training recovers a known
structure.
"""

from __future__ import annotations

import numpy as np

from .arguments import check_int, check_scalar
from .ratings import Ratings
from .sparse import row_dots

__all__ = ["make_synthetic"]


def make_synthetic(n_movies: int = 200, n_users: int = 100, k: int = 3, *, nnz: int | None = None,
                   density: float = 0.1, noise: float = 0.3, integer: bool = True,
                   seed: int = 0, return_factors: bool = False):
    """Ratings drawn from a rank-k model ``X_true @ Theta_true.T`` plus noise.

    Parameters
    ----------
    n_movies, n_users : int
        Shape of Y and R.
    k : int
        Rank of the true model.
    nnz : int, optional
        Exact number of distinct observed entries; default ``density * n_movies * n_users``.
    density : float
        Fraction of entries observed when ``nnz`` is not given.
    noise : float
        Standard deviation of Gaussian noise added before rounding.
    integer : bool
        Round ratings to the integers 1..5 (as MovieLens); otherwise clip to [1, 5].
    seed : int
        Seed of ``np.random.default_rng``; the same seed gives the same data.
    return_factors : bool
        Also return the true ``(X_true, Theta_true)``.

    Returns
    -------
    Ratings, or (Ratings, (X_true, Theta_true)) with shapes (n_movies, k), (n_users, k)

    Notes
    -----
    Observed positions are sampled without replacement; movie popularity follows
    a long tail (Zipf-like weights), as in real rating data. The true factors are
    scaled so that ``x_i . theta_j`` has mean about 3.5 and standard deviation about 1.
    Memory is O(nnz + (n_movies + n_users) k): suitable for MovieLens-25M shapes.
    """
    n_movies = check_int(n_movies, "n_movies", min_val=1)
    n_users = check_int(n_users, "n_users", min_val=1)
    k = check_int(k, "k", min_val=1)
    noise = check_scalar(noise, "noise", min_val=0.0)
    seed = check_int(seed, "seed", min_val=0)
    total = n_movies * n_users
    if nnz is None:
        density = check_scalar(density, "density", min_val=0.0, max_val=1.0, include_boundaries="right")
        nnz = max(1, int(round(density * total)))
    nnz = check_int(nnz, "nnz", min_val=1)
    if not 1 <= nnz <= total:
        raise ValueError(f"nnz must lie in 1..{total} (n_movies * n_users), got {nnz}")
    rng = np.random.default_rng(seed)
    # True factors: a shared offset column gives mean ~3.5, the rest the spread.
    X_true = rng.standard_normal((n_movies, k)) / np.sqrt(k)
    Theta_true = rng.standard_normal((n_users, k)) / np.sqrt(k)
    X_true[:, 0] = np.sqrt(3.5)
    Theta_true[:, 0] = np.sqrt(3.5) + 0.3 * rng.standard_normal(n_users) / np.sqrt(3.5)

    # Sample distinct positions, popular movies more often.
    weights = 1.0 / np.arange(1, n_movies + 1) ** 0.8
    weights = rng.permutation(weights / weights.sum())
    keys = np.empty(0, dtype=np.int64)
    while keys.size < nnz:
        need = int((nnz - keys.size) * 1.3) + 16
        m = rng.choice(n_movies, size=need, p=weights) if nnz < total else rng.integers(0, n_movies, need)
        u = rng.integers(0, n_users, size=need)
        keys = np.sort(np.concatenate([keys, m.astype(np.int64) * n_users + u]))
        # Drop repeats. Sorting then comparing neighbours gives np.unique's result
        # several times faster at 10M+ entries than np.unique (hash-based in numpy 2.3+).
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
        if keys.size > 0.9 * total:  # nearly full: fall back to uniform without replacement
            keys = np.sort(rng.choice(total, size=nnz, replace=False).astype(np.int64))
            break
    if keys.size > nnz:
        keys = np.sort(rng.choice(keys, size=nnz, replace=False))
    movies = keys // n_users
    users = keys % n_users
    ratings = row_dots(X_true, Theta_true, movies, users)
    ratings += noise * rng.standard_normal(nnz)
    ratings = np.clip(np.rint(ratings) if integer else ratings, 1, 5)
    data = Ratings(
        movies=movies, users=users, ratings=ratings, n_movies=n_movies, n_users=n_users,
        titles=np.array([f"Movie {i}" for i in range(n_movies)], dtype=object),
        genre_names=(), genres=np.zeros((n_movies, 0), dtype=bool),
        movie_ids=np.arange(1, n_movies + 1), user_ids=np.arange(1, n_users + 1),
        name="synthetic",
    )
    return (data, (X_true, Theta_true)) if return_factors else data
