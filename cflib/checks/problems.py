"""The shared test problems of the checks: small, seeded, deterministic.

Every check that takes ``(X, Theta, Y, R, lam)`` runs on :func:`dense_cases`;
the sparse checks run on the same problems as coordinates (:func:`sparse_cases`);
the checks that take ``(Y, R)`` run on each of those rating matrices once
(:func:`rating_cases`). A fixed hand-written problem comes first, so a learner can
redo it on paper.
"""

from __future__ import annotations

import functools

import numpy as np

from .engine import Case, case_rng
from .guard import Invalid, StandIn, _TimeUp

__all__ = ["dense_problem", "fixed_problem", "dense_cases", "more_dense_cases", "has_nan_placeholders",
           "sparse_cases", "scale_case", "at_scale", "N_SCALE", "rating_cases", "penalty", "masked_errors", "sparse_errors",
           "grad_shape_hint"]

#: Ratings in the sparse checks' last case: MovieLens 100K's size, where an (n_ratings, n_ratings)
#: intermediate needs 74.5 GiB (a right sparse cost or gradient takes milliseconds).
N_SCALE = 100_000


def dense_problem(rng, n_movies, n_users, k, *, junk=True, empty=False):
    """X, Theta, Y, R with about half of Y rated (integers 1..5).

    ``junk``: Y holds values at unrated entries too (they must not count).
    ``empty``: two movies and two users have no ratings, the middle ones (indices
    ``n // 2``) and the last ones. The last: ``np.bincount`` without ``minlength``
    returns too few rows. The middle: code that packs the rated ids into
    ``0 .. n_rated - 1`` (``np.unique(..., return_inverse=True)``) and writes its
    results to the first rows is right when only the last rows are empty.
    """
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))
    R = rng.random((n_movies, n_users)) < 0.55
    R[0, 0] = R[0, -1] = R[-1, 0] = True
    if empty:
        R[0, n_users - 2] = R[n_movies - 2, 0] = True  # rated rows on both sides of the middle ones
        R[[n_movies // 2, n_movies - 1], :] = False
        R[:, [n_users // 2, n_users - 1]] = False
    Y = rng.integers(1, 6, size=(n_movies, n_users)).astype(float)
    if not junk:
        Y = np.where(R, Y, 0.0)
    return X, Theta, Y, R


def fixed_problem():
    """A hand-written 3-movie, 2-user problem with k = 2."""
    X = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]])
    Theta = np.array([[1.0, 0.5], [-1.0, 2.0]])
    Y = np.array([[4.0, 3.0], [0.0, 5.0], [2.0, 1.0]])
    R = np.array([[True, True], [False, True], [True, False]])
    return X, Theta, Y, R


def dense_cases() -> list:
    """(label, (X, Theta, Y, R), lam) problems, including a square one and empty rows."""
    rng = case_rng(20240)
    fixed = fixed_problem()
    a = dense_problem(rng, 4, 5, 3)
    b = dense_problem(rng, 6, 4, 2, junk=False)
    sq = dense_problem(rng, 5, 5, 3)
    e = dense_problem(rng, 7, 6, 2, empty=True)
    return [
        ("the fixed 3x2 problem with lam=0", fixed, 0.0),
        ("the fixed 3x2 problem with lam=1", fixed, 1.0),
        ("a random 4x5 problem with lam=0", a, 0.0),
        ("a random 4x5 problem with lam=1.5", a, 1.5),
        ("a random 6x4 problem with lam=0.7", b, 0.7),
        ("a random square 5x5 problem with lam=0", sq, 0.0),
        ("a random square 5x5 problem with lam=2", sq, 2.0),
        ("a random 7x6 problem (movies 3 and 6 and users 3 and 5 unrated) with lam=0.3", e, 0.3),
    ]


def more_dense_cases() -> list:
    """Two more (label, problem, lam) for the dense cost and gradient: shapes and k the others lack, NaN in Y.

    The first has k=5 and more users than movies (a size or k written into the code fails there); the
    second has k=1 and NaN in Y where R is 0, which cflib allows (``cflib.objective``: values of Y where
    R is 0 never affect any result), so ``(X @ Theta.T - Y) * R`` is NaN there: NaN * 0 is NaN.
    """
    rng = case_rng(20241)
    wide = dense_problem(rng, 9, 13, 5)
    X, Theta, Y, R = dense_problem(rng, 6, 4, 1)
    return [
        ("a random 9x13 problem with k=5 and lam=0", wide, 0.0),
        ("a random 6x4 problem with k=1 whose Y holds NaN where R is 0, lam=0.5",
         (X, Theta, np.where(R, Y, np.nan), R), 0.5),
    ]


def has_nan_placeholders(case, y_at: int = 2) -> bool:
    """The case's Y (argument ``y_at``, the third by default) holds NaN where R is 0."""
    return len(case.args) > y_at and bool(np.isnan(np.asarray(case.args[y_at], float)).any())


def scale_case(seed: int) -> tuple:
    """(label, (X, Theta, movies, users, ratings), lam): N_SCALE ratings of 1682 movies by 943 users, k=3."""
    rng = case_rng(seed)
    n_movies, n_users = 1682, 943
    movies, users = np.divmod(rng.choice(n_movies * n_users, size=N_SCALE, replace=False), n_users)
    X = 0.5 * rng.standard_normal((n_movies, 3))
    Theta = 0.5 * rng.standard_normal((n_users, 3))
    ratings = rng.integers(1, 6, N_SCALE).astype(float)
    return (f"{N_SCALE} ratings of {n_movies} movies by {n_users} users (the size of MovieLens 100K) "
            "with lam=0.1", (X, Theta, movies, users, ratings), 0.1)


def at_scale(fn, what: str):
    """``fn`` as the sparse checks call it: on the N_SCALE-rating case, running out of memory or time is named.

    Computing every prediction with ``X[movies] @ Theta[users].T`` and keeping its diagonal is right on
    small problems, but builds an (n_ratings, n_ratings) matrix: 74.5 GiB at MovieLens's size.
    """
    if isinstance(fn, StandIn) or not callable(fn):
        return fn

    @functools.wraps(fn)
    def at_scale(*args):
        big = len(args) > 2 and np.size(args[2]) >= N_SCALE
        try:
            return fn(*args)
        except MemoryError as exc:
            if not big:
                raise
            shape = getattr(exc, "shape", None)
            n = np.size(args[2])
            if shape is not None and tuple(shape) == (n, n):
                raise Invalid(f"ran out of memory: {what} builds an n_ratings x n_ratings matrix, {tuple(shape)} "
                              f"here ({n * n * 8 / 2 ** 30:.1f} GiB), such as X[movies] @ Theta[users].T before "
                              "np.diag keeps its diagonal: compute only the n_ratings predictions you need, "
                              "np.sum(X[movies] * Theta[users], axis=1)") from None
            raise Invalid(f"ran out of memory ({type(exc).__name__}: {str(exc)[:100]}): a right answer needs a "
                          "few MB here; look for an intermediate that grows with n_ratings squared, and compute "
                          "the predictions as np.sum(X[movies] * Theta[users], axis=1)") from None
        except _TimeUp:
            if not big:
                raise
            raise _TimeUp(f" on {np.size(args[2])} ratings, where a right answer takes milliseconds: does {what} "
                          "build an n_ratings x n_ratings matrix (X[movies] @ Theta[users].T before np.diag, "
                          "74.5 GiB here)? Compute only the predictions you need, "
                          "np.sum(X[movies] * Theta[users], axis=1)") from None
    return at_scale


def sparse_cases() -> list:
    """The dense problems as shuffled coordinates (movies, users, ratings).

    The problem with unrated movies and users comes twice, with lam=0 too: code
    that misplaces the rows of the rated ids is then wrong at lam = 0 as well, so
    the line names the rows rather than "right for lam = 0 but wrong for lam > 0".
    """
    rng = case_rng(7)
    out = []
    triples = dense_cases()
    label, empty, _ = triples[-1]
    triples.append((label.replace("with lam=0.3", "with lam=0"), empty, 0.0))
    for label, (X, Theta, Y, R), lam in triples:
        movies, users = np.nonzero(R)
        order = rng.permutation(movies.size)
        out.append((label, (X, Theta, movies[order], users[order], Y[movies, users][order]), lam))
    return out


def penalty(X, Theta):
    return 0.5 * (np.sum(X * X) + np.sum(Theta * Theta))


def masked_errors(X, Theta, Y, R):
    return np.where(R, X @ Theta.T - Y, 0.0)


def rating_cases() -> list:
    """``Case((Y, R))`` for each rating matrix of :func:`dense_cases` once (lam plays no part)."""
    cases, seen = [], set()
    for label, (X, Theta, Y, R), lam in dense_cases():
        if id(Y) not in seen:
            seen.add(id(Y))
            cases.append(Case(label.rsplit(" with lam", 1)[0].rsplit(", lam", 1)[0], (Y, R)))
    return cases


def sparse_errors(X, T, movies, users, ratings):
    """Residuals ``X[movies[t]] @ T[users[t]] - ratings[t]`` of coordinate ratings, shape (n_ratings,)."""
    return np.sum(X[movies] * T[users], axis=1) - ratings


def grad_shape_hint(names, of=("X", "Theta")):
    """A shape hint for a pair of results with the shapes of ``of`` (swapped, transposed, other)."""
    def hint(p, got, exp):
        if got[p] == exp[1 - p] and got[1 - p] == exp[p]:
            return f"the two results are swapped: return ({names[0]}, {names[1]}) in this order"
        if got[p] == exp[p][::-1]:
            return f"{names[p]} is transposed: it has the shape of {of[p]}"
        return f"{names[p]} has the shape of {of[p]}"
    return hint


