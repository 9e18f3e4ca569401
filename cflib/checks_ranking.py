"""Self-checks for the exercises of notebooks 09 (top-N metrics) and 10 (implicit ALS).

Built on the engine of :mod:`cflib.checks` (``_Spec``, ``_Case``, ``_Mistake``,
``_run``): each ``check_xxx(fn)`` runs ``fn`` on small seeded problems, prints
one line (PASS, not implemented yet, or FAIL with a specific diagnosis and a
hint) and returns ``fn`` if it passed, else the cflib reference.

The planted mistakes:

* top-N metrics: the movies rated in train are left in the ranking (they take
  list slots, and the user has seen them); ``log2(r)`` or ``log2(r + 2)``
  instead of ``log2(r + 1)`` for the 1-based rank r; the ideal DCG over k
  items instead of min(k, |relevant|); precision divided by |relevant| (that is
  recall) or by min(k, |relevant|);
* the implicit-ALS row solve: C instead of C - I in the interaction term
  (the X^T X counted twice for them), X^T X forgotten (only the interactions,
  so the unwatched movies' p = 0 is never seen), lam forgotten, the
  confidence missing on the right-hand side.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .checks import _Case, _Mistake, _Spec, _lazy, _run, _scalar, _array

__all__ = ["check_precision_at_k", "check_ndcg_at_k", "check_implicit_row"]


def _ranking_cases(seed):
    """(scores, train_movies, relevant, k): train movies among the best scores, |relevant| < k and > k."""
    rng = np.random.default_rng(seed)
    S = np.array([0.9, 0.1, 0.8, 0.7, 0.3, 0.6, 0.2, 0.5])
    cases = [_Case("8 movies, train movies 0 and 2 scored highest, 2 relevant, k=3",
                   (S, np.array([0, 2]), np.array([3, 4]), 3))]
    for n, n_train, n_rel, k in ((30, 6, 3, 5), (40, 8, 12, 10), (25, 5, 1, 4)):
        scores = rng.standard_normal(n)
        order = np.argsort(-scores)
        train = rng.choice(order[: 2 * n_train], size=n_train, replace=False)  # train among the best
        rest = np.setdiff1d(order[: n // 2], train)
        relevant = rng.choice(rest, size=n_rel, replace=False)
        cases.append(_Case(f"{n} random scores, {n_train} train movies, {n_rel} relevant, k={k}",
                           (scores, np.sort(train), np.sort(relevant), k)))
    return cases


def _list(scores, train, k, exclude=True):
    scores = np.asarray(scores, float).copy()
    if exclude:
        scores[np.asarray(train)] = -np.inf
    return np.argsort(-scores, kind="stable")[:k]


def _hits(scores, train, relevant, k, exclude=True):
    return np.isin(_list(scores, train, k, exclude), relevant)


def _dcg(rel, shift):
    r = np.arange(1, rel.size + 1)
    with np.errstate(divide="ignore"):
        return np.sum(rel / np.log2(r + shift))


def _ndcg(scores, train, relevant, k, *, exclude=True, shift=1.0, ideal_n=None):
    rel = _hits(scores, train, relevant, k, exclude).astype(float)
    n = min(k, len(relevant)) if ideal_n is None else ideal_n(k, len(relevant))
    return _dcg(rel, shift) / _dcg(np.ones(n), shift)




def check_precision_at_k(fn) -> Callable:
    """Check ``fn(scores, train_movies, relevant, k) -> float``, one user's precision@k.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.ranking.precision_at_k`, else that function.
    """
    spec = _Spec(
        name="check_precision_at_k", signature="scores, train_movies, relevant, k",
        ref_name="cflib.ranking.precision_at_k", reference=_lazy("ranking", "precision_at_k"),
        cases=_ranking_cases(31), parts=("precision@k",), split=lambda out, case: (_scalar(out, "one number"),),
        mistakes=[
            _Mistake("counts the movies rated in train: they stay in the ranking and take list slots",
                     "set scores[train_movies] = -np.inf before ranking: the user has seen those movies",
                     lambda s, t, r, k: _hits(s, t, r, k, exclude=False).sum() / k),
            _Mistake("divides the hits by the number of relevant movies: that is recall@k",
                     "precision@k = hits / k",
                     lambda s, t, r, k: _hits(s, t, r, k).sum() / len(r)),
            _Mistake("divides the hits by min(k, |relevant|), the normalizer of AP and NDCG",
                     "precision@k = hits / k, whatever the number of relevant movies",
                     lambda s, t, r, k: _hits(s, t, r, k).sum() / min(k, len(r))),
            _Mistake("ranks the movies from the lowest score up",
                     "the best movie has the highest score: np.argsort(-scores)[:k]",
                     lambda s, t, r, k: np.isin(np.argsort(np.where(np.isin(np.arange(len(s)), t), np.inf, s),
                                                           kind="stable")[:k], r).sum() / k),
        ],
        data_hint="rank the movies not in train_movies by score, keep the first k, count those in relevant, divide by k",
        error_hint="scores is a 1-D array over movies; train_movies and relevant are arrays of movie indices",
    )
    return _run(spec, fn)


def check_ndcg_at_k(fn) -> Callable:
    """Check ``fn(scores, train_movies, relevant, k) -> float``, one user's NDCG@k (binary gains).

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.ranking.ndcg_at_k`, else that function.
    """
    spec = _Spec(
        name="check_ndcg_at_k", signature="scores, train_movies, relevant, k",
        ref_name="cflib.ranking.ndcg_at_k", reference=_lazy("ranking", "ndcg_at_k"),
        cases=_ranking_cases(37), parts=("NDCG@k",), split=lambda out, case: (_scalar(out, "one number"),),
        mistakes=[
            _Mistake("counts the movies rated in train: they stay in the ranking and take list slots",
                     "set scores[train_movies] = -np.inf before ranking: the user has seen those movies",
                     lambda s, t, r, k: _ndcg(s, t, r, k, exclude=False)),
            _Mistake("uses log2(r) for the 1-based rank r, an off-by-one (rank 1 divides by log2(1) = 0)",
                     "the discount of rank r = 1, 2, ... is 1 / log2(r + 1); with a 0-based index i it is 1 / log2(i + 2)",
                     lambda s, t, r, k: _ndcg(s, t, r, k, shift=0.0)),
            _Mistake("uses log2(r + 2) for the 1-based rank r, an off-by-one (rank 1 must have discount 1)",
                     "the discount of rank r = 1, 2, ... is 1 / log2(r + 1); with a 0-based index i it is 1 / log2(i + 2)",
                     lambda s, t, r, k: _ndcg(s, t, r, k, shift=2.0)),
            _Mistake("divides by the ideal DCG of k hits instead of min(k, |relevant|)",
                     "a user with 2 relevant movies can have at most 2 hits: the ideal list has min(k, len(relevant)) ones",
                     lambda s, t, r, k: _ndcg(s, t, r, k, ideal_n=lambda k, n: k)),
            _Mistake("divides by the ideal DCG of all |relevant| hits, not capped at k",
                     "the ideal list is only k long: min(k, len(relevant)) ones",
                     lambda s, t, r, k: _ndcg(s, t, r, k, ideal_n=lambda k, n: n)),
            _Mistake("is the DCG without the normalization by the ideal DCG",
                     "divide by the DCG of the ideal list, min(k, len(relevant)) hits at the top",
                     lambda s, t, r, k: _dcg(_hits(s, t, r, k).astype(float), 1.0)),
        ],
        nan_hint=("an off-by-one in the discount: log2(r) for the 1-based rank r is log2(1) = 0 at rank 1 "
                  "(inf / inf = NaN); the discount is 1 / log2(r + 1), or 1 / log2(i + 2) for a 0-based index i"),
        data_hint="DCG = sum over the list of rel_r / log2(r + 1) (r from 1), divided by the DCG of min(k, |relevant|) hits",
        error_hint="scores is a 1-D array over movies; train_movies and relevant are arrays of movie indices",
    )
    return _run(spec, fn)


def _row_cases():
    rng = np.random.default_rng(41)
    cases = []
    for n_movies, k, n, alpha, lam in ((10, 2, 4, 5.0, 1.0), (15, 3, 6, 2.0, 0.5), (20, 4, 9, 10.0, 3.0)):
        X = rng.standard_normal((n_movies, k))
        movies = np.sort(rng.choice(n_movies, size=n, replace=False))
        c = 1.0 + alpha * rng.integers(1, 6, n).astype(float)
        cases.append(_Case(f"{n} interactions of {n_movies} movies, k={k}, lam={lam:g}", (X, movies, c, lam), lam))
    return cases


def check_implicit_row(fn) -> Callable:
    """Check ``fn(X, movies, c, lam) -> theta`` of shape (k,), one user's implicit-ALS step.

    ``theta`` solves :math:`(X^T X + X_N^T (C_N - I) X_N + \\lambda I)\\theta = X_N^T c_N`.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.implicit_als.implicit_row`, else that function.
    """
    def solve(X, movies, c, lam, *, minus=1.0, gram=True, with_lam=True, rhs_c=True):
        X = np.asarray(X, float)
        XN = X[movies]
        A = (XN.T * (c - minus)) @ XN
        if gram:
            A = A + X.T @ X
        if with_lam:
            A = A + lam * np.eye(X.shape[1])
        return np.linalg.solve(A, XN.T @ (c if rhs_c else np.ones_like(c)))

    spec = _Spec(
        name="check_implicit_row", signature="X, movies, c, lam", ref_name="cflib.implicit_als.implicit_row",
        reference=_lazy("implicit_als", "implicit_row"), cases=_row_cases(), parts=("theta",),
        split=lambda out, case: (_array(out, "theta, an array of shape (k,)"),),
        mistakes=[
            _Mistake("uses C instead of C - I in the interaction term: X^T X already holds a confidence of 1 for every movie",
                     "A = X.T @ X + X_N.T @ diag(c - 1) @ X_N + lam * I",
                     lambda X, m, c, lam: solve(X, m, c, lam, minus=0.0)),
            _Mistake("leaves out X^T X: only the watched movies enter, so the p = 0 of all the others is ignored",
                     "start from X.T @ X (every movie, confidence 1), then add X_N.T @ diag(c - 1) @ X_N",
                     lambda X, m, c, lam: solve(X, m, c, lam, minus=0.0, gram=False)),
            _Mistake("forgets lam on the diagonal", "add lam * np.eye(k) to the matrix",
                     lambda X, m, c, lam: solve(X, m, c, lam, with_lam=False)),
            _Mistake("has no confidence on the right-hand side", "the right-hand side is X_N.T @ c (p = 1 there, times c)",
                     lambda X, m, c, lam: solve(X, m, c, lam, rhs_c=False)),
        ],
        shape_hint=lambda p, got, exp: "theta has one entry per feature: solve a (k, k) system",
        data_hint="A = X.T @ X + X_N.T @ diag(c - 1) @ X_N + lam * I, b = X_N.T @ c, theta = np.linalg.solve(A, b)",
        error_hint="X is (n_movies, k); movies indexes its rows; c has one confidence per entry of movies",
    )
    return _run(spec, fn)
