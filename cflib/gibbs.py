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

import numpy as np

from .als import RowSystems
from .history import Diverged
from .loop import Integer, Method, Param, Real, State, run
from .posterior import GibbsHistory, GibbsModel
from .ratings import RATING_SCALE
from .sparse import row_dots
from .validation import check_int, check_scalar

__all__ = ["fit_gibbs", "METHOD", "GibbsModel", "GibbsHistory", "sample_row", "sample_rows",
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
    return run(METHOD, train, validation=validation, seed=seed, progress=progress, k=k, n_iters=n_iters,
               burn_in=burn_in, init_std=init_std)


def _init(train, validation, seed, o):
    k, n_iters, burn_in = o["k"], o["n_iters"], o["burn_in"]
    rng = np.random.default_rng(seed)
    n_m, n_u = train.n_movies, train.n_users
    d = k + 1
    W = np.zeros((n_m, d))  # movie rows (x_i, b_i)
    V = np.zeros((n_u, d))  # user rows (theta_j, c_j)
    W[:, :k] = o["init_std"] * rng.standard_normal((n_m, k))
    V[:, :k] = o["init_std"] * rng.standard_normal((n_u, k))
    n_kept = n_iters - burn_in
    kept = dict(X=np.empty((n_kept, n_m, k)), Theta=np.empty((n_kept, n_u, k)),
                movie_bias=np.empty((n_kept, n_m)), user_bias=np.empty((n_kept, n_u)), alpha=np.empty(n_kept))
    state = State(train=train, options=o, seed=seed, params=[W, V], rng=rng, mu=float(train.ratings.mean()),
                  by_movie=RowSystems(train.movies, train.users, n_m, n_u),
                  by_user=RowSystems(train.users, train.movies, n_u, n_m), kept=kept, n_kept=0, sweep=0,
                  train_sum=np.zeros(train.nnz), vm=None, vu=None)
    if validation is not None:
        state.vm, state.vu, state.v_sum = validation.movies, validation.users, np.zeros(validation.nnz)
    state.pred = _sample_predictions(state, train.movies, train.users)
    return state


def _sample_predictions(state, rows, cols):
    """The current sample's predictions at ``(rows[t], cols[t])``, unclipped."""
    W, V = state.params
    k = state.options["k"]
    return row_dots(W[:, :k], V[:, :k], rows, cols) + W[rows, k] + V[cols, k] + state.mu


def _draw_side(rows, systems, partners, targets, alpha, k, rng):
    """New rows of one side (movies or users) given the other: their hyperparameters, then the rows.

    ``rows`` (n, k + 1) are this side's current rows (for the hyperprior draw), ``partners`` the other
    side's rows, whose first k columns and a column of ones are the regressors of ``targets``.
    Returns ``(new rows, hyper mean, hyper precisions)``.
    """
    mean, lam = sample_hyper(rows, rng)
    A, b = systems.normal_equations(np.hstack([partners[:, :k], np.ones((partners.shape[0], 1))]), targets)
    diag = np.arange(k + 1)
    A *= alpha
    A[:, diag, diag] += lam
    b *= alpha
    b += lam * mean
    return sample_rows(A, b, rng), mean, lam


def _step(state):
    """One sweep (see :func:`fit_gibbs`); returns J of the sample and the training SSE of the
    posterior mean so far (of the current sample during burn-in), clipped as :meth:`GibbsModel.predict`."""
    train, rng, k = state.train, state.rng, state.options["k"]
    movies, users, y = train.movies, train.users, train.ratings
    W, V = state.params
    try:
        resid = y - state.pred
        alpha = sample_alpha(float(resid @ resid), train.nnz, rng)
        # Movie rows given the users: targets y - mu - c_j, partners (theta_j, 1); then users given movies.
        W, m_mean, m_lam = _draw_side(W, state.by_movie, V, y - state.mu - V[users, k], alpha, k, rng)
        V, u_mean, u_lam = _draw_side(V, state.by_user, W, y - state.mu - W[movies, k], alpha, k, rng)
    except (np.linalg.LinAlgError, ValueError):  # a non-finite draw: no valid precision or Gamma
        raise Diverged from None
    state.params = [W, V]
    pred = _sample_predictions(state, movies, users)
    resid = y - pred
    penalty = (m_lam @ ((W - m_mean) ** 2).sum(axis=0) + u_lam @ ((V - u_mean) ** 2).sum(axis=0)) / alpha
    J = 0.5 * float(resid @ resid) + 0.5 * float(penalty)
    if not (np.isfinite(J) and np.isfinite(W).all() and np.isfinite(V).all()):
        raise Diverged  # before the sample is kept
    state.pred, state.alpha = pred, alpha
    mean = pred
    if state.sweep >= state.options["burn_in"]:
        s = state.n_kept
        kept = state.kept
        kept["X"][s], kept["Theta"][s] = W[:, :k], V[:, :k]
        kept["movie_bias"][s], kept["user_bias"][s] = W[:, k], V[:, k]
        kept["alpha"][s] = alpha
        state.n_kept += 1
        state.train_sum += pred
        mean = state.train_sum / state.n_kept
        if state.vm is not None:
            state.v_sum += _sample_predictions(state, state.vm, state.vu)
    state.sweep += 1
    d = np.clip(mean, *getattr(state.train, "scale", RATING_SCALE)) - y
    return J, float(d @ d)


def _predict(state, movies, users):
    """The posterior mean so far (running sums at the validation ratings); the current sample during burn-in."""
    if state.n_kept == 0:
        return _sample_predictions(state, movies, users)
    if movies is state.vm and users is state.vu:
        return state.v_sum / state.n_kept
    return _finish(state, {}, None).predict(movies, users, clip=False)


def _record(state, history, validation):
    history.alpha.append(state.alpha)


def _finish(state, params, history):
    if history is not None:
        history.burn_in = state.options["burn_in"]
    if state.n_kept == 0:
        raise ValueError(f"the sampler diverged at sweep {state.sweep + 1} of burn_in={state.options['burn_in']}, "
                         f"so no sample was kept: use a smaller init_std (now {state.options['init_std']:g}; "
                         "default 0.1) or a smaller burn_in")
    kept = {name: arr[:state.n_kept] for name, arr in state.kept.items()}
    return GibbsModel(**kept, mu=state.mu, movie_counts=state.by_movie.counts.copy(),
                      user_counts=state.by_user.counts.copy(), params=params)


def _memory(train, o):
    k, kept = o["k"], o["n_iters"] - o["burn_in"]
    floats = max(train.n_movies, train.n_users) * (k + 1) ** 2 + kept * (train.n_movies + train.n_users) * (k + 1)
    return (floats, f"k={k} with {kept} kept sweeps", "the row systems and the kept samples",
            "choose a smaller k, fewer n_iters or a larger burn_in")


#: The registry entry (:mod:`cflib.trainers`): ``fit(train, method="gibbs", burn_in=20)``.
METHOD = Method(
    "gibbs", "Bayesian MF (Gibbs sampling)", step=_step, init=_init, predict=_predict, record=_record,
    finish=_finish, history=GibbsHistory, memory=_memory, kinds=("biased",), one_blas_thread=True,
    hint="the sampler's draws became non-finite; check the ratings",
    options=dict(k=Param(10, Integer(1)), n_iters=Param(200, Integer(1)),
                 burn_in=Param(lambda o: min(BURN_IN, o["n_iters"] // 2), Integer(0, lambda o: o["n_iters"] - 1)),
                 init_std=Param(0.1, Real(0.0))))
