r"""The best rank-k approximation of a fully observed matrix, as factors.

By the Eckart-Young theorem, among all matrices of rank at most k the one
closest to M in the Frobenius norm is the truncated SVD

.. math::

    M_k = U_k \Sigma_k V_k^T, \qquad
    \|M - M_k\|_F = \sqrt{\textstyle\sum_{r > k} \sigma_r^2},

with :math:`\sigma_1 \ge \sigma_2 \ge \dots` the singular values of M. Written
in the course's model :math:`\hat Y = X\Theta^T`, with :math:`\Sigma_k` split
evenly between the two factors:

.. math::

    X = U_k \Sigma_k^{1/2}, \qquad \Theta = V_k \Sigma_k^{1/2},
    \qquad X^TX = \Theta^T\Theta = \Sigma_k .

This needs every entry of M: with missing ratings the SVD fits the
placeholders, which is why the course minimizes a cost over observed entries.
"""

from __future__ import annotations

import numpy as np

__all__ = ["truncated_svd"]


def truncated_svd(M, k: int):
    """Factors ``(X, Theta)`` of the best rank-k approximation of a full matrix M.

    Parameters
    ----------
    M : array_like of shape (n_movies, n_users)
        A fully observed matrix (no mask: every entry counts).
    k : int
        Rank, ``1 <= k <= min(n_movies, n_users)``.

    Returns
    -------
    X : ndarray of shape (n_movies, k)
        ``U[:, :k] * sqrt(s[:k])``: the k leading left singular vectors, each
        scaled by the square root of its singular value.
    Theta : ndarray of shape (n_users, k)
        ``Vt[:k].T * sqrt(s[:k])``: the k leading right singular vectors
        (rows of ``Vt``), scaled the same way.

    Notes
    -----
    ``X @ Theta.T`` is the best rank-k approximation of M in the Frobenius
    norm, with error ``sqrt(sum(s[k:]**2))``. Column r of X and of Theta is
    unique only up to a common sign (and, when singular values are equal, up
    to a rotation): compare products, not factors.
    """
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2:
        raise ValueError(f"M must be a 2-D matrix (n_movies, n_users), got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise ValueError("M contains NaN or inf: the SVD needs every entry (fill or drop the missing ones)")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= min(M.shape):
        raise ValueError(f"k must be an integer in 1..{min(M.shape)} (the smaller side of M), got {k!r}")
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    root = np.sqrt(s[:k])
    return U[:, :k] * root, Vt[:k].T * root
