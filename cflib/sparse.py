r"""Cost and gradient over the observed ratings only.

The dense formulas need Y and R of shape (n_movies, n_users); at the size of
MovieLens 25M that is 59,047 x 162,541 entries, about 77 GB for Y alone in
float64. Here the ratings are kept as coordinates and one compressed index
structure is built once. With ``E`` the (n_movies, n_users) sparse matrix of
residuals :math:`e_t = x_{m_t} \cdot \theta_{u_t} - y_t`:

* the residuals are computed in chunks of entries: the rows of X and Theta a
  chunk needs are gathered into two small reusable buffers (sized to stay in
  the CPU cache) and multiplied row by row, so no (nnz, k) temporary is built;
* ``X_grad = E @ Theta`` and ``Theta_grad = E.T @ X`` are two sparse-times-dense
  products on the same CSR arrays, read once as CSR and once as CSC.

Which side the CSR rows follow matters for speed: entries are grouped by the
*larger* side (users in every MovieLens release but 100K), so that the random
reads and writes go to the rows of the *smaller* factor matrix, which stays in
the CPU cache. On a synthetic MovieLens-10M shape this made one evaluation
2 to 3 times faster than grouping by movie (benchmarks/README.md).
The public arrays (``movies``, ``users``, ``ratings``, ``predict``,
``residuals``) always use the movie-sorted order whatever the internal one.

No (n_movies, n_users) array is ever built; memory is O(nnz + (n_movies + n_users) k).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .arguments import check_coords, check_factors, check_lam, check_no_duplicates

__all__ = ["SparseProblem", "row_dots"]

# Bytes of each of the two gather buffers, shape (chunk, k). Measured on a
# 2-core AMD EPYC (benchmarks/README.md): 256 KiB to 1 MiB are equally fast;
# much smaller chunks pay Python overhead per chunk, much larger ones fall out
# of the cache.
CHUNK_BYTES = 1 << 19
# Fewest entries per chunk whatever k is, so that the per-chunk overhead stays small.
MIN_CHUNK = 256
# Largest value an int32 index array may hold; above it int64 indices are used.
INT32_MAX = np.iinfo(np.int32).max
# Grouping of the entries inside the kernel: "auto" (by the larger side),
# "movies" or "users". Results are the same; only the speed differs.
KERNEL_ORDER = "auto"


def _chunk_rows(k: int) -> int:
    """Entries per chunk for factors with ``k`` columns."""
    return max(MIN_CHUNK, CHUNK_BYTES // (8 * max(k, 1)))


def _index_dtype(*sizes):
    return np.int32 if max(sizes) <= INT32_MAX else np.int64


def _stable_order(rows, cols=None, n_cols=1):
    """Stable permutation sorting by ``rows``, then by ``cols`` when given.

    Packs ``(rows * n_cols + cols) * nnz + position`` into one int64 key and
    sorts the keys: numpy's plain sort of int64 is several times faster than
    ``np.lexsort`` or a stable ``np.argsort`` at millions of entries. Falls back
    to ``np.lexsort`` when the key would not fit in int64.
    """
    n = rows.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if (int(rows.max()) + 1) * n_cols * n >= np.iinfo(np.int64).max:
        return np.lexsort((cols, rows)) if cols is not None else np.argsort(rows, kind="stable")
    key = rows.astype(np.int64)
    if cols is not None:
        key *= n_cols
        key += cols
    key *= n
    key += np.arange(n)
    key.sort()
    key %= n
    return key


def _sort_order(rows, cols, n_cols):
    """Stable permutation sorting by ``rows`` then ``cols``, or None when already sorted."""
    if rows.size < 2:
        return None
    d = np.diff(rows)
    if np.all(d >= 0):
        same = d == 0
        if not np.any(cols[1:][same] < cols[:-1][same]):
            return None
    return _stable_order(rows, cols, n_cols)


def row_dots(A, B, rows, cols) -> np.ndarray:
    r"""Row-wise dot products :math:`a_{r_t} \cdot b_{c_t}` for every t, shape (n,).

    The one chunked gather-and-multiply of cflib (predictions at coordinates,
    residuals, synthetic ratings): rows of ``A`` and ``B`` are gathered a chunk
    of entries at a time into two small reusable buffers, so no (n, k)
    temporary is ever built.

    Parameters
    ----------
    A : ndarray of shape (n_rows, k)
    B : ndarray of shape (n_cols, k)
    rows, cols : ndarray of int, shape (n,)
        Valid 0-based indices into ``A`` and ``B``.

    Returns
    -------
    ndarray of shape (n,)

    Raises
    ------
    IndexError
        When an index lies outside ``A`` or ``B`` (negative ones too).
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    rows, cols = np.asarray(rows), np.asarray(cols)
    n, k = len(rows), A.shape[1]
    out = np.zeros(n)
    if k == 0 or n == 0:
        return out
    # One bounds check here, then np.take(mode="clip"), which skips the per-index checks
    # of the default mode="raise": 3 to 7 times faster gathers (benchmarks/bench_kernels.py).
    for name, idx, size in (("rows", rows, A.shape[0]), ("cols", cols, B.shape[0])):
        if idx.min() < 0 or idx.max() >= size:
            raise IndexError(f"row_dots: {name} must lie in 0..{size - 1}, got values from {idx.min()} to {idx.max()}")
    chunk = min(_chunk_rows(k), n)
    abuf = np.empty((chunk, k))
    bbuf = np.empty((chunk, k))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        m = stop - start
        a = np.take(A, rows[start:stop], axis=0, out=abuf[:m], mode="clip")
        b = np.take(B, cols[start:stop], axis=0, out=bbuf[:m], mode="clip")
        np.einsum("ij,ij->i", a, b, out=out[start:stop])
    return out


class _Kernel:
    """Residuals and gradients for entries grouped by row: the CSR arrays of E.

    Rows index the factor ``A`` (n_rows, k) and columns the factor ``B``
    (n_cols, k); entry t predicts ``A[rows[t]] . B[cols[t]]``. Entries must be
    sorted by row.
    """

    def __init__(self, rows, cols, targets, n_rows, n_cols):
        self.n_rows, self.n_cols = n_rows, n_cols
        idx = _index_dtype(n_rows, n_cols, rows.size)
        self.rows = rows.astype(idx)  # per entry, for the gather
        self.cols = cols.astype(idx)  # CSR column indices
        self.targets = targets
        counts = np.bincount(rows, minlength=n_rows)
        self.ptr = np.zeros(n_rows + 1, dtype=idx)
        np.cumsum(counts, out=self.ptr[1:])

    @property
    def nbytes(self) -> int:
        return self.rows.nbytes + self.cols.nbytes + self.targets.nbytes + self.ptr.nbytes

    def predict(self, A, B) -> np.ndarray:
        return row_dots(A, B, self.rows, self.cols)

    def residuals(self, A, B) -> np.ndarray:
        e = self.predict(A, B)
        e -= self.targets
        return e

    def gradients(self, e, A, B):
        """``(E @ B, E.T @ A)`` without the penalty: shapes (n_rows, k), (n_cols, k)."""
        E = sp.csr_matrix((e, self.cols, self.ptr), shape=(self.n_rows, self.n_cols))
        # E.T is a CSC view of the same arrays: no copy.
        return np.asarray(E @ B), np.asarray(E.T @ A)


class SparseProblem:
    r"""Observed ratings prepared for repeated cost and gradient evaluations.

    Parameters
    ----------
    movies, users : array_like of int, shape (nnz,)
        0-based movie (row of X) and user (row of Theta) index of each rating,
        each (movie, user) pair once: a repeated pair raises ``ValueError``
        naming the first one (the dense Y and R could not hold both ratings).
    ratings : array_like of float, shape (nnz,)
    n_movies, n_users : int
        Number of rows of X and of Theta.

    Attributes
    ----------
    movies, users : ndarray of int64, shape (nnz,)
        The coordinates sorted by movie, then by user (the "stored order").
    ratings : ndarray of float64, shape (nnz,)
        The ratings in stored order.
    n_movies, n_users, nnz : int

    Notes
    -----
    ``cost_and_gradient`` computes

    .. math::

        e_t = x_{m_t} \cdot \theta_{u_t} - y_t, \qquad
        J = \tfrac12 \sum_t e_t^2 + \tfrac{\lambda}{2}(\|X\|^2 + \|\Theta\|^2)

    and the gradients ``E Theta + lam X`` of shape (n_movies, k) and
    ``E^T X + lam Theta`` of shape (n_users, k), with E the (n_movies, n_users)
    sparse matrix holding ``e_t`` at ``(m_t, u_t)``.

    Building sorts the entries, O(nnz log nnz) (skipped when they are already
    sorted). Each evaluation is O(nnz k) time and allocates O(nnz) memory (the
    residuals) plus two (chunk, k) buffers and the gradients.
    """

    def __init__(self, movies, users, ratings, n_movies: int, n_users: int):
        # Reuse the coordinate checks with zero-width factors of the right height.
        _, _, movies, users, ratings = check_coords(
            np.zeros((n_movies, 0)), np.zeros((n_users, 0)), movies, users, ratings
        )
        self.n_movies = int(n_movies)
        self.n_users = int(n_users)
        order = _sort_order(movies, users, self.n_users)
        if order is None:  # already sorted by (movie, user): copy, do not alias the caller's arrays
            self.movies, self.users, self.ratings = movies.copy(), users.copy(), ratings.copy()
        else:
            self.movies, self.users, self.ratings = movies[order], users[order], ratings[order]
        del order
        if self.nnz > 1:
            # Sorted by (movie, user), a repeated pair sits in neighbouring entries:
            # one O(nnz) pass, once per problem. The message (which names the first
            # repeat in the caller's order) is built only when there is one.
            same = self.movies[1:] == self.movies[:-1]
            same &= self.users[1:] == self.users[:-1]
            if same.any():
                check_no_duplicates(movies, users, self.n_users)
        by = KERNEL_ORDER
        if by == "auto":
            by = "users" if self.n_users > self.n_movies else "movies"
        if by not in ("movies", "users"):
            raise ValueError(f"KERNEL_ORDER must be 'auto', 'movies' or 'users', got {KERNEL_ORDER!r}")
        self._by_users = by == "users"
        if self._by_users:
            # Stored entries are sorted by (movie, user): a stable sort by user
            # alone gives the (user, movie) order.
            order = _stable_order(self.users)
            self._kernel = _Kernel(self.users[order], self.movies[order], self.ratings[order],
                                   self.n_users, self.n_movies)
            # Position in the kernel of each stored entry, to return residuals in stored order.
            self._stored_from_kernel = np.empty(self.nnz, dtype=_index_dtype(self.nnz))
            self._stored_from_kernel[order] = np.arange(self.nnz)
        else:
            self._kernel = _Kernel(self.movies, self.users, self.ratings, self.n_movies, self.n_users)
            self._stored_from_kernel = None

    @classmethod
    def from_ratings(cls, data) -> "SparseProblem":
        """Build from a :class:`cflib.Ratings`."""
        return cls(data.movies, data.users, data.ratings, data.n_movies, data.n_users)

    @property
    def nnz(self) -> int:
        """Number of observed ratings."""
        return int(self.ratings.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by this problem's arrays (coordinates, ratings and index structure)."""
        own = self.movies.nbytes + self.users.nbytes + self.ratings.nbytes
        if self._stored_from_kernel is not None:
            own += self._stored_from_kernel.nbytes + self._kernel.nbytes
        else:  # the kernel shares the ratings; its index arrays are its own
            own += self._kernel.rows.nbytes + self._kernel.cols.nbytes + self._kernel.ptr.nbytes
        return own

    # ------------------------------------------------------------ internals
    def _check_factors(self, X, Theta):
        X, Theta = check_factors(X, Theta)
        if X.shape[0] != self.n_movies or Theta.shape[0] != self.n_users:
            raise ValueError(
                f"expected X ({self.n_movies}, k) and Theta ({self.n_users}, k), "
                f"got X {X.shape} and Theta {Theta.shape}"
            )
        # np.take and the sparse products want C-contiguous rows.
        return np.ascontiguousarray(X), np.ascontiguousarray(Theta)

    def _kernel_factors(self, X, Theta):
        return (Theta, X) if self._by_users else (X, Theta)

    def _to_stored(self, values):
        return values if self._stored_from_kernel is None else values[self._stored_from_kernel]

    def _gradients(self, e, X, Theta, lam):
        gA, gB = self._kernel.gradients(e, *self._kernel_factors(X, Theta))
        X_grad, Theta_grad = (gB, gA) if self._by_users else (gA, gB)
        if lam:
            X_grad += lam * X
            Theta_grad += lam * Theta
        return X_grad, Theta_grad

    @staticmethod
    def _cost(e, X, Theta, lam) -> float:
        # Sums of squares with einsum, not ``e @ e`` / np.vdot: those call BLAS
        # ddot, which OpenBLAS splits over threads from ~10,000 entries; on a
        # busy machine waking the second thread cost ~20 ms per call
        # (benchmarks/README.md), far more than the sum itself.
        J = 0.5 * float(np.einsum("i,i->", e, e))
        if lam:
            J += 0.5 * lam * float(np.einsum("ij,ij->", X, X) + np.einsum("ij,ij->", Theta, Theta))
        return J

    # --------------------------------------------------------------- public
    def predict(self, X, Theta) -> np.ndarray:
        """Predictions ``x_{m_t} . theta_{u_t}`` at the observed entries, in stored order.

        Parameters
        ----------
        X : ndarray of shape (n_movies, k)
        Theta : ndarray of shape (n_users, k)

        Returns
        -------
        ndarray of shape (nnz,)
        """
        X, Theta = self._check_factors(X, Theta)
        return self._to_stored(self._kernel.predict(*self._kernel_factors(X, Theta)))

    def residuals(self, X, Theta) -> np.ndarray:
        """``e_t = prediction - rating`` at the observed entries, shape (nnz,), stored order."""
        X, Theta = self._check_factors(X, Theta)
        return self._to_stored(self._kernel.residuals(*self._kernel_factors(X, Theta)))

    def cost(self, X, Theta, lam: float = 0.0) -> float:
        """Regularized cost J, a float."""
        X, Theta = self._check_factors(X, Theta)
        lam = check_lam(lam)
        return self._cost(self._kernel.residuals(*self._kernel_factors(X, Theta)), X, Theta, lam)

    def gradient(self, X, Theta, lam: float = 0.0):
        """``(X_grad, Theta_grad)`` of shapes (n_movies, k) and (n_users, k)."""
        return self.cost_and_gradient(X, Theta, lam)[1]

    def cost_and_gradient(self, X, Theta, lam: float = 0.0):
        """``(J, (X_grad, Theta_grad))`` computing the residuals once."""
        X, Theta = self._check_factors(X, Theta)
        lam = check_lam(lam)
        e = self._kernel.residuals(*self._kernel_factors(X, Theta))
        return self._cost(e, X, Theta, lam), self._gradients(e, X, Theta, lam)
