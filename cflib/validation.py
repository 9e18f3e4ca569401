"""Input checks shared by the cost, gradient and training functions.

Every check raises ``ValueError`` (or ``TypeError``) with a message that says
what was expected, what was given, and how to fix it.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_factors", "check_dense", "check_coords", "check_lam"]


def _as_2d_float(A, name: str) -> np.ndarray:
    try:
        A = np.asarray(A, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array; could not convert it: {exc}") from None
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got an array with {A.ndim} dimension(s) of shape {A.shape}")
    return A


def check_lam(lam) -> float:
    """Return ``lam`` as a float after checking it is finite and >= 0."""
    if not isinstance(lam, numbers.Real) or isinstance(lam, bool):
        raise TypeError(f"lam must be a real number, got {type(lam).__name__}")
    lam = float(lam)
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam}")
    return lam


def check_factors(X, Theta):
    """Check the factor matrices and return them as float arrays.

    Parameters
    ----------
    X : array_like of shape (n_movies, k)
    Theta : array_like of shape (n_users, k)

    Returns
    -------
    X, Theta : ndarray of float64
    """
    X = _as_2d_float(X, "X")
    Theta = _as_2d_float(Theta, "Theta")
    if X.shape[1] != Theta.shape[1]:
        raise ValueError(
            f"X has k={X.shape[1]} columns but Theta has k={Theta.shape[1]}: expected "
            "X (n_movies, k) and Theta (n_users, k) with the same k. "
            "Did you pass Theta transposed?"
        )
    for A, name in ((X, "X"), (Theta, "Theta")):
        if not np.all(np.isfinite(A)):
            bad = int(np.size(A) - np.count_nonzero(np.isfinite(A)))
            raise ValueError(
                f"{name} contains {bad} NaN or inf value(s); a diverging optimiser "
                "(step size too large) is the usual cause"
            )
    return X, Theta


def check_dense(X, Theta, Y, R):
    """Check the arguments of the dense cost and gradient functions.

    Parameters
    ----------
    X : array_like of shape (n_movies, k)
    Theta : array_like of shape (n_users, k)
    Y : array_like of shape (n_movies, n_users)
        Values where ``R`` is 0 are ignored, so they may be anything, NaN included.
    R : array_like of shape (n_movies, n_users)
        Bool, or numbers that are all 0 or 1.

    Returns
    -------
    X, Theta, Y : ndarray of float64
    R : ndarray of bool
    """
    X, Theta = check_factors(X, Theta)
    Y = _as_2d_float(Y, "Y")
    R = np.asarray(R)
    if R.ndim != 2:
        raise ValueError(f"R must be 2-D (n_movies, n_users), got shape {R.shape}")
    if R.dtype != bool:
        if not np.all((R == 0) | (R == 1)):
            raise ValueError("R must contain only 0/1 or True/False (1 where a rating exists)")
        R = R.astype(bool)
    expected = (X.shape[0], Theta.shape[0])
    for A, name in ((Y, "Y"), (R, "R")):
        if A.shape != expected:
            hint = " (it looks transposed: Y and R are movies x users)" if A.shape == expected[::-1] else ""
            raise ValueError(
                f"{name} has shape {A.shape}, expected (n_movies, n_users) = {expected} "
                f"from X {X.shape} = (n_movies, k) and Theta {Theta.shape} = (n_users, k){hint}"
            )
    if not np.all(np.isfinite(Y[R])):
        raise ValueError("Y contains NaN or inf at rated entries (where R is 1); fix or drop those ratings")
    return X, Theta, Y, R


def check_coords(X, Theta, movies, users, ratings):
    """Check the arguments of the sparse cost and gradient functions.

    Parameters
    ----------
    X : array_like of shape (n_movies, k)
    Theta : array_like of shape (n_users, k)
    movies, users : array_like of int, shape (nnz,)
        0-based row of X and row of Theta of each rating.
    ratings : array_like of float, shape (nnz,)

    Returns
    -------
    X, Theta : ndarray of float64
    movies, users : ndarray of int64
    ratings : ndarray of float64
    """
    X, Theta = check_factors(X, Theta)
    movies = np.asarray(movies)
    users = np.asarray(users)
    ratings = np.asarray(ratings, dtype=np.float64)
    if not (movies.ndim == users.ndim == ratings.ndim == 1 and movies.shape == users.shape == ratings.shape):
        raise ValueError(
            "movies, users and ratings must be 1-D arrays of the same length (nnz,); "
            f"got shapes {movies.shape}, {users.shape}, {ratings.shape}"
        )
    for a, name in ((movies, "movies"), (users, "users")):
        if a.size and not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"{name} must hold integer indices, got dtype {a.dtype}")
    movies = movies.astype(np.int64, copy=False)
    users = users.astype(np.int64, copy=False)
    if movies.size:
        if movies.min() < 0 or movies.max() >= X.shape[0]:
            raise ValueError(
                f"movies holds indices in {movies.min()}..{movies.max()} but X has "
                f"{X.shape[0]} rows: indices must be 0-based rows of X"
            )
        if users.min() < 0 or users.max() >= Theta.shape[0]:
            raise ValueError(
                f"users holds indices in {users.min()}..{users.max()} but Theta has "
                f"{Theta.shape[0]} rows: indices must be 0-based rows of Theta"
            )
    if not np.all(np.isfinite(ratings)):
        raise ValueError("ratings contain NaN or inf; drop those entries")
    return X, Theta, movies, users, ratings
