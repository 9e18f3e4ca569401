r"""Bayesian matrix factorization by Gibbs sampling: ALS that samples instead of solving.

The model (biased, as :data:`cflib.train.BEST`) for the rating of movie i by user j:

.. math::

    y_{ij} \sim \mathcal N\big(\mu + b_i + b_{u,j} + x_i \cdot \theta_j,\ \tau^{-1}\big),

with the movie row :math:`w_i = (x_i, b_i)` and the user row
:math:`v_j = (\theta_j, b_{u,j})`, both of length d = k + 1, drawn from Gaussian
priors with a diagonal precision, :math:`w_{id} \sim \mathcal N(\nu_d, 1/\lambda_d)`,
whose prior mean :math:`\nu_d` and precision :math:`\lambda_d` get a Normal-Gamma
hyperprior per coordinate (:math:`\lambda_d \sim \mathrm{Gamma}(a_0, \text{rate } r_0)`,
:math:`\nu_d \mid \lambda_d \sim \mathcal N(0, 1/(\kappa_0 \lambda_d))`), and the
noise precision :math:`\tau \sim \mathrm{Gamma}(a_0, \text{rate } r_0)`. The global mean
:math:`\mu` is the mean training rating (the prior means of the biases absorb
what is left of it). The names follow the course's glossary: ``tau`` is the
noise precision (``alpha`` is notebook 10's confidence slope), ``nu`` a prior
mean (``mu`` is the global mean), ``h`` a right-hand side (``b_i`` is a movie bias).

**Why Normal-Gamma per coordinate and not BPMF's Normal-Wishart.** The prior
precision stays diagonal, so it adds to the diagonal of the ALS system as a
per-coordinate penalty, exactly where ALS puts ``lam`` and ``lam_bias``; a
bias is a coordinate like the others with its own precision (a full Wishart
would couple the bias with the features in the prior); it is the model of
myFM, so the benchmark compares like with like; and its conditional is d
independent scalar Gamma draws instead of a Wishart draw.

**The conditionals** (one row's Gaussian, which is the ALS system; the Gamma of the noise
precision; the Normal-Gamma of each coordinate's prior) and their derivations are in
:mod:`cflib.conditionals`; this module runs the sweeps.

Predictions average over the samples kept after ``burn_in``; the predictive
standard deviation adds the spread of those samples and the noise,
:math:`\sigma^2 = \overline{1/\tau} + \operatorname{Var}_s(\hat y^{(s)})`.
"""

from __future__ import annotations

import numpy as np

from .als import RowSystems
from .conditionals import HYPER, row_moments, sample_hyper, sample_row, sample_rows, sample_tau
from .history import Diverged
from .loop import Integer, Method, Param, Real, State, run
from .posterior import GibbsHistory, GibbsModel, kept_samples, record_tau
from .ratings import RATING_SCALE
from .sparse import row_dots

__all__ = ["fit_gibbs", "METHOD", "GibbsModel", "GibbsHistory", "sample_row", "sample_rows",
           "row_moments", "sample_tau", "sample_hyper", "HYPER", "BURN_IN"]

#: Default burn-in (sweeps discarded before averaging), when ``n_iters >= 20``.
#: Chosen on validation splits (10% of u1.base and of u2.base, never the test
#: files) at k = 10 and 200 sweeps: validation RMSE 0.9061 / 0.9063 / 0.9074 /
#: 0.9082 / 0.9086 for a burn-in of 0 / 10 / 25 / 50 / 100. The chain is still
#: drifting after 10 sweeps (on u1, tau rises until about sweep 50), but the
#: early samples are more strongly shrunk models whose average still predicts
#: well; 10 discards only the draws closest to the initialization.
BURN_IN = 10


# ------------------------------------------------------------------ the sampler
def fit_gibbs(train, *, k: int = 10, n_iters: int = 200, burn_in: int | None = None, seed: int = 0,
              validation=None, progress: bool = False, init_std: float = 0.1):
    r"""Sample the posterior of biased Bayesian MF (see the module docstring) by Gibbs sweeps.

    One sweep draws, in this order: the noise precision :math:`\tau`; the
    movie side's hyperparameters (:func:`sample_hyper`); every movie row
    :math:`(x_i, b_i)`; the user side's hyperparameters; every user row
    :math:`(\theta_j, b_{u,j})`. BLAS runs on one thread.

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
    V = np.zeros((n_u, d))  # user rows (theta_j, b_u)
    W[:, :k] = o["init_std"] * rng.standard_normal((n_m, k))
    V[:, :k] = o["init_std"] * rng.standard_normal((n_u, k))
    n_kept = n_iters - burn_in
    kept = dict(X=np.empty((n_kept, n_m, k)), Theta=np.empty((n_kept, n_u, k)),
                movie_bias=np.empty((n_kept, n_m)), user_bias=np.empty((n_kept, n_u)), tau=np.empty(n_kept))
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


def _draw_side(rows, systems, partners, targets, tau, k, rng):
    """New rows of one side (movies or users) given the other: their hyperparameters, then the rows.

    ``rows`` (n, k + 1) are this side's current rows (for the hyperprior draw), ``partners`` the other
    side's rows, whose first k columns and a column of ones are the regressors of ``targets``.
    Returns ``(new rows, prior means nu, prior precisions lam)``.
    """
    nu, lam = sample_hyper(rows, rng)
    A, h = systems.normal_equations(np.hstack([partners[:, :k], np.ones((partners.shape[0], 1))]), targets)
    diag = np.arange(k + 1)
    A *= tau
    A[:, diag, diag] += lam
    h *= tau
    h += lam * nu
    return sample_rows(A, h, rng), nu, lam


def _step(state):
    """One sweep (see :func:`fit_gibbs`); returns J of the sample and the training SSE of the
    posterior mean so far (of the current sample during burn-in), clipped as :meth:`GibbsModel.predict`."""
    train, rng, k = state.train, state.rng, state.options["k"]
    movies, users, y = train.movies, train.users, train.ratings
    W, V = state.params
    try:
        resid = y - state.pred
        tau = sample_tau(float(resid @ resid), train.nnz, rng)
        # Movie rows given the users: targets y - (mu + b_u), partners (theta_j, 1); then users given movies.
        W, m_nu, m_lam = _draw_side(W, state.by_movie, V, y - state.mu - V[users, k], tau, k, rng)
        V, u_nu, u_lam = _draw_side(V, state.by_user, W, y - state.mu - W[movies, k], tau, k, rng)
    except (np.linalg.LinAlgError, ValueError):  # a non-finite draw: no valid precision or Gamma
        raise Diverged from None
    state.params = [W, V]
    pred = _sample_predictions(state, movies, users)
    resid = y - pred
    penalty = (m_lam @ ((W - m_nu) ** 2).sum(axis=0) + u_lam @ ((V - u_nu) ** 2).sum(axis=0)) / tau
    J = 0.5 * float(resid @ resid) + 0.5 * float(penalty)
    if not (np.isfinite(J) and np.isfinite(W).all() and np.isfinite(V).all()):
        raise Diverged  # before the sample is kept
    state.pred, state.tau = pred, tau
    mean = pred
    if state.sweep >= state.options["burn_in"]:
        s = state.n_kept
        kept = state.kept
        kept["X"][s], kept["Theta"][s] = W[:, :k], V[:, :k]
        kept["movie_bias"][s], kept["user_bias"][s] = W[:, k], V[:, k]
        kept["tau"][s] = tau
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


def _finish(state, params, history):
    kept = kept_samples(state, history)
    return GibbsModel(**kept, mu=state.mu, movie_counts=state.by_movie.counts.copy(),
                      user_counts=state.by_user.counts.copy(), params=params,
                      scale=getattr(state.train, "scale", RATING_SCALE))


def _memory(train, o):
    k, kept = o["k"], o["n_iters"] - o["burn_in"]
    floats = max(train.n_movies, train.n_users) * (k + 1) ** 2 + kept * (train.n_movies + train.n_users) * (k + 1)
    return (floats, f"k={k} with {kept} kept sweeps", "the row systems and the kept samples",
            "choose a smaller k, fewer n_iters or a larger burn_in")


#: The registry entry (:mod:`cflib.trainers`): ``fit(train, method="gibbs", burn_in=20)``.
METHOD = Method(
    "gibbs", "Bayesian MF (Gibbs sampling)", step=_step, init=_init, predict=_predict, record=record_tau,
    finish=_finish, history=GibbsHistory, memory=_memory, kinds=("biased",), one_blas_thread=True,
    hint="the sampler's draws became non-finite; check the ratings",
    options=dict(k=Param(10, Integer(1)), n_iters=Param(200, Integer(1)),
                 burn_in=Param(lambda o: min(BURN_IN, o["n_iters"] // 2), Integer(0, lambda o: o["n_iters"] - 1)),
                 init_std=Param(0.1, Real(0.0))))
