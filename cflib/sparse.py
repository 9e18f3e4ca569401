"""Cost and gradient over the observed ratings only.

The dense formulas need Y and R of shape (n_movies, n_users); at the size of
MovieLens 25M that is 62,000 x 162,000 entries, hundreds of GB. Here the
ratings are kept as coordinates and two compressed index structures are built
once:

* rows sorted by movie (CSR over movies) for ``X_grad = E @ Theta``;
* rows sorted by user (CSR over users) for ``Theta_grad = E.T @ X``;

where ``E`` is the sparse matrix of residuals. Predictions at the observed
entries are computed in chunks so that no (nnz, k) temporary is ever built.
Memory is O(nnz + (n_movies + n_users) k).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .validation import check_coords, check_factors, check_lam

__all__ = ["SparseProblem"]

# Entries per chunk when computing predictions: (chunk, k) temporaries stay
# below ~30 MB for k <= 100.
CHUNK = 1 << 15


class SparseProblem:
    """Observed ratings prepared for repeated cost and gradient evaluations.

    Parameters
    ----------
    movies, users : array_like of int, shape (nnz,)
        0-based movie (row of X) and user (row of Theta) index of each rating.
    ratings : array_like of float, shape (nnz,)
    n_movies, n_users : int
        Number of rows of X and of Theta.

    Notes
    -----
    The ratings are stored sorted by movie. ``cost_and_gradient`` computes

    .. math::

        e_t = x_{m_t} \\cdot \\theta_{u_t} - y_t, \\qquad
        J = \\tfrac12 \\sum_t e_t^2 + \\tfrac{\\lambda}{2}(\\|X\\|^2 + \\|\\Theta\\|^2)

    and the gradients ``E Theta + lam X`` and ``E^T X + lam Theta``, with E the
    (n_movies, n_users) sparse matrix holding ``e_t`` at ``(m_t, u_t)``.
    """

    def __init__(self, movies, users, ratings, n_movies: int, n_users: int):
        movies = np.asarray(movies, dtype=np.int64)
        users = np.asarray(users, dtype=np.int64)
        ratings = np.asarray(ratings, dtype=np.float64)
        # Reuse the coordinate checks with zero-width factors of the right height.
        check_coords(np.zeros((n_movies, 0)), np.zeros((n_users, 0)), movies, users, ratings)
        self.n_movies = int(n_movies)
        self.n_users = int(n_users)
        order = np.lexsort((users, movies))  # by movie, then user
        self.movies = movies[order]
        self.users = users[order]
        self.ratings = ratings[order]
        idx_dtype = np.int32 if max(n_movies, n_users, self.ratings.size) < 2**31 - 1 else np.int64
        self._movie_ptr = np.searchsorted(self.movies, np.arange(self.n_movies + 1)).astype(idx_dtype)
        self._users_idx = self.users.astype(idx_dtype)
        # Permutation taking movie-sorted residuals to user-sorted order.
        self._by_user = np.argsort(self.users, kind="stable")
        users_sorted = self.users[self._by_user]
        self._user_ptr = np.searchsorted(users_sorted, np.arange(self.n_users + 1)).astype(idx_dtype)
        self._movies_idx_t = self.movies[self._by_user].astype(idx_dtype)

    @classmethod
    def from_ratings(cls, data) -> "SparseProblem":
        """Build from a :class:`cflib.Ratings`."""
        return cls(data.movies, data.users, data.ratings, data.n_movies, data.n_users)

    @property
    def nnz(self) -> int:
        return int(self.ratings.size)

    # -------------------------------------------------------------- kernels
    def predict(self, X, Theta) -> np.ndarray:
        """Predictions ``x_{m_t} . theta_{u_t}`` at the observed entries, in stored order.

        Returns
        -------
        ndarray of shape (nnz,)
        """
        out = np.empty(self.nnz)
        for start in range(0, self.nnz, CHUNK):
            stop = min(start + CHUNK, self.nnz)
            out[start:stop] = np.einsum(
                "ij,ij->i", X[self.movies[start:stop]], Theta[self.users[start:stop]]
            )
        return out

    def residuals(self, X, Theta) -> np.ndarray:
        """``e_t = prediction - rating`` at the observed entries, shape (nnz,)."""
        E = self.predict(X, Theta)
        E -= self.ratings
        return E

    def _check(self, X, Theta, lam):
        X, Theta = check_factors(X, Theta)
        if X.shape[0] != self.n_movies or Theta.shape[0] != self.n_users:
            raise ValueError(
                f"expected X ({self.n_movies}, k) and Theta ({self.n_users}, k), "
                f"got X {X.shape} and Theta {Theta.shape}"
            )
        return X, Theta, check_lam(lam)

    def _grad_from_residuals(self, e, X, Theta, lam):
        shape = (self.n_movies, self.n_users)
        E = sp.csr_matrix((e, self._users_idx, self._movie_ptr), shape=shape)
        Et = sp.csr_matrix((e[self._by_user], self._movies_idx_t, self._user_ptr), shape=shape[::-1])
        X_grad = E @ Theta
        Theta_grad = Et @ X
        if lam:
            X_grad += lam * X
            Theta_grad += lam * Theta
        return X_grad, Theta_grad

    def cost(self, X, Theta, lam: float = 0.0) -> float:
        """Regularized cost J, a float."""
        X, Theta, lam = self._check(X, Theta, lam)
        e = self.residuals(X, Theta)
        return float(0.5 * (e @ e) + 0.5 * lam * (np.vdot(X, X) + np.vdot(Theta, Theta)))

    def gradient(self, X, Theta, lam: float = 0.0):
        """``(X_grad, Theta_grad)`` of shapes (n_movies, k) and (n_users, k)."""
        X, Theta, lam = self._check(X, Theta, lam)
        return self._grad_from_residuals(self.residuals(X, Theta), X, Theta, lam)

    def cost_and_gradient(self, X, Theta, lam: float = 0.0):
        """``(J, (X_grad, Theta_grad))`` computing the residuals once."""
        X, Theta, lam = self._check(X, Theta, lam)
        e = self.residuals(X, Theta)
        J = float(0.5 * (e @ e) + 0.5 * lam * (np.vdot(X, X) + np.vdot(Theta, Theta)))
        return J, self._grad_from_residuals(e, X, Theta, lam)
