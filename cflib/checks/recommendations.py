"""Checks of part 5 (notebook 07): recommendations for a new user (fold-in)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Mistake, array, case_rng, lazy, run

__all__ = ["check_fold_in"]


def check_fold_in(fn) -> Callable:
    """Check ``fn(X, movies, ratings, lam) -> theta`` of shape (k,), the new user's preferences.

    ``theta`` solves :math:`(X_r^T X_r + \\lambda I)\\theta = X_r^T r` with
    ``X_r = X[movies]``. The domain is the exercise's: ``lam > 0`` (every case
    has lam > 0), so the dual form ``X_r.T @ solve(X_r @ X_r.T + lam I, r)``,
    right for lam > 0 only, passes too. A function that calls
    ``np.linalg.inv`` gets a note: the exercise asks for ``np.linalg.solve``.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.recommend.fold_in`, else a StandIn
        that runs that function and says so.
    """
    reference = lazy("recommend", "fold_in")
    rng = case_rng(23)
    cases = []
    for n_movies, k, n_r, lam in ((8, 2, 5, 0.1), (8, 2, 5, 1.0), (12, 3, 6, 0.5), (10, 4, 7, 2.0)):
        X = rng.standard_normal((n_movies, k))
        movies = rng.choice(n_movies, size=n_r, replace=False)
        ratings = rng.integers(1, 6, n_r) - 3.0
        cases.append(Case(f"{n_r} ratings of {n_movies} movies with k={k}, lam={lam:g}",
                           (X, movies, ratings, lam), lam))

    def ridge(A, r, M):
        return np.linalg.solve(A.T @ A + M, A.T @ r)

    def shape_hint(p, got, exp):
        if len(got[0]) == 2 and exp[0][0] in got[0]:
            return "theta is 1-D, shape (k,): solve with the 1-D ratings vector, or .ravel() the result"
        return "theta has one entry per feature: shape (k,)"

    spec = CheckSpec(
        name="check_fold_in", signature="X, movies, ratings, lam", ref_name="cflib.recommend.fold_in",
        reference=reference, cases=cases,
        parts=("theta",), split=lambda out, case: (array(out, "theta"),),
        mistakes=[
            Mistake("ignores lam", "solve (X_r.T @ X_r + lam * I) theta = X_r.T @ r",
                    lambda X, m, r, lam: ridge(X[m], r, 0.0 * np.eye(X.shape[1]))),
            Mistake("adds lam to every entry of X_r.T @ X_r, not only to its diagonal",
                    "add lam * np.eye(k), the identity matrix scaled by lam",
                    lambda X, m, r, lam: ridge(X[m], r, lam * np.ones((X.shape[1], X.shape[1])))),
            Mistake("multiplies lam by the number of ratings n_r (the ALS-WR weighting of notebook 12): the "
                    "fold-in of this notebook adds lam * I, whatever the number of ratings",
                    "solve (X_r.T @ X_r + lam * np.eye(k)) theta = X_r.T @ r, with no factor len(movies)",
                    lambda X, m, r, lam: ridge(X[m], r, len(m) * lam * np.eye(X.shape[1]))),
            Mistake("uses lam/2 where the normal equations have lam",
                    "the derivative of lam/2 * |theta|**2 is lam * theta: X_r.T @ X_r + lam * I",
                    lambda X, m, r, lam: ridge(X[m], r, 0.5 * lam * np.eye(X.shape[1]))),
        ],
        shape_hint=shape_hint,
        source_notes=[(lambda src: "inv(" in src, "you invert the matrix with np.linalg.inv; the exercise asks "
                                                 "for np.linalg.solve(A, b), which solves A theta = b without "
                                                 "forming the inverse: faster and more accurate")],
        error_hint="use only the rated movies' rows: X_r = X[movies] has shape (n_r, k), ratings has shape (n_r,)",
        lam_hint="solve (X_r.T @ X_r + lam * np.eye(k)) theta = X_r.T @ r",
        data_hint="use only the rated movies' rows X_r = X[movies] and solve (X_r.T @ X_r + lam * I) theta = X_r.T @ r",
        later="no later cell uses it (cflib.recommend.fold_in stands in if you call it)",
    )
    return run(spec, fn)
