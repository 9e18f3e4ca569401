r"""Evaluation protocols: leave-last-one-out, and sampled against full ranking.

:mod:`cflib.ranking` ranks, for every user, *all* movies the user did not rate
in train (full ranking). Many papers instead rank each held-out movie among
N sampled movies (N = 100 is common). This module gives both protocols the
same definitions, so that only the candidates differ.

Leave-last-one-out
------------------
:func:`leave_last_out` puts each user's latest rating (by timestamp) in test
and the rest in train. Ties (several ratings in the same second) go to the
largest movie index, so the split does not depend on the order of the file.
A user with a single rating keeps it in train (and is not evaluated).

Sampled ranking
---------------
For each evaluated user u (one with a test rating >= ``relevant_min``) the
candidates are u's test movies (relevant or not: under full ranking they are
candidates too) and N movies drawn uniformly without replacement from u's
*unrated pool*, the movies u rated in neither train nor test
(:func:`sample_negatives`, seeded). The list is the top k of the candidates by
score, ties broken by the lower movie index, and P@k, R@k, NDCG@k, AP@k and
HR@k are computed by :func:`cflib.ranking.ranking_table` itself (the scores
outside the candidates are set to ``-inf``, "never listed"), so the formulas
are those of :mod:`cflib.ranking`. With N equal to the whole pool the sampled
metrics are the full-ranking ones.

Relation to AUC
---------------
Let user u's pool hold M movies, a of which are listed before a held-out
movie h (higher score, or the same score and a lower index). The full AUC of
h is the fraction of the pool it beats, :math:`\mathrm{AUC} = 1 - a/M`
(:func:`auc_table`). Among N sampled movies, the number listed before h is
hypergeometric, :math:`A \sim \mathrm{Hypergeom}(M, a, N)`, so

.. math::

    \mathbb{E}\big[1 - A/N\big] = 1 - a/M = \mathrm{AUC}, \qquad
    \mathbb{E}[\mathrm{HR}@k] = P(A \le k - 1), \qquad
    \mathbb{E}[\mathrm{NDCG}@k] = \sum_{r=0}^{k-1} \frac{P(A = r)}{\log_2(r + 2)}

for one held-out movie per user (:func:`expected_sampled_metrics`). The
sampled AUC is an unbiased estimate of the full AUC. The sampled HR@k is a
smooth function of the full rank: with N = 100 and M = 1,600, the expected
HR@10 is about one half when h beats 90 % of the pool (:math:`\mathbb{E}[A] = N a / M`
near 9) and about 0.97 when it beats 95 %, while the full HR@10 asks for a < 10. A sampled metric thus measures
something close to AUC, and it can order two models differently from the full
ranking (Krichene and Rendle, KDD 2020).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.stats import hypergeom

from .arguments import check_int, check_scalar
from .ranking import ranking_table, score_matrix

__all__ = ["leave_last_out", "sample_negatives", "sampled_table", "sampled_metrics", "auc_table",
           "expected_sampled_metrics", "full_table", "full_metrics", "SAMPLED_METRICS"]

#: The keys of :func:`sampled_metrics` that are means over the evaluated users.
SAMPLED_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "auc")


def _check_ratings(data, name):
    if not all(hasattr(data, a) for a in ("movies", "users", "ratings", "n_movies", "n_users")):
        raise TypeError(f"{name} must be a cflib.Ratings (e.g. from cflib.load_split), got {type(data).__name__}")


def _check_pair(train, test):
    _check_ratings(train, "train")
    _check_ratings(test, "test")
    if (test.n_movies, test.n_users) != (train.n_movies, train.n_users):
        raise ValueError(f"test has shape {(test.n_movies, test.n_users)} but train has "
                         f"{(train.n_movies, train.n_users)}: split one Ratings so both keep all movies and users")


def leave_last_out(data):
    """Each user's latest rating to test, the rest to train (module docstring).

    Parameters
    ----------
    data : Ratings with ``timestamps``

    Returns
    -------
    train, test : Ratings
        Same shape as ``data``. ``test`` holds one rating per user with at
        least 2 ratings: the one with the largest timestamp, and among ratings
        of the same second the one with the largest movie index. Users with
        one rating keep it in train.
    """
    _check_ratings(data, "data")
    if getattr(data, "timestamps", None) is None:
        raise ValueError("data has no timestamps (synthetic data?): leave_last_out needs the time of every "
                         "rating; load MovieLens with cflib.load_movielens(), whose Ratings keep them")
    order = np.lexsort((data.movies, data.timestamps, data.users))  # by user, then time, then movie
    users = data.users[order]
    last = np.r_[users[1:] != users[:-1], True]  # the last of each user's run
    first = np.r_[True, users[1:] != users[:-1]]
    is_test = np.zeros(data.nnz, dtype=bool)
    is_test[order[last & ~first]] = True  # a user's only rating stays in train
    if not is_test.any():
        raise ValueError("data has no user with 2 or more ratings: nothing can be held out")
    return (data.subset(~is_test, name=f"{data.name} leave-last-out train"),
            data.subset(is_test, name=f"{data.name} leave-last-out test"))


def _rated(train, test):
    """Boolean (n_users, n_movies): rated in train or in test."""
    rated = np.zeros((train.n_users, train.n_movies), dtype=bool)
    rated[train.users, train.movies] = True
    rated[test.users, test.movies] = True
    return rated


def _evaluated_users(test, relevant_min, users, n_users):
    """The users with a relevant test movie (sorted), or ``users`` checked to all have one."""
    has = np.zeros(n_users, dtype=bool)
    has[test.users[test.ratings >= relevant_min]] = True
    if users is None:
        found = np.flatnonzero(has)
        if found.size == 0:
            raise ValueError(f"no user has a test rating >= relevant_min={relevant_min:g}: "
                             "lower relevant_min or use a larger test set")
        return found
    users = np.asarray(users)
    if users.ndim != 1 or users.size == 0 or not np.issubdtype(users.dtype, np.integer):
        raise ValueError(f"users must be a non-empty 1-D array of user indices, got {users!r:.80}")
    if users.min() < 0 or users.max() >= n_users:
        raise ValueError(f"users holds indices in {users.min()}..{users.max()}, expected 0..{n_users - 1}")
    missing = users[~has[users]]
    if missing.size:
        raise ValueError(f"users holds user {int(missing[0])}, who has no test rating >= relevant_min="
                         f"{relevant_min:g} ({missing.size} such users): evaluate only users with a held-out "
                         "relevant movie (leave users=None to take them all)")
    if np.unique(users).size != users.size:
        raise ValueError("users names a user more than once: give each user once")
    return np.sort(users.astype(np.int64))


def sample_negatives(train, test, n_negatives: int = 100, *, seed: int = 0, relevant_min: float = 4.0,
                     users=None):
    """For every evaluated user, ``n_negatives`` movies drawn from the movies they rated in neither train nor test.

    The draw depends only on the data, ``n_negatives`` and ``seed`` (never on a
    model), so every model is ranked against the same negatives.

    Parameters
    ----------
    train, test : Ratings of the same shape
    n_negatives : int >= 1, default 100
        N, the sampled movies per user.
    seed : int >= 0, default 0
        Seed of ``np.random.default_rng``; users are drawn for in increasing order.
    relevant_min : float, default 4.0
        Users with a test rating >= this are evaluated.
    users : array_like of int, optional
        Evaluate these users only; each must have a test rating >= ``relevant_min``.

    Returns
    -------
    users : ndarray of int64, shape (n_eval,)
        The evaluated users, increasing.
    negatives : ndarray of int64, shape (n_eval, n_negatives)
        Row e: distinct movies, none rated by ``users[e]`` in train or test.
    """
    _check_pair(train, test)
    n_negatives = check_int(n_negatives, "n_negatives", min_val=1)
    seed = check_int(seed, "seed", min_val=0)
    relevant_min = check_scalar(relevant_min, "relevant_min", numbers.Real)
    users = _evaluated_users(test, relevant_min, users, train.n_users)
    rated = _rated(train, test)[users]
    pool = train.n_movies - rated.sum(axis=1)
    if n_negatives > pool.min():
        e = int(np.argmin(pool))
        raise ValueError(f"n_negatives={n_negatives} is larger than the unrated pool of user {int(users[e])} "
                         f"({int(pool[e])} of {train.n_movies} movies unrated in train and test): choose "
                         f"n_negatives <= {int(pool[e])}")
    rng = np.random.default_rng(seed)
    negatives = np.empty((users.size, n_negatives), dtype=np.int64)
    for e in range(users.size):
        negatives[e] = rng.choice(np.flatnonzero(~rated[e]), size=n_negatives, replace=False)
    return users, negatives


class _Candidates:
    """A model whose scores are ``-inf`` outside each user's candidates ("never listed" in cflib.ranking)."""

    def __init__(self, scores, candidates):
        self.scores, self.candidates = scores, candidates

    def predict_all(self, *, clip=False):
        return np.where(self.candidates, self.scores, -np.inf)


def _candidate_mask(train, test, users, negatives):
    """Boolean (n_movies, n_users): the evaluated users' test movies and sampled negatives."""
    cand = np.zeros((train.n_movies, train.n_users), dtype=bool)
    cand[negatives.ravel(), np.repeat(users, negatives.shape[1])] = True
    of_user = np.zeros(train.n_users, dtype=bool)
    of_user[users] = True
    keep = of_user[test.users]
    cand[test.movies[keep], test.users[keep]] = True
    return cand


def _check_negatives(train, test, negatives, relevant_min):
    """``negatives`` given as ``(users, negatives)`` from :func:`sample_negatives`: checked against the data."""
    if not (isinstance(negatives, tuple) and len(negatives) == 2):
        raise TypeError("negatives must be the pair (users, negatives) returned by sample_negatives")
    users = _evaluated_users(test, relevant_min, negatives[0], train.n_users)
    neg = np.asarray(negatives[1])
    if not np.array_equal(users, np.asarray(negatives[0])) or neg.ndim != 2 or neg.shape[0] != users.size:
        raise ValueError("negatives must be the pair (users, negatives) returned by sample_negatives for this "
                         "train and test: users increasing, one row of negatives per user")
    if neg.min() < 0 or neg.max() >= train.n_movies:
        raise ValueError(f"negatives holds movie indices in {neg.min()}..{neg.max()}, expected 0..{train.n_movies - 1}")
    if _rated(train, test)[users[:, None], neg].any():
        raise ValueError("negatives holds a movie the user rated in train or test: sample them with "
                         "sample_negatives on the same train and test")
    return users, neg.astype(np.int64)


def _before_counts(S, users_t, movies_t, negative_mask):
    """For each pair t: how many of user t's negatives are listed before movie t.

    "Before" is the ranking's order: a higher score, or the same score and a lower movie index.
    """
    out = np.empty(users_t.size, dtype=np.int64)
    index = np.arange(S.shape[1])
    for start in range(0, users_t.size, 512):
        part = slice(start, start + 512)
        rows = S[users_t[part]]
        s = S[users_t[part], movies_t[part]][:, None]
        before = (rows > s) | ((rows == s) & (index[None, :] < movies_t[part][:, None]))
        out[part] = (before & negative_mask[users_t[part]]).sum(axis=1)
    return out


def _per_user_mean(values, users_t, users):
    """Mean of ``values`` over each user's pairs, for ``users`` (every one has at least one pair)."""
    n = users.max() + 1
    total = np.bincount(users_t, weights=values, minlength=n)
    count = np.bincount(users_t, minlength=n)
    return total[users] / count[users]


def _relevant_pairs(test, users, relevant_min):
    """The (user, movie) pairs of the relevant test ratings of ``users``."""
    of_user = np.zeros(test.n_users, dtype=bool)
    of_user[users] = True
    keep = (test.ratings >= relevant_min) & of_user[test.users]
    return test.users[keep], test.movies[keep]


def sampled_table(model, train, test, *, n_negatives: int = 100, k: int = 10, seed: int = 0,
                  relevant_min: float = 4.0, negatives=None) -> dict:
    """Per-user metrics under the sampled protocol (module docstring), as :func:`cflib.ranking.ranking_table`.

    Parameters
    ----------
    model : object with ``predict_all(clip=False)`` or ``predict(movies, users, clip=False)``
    train, test : Ratings of the same shape
    n_negatives : int >= 1, default 100
    k : int >= 1, default 10
    seed : int >= 0, default 0
    relevant_min : float, default 4.0
    negatives : (users, negatives), optional
        The result of :func:`sample_negatives`, to reuse one draw for several models
        (``n_negatives`` and ``seed`` are then not used).

    Returns
    -------
    dict of ndarrays, one row per evaluated user
        The keys of :func:`cflib.ranking.ranking_table` (``user``, ``hits``,
        ``precision``, ``recall``, ``ndcg``, ``ap``, ``hit``, ``top``, ...) plus
        ``auc``: the mean over the user's relevant test movies of the fraction
        of the sampled movies listed after it.
    """
    _check_pair(train, test)
    relevant_min = check_scalar(relevant_min, "relevant_min", numbers.Real)
    if negatives is None:
        users, neg = sample_negatives(train, test, n_negatives, seed=seed, relevant_min=relevant_min)
    else:
        users, neg = _check_negatives(train, test, negatives, relevant_min)
    of_user = np.zeros(train.n_users, dtype=bool)
    of_user[users] = True
    test_e = test.subset(of_user[test.users])
    S = score_matrix(model, train.n_movies, train.n_users)
    cand = _candidate_mask(train, test_e, users, neg)
    table = ranking_table(_Candidates(S, cand), train, test_e, k=k, relevant_min=relevant_min)
    negative_mask = np.zeros((train.n_users, train.n_movies), dtype=bool)
    negative_mask[np.repeat(users, neg.shape[1]), neg.ravel()] = True
    users_t, movies_t = _relevant_pairs(test_e, users, relevant_min)
    before = _before_counts(S.T, users_t, movies_t, negative_mask)
    table["auc"] = _per_user_mean(1.0 - before / neg.shape[1], users_t, table["user"])
    return table


def _means(table) -> dict:
    return {"precision": float(table["precision"].mean()), "recall": float(table["recall"].mean()),
            "ndcg": float(table["ndcg"].mean()), "map": float(table["ap"].mean()),
            "hit_rate": float(table["hit"].mean()), "auc": float(table["auc"].mean()),
            "n_users": int(table["user"].size)}


def sampled_metrics(model, train, test, *, n_negatives: int = 100, k: int = 10, seed: int = 0,
                    relevant_min: float = 4.0, negatives=None) -> dict:
    """Means over the evaluated users of :func:`sampled_table`: ``precision``, ``recall``, ``ndcg``,
    ``map``, ``hit_rate``, ``auc`` and ``n_users`` (the same keys as :func:`full_metrics`)."""
    return _means(sampled_table(model, train, test, n_negatives=n_negatives, k=k, seed=seed,
                                relevant_min=relevant_min, negatives=negatives))


def auc_table(model, train, test, *, relevant_min: float = 4.0) -> dict:
    """Full AUC per user: the mean over u's relevant test movies of the fraction of u's unrated pool listed after it.

    The unrated pool is every movie u rated in neither train nor test; "listed
    after" uses the ranking's order (score, then the lower movie index first).

    Returns
    -------
    dict
        ``user`` (n_eval,) and ``auc`` (n_eval,), ``pool`` (n_eval,): the pool sizes M.
    """
    _check_pair(train, test)
    relevant_min = check_scalar(relevant_min, "relevant_min", numbers.Real)
    users = _evaluated_users(test, relevant_min, None, train.n_users)
    S = score_matrix(model, train.n_movies, train.n_users).T
    pool = ~_rated(train, test)
    M = pool.sum(axis=1)
    if (M[users] == 0).any():
        raise ValueError(f"user {int(users[M[users] == 0][0])} rated every movie in train or test: the AUC "
                         "needs unrated movies")
    users_t, movies_t = _relevant_pairs(test, users, relevant_min)
    before = _before_counts(S, users_t, movies_t, pool)
    return {"user": users, "auc": _per_user_mean(1.0 - before / M[users_t], users_t, users), "pool": M[users]}


def full_table(model, train, test, *, k: int = 10, relevant_min: float = 4.0) -> dict:
    """:func:`cflib.ranking.ranking_table` (full ranking) plus the ``auc`` of :func:`auc_table`, per user."""
    table = ranking_table(model, train, test, k=k, relevant_min=relevant_min)
    table["auc"] = auc_table(model, train, test, relevant_min=relevant_min)["auc"]
    return table


def full_metrics(model, train, test, *, k: int = 10, relevant_min: float = 4.0) -> dict:
    """Means of :func:`full_table`, with the keys of :func:`sampled_metrics`."""
    return _means(full_table(model, train, test, k=k, relevant_min=relevant_min))


def expected_sampled_metrics(model, train, test, *, n_negatives: int = 100, k: int = 10,
                             relevant_min: float = 4.0) -> dict:
    """The expected sampled HR@k, NDCG@k and AUC of each user over all draws of the negatives (module docstring).

    Exact, from the hypergeometric law of A, the number of sampled movies listed
    before the held-out one. Needs exactly one test movie per evaluated user
    (:func:`leave_last_out`).

    Returns
    -------
    dict of ndarrays, one row per evaluated user
        ``user``, ``hit`` (E[HR@k] = E[R@k]), ``precision`` (E[HR@k] / k),
        ``ndcg`` (E[NDCG@k]), ``auc`` (the full AUC, = E[sampled AUC]),
        ``before`` (a) and ``pool`` (M).
    """
    _check_pair(train, test)
    n_negatives = check_int(n_negatives, "n_negatives", min_val=1)
    k = check_int(k, "k", min_val=1)
    relevant_min = check_scalar(relevant_min, "relevant_min", numbers.Real)
    users = _evaluated_users(test, relevant_min, None, train.n_users)
    per_user = np.bincount(test.users, minlength=train.n_users)[users]
    if (per_user != 1).any():
        e = int(np.argmax(per_user != 1))
        raise ValueError(f"test holds {int(per_user[e])} movies of user {int(users[e])}: "
                         "expected_sampled_metrics needs exactly one held-out movie per evaluated user "
                         "(split with cflib.protocols.leave_last_out)")
    S = score_matrix(model, train.n_movies, train.n_users).T
    pool = ~_rated(train, test)
    users_t, movies_t = _relevant_pairs(test, users, relevant_min)
    a = _before_counts(S, users_t, movies_t, pool)
    M = pool.sum(axis=1)[users_t]
    if n_negatives > M.min():
        raise ValueError(f"n_negatives={n_negatives} is larger than the smallest unrated pool ({int(M.min())} "
                         f"movies): choose n_negatives <= {int(M.min())}")
    r = np.arange(min(k, n_negatives + 1))
    pmf = hypergeom.pmf(r[None, :], M[:, None], a[:, None], n_negatives)  # P(A = r), r < k
    hit = pmf.sum(axis=1)
    order = np.argsort(users_t)
    return {"user": users_t[order], "hit": hit[order], "precision": hit[order] / k,
            "ndcg": (pmf / np.log2(r + 2.0)).sum(axis=1)[order], "auc": (1.0 - a / M)[order],
            "before": a[order], "pool": M[order]}
