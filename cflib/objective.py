r"""The collaborative-filtering cost J and its gradient, three ways.

Model: the predicted rating of movie i by user j is :math:`x_i \cdot \theta_j`,
so all predictions together are :math:`\hat Y = X \Theta^T`.

.. math::

    J(X, \Theta) = \frac12 \sum_{(i,j):\,R_{ij}=1} (x_i \cdot \theta_j - y_{ij})^2
                   + \frac{\lambda}{2}\left(\|X\|_F^2 + \|\Theta\|_F^2\right)

.. math::

    \frac{\partial J}{\partial x_i} = \sum_{j:\,R_{ij}=1} (x_i \cdot \theta_j - y_{ij})\,\theta_j + \lambda x_i,
    \qquad
    \frac{\partial J}{\partial \theta_j} = \sum_{i:\,R_{ij}=1} (x_i \cdot \theta_j - y_{ij})\,x_i + \lambda \theta_j

In matrix form, with the masked residuals :math:`E = (X\Theta^T - Y) \odot R`
of shape (n_movies, n_users): ``X_grad = E @ Theta + lam * X`` and
``Theta_grad = E.T @ X + lam * Theta``.

Shapes (the course glossary)
----------------------------
X : (n_movies, k); Theta : (n_users, k); Y, R : (n_movies, n_users);
movies, users, ratings : (nnz,) coordinates of the observed entries.

Three implementations with one signature each:

* ``cost_loop`` / ``gradient_loop``: two Python loops, to read;
* ``cost`` / ``gradient``: vectorized with the mask R;
* ``cost_sparse`` / ``gradient_sparse``: observed entries only, never an
  (n_movies, n_users) array.

Values of Y where R is 0 never affect any result (they may even be NaN).
"""

from __future__ import annotations

import numpy as np

from .arguments import check_coords, check_dense_args, check_lam
from .sparse import SparseProblem

__all__ = [
    "cost_loop",
    "cost",
    "cost_sparse",
    "gradient_loop",
    "gradient",
    "gradient_sparse",
    "user_gradient",
    "cost_and_gradient",
    "cost_and_gradient_sparse",
    "predict",
]


def _penalty(X, Theta, lam):
    return 0.5 * lam * (np.vdot(X, X) + np.vdot(Theta, Theta))


def predict(X, Theta) -> np.ndarray:
    """All predicted ratings, ``Y_hat = X @ Theta.T`` of shape (n_movies, n_users)."""
    return np.asarray(X) @ np.asarray(Theta).T


# --------------------------------------------------------------------- loops
def cost_loop(X, Theta, Y, R, lam: float = 0.0) -> float:
    """Cost J computed with explicit loops over movies and users.

    Parameters
    ----------
    X : ndarray of shape (n_movies, k)
        Movie features; row i is :math:`x_i`.
    Theta : ndarray of shape (n_users, k)
        User preferences; row j is :math:`\\theta_j`.
    Y : ndarray of shape (n_movies, n_users)
        Ratings; ignored where R is 0.
    R : ndarray of shape (n_movies, n_users)
        1 (True) where user j rated movie i.
    lam : float, default 0
        Regularization strength :math:`\\lambda \\ge 0`.

    Returns
    -------
    J : float
        :math:`\\frac12 \\sum_{R_{ij}=1} (x_i \\cdot \\theta_j - y_{ij})^2 + \\frac{\\lambda}{2}(\\|X\\|^2 + \\|\\Theta\\|^2)`
    """
    X, Theta, Y, R = check_dense_args(X, Theta, Y, R)
    lam = check_lam(lam)
    n_movies, n_users = Y.shape
    J = 0.0
    for i in range(n_movies):
        for j in range(n_users):
            if R[i, j]:
                err = float(X[i] @ Theta[j]) - Y[i, j]
                J += 0.5 * err * err
    reg = 0.0
    for i in range(n_movies):
        reg += float(X[i] @ X[i])
    for j in range(n_users):
        reg += float(Theta[j] @ Theta[j])
    return float(J + 0.5 * lam * reg)


def gradient_loop(X, Theta, Y, R, lam: float = 0.0):
    """Gradient of J computed with explicit loops over movies and users.

    Parameters are those of :func:`cost_loop`.

    Returns
    -------
    X_grad : ndarray of shape (n_movies, k)
        :math:`\\sum_{j: R_{ij}=1} (x_i \\cdot \\theta_j - y_{ij}) \\theta_j + \\lambda x_i`
    Theta_grad : ndarray of shape (n_users, k)
        :math:`\\sum_{i: R_{ij}=1} (x_i \\cdot \\theta_j - y_{ij}) x_i + \\lambda \\theta_j`
    """
    X, Theta, Y, R = check_dense_args(X, Theta, Y, R)
    lam = check_lam(lam)
    n_movies, n_users = Y.shape
    X_grad = np.zeros_like(X)
    Theta_grad = np.zeros_like(Theta)
    for i in range(n_movies):
        for j in range(n_users):
            if R[i, j]:
                err = float(X[i] @ Theta[j]) - Y[i, j]
                X_grad[i] += err * Theta[j]
                Theta_grad[j] += err * X[i]
    X_grad += lam * X
    Theta_grad += lam * Theta
    return X_grad, Theta_grad


# ---------------------------------------------------------------- vectorized
def _masked_residuals(X, Theta, Y, R):
    # np.where, not (X @ Theta.T - Y) * R, so that NaN in Y where R == 0 stays out.
    return np.where(R, X @ Theta.T - Y, 0.0)


def cost(X, Theta, Y, R, lam: float = 0.0) -> float:
    """Cost J, vectorized with the mask R.

    Same parameters and result as :func:`cost_loop`:
    ``E = (X @ Theta.T - Y) * R``, ``J = sum(E**2) / 2 + lam / 2 * (sum(X**2) + sum(Theta**2))``.
    """
    X, Theta, Y, R = check_dense_args(X, Theta, Y, R)
    lam = check_lam(lam)
    E = _masked_residuals(X, Theta, Y, R)
    return float(0.5 * np.vdot(E, E) + _penalty(X, Theta, lam))


def gradient(X, Theta, Y, R, lam: float = 0.0):
    """Gradient of J, vectorized with the mask R.

    Same parameters and results as :func:`gradient_loop`:
    ``X_grad = E @ Theta + lam * X`` of shape (n_movies, k) and
    ``Theta_grad = E.T @ X + lam * Theta`` of shape (n_users, k).
    """
    return cost_and_gradient(X, Theta, Y, R, lam)[1]


def user_gradient(j: int, X, Theta, Y, R, lam: float = 0.0) -> np.ndarray:
    """Gradient of J with respect to one user's preferences, row j of ``Theta_grad`` only.

    .. math::

        \\frac{\\partial J}{\\partial \\theta_j} = \\sum_{i: R_{ij}=1} (x_i^T\\theta_j - y_{ij})\\, x_i
        + \\lambda \\theta_j

    Only the movies user j rated are touched: O(n_j k) work for n_j ratings,
    instead of the whole (n_movies, n_users) product.

    Parameters
    ----------
    j : int
        Column of Y (0-based user index).
    X, Theta, Y, R, lam
        As in :func:`cost`: X (n_movies, k), Theta (n_users, k), Y and R (n_movies, n_users).

    Returns
    -------
    ndarray of shape (k,)
        Equal to ``gradient(X, Theta, Y, R, lam)[1][j]``.
    """
    X, Theta, Y, R = check_dense_args(X, Theta, Y, R)
    lam = check_lam(lam)
    rated = R[:, j]                      # (n_movies,) bool
    e = X[rated] @ Theta[j] - Y[rated, j]  # (n_j,)
    return e @ X[rated] + lam * Theta[j]


def cost_and_gradient(X, Theta, Y, R, lam: float = 0.0):
    """Cost and gradient together, computing the residuals E once.

    Returns
    -------
    J : float
    (X_grad, Theta_grad) : tuple of ndarray, shapes (n_movies, k) and (n_users, k)
    """
    X, Theta, Y, R = check_dense_args(X, Theta, Y, R)
    lam = check_lam(lam)
    E = _masked_residuals(X, Theta, Y, R)
    J = float(0.5 * np.vdot(E, E) + _penalty(X, Theta, lam))
    return J, (E @ Theta + lam * X, E.T @ X + lam * Theta)


# -------------------------------------------------------------------- sparse
def _problem(X, Theta, movies, users, ratings):
    X, Theta, movies, users, ratings = check_coords(X, Theta, movies, users, ratings)
    return X, Theta, SparseProblem(movies, users, ratings, X.shape[0], Theta.shape[0])


def cost_sparse(X, Theta, movies, users, ratings, lam: float = 0.0) -> float:
    """Cost J from the observed entries only.

    Parameters
    ----------
    X : ndarray of shape (n_movies, k)
    Theta : ndarray of shape (n_users, k)
    movies, users : ndarray of int, shape (nnz,)
        0-based movie and user index of each rating, each (movie, user) pair
        once: a repeated pair raises ``ValueError`` naming the first one (it
        would be counted twice, unlike in ``cost`` on the Y, R it describes).
    ratings : ndarray of shape (nnz,)
    lam : float, default 0

    Returns
    -------
    J : float
        Equal to ``cost(X, Theta, Y, R, lam)`` for the Y, R these coordinates describe.

    Notes
    -----
    Memory is O(nnz + (n_movies + n_users) k): no (n_movies, n_users) array is
    built. For repeated evaluations on the same ratings, build a
    :class:`cflib.sparse.SparseProblem` once and call its methods.
    """
    X, Theta, prob = _problem(X, Theta, movies, users, ratings)
    return prob.cost(X, Theta, lam)


def gradient_sparse(X, Theta, movies, users, ratings, lam: float = 0.0):
    """Gradient of J from the observed entries only.

    Parameters are those of :func:`cost_sparse`; results those of :func:`gradient`.
    """
    X, Theta, prob = _problem(X, Theta, movies, users, ratings)
    return prob.gradient(X, Theta, lam)


def cost_and_gradient_sparse(X, Theta, movies, users, ratings, lam: float = 0.0):
    """Sparse cost and gradient together, computing the residuals once."""
    X, Theta, prob = _problem(X, Theta, movies, users, ratings)
    return prob.cost_and_gradient(X, Theta, lam)
