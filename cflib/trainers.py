r"""The registry of training methods: one entry per method, read by ``fit`` and the explorer.

Each :class:`Method` holds the name, a label, its defaults, the limits the
explorer (:class:`cflib.widgets.TrainingExplorer`) uses, and how to train:

* a **block runner** (the built-in methods), in the style of scikit-learn's
  ``_fit_<solver>``: every runner has the one signature ::

      runner(objective, blocks, record, options) -> blocks

  ``objective`` is a :class:`cflib.blocks.BlockObjective` (J and its gradient
  over the parameter blocks ``[X, Theta]`` or ``[X, Theta, b, b_u]``),
  ``blocks`` the initialization, ``record(blocks, J)`` must be called after
  every iteration (it fills the History and raises
  :class:`cflib.history.Diverged` on a non-finite cost or block; a runner may
  raise it itself), and ``options`` a :class:`Options` (``n_iters``, ``lr``,
  ``momentum``, ``train``). ``fit`` builds the objective, the initialization and the
  :class:`cflib.train.MFModel`, and reports divergence the same way for every runner.
* or a **whole-model fit** (methods with their own model class or objective):
  ``fit_model(train, *, k, lam, n_iters, validation, seed, **extra) ->
  (model, history)``. ``fit`` validates the shared arguments, calls it, and
  applies the same divergence rule to the history it returns.

Registering a method
--------------------
Adding a method is one entry plus its function; ``fit(method=name)`` and (unless
``explorer=False``) the explorer's optimizer buttons pick it up.

*A runner adapter* suits a method that minimizes the same J over the same
blocks (either built-in kind), e.g. a stochastic gradient method::

    def _fit_sgd(objective, blocks, record, options):
        for _ in range(options.n_iters):
            ...                                   # update the blocks (new arrays)
            record(blocks, objective.cost(blocks))
        return blocks

    register(Method("sgd", "SGD", runner=_fit_sgd, defaults={"n_iters": 20, "lr": 0.01},
                    uses_lr=True, max_iters=40, start_iters=20))

*A whole-model fit entry* suits a method with its own model class or its own
objective; the function is used as written. ``fit`` validates ``train``,
``k``, ``lam``, ``n_iters``, ``seed`` and ``validation``, then passes only
the keywords the function names (from ``k, lam, n_iters, validation, seed,
kind, lr, momentum, lam_bias, init_scale, progress``, plus any extra keyword
given to ``fit`` that the function takes, such as ``alpha``). It may return
``(model, History)`` or the model alone; divergence is then judged by the same
rule (:func:`cflib.history.history_diverged`, and non-finite ``model.X`` /
``model.Theta``). An argument the caller set that the function does not
take is a ``TypeError`` naming it, never dropped silently; ``aliases`` maps a
``fit`` argument to the function's own name for it. The methods of notebooks
10-12 are entries of this kind, at the end of this module::

    register(Method("als_wr", "ALS-WR (Spark MLlib's objective)", fit_model="als_wr:fit_als_wr",
                    aliases={"lam": "reg_param"}, defaults={"n_iters": 20, "k": 10}, kinds=("plain",),
                    explorer=False))

``fit_model`` given as ``"module:function"`` is imported on first use, so a
module that itself imports :mod:`cflib.train` can be registered here without an
import cycle. ``fit(train, method="implicit_als", alpha=2.0)`` then returns the
method's own model (``predict_all(clip=False)``; the Gibbs model also has
``predict_std``). ``kinds`` lists the model kinds a method accepts (the first
is the default of ``fit``); the explorer's model toggle offers
``"normalized"`` and ``"biased"``, so a method with other kinds is registered
with ``explorer=False``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import importlib
import inspect
from contextlib import nullcontext

import warnings

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from .als import RowSystems
from .blocks import all_finite
from .history import Diverged, History

__all__ = ["Method", "Options", "METHODS", "register", "get_method", "explorer_methods", "LR_VALUES",
           "LAM_RANGE", "blas_limit", "warn_diverged", "AUTO_ONE_THREAD_WORK"]

#: Step sizes the explorer's step-size control offers (gradient methods): the
#: 1-2-5 steps of each decade, and finer steps between 0.01 and 0.03, where
#: gradient descent on ml-100k reaches its edge of stability (notebook 08,
#: exercise 2: 0.02 survives, 0.025 diverges). 0.002, 0.005 and 0.03 are the
#: values the experiments of notebooks 05 and 08 name.
LR_VALUES = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 1.5e-2, 2e-2, 2.5e-2, 3e-2, 5e-2, 1e-1)
#: The explorer's lam slider: 10**-2 .. 10**2.5 in steps of 10**0.25.
LAM_RANGE = dict(min=-2.0, max=2.5, step=0.25)


#: With ``threads=None``, ALS always runs with one BLAS thread (its BLAS calls are
#: many small products and solves: two OpenBLAS threads made it up to 10 times
#: slower at k=50 on ml-100k), and the gradient methods do when nnz * k is below
#: this (two threads made L-BFGS 1.3 to 5 times slower on ml-100k, k=5..50, on a
#: 2-core machine; see ``benchmarks/results_training.md``). Larger problems keep
#: the BLAS default; that threshold is a guess, not a measurement.
AUTO_ONE_THREAD_WORK = 50_000_000



@dataclass(frozen=True)
class Options:
    """What a block runner needs besides the objective: the resolved ``fit`` arguments."""

    n_iters: int
    lr: float | None = None
    momentum: float = 0.0
    train: object = None


@dataclass(frozen=True)
class Method:
    """One training method.

    Attributes
    ----------
    name : str
        ``fit(method=name)``.
    label : str
        Shown on the explorer's button.
    runner : callable, optional
        ``runner(objective, blocks, record, options) -> blocks`` (see the module docstring).
    fit_model : callable or str, optional
        ``fit_model(train, *, k, lam, n_iters, validation, seed, **extra) -> (model, history)``;
        exactly one of ``runner`` and ``fit_model`` is given. A string
        ``"module:function"`` names a function of a cflib module, imported on
        first use (so a method whose module imports :mod:`cflib.train` can be
        registered here without an import cycle).
    aliases : dict
        ``fit`` argument -> the function's own name for it (``{"lam": "reg_param"}``).
    defaults : dict
        ``n_iters`` (required) and, for step methods, ``lr``.
    uses_lr : bool
        The method takes a step size (the explorer enables its control).
    kinds : tuple of str
        Model kinds it trains; the first is the default.
    max_iters, start_iters : int
        The explorer's iterations slider: its upper end (one retrain on
        ml-100k u1 stays around a second) and the starting value.
    explorer : bool
        Offered by the explorer.
    one_blas_thread : bool
        Always train with one BLAS thread (many small products and solves).
    hint : str
        Advice in the divergence warning; formatted with the ``fit`` arguments
        (``{lr}``, ``{lr_smaller}``, ``{init_scale}``, ``{lam}``).
    """

    name: str
    label: str
    runner: Callable | None = None
    fit_model: Callable | str | None = None
    aliases: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)
    uses_lr: bool = False
    kinds: tuple = ("biased", "normalized")
    max_iters: int = 15
    start_iters: int = 10
    explorer: bool = True
    one_blas_thread: bool = False
    hint: str = "try a smaller init_scale (now {init_scale:g}) or a larger lam (now {lam:g})"

    @property
    def function(self) -> Callable:
        """``fit_model`` as a callable (a ``"module:function"`` string is imported here)."""
        if isinstance(self.fit_model, str):
            module, _, name = self.fit_model.partition(":")
            return getattr(importlib.import_module(f"cflib.{module}"), name)
        return self.fit_model

    def accepts(self, names) -> bool:
        """True when ``fit_model`` takes every keyword in ``names`` (or has ``**kwargs``)."""
        params = inspect.signature(self.function).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return True
        return set(names) <= {p.name for p in params}

    def call_fit_model(self, train, arguments):
        """Call ``fit_model(train, **arguments)`` with the arguments it takes; return ``(model, History)``.

        ``fit`` offers every shared argument (``k``, ``lam``, ``n_iters``,
        ``validation``, ``seed``, ``kind``, ``lr``, ``momentum``, ``lam_bias``,
        ``init_scale``, ``progress``) plus the method's own keywords; a function
        that does not name one (and has no ``**kwargs``) is not given it. A
        function that returns a model alone gets an empty History.
        """
        function = self.function
        arguments = {self.aliases.get(name, name): value for name, value in arguments.items()}
        params = inspect.signature(function).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            arguments = {name: value for name, value in arguments.items() if name in params}
        out = function(train, **arguments)
        if isinstance(out, tuple) and len(out) == 2:
            return out
        return out, History(method=self.name, kind=str(arguments.get("kind", "")))

    def __post_init__(self):
        if (self.runner is None) == (self.fit_model is None):
            raise ValueError(f"method {self.name!r}: give exactly one of runner and fit_model")
        if "n_iters" not in self.defaults:
            raise ValueError(f"method {self.name!r}: defaults must include n_iters")


#: The registry, in the order the explorer shows the methods.
METHODS: dict = {}


def register(method: Method) -> Method:
    """Add (or replace) a method in the registry and return it."""
    if not isinstance(method, Method):
        raise TypeError(f"register() takes a cflib.trainers.Method, got {type(method).__name__}")
    METHODS[method.name] = method
    return method


def get_method(name) -> Method:
    """The registry entry of ``name``, or a ValueError listing the methods."""
    if name not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {name!r}")
    return METHODS[name]


def explorer_methods() -> tuple:
    """Names of the methods the explorer offers, in registry order."""
    return tuple(name for name, m in METHODS.items() if m.explorer)


def blas_limit(threads, entry, work):
    """Context manager pinning BLAS threads: ``threads`` if given, else 1 for ALS
    (``entry.one_blas_thread``) and for problems with ``work = nnz * k`` below ``AUTO_ONE_THREAD_WORK``."""
    if threads is None:
        one = entry.one_blas_thread or work < AUTO_ONE_THREAD_WORK
        return threadpool_limits(limits=1, user_api="blas") if one else nullcontext()
    if not isinstance(threads, (int, np.integer)) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be None (automatic) or an int >= 1, got {threads!r}")
    return threadpool_limits(limits=int(threads), user_api="blas")


class _Unset:
    """Stands for an option ``fit`` left to the method's own default, in a divergence hint."""

    def __format__(self, spec):
        return "the method's default"


def warn_diverged(entry, history, params):
    """The one divergence warning of ``fit``: which method, after how many iterations, and the entry's advice."""
    lr = params.get("lr")
    shown = {name: _Unset() if params.get(name) is None else params[name] for name in ("init_scale", "lam")}
    advice = entry.hint.format(lr=lr or 0.0, lr_smaller=(lr or 0.0) / 10, **shown)
    warnings.warn(f"{entry.name} diverged after {len(history)} iteration(s): the cost or the parameters "
                  f"became non-finite. {advice[0].upper() + advice[1:]}.", RuntimeWarning, stacklevel=4)


# ------------------------------------------------------------------ runners
def _fit_gd(objective, blocks, record, options):
    """Gradient descent (``options.momentum == 0``) or heavy-ball momentum with the fixed step ``lr``."""
    lr, momentum = options.lr, options.momentum
    velocity = [np.zeros_like(b) for b in blocks] if momentum else None
    J, grads = objective.cost_and_gradient(blocks)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(options.n_iters):
            if velocity is None:
                new = [b - lr * g for b, g in zip(blocks, grads)]
            else:
                velocity = [momentum * v - lr * g for v, g in zip(velocity, grads)]
                new = [b + v for b, v in zip(blocks, velocity)]
            if not all_finite(new):
                raise Diverged
            J_new, grads_new = objective.cost_and_gradient(new)
            if not np.isfinite(J_new) or not all_finite(grads_new):
                raise Diverged
            blocks, J, grads = new, J_new, grads_new
            record(blocks, J)
    return blocks


def _fit_momentum(objective, blocks, record, options):
    """Heavy-ball momentum: ``v <- momentum * v - lr * grad J(p)``, ``p <- p + v``."""
    return _fit_gd(objective, blocks, record, options)


def _fit_plain_gd(objective, blocks, record, options):
    """Gradient descent ``p <- p - lr * grad J(p)`` (the momentum option is ignored)."""
    return _fit_gd(objective, blocks, record, Options(options.n_iters, options.lr, 0.0, options.train))


def _fit_lbfgs(objective, blocks, record, options):
    """``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` on the flattened blocks."""
    n_iters = options.n_iters
    shapes = [b.shape for b in blocks]
    splits = np.cumsum([b.size for b in blocks])[:-1]

    def unpack(p):
        return [part.reshape(s) for part, s in zip(np.split(p, splits), shapes)]

    def fun(p):
        J, grads = objective.cost_and_gradient(unpack(p))
        return J, np.concatenate([g.ravel() for g in grads])

    def callback(intermediate_result):
        record(unpack(intermediate_result.x.copy()), intermediate_result.fun)

    p0 = np.concatenate([b.ravel() for b in blocks])
    if p0.size == 0:  # normalized model with k = 0: nothing to fit, already optimal
        record(blocks, objective.cost(blocks))
        return blocks
    with np.errstate(over="ignore", invalid="ignore"):
        res = minimize(fun, p0, jac=True, method="L-BFGS-B", callback=callback,
                       options={"maxiter": n_iters, "maxfun": 4 * n_iters + 20, "ftol": 1e-13, "gtol": 1e-9})
    return unpack(res.x)


def _fit_als(objective, blocks, record, options):
    """Alternating least squares: exact ridge solves of the movie side, then the user side (:mod:`cflib.als`)."""
    obj, train, n_iters = objective, options.train, options.n_iters
    kind, k = obj.kind, obj.k
    movie_side = RowSystems(train.movies, train.users, train.n_movies, train.n_users)
    user_side = RowSystems(train.users, train.movies, train.n_users, train.n_movies)
    # The shifted ratings (and the partner of each) in each side's grouped order.
    y_m, u_m = obj.shifted[movie_side.order], train.users[movie_side.order]
    y_u, m_u = obj.shifted[user_side.order], train.movies[user_side.order]
    if kind == "normalized":
        X, Theta = blocks
        for _ in range(n_iters):
            X = movie_side.solve(Theta, y_m, obj.lam, grouped=True)
            Theta, sse = user_side.solve(X, y_u, obj.lam, grouped=True, return_sse=True)
            record([X, Theta], 0.5 * sse + obj.penalty([X, Theta]))
        return [X, Theta]
    # Features and bias solved together: [x_i, b_i] . [theta_j, 1] for the movie
    # side, [theta_j, b_u] . [x_i, 1] for the user side.
    X, Theta, bm, bu = blocks
    pen = np.r_[np.full(k, obj.lam), obj.lam_bias]
    F_u = np.ones((train.n_users, k + 1))
    F_m = np.ones((train.n_movies, k + 1))
    for _ in range(n_iters):
        F_u[:, :k] = Theta
        W = movie_side.solve(F_u, y_m - bu[u_m], pen, grouped=True)
        X, bm = W[:, :k], W[:, k]
        F_m[:, :k] = X
        W, sse = user_side.solve(F_m, y_u - bm[m_u], pen, grouped=True, return_sse=True)
        Theta, bu = W[:, :k], W[:, k]
        record([X, Theta, bm, bu], 0.5 * sse + obj.penalty([X, Theta, bm, bu]))
    return [X, Theta, bm, bu]


_STEP_HINT = "the step lr={lr:g} is too large; try a smaller one (e.g. lr={lr_smaller:g})"

# Defaults were tuned on the ml-100k folds u1..u5 (benchmarks/results_training.md).
# lr: the largest round step that does not diverge for the biased model on
# ml-100k (4e-3 does); the normalized model tolerates about 3 times larger steps.
# max_iters: an ALS sweep costs about as much as 5-10 gradient steps, and ALS needs far fewer.
register(Method("gd", "gradient descent", runner=_fit_plain_gd, defaults={"n_iters": 300, "lr": 2e-3},
                uses_lr=True, max_iters=80, start_iters=60, hint=_STEP_HINT))
register(Method("momentum", "momentum", runner=_fit_momentum, defaults={"n_iters": 300, "lr": 5e-4},
                uses_lr=True, max_iters=80, start_iters=60, hint=_STEP_HINT))
register(Method("lbfgs", "L-BFGS", runner=_fit_lbfgs, defaults={"n_iters": 200}, max_iters=50, start_iters=40))
register(Method("als", "ALS", runner=_fit_als, defaults={"n_iters": 15}, max_iters=15, start_iters=10,
                one_blas_thread=True))

# Methods with their own model class or objective (notebooks 10-12): whole-model
# entries, imported on first use. Their defaults live in their own modules.
register(Method("implicit_als", "implicit ALS (confidence-weighted)", fit_model="implicit_als:fit_implicit_als",
                defaults={"n_iters": 15, "k": 20}, kinds=("implicit",), explorer=False, one_blas_thread=True,
                hint="try a larger lam"))
register(Method("gibbs", "Bayesian MF (Gibbs sampling)", fit_model="gibbs:fit_gibbs", aliases={"init_scale": "init_std"},
                defaults={"n_iters": 200, "k": 10}, kinds=("biased",), explorer=False, one_blas_thread=True,
                hint="the sampler's draws became non-finite; check the ratings"))
register(Method("als_wr", "ALS-WR (Spark MLlib's objective)", fit_model="als_wr:fit_als_wr",
                aliases={"lam": "reg_param"}, defaults={"n_iters": 20, "k": 10}, kinds=("plain",),
                explorer=False, one_blas_thread=True, hint="try a smaller init_scale or a larger lam"))
