r"""The conditional distributions of Bayesian MF (:mod:`cflib.gibbs`) and one draw from each.

The model and its names are those of :mod:`cflib.gibbs`: ``tau`` the noise precision, ``nu``
a prior mean, ``lam`` prior precisions, ``h`` a right-hand side (the course's glossary).

**One row's conditional is the ALS system.** With everything else fixed, the
log posterior of :math:`w_i` is quadratic, so :math:`w_i` is Gaussian with

.. math::

    A_i = \tau \sum_{j \in R(i)} f_j f_j^T + \operatorname{diag}(\lambda), \qquad
    h_i = \tau \sum_{j \in R(i)} t_{ij} f_j + \lambda \odot \nu, \qquad
    w_i \mid \cdot \sim \mathcal N(A_i^{-1} h_i,\ A_i^{-1}),

where :math:`f_j = (\theta_j, 1)` and :math:`t_{ij} = y_{ij} - (\mu + b_{u,j})`:
precision :math:`A_i` and mean :math:`A_i^{-1} h_i`. Divided by :math:`\tau` this is
exactly ALS's ridge system with :math:`\lambda/\tau` as the penalty (the
Gram matrices come from :class:`cflib.als.RowSystems`). One Cholesky factor
:math:`A_i = L L^T` gives both the mean and a draw:
:math:`w_i = L^{-T}(L^{-1} h_i + z)`, :math:`z \sim \mathcal N(0, I)`, since
:math:`\operatorname{Cov}(L^{-T} z) = (L L^T)^{-1} = A_i^{-1}`. All rows are drawn
at once with batched Cholesky factorizations and solves (no Python loop over rows).

**The noise precision** has the Gamma conditional
:math:`\tau \mid \cdot \sim \mathrm{Gamma}(a_0 + n/2,\ \text{rate } r_0 + \mathrm{SSE}/2)`
over the n training ratings: as a function of :math:`\tau` the likelihood is
:math:`\tau^{n/2} e^{-\tau\,\mathrm{SSE}/2}`, and times the prior
:math:`\tau^{a_0 - 1} e^{-r_0 \tau}` it is again a Gamma density (conjugacy;
:func:`sample_tau` and :func:`sample_hyper` give both derivations).
"""

from __future__ import annotations

import numpy as np

from .arguments import check_int, check_scalar

__all__ = ["row_moments", "sample_row", "sample_rows", "draw_rows", "sample_tau", "sample_hyper", "HYPER"]

#: Hyperprior constants of :mod:`cflib.gibbs`: Gamma(a0, rate r0) for every precision, and the
#: prior mean of a row coordinate N(0, 1/(kappa0 * lambda_d)). (myFM writes its priors as
#: Gamma(alpha_0 / 2, rate beta_0 / 2), so its defaults alpha_0 = beta_0 = 1 are a0 = r0 = 0.5
#: here: :data:`cflib.fm_mcmc.FM_HYPER`.)
HYPER = dict(a0=1.0, r0=1.0, kappa0=1.0)

_NOT_PD = ("the precision A = tau F^T F + diag(lam) is not positive definite (or not finite): "
           "tau and every lam must be finite and > 0")


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")


def row_moments(F, t, tau, nu, lam):
    r"""Mean and covariance of one row's Gaussian conditional.

    .. math::

        A = \tau F^T F + \operatorname{diag}(\lambda), \quad
        m = A^{-1}(\tau F^T t + \lambda \odot \nu), \quad \Sigma = A^{-1}

    Parameters
    ----------
    F : ndarray of shape (n, d)
        The fixed partners' rows (for a movie: the users' ``(theta_j, 1)``).
    t : ndarray of shape (n,)
        What the row must explain (ratings minus the fixed terms).
    tau : float
        Noise precision (a rating's noise has variance 1/tau).
    nu, lam : ndarray of shape (d,)
        Prior mean and prior precision (diagonal) of the row.

    Returns
    -------
    mean : ndarray of shape (d,)
    cov : ndarray of shape (d, d)
    """
    F = np.asarray(F, dtype=np.float64)
    A = tau * F.T @ F + np.diag(np.asarray(lam, dtype=np.float64))
    h = tau * F.T @ np.asarray(t, dtype=np.float64) + lam * np.asarray(nu, dtype=np.float64)
    try:
        return np.linalg.solve(A, h), np.linalg.inv(A)
    except np.linalg.LinAlgError:
        raise ValueError(_NOT_PD) from None


def sample_row(F, t, tau, nu, lam, rng):
    r"""One draw from one row's conditional :math:`\mathcal N(m, A^{-1})` (see :func:`row_moments`).

    With :math:`A = L L^T` (Cholesky), :math:`w = L^{-T}(L^{-1} h + z)` where
    :math:`h = \tau F^T t + \lambda \odot \nu` and ``z = rng.standard_normal(d)``.

    Parameters
    ----------
    F : ndarray of shape (n, d)
    t : ndarray of shape (n,)
    tau : float
        Noise precision.
    nu, lam : ndarray of shape (d,)
        Prior mean and prior precisions.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (d,)
    """
    F = np.asarray(F, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    A = tau * F.T @ F + np.diag(lam)
    h = tau * F.T @ np.asarray(t, dtype=np.float64) + lam * np.asarray(nu, dtype=np.float64)
    return sample_rows(A[None], h[None], rng)[0]


def sample_rows(A, h, rng):
    r"""Draw every row from :math:`\mathcal N(A_r^{-1} h_r, A_r^{-1})` at once.

    One batched Cholesky factorization, then a forward and a back substitution
    vectorized over the rows (a loop over the d coordinates only: numpy has no
    batched triangular solve, and ``np.linalg.solve`` on L would redo an LU
    factorization, 8 times slower at ml-100k size).

    Parameters
    ----------
    A : ndarray of shape (n_rows, d, d)
        Posterior precisions (symmetric positive definite).
    h : ndarray of shape (n_rows, d)
        Precision times mean ("information vectors").
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_rows, d)
        :math:`L_r^{-T}(L_r^{-1} h_r + z_r)` with :math:`A_r = L_r L_r^T`.
    """
    _check_rng(rng)
    return draw_rows(A, h, lambda shape: rng.standard_normal(shape))


def draw_rows(A, h, z):
    r""":func:`sample_rows` with the standard normals given: :math:`L_r^{-T}(L_r^{-1} h_r + z_r)`.

    Parameters
    ----------
    A : ndarray of shape (n_rows, d, d)
    h : ndarray of shape (n_rows, d)
    z : ndarray of shape (n_rows, d), or a function of the shape giving one
        Drawn after the factorization when a function (so a failed factorization draws nothing).

    Returns
    -------
    ndarray of shape (n_rows, d)
    """
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        raise ValueError(_NOT_PD) from None
    h = np.asarray(h, dtype=np.float64)
    if L.shape[0] == 1:  # one system (the FM's weighted groups, feature by feature): two LAPACK solves
        y = np.linalg.solve(L[0], h[0])[None]
        y += z(y.shape) if callable(z) else z
        return np.linalg.solve(L[0].T, y[0])[None]
    y = _forward(L, h)
    y += z(y.shape) if callable(z) else z
    return _backward(L, y)


def _forward(L, b):
    """Solve ``L[r] y[r] = b[r]`` for lower-triangular L (n, d, d), one column at a time over all rows."""
    y = np.empty_like(b)
    for i in range(b.shape[1]):
        y[:, i] = (b[:, i] - np.einsum("nj,nj->n", L[:, i, :i], y[:, :i])) / L[:, i, i]
    return y


def _backward(L, y):
    """Solve ``L[r]^T x[r] = y[r]`` (back substitution with the transposed factor)."""
    x = np.empty_like(y)
    for i in range(y.shape[1] - 1, -1, -1):
        x[:, i] = (y[:, i] - np.einsum("nj,nj->n", L[:, i + 1:, i], x[:, i + 1:])) / L[:, i, i]
    return x


def sample_tau(sse, n, rng, *, a0=HYPER["a0"], r0=HYPER["r0"]):
    r"""Noise precision from its conditional :math:`\mathrm{Gamma}(a_0 + n/2,\ \text{rate } r_0 + \mathrm{SSE}/2)`.

    Its mean is :math:`(a_0 + n/2) / (r_0 + \mathrm{SSE}/2)`. Why: as a function of
    :math:`\tau`, the likelihood of n ratings with errors :math:`e_t` is
    :math:`\prod_t \sqrt{\tau/2\pi}\, e^{-\tau e_t^2/2} \propto \tau^{n/2} e^{-\tau\,\mathrm{SSE}/2}`,
    and times the prior :math:`\tau^{a_0-1} e^{-r_0\tau}` this is
    :math:`\tau^{a_0 + n/2 - 1} e^{-(r_0 + \mathrm{SSE}/2)\tau}`, a Gamma density.

    Parameters
    ----------
    sse : float >= 0
        Sum of squared residuals of the n ratings.
    n : int >= 0
        Number of ratings.
    rng : numpy.random.Generator

    Returns
    -------
    float
        One draw of tau.
    """
    _check_rng(rng)
    sse = check_scalar(sse, "sse", min_val=0.0)
    n = check_int(n, "n", min_val=0)
    return float(rng.gamma(a0 + 0.5 * n, 1.0 / (r0 + 0.5 * sse)))


def sample_hyper(W, rng, *, a0=HYPER["a0"], r0=HYPER["r0"], kappa0=HYPER["kappa0"]):
    r"""Prior mean :math:`\nu_d` and precision :math:`\lambda_d` of each coordinate of the rows W,
    from their Normal-Gamma conditional.

    For coordinate d with values :math:`w_{1d}..w_{nd}` (mean :math:`\bar w`,
    scatter :math:`S = \sum_i (w_{id} - \bar w)^2`), jointly:

    .. math::

        \lambda_d \sim \mathrm{Gamma}\Big(a_0 + \tfrac n2,\ \text{rate }
            r_0 + \tfrac12\big(S + \tfrac{n \kappa_0}{\kappa_0 + n} \bar w^2\big)\Big), \qquad
        \nu_d \mid \lambda_d \sim \mathcal N\Big(\tfrac{n \bar w}{\kappa_0 + n},\
            \tfrac{1}{(\kappa_0 + n) \lambda_d}\Big)

    Why: the prior :math:`\lambda^{a_0-1}e^{-r_0\lambda}\cdot\sqrt{\lambda}\,e^{-\kappa_0\lambda\nu^2/2}`
    times the likelihood :math:`\lambda^{n/2} e^{-\lambda \sum_i (w_{id} - \nu)^2/2}`, with
    :math:`\sum_i (w_{id} - \nu)^2 = S + n(\bar w - \nu)^2` and the square in :math:`\nu`
    completed, is a Normal in :math:`\nu` (precision :math:`(\kappa_0 + n)\lambda`) times a
    Gamma in :math:`\lambda`: the same family as the prior (conjugacy).

    Parameters
    ----------
    W : ndarray of shape (n_rows, d)
    rng : numpy.random.Generator

    Returns
    -------
    nu, lam : ndarray of shape (d,)
        The prior mean and the prior precision of each coordinate.
    """
    _check_rng(rng)
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] == 0:
        raise ValueError(f"W must be 2-D of shape (n_rows, d) with n_rows >= 1, got shape {W.shape}")
    n = W.shape[0]
    wbar = W.mean(axis=0)
    scatter = ((W - wbar) ** 2).sum(axis=0)
    rate = r0 + 0.5 * (scatter + n * kappa0 / (kappa0 + n) * wbar ** 2)
    lam = rng.gamma(a0 + 0.5 * n, 1.0 / rate)
    nu = n * wbar / (kappa0 + n) + rng.standard_normal(W.shape[1]) / np.sqrt((kappa0 + n) * lam)
    return nu, lam
