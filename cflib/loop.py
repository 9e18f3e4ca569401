r"""The one training loop of cflib: a method is an entry that supplies its step.

Every method (``gd``, ``momentum``, ``lbfgs``, ``als``, ``implicit_als``,
``gibbs``, ``als_wr`` and any method registered later) is trained by
:func:`run`, as LensKit's trainer loop calls each model's ``train_epoch``.
The loop, once for every method:

1. checks ``train`` and ``validation`` (the same rules and messages for all),
   and the options against the method's declared constraints (an option the
   method does not take is a ``TypeError`` naming it, never dropped);
2. applies the memory guard (:data:`cflib.ratings.DENSE_LIMIT_BYTES`);
3. pins the BLAS threads and opens the progress bar;
4. calls the method's ``step`` up to ``n_iters`` times;
5. records the :class:`cflib.history.History`: ``cost`` (J), ``train_rmse``
   :math:`\sqrt{\mathrm{SSE}/n_{nz}}` from the step's sum of squared errors,
   ``val_rmse`` of the method's predictions at the validation ratings clipped
   to 1..5 (one rule), ``time``;
6. applies the one divergence rule: a non-finite cost or parameter (or a step
   raising :class:`cflib.history.Diverged`) stops training with a
   ``RuntimeWarning``, sets ``history.diverged`` and keeps the last finite
   parameters;
7. returns ``(model, history)`` from the method's ``finish``.

A method is one :class:`Method` entry (see :mod:`cflib.trainers` for the
registry and the README's "Where to change what"): its options with defaults
and constraints (:class:`Param`), and five functions, of which only ``step``
is new for a method on the course's model (:mod:`cflib.blocks` supplies the
others):

``init(train, validation, seed, options) -> State``
    the initial parameters in ``state.params`` (a list of arrays);
``step(state) -> None or (cost, sse)``
    one sweep or iteration: put *new* arrays in ``state.params`` (never
    modify them in place: the loop keeps the last finite ones); return J and
    the training sum of squared errors when it has them for free (``None``
    for either lets the loop ask ``cost`` and ``sse``); raise
    :class:`~cflib.history.Diverged`, or ``StopIteration`` when done early;
``cost(state) -> float or None`` and ``sse(state, cost) -> float or None``
    J at ``state.params`` (also the initial cost) and the training SSE;
``predict(state, movies, users) -> ndarray``
    unclipped predicted ratings (``None`` for a model that does not predict ratings);
``finish(state, params, history) -> model``
    the model object; ``params`` are the arguments actually used.
"""

from __future__ import annotations

import numbers
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

import numpy as np
from threadpoolctl import ThreadpoolController

from .arguments import check_int, check_scalar
from .history import Diverged, History
from .ratings import DENSE_LIMIT_BYTES, RATING_SCALE

__all__ = ["Method", "Param", "State", "run", "check_ratings", "clipped_rmse", "all_finite", "Real",
           "Integer", "OneOf", "blas_limit", "AUTO_ONE_THREAD_WORK"]

#: With ``threads=None``, methods marked ``one_blas_thread`` (ALS and the other
#: row-solve methods: many small products and solves; two OpenBLAS threads made ALS
#: up to 10 times slower at k=50 on ml-100k) always run with one BLAS thread, and
#: the others do when nnz * k is below this (two threads made L-BFGS 1.3 to 5 times
#: slower on ml-100k, k=5..50, on a 2-core machine; ``benchmarks/results_training.md``).
#: Larger problems keep the BLAS default; that threshold is a guess, not a measurement.
AUTO_ONE_THREAD_WORK = 50_000_000


# ------------------------------------------------------------------ declared options
def Real(low=None, high=None, closed="both"):
    """Constraint: a finite real number in [low, high] (``closed`` as in :func:`cflib.arguments.check_scalar`)."""
    return lambda value, name, options: float(check_scalar(value, name, min_val=low, max_val=high,
                                                           include_boundaries=closed))


def Integer(low=None, high=None):
    """Constraint: an int in [low, high]; ``high`` may be a function of the options resolved before it."""
    def check(value, name, options):
        top = high(options) if callable(high) else high
        return int(check_int(value, name, min_val=low, max_val=top))
    return check


def OneOf(*values):
    """Constraint: one of ``values`` (compared with ``==``; types such as ``np.float32`` allowed)."""
    def check(value, name, options):
        if not any(value is v or (type(value) is type(v) and value == v) for v in values):
            shown = tuple(getattr(v, "__name__", v) for v in values)
            raise (ValueError if isinstance(value, (str, bool, numbers.Number)) else TypeError)(
                f"{name} must be one of {shown}, got {value!r}")
        return value
    check.values = values
    return check


@dataclass(frozen=True)
class Param:
    """One declared option of a method (after scikit-learn's ``_parameter_constraints``).

    Attributes
    ----------
    default : object or callable
        The value when the caller leaves the option out (or passes None); a
        callable gets the options resolved before this one (``lambda o: ...``).
    check : callable
        ``check(value, name, options) -> value``: :func:`Real`, :func:`Integer`,
        :func:`OneOf`, or a function raising a TypeError/ValueError naming the option.
    when : callable, optional
        ``when(options) -> bool``: the option is used only then (``lam_bias``
        only for ``kind="biased"``); otherwise giving it is a TypeError and it is not recorded.
    """

    default: object
    check: Callable = lambda value, name, options: value
    when: Callable | None = None

    @property
    def computed(self) -> bool:
        """The default is a function of the other options (a class such as ``np.float32`` is a value)."""
        return callable(self.default) and not isinstance(self.default, type)

    def value(self, options):
        """The default, given the options resolved so far."""
        return self.default(options) if self.computed else self.default


class State(SimpleNamespace):
    """What a method carries between its steps: ``train``, ``options``, ``seed``, ``params`` and its own fields."""


def all_finite(arrays) -> bool:
    """True when every array of the list holds only finite values."""
    return all(bool(np.all(np.isfinite(a))) for a in arrays)


def clipped_rmse(pred, actual, scale=RATING_SCALE) -> float:
    """RMSE of the predictions clipped to the rating scale ``(lo, hi)`` (NaN for no ratings): the validation rule.

    The scale is the training data's (``Ratings.scale``: 1..5, or 0.5..5 for half stars).
    """
    d = np.clip(pred, *scale) - actual
    return float(np.sqrt(d @ d / d.size)) if d.size else float("nan")


def check_ratings(data, name: str):
    """TypeError unless ``data`` is a :class:`cflib.Ratings` (the one message of every method)."""
    if not all(hasattr(data, a) for a in ("movies", "users", "ratings", "n_movies", "n_users", "nnz")):
        raise TypeError(f"{name} must be a cflib.Ratings (e.g. from cflib.load_split), got {type(data).__name__}")


# ------------------------------------------------------------------ the entry
@dataclass(frozen=True)
class Method:
    """One training method: its options and its functions (module docstring).

    Attributes
    ----------
    name, label : str
        ``fit(method=name)``; the label on the explorer's button.
    step, init, cost, sse, predict, finish : callable
        See the module docstring; ``cost``, ``sse`` and ``predict`` may be None.
    options : dict of str -> Param
        Every option the method takes (``n_iters`` is required), in the order
        they are resolved. ``kind`` is resolved first, against ``kinds``; it is
        an option (recorded in ``model.params``) when listed here or when there
        are several kinds.
    kinds : tuple of str
        The model kinds it trains (``history.kind``); with more than one, the
        ``kind`` option chooses (the first is the default).
    history : type
        The History class it fills (a subclass adds the method's own series).
    record : callable, optional
        ``record(state, history, validation)``: the method's own series, after each step.
    memory : callable, optional
        ``memory(train, options) -> (n_floats, settings, what, advice)``: refused above
        :data:`cflib.ratings.DENSE_LIMIT_BYTES`.
    one_blas_thread : bool
        Always one BLAS thread when ``threads`` is None.
    explorer : bool; max_iters, start_iters : int
        Offered by the explorer; its iterations slider (upper end, start).
    iter_ms : tuple of two floats, optional
        CPU milliseconds of one iteration per 100,000 training ratings at k = 10 and
        at k = 30, one BLAS thread, as ``benchmarks/bench_widgets.py --calibrate``
        measures them: the explorer's iterations slider stops where a move would
        train for longer than its budget (:func:`cflib.trainers.explorer_iterations`).
    hint : str
        Advice of the divergence warning, formatted with the options used
        (and ``lr_smaller``, a tenth of ``lr``).
    """

    name: str
    label: str
    step: Callable
    init: Callable
    finish: Callable
    options: dict
    cost: Callable | None = None
    sse: Callable | None = None
    predict: Callable | None = None
    kinds: tuple = ("biased", "normalized")
    history: type = History
    record: Callable | None = None
    memory: Callable | None = None
    one_blas_thread: bool = False
    explorer: bool = False
    max_iters: int = 15
    start_iters: int = 10
    iter_ms: tuple | None = None
    hint: str = "try a smaller init_scale or a larger lam"

    def __post_init__(self):
        if "n_iters" not in self.options:
            raise ValueError(f"method {self.name!r}: options must include n_iters")
        if not all(isinstance(p, Param) for p in self.options.values()):
            raise TypeError(f"method {self.name!r}: every option must be a cflib.loop.Param")

    @property
    def uses_lr(self) -> bool:
        """The method takes a step size ``lr`` (the explorer enables its control)."""
        return "lr" in self.options

    @property
    def defaults(self) -> dict:
        """The options' defaults that do not depend on other options."""
        return {name: p.default for name, p in self.options.items() if not p.computed}

    def resolve(self, given: dict) -> dict:
        """The options to train with: ``given`` checked, the rest defaulted; TypeError for any not used."""
        given = {name: value for name, value in given.items() if value is not None}
        options = {}
        if len(self.kinds) > 1 or "kind" in given or "kind" in self.options:
            kind = given.pop("kind", self.kinds[0])
            if kind not in self.kinds:
                raise ValueError(f"kind must be one of {self.kinds} for method {self.name!r}, got {kind!r}")
            if len(self.kinds) > 1 or "kind" in self.options:  # an option of the method (recorded)
                options["kind"] = kind
        unused = [name for name in given if name not in self.options]
        for name, p in self.options.items():
            if name == "kind":  # resolved above, against ``kinds``
                continue
            if p.when is not None and not p.when(options):
                if name in given:
                    unused.append(name)
                continue
            value = given[name] if name in given else p.value(options)
            options[name] = p.check(value, name, options)
        if unused:
            these = "it" if len(unused) == 1 else "them"
            raise TypeError(f"method {self.name!r} does not use {', '.join(sorted(unused))}: leave {these} out "
                            f"(its options: {', '.join(dict.fromkeys(['kind'] * (len(self.kinds) > 1) + list(self.options)))})")
        return options


_CONTROLLER = []  # one ThreadpoolController per process, made on first use


def _blas_threads(n):
    """Pin the BLAS libraries to ``n`` threads inside the ``with`` block.

    Finding the libraries (threadpoolctl reads the process's memory map) costs
    milliseconds, which a widget that retrains on every slider move notices:
    it is done once, when the first training starts; the libraries loaded
    by then (numpy's and scipy's BLAS) are the ones cflib calls.
    """
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=n, user_api="blas")


def blas_limit(threads, entry, work):
    """Context manager pinning BLAS threads: ``threads`` if given, else 1 for ``entry.one_blas_thread``
    and for problems with ``work = nnz * k`` below :data:`AUTO_ONE_THREAD_WORK`."""
    if threads is None:
        one = entry.one_blas_thread or work < AUTO_ONE_THREAD_WORK
        return _blas_threads(1) if one else nullcontext()
    if not isinstance(threads, (int, np.integer)) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be None (automatic) or an int >= 1, got {threads!r}")
    return _blas_threads(int(threads))


def _warn_diverged(entry, history, params):
    """The one divergence warning: which method, after how many iterations, and the entry's advice."""
    lr = params.get("lr") or 0.0
    advice = entry.hint.format(**{**params, "lr": lr, "lr_smaller": lr / 10})
    warnings.warn(f"{entry.name} diverged after {len(history)} iteration(s): the cost or the parameters "
                  f"became non-finite. {advice[0].upper() + advice[1:]}.", RuntimeWarning, stacklevel=4)


# ------------------------------------------------------------------ the loop
def run(entry: Method, train, *, validation=None, seed=0, threads=None, progress=False, **options):
    """Train ``entry`` on ``train``: the one loop (module docstring). Returns ``(model, history)``."""
    check_ratings(train, "train")
    if train.nnz == 0:
        raise ValueError("train holds no ratings; nothing to learn from")
    if validation is not None:
        check_ratings(validation, "validation")
        if (validation.n_movies, validation.n_users) != (train.n_movies, train.n_users):
            raise ValueError(
                f"validation has shape {(validation.n_movies, validation.n_users)} but train has "
                f"{(train.n_movies, train.n_users)}: split one Ratings so both keep all movies and users")
    seed = check_int(seed, "seed", min_val=0)
    options = entry.resolve(options)
    if entry.memory is not None:
        floats, settings, what, advice = entry.memory(train, options)
    else:  # the course's model: X, Theta, their gradients and a step's copies, about 4 of each
        floats = 4 * (train.n_movies + train.n_users) * (options.get("k", 1) + 1)
        settings, what = f"k={options.get('k', 1)}", "the factors X and Theta and their gradients"
        advice = "choose a smaller k (the number of features; the course uses 5 to 50)"
    if 8 * floats > DENSE_LIMIT_BYTES:
        raise ValueError(f"{entry.name}: {settings} would need about {8 * floats / 1e9:.1f} GB for {what}: "
                         f"{advice}")
    params = dict(method=entry.name, **options, seed=seed)
    history = entry.history(method=entry.name, kind=options.get("kind", entry.kinds[0]))
    n_iters, k = options["n_iters"], options.get("k", 1)
    start = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=n_iters, desc=f"{entry.name} ({', '.join(f'{n}={options[n]}' for n in ('kind', 'k') if n in options)})")
    try:
        with blas_limit(threads, entry, train.nnz * max(k, 1)), \
                np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            state = entry.init(train, validation, seed, options)
            last = state.params
            try:
                initial = None if entry.cost is None else entry.cost(state)
                if initial is not None:
                    history.initial_cost = initial
                    if not np.isfinite(initial):
                        raise Diverged
                if not all_finite(last):
                    raise Diverged
                for _ in range(n_iters):
                    try:
                        J, sse = entry.step(state) or (None, None)
                    except StopIteration:
                        break
                    if J is None and entry.cost is not None:
                        J = entry.cost(state)
                    if (J is not None and not np.isfinite(J)) or not all_finite(state.params):
                        raise Diverged
                    last = state.params
                    _record(entry, state, history, validation, J, sse, start, bar)
            except Diverged:
                state.params = last if all_finite(last) else [np.zeros_like(p) for p in last]
                history.diverged = True
                _warn_diverged(entry, history, params)
            return entry.finish(state, params, history), history
    finally:
        if bar is not None:
            bar.close()


def _record(entry, state, history, validation, J, sse, start, bar):
    """One row of the History after a step."""
    if J is not None:
        history.cost.append(float(J))
        if sse is None and entry.sse is not None:
            sse = entry.sse(state, J)
    if sse is not None:
        history.train_rmse.append(float(np.sqrt(max(sse, 0.0) / state.train.nnz)))
    if validation is not None and entry.predict is not None:
        history.val_rmse.append(clipped_rmse(entry.predict(state, validation.movies, validation.users),
                                             validation.ratings, getattr(state.train, "scale", RATING_SCALE)))
    if entry.record is not None:
        entry.record(state, history, validation)
    history.time.append((getattr(state, "reached", None) or time.perf_counter()) - start)
    if bar is not None:
        bar.update(1)
        post = {}
        if history.cost:
            post["cost"] = f"{history.cost[-1]:.4g}"
        if history.train_rmse:
            post["train"] = f"{history.train_rmse[-1]:.4f}"
        if history.val_rmse:
            post["val"] = f"{history.val_rmse[-1]:.4f}"
        bar.set_postfix(post, refresh=False)
