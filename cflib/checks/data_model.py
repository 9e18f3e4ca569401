"""Checks of part 1 (notebooks 00-01): the rating data and the low-rank model."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Invalid, Mistake, array, case_rng, lazy, pair, run
from .problems import fixed_problem, rating_cases
from ..objective import predict as ref_predict

__all__ = ["check_to_dense", "check_movie_means", "check_predict", "check_truncated_svd"]


#: Where no later cell calls the learner's function.
_NOTHING_LATER = "no later cell uses it ({} stands in if you call it)"
#: Where only the lines after the check, in its own cell, call it.
_THIS_CELL = "the rest of this cell will use {}"


def check_to_dense(fn) -> Callable:
    """Check ``fn(movies, users, ratings, n_movies, n_users) -> (Y, R)``.

    ``Y`` (n_movies, n_users) float holds ``ratings[t]`` at
    ``(movies[t], users[t])`` and 0 elsewhere; ``R`` of the same shape is a
    bool array, True exactly at the coordinates. The last case holds centred
    ratings (a rating minus a mean, as notebook 00 section 2 warns), among them
    0.0 and negative ones: R built from Y (``Y > 0``, ``Y != 0``) misses them.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.ratings.to_dense`, else a StandIn
        that runs that function and says so.
    """
    names = ("Y", "R")
    rng = case_rng(29)
    cases = [Case("the fixed 3x4 example with half stars",
                   (np.array([0, 2, 1, 0, 2]), np.array([1, 0, 3, 3, 2]), np.array([4.0, 2.5, 5.0, 3.5, 1.0]), 3, 4))]
    for n_m, n_u, nnz, half, where in ((7, 5, 14, True, "last"), (5, 5, 11, False, "middle"),
                                       (9, 12, 40, True, "last")):
        # one movie and one user get no rating: the last ones (the shape cannot be read off the
        # coordinates) or the middle ones (packing the rated ids into 0..n-1 puts rows in the wrong place)
        flat = rng.choice((n_m - 1) * (n_u - 1), size=nnz, replace=False)
        movies, users = np.divmod(flat, n_u - 1)
        if where == "middle":
            movies, users = movies + (movies >= n_m // 2), users + (users >= n_u // 2)
        stars = rng.integers(2, 11, nnz) / 2 if half else rng.integers(1, 6, nnz).astype(float)
        nobody = "last movie and user have" if where == "last" else f"movie {n_m // 2} and user {n_u // 2} have"
        cases.append(Case(f"{nnz} ratings in a {n_m}x{n_u} matrix whose {nobody} none"
                           + (" (half stars)" if half else ""), (movies, users, stars, n_m, n_u)))
    # centred ratings (stars minus 3): a rating can be 0.0 or negative, so Y > 0 and Y != 0 are not R
    flat = rng.choice(6 * 5, size=12, replace=False)
    movies, users = np.divmod(flat, 5)
    centred = rng.integers(1, 6, 12) - 3.0
    centred[:2] = 0.0, -1.5
    cases.append(Case("12 centred ratings (stars minus 3: some are 0.0 or negative) in a 6x5 matrix",
                      (movies, users, centred, 6, 5)))

    def split(out, case):
        Y, R = pair(out, names)
        dtype = np.asarray(out[1]).dtype
        if dtype != bool and np.asarray(out[0]).dtype == bool:
            raise Invalid("returned (R, Y): the first result is the bool mask and the second holds the ratings; "
                          "return Y, R in this order")
        if dtype != bool:
            raise Invalid(f"returned R with dtype {dtype} instead of bool: "
                           "create it with np.zeros((n_movies, n_users), dtype=bool)")
        return Y, R

    def built(dtype=float, swap=False, r_from_y=None):
        def f(movies, users, ratings, n_movies, n_users):
            Y = np.zeros((n_movies, n_users), dtype=dtype)
            R = np.zeros((n_movies, n_users), dtype=bool)
            rows, cols = (users, movies) if swap else (movies, users)
            Y[rows, cols] = ratings
            R[rows, cols] = True
            return Y, (r_from_y(Y) if r_from_y else R)
        return f

    r_from_y_hint = ("set R[movies, users] = True from the coordinates: R says what was observed, whatever the "
                     "values (notebook 00, section 2)")

    def shape_hint(p, got, exp):
        if got[p] == exp[p][::-1]:
            return "movies are the rows and users the columns: the shape is (n_movies, n_users)"
        if all(g <= e for g, e in zip(got[p], exp[p])):
            return ("use n_movies and n_users for the shape, not movies.max() + 1: "
                    "the last movies or users may have no rating")
        return f"{names[p]} has shape (n_movies, n_users)"

    spec = CheckSpec(
        name="check_to_dense", signature="movies, users, ratings, n_movies, n_users", ref_name="cflib.ratings.to_dense",
        reference=lazy("ratings", "to_dense"), cases=cases, parts=names, split=split,
        mistakes=[
            Mistake("puts rating t at (users[t], movies[t]): the indices are swapped",
                    "movies index the rows and users the columns: Y[movies, users] = ratings",
                    built(swap=True)),
            Mistake("loses the half stars: Y has an integer dtype",
                    "create Y as floats, np.zeros((n_movies, n_users)), not with dtype=int",
                    built(dtype=np.int64)),
            Mistake("is computed from the values of Y (as Y > 0 or Y >= 1 would be): a centred rating of 0.0 or "
                    "below is a rating too, and R misses it ({where})", r_from_y_hint, built(r_from_y=lambda Y: Y > 0)),
            Mistake("is computed from Y as Y != 0: a centred rating of 0.0 is a rating too, and R misses it "
                    "({where})", r_from_y_hint, built(r_from_y=lambda Y: Y != 0)),
        ],
        shape_hint=shape_hint, later=_THIS_CELL.format("cflib.ratings.to_dense"),
        nan_hint="Y is 0 where unrated, not NaN: start from np.zeros((n_movies, n_users))",
        error_hint="Y and R have shape (n_movies, n_users): movies index the rows, users the columns",
        data_hint="Y[movies, users] = ratings on a zero matrix, R[movies, users] = True on a False matrix",
    )
    return run(spec, fn)


def _masked_stat(Y, mask, stat):
    """``stat`` (np.nanmean, np.nanmedian) of each row of Y over ``mask``, nan for an empty row."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return stat(np.where(mask, Y, np.nan), axis=1)


def check_movie_means(fn) -> Callable:
    """Check ``fn(Y, R) -> means`` of shape (n_movies,): each movie's mean over its rated entries.

    A movie with no rating must give NaN. Y holds junk at unrated entries in
    some cases: it must not count.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.ratings.movie_means`, else a StandIn
        that runs that function and says so.
    """
    reference = lazy("ratings", "movie_means")
    cases = rating_cases()

    def masked(Y, R):
        return np.where(R, Y, 0.0).sum(axis=1), R.sum(axis=1)

    def empty_as(value):
        def f(Y, R):
            sums, counts = masked(Y, R)
            fill = np.where(R, Y, 0.0).sum() / R.sum() if value == "global" else value
            return np.where(counts > 0, sums / np.maximum(counts, 1), fill)
        return f

    def shape_hint(p, got, exp):
        n_movies = exp[0][0]
        if got[0] == (n_movies, 1):
            return "the means are 1-D, shape (n_movies,): drop keepdims or use .ravel()"
        return "one mean per movie: average along each row of Y (axis=1), over the rated entries"

    spec = CheckSpec(
        name="check_movie_means", signature="Y, R", ref_name="cflib.ratings.movie_means", reference=reference,
        cases=cases, parts=("the mean vector",), split=lambda out, case: (array(out, "the mean vector"),),
        mistakes=[
            Mistake("is Y.mean(axis=1), the mean over all n_users entries of each row: the unrated entries "
                    "(0, or junk in some test cases) count as ratings, the classic mistake of section 6",
                    "average only the rated entries: np.where(R, Y, 0).sum(axis=1) / R.sum(axis=1), "
                    "nan where R.sum(axis=1) is 0",
                    lambda Y, R: Y.mean(axis=1)),
            Mistake("counts the unrated entries: it divides by n_users, not by the number of ratings",
                    "divide the sum of the rated entries by R.sum(axis=1)",
                    lambda Y, R: masked(Y, R)[0] / Y.shape[1]),
            Mistake("adds up Y where R is 0 too: the numerator is not masked (Y holds junk there in some test cases)",
                    "sum only the rated entries: np.where(R, Y, 0).sum(axis=1), or (R * Y).sum(axis=1)",
                    lambda Y, R: Y.sum(axis=1) / np.maximum(R.sum(axis=1), 1)),
            Mistake("adds up Y where R is 0 too: the numerator is not masked (Y holds junk there in some test cases)",
                    "sum only the rated entries: np.where(R, Y, 0).sum(axis=1), or (R * Y).sum(axis=1)",
                    lambda Y, R: Y.sum(axis=1) / R.sum(axis=1)),  # the same mistake, without the guard against 0
            Mistake("averages the entries where Y > 0, not where R is 1: Y holds placeholders where R is 0 "
                    "(junk in some test cases), so the mask must come from R",
                    "mask with R: np.where(R, Y, 0).sum(axis=1) / R.sum(axis=1), nan where R.sum(axis=1) is 0",
                    lambda Y, R: _masked_stat(Y, Y > 0, np.nanmean)),
            Mistake("is each movie's median rating, not its mean",
                    "the mean: the sum of the rated entries divided by their number, R.sum(axis=1)",
                    lambda Y, R: _masked_stat(Y, R, np.nanmedian)),
            Mistake("gives 0 to a movie with no ratings instead of nan",
                    "where R.sum(axis=1) is 0 return np.nan: np.where(counts > 0, sums / counts, np.nan)",
                    empty_as(0.0)),
            Mistake("gives the global mean to a movie with no ratings instead of nan",
                    "that is what normalize_ratings does for a model; here return np.nan where nothing is rated",
                    empty_as("global")),
        ],
        shape_hint=shape_hint, later=_THIS_CELL.format("cflib.ratings.movie_means"),
        error_hint="Y and R are (n_movies, n_users); the means are taken along each row, axis=1",
        data_hint="mean of movie i = sum of Y[i, j] over the j with R[i, j], divided by R[i].sum(); nan if it is 0",
    )
    return run(spec, fn)


# --------------------------------------------------------------- low rank
def _canonical_factors(X: np.ndarray, Theta: np.ndarray) -> tuple:
    """Factor columns in a fixed order and sign, so that equal products compare equal.

    Columns are sorted by decreasing ``|X[:, r]| |Theta[:, r]|`` (sigma_r for an
    even split); each pair of columns is flipped together so that the entry of
    X[:, r] largest in absolute value is positive. Weights equal up to rounding
    (factors without Sigma all have norm 1) are ties, broken by the columns'
    entries, so the order does not depend on the numpy version or memory
    layout (numpy 2.4 rounds those norms differently for a view and a copy).
    Arrays that are not a pair
    of matrices with k columns each are returned unchanged (the shapes are
    diagnosed instead).
    """
    if X.ndim != 2 or Theta.ndim != 2 or X.shape[1] != Theta.shape[1] or not (
            np.all(np.isfinite(X)) and np.all(np.isfinite(Theta))):
        return X, Theta
    if X.shape[0]:  # sign first: it does not depend on the order of the columns
        signs = np.sign(X[np.argmax(np.abs(X), axis=0), np.arange(X.shape[1])])
        signs[signs == 0] = 1.0
        X, Theta = X * signs, Theta * signs
    # Equal weights (factors without Sigma: every column has norm 1) differ only by rounding, which
    # depends on memory layout and numpy version; round them so that ties are ties, then break ties
    # by the columns' entries, which do not depend on rounding.
    weight = np.round(np.linalg.norm(X, axis=0) * np.linalg.norm(Theta, axis=0), 8)
    keys = [*np.round(X, 8)[::-1], -weight]  # np.lexsort: the last key sorts first
    order = np.lexsort(keys) if X.shape[1] > 1 else np.arange(X.shape[1])
    X, Theta = X[:, order], Theta[:, order]
    return X, Theta


def _sign_flip(p, got, expected, case):
    """Theta right up to the sign of some columns, X right: the signs of U and V were chosen apart."""
    if p != 1 or got.shape != expected.shape:
        return None
    flipped = [r for r in range(got.shape[1]) if np.allclose(got[:, r], -expected[:, r]) and
               not np.allclose(got[:, r], expected[:, r])]
    if not flipped or not all(np.allclose(np.abs(got[:, r]), np.abs(expected[:, r])) for r in range(got.shape[1])):
        return None
    return (f"has column {flipped[0]} with the opposite sign to X's (on {case.label}), so X @ Theta.T has that "
            "component negated: a column of U and of V may flip sign only together. Hint: take U, s and Vt from one "
            "np.linalg.svd call, not from two separate eigen-decompositions or fixes of the sign")


def _rotated(got, expected, case):
    """Right product X @ Theta.T, other factors: (X A, Theta A^-T), a rotation when A is orthogonal (01 section 5)."""
    (X, Theta), (X_e, Theta_e) = got, expected
    if X.shape != X_e.shape or Theta.shape != Theta_e.shape or np.allclose(X, X_e) and np.allclose(Theta, Theta_e):
        return None
    product = X_e @ Theta_e.T
    if not np.allclose(X @ Theta.T, product, rtol=1e-6, atol=1e-8 * max(1.0, np.abs(product).max())):
        return None
    A = np.linalg.lstsq(X_e, X, rcond=None)[0]  # X = X_e A
    k = A.shape[0]
    if np.allclose(A.T @ A, np.eye(k), atol=1e-6):
        what = "a rotation (or reflection) A of the SVD's factors, X A and Theta A"
        why = "an orthogonal A leaves the product and even the penalty unchanged"
    else:
        what = "another mix A of the SVD's factors, X A and Theta A^-T"
        why = "any invertible A leaves the product unchanged"
    return (f"X @ Theta.T is right (the best rank-k approximation, on {case.label}), but the factors are {what}: "
            f"{why}, as section 5 shows, so the product cannot tell them apart",
            "the exercise asks for the SVD's own factors, each column of U_k and V_k scaled by sqrt(s): "
            "X = U[:, :k] * np.sqrt(s[:k]), Theta = Vt[:k].T * np.sqrt(s[:k])")


def check_truncated_svd(fn) -> Callable:
    """Check ``fn(M, k) -> (X, Theta)``, the best rank-k factors of a full matrix M.

    ``X = U_k Sigma_k^{1/2}`` is (n_movies, k) and ``Theta = V_k Sigma_k^{1/2}``
    is (n_users, k). Singular vectors are defined up to sign and their order is
    free, so both results are put in a canonical column order and sign before
    they are compared (:func:`_canonical_factors`).

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.lowrank.truncated_svd`, else a StandIn
        that runs that function and says so.
    """
    names = ("X", "Theta")
    rng = case_rng(31)
    cases = []
    for n_m, n_u, k in ((8, 5, 2), (6, 6, 3), (10, 4, 1), (5, 7, 2), (12, 9, 4)):
        M = rng.standard_normal((n_m, 3)) @ rng.standard_normal((3, n_u)) + 0.3 * rng.standard_normal((n_m, n_u))
        cases.append(Case(f"a random {n_m}x{n_u} matrix with k={k}", (M, k)))

    def split(out, case):
        return _canonical_factors(*pair(out, names))

    def svd_factors(x_power, theta_power, smallest=False, vt_columns=False):
        def f(M, k):
            U, s, Vt = np.linalg.svd(M, full_matrices=False)
            idx = np.arange(s.size - k, s.size) if smallest else np.arange(k)
            V = Vt[:, idx] if vt_columns else Vt[idx].T
            return U[:, idx] * s[idx] ** x_power, V * s[idx] ** theta_power
        return f

    def shape_hint(p, got, exp):
        if got[p] == exp[p][::-1]:
            return (f"{names[p]} is transposed: it has one row per {'movie' if p == 0 else 'user'} and k columns"
                    + (" (take Vt[:k].T)" if p == 1 else ""))
        if p == 1 and got[1][1] == exp[1][1]:
            return "the right singular vectors are the ROWS of Vt: Theta = Vt[:k].T * sqrt(s[:k]), shape (n_users, k)"
        return "X is (n_movies, k) from the first k columns of U; Theta is (n_users, k) from the first k rows of Vt"

    spec = CheckSpec(
        name="check_truncated_svd", signature="M, k", ref_name="cflib.lowrank.truncated_svd",
        reference=lazy("lowrank", "truncated_svd"), cases=cases, parts=names, split=split,
        mistakes=[
            Mistake("keeps the k smallest singular values instead of the k largest",
                    "np.linalg.svd sorts the singular values in decreasing order: take the first k, s[:k]",
                    svd_factors(0.5, 0.5, smallest=True)),
            Mistake("has no singular values: X has its sqrt(s) but Theta was left without",
                    "multiply Theta too: Theta = Vt[:k].T * np.sqrt(s[:k])", svd_factors(0.5, 0.0)),
            Mistake("has no singular values: Theta has its sqrt(s) but X was left without",
                    "multiply X too: X = U[:, :k] * np.sqrt(s[:k])", svd_factors(0.0, 0.5)),
            Mistake("splits Sigma_k unevenly: all of it is in X",
                    "split it evenly: multiply both U[:, :k] and Vt[:k].T by np.sqrt(s[:k])",
                    svd_factors(1.0, 0.0)),
            Mistake("splits Sigma_k unevenly: all of it is in Theta",
                    "split it evenly: multiply both U[:, :k] and Vt[:k].T by np.sqrt(s[:k])",
                    svd_factors(0.0, 1.0)),
            Mistake("leaves out the singular values",
                    "scale column r of both factors by sqrt(s[r]), so that X @ Theta.T = U_k Sigma_k V_k^T",
                    svd_factors(0.0, 0.0)),
            Mistake("scales both factors by s instead of sqrt(s), so the product has s**2",
                    "each factor gets half of Sigma_k: multiply by np.sqrt(s[:k])",
                    svd_factors(1.0, 1.0)),
            Mistake("is built from columns of Vt, which are not singular vectors",
                    "the right singular vectors are the ROWS of Vt: Theta = Vt[:k].T * sqrt(s[:k])",
                    svd_factors(0.5, 0.5, vt_columns=True)),
        ],
        shape_hint=shape_hint, later=_THIS_CELL.format("cflib.lowrank.truncated_svd"), explain=_sign_flip,
        explain_all=_rotated,
        error_hint="U, s, Vt = np.linalg.svd(M, full_matrices=False); X = U[:, :k] * np.sqrt(s[:k]); "
                   "Theta = Vt[:k].T * np.sqrt(s[:k])",
        data_hint="X = U[:, :k] * sqrt(s[:k]) and Theta = Vt[:k].T * sqrt(s[:k]) (columns compared up to a common "
                  "sign and in decreasing order of singular value)",
    )
    return run(spec, fn)




def check_predict(fn) -> Callable:
    """Check ``fn(X, Theta) -> Y_hat`` of shape (n_movies, n_users).

    Parameters
    ----------
    fn : callable
        The learner's prediction function.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.predict`, else a StandIn
        that runs :func:`cflib.predict` and says so.
    """
    rng = case_rng(11)
    cases = [Case("the fixed 3x2 problem", fixed_problem()[:2])]
    for n_m, n_u, k in ((4, 6, 3), (7, 2, 1), (5, 5, 2)):
        cases.append(Case(f"a random {n_m}x{n_u} problem with k={k}",
                           (rng.standard_normal((n_m, k)), rng.standard_normal((n_u, k)))))

    def shape_hint(p, got, exp):
        got, exp = got[0], exp[0]
        if got == exp[::-1]:
            return "the result is transposed: X @ Theta.T is (n_movies, n_users); Theta @ X.T is (n_users, n_movies)"
        if len(got) == 2 and got[0] == got[1] != exp[0]:
            return "X.T @ Theta is (k, k); the predictions are X @ Theta.T, one row per movie and one column per user"
        return "X is (n_movies, k) and Theta is (n_users, k), so the predictions X @ Theta.T are (n_movies, n_users)"

    spec = CheckSpec(
        name="check_predict", signature="X, Theta", ref_name="cflib.predict", reference=ref_predict, cases=cases,
        parts=("the prediction matrix",),
        split=lambda out, case: (array(out, "the prediction matrix"),),
        mistakes=[
            Mistake("is X.T @ Theta, a (k, k) matrix",
                    "X.T @ Theta sums over movies; the predictions are X @ Theta.T, (n_movies, n_users)",
                    lambda X, T: X.T @ T),
            Mistake("multiplies X and Theta entry by entry",
                    "each prediction is a dot product: use the matrix product X @ Theta.T",
                    lambda X, T: X * T),
        ],
        shape_hint=shape_hint,
        data_hint="entry (i, j) is the dot product of row i of X with row j of Theta: X @ Theta.T",
        later=_NOTHING_LATER.format("cflib.predict"),
    )
    return run(spec, fn)


