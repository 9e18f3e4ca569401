"""Checks of part 7 (notebook 10): one user's implicit-ALS row solve.

``check_implicit_row(fn)`` runs ``fn`` on small seeded problems through the
engine (:func:`cflib.checks.engine.run`: copies, time limit, captured output),
prints one line and returns ``fn`` if it passed, else a
:class:`~cflib.checks.guard.StandIn` for :func:`cflib.implicit_als.implicit_row`.

The planted mistakes: C instead of C - I in the interaction term (the X^T X
counted twice for them), X^T X forgotten (only the interactions, so the
unwatched movies' p = 0 is never seen), lam forgotten, the confidence missing
on the right-hand side.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Mistake, array, case_rng, lazy, run

__all__ = ["check_implicit_row"]


def _row_cases():
    rng = case_rng(41)
    cases = []
    for n_movies, k, n, alpha, lam in ((10, 2, 4, 5.0, 1.0), (15, 3, 6, 2.0, 0.5), (20, 4, 9, 10.0, 3.0)):
        X = rng.standard_normal((n_movies, k))
        movies = rng.choice(n_movies, size=n, replace=False)  # in no order: c[t] belongs to movies[t]
        c = 1.0 + alpha * rng.integers(1, 6, n).astype(float)
        cases.append(Case(f"{n} interactions of {n_movies} movies, k={k}, lam={lam:g}", (X, movies, c, lam), lam))
    return cases


def check_implicit_row(fn) -> Callable:
    """Check ``fn(X, movies, c, lam) -> theta`` of shape (k,), one user's implicit-ALS step.

    ``theta`` solves :math:`(X^T X + X_N^T (C_N - I) X_N + \\lambda I)\\theta = X_N^T c_N`.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.implicit_als.implicit_row`, else a StandIn that runs that function
        and says so.
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

    spec = CheckSpec(
        name="check_implicit_row", signature="X, movies, c, lam", ref_name="cflib.implicit_als.implicit_row",
        reference=lazy("implicit_als", "implicit_row"), cases=_row_cases(), parts=("theta",),
        split=lambda out, case: (array(out, "theta, an array of shape (k,)"),),
        mistakes=[
            Mistake("uses C instead of C - I in the interaction term: X^T X already holds a confidence of 1 for every movie",
                     "A = X.T @ X + X_N.T @ diag(c - 1) @ X_N + lam * I",
                     lambda X, m, c, lam: solve(X, m, c, lam, minus=0.0)),
            Mistake("leaves out X^T X: only the watched movies enter, so the p = 0 of all the others is ignored",
                     "start from X.T @ X (every movie, confidence 1), then add X_N.T @ diag(c - 1) @ X_N",
                     lambda X, m, c, lam: solve(X, m, c, lam, minus=0.0, gram=False)),
            Mistake("is solved with the movies sorted (np.sort or np.unique) but not c with them: confidence c[t] "
                    "belongs to movies[t], and the movies come in no particular order",
                    "use X[movies] as it comes, row t paired with c[t]; sort nothing",
                    lambda X, m, c, lam: solve(X, np.sort(m), c, lam)),
            Mistake("forgets lam on the diagonal", "add lam * np.eye(k) to the matrix",
                     lambda X, m, c, lam: solve(X, m, c, lam, with_lam=False)),
            Mistake("has no confidence on the right-hand side", "the right-hand side is X_N.T @ c (p = 1 there, times c)",
                     lambda X, m, c, lam: solve(X, m, c, lam, rhs_c=False)),
        ],
        shape_hint=lambda p, got, exp: (
            "theta is 1-D, shape (k,): solve with the 1-D right-hand side X_N.T @ c, or .ravel() the result"
            if len(got[0]) == 2 and 1 in got[0] and exp[0][0] in got[0]
            else "theta has one entry per feature: solve a (k, k) system"),
        data_hint="A = X.T @ X + X_N.T @ diag(c - 1) @ X_N + lam * I, b = X_N.T @ c, theta = np.linalg.solve(A, b)",
        error_hint="X is (n_movies, k); movies indexes its rows; c has one confidence per entry of movies",
        later="no later cell uses it (cflib.implicit_als.implicit_row stands in if you call it)",
    )
    return run(spec, fn)
