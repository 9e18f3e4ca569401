r"""Bayesian factorization machine by Gibbs sampling, with hyperpriors per feature group (libFM's MCMC).

The model of :mod:`cflib.fm` with Gaussian noise and priors (Rendle 2012, "Factorization
machines with libFM"):

.. math::

    y_t \sim \mathcal N(\hat y(x_t), 1/\tau), \qquad
    w_i \sim \mathcal N(\nu^w_g, 1/\lambda^w_g), \qquad
    v_{if} \sim \mathcal N(\nu^v_{gf}, 1/\lambda^v_{gf}) \quad (i \text{ in group } g),

with a Normal-Gamma hyperprior on each :math:`(\nu, \lambda)` pair (:data:`FM_HYPER`: the
precisions :math:`\lambda` Gamma(1/2, rate 1/2) a priori, myFM's default), a Gamma prior on
:math:`\tau` (:data:`cflib.conditionals.HYPER`), and a flat prior on :math:`w_0`. Every group has its own prior means and precisions, drawn from the data: there
is nothing to tune but k and the number of sweeps.

One sweep draws :math:`\tau`, then :math:`w_0`, then the groups block by block (the user
block's groups, then the movie block's, then the date block's), each group's hyperparameters
(:func:`cflib.conditionals.sample_hyper` on the rows :math:`(w_i, v_i)` of the group) just before
its rows. Given everything else, :math:`\hat y` is linear in one feature's row
:math:`\theta_i = (w_i, v_i)`, so the row's conditional is Gaussian: the ALS system of
:mod:`cflib.fm_als` times :math:`\tau`, plus the prior's precision and mean.

**Rendle's relational trick** makes a sweep cheap. A feature of the user block is on for every
rating of the users whose row holds it, so its system needs only per-user sums over the
ratings (count, :math:`\sum e`, :math:`\sum s`, :math:`\sum e s`, :math:`\sum s s^T`), made in
one pass over the ratings per block (:func:`cflib.fm_draws.row_sums`); after each draw the sums
of the rows it touches are updated in closed form, and the ratings' errors and sums are brought
up to date once per block (:func:`cflib.fm_draws.apply_shifts`).

* **One-hot groups**: the group's features share no block row, so all are drawn at once.
* **Weighted groups** (genres, ``movie_raters``, ``user_rated``): features sharing a block row
  depend on each other, so their rows are drawn one feature after the other.

:mod:`cflib.fm_draws` holds the draws (in numpy) and their compiled twin (:mod:`cflib.fm_compiled`,
used when numba is installed; the same draws up to round-off): on ml-100k with myFM's feature
set a sweep takes about 35 ms compiled and 0.4-0.6 s in numpy (``benchmarks/README.md``).

Predictions average the samples kept after ``burn_in``; ``predict_std`` adds their spread and
the noise, :math:`\sigma^2 = \overline{1/\tau} + \operatorname{Var}_s \hat y^{(s)}`, as
:class:`cflib.posterior.GibbsModel` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arguments import check_index_pair
from .conditionals import sample_hyper, sample_tau
from .features import GROUP_SIDE
from .fm import FM_PIECES, FMModel, fm_init, fm_options, predict_relational, terms
from .fm_base import OnFeatureBlocks
from .fm_draws import apply_shifts, draw_group, row_sums
from .history import Diverged
from .loop import Integer, Method, Param
from .posterior import GibbsHistory, kept_samples, record_tau
from .ratings import RATING_SCALE

__all__ = ["FMPosterior", "METHOD_MCMC", "BURN_IN", "FM_HYPER"]

#: Default burn-in (sweeps discarded), when ``n_iters >= 20``: that of :data:`cflib.gibbs.BURN_IN`.
BURN_IN = 10
#: The hyperprior of every group's (nu, lam) (:func:`cflib.conditionals.sample_hyper`): myFM's
#: alpha_0 = beta_0 = 1 in cflib's parameterization. Chosen on validation splits (10 % of u1.base,
#: u2.base, u3.base; ``benchmarks/README.md``): against cflib.gibbs's a0 = r0 = 1 it lowered the
#: validation RMSE of the myFM feature set by 0.0018 to 0.0051 in each of five runs.
FM_HYPER = dict(a0=0.5, r0=0.5, kappa0=1.0)


@dataclass(eq=False)
class FMPosterior(OnFeatureBlocks):
    """Posterior samples of a Bayesian FM (the result of ``fit(method="fm_mcmc")``).

    ``scale``, ``rating_scale``, ``n_movies``, ``n_users``: :class:`cflib.fm_base.OnFeatureBlocks`.

    Attributes
    ----------
    w0 : ndarray of shape (n_samples,)
    w : ndarray of shape (n_samples, p)
    V : ndarray of shape (n_samples, p, k)
    tau : ndarray of shape (n_samples,)
    space : FeatureSpace
    params : dict
    scale : (float, float)
    """

    w0: np.ndarray
    w: np.ndarray
    V: np.ndarray
    tau: np.ndarray
    space: object
    params: dict = field(default_factory=dict)
    scale: tuple = RATING_SCALE

    @property
    def n_samples(self) -> int:
        return int(self.w0.size)

    @property
    def k(self) -> int:
        return int(self.V.shape[2])

    def sample_predictions(self, movies, users, *, timestamps=None) -> np.ndarray:
        """Each kept sample's prediction, shape (n_samples, n), unclipped (dates as :meth:`cflib.fm.FMModel.predict`)."""
        movies, users = check_index_pair(movies, users, self.n_movies, self.n_users)
        idx = self.space.indices(movies, users, timestamps)
        return np.array([predict_relational(self.space, idx, self.w0[s], self.w[s], self.V[s], self._squares)
                         for s in range(self.n_samples)]).reshape(self.n_samples, movies.size)

    def predict(self, movies, users, *, timestamps=None, clip: bool = True) -> np.ndarray:
        """Posterior-mean prediction, shape (n,), clipped to :attr:`scale` unless ``clip=False``."""
        pred = self.sample_predictions(movies, users, timestamps=timestamps).mean(axis=0)
        return np.clip(pred, *self.scale) if clip else pred

    def predict_std(self, movies, users, *, timestamps=None) -> np.ndarray:
        r"""Predictive standard deviation :math:`\sqrt{\overline{1/\tau} + \operatorname{Var}_s \hat y^{(s)}}`, shape (n,)."""
        samples = self.sample_predictions(movies, users, timestamps=timestamps)
        return np.sqrt(np.mean(1.0 / self.tau) + samples.var(axis=0))

    def predict_all(self, *, clip: bool = True) -> np.ndarray:
        """The posterior mean of :meth:`cflib.fm.FMModel.predict_all` (latest date bucket), shape (n_movies, n_users)."""
        total = np.zeros((self.n_movies, self.n_users))
        for s in range(self.n_samples):
            total += FMModel(self.w0[s], self.w[s], self.V[s], self.space).predict_all(clip=False)
        total /= self.n_samples
        return np.clip(total, *self.scale, out=total) if clip else total

    def __repr__(self):
        return f"FMPosterior(k={self.k}, n_samples={self.n_samples}, groups={self.space.groups})"


# ------------------------------------------------------------------ the sampler
def _init(train, validation, seed, o):
    state = fm_init(train, validation, seed, o)
    space = state.space
    state.sides = []  # (side, its row of each rating, ratings per row, its groups), in the order of a sweep
    for side in ("user", "movie", "date"):
        groups = []
        for g in (g for g in space.groups if GROUP_SIDE[g] == side):
            Bc = space.blocks[side][:, space.group_slices[g]].tocsc()
            Bc.sort_indices()
            groups.append(dict(name=g, cols=space.group_slices[g], one_hot=space.one_hot[g], Bc=Bc))
        if groups:
            r = state.idx[side]
            state.sides.append((side, r, np.bincount(r, minlength=space.blocks[side].shape[0]).astype(float), groups))
    w, V = state.params
    p, k = V.shape
    n_kept = o["n_iters"] - o["burn_in"]
    state.kept = dict(w0=np.empty(n_kept), w=np.empty((n_kept, p)), V=np.empty((n_kept, p, k)), tau=np.empty(n_kept))
    state.n_kept, state.sweep = 0, 0
    state.train_sum = np.zeros(state.y.size)
    state.v_sum = None if validation is None else np.zeros(validation.nnz)
    return state


def _draw_side(state, side, w, V, e, s, tau, rng):
    """Draw the groups of one block (user, movie or date) from its per-row sums (module docstring).

    Returns the groups' prior penalty :math:`\\sum_g \\lambda_g \\cdot \\|\\theta - \\nu_g\\|^2`; updates w, V, e, s.
    """
    _, r, N, groups = side
    k = V.shape[1]
    E, S1, ES, SS = row_sums(r, N.size, e, s)
    A_e, B_e, D = np.zeros(N.size), np.zeros((N.size, k)), np.zeros((N.size, k))
    penalty = 0.0
    for grp in groups:
        cols, Bc = grp["cols"], grp["Bc"]
        nu, lam = sample_hyper(np.column_stack([w[cols], V[cols]]), rng, **FM_HYPER)
        Z = rng.standard_normal((Bc.shape[1], k + 1))
        draw_group(grp["one_hot"], Bc.indptr, Bc.indices, Bc.data, N, E, S1, ES, SS, A_e, B_e, D, w[cols], V[cols],
                   tau, nu, lam, Z)
        penalty += float(lam @ ((np.column_stack([w[cols], V[cols]]) - nu) ** 2).sum(axis=0))
    apply_shifts(r, e, s, A_e, B_e, D)
    return penalty


def _step(state):
    """One sweep (module docstring); returns J of the sample (penalties lam/tau) and the SSE of the running mean."""
    o, rng = state.options, state.rng
    w, V = (a.copy() for a in state.params)
    y = state.y
    if not hasattr(state, "s"):
        lin, state.s, q = terms(state.space, state.idx, w, V, state.squares)
        state.pred = state.w0 + lin + 0.5 * (state.s * state.s - q).sum(axis=1)
    pred, s = state.pred.copy(), state.s.copy()
    penalty = 0.0
    try:
        tau = sample_tau(float((pred - y) @ (pred - y)), y.size, rng)
        shift = -np.mean(pred - y) + rng.standard_normal() / np.sqrt(tau * y.size)  # w0 | rest, flat prior
        state.w0 += shift
        pred += shift
        e = pred - y
        for side in state.sides:
            penalty += _draw_side(state, side, w, V, e, s, tau, rng)
        pred = e + y
    except (np.linalg.LinAlgError, ValueError):
        raise Diverged from None
    if not (np.isfinite(pred).all() and np.isfinite(V).all()):
        raise Diverged
    state.params, state.pred, state.s, state.tau = [w, V], pred, s, tau
    mean = pred
    if state.sweep >= o["burn_in"]:
        i = state.n_kept
        state.kept["w0"][i], state.kept["w"][i], state.kept["V"][i], state.kept["tau"][i] = state.w0, w, V, tau
        state.n_kept += 1
        state.train_sum += pred
        mean = state.train_sum / state.n_kept
        if state.v_sum is not None:
            state.v_sum += predict_relational(state.space, state.val_idx, state.w0, w, V, state.squares)
    state.sweep += 1
    resid = pred - y
    dm = np.clip(mean, *getattr(state.train, "scale", RATING_SCALE)) - y
    return 0.5 * float(resid @ resid) + 0.5 * penalty / tau, float(dm @ dm)


def _predict(state, movies, users):
    """The running posterior mean at the validation ratings (the current sample during burn-in)."""
    w, V = state.params
    if state.n_kept and state.validation is not None and movies is state.validation.movies:
        return state.v_sum / state.n_kept
    idx = state.val_idx if state.validation is not None and movies is state.validation.movies \
        else state.space.indices(movies, users)
    return predict_relational(state.space, idx, state.w0, w, V, state.squares)


def _finish(state, params, history):
    kept = kept_samples(state, history)
    return FMPosterior(**kept, space=state.space, params=params, scale=getattr(state.train, "scale", RATING_SCALE))


def _memory(train, o):
    k, kept = o["k"], o["n_iters"] - o["burn_in"]
    p = train.n_movies * 2 + train.n_users * 2 + 200
    floats = kept * p * (k + 1) + train.nnz * (k + 1) * 4
    return floats, f"k={k} with {kept} kept sweeps", "the kept samples", "choose a smaller k, fewer n_iters or a larger burn_in"


#: ``fit(train, method="fm_mcmc", features="all")``: nothing to tune but k and the sweeps.
_OPTIONS = fm_options(200, burn_in=Param(lambda o: min(BURN_IN, o["n_iters"] // 2), Integer(0, lambda o: o["n_iters"] - 1)))
del _OPTIONS["lam"], _OPTIONS["lam_bias"]
METHOD_MCMC = Method(
    "fm_mcmc", "factorization machine (MCMC)", step=_step,
    **{**FM_PIECES, "init": _init, "predict": _predict, "finish": _finish, "memory": _memory, "cost": None,
       "sse": None}, record=record_tau, history=GibbsHistory, one_blas_thread=True,
    hint="the sampler's draws became non-finite; check the ratings", options=_OPTIONS)
