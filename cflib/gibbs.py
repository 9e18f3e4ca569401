r"""Bayesian matrix factorization by Gibbs sampling: ALS that samples instead of solving.

The model (biased, as :data:`cflib.train.BEST`) for the rating of movie i by user j:

.. math::

    y_{ij} \sim \mathcal N\big(\mu + b_i + c_j + x_i \cdot \theta_j,\ \alpha^{-1}\big),

with the movie row :math:`w_i = (x_i, b_i)` and the user row
:math:`v_j = (\theta_j, c_j)`, both of length d = k + 1, drawn from Gaussian
priors with a diagonal precision, :math:`w_{id} \sim \mathcal N(m_d, 1/\lambda_d)`,
whose mean and precision get a Normal-Gamma hyperprior per coordinate
(:math:`\lambda_d \sim \mathrm{Gamma}(a_0, b_0)`,
:math:`m_d \mid \lambda_d \sim \mathcal N(0, 1/(\beta_0 \lambda_d))`), and the
noise precision :math:`\alpha \sim \mathrm{Gamma}(a_0, b_0)`. The global mean
:math:`\mu` is the mean training rating (the hyper-means of the biases absorb
what is left of it).

**One row's conditional is the ALS system.** With everything else fixed, the
log posterior of :math:`w_i` is quadratic, so :math:`w_i` is Gaussian with

.. math::

    A_i = \alpha \sum_{j \in R(i)} f_j f_j^T + \operatorname{diag}(\lambda), \qquad
    A_i\, m_i = \alpha \sum_{j \in R(i)} t_{ij} f_j + \lambda \odot m,

where :math:`f_j = (\theta_j, 1)` and :math:`t_{ij} = y_{ij} - \mu - c_j`:
precision :math:`A_i` and mean :math:`m_i`. Divided by :math:`\alpha` this is
exactly ALS's ridge system with :math:`\lambda/\alpha` as the penalty (the
Gram matrices come from :class:`cflib.als.RowSystems`). One Cholesky factor
:math:`A_i = L L^T` gives both the mean and a draw:
:math:`w_i = L^{-T}(L^{-1} b_i + z)`, :math:`z \sim \mathcal N(0, I)`, since
:math:`\operatorname{Cov}(L^{-T} z) = (L L^T)^{-1} = A_i^{-1}`. All rows are drawn
at once with batched Cholesky factorizations and solves (no Python loop over rows).

**Why Normal-Gamma per coordinate and not BPMF's Normal-Wishart.** The prior
precision stays diagonal, so it adds to the diagonal of the ALS system as a
per-coordinate penalty, exactly where ALS puts ``lam`` and ``lam_bias``; a
bias is a coordinate like the others with its own precision (a full Wishart
would couple the bias with the features in the prior); it is the model of
myFM, so the benchmark compares like with like; and its conditional is d
independent scalar Gamma draws instead of a Wishart draw.

**The noise precision** has the Gamma conditional
:math:`\alpha \mid \cdot \sim \mathrm{Gamma}(a_0 + N/2,\ \text{rate } b_0 + \mathrm{SSE}/2)`
over the N training ratings.

Predictions average over the samples kept after ``burn_in``; the predictive
standard deviation adds the spread of those samples and the noise,
:math:`\sigma^2 = \overline{1/\alpha} + \operatorname{Var}_s(\hat y^{(s)})`.
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from .als import RowSystems
from .posterior import GibbsHistory, GibbsModel
from .ratings import DENSE_LIMIT_BYTES, RATING_SCALE
from .sparse import row_dots
from .validation import check_index_pair, check_int, check_scalar

__all__ = ["fit_gibbs", "GibbsModel", "GibbsHistory", "sample_row", "sample_rows",
           "row_moments", "sample_alpha", "sample_hyper", "HYPER", "BURN_IN"]

#: Hyperprior of myFM's defaults: Gamma(a0, rate b0) for every precision, and the
#: prior mean of a row coordinate N(0, 1/(beta0 * lambda_d)).
HYPER = dict(a0=1.0, b0=1.0, beta0=1.0)
#: Default burn-in (sweeps discarded before averaging), when ``n_iters >= 20``.
#: Chosen on validation splits (10% of u1.base and of u2.base, never the test
#: files) at k = 10 and 200 sweeps: validation RMSE 0.9061 / 0.9063 / 0.9074 /
#: 0.9082 / 0.9086 for a burn-in of 0 / 10 / 25 / 50 / 100. The chain is still
#: drifting after 10 sweeps (on u1, alpha rises until about sweep 50), but the
#: early samples are more strongly shrunk models whose average still predicts
#: well; 10 discards only the draws closest to the initialization.
BURN_IN = 10


# ------------------------------------------------------------------ the conditionals
_NOT_PD = ("the precision A = alpha F^T F + diag(lam) is not positive definite (or not finite): "
           "alpha and every lam must be finite and > 0")


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")

def row_moments(F, t, alpha, mu, lam):
    r"""Mean and covariance of one row's Gaussian conditional.

    .. math::

        A = \alpha F^T F + \operatorname{diag}(\lambda), \quad
        m = A^{-1}(\alpha F^T t + \lambda \odot \mu), \quad \Sigma = A^{-1}

    Parameters
    ----------
    F : ndarray of shape (n, d)
        The fixed partners' rows (for a movie: the users' ``(theta_j, 1)``).
    t : ndarray of shape (n,)
        What the row must explain (ratings minus the fixed terms).
    alpha : float
        Noise precision.
    mu, lam : ndarray of shape (d,)
        Prior mean and prior precision (diagonal) of the row.

    Returns
    -------
    mean : ndarray of shape (d,)
    cov : ndarray of shape (d, d)
    """
    F = np.asarray(F, dtype=np.float64)
    A = alpha * F.T @ F + np.diag(np.asarray(lam, dtype=np.float64))
    b = alpha * F.T @ np.asarray(t, dtype=np.float64) + lam * np.asarray(mu, dtype=np.float64)
    try:
        return np.linalg.solve(A, b), np.linalg.inv(A)
    except np.linalg.LinAlgError:
        raise ValueError(_NOT_PD) from None


def sample_row(F, t, alpha, mu, lam, rng):
    r"""One draw from one row's conditional :math:`\mathcal N(m, A^{-1})` (see :func:`row_moments`).

    With :math:`A = L L^T` (Cholesky), :math:`w = L^{-T}(L^{-1} b + z)` where
    :math:`b = \alpha F^T t + \lambda \odot \mu` and ``z = rng.standard_normal(d)``.

    Parameters
    ----------
    F : ndarray of shape (n, d)
    t : ndarray of shape (n,)
    alpha : float
    mu, lam : ndarray of shape (d,)
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (d,)
    """
    F = np.asarray(F, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    A = alpha * F.T @ F + np.diag(lam)
    b = alpha * F.T @ np.asarray(t, dtype=np.float64) + lam * np.asarray(mu, dtype=np.float64)
    return sample_rows(A[None], b[None], rng)[0]


def sample_rows(A, b, rng):
    r"""Draw every row from :math:`\mathcal N(A_r^{-1} b_r, A_r^{-1})` at once.

    One batched Cholesky factorization, then a forward and a back substitution
    vectorized over the rows (a loop over the d coordinates only: numpy has no
    batched triangular solve, and ``np.linalg.solve`` on L would redo an LU
    factorization, 8 times slower at ml-100k size).

    Parameters
    ----------
    A : ndarray of shape (n_rows, d, d)
        Posterior precisions (symmetric positive definite).
    b : ndarray of shape (n_rows, d)
        Precision times mean ("information vectors").
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_rows, d)
        :math:`L_r^{-T}(L_r^{-1} b_r + z_r)` with :math:`A_r = L_r L_r^T`.
    """
    _check_rng(rng)
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        raise ValueError(_NOT_PD) from None
    y = _forward(L, np.asarray(b, dtype=np.float64))
    y += rng.standard_normal(y.shape)
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


def sample_alpha(sse, n, rng, *, a0=HYPER["a0"], b0=HYPER["b0"]):
    r"""Noise precision from its conditional :math:`\mathrm{Gamma}(a_0 + n/2,\ \text{rate } b_0 + \mathrm{SSE}/2)`.

    Its mean is :math:`(a_0 + n/2) / (b_0 + \mathrm{SSE}/2)`.
    """
    _check_rng(rng)
    sse = check_scalar(sse, "sse", min_val=0.0)
    n = check_int(n, "n", min_val=0)
    return float(rng.gamma(a0 + 0.5 * n, 1.0 / (b0 + 0.5 * sse)))


def sample_hyper(W, rng, *, a0=HYPER["a0"], b0=HYPER["b0"], beta0=HYPER["beta0"]):
    r"""Prior mean and precision of each coordinate of the rows W, from their Normal-Gamma conditional.

    For coordinate d with values :math:`w_{1d}..w_{nd}` (mean :math:`\bar w`,
    scatter :math:`S = \sum_i (w_{id} - \bar w)^2`), jointly:

    .. math::

        \lambda_d \sim \mathrm{Gamma}\Big(a_0 + \tfrac n2,\
            b_0 + \tfrac12\big(S + \tfrac{n \beta_0}{\beta_0 + n} \bar w^2\big)\Big), \qquad
        m_d \mid \lambda_d \sim \mathcal N\Big(\tfrac{n \bar w}{\beta_0 + n},\
            \tfrac{1}{(\beta_0 + n) \lambda_d}\Big)

    Parameters
    ----------
    W : ndarray of shape (n_rows, d)
    rng : numpy.random.Generator

    Returns
    -------
    mean, precision : ndarray of shape (d,)
    """
    _check_rng(rng)
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] == 0:
        raise ValueError(f"W must be 2-D of shape (n_rows, d) with n_rows >= 1, got shape {W.shape}")
    n = W.shape[0]
    wbar = W.mean(axis=0)
    scatter = ((W - wbar) ** 2).sum(axis=0)
    rate = b0 + 0.5 * (scatter + n * beta0 / (beta0 + n) * wbar ** 2)
    lam = rng.gamma(a0 + 0.5 * n, 1.0 / rate)
    mean = n * wbar / (beta0 + n) + rng.standard_normal(W.shape[1]) / np.sqrt((beta0 + n) * lam)
    return mean, lam


# ------------------------------------------------------------------ the sampler
def _rmse(pred, actual):
    d = np.clip(pred, *RATING_SCALE) - actual
    return float(np.sqrt(d @ d / d.size)) if d.size else float("nan")


def fit_gibbs(train, *, k: int = 10, n_iters: int = 200, burn_in: int | None = None, seed: int = 0,
              validation=None, progress: bool = False, init_std: float = 0.1):
    r"""Sample the posterior of biased Bayesian MF (see the module docstring) by Gibbs sweeps.

    One sweep draws, in this order: the noise precision :math:`\alpha`; the
    movie side's hyperparameters (:func:`sample_hyper`); every movie row
    :math:`(x_i, b_i)`; the user side's hyperparameters; every user row
    :math:`(\theta_j, c_j)`. BLAS runs on one thread.

    Parameters
    ----------
    train : Ratings
    k : int, default 10
    n_iters : int, default 200
        Number of sweeps.
    burn_in : int or None
        Sweeps discarded before averaging; None means ``min(BURN_IN, n_iters // 2)``
        (10 for 20 sweeps or more; see :data:`BURN_IN` for how it was chosen).
    seed : int, default 0
    validation : Ratings or None
        Ratings whose RMSE (of the running average, clipped) is recorded each sweep.
    progress : bool, default False
        Show a tqdm bar.
    init_std : float, default 0.1
        Standard deviation of the initial X and Theta (biases start at 0).

    Returns
    -------
    model : GibbsModel
    history : GibbsHistory
    """
    k = check_int(k, "k", min_val=1)
    n_iters = check_int(n_iters, "n_iters", min_val=1)
    if burn_in is None:
        burn_in = min(BURN_IN, n_iters // 2)
    burn_in = check_int(burn_in, "burn_in", min_val=0, max_val=n_iters - 1)
    seed = check_int(seed, "seed", min_val=0)
    init_std = check_scalar(init_std, "init_std", min_val=0.0)
    if not all(hasattr(train, a) for a in ("movies", "users", "ratings", "n_movies", "n_users")):
        raise TypeError(f"train must be a cflib Ratings (e.g. from cflib.load_split), got {type(train).__name__}")
    if train.nnz == 0:
        raise ValueError("train holds no ratings: nothing to sample from")
    if validation is not None:
        if not all(hasattr(validation, a) for a in ("movies", "users", "ratings", "n_movies", "n_users")):
            raise TypeError(f"validation must be a cflib Ratings or None, got {type(validation).__name__}")
        if (validation.n_movies, validation.n_users) != (train.n_movies, train.n_users):
            raise ValueError(
                f"validation has shape {(validation.n_movies, validation.n_users)} but train has "
                f"{(train.n_movies, train.n_users)}: split one Ratings so both keep all movies and users")
    floats = (max(train.n_movies, train.n_users) * (k + 1) ** 2
              + (n_iters - burn_in) * (train.n_movies + train.n_users) * (k + 1))
    if 8 * floats > DENSE_LIMIT_BYTES:
        raise ValueError(f"k={k} with {n_iters - burn_in} kept sweeps would need about {8 * floats / 1e9:.1f} GB "
                         "for the row systems and the kept samples: choose a smaller k, fewer n_iters or "
                         "a larger burn_in")
    rng = np.random.default_rng(seed)
    movies, users, y = train.movies, train.users, train.ratings
    n_m, n_u, nnz = train.n_movies, train.n_users, y.size
    mu = float(y.mean())
    by_movie = RowSystems(movies, users, n_m, n_u)
    by_user = RowSystems(users, movies, n_u, n_m)
    d = k + 1
    W = np.zeros((n_m, d))  # movie rows (x_i, b_i)
    V = np.zeros((n_u, d))  # user rows (theta_j, c_j)
    W[:, :k] = init_std * rng.standard_normal((n_m, k))
    V[:, :k] = init_std * rng.standard_normal((n_u, k))
    n_kept = n_iters - burn_in
    kept = dict(X=np.empty((n_kept, n_m, k)), Theta=np.empty((n_kept, n_u, k)),
                movie_bias=np.empty((n_kept, n_m)), user_bias=np.empty((n_kept, n_u)),
                alpha=np.empty(n_kept))
    if validation is not None:
        vm, vu = check_index_pair(validation.movies, validation.users, n_m, n_u)
        v_sum = np.zeros(vm.size)
    train_sum = np.zeros(nnz)
    ones_u, ones_m = np.ones((n_u, 1)), np.ones((n_m, 1))
    diag = np.arange(d)
    h = GibbsHistory(method="gibbs", kind="biased", burn_in=burn_in)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=n_iters, desc="gibbs")
    start = time.perf_counter()

    def predictions(rows, cols):
        return row_dots(W[:, :k], V[:, :k], rows, cols) + W[rows, k] + V[cols, k] + mu

    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        pred = predictions(movies, users)
        for sweep in range(n_iters):
            try:
                resid = y - pred
                alpha = sample_alpha(float(resid @ resid), nnz, rng)
                # Movie rows given the users: targets y - mu - c_j, partners (theta_j, 1).
                m_mean, m_lam = sample_hyper(W, rng)
                A, b = by_movie.normal_equations(np.hstack([V[:, :k], ones_u]), y - mu - V[users, k])
                A *= alpha
                A[:, diag, diag] += m_lam
                b *= alpha
                b += m_lam * m_mean
                W = sample_rows(A, b, rng)
                # User rows given the movies.
                u_mean, u_lam = sample_hyper(V, rng)
                A, b = by_user.normal_equations(np.hstack([W[:, :k], ones_m]), y - mu - W[movies, k])
                A *= alpha
                A[:, diag, diag] += u_lam
                b *= alpha
                b += u_lam * u_mean
                V = sample_rows(A, b, rng)
            except (np.linalg.LinAlgError, ValueError):  # a non-finite draw: no valid precision or Gamma
                h.diverged = True
                break

            pred = predictions(movies, users)
            resid = y - pred
            sse = float(resid @ resid)
            penalty = (m_lam @ ((W - m_mean) ** 2).sum(axis=0) + u_lam @ ((V - u_mean) ** 2).sum(axis=0)) / alpha
            h.cost.append(0.5 * sse + 0.5 * float(penalty))
            h.alpha.append(alpha)
            finite = np.isfinite(h.cost[-1]) and np.isfinite(W).all() and np.isfinite(V).all()
            if not finite:
                h.diverged = True
                break
            if sweep >= burn_in:
                s = sweep - burn_in
                kept["X"][s], kept["Theta"][s] = W[:, :k], V[:, :k]
                kept["movie_bias"][s], kept["user_bias"][s] = W[:, k], V[:, k]
                kept["alpha"][s] = alpha
                train_sum += pred
                h.train_rmse.append(_rmse(train_sum / (s + 1), y))
                if validation is not None:
                    v_sum += predictions(vm, vu)
                    h.val_rmse.append(_rmse(v_sum / (s + 1), validation.ratings))
            else:
                h.train_rmse.append(_rmse(pred, y))
                if validation is not None:
                    h.val_rmse.append(_rmse(predictions(vm, vu), validation.ratings))
            h.time.append(time.perf_counter() - start)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    n_done = len(h.train_rmse) - burn_in if len(h.train_rmse) > burn_in else 0  # samples actually kept
    if n_done == 0:
        raise ValueError(f"the sampler diverged at sweep {len(h.cost)} of burn_in={burn_in}, so no sample "
                         f"was kept: use a smaller init_std (now {init_std:g}; default 0.1) or a smaller burn_in")
    kept = {name: arr[:n_done] for name, arr in kept.items()}
    model = GibbsModel(**kept, mu=mu, movie_counts=by_movie.counts.copy(), user_counts=by_user.counts.copy(),
                       params=dict(method="gibbs", k=k, n_iters=n_iters, burn_in=burn_in, seed=seed))
    return model, h
