r"""Top-N evaluation: how good is the list of k movies a model shows each user?

RMSE judges every predicted rating; a recommender is judged by the few movies
it puts in front of a person. The definitions below are the contract of
:func:`ranking_metrics`.

Which users, which movies
-------------------------
A test movie is *relevant* to user u when u's test rating is at least
``relevant_min`` (4 by default). Only users with at least one relevant test
movie are evaluated. User u's candidates are all movies u did not rate in
``train``, ranked by the model's unclipped score :math:`s_{iu}`, ties broken
by the lower movie index; the first k form the list :math:`L_u`, and
:math:`\mathrm{rel}_r \in \{0, 1\}` says whether the movie at rank r is relevant.

Per-user metrics (then averaged over the evaluated users)
---------------------------------------------------------
.. math::

    \mathrm{hits}_u = \sum_{r=1}^{k} \mathrm{rel}_r, \qquad
    P@k = \frac{\mathrm{hits}_u}{k}, \qquad
    R@k = \frac{\mathrm{hits}_u}{|\mathrm{Rel}_u|}, \qquad
    \mathrm{HR}@k = [\mathrm{hits}_u > 0],

    \mathrm{NDCG}@k = \frac{\sum_{r=1}^{k} \mathrm{rel}_r / \log_2(r + 1)}
                           {\sum_{r=1}^{\min(k, |\mathrm{Rel}_u|)} 1 / \log_2(r + 1)}, \qquad
    \mathrm{AP}@k = \frac{1}{\min(k, |\mathrm{Rel}_u|)} \sum_{r=1}^{k} P@r \cdot \mathrm{rel}_r .

Beyond accuracy
---------------
*Coverage*: the fraction of all n_movies movies that appear in at least one
evaluated user's list. *Novelty*: the mean over every recommended slot of
:math:`-\log_2 (n_i / n_{users})`, where :math:`n_i` is the number of distinct
training users who rated movie i (a movie nobody rated in training counts as
rated by one user, the largest finite value), so recommending blockbusters
scores low and obscure movies high.

The top k of every user is found at once: ``np.partition`` gives each user's
k-th largest score, the movies strictly above it are taken, and the ties at it
are filled in order of movie index; no Python loop runs over users.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import ratings as _ratings
from .arguments import check_indices, check_int, check_scalar

__all__ = ["ranking_metrics", "ranking_table", "popularity_strata", "top_k", "score_matrix", "METRICS",
           "user_list", "precision_at_k", "ndcg_at_k"]

#: The keys of :func:`ranking_metrics` that are means over the evaluated users.
METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")


def _check_ratings(data, name):
    if not hasattr(data, "movies") or not hasattr(data, "n_users"):
        raise TypeError(f"{name} must be a cflib.Ratings, got {type(data).__name__}")


#: Bytes per (movie, user) cell that ranking every movie for every user works with at once:
#: the scores, their copies in top_k, and the relevance and exclusion masks.
RANKING_BYTES_PER_CELL = 48


def _check_ranking_size(n_movies: int, n_users: int, caller: str):
    """Refuse, before any allocation, a grid whose ranking would not fit (as ``Ratings.Y`` does)."""
    need = n_movies * n_users * RANKING_BYTES_PER_CELL
    limit = _ratings.DENSE_LIMIT_BYTES
    if need > limit:
        raise MemoryError(
            f"{caller} ranks every movie for every user at once: shape (n_movies, n_users) = "
            f"({n_movies:,}, {n_users:,}) would need about {need / 1e9:.1f} GB of working memory "
            f"(limit {limit / 1e9:.1f} GB); evaluate on a smaller data set (e.g. ml-100k or ml-1m, or "
            "a Ratings restricted to fewer movies and users)")


def score_matrix(model, n_movies: int, n_users: int) -> np.ndarray:
    """The model's unclipped scores of every movie for every user, shape (n_movies, n_users).

    Uses ``model.predict_all(clip=False)`` when the model has it, else
    ``model.predict(movies, users, clip=False)`` on the full grid.

    Raises
    ------
    TypeError
        The model has neither method.
    ValueError
        The scores have the wrong shape or contain NaN (``-inf`` is allowed: never listed).
    """
    if hasattr(model, "predict_all"):
        S = model.predict_all(clip=False)
    elif hasattr(model, "predict"):
        movies, users = np.divmod(np.arange(n_movies * n_users), n_users)
        S = model.predict(movies, users, clip=False)
    else:
        raise TypeError(f"model must have predict_all(clip=False) or predict(movies, users), "
                        f"got {type(model).__name__}")
    try:
        S = np.asarray(S, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the model scores must be numbers; could not convert them ({exc}): "
                        "give a model whose predict_all returns a float array") from None
    if not hasattr(model, "predict_all") and S.size == n_movies * n_users:
        S = S.reshape(n_movies, n_users)
    if S.shape != (n_movies, n_users):
        raise ValueError(f"the model scores have shape {S.shape}, but train has shape "
                         f"{(n_movies, n_users)}: train the model on the same Ratings shape")
    if np.isnan(S).any():  # -inf is allowed: it means "never list this movie" (see top_k)
        raise ValueError("the model scores contain NaN: the model diverged or was built from bad data; "
                         "refit it (e.g. with a larger lam) before ranking")
    return S


def top_k(scores, k: int, exclude=None):
    """The k best columns of every row, ties broken by the lower column index.

    Parameters
    ----------
    scores : ndarray of shape (n_rows, n_cols)
        One row per user, one column per movie (higher is better). Not modified.
        A score of ``-inf`` means "never list this movie" (like ``exclude``); NaN is an error.
    k : int >= 1
    exclude : ndarray of bool, shape (n_rows, n_cols), optional
        True where a column may not be listed (the movies a user rated in train).

    Returns
    -------
    top : ndarray of int64, shape (n_rows, min(k, n_cols))
        Column indices, best first.
    valid : ndarray of bool, shape (n_rows, min(k, n_cols))
        False for slots past the end of a row's candidates (a user who rated
        almost every movie has fewer than k candidates).
    """
    try:
        S = np.array(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"scores must be a numeric array; could not convert it: {exc}") from None
    k = check_int(k, "k", min_val=1)
    if S.ndim != 2 or S.shape[1] == 0:
        raise ValueError(f"scores must be 2-D of shape (n_rows, n_cols) with n_cols >= 1, got shape {S.shape}: "
                         "one row per user, one column per movie")
    if np.isnan(S).any():
        raise ValueError("scores contain NaN: a NaN cannot be ranked; replace it (e.g. np.nan_to_num) "
                         "or refit the model")
    n_rows, n_cols = S.shape
    k = min(k, n_cols)
    if exclude is not None:
        exclude = np.asarray(exclude)
        if exclude.shape != S.shape or exclude.dtype != bool:
            raise ValueError(f"exclude must be a boolean array of the scores' shape {S.shape}, "
                             f"got dtype {exclude.dtype} and shape {exclude.shape}")
        S[exclude] = -np.inf
    kth = np.partition(S, n_cols - k, axis=1)[:, n_cols - k]  # each row's k-th largest score
    above = S > kth[:, None]
    at = S == kth[:, None]
    need = k - above.sum(axis=1)
    # the ties at the k-th score, lowest column indices first
    chosen = above | (at & (np.cumsum(at, axis=1) <= need[:, None]))
    cols = np.nonzero(chosen)[1].reshape(n_rows, k)  # exactly k per row, in column order
    vals = np.take_along_axis(S, cols, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")  # stable: ties keep the lower index first
    top = np.take_along_axis(cols, order, axis=1)
    valid = np.take_along_axis(vals, order, axis=1) > -np.inf
    return top, valid


def _relevance(train, test, relevant_min):
    """Boolean (n_users, n_movies): relevant test movies; and the exclusion mask of train."""
    rel = np.zeros((train.n_users, train.n_movies), dtype=bool)
    keep = test.ratings >= relevant_min
    rel[test.users[keep], test.movies[keep]] = True
    seen = np.zeros((train.n_users, train.n_movies), dtype=bool)
    seen[train.users, train.movies] = True
    return rel, seen


def ranking_table(model, train, test, *, k: int = 10, relevant_min: float = 4.0) -> dict:
    """The per-user table behind :func:`ranking_metrics`.

    Parameters
    ----------
    model : object with ``predict_all(clip=False)`` or ``predict(movies, users, clip=False)``
    train, test : Ratings of the same shape
    k : int, default 10
    relevant_min : float, default 4.0

    Returns
    -------
    dict of ndarrays, one row per evaluated user (n_eval of them)
        ``user`` (index), ``n_relevant``, ``hits``, ``precision``, ``recall``,
        ``ndcg``, ``ap``, ``hit`` (0/1), and ``top`` of shape (n_eval, k) with
        the listed movie indices (-1 past a user's candidates) and ``relevant``
        of shape (n_eval, k), the rel_r of each slot. The module docstring
        gives the formulas.
    """
    _check_ratings(train, "train")
    _check_ratings(test, "test")
    if test.shape != train.shape:
        raise ValueError(f"test has shape {test.shape} but train has {train.shape}: "
                         "split one Ratings so both keep all movies and users")
    k = check_int(k, "k", min_val=1)
    relevant_min = check_scalar(relevant_min, "relevant_min", numbers.Real)
    _check_ranking_size(train.n_movies, train.n_users, "ranking_metrics")
    S = score_matrix(model, train.n_movies, train.n_users).T  # (n_users, n_movies)
    rel, seen = _relevance(train, test, relevant_min)
    n_rel = rel.sum(axis=1)
    users = np.flatnonzero(n_rel > 0)
    if users.size == 0:
        raise ValueError(f"no user has a test rating >= relevant_min={relevant_min:g}: "
                         "lower relevant_min or use a larger test set")
    top, valid = top_k(S[users], k, exclude=seen[users])
    kk = top.shape[1]
    hits_at = np.take_along_axis(rel[users], top, axis=1) & valid  # (n_eval, kk) rel_r
    n_rel = n_rel[users]
    hits = hits_at.sum(axis=1)
    ranks = np.arange(1, kk + 1)
    discount = 1.0 / np.log2(ranks + 1.0)
    ideal = np.cumsum(discount)[np.minimum(n_rel, kk) - 1]
    denom = np.minimum(n_rel, k)
    precision_at_r = np.cumsum(hits_at, axis=1) / ranks
    return {
        "user": users,
        "n_relevant": n_rel,
        "hits": hits,
        "precision": hits / k,
        "recall": hits / n_rel,
        "ndcg": (hits_at @ discount) / ideal,
        "ap": (precision_at_r * hits_at).sum(axis=1) / denom,
        "hit": (hits > 0).astype(np.float64),
        "top": np.where(valid, top, -1),
        "relevant": hits_at,
    }


def _rated_by(train):
    """Distinct training users per movie, shape (n_movies,)."""
    pairs = np.unique(train.movies * np.int64(train.n_users) + train.users)
    return np.bincount(pairs // train.n_users, minlength=train.n_movies)


def ranking_metrics(model, train, test, *, k: int = 10, relevant_min: float = 4.0) -> dict:
    """Precision, recall, NDCG, MAP and hit rate at k, with coverage and novelty.

    The definitions (with formulas) are in the module docstring of
    :mod:`cflib.ranking`; :func:`ranking_table` gives the per-user figures and
    :func:`popularity_strata` splits them by movie popularity.

    Parameters
    ----------
    model : object with ``predict_all(clip=False)`` or ``predict(movies, users, clip=False)``
        Any cflib model: :class:`cflib.train.MFModel`, a baseline, the
        popularity model, implicit ALS.
    train : Ratings
        What the model was trained on: these movies are never recommended to
        the user who rated them.
    test : Ratings
        Held-out ratings of the same shape; ratings >= ``relevant_min`` are relevant.
    k : int, default 10
        Length of each list.
    relevant_min : float, default 4.0

    Returns
    -------
    dict
        ``precision``, ``recall``, ``ndcg``, ``map``, ``hit_rate`` (means over
        the evaluated users), ``coverage`` (fraction of movies in any list),
        ``novelty`` (mean bits per recommended movie) and ``n_users`` (how
        many users were evaluated).

    Examples
    --------
    >>> train, test = cflib.load_split("u1")                       # doctest: +SKIP
    >>> ranking_metrics(fit_popularity(train), train, test)["precision"]  # doctest: +SKIP
    """
    table = ranking_table(model, train, test, k=k, relevant_min=relevant_min)
    listed = table["top"][table["top"] >= 0]
    counts = np.maximum(_rated_by(train), 1)
    return {
        "precision": float(table["precision"].mean()),
        "recall": float(table["recall"].mean()),
        "ndcg": float(table["ndcg"].mean()),
        "map": float(table["ap"].mean()),
        "hit_rate": float(table["hit"].mean()),
        "coverage": float(np.unique(listed).size / train.n_movies),
        "novelty": float(np.mean(-np.log2(counts[listed] / train.n_users))) if listed.size else float("nan"),
        "n_users": int(table["user"].size),
    }


def popularity_strata(model, train, test, *, k: int = 10, relevant_min: float = 4.0,
                      head_fraction: float = 0.1) -> dict:
    """Popularity bias: how much of the lists and of the hits come from the most-rated movies.

    The *head* is the ``ceil(head_fraction * n_movies)`` movies with the most
    training ratings (ties by the lower index), the *tail* all others.

    Returns
    -------
    dict
        ``head_movies`` (int, size of the head); and for ``"head"`` and
        ``"tail"`` a dict with ``list_share`` (fraction of the recommended
        slots), ``hit_share`` (fraction of all hits), ``relevant_share``
        (fraction of the relevant test movies of the evaluated users) and
        ``recall`` (hits / relevant movies within the stratum, pooled over users).
    """
    head_fraction = check_scalar(head_fraction, "head_fraction", min_val=0.0, max_val=1.0,
                                 include_boundaries="neither")
    table = ranking_table(model, train, test, k=k, relevant_min=relevant_min)
    counts = np.bincount(train.movies, minlength=train.n_movies)
    n_head = int(np.ceil(head_fraction * train.n_movies))
    head = np.zeros(train.n_movies, dtype=bool)
    head[np.argsort(-counts, kind="stable")[:n_head]] = True
    top, hits_at = table["top"], table["relevant"]
    listed = top[top >= 0]
    hit_movies = top[hits_at]
    rel, _ = _relevance(train, test, relevant_min)
    rel_users, rel_movies = np.nonzero(rel[table["user"]])
    out = {"head_movies": n_head}
    for name, part in (("head", head), ("tail", ~head)):
        n_rel_part = int(part[rel_movies].sum())
        n_hit_part = int(part[hit_movies].sum())
        out[name] = {
            "list_share": float(part[listed].mean()) if listed.size else float("nan"),
            "hit_share": float(n_hit_part / hit_movies.size) if hit_movies.size else float("nan"),
            "relevant_share": float(n_rel_part / rel_movies.size),
            "recall": float(n_hit_part / n_rel_part) if n_rel_part else float("nan"),
        }
    return out


# ------------------------------------------------ one user, for teaching
def user_list(scores, train_movies, k: int) -> np.ndarray:
    """One user's top-k list: the best-scored movies not rated in train, ties by the lower index.

    Parameters
    ----------
    scores : array_like of shape (n_movies,)
    train_movies : array_like of int   movies the user rated in train (never listed)
    k : int

    Returns
    -------
    ndarray of int64, shape (min(k, candidates),)
    """
    try:
        scores = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"scores must be a numeric array; could not convert it: {exc}") from None
    if scores.ndim != 1:
        raise ValueError(f"scores must be 1-D, one score per movie, got shape {scores.shape}")
    exclude = np.zeros((1, scores.size), dtype=bool)
    exclude[0, check_indices(train_movies, "train_movies", scores.size, what="movies")] = True
    top, valid = top_k(scores[None, :], k, exclude=exclude)
    return top[0][valid[0]]


def _check_relevant(relevant, n_movies):
    """The relevant movies as int64 indices in 0..n_movies-1 (an empty list is allowed)."""
    return check_indices(relevant, "relevant", n_movies, what="movies")


def precision_at_k(scores, train_movies, relevant, k: int) -> float:
    """P@k = hits / k of one user (see the module docstring).

    Parameters
    ----------
    scores : array_like of shape (n_movies,)
    train_movies, relevant : array_like of int
        The movies the user rated in train; the relevant test movies.
    k : int
    """
    listed = user_list(scores, train_movies, k)
    hits = np.isin(listed, _check_relevant(relevant, np.size(scores))).sum()
    return float(hits / k)


def ndcg_at_k(scores, train_movies, relevant, k: int) -> float:
    """NDCG@k of one user: DCG with gains rel_r / log2(r + 1) over the ideal DCG of min(k, |relevant|) hits."""
    listed = user_list(scores, train_movies, k)
    relevant = np.unique(_check_relevant(relevant, np.size(scores)))
    if relevant.size == 0:
        raise ValueError("relevant is empty: NDCG is only defined for a user with at least one relevant movie")
    rel = np.isin(listed, relevant)
    # Positions past the number of movies are never filled: k = 10**12 needs no 10**12 discounts.
    discount = 1.0 / np.log2(np.arange(1, min(k, np.size(scores)) + 1) + 1.0)
    return float((rel * discount[:rel.size]).sum() / discount[:min(k, relevant.size)].sum())
