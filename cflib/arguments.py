"""The checks of arguments shared by the cost, gradient, training and other public functions.

Every check raises ``ValueError`` (or ``TypeError``) with a message that says
what was expected, what was given, and how to fix it.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_scalar",
    "check_int",
    "check_lam",
    "check_indices",
    "check_index_pair",
    "check_factors",
    "check_dense_args",
    "check_coords",
    "check_no_duplicates",
    "first_repeated_pair",
]


def _as_2d_float(A, name: str) -> np.ndarray:
    try:
        A = np.asarray(A, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array; could not convert it: {exc}") from None
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got an array with {A.ndim} dimension(s) of shape {A.shape}")
    return A


def check_scalar(x, name: str, target_type=numbers.Real, *, min_val=None, max_val=None,
                 include_boundaries: str = "both", allow_none: bool = False):
    """Check that ``x`` is one finite scalar of ``target_type`` within bounds, and return it.

    The one scalar validator of cflib (after scikit-learn's ``check_scalar``):
    every module checks its numeric arguments with it, so messages read alike.

    Parameters
    ----------
    x : object
        The value to check. ``bool`` is never accepted as a number, and strings
        such as ``"0.1"`` are refused (not converted).
    name : str
        The argument's name, quoted in the message.
    target_type : type or tuple of types, default numbers.Real
        ``numbers.Integral`` for counts and seeds, ``numbers.Real`` for the rest.
    min_val, max_val : float, optional
        Bounds; which ones are inclusive is set by ``include_boundaries``.
    include_boundaries : {"both", "left", "right", "neither"}, default "both"
    allow_none : bool, default False
        Return ``None`` unchanged when given.

    Returns
    -------
    int or float
        ``int(x)`` for ``numbers.Integral``, else ``float(x)``.

    Raises
    ------
    TypeError
        Wrong type (the message names the argument and the expected type).
    ValueError
        NaN, infinite or out of bounds.
    """
    if x is None and allow_none:
        return None
    integral = target_type is numbers.Integral or (
        isinstance(target_type, type) and issubclass(target_type, numbers.Integral))
    if isinstance(x, bool) or not isinstance(x, target_type):
        kind = "an integer" if integral else "a real number"
        hint = " (a string is not converted: write the number without quotes)" if isinstance(x, str) else ""
        raise TypeError(f"{name} must be {kind}, got {type(x).__name__} {x!r}{hint}")
    value = int(x) if integral else float(x)
    if not integral and not np.isfinite(value):
        bound = "" if min_val is None else f" {'>=' if include_boundaries in ('both', 'left') else '>'} {min_val:g}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value}")
    left = include_boundaries in ("both", "left")
    right = include_boundaries in ("both", "right")
    if min_val is not None and (value < min_val or (value == min_val and not left)):
        op = ">=" if left else ">"
        raise ValueError(f"{name} must be {'an integer' if integral else 'a finite number'} {op} {min_val:g}, got {x!r}")
    if max_val is not None and (value > max_val or (value == max_val and not right)):
        op = "<=" if right else "<"
        raise ValueError(f"{name} must be {'an integer' if integral else 'a finite number'} {op} {max_val:g}, got {x!r}")
    return value


def check_int(x, name: str, *, min_val=None, max_val=None, allow_none: bool = False):
    """``check_scalar(x, name, numbers.Integral, ...)``: an int within bounds (both inclusive)."""
    return check_scalar(x, name, numbers.Integral, min_val=min_val, max_val=max_val, allow_none=allow_none)


def check_indices(a, name: str, n: int, *, what: str = "rows") -> np.ndarray:
    """Check a 1-D array of 0-based indices into ``n`` items and return it as int64.

    Parameters
    ----------
    a : array_like of int, shape (m,)
    name : str
        The argument's name, quoted in the message.
    n : int
        Valid indices are ``0 .. n - 1``.
    what : str
        What the indices point at, for the message (``"rows of X"``).

    Returns
    -------
    ndarray of int64, shape (m,)
    """
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of indices, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must hold integer indices, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= n):
        raise ValueError(f"{name} holds indices in {a.min()}..{a.max()}, expected 0..{n - 1} ({what})")
    return a.astype(np.int64, copy=False)


def check_index_pair(movies, users, n_movies: int, n_users: int):
    """Check paired movie and user indices (same 1-D shape, in range); return both as int64.

    Parameters
    ----------
    movies, users : array_like of int, shape (n,)
    n_movies, n_users : int

    Returns
    -------
    movies, users : ndarray of int64, shape (n,)
    """
    movies = np.asarray(movies)
    users = np.asarray(users)
    if movies.shape != users.shape or movies.ndim != 1:
        raise ValueError(
            "movies and users must be 1-D arrays of the same length; "
            f"got shapes {movies.shape} and {users.shape}"
        )
    return (check_indices(movies, "movies", n_movies, what="movies"),
            check_indices(users, "users", n_users, what="users"))


def first_repeated_pair(movies, users, n_users: int):
    """Where the first repeated (movie, user) pair is, or None when every pair is distinct.

    "First" is in the order of the input: the entry that repeats an earlier
    pair and comes earliest. Cost: O(nnz) when the pairs are already sorted by
    (movie, user), else one sort of nnz int64 keys; the slower search for the
    first repeat runs only when there is one.

    Parameters
    ----------
    movies, users : ndarray of int, shape (nnz,)
        Valid 0-based indices (already checked).
    n_users : int

    Returns
    -------
    (int, int) or None
        ``(again, first)``: the position of that entry and of the pair's first entry.
    """
    movies = np.asarray(movies)
    users = np.asarray(users)
    if movies.size < 2:
        return None
    key = movies.astype(np.int64) * int(n_users) + users
    if np.all(key[1:] > key[:-1]):  # sorted and distinct: the common case, O(nnz)
        return None
    sk = np.sort(key)
    if not np.any(sk[1:] == sk[:-1]):
        return None
    order = np.argsort(key, kind="stable")
    sk = key[order]
    repeat = np.flatnonzero(sk[1:] == sk[:-1]) + 1  # positions in sk of repeated keys
    t = int(np.argmin(order[repeat]))
    # In a stable sort the occurrences of one key sit together in input order:
    # walk back to the first.
    j = repeat[t] - 1
    while j > 0 and sk[j - 1] == sk[j]:
        j -= 1
    return int(order[repeat[t]]), int(order[j])


def check_no_duplicates(movies, users, n_users: int) -> None:
    """Raise if a (movie, user) pair occurs twice; the message names the first one.

    Parameters
    ----------
    movies, users : ndarray of int, shape (nnz,)
        Valid 0-based indices (already checked).
    n_users : int

    Raises
    ------
    ValueError
        Naming the pair (movie, user) and the positions of its two entries
        (see :func:`first_repeated_pair` for which one is "first").
    """
    found = first_repeated_pair(movies, users, n_users)
    if found is not None:
        at, first_seen = found
        raise ValueError(
            f"the pair (movie {int(movies[at])}, user {int(users[at])}) is rated more than once "
            f"(entries {first_seen} and {at}); give each (movie, user) pair one rating, "
            "e.g. keep the latest"
        )


def check_lam(lam, name: str = "lam") -> float:
    """Return ``lam`` as a float after checking it is a finite real number >= 0."""
    return check_scalar(lam, name, numbers.Real, min_val=0.0)


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


def check_dense_args(X, Theta, Y, R):
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
