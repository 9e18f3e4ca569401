r"""The registry of training methods, and the steps of the four methods of notebooks 05 and 08.

Every method is one :class:`cflib.loop.Method` entry, trained by the one loop
:func:`cflib.loop.run` (through :func:`cflib.train.fit`); the explorer
(:class:`cflib.widgets.TrainingExplorer`) offers the entries with ``explorer=True``.

A method on the course's model (mean-normalized or biased J, :mod:`cflib.blocks`)
is its step plus one entry; everything else comes from :mod:`cflib.blocks`::

    def _biases_step(state):
        # gradient descent on the biases only
        J, grads = state.objective.cost_and_gradient(state.params)
        X, Theta, b, b_u = state.params
        lr = state.options["lr"]
        state.params = [X, Theta, b - lr * grads[2], b_u - lr * grads[3]]

    register(Method("biases", "biases only", step=_biases_step, kinds=("biased",),
                    options=blocks.options(n_iters=50, lr=Param(0.002, Real(0.0, closed="right"))),
                    **blocks.PIECES))

A method with its own model (notebooks 10-12) writes ``init``, ``step``,
``cost``, ``predict`` and ``finish`` in its own module (:mod:`cflib.implicit_als`,
:mod:`cflib.gibbs`, :mod:`cflib.als_wr`) and is registered here by reference.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import minimize

from . import als_wr, blocks, bpr, ease, fm_als, fm_mcmc, fm_sgd, gibbs, implicit_als
from .als import RowSystems
from .history import Diverged
from .loop import AUTO_ONE_THREAD_WORK, Method, Param, Real, all_finite  # noqa: F401 (re-exported)

__all__ = ["Method", "Param", "METHODS", "register", "get_method", "explorer_methods", "explorer_iterations",
           "iteration_seconds", "LR_VALUES", "LAM_RANGE", "MOVE_SECONDS", "AUTO_ONE_THREAD_WORK"]

#: Step sizes the explorer's step-size control offers (gradient methods): the
#: 1-2-5 steps of each decade, and finer steps between 0.01 and 0.03, where
#: gradient descent on ml-100k reaches its edge of stability (notebook 08,
#: exercise 2: 0.02 survives, 0.025 diverges). 0.002, 0.005 and 0.03 are the
#: values the experiments of notebooks 05 and 08 name.
LR_VALUES = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 1.5e-2, 2e-2, 2.5e-2, 3e-2, 5e-2, 1e-1)
#: The explorer's lam slider: 10**-2 .. 10**2.5 in steps of 10**0.25.
LAM_RANGE = dict(min=-2.0, max=2.5, step=0.25)

#: CPU seconds one move of the explorer may train for: its iterations slider stops
#: where a retrain would take longer (:func:`explorer_iterations`), so that every
#: setting answers within about 0.3 s (issue 23; benchmarks/bench_widgets.py).
MOVE_SECONDS = 0.25
#: The explorer offers at least this many iterations, however large the data.
MIN_EXPLORER_ITERS = 2

#: The registry, in the order the explorer shows the methods.
METHODS: dict = {}


def register(method: Method) -> Method:
    """Add (or replace) a method in the registry and return it."""
    if not isinstance(method, Method):
        raise TypeError(f"register() takes a cflib.loop.Method, got {type(method).__name__}")
    METHODS[method.name] = method
    return method


def get_method(name) -> Method:
    """The registry entry of ``name``, or an error listing the methods."""
    if not isinstance(name, str):
        raise TypeError(f"method must be a method's name (a str), one of {tuple(METHODS)}, "
                        f"got {type(name).__name__} {name!r}")
    if name not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {name!r}")
    return METHODS[name]


def explorer_methods() -> tuple:
    """Names of the methods the explorer offers, in registry order."""
    return tuple(name for name, m in METHODS.items() if m.explorer)


def iteration_seconds(name, k: int, nnz: int) -> float:
    r"""Estimated CPU seconds of one iteration of method ``name`` at ``k`` on ``nnz`` training ratings.

    From the entry's ``iter_ms`` = (:math:`t_{10}`, :math:`t_{30}`), the milliseconds per
    100,000 ratings measured at k = 10 and k = 30: a power law in k + 1 through both,

    .. math::

        t(k) = t_{10} \left(\frac{t_{30}}{t_{10}}\right)^{\log((k+1)/11) / \log(31/11)}
               \cdot \frac{n_{nz}}{100{,}000} \cdot 10^{-3}

    (on ml-100k an ALS sweep grows about as :math:`(k+1)^{1.5}`, its Gram matrices and
    solves; a gradient step about as :math:`(k+1)^{0.7}`, its gathers). 0.0 for an entry
    without ``iter_ms``.
    """
    entry = get_method(name)
    if entry.iter_ms is None:
        return 0.0
    t10, t30 = entry.iter_ms
    power = np.log(t30 / t10) / np.log(31 / 11)
    return float(t10 * ((k + 1) / 11) ** power * nnz / 1e5 * 1e-3)


def explorer_iterations(name, k: int, nnz: int, *, seconds=MOVE_SECONDS, cap=None) -> int:
    """The most iterations of ``name`` the explorer offers at ``k``: what trains within ``seconds``.

    Parameters
    ----------
    name : str
        A method of the registry.
    k : int
        Number of features.
    nnz : int
        Number of training ratings.
    seconds : float or None, default ``MOVE_SECONDS``
        CPU seconds one move may train for (:func:`iteration_seconds` per iteration);
        None: no budget, only ``cap``.
    cap : int, optional
        Upper limit whatever the budget; default the entry's ``max_iters``.

    Returns
    -------
    int
        ``min(cap, floor(seconds / iteration_seconds))``, and at least
        ``min(cap, MIN_EXPLORER_ITERS)``.
    """
    cap = get_method(name).max_iters if cap is None else int(cap)
    per = iteration_seconds(name, k, nnz)
    if seconds is None or per <= 0.0:
        return cap
    return max(min(cap, MIN_EXPLORER_ITERS), min(cap, int(seconds / per)))


# ------------------------------------------------------------------ steps
def _gd_step(state):
    """Gradient descent ``p <- p - lr * grad J(p)``; with ``momentum`` > 0, heavy ball:
    ``v <- momentum * v - lr * grad J(p)``, ``p <- p + v``. J and the gradient at the
    new point are kept for the next step (one evaluation per step)."""
    obj, lr, momentum = state.objective, state.options["lr"], state.options.get("momentum", 0.0)
    if not hasattr(state, "grads"):
        state.J, state.grads = obj.cost_and_gradient(state.params)
        state.velocity = [np.zeros_like(b) for b in state.params] if momentum else None
    if state.velocity is None:
        new = [b - lr * g for b, g in zip(state.params, state.grads)]
    else:
        state.velocity = [momentum * v - lr * g for v, g in zip(state.velocity, state.grads)]
        new = [b + v for b, v in zip(state.params, state.velocity)]
    if not all_finite(new):
        raise Diverged
    J, grads = obj.cost_and_gradient(new)
    if not np.isfinite(J) or not all_finite(grads):
        raise Diverged
    state.params, state.J, state.grads = new, J, grads
    return J, None


def _lbfgs_step(state):
    """L-BFGS through scipy's driver, behind a step.

    ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` owns its iteration
    (its line search and its memory of past gradients), so it cannot be resumed
    one iteration at a time. The first step runs it for ``n_iters`` iterations,
    keeping the iterate and J that its callback reports after every iteration
    (and the time it was reached); each step then hands out the next one.
    When scipy stops early (converged) the steps end with ``StopIteration``;
    when a trial point overflowed (:class:`~cflib.history.Diverged` from the
    objective), they end with ``Diverged`` after the iterates reached before.
    """
    if not hasattr(state, "iterates"):
        state.iterates, state.failed = [], False
        blocks_ = state.params
        shapes = [b.shape for b in blocks_]
        splits = np.cumsum([b.size for b in blocks_])[:-1]

        def unpack(p):
            return [part.reshape(s) for part, s in zip(np.split(p, splits), shapes)]

        def fun(p):
            J, grads = state.objective.cost_and_gradient(unpack(p))
            return J, np.concatenate([g.ravel() for g in grads])

        def callback(intermediate_result):
            state.iterates.append((unpack(intermediate_result.x.copy()), intermediate_result.fun,
                                   time.perf_counter()))

        p0 = np.concatenate([b.ravel() for b in blocks_])
        n = state.options["n_iters"]
        if p0.size == 0:  # normalized model with k = 0: nothing to fit, already optimal
            state.iterates.append((blocks_, state.objective.cost(blocks_), time.perf_counter()))
        else:
            try:
                minimize(fun, p0, jac=True, method="L-BFGS-B", callback=callback,
                         options={"maxiter": n, "maxfun": 4 * n + 20, "ftol": 1e-13, "gtol": 1e-9})
            except Diverged:
                state.failed = True
        state.iterates.reverse()
    if not state.iterates:
        if state.failed:
            raise Diverged
        raise StopIteration
    state.params, J, state.reached = state.iterates.pop()
    return J, None


def _als_init(train, validation, seed, options):
    """:func:`cflib.blocks.init`, plus both sides' row systems and the shifted ratings in their grouped order."""
    state = blocks.init(train, validation, seed, options)
    state.movie_side = RowSystems(train.movies, train.users, train.n_movies, train.n_users)
    state.user_side = RowSystems(train.users, train.movies, train.n_users, train.n_movies)
    shifted = state.objective.shifted
    state.y_m, state.u_m = shifted[state.movie_side.order], train.users[state.movie_side.order]
    state.y_u, state.m_u = shifted[state.user_side.order], train.movies[state.user_side.order]
    return state


def _als_step(state):
    """One ALS sweep: exact ridge solves of the movie side, then the user side (:mod:`cflib.als`).

    For the biased kind, features and bias are solved together: ``[x_i, b_i] . [theta_j, 1]``
    for the movie side, ``[theta_j, b_u] . [x_i, 1]`` for the user side.
    """
    obj, s = state.objective, state
    if obj.kind == "normalized":
        X = s.movie_side.solve(s.params[1], s.y_m, obj.lam, grouped=True)
        Theta, sse = s.user_side.solve(X, s.y_u, obj.lam, grouped=True, return_sse=True)
        s.params = [X, Theta]
        return 0.5 * sse + obj.penalty(s.params), None
    k = obj.k
    X, Theta, bm, bu = s.params
    pen = np.r_[np.full(k, obj.lam), obj.lam_bias]
    F_u = np.ones((Theta.shape[0], k + 1))
    F_u[:, :k] = Theta
    W = s.movie_side.solve(F_u, s.y_m - bu[s.u_m], pen, grouped=True)
    X, bm = W[:, :k], W[:, k]
    F_m = np.ones((X.shape[0], k + 1))
    F_m[:, :k] = X
    W, sse = s.user_side.solve(F_m, s.y_u - bm[s.m_u], pen, grouped=True, return_sse=True)
    s.params = [X, W[:, :k], bm, W[:, k]]
    return 0.5 * sse + obj.penalty(s.params), None


# ------------------------------------------------------------------ the entries
_STEP = "the step lr={lr:g} is too large; try a smaller one (e.g. lr={lr_smaller:g})"
_INIT = "try a smaller init_scale (now {init_scale:g}) or a larger lam (now {lam:g})"


def _lr(default):
    return Param(default, Real(0.0, closed="right"))


# Defaults were tuned on the ml-100k folds u1..u5 (benchmarks/results_training.md).
# lr: the largest round step that does not diverge for the biased model on
# ml-100k (4e-3 does); the normalized model tolerates about 3 times larger steps.
# max_iters: an ALS sweep costs about as much as 5-10 gradient steps, and ALS needs far fewer.
# iter_ms: the largest of four runs of benchmarks/bench_widgets.py --calibrate (benchmarks/README.md).
register(Method("gd", "gradient descent", step=_gd_step, options=blocks.options(300, lr=_lr(2e-3)),
                **blocks.PIECES, explorer=True, max_iters=80, start_iters=60, iter_ms=(3.0, 6.0), hint=_STEP))
register(Method("momentum", "momentum", step=_gd_step,
                options=blocks.options(300, lr=_lr(5e-4), momentum=Param(0.9, Real(0.0, 1.0, closed="left"))),
                **blocks.PIECES, explorer=True, max_iters=80, start_iters=60, iter_ms=(3.0, 6.1), hint=_STEP))
register(Method("lbfgs", "L-BFGS", step=_lbfgs_step, options=blocks.options(200), **blocks.PIECES,
                explorer=True, max_iters=50, start_iters=40, iter_ms=(6.4, 14.2), hint=_INIT))
register(Method("als", "ALS", step=_als_step, options=blocks.options(15), **{**blocks.PIECES, "init": _als_init},
                explorer=True, one_blas_thread=True, max_iters=15, start_iters=10, iter_ms=(11.6, 56.3),
                hint=_INIT))
# Methods with their own model (notebooks 10-12): entries of their own modules.
register(implicit_als.METHOD)
register(gibbs.METHOD)
register(als_wr.METHOD)
register(ease.METHOD)
register(bpr.METHOD)
register(fm_sgd.METHOD_SGD)
register(fm_als.METHOD_ALS)
register(fm_mcmc.METHOD_MCMC)
