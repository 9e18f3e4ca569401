r"""Cost and gradient over the observed ratings only.

The dense formulas need Y and R of shape (n_movies, n_users); at the size of
MovieLens 25M that is 59,047 x 162,541 entries, about 77 GB for Y alone in
float64. Here the ratings are kept as coordinates, sorted by movie, and one
compressed index structure is built once: the residuals ``e_t`` form the
(n_movies, n_users) sparse matrix E in CSR format (rows = movies), and

* ``X_grad = E @ Theta`` uses it as CSR (gather rows of Theta);
* ``Theta_grad = E.T @ X`` uses the same arrays read as CSC (scatter into
  rows of Theta_grad), so no second, user-sorted copy is needed.

The residuals ``e_t = x_{m_t} . theta_{u_t} - y_t`` are computed in chunks of
entries: the rows of X and Theta a chunk needs are gathered into two small
reusable buffers (sized to stay in the CPU cache) and multiplied row by row.
No (nnz, k) temporary and no (n_movies, n_users) array is ever built; memory
is O(nnz + (n_movies + n_users) k).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .validation import check_coords, check_factors, check_lam

__all__ = ["SparseProblem"]

# Bytes of each of the two gather buffers, shape (chunk, k). Measured on a
# 2-core AMD EPYC (benchmarks/README.md): 64 KiB to 256 KiB are equally fast;
# much smaller chunks pay Python overhead per chunk, much larger ones fall out
# of the L2 cache.
CHUNK_BYTES = 1 << 19
# Fewest entries per chunk whatever k is, so that the per-chunk overhead stays small.
MIN_CHUNK = 256
# Largest value an int32 index array may hold; above it int64 indices are used.
INT32_MAX = np.iinfo(np.int32).max


def _chunk_rows(k: int) -> int:
    """Entries per chunk for factors with ``k`` columns."""
    return max(MIN_CHUNK, CHUNK_BYTES // (8 * max(k, 1)))


class SparseProblem:
    r"""Observed ratings prepared for repeated cost and gradient evaluations.

    Parameters
    ----------
    movies, users : array_like of int, shape (nnz,)
        0-based movie (row of X) and user (row of Theta) index of each rating.
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

    Building sorts the entries once, O(nnz log nnz) (skipped when they are
    already sorted); each evaluation is O(nnz k) time and needs O(nnz) extra
    memory (the residuals) plus two (chunk, k) buffers.
    """

    def __init__(self, movies, users, ratings, n_movies: int, n_users: int):
        movies = np.asarray(movies)
        users = np.asarray(users)
        ratings = np.asarray(ratings, dtype=np.float64)
        # Reuse the coordinate checks with zero-width factors of the right height.
        _, _, movies, users, ratings = check_coords(
            np.zeros((n_movies, 0)), np.zeros((n_users, 0)), movies, users, ratings
        )
        self.n_movies = int(n_movies)
        self.n_users = int(n_users)
        order = self._sort_order(movies, users)
        if order is None:  # already sorted by (movie, user): keep the caller's order
            self.movies, self.users, self.ratings = movies, users, ratings
        else:
            self.movies, self.users, self.ratings = movies[order], users[order], ratings[order]
            del order
        idx_dtype = np.int32 if max(self.n_movies, self.n_users, self.nnz) <= INT32_MAX else np.int64
        # CSR over movies: row pointers and column (user) indices. Read as CSC
        # (shape transposed) the same arrays describe E.T.
        counts = np.bincount(self.movies, minlength=self.n_movies)
        self._movie_ptr = np.zeros(self.n_movies + 1, dtype=idx_dtype)
        np.cumsum(counts, out=self._movie_ptr[1:])
        self._users_idx = self.users.astype(idx_dtype)

    @staticmethod
    def _sort_order(movies, users):
        """Permutation sorting by movie then user, or None when already sorted."""
        if movies.size < 2:
            return None
        dm = np.diff(movies)
        if np.all(dm >= 0):
            same = dm == 0
            if not np.any(users[1:][same] < users[:-1][same]):
                return None
        return np.lexsort((users, movies))

    @classmethod
    def from_ratings(cls, data) -> "SparseProblem":
        """Build from a :class:`cflib.Ratings`."""
        return cls(data.movies, data.users, data.ratings, data.n_movies, data.n_users)

    @property
    def nnz(self) -> int:
        """Number of observed ratings."""
        return int(self.ratings.size)

    # -------------------------------------------------------------- kernels
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
        return self._predict(X, Theta)

    def _predict(self, X, Theta) -> np.ndarray:
        nnz, k = self.nnz, X.shape[1]
        out = np.empty(nnz)
        if k == 0:
            out.fill(0.0)
            return out
        chunk = min(_chunk_rows(k), max(nnz, 1))
        xbuf = np.empty((chunk, k))
        tbuf = np.empty((chunk, k))
        for start in range(0, nnz, chunk):
            stop = min(start + chunk, nnz)
            n = stop - start
            xs = np.take(X, self.movies[start:stop], axis=0, out=xbuf[:n])
            ts = np.take(Theta, self.users[start:stop], axis=0, out=tbuf[:n])
            np.einsum("ij,ij->i", xs, ts, out=out[start:stop])
        return out

    def residuals(self, X, Theta) -> np.ndarray:
        """``e_t = prediction - rating`` at the observed entries, shape (nnz,), stored order."""
        X, Theta = self._check_factors(X, Theta)
        return self._residuals(X, Theta)

    def _residuals(self, X, Theta) -> np.ndarray:
        e = self._predict(X, Theta)
        e -= self.ratings
        return e

    def _check_factors(self, X, Theta):
        X, Theta = check_factors(X, Theta)
        if X.shape[0] != self.n_movies or Theta.shape[0] != self.n_users:
            raise ValueError(
                f"expected X ({self.n_movies}, k) and Theta ({self.n_users}, k), "
                f"got X {X.shape} and Theta {Theta.shape}"
            )
        # np.take and the sparse products want C-contiguous rows.
        return np.ascontiguousarray(X), np.ascontiguousarray(Theta)

    def _check(self, X, Theta, lam):
        X, Theta = self._check_factors(X, Theta)
        return X, Theta, check_lam(lam)

    def _grad_from_residuals(self, e, X, Theta, lam):
        E = sp.csr_matrix((e, self._users_idx, self._movie_ptr), shape=(self.n_movies, self.n_users))
        X_grad = E @ Theta
        Theta_grad = E.T @ X  # E.T is a CSC view of the same arrays: no copy
        if lam:
            X_grad += lam * X
            Theta_grad += lam * Theta
        return np.asarray(X_grad), np.asarray(Theta_grad)

    @staticmethod
    def _cost_from_residuals(e, X, Theta, lam) -> float:
        # Sums of squares with einsum, not ``e @ e`` / np.vdot: those call BLAS
        # ddot, which OpenBLAS splits over threads from ~10,000 entries; on a
        # busy machine waking the second thread cost ~20 ms per call
        # (benchmarks/README.md), far more than the sum itself.
        J = 0.5 * float(np.einsum("i,i->", e, e))
        if lam:
            J += 0.5 * lam * float(np.einsum("ij,ij->", X, X) + np.einsum("ij,ij->", Theta, Theta))
        return J

    def cost(self, X, Theta, lam: float = 0.0) -> float:
        """Regularized cost J, a float."""
        X, Theta, lam = self._check(X, Theta, lam)
        return self._cost_from_residuals(self._residuals(X, Theta), X, Theta, lam)

    def gradient(self, X, Theta, lam: float = 0.0):
        """``(X_grad, Theta_grad)`` of shapes (n_movies, k) and (n_users, k)."""
        X, Theta, lam = self._check(X, Theta, lam)
        return self._grad_from_residuals(self._residuals(X, Theta), X, Theta, lam)

    def cost_and_gradient(self, X, Theta, lam: float = 0.0):
        """``(J, (X_grad, Theta_grad))`` computing the residuals once."""
        X, Theta, lam = self._check(X, Theta, lam)
        e = self._residuals(X, Theta)
        return self._cost_from_residuals(e, X, Theta, lam), self._grad_from_residuals(e, X, Theta, lam)
