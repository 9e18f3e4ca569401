r"""Recommendations for a new user, and movies that look alike.

Folding in a new user
---------------------
With the movie features X fixed, the cost J restricted to one new user with
ratings :math:`r` (n_r,) on the movies :math:`X_r` (n_r, k) is a ridge regression

.. math::

    \min_\theta \tfrac12 \|X_r \theta - r\|^2 + \tfrac{\lambda}{2}\|\theta\|^2
    \quad\Longrightarrow\quad
    (X_r^T X_r + \lambda I)\,\theta = X_r^T r ,

the same closed-form step ALS takes for every user: :func:`fold_in` solves it
with :func:`cflib.als.ridge_solve`, the solve of the ALS half-steps.
A trained model first removes its offsets from the ratings
(:func:`fold_in_user`): the movie means for the normalized model,
:math:`\mu + b_i` for the biased model, which also solves for the new user's
bias :math:`b_u` by appending a column of ones to :math:`X_r`.

This is instant (a k x k solve) and leaves the model unchanged; retraining with
the new user added (:func:`add_user`, ``recommend(..., retrain=True)``) also
lets the new ratings move the movie features.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from .als import ridge_solve
from .arguments import check_indices, check_int, check_lam
from .ratings import Ratings, rating_scale

__all__ = ["fold_in", "fold_in_user", "FoldedUser", "recommend", "add_user", "similar_movies"]


def _check_rated(movies, ratings, n_movies):
    movies = np.asarray(movies)
    ratings = np.asarray(ratings, dtype=np.float64)
    if movies.ndim != 1 or movies.shape != ratings.shape:
        raise ValueError(
            f"movies and ratings must be 1-D arrays of the same length; got shapes {movies.shape} and {ratings.shape}"
        )
    movies = check_indices(movies, "movies", n_movies, what="rows of X: movie indices")
    if np.unique(movies).size != movies.size:
        raise ValueError("a movie is rated more than once; give each movie one rating")
    if not np.all(np.isfinite(ratings)):
        raise ValueError("ratings contain NaN or inf")
    return movies, ratings


def fold_in(X, movies, ratings, lam) -> np.ndarray:
    """Preference vector of a new user from the movie features, by ridge regression.

    Parameters
    ----------
    X : ndarray of shape (n_movies, k)
        Trained movie features (kept fixed).
    movies : array_like of int, shape (n_r,)
        Movies the new user rated (0-based, distinct).
    ratings : array_like of float, shape (n_r,)
        Their ratings, *already centred* by the model's offsets if it has any
        (movie means for the normalized model; :func:`fold_in_user` does this).
    lam : float
        Regularization :math:`\\lambda` (use the model's, for the same J).

    Returns
    -------
    theta : ndarray of shape (k,)
        Solution of :math:`(X_r^T X_r + \\lambda I)\\theta = X_r^T r` with
        :math:`X_r` = ``X[movies]`` (n_r, k). No ratings give zeros; if the system is
        singular (``lam = 0`` and too few ratings) the minimum-norm least-squares solution.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_movies, k), got shape {X.shape}")
    lam = check_lam(lam)
    movies, ratings = _check_rated(movies, ratings, X.shape[0])
    if movies.size == 0:
        return np.zeros(X.shape[1])
    return ridge_solve(X[movies], ratings, lam)


def _movie_key(key):
    """A key of my_ratings as a movie index: an int (numpy ints too), never a float, bool or str."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return int(key)
    if isinstance(key, str):
        raise TypeError(
            f"my_ratings keys must be integer movie indices, got the string {key!r}; to rate by "
            "title, turn titles into indices first: cflib.ratings.ratings_by_title(data, "
            "{'Star Wars (1977)': 5})"
        )
    raise TypeError(f"my_ratings keys must be integer movie indices, got {type(key).__name__} {key!r}")


def _check_fold_model(model, caller: str):
    """Refuse, naming what to use instead, a model a new user cannot be folded into; return its scale."""
    kind = type(model).__name__
    if any(c.__name__ == "GibbsModel" for c in type(model).__mro__):
        raise TypeError(
            f"{caller} folds a new user into one trained model, but model is a GibbsModel holding "
            f"{model.n_samples} posterior samples (no single X, no lam): fit a point estimate for "
            "recommendations, e.g. cflib.train.fit(train, method='als')")
    if rating_scale(model) is None:
        raise TypeError(
            f"{caller} ranks movies by predicted rating, but model is a {kind}, whose scores are not "
            "ratings: use a model from cflib.train.fit (for the most popular unseen movies, sort "
            "model.counts of a PopularityModel)")
    missing = [a for a in ("X", "mu", "movie_bias", "kind", "lam", "movie_counts") if not hasattr(model, a)]
    if missing:
        raise TypeError(f"model must be a trained model from cflib.train.fit (an MFModel), got {kind} "
                        f"(it has no {', '.join(missing)})")
    return rating_scale(model)


def _as_arrays(my_ratings, n_movies, scale):
    if not isinstance(my_ratings, Mapping):
        raise TypeError(
            f"my_ratings must be a dict {{movie index: rating}}, got {type(my_ratings).__name__}"
        )
    movies = np.fromiter((_movie_key(m) for m in my_ratings.keys()), dtype=np.int64, count=len(my_ratings))
    for value in my_ratings.values():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"my_ratings values must be numbers (stars {scale[0]:g}..{scale[1]:g}), got "
                            f"{type(value).__name__} {value!r}")
    ratings = np.fromiter((float(r) for r in my_ratings.values()), dtype=np.float64, count=len(my_ratings))
    movies, ratings = _check_rated(movies, ratings, n_movies)
    lo, hi = scale
    if ratings.size and (ratings.min() < lo or ratings.max() > hi):
        raise ValueError(f"my_ratings values must lie in the data's rating scale {lo:g}..{hi:g}, got "
                         f"{ratings.min():g}..{ratings.max():g}")
    return movies, ratings


class FoldedUser(NamedTuple):
    """A new user folded into a trained model."""

    theta: np.ndarray
    """Preference vector, shape (k,)."""
    bias: float
    """User bias (0 for the normalized model)."""
    predictions: np.ndarray
    """Clipped predicted rating of every movie, shape (n_movies,)."""


def fold_in_user(model, my_ratings: Mapping, lam: float | None = None) -> FoldedUser:
    """Fold a new user into a trained model and predict all movies for them.

    Parameters
    ----------
    model : MFModel
        From :func:`cflib.train.fit`.
    my_ratings : dict of {int: float}
        ``{movie index: rating}`` with ratings in the training data's scale
        (1..5, or 0.5..5 for the half stars of ml-latest-small).
    lam : float, optional
        Regularization of theta; default the model's ``lam`` (and ``lam_bias``
        for the user bias of a biased model), i.e. the ALS user step of the same J.
        For a ``kind="plain"`` model (ALS-WR, :mod:`cflib.als_wr` and
        :mod:`cflib.spark`), ``lam`` is the penalty per rating
        :math:`\\rho` (``reg_param``) and the penalty of theta is
        :math:`\\rho n_r` for the user's :math:`n_r` ratings: the model's own
        ALS-WR user step.

    Returns
    -------
    FoldedUser
        ``(theta, bias, predictions)``; ``predictions`` (n_movies,) is
        ``movie_mean + X @ theta`` (normalized), ``mu + b + bias + X @ theta``
        (biased) or ``X @ theta`` (plain), clipped to the rating scale.

    Raises
    ------
    TypeError
        For a model that is not an MFModel (Gibbs samples, implicit or
        popularity scores), naming what to use instead.
    """
    scale = _check_fold_model(model, "fold_in_user")
    movies, ratings = _as_arrays(my_ratings, model.n_movies, scale)
    lam = model.lam if lam is None else check_lam(lam)
    base = model.mu + model.movie_bias  # movie mean (normalized) or mu + b_i (biased)
    r = ratings - base[movies]
    if model.kind == "biased":
        if movies.size == 0:
            w = np.zeros(model.k + 1)
        else:
            A = np.hstack([model.X[movies], np.ones((movies.size, 1))])
            w = ridge_solve(A, r, np.r_[np.full(model.k, lam), model.lam_bias])
        theta, bias = w[:-1], float(w[-1])
    elif model.kind == "plain":  # ALS-WR: lambda_j = rho * n_j (Zhou et al. 2008; Spark's regParam)
        theta, bias = fold_in(model.X, movies, r, lam * movies.size), 0.0
    else:
        theta, bias = fold_in(model.X, movies, r, lam), 0.0
    pred = np.clip(base + bias + model.X @ theta, *scale)
    return FoldedUser(theta=theta, bias=bias, predictions=pred)


def add_user(data: Ratings, my_ratings: Mapping) -> Ratings:
    """The same ratings plus one new user (the last column, index ``data.n_users``).

    Parameters
    ----------
    data : Ratings
    my_ratings : dict of {int: float}
        ``{movie index: rating}``.

    Returns
    -------
    Ratings
        ``n_users + 1`` users; the new user's id is ``max(user_ids) + 1``.
    """
    movies, ratings = _as_arrays(my_ratings, data.n_movies, data.scale)
    new_id = int(data.user_ids.max()) + 1 if len(data.user_ids) else 1
    return Ratings(
        movies=np.concatenate([data.movies, movies]),
        users=np.concatenate([data.users, np.full(movies.size, data.n_users, dtype=np.int64)]),
        ratings=np.concatenate([data.ratings, ratings]),
        n_movies=data.n_movies, n_users=data.n_users + 1, titles=data.titles,
        genre_names=data.genre_names, genres=data.genres, movie_ids=data.movie_ids,
        user_ids=np.append(data.user_ids, new_id), name=f"{data.name} + new user", scale=data.scale,
    )


def _top(scores, candidates, n):
    order = candidates[np.lexsort((candidates, -scores[candidates]))]  # best first, ties by index
    return order[:n]


def recommend(model, my_ratings: Mapping, n: int = 10, *, retrain: bool = False,
              min_ratings: int = 0) -> list:
    """The ``n`` unseen movies with the highest predicted rating for a new user.

    Parameters
    ----------
    model : MFModel
    my_ratings : dict of {int: float}
        ``{movie index: rating}``; these movies are never recommended.
    n : int, default 10
    retrain : bool, default False
        False: fold the user in (:func:`fold_in_user`, instant, model unchanged).
        True: add the user to the model's training ratings (:func:`add_user`)
        and train again with the same ``fit`` arguments.
    min_ratings : int, default 0
        Only recommend movies with at least this many training ratings.

    Returns
    -------
    list of (int, float)
        ``(movie index, predicted rating)``, best first (ties by movie index).
    """
    n = check_int(n, "n", min_val=1)
    min_ratings = check_int(min_ratings, "min_ratings", min_val=0)
    if not isinstance(retrain, (bool, np.bool_)):
        raise TypeError(f"retrain must be True or False, got {type(retrain).__name__} {retrain!r}")
    scale = _check_fold_model(model, "recommend")
    movies, _ = _as_arrays(my_ratings, model.n_movies, scale)
    if retrain:
        if model.train is None:
            raise ValueError("retrain=True needs the training ratings; this model has none (model.train)")
        from .train import fit  # local import: train is the heavier module
        data = add_user(model.train, my_ratings)
        new_model, _ = fit(data, **model.params)
        pred = new_model.predict_all()[:, -1]
    else:
        pred = fold_in_user(model, my_ratings).predictions
    keep = np.ones(model.n_movies, dtype=bool)
    keep[movies] = False
    keep &= model.movie_counts >= min_ratings
    best = _top(pred, np.flatnonzero(keep), n)
    return [(int(i), float(pred[i])) for i in best]


def _features(model) -> np.ndarray:
    """The movie features X (n_movies, k) of a model or of a bare array, or a clear error."""
    kind = type(model).__name__
    if any(c.__name__ == "GibbsModel" for c in type(model).__mro__):
        raise TypeError("model is a GibbsModel, whose X holds one feature matrix per posterior sample: "
                        "pass one sample's features, e.g. similar_movies(model.X[-1], movie), or a model "
                        "from cflib.train.fit")
    if hasattr(model, "X"):
        X = model.X
    elif isinstance(model, np.ndarray) or isinstance(model, (list, tuple)):
        X = model
    else:
        raise TypeError(f"model must be a trained model with movie features X (from cflib.train.fit or "
                        f"fit_implicit_als) or X itself, got {kind}, which has no features")
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"X must be a numeric array of shape (n_movies, k), got {kind}") from None
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_movies, k), got shape {X.shape}")
    return X


def similar_movies(model, movie: int, n: int = 10, *, min_ratings: int = 0, movie_counts=None) -> list:
    """Movies whose feature vectors point the same way, by cosine similarity.

    .. math::

        \\cos(x_a, x_b) = \\frac{x_a \\cdot x_b}{\\|x_a\\|\\,\\|x_b\\|}

    Parameters
    ----------
    model : MFModel or ndarray of shape (n_movies, k)
        A trained model (its ``X`` is used; biases are ignored) or X itself.
    movie : int
        0-based movie index.
    n : int, default 10
    min_ratings : int, default 0
        Only list movies with at least this many training ratings (needs a
        model, or ``movie_counts``): obscure movies have features shaped by a handful of ratings.
    movie_counts : array_like of int, shape (n_movies,), optional
        Training ratings per movie, for ``min_ratings`` when ``model`` has no
        ``movie_counts`` (a bare X, an implicit model); default the model's.

    Returns
    -------
    list of (int, float)
        ``(movie index, cosine)``, most similar first, the movie itself excluded,
        as are movies whose feature vector is 0 (never rated).
    """
    X = _features(model)
    if isinstance(movie, (bool, np.bool_)) or not isinstance(movie, (int, np.integer)):
        raise TypeError(f"movie must be an int index in 0..{X.shape[0] - 1} (a title's index: "
                        f"data.find_title('...')[0]), got {type(movie).__name__} {movie!r}")
    if not 0 <= movie < X.shape[0]:
        raise ValueError(f"movie must be an int index in 0..{X.shape[0] - 1}, got {movie!r}")
    n = check_int(n, "n", min_val=1)
    min_ratings = check_int(min_ratings, "min_ratings", min_val=0)
    norms = np.linalg.norm(X, axis=1)
    if norms[movie] == 0:
        raise ValueError(f"movie {movie} has an all-zero feature vector (no training ratings): "
                         "it has no direction to compare")
    keep = norms > 0
    keep[movie] = False
    if min_ratings:
        if movie_counts is None:
            movie_counts = getattr(model, "movie_counts", None)
        if movie_counts is None:
            raise ValueError("min_ratings needs each movie's number of training ratings: give a model from "
                             "cflib.train.fit, or movie_counts=np.bincount(train.movies, "
                             "minlength=train.n_movies)")
        movie_counts = np.asarray(movie_counts)
        if movie_counts.shape != (X.shape[0],):
            raise ValueError(f"movie_counts must have shape (n_movies,) = ({X.shape[0]},), "
                             f"got {movie_counts.shape}")
        keep &= movie_counts >= min_ratings
    cos = np.zeros(X.shape[0])
    cos[keep] = (X[keep] @ X[movie]) / (norms[keep] * norms[movie])
    best = _top(cos, np.flatnonzero(keep), n)
    return [(int(i), float(cos[i])) for i in best]
