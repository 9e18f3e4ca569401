"""Self-checks for the exercises: no account, no token, no server, no network.

Each ``check_xxx(fn)`` runs the learner's ``fn`` on a few small fixed and
seeded random problems, compares the results with cflib's reference
implementation and prints ONE line:

* ``check_cost: PASS - ...`` when every case agrees;
* ``check_cost: not implemented yet - ...`` when ``fn`` raises
  ``NotImplementedError`` (the generated student notebooks start that way);
* ``check_cost: FAIL - <what is wrong>. Hint: <how to fix it>. ...`` otherwise.
  The common mistakes each get their own diagnosis (the mask R forgotten,
  the 1/2 forgotten, ``lam`` missing or on the wrong term, X and Theta
  swapped, wrong shapes, NaN, and for a pair of results such as
  ``(X_grad, Theta_grad)`` the block that is wrong).

It RETURNS ``fn`` when it passed, otherwise the cflib reference, so the cells
after an unsolved exercise still run::

    my_cost = checks.check_cost(my_cost)

The printed line never contains timings or random numbers, so it can be
stored in a notebook and compared by nbval.

The references of :mod:`cflib.train`, :mod:`cflib.evaluate`,
:mod:`cflib.recommend`, :mod:`cflib.ratings`, :mod:`cflib.lowrank` and
:func:`cflib.objective.user_gradient` are imported when their check runs.
NaN in a reference result (a movie nobody rated has a NaN mean) must be NaN
in the learner's result at the same place.
"""

from __future__ import annotations

import copy
import importlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .objective import cost as _ref_cost
from .objective import cost_sparse as _ref_cost_sparse
from .objective import gradient as _ref_gradient
from .objective import gradient_sparse as _ref_gradient_sparse
from .objective import predict as _ref_predict
from . import gradcheck as _gradcheck

__all__ = [
    "check_predict",
    "check_cost",
    "check_gradient",
    "check_cost_sparse",
    "check_gradient_sparse",
    "check_numerical_gradient",
    "check_normalize",
    "check_gradient_descent_step",
    "check_rmse",
    "check_fold_in",
    "check_dense",
    "check_movie_means",
    "check_truncated_svd",
    "check_user_gradient",
    "check_buggy_gradient",
    "penalty_sign_bug",
]

#: Results agree when ``|got - expected| <= RTOL * |expected| + ATOL`` entrywise.
RTOL = 1e-6
ATOL = 1e-8


# =====================================================================
# The engine: run cases, compare with the reference, diagnose.
# =====================================================================
class _Invalid(Exception):
    """The learner's result cannot be read (wrong type or structure); the message says why."""


@dataclass(frozen=True)
class _Case:
    """One problem: the arguments passed to the function and a readable label."""

    label: str
    args: tuple
    lam: float | None = None


@dataclass(frozen=True)
class _Mistake:
    """A known wrong implementation and what to tell the learner when it matches.

    ``fn`` has the reference's signature and returns what the mistaken code
    returns (or raises where the mistaken code would raise). ``phrase``
    completes a sentence whose subject is the wrong part ("the cost ...",
    "Theta_grad ...").
    """

    phrase: str
    hint: str
    fn: Callable[..., Any]


@dataclass
class _Spec:
    name: str
    signature: str
    ref_name: str
    reference: Callable[..., Any]
    cases: list
    parts: tuple
    split: Callable[[Any, _Case], tuple]
    mistakes: list = field(default_factory=list)
    shape_hint: Callable[[int, tuple, tuple], str] | None = None
    nan_hint: str = "look for 0/0, log or sqrt of a negative number, or an empty mean"
    lam_hint: str = ""
    data_hint: str = ""
    after_call: Callable[[tuple, tuple], str | None] | None = None
    error_hint: str = ("check the shapes: X is (n_movies, k), Theta is (n_users, k), "
                       "Y and R are (n_movies, n_users), so predictions are X @ Theta.T")


def _first_line(text: str, limit: int = 160) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _scalar(out, what: str) -> np.ndarray:
    """A number, a 0-d array or a 1-element array, as a 0-d float array."""
    if out is None:
        raise _Invalid(f"returned None instead of {what}: is the `return` statement missing?")
    if isinstance(out, (tuple, list)) and len(out) != 1:
        raise _Invalid(f"returned a {type(out).__name__} of {len(out)} items instead of {what}")
    try:
        a = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        raise _Invalid(f"returned a {type(out).__name__} instead of {what}") from None
    if a.size != 1:
        raise _Invalid(
            f"returned an array of shape {a.shape} instead of {what}: "
            "sum over the entries to get one number"
        )
    return a.reshape(())


def _array(out, what: str) -> np.ndarray:
    if out is None:
        raise _Invalid(f"returned None instead of {what}: is the `return` statement missing?")
    try:
        return np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        raise _Invalid(f"returned a {type(out).__name__} instead of {what}") from None


def _pair(out, names: tuple) -> tuple:
    """A pair of arrays such as ``(X_grad, Theta_grad)``."""
    what = f"the pair ({', '.join(names)})"
    if out is None:
        raise _Invalid(f"returned None instead of {what}: is the `return` statement missing?")
    if isinstance(out, np.ndarray) or not isinstance(out, (tuple, list)):
        shape = getattr(out, "shape", None)
        extra = f" (one array of shape {shape})" if shape is not None else f" (a {type(out).__name__})"
        raise _Invalid(f"returned one value{extra} instead of {what}: end with `return {', '.join(names)}`")
    if len(out) != len(names):
        raise _Invalid(f"returned {len(out)} values instead of {what}")
    return tuple(_array(o, n) for o, n in zip(out, names))


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))


def _fmt(a: np.ndarray) -> str:
    return f"{float(a):.6g}"


def _outcome(fn, case: _Case, split, after_call=None):
    """Run fn on a deep copy of the case: ('value', parts) | ('error', exc) | ('invalid', msg) | ('todo', None)."""
    args = copy.deepcopy(case.args)
    try:
        # Warnings (0/0, overflow) would add lines to the one-line verdict; NaN is diagnosed instead.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = fn(*args)
    except NotImplementedError:
        return ("todo", None)
    except Exception as exc:  # the learner's code: report any failure in one line
        return ("error", exc)
    if after_call is not None:
        msg = after_call(args, case.args)
        if msg:
            return ("invalid", msg)
    try:
        return ("value", split(out, case))
    except _Invalid as exc:
        return ("invalid", str(exc))


def _matches(learner, candidate, p) -> bool:
    """Part p of the learner's results equals the candidate's on every case (errors where it errors)."""
    any_value = False
    for (lk, lv), (ck, cv) in zip(learner, candidate):
        if lk == "error" and ck == "error":
            continue
        if lk != "value" or ck != "value":
            return False
        if not _close(lv[p], cv[p]):
            return False
        any_value = True
    return any_value


def _describe_difference(got: np.ndarray, expected: np.ndarray) -> str:
    if got.ndim == 0:
        return f"expected {_fmt(expected)}, got {_fmt(got)}"
    diff = np.abs(got - expected)
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
    where = idx[0] if len(idx) == 1 else tuple(int(i) for i in idx)
    return f"at index {where} expected {_fmt(expected[idx])}, got {_fmt(got[idx])}"


def _join_hints(hints) -> str:
    seen = []
    for h in hints:
        if h and h not in seen:
            seen.append(h)
    return " ".join(seen)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _diagnose(spec: _Spec, learner: list, expected: list) -> str:
    """One sentence (plus a hint) saying what is wrong with the learner's results."""
    cases, parts = spec.cases, spec.parts
    kinds = [k for k, _ in learner]

    candidates = []
    for m in spec.mistakes:
        candidates.append((m, [_outcome(m.fn, c, spec.split) for c in cases]))

    if all(k == "value" for k in kinds):
        # 1. shapes, 2. NaN, per part, on the first case where they go wrong
        for (_, got), exp, case in zip(learner, expected, cases):
            for p, name in enumerate(parts):
                g, e = got[p], exp[1][p]
                if g.shape != e.shape:
                    hint = spec.shape_hint(p, [a.shape for a in got], [a.shape for a in exp[1]]) \
                        if spec.shape_hint else ""
                    return _sentence(f"{name} has shape {g.shape}, expected {e.shape} (on {case.label})") + (
                        f" Hint: {_sentence(hint)}" if hint else ""
                    )
        for (_, got), exp, case in zip(learner, expected, cases):
            for p, name in enumerate(parts):
                if np.isnan(got[p]).any() and not np.isnan(exp[1][p]).any():
                    return f"{name} contains NaN (on {case.label}). Hint: {_sentence(spec.nan_hint)}"
        # 3. which parts are wrong, and is it a known mistake?
        wrong = [p for p in range(len(parts))
                 if not all(_close(got[p], exp[1][p]) for (_, got), exp in zip(learner, expected))]
        phrases = []
        # A known mistake that explains every wrong part at once beats one that explains a part only.
        whole = next((m for m, outs in candidates if all(_matches(learner, outs, p) for p in wrong)), None)
        for p in wrong:
            found = whole or next((m for m, outs in candidates if _matches(learner, outs, p)), None)
            if found is not None:
                phrases.append((p, found.phrase, found.hint))
                continue
            lam_cases = [i for i, c in enumerate(cases) if c.lam is not None]
            ok = [_close(learner[i][1][p], expected[i][1][p]) for i in range(len(cases))]
            if lam_cases and all(ok[i] for i in lam_cases if cases[i].lam == 0) and any(
                    cases[i].lam == 0 for i in lam_cases):
                phrases.append((p, "is right for lam = 0 but wrong for lam > 0", spec.lam_hint))
            else:
                i = ok.index(False)
                phrases.append((p, f"differs from {spec.ref_name} on {cases[i].label}: "
                                   + _describe_difference(learner[i][1][p], expected[i][1][p]), spec.data_hint))
        if len(parts) == 1:
            _, phrase, hint = phrases[0]
            return _sentence(f"{parts[0]} {phrase}") + (f" Hint: {_sentence(hint)}" if hint else "")
        right = [parts[p] for p in range(len(parts)) if p not in wrong]
        if len(phrases) > 1 and len({ph for _, ph, _ in phrases}) == 1:
            text = f"{' and '.join(parts[p] for p, _, _ in phrases)} each {phrases[0][1]}"
        else:
            text = "; ".join(f"{parts[p]} {ph}" for p, ph, _ in phrases)
        if right:
            text = f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right, but {text}"
        hint = _join_hints(h for _, _, h in phrases)
        return _sentence(text) + (f" Hint: {_sentence(hint)}" if hint else "")

    # Some case raised or returned something unreadable.
    for m, outs in candidates:
        if all(_matches(learner, outs, p) for p in range(len(parts))):
            subject = parts[0] if len(parts) == 1 else f"{' and '.join(parts)} each"
            return _sentence(f"{subject} {m.phrase}") + (f" Hint: {_sentence(m.hint)}" if m.hint else "")
    for (k, v), case in zip(learner, cases):
        if k == "invalid":
            return _sentence(f"it {v} (on {case.label})")
    for (k, v), case in zip(learner, cases):
        if k == "error":
            msg = _first_line(v)
            text = f"it raised {type(v).__name__}" + (f": {msg}" if msg else "") + f" (on {case.label})"
            hint = ""
            low = msg.lower()
            if isinstance(v, (ValueError, IndexError)) and any(
                    w in low for w in ("shape", "broadcast", "dimension", "matmul", "aligned", "index")):
                hint = spec.error_hint
            elif isinstance(v, TypeError) and "argument" in low:
                hint = f"the function must take the arguments ({spec.signature}), in this order"
            return _sentence(text) + (f" Hint: {_sentence(hint)}" if hint else "")
    raise AssertionError("unreachable: _diagnose called on a passing function")


def _run(spec: _Spec, fn) -> Callable:
    """Check ``fn`` against ``spec``, print one line, return fn or the reference."""
    later = f"later cells will use {spec.ref_name}"
    if not callable(fn):
        print(f"{spec.name}: FAIL - expected a function, got {type(fn).__name__}; {later}.")
        return spec.reference
    learner = [_outcome(fn, c, spec.split, spec.after_call) for c in spec.cases]
    if any(k == "todo" for k, _ in learner):
        print(f"{spec.name}: not implemented yet - {later}.")
        return spec.reference
    expected = [_outcome(spec.reference, c, spec.split) for c in spec.cases]
    bad_ref = [v for k, v in expected if k != "value"]
    if bad_ref:  # a bug in cflib itself, never the learner's fault: say so loudly
        raise RuntimeError(f"{spec.name}: the reference {spec.ref_name} failed on its own test case: {bad_ref[0]}")
    if all(k == "value" and all(_close(g, e) for g, e in zip(v, ev[1]))
           for (k, v), ev in zip(learner, expected)):
        print(f"{spec.name}: PASS - {_name(fn)} agrees with {spec.ref_name} on {len(spec.cases)} test cases.")
        return fn
    print(f"{spec.name}: FAIL - {_diagnose(spec, learner, expected)} Until it passes, {later}.")
    return spec.reference


def _name(fn) -> str:
    name = getattr(fn, "__name__", None)
    return "your function" if not name or name == "<lambda>" else name


def _lazy(module: str, name: str) -> Callable:
    return getattr(importlib.import_module(f"cflib.{module}"), name)


# =====================================================================
# Test problems (small, seeded, deterministic)
# =====================================================================
def _dense_problem(rng, n_movies, n_users, k, *, junk=True, empty=False):
    """X, Theta, Y, R with about half of Y rated (integers 1..5).

    ``junk``: Y holds values at unrated entries too (they must not count).
    ``empty``: the last movie and the last user have no ratings.
    """
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))
    R = rng.random((n_movies, n_users)) < 0.55
    R[0, 0] = R[0, -1] = R[-1 if not empty else 0, 0] = True
    if empty:
        R[-1, :] = False
        R[:, -1] = False
    Y = rng.integers(1, 6, size=(n_movies, n_users)).astype(float)
    if not junk:
        Y = np.where(R, Y, 0.0)
    return X, Theta, Y, R


def _fixed_problem():
    """A hand-written 3-movie, 2-user problem with k = 2."""
    X = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]])
    Theta = np.array([[1.0, 0.5], [-1.0, 2.0]])
    Y = np.array([[4.0, 3.0], [0.0, 5.0], [2.0, 1.0]])
    R = np.array([[True, True], [False, True], [True, False]])
    return X, Theta, Y, R


def _dense_cases() -> list:
    """(label, (X, Theta, Y, R), lam) problems, including a square one and empty rows."""
    rng = np.random.default_rng(20240)
    fixed = _fixed_problem()
    a = _dense_problem(rng, 4, 5, 3)
    b = _dense_problem(rng, 6, 4, 2, junk=False)
    sq = _dense_problem(rng, 5, 5, 3)
    e = _dense_problem(rng, 7, 6, 2, empty=True)
    return [
        ("the fixed 3x2 problem with lam=0", fixed, 0.0),
        ("the fixed 3x2 problem with lam=1", fixed, 1.0),
        ("a random 4x5 problem with lam=0", a, 0.0),
        ("a random 4x5 problem with lam=1.5", a, 1.5),
        ("a random 6x4 problem with lam=0.7", b, 0.7),
        ("a random square 5x5 problem with lam=0", sq, 0.0),
        ("a random square 5x5 problem with lam=2", sq, 2.0),
        ("a random 7x6 problem with an unrated movie and user with lam=0.3", e, 0.3),
    ]


def _sparse_cases() -> list:
    """The dense problems as shuffled coordinates (movies, users, ratings)."""
    rng = np.random.default_rng(7)
    out = []
    for label, (X, Theta, Y, R), lam in _dense_cases():
        movies, users = np.nonzero(R)
        order = rng.permutation(movies.size)
        out.append((label, (X, Theta, movies[order], users[order], Y[movies, users][order]), lam))
    return out


# --------------------------------------------------------------- cost parts
def _pen(X, Theta):
    return 0.5 * (np.sum(X * X) + np.sum(Theta * Theta))


def _errors(X, Theta, Y, R):
    return np.where(R, X @ Theta.T - Y, 0.0)


def _cost_mistakes(errors_fn) -> list:
    """Wrong costs built from a function giving the residuals that count."""

    def data(args):
        e = errors_fn(*args[:-1])
        return 0.5 * np.sum(e * e)

    def mk(phrase, hint, f):
        return _Mistake(phrase, hint, lambda *a: f(a[0], a[1], a, a[-1]))

    return [
        mk("is exactly twice the right value",
           "the cost starts with 1/2: J = 1/2 * sum(errors**2) + lam/2 * (sum(X**2) + sum(Theta**2))",
           lambda X, T, a, lam: 2 * (data(a) + lam * _pen(X, T))),
        mk("misses the 1/2 in front of the squared errors",
           "J = 1/2 * sum(errors**2) + ...",
           lambda X, T, a, lam: 2 * data(a) + lam * _pen(X, T)),
        mk("ignores lam (the regularization term is missing)",
           "add lam/2 * (sum(X**2) + sum(Theta**2))",
           lambda X, T, a, lam: data(a)),
        mk("regularizes X only (the Theta term is missing)",
           "the penalty is lam/2 * (sum(X**2) + sum(Theta**2)): both matrices",
           lambda X, T, a, lam: data(a) + 0.5 * lam * np.sum(X * X)),
        mk("regularizes Theta only (the X term is missing)",
           "the penalty is lam/2 * (sum(X**2) + sum(Theta**2)): both matrices",
           lambda X, T, a, lam: data(a) + 0.5 * lam * np.sum(T * T)),
        mk("misses the 1/2 in front of the regularization term",
           "the penalty is lam/2 * (sum(X**2) + sum(Theta**2))",
           lambda X, T, a, lam: data(a) + 2 * lam * _pen(X, T)),
        mk("multiplies the squared errors by lam instead of the penalty",
           "lam multiplies only the penalty: 1/2 * sum(errors**2) + lam/2 * (sum(X**2) + sum(Theta**2))",
           lambda X, T, a, lam: lam * data(a) + _pen(X, T)),
        mk("uses sum(X) instead of sum(X**2) in the regularization",
           "the penalty squares every entry: lam/2 * (sum(X**2) + sum(Theta**2))",
           lambda X, T, a, lam: data(a) + 0.5 * lam * (np.sum(X) + np.sum(T))),
        mk("does not square the errors",
           "J = 1/2 * sum(errors**2): square each error before summing",
           lambda X, T, a, lam: 0.5 * np.sum(errors_fn(*a[:-1])) + lam * _pen(X, T)),
    ]


# =====================================================================
# The checks
# =====================================================================
def check_predict(fn) -> Callable:
    """Check ``fn(X, Theta) -> Y_hat`` of shape (n_movies, n_users).

    Parameters
    ----------
    fn : callable
        The learner's prediction function.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.predict`, else :func:`cflib.predict`.
    """
    rng = np.random.default_rng(11)
    cases = [_Case("the fixed 3x2 problem", _fixed_problem()[:2])]
    for n_m, n_u, k in ((4, 6, 3), (7, 2, 1), (5, 5, 2)):
        cases.append(_Case(f"a random {n_m}x{n_u} problem with k={k}",
                           (rng.standard_normal((n_m, k)), rng.standard_normal((n_u, k)))))

    def shape_hint(p, got, exp):
        got, exp = got[0], exp[0]
        if got == exp[::-1]:
            return "the result is transposed: X @ Theta.T is (n_movies, n_users); Theta @ X.T is (n_users, n_movies)"
        if len(got) == 2 and got[0] == got[1] != exp[0]:
            return "X.T @ Theta is (k, k); the predictions are X @ Theta.T, one row per movie and one column per user"
        return "X is (n_movies, k) and Theta is (n_users, k), so the predictions X @ Theta.T are (n_movies, n_users)"

    spec = _Spec(
        name="check_predict", signature="X, Theta", ref_name="cflib.predict", reference=_ref_predict, cases=cases,
        parts=("the prediction matrix",),
        split=lambda out, case: (_array(out, "the prediction matrix"),),
        mistakes=[
            _Mistake("is X.T @ Theta, a (k, k) matrix",
                     "X.T @ Theta sums over movies; the predictions are X @ Theta.T, (n_movies, n_users)",
                     lambda X, T: X.T @ T),
            _Mistake("multiplies X and Theta entry by entry",
                     "each prediction is a dot product: use the matrix product X @ Theta.T",
                     lambda X, T: X * T),
        ],
        shape_hint=shape_hint,
        data_hint="entry (i, j) is the dot product of row i of X with row j of Theta: X @ Theta.T",
    )
    return _run(spec, fn)


def check_cost(fn) -> Callable:
    """Check a cost ``fn(X, Theta, Y, R, lam=0.0) -> float`` (loop or vectorized).

    Parameters
    ----------
    fn : callable
        Computes :math:`J = \\frac12 \\sum_{R_{ij}=1} (x_i \\cdot \\theta_j - y_{ij})^2
        + \\frac{\\lambda}{2}(\\|X\\|^2 + \\|\\Theta\\|^2)`.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.cost`, else :func:`cflib.cost`.
    """
    cases = [_Case(label, (*p, lam), lam) for label, p, lam in _dense_cases()]
    mistakes = _cost_mistakes(_errors) + [
        _Mistake("averages the squared errors instead of summing them",
                 "use sum, not mean: J = 1/2 * sum(errors**2) + ...",
                 lambda X, T, Y, R, lam: 0.5 * np.sum(_errors(X, T, Y, R) ** 2) / np.count_nonzero(R)
                 + lam * _pen(X, T)),
        _Mistake("also counts the unrated entries (the mask R is not applied)",
                 "only rated entries count: multiply the errors by R, or keep only Y[R]",
                 lambda X, T, Y, R, lam: 0.5 * np.sum((X @ T.T - Y) ** 2) + lam * _pen(X, T)),
        _Mistake("uses Theta @ X.T where the predictions are X @ Theta.T",
                 "X is (n_movies, k) and Theta is (n_users, k); X @ Theta.T has the shape of Y, (n_movies, n_users)",
                 lambda X, T, Y, R, lam: 0.5 * np.sum(((T @ X.T - Y) * R) ** 2) + lam * _pen(X, T)),
    ]
    spec = _Spec(
        name="check_cost", signature="X, Theta, Y, R, lam=0.0", ref_name="cflib.cost", reference=_ref_cost, cases=cases,
        parts=("the cost",), split=lambda out, case: (_scalar(out, "the cost (one number)"),),
        mistakes=mistakes,
        lam_hint="the penalty is lam/2 * (sum(X**2) + sum(Theta**2))",
        data_hint="J = 1/2 * sum over rated (i, j) of (X[i] @ Theta[j] - Y[i, j])**2 + the penalty",
    )
    return _run(spec, fn)


def _grad_shape_hint(names, of=("X", "Theta")):
    def hint(p, got, exp):
        if got[p] == exp[1 - p] and got[1 - p] == exp[p]:
            return f"the two results are swapped: return ({names[0]}, {names[1]}) in this order"
        if got[p] == exp[p][::-1]:
            return f"{names[p]} is transposed: it has the shape of {of[p]}"
        return f"{names[p]} has the shape of {of[p]}"
    return hint


def _gradient_mistakes(grad_fn) -> list:
    """Wrong gradients built from a function returning the data parts (E @ Theta, E.T @ X)."""

    def mk(phrase, hint, f):
        return _Mistake(phrase, hint, lambda *a: f(a[0], a[1], grad_fn(*a[:-1]), a[-1]))

    return [
        mk("is exactly twice the right value",
           "the 1/2 in J cancels the 2 of the square: X_grad = E @ Theta + lam * X, Theta_grad = E.T @ X + lam * Theta",
           lambda X, T, g, lam: (2 * (g[0] + lam * X), 2 * (g[1] + lam * T))),
        mk("misses its regularization term",
           "add lam times the matrix itself: + lam * X for X_grad, + lam * Theta for Theta_grad",
           lambda X, T, g, lam: g),
        mk("uses lam/2 where the derivative of lam/2 * sum(X**2) is lam * X",
           "add lam * X to X_grad and lam * Theta to Theta_grad",
           lambda X, T, g, lam: (g[0] + 0.5 * lam * X, g[1] + 0.5 * lam * T)),
        mk("has the errors with the wrong sign",
           "the error is prediction minus rating: E = (X @ Theta.T - Y) * R",
           lambda X, T, g, lam: (-g[0] + lam * X, -g[1] + lam * T)),
        mk("has the wrong sign",
           "the gradient points uphill: X_grad = E @ Theta + lam * X",
           lambda X, T, g, lam: (-(g[0] + lam * X), -(g[1] + lam * T))),
        mk("is regularized with the other matrix",
           "X_grad gets + lam * X and Theta_grad gets + lam * Theta",
           lambda X, T, g, lam: (g[0] + lam * T, g[1] + lam * X)),
    ]


def check_gradient(fn) -> Callable:
    """Check a gradient ``fn(X, Theta, Y, R, lam=0.0) -> (X_grad, Theta_grad)``.

    Parameters
    ----------
    fn : callable
        Returns ``X_grad = E @ Theta + lam * X`` of shape (n_movies, k) and
        ``Theta_grad = E.T @ X + lam * Theta`` of shape (n_users, k), where
        ``E = (X @ Theta.T - Y) * R``.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.gradient`, else :func:`cflib.gradient`.
    """
    names = ("X_grad", "Theta_grad")
    cases = [_Case(label, (*p, lam), lam) for label, p, lam in _dense_cases()]

    def data(X, T, Y, R):
        E = _errors(X, T, Y, R)
        return E @ T, E.T @ X

    mistakes = _gradient_mistakes(data) + [
        _Mistake("also counts the unrated entries (the mask R is not applied)",
                 "only rated entries count: E = (X @ Theta.T - Y) * R",
                 lambda X, T, Y, R, lam: ((X @ T.T - Y) @ T + lam * X, (X @ T.T - Y).T @ X + lam * T)),
        _Mistake("uses E where E.T is needed (or the reverse): X and Theta are swapped",
                 "X_grad = E @ Theta (n_movies, k) and Theta_grad = E.T @ X (n_users, k), with E (n_movies, n_users)",
                 lambda X, T, Y, R, lam: (_errors(X, T, Y, R).T @ T + lam * X,
                                          _errors(X, T, Y, R) @ X + lam * T)),
        _Mistake("uses Theta @ X.T where the predictions are X @ Theta.T",
                 "X is (n_movies, k) and Theta is (n_users, k); X @ Theta.T has the shape of Y, (n_movies, n_users)",
                 lambda X, T, Y, R, lam: (((T @ X.T - Y) * R) @ T + lam * X, ((T @ X.T - Y) * R).T @ X + lam * T)),
    ]
    spec = _Spec(
        name="check_gradient", signature="X, Theta, Y, R, lam=0.0", ref_name="cflib.gradient", reference=_ref_gradient, cases=cases,
        parts=names, split=lambda out, case: _pair(out, names), mistakes=mistakes,
        shape_hint=_grad_shape_hint(names),
        lam_hint="the penalty lam/2 * sum(X**2) adds lam * X to X_grad (and lam * Theta to Theta_grad)",
        data_hint="X_grad = E @ Theta + lam * X, Theta_grad = E.T @ X + lam * Theta, with E = (X @ Theta.T - Y) * R",
    )
    return _run(spec, fn)


def _sparse_errors(X, T, movies, users, ratings):
    return np.sum(X[movies] * T[users], axis=1) - ratings


def check_cost_sparse(fn) -> Callable:
    """Check a sparse cost ``fn(X, Theta, movies, users, ratings, lam=0.0) -> float``.

    The coordinates come in no particular order and a movie or user may
    appear many times (or never).

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.cost_sparse`, else :func:`cflib.cost_sparse`.
    """
    cases = [_Case(label, (*p, lam), lam) for label, p, lam in _sparse_cases()]
    mistakes = _cost_mistakes(_sparse_errors) + [
        _Mistake("averages the squared errors instead of summing them",
                 "use sum, not mean: J = 1/2 * sum(errors**2) + ...",
                 lambda X, T, m, u, r, lam: 0.5 * np.mean(_sparse_errors(X, T, m, u, r) ** 2) + lam * _pen(X, T)),
        _Mistake("indexes X with users and Theta with movies",
                 "the prediction of rating t is X[movies[t]] @ Theta[users[t]]",
                 lambda X, T, m, u, r, lam: 0.5 * np.sum((np.sum(X[u] * T[m], axis=1) - r) ** 2) + lam * _pen(X, T)),
    ]
    spec = _Spec(
        name="check_cost_sparse", signature="X, Theta, movies, users, ratings, lam=0.0", ref_name="cflib.cost_sparse", reference=_ref_cost_sparse, cases=cases,
        parts=("the cost",), split=lambda out, case: (_scalar(out, "the cost (one number)"),),
        mistakes=mistakes,
        lam_hint="the penalty is lam/2 * (sum(X**2) + sum(Theta**2)), over all rows of X and Theta",
        data_hint="errors = sum(X[movies] * Theta[users], axis=1) - ratings; J = 1/2 * sum(errors**2) + the penalty",
    )
    return _run(spec, fn)


def check_gradient_sparse(fn) -> Callable:
    """Check a sparse gradient ``fn(X, Theta, movies, users, ratings, lam=0.0) -> (X_grad, Theta_grad)``.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.gradient_sparse`, else :func:`cflib.gradient_sparse`.
    """
    names = ("X_grad", "Theta_grad")
    cases = [_Case(label, (*p, lam), lam) for label, p, lam in _sparse_cases()]

    def data(X, T, m, u, r):
        e = _sparse_errors(X, T, m, u, r)
        Xg, Tg = np.zeros_like(X), np.zeros_like(T)
        np.add.at(Xg, m, e[:, None] * T[u])
        np.add.at(Tg, u, e[:, None] * X[m])
        return Xg, Tg

    def no_accumulate(X, T, m, u, r, lam):
        e = _sparse_errors(X, T, m, u, r)
        Xg, Tg = lam * X, lam * T
        Xg[m] += e[:, None] * T[u]
        Tg[u] += e[:, None] * X[m]
        return Xg, Tg

    def swapped(X, T, m, u, r, lam):
        return tuple(g + lam * A for g, A in zip(data(X, T, u, m, r)[::-1], (X, T)))

    def swapped_indices(X, T, m, u, r, lam):
        e = np.sum(X[u] * T[m], axis=1) - r
        Xg, Tg = lam * X, lam * T
        np.add.at(Xg, u, e[:, None] * T[m])
        np.add.at(Tg, m, e[:, None] * X[u])
        return Xg, Tg

    mistakes = _gradient_mistakes(data) + [
        _Mistake("loses repeated indices (X_grad[movies] += ... adds each row once)",
                 "fancy-index += keeps only one of the repeated rows; use np.add.at(X_grad, movies, ...) "
                 "or np.bincount",
                 no_accumulate),
        _Mistake("indexes X with users and Theta with movies",
                 "the prediction of rating t is X[movies[t]] @ Theta[users[t]]",
                 swapped_indices),
        _Mistake("indexes with users where movies are needed (X and Theta swapped)",
                 "X_grad collects rows at movies, Theta_grad at users",
                 swapped),
    ]
    spec = _Spec(
        name="check_gradient_sparse", signature="X, Theta, movies, users, ratings, lam=0.0", ref_name="cflib.gradient_sparse", reference=_ref_gradient_sparse,
        cases=cases, parts=names, split=lambda out, case: _pair(out, names), mistakes=mistakes,
        shape_hint=_grad_shape_hint(names),
        lam_hint="the penalty lam/2 * sum(X**2) adds lam * X to X_grad (and lam * Theta to Theta_grad), every row",
        data_hint="add e[t] * Theta[users[t]] to row movies[t] of X_grad and e[t] * X[movies[t]] to row users[t] "
                  "of Theta_grad (np.add.at)",
    )
    return _run(spec, fn)


# ----------------------------------------------------- numerical gradient
def _numgrad_cases() -> list:
    X, Theta, Y, R = _gradcheck.small_problem(seed=3)

    def f_cost(X_, T_):
        return _ref_cost(X_, T_, Y, R, 0.5)

    def f_one(a):
        return float(np.sum(np.sin(a)) + np.sum(a * a) ** 2)

    def f_two(A, B):
        return float(np.sum(A ** 3) + np.sum(A @ B) + np.exp(B[0, 0]))

    rng = np.random.default_rng(5)
    return [
        _Case("the cost of a 4x5 problem (params X, Theta), eps=1e-4", (f_cost, (X, Theta), 1e-4)),
        _Case("f(a) = sum(sin(a)) + sum(a**2)**2 at a 3-vector, eps=1e-3",
              (f_one, [rng.standard_normal(3)], 1e-3)),
        _Case("f(A, B) = sum(A**3) + sum(A @ B) + exp(B[0, 0]), eps=1e-3",
              (f_two, [rng.standard_normal((2, 3)), rng.standard_normal((3, 2))], 1e-3)),
    ]


def _perturbed(f, params, eps, kind):
    """Finite differences the way a mistaken implementation computes them."""
    params = [np.array(p, dtype=float, copy=True) for p in params]
    out = []
    for p in params:
        g = np.zeros_like(p)
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for t in range(flat.size):
            old = flat[t]
            flat[t] = old + eps
            fp = float(f(*params))
            flat[t] = old - eps
            fm = float(f(*params))
            f0 = None
            if kind == "forward":
                flat[t] = old
                f0 = float(f(*params))
            if kind == "not_restored":
                flat[t] = old - eps  # left perturbed
            else:
                flat[t] = old
            if kind == "forward":
                gflat[t] = (fp - f0) / eps
            elif kind == "no_two":
                gflat[t] = (fp - fm) / eps
            else:
                gflat[t] = (fp - fm) / (2 * eps)
        out.append(g)
    return tuple(out)


def check_numerical_gradient(fn) -> Callable:
    """Check ``fn(f, params, eps) -> tuple of arrays``, one per block of ``params``.

    ``fn`` must return the central differences
    ``(f(p + eps e_t) - f(p - eps e_t)) / (2 eps)`` for every entry t of every
    block, leaving the caller's arrays unchanged.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.gradcheck.numerical_gradient`, else that function.
    """
    cases = _numgrad_cases()

    def split(out, case):
        params = case.args[1]
        if out is None:
            raise _Invalid("returned None instead of one gradient array per block: is the `return` missing?")
        if isinstance(out, np.ndarray) or not isinstance(out, (tuple, list)):
            raise _Invalid("returned one array instead of a tuple with one gradient array per array in params")
        if len(out) != len(params):
            raise _Invalid(f"returned {len(out)} arrays for {len(params)} arrays in params")
        blocks = [_array(o, "a gradient array") for o in out]
        for i, (b, p) in enumerate(zip(blocks, params)):
            if b.shape != np.shape(p):
                raise _Invalid(f"returned gradient block {i} with shape {b.shape}, expected {np.shape(p)} "
                               "(each block has the shape of its parameter)")
        return (np.concatenate([b.ravel() for b in blocks]),)

    def after_call(used, original):
        for a, b in zip(used[1], original[1]):
            if not np.array_equal(np.asarray(a), np.asarray(b)):
                return ("changed the caller's arrays in params: put every entry back after perturbing it "
                        "(or perturb a copy)")
        return None

    spec = _Spec(
        name="check_numerical_gradient", signature="f, params, eps", ref_name="cflib.gradcheck.numerical_gradient",
        reference=_gradcheck.numerical_gradient, cases=cases, parts=("the numerical gradient",),
        split=split, after_call=after_call,
        mistakes=[
            _Mistake("is exactly twice the right value", "divide by 2 * eps, the distance between p + eps and p - eps",
                     lambda f, p, eps: _perturbed(f, p, eps, "no_two")),
            _Mistake("uses a one-sided difference (f(p + eps) - f(p)) / eps",
                     "central differences are far more accurate: (f(p + eps) - f(p - eps)) / (2 * eps)",
                     lambda f, p, eps: _perturbed(f, p, eps, "forward")),
            _Mistake("leaves each entry perturbed after computing its derivative",
                     "restore the entry to its old value before moving to the next one",
                     lambda f, p, eps: _perturbed(f, p, eps, "not_restored")),
        ],
        data_hint="for each entry t: (f(p + eps e_t) - f(p - eps e_t)) / (2 * eps), with every other entry unchanged",
        error_hint="params is a sequence of arrays; call f(*params) and return one gradient array per array",
    )
    return _run(spec, fn)


# ------------------------------------------------------- training pieces
def check_normalize(fn) -> Callable:
    """Check mean normalization ``fn(Y, R) -> (Y_norm, movie_mean)``.

    ``movie_mean`` (n_movies,) is each movie's mean over its rated entries (the
    global mean of all ratings for a movie nobody rated); ``Y_norm``
    (n_movies, n_users) is ``Y - movie_mean[:, None]`` where R is 1 and 0 elsewhere.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.train.normalize_ratings`, else that function.
    """
    reference = _lazy("train", "normalize_ratings")
    names = ("Y_norm", "movie_mean")
    cases, seen = [], set()
    for label, (X, Theta, Y, R), lam in _dense_cases():
        if id(Y) not in seen:  # each problem once: lam plays no part here
            seen.add(id(Y))
            cases.append(_Case(label.rsplit(" with lam", 1)[0].rsplit(", lam", 1)[0], (Y, R)))

    def with_mean(mean_fn, zero_unrated=True):
        def f(Y, R):
            m = mean_fn(Y, R)
            Yn = Y - m[:, None]
            return (np.where(R, Yn, 0.0) if zero_unrated else Yn), m
        return f

    def right_mean(Y, R):
        return reference(Y, R)[1]

    def empty_zero(Y, R):
        counts = R.sum(axis=1)
        return np.where(counts > 0, np.where(R, Y, 0).sum(axis=1) / np.maximum(counts, 1), 0.0)

    def shape_hint(p, got, exp):
        if p == 1 and got[1] == (exp[1][0], 1):
            return "movie_mean should be 1-D, shape (n_movies,): drop keepdims or use .ravel()"
        if p == 1:
            return "one mean per movie: average along each row of Y (axis=1), over the rated entries"
        return "Y_norm has the shape of Y, (n_movies, n_users)"

    spec = _Spec(
        name="check_normalize", signature="Y, R", ref_name="cflib.train.normalize_ratings", reference=reference,
        cases=cases, parts=names, split=lambda out, case: _pair(out, names),
        mistakes=[
            _Mistake("uses the mean over all entries, the unrated ones included",
                     "average over rated entries only: sum of Y where R is 1, divided by R.sum(axis=1)",
                     with_mean(lambda Y, R: Y.mean(axis=1))),
            _Mistake("is not 0 where R is 0",
                     "subtract the mean only where R is 1 and leave 0 elsewhere: np.where(R, Y - mean, 0)",
                     with_mean(right_mean, zero_unrated=False)),
            _Mistake("gives a movie with no ratings 0 instead of the global mean of all ratings",
                     "for a movie nobody rated use the mean of all ratings, so it is predicted an average rating",
                     with_mean(empty_zero)),
            _Mistake("averages per user (down the columns) instead of per movie",
                     "one mean per movie: average along each row (axis=1)",
                     with_mean(lambda Y, R: np.where(R, Y, 0).sum(axis=0) / np.maximum(R.sum(axis=0), 1))),
        ],
        shape_hint=shape_hint,
        nan_hint="a movie with no ratings gives 0/0 = NaN: give it the global mean of all ratings instead",
        error_hint="Y and R are (n_movies, n_users); the means are taken along each row, axis=1",
        data_hint="movie_mean[i] = mean of Y[i, R[i]]; Y_norm = Y - movie_mean[:, None] where R is 1, 0 elsewhere",
    )
    return _run(spec, fn)


def check_gradient_descent_step(fn) -> Callable:
    """Check one gradient-descent step ``fn(X, Theta, Y, R, lam, lr) -> (X_new, Theta_new)``.

    Both gradients are taken at the old ``(X, Theta)``; the inputs must not be
    modified.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.train.gradient_descent_step`, else that function.
    """
    reference = _lazy("train", "gradient_descent_step")
    names = ("X_new", "Theta_new")
    lrs = (0.1, 0.05, 0.02)
    cases = [_Case(f"{label}, lr={lrs[i % 3]:g}", (*p, lam, lrs[i % 3]), lam)
             for i, (label, p, lam) in enumerate(_dense_cases())]

    def step(sign=-1.0, use_lr=True, lam_used=None, order=None):
        def f(X, T, Y, R, lam, lr):
            lam_ = lam if lam_used is None else lam_used
            a = lr if use_lr else 1.0
            Xg, Tg = _ref_gradient(X, T, Y, R, lam_)
            if order == "X first":
                Xn = X + sign * a * Xg
                return Xn, T + sign * a * _ref_gradient(Xn, T, Y, R, lam_)[1]
            if order == "Theta first":
                Tn = T + sign * a * Tg
                return X + sign * a * _ref_gradient(X, Tn, Y, R, lam_)[0], Tn
            return X + sign * a * Xg, T + sign * a * Tg
        return f

    def after_call(used, original):
        for a, b, name in zip(used[:2], original[:2], ("X", "Theta")):
            if not np.array_equal(a, b):
                return (f"changed the caller's {name} in place ({name} -= ...): return new arrays, "
                        f"{name}_new = {name} - lr * {name}_grad, so the starting point stays intact")
        return None

    spec = _Spec(
        name="check_gradient_descent_step", signature="X, Theta, Y, R, lam, lr", ref_name="cflib.train.gradient_descent_step",
        reference=reference, cases=cases, parts=names, split=lambda out, case: _pair(out, names),
        mistakes=[
            _Mistake("moves uphill (+ lr * gradient)", "descent subtracts: X_new = X - lr * X_grad",
                     step(sign=+1.0)),
            _Mistake("ignores lr", "scale the step: X_new = X - lr * X_grad", step(use_lr=False)),
            _Mistake("ignores lam", "take the gradient of the regularized cost, with lam",
                     step(lam_used=0.0)),
            _Mistake("is computed from the already updated other matrix",
                     "take both gradients at the old X and Theta first, then update both (simultaneous update)",
                     step(order="X first")),
            _Mistake("is computed from the already updated other matrix",
                     "take both gradients at the old X and Theta first, then update both (simultaneous update)",
                     step(order="Theta first")),
            _Mistake("is the gradient, not the updated matrix", "return X - lr * X_grad, not X_grad",
                     lambda X, T, Y, R, lam, lr: _ref_gradient(X, T, Y, R, lam)),
        ],
        shape_hint=_grad_shape_hint(names),
        after_call=after_call,
        lam_hint="the gradient includes lam * X and lam * Theta",
        data_hint="X_new = X - lr * X_grad and Theta_new = Theta - lr * Theta_grad, both gradients at the old point",
    )
    return _run(spec, fn)


def check_rmse(fn) -> Callable:
    """Check ``fn(predictions, actual) -> float``, the root mean squared error.

    The test predictions lie in 1..5, so clipping them or not makes no difference.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.evaluate.rmse`, else that function.
    """
    reference = _lazy("evaluate", "rmse")
    rng = np.random.default_rng(17)
    cases = [_Case("the fixed 4 predictions", (np.array([3.5, 4.0, 1.5, 2.0]), np.array([4.0, 4.0, 1.0, 3.0])))]
    for n in (7, 50):
        cases.append(_Case(f"{n} random predictions",
                           (rng.uniform(1, 5, n), rng.integers(1, 6, n).astype(float))))

    def d(p, a):
        return np.asarray(p, float) - np.asarray(a, float)

    spec = _Spec(
        name="check_rmse", signature="predictions, actual", ref_name="cflib.evaluate.rmse", reference=reference, cases=cases,
        parts=("the RMSE",), split=lambda out, case: (_scalar(out, "the RMSE (one number)"),),
        mistakes=[
            _Mistake("is the mean squared error: the square root is missing", "RMSE = sqrt(mean((p - a)**2))",
                     lambda p, a: np.mean(d(p, a) ** 2)),
            _Mistake("takes the root of the sum, not of the mean", "divide by the number of ratings before sqrt",
                     lambda p, a: np.sqrt(np.sum(d(p, a) ** 2))),
            _Mistake("is the mean absolute error", "square the errors: sqrt(mean((p - a)**2))",
                     lambda p, a: np.mean(np.abs(d(p, a)))),
            _Mistake("is np.std of the errors, which first subtracts their mean",
                     "a model that is always 1 too high has std 0 but RMSE 1: use sqrt(mean((p - a)**2))",
                     lambda p, a: np.std(d(p, a))),
            _Mistake("does not square the errors", "RMSE = sqrt(mean((p - a)**2))",
                     lambda p, a: np.sqrt(np.abs(np.mean(d(p, a))))),
        ],
        data_hint="RMSE = sqrt(mean((predictions - actual)**2))",
        error_hint="predictions and actual are 1-D arrays of the same length",
    )
    return _run(spec, fn)


def check_fold_in(fn) -> Callable:
    """Check ``fn(X, movies, ratings, lam) -> theta`` of shape (k,), the new user's preferences.

    ``theta`` solves :math:`(X_r^T X_r + \\lambda I)\\theta = X_r^T r` with
    ``X_r = X[movies]``.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.recommend.fold_in`, else that function.
    """
    reference = _lazy("recommend", "fold_in")
    rng = np.random.default_rng(23)
    cases = []
    for n_movies, k, n_r, lam in ((8, 2, 5, 0.0), (8, 2, 5, 1.0), (12, 3, 6, 0.5), (10, 4, 7, 2.0)):
        X = rng.standard_normal((n_movies, k))
        movies = rng.choice(n_movies, size=n_r, replace=False)
        ratings = rng.integers(1, 6, n_r) - 3.0
        cases.append(_Case(f"{n_r} ratings of {n_movies} movies with k={k}, lam={lam:g}",
                           (X, movies, ratings, lam), lam))

    def ridge(A, r, M):
        return np.linalg.solve(A.T @ A + M, A.T @ r)

    def shape_hint(p, got, exp):
        if len(got[0]) == 2 and exp[0][0] in got[0]:
            return "theta is 1-D, shape (k,): solve with the 1-D ratings vector, or .ravel() the result"
        return "theta has one entry per feature: shape (k,)"

    spec = _Spec(
        name="check_fold_in", signature="X, movies, ratings, lam", ref_name="cflib.recommend.fold_in", reference=reference, cases=cases,
        parts=("theta",), split=lambda out, case: (_array(out, "theta"),),
        mistakes=[
            _Mistake("ignores lam", "solve (X_r.T @ X_r + lam * I) theta = X_r.T @ r",
                     lambda X, m, r, lam: ridge(X[m], r, 0.0 * np.eye(X.shape[1]))),
            _Mistake("adds lam to every entry of X_r.T @ X_r, not only to its diagonal",
                     "add lam * np.eye(k), the identity matrix scaled by lam",
                     lambda X, m, r, lam: ridge(X[m], r, lam * np.ones((X.shape[1], X.shape[1])))),
            _Mistake("uses lam/2 where the normal equations have lam",
                     "the derivative of lam/2 * |theta|**2 is lam * theta: X_r.T @ X_r + lam * I",
                     lambda X, m, r, lam: ridge(X[m], r, 0.5 * lam * np.eye(X.shape[1]))),
        ],
        shape_hint=shape_hint,
        error_hint="use only the rated movies' rows: X_r = X[movies] has shape (n_r, k), ratings has shape (n_r,)",
        lam_hint="solve (X_r.T @ X_r + lam * np.eye(k)) theta = X_r.T @ r",
        data_hint="use only the rated movies' rows X_r = X[movies] and solve (X_r.T @ X_r + lam * I) theta = X_r.T @ r",
    )
    return _run(spec, fn)


# ------------------------------------------------------------- rating data
def check_dense(fn) -> Callable:
    """Check ``fn(movies, users, ratings, n_movies, n_users) -> (Y, R)``.

    ``Y`` (n_movies, n_users) float holds ``ratings[t]`` at
    ``(movies[t], users[t])`` and 0 elsewhere; ``R`` of the same shape is a
    bool array, True exactly at the coordinates.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.ratings.to_dense`, else that function.
    """
    names = ("Y", "R")
    rng = np.random.default_rng(29)
    cases = [_Case("the fixed 3x4 example with half stars",
                   (np.array([0, 2, 1, 0, 2]), np.array([1, 0, 3, 3, 2]), np.array([4.0, 2.5, 5.0, 3.5, 1.0]), 3, 4))]
    for n_m, n_u, nnz, half in ((7, 5, 14, True), (5, 5, 11, False), (9, 12, 40, True)):
        # the last movie and the last user get no rating, so the shape cannot be read off the coordinates
        flat = rng.choice((n_m - 1) * (n_u - 1), size=nnz, replace=False)
        movies, users = np.divmod(flat, n_u - 1)
        stars = rng.integers(2, 11, nnz) / 2 if half else rng.integers(1, 6, nnz).astype(float)
        cases.append(_Case(f"{nnz} ratings in a {n_m}x{n_u} matrix whose last movie and user have none"
                           + (" (half stars)" if half else ""), (movies, users, stars, n_m, n_u)))

    def split(out, case):
        Y, R = _pair(out, names)
        dtype = np.asarray(out[1]).dtype
        if dtype != bool:
            raise _Invalid(f"returned R with dtype {dtype} instead of bool: "
                           "create it with np.zeros((n_movies, n_users), dtype=bool)")
        return Y, R

    def built(dtype=float, swap=False):
        def f(movies, users, ratings, n_movies, n_users):
            Y = np.zeros((n_movies, n_users), dtype=dtype)
            R = np.zeros((n_movies, n_users), dtype=bool)
            rows, cols = (users, movies) if swap else (movies, users)
            Y[rows, cols] = ratings
            R[rows, cols] = True
            return Y, R
        return f

    def shape_hint(p, got, exp):
        if got[p] == exp[p][::-1]:
            return "movies are the rows and users the columns: the shape is (n_movies, n_users)"
        if all(g <= e for g, e in zip(got[p], exp[p])):
            return ("use n_movies and n_users for the shape, not movies.max() + 1: "
                    "the last movies or users may have no rating")
        return f"{names[p]} has shape (n_movies, n_users)"

    spec = _Spec(
        name="check_dense", signature="movies, users, ratings, n_movies, n_users", ref_name="cflib.ratings.to_dense",
        reference=_lazy("ratings", "to_dense"), cases=cases, parts=names, split=split,
        mistakes=[
            _Mistake("puts rating t at (users[t], movies[t]): the indices are swapped",
                     "movies index the rows and users the columns: Y[movies, users] = ratings",
                     built(swap=True)),
            _Mistake("loses the half stars: Y has an integer dtype",
                     "create Y as floats, np.zeros((n_movies, n_users)), not with dtype=int",
                     built(dtype=np.int64)),
        ],
        shape_hint=shape_hint,
        nan_hint="Y is 0 where unrated, not NaN: start from np.zeros((n_movies, n_users))",
        error_hint="Y and R have shape (n_movies, n_users): movies index the rows, users the columns",
        data_hint="Y[movies, users] = ratings on a zero matrix, R[movies, users] = True on a False matrix",
    )
    return _run(spec, fn)


def check_movie_means(fn) -> Callable:
    """Check ``fn(Y, R) -> means`` of shape (n_movies,): each movie's mean over its rated entries.

    A movie with no rating must give NaN. Y holds junk at unrated entries in
    some cases: it must not count.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.ratings.movie_means`, else that function.
    """
    reference = _lazy("ratings", "movie_means")
    cases, seen = [], set()
    for label, (X, Theta, Y, R), lam in _dense_cases():
        if id(Y) not in seen:  # each problem once: lam plays no part here
            seen.add(id(Y))
            cases.append(_Case(label.rsplit(" with lam", 1)[0].rsplit(", lam", 1)[0], (Y, R)))

    def masked(Y, R):
        return np.where(R, Y, 0.0).sum(axis=1), R.sum(axis=1)

    def empty_as(value):
        def f(Y, R):
            sums, counts = masked(Y, R)
            fill = np.where(R, Y, 0.0).sum() / R.sum() if value == "global" else value
            return np.where(counts > 0, sums / np.maximum(counts, 1), fill)
        return f

    def shape_hint(p, got, exp):
        n_movies = exp[0][0]
        if got[0] == (n_movies, 1):
            return "the means are 1-D, shape (n_movies,): drop keepdims or use .ravel()"
        return "one mean per movie: average along each row of Y (axis=1), over the rated entries"

    spec = _Spec(
        name="check_movie_means", signature="Y, R", ref_name="cflib.ratings.movie_means", reference=reference,
        cases=cases, parts=("the mean vector",), split=lambda out, case: (_array(out, "the mean vector"),),
        mistakes=[
            _Mistake("counts the unrated entries: it divides by n_users, not by the number of ratings",
                     "divide the sum of the rated entries by R.sum(axis=1)",
                     lambda Y, R: masked(Y, R)[0] / Y.shape[1]),
            _Mistake("adds up Y where R is 0 too (Y holds junk there in some test cases)",
                     "sum only the rated entries: np.where(R, Y, 0).sum(axis=1), or (R * Y).sum(axis=1)",
                     lambda Y, R: Y.sum(axis=1) / np.maximum(R.sum(axis=1), 1)),
            _Mistake("gives 0 to a movie with no ratings instead of nan",
                     "where R.sum(axis=1) is 0 return np.nan: np.where(counts > 0, sums / counts, np.nan)",
                     empty_as(0.0)),
            _Mistake("gives the global mean to a movie with no ratings instead of nan",
                     "that is what normalize_ratings does for a model; here return np.nan where nothing is rated",
                     empty_as("global")),
        ],
        shape_hint=shape_hint,
        error_hint="Y and R are (n_movies, n_users); the means are taken along each row, axis=1",
        data_hint="mean of movie i = sum of Y[i, j] over the j with R[i, j], divided by R[i].sum(); nan if it is 0",
    )
    return _run(spec, fn)


# --------------------------------------------------------------- low rank
def _canonical_factors(X: np.ndarray, Theta: np.ndarray) -> tuple:
    """Factor columns in a fixed order and sign, so that equal products compare equal.

    Columns are sorted by decreasing ``|X[:, r]| |Theta[:, r]|`` (sigma_r for an
    even split); each pair of columns is flipped together so that the entry of
    X[:, r] largest in absolute value is positive. Arrays that are not a pair
    of matrices with k columns each are returned unchanged (the shapes are
    diagnosed instead).
    """
    if X.ndim != 2 or Theta.ndim != 2 or X.shape[1] != Theta.shape[1] or not (
            np.all(np.isfinite(X)) and np.all(np.isfinite(Theta))):
        return X, Theta
    weight = np.linalg.norm(X, axis=0) * np.linalg.norm(Theta, axis=0)
    order = np.argsort(-weight, kind="stable")
    X, Theta = X[:, order], Theta[:, order]
    if X.shape[0]:
        signs = np.sign(X[np.argmax(np.abs(X), axis=0), np.arange(X.shape[1])])
        signs[signs == 0] = 1.0
        X, Theta = X * signs, Theta * signs
    return X, Theta


def check_truncated_svd(fn) -> Callable:
    """Check ``fn(M, k) -> (X, Theta)``, the best rank-k factors of a full matrix M.

    ``X = U_k Sigma_k^{1/2}`` is (n_movies, k) and ``Theta = V_k Sigma_k^{1/2}``
    is (n_users, k). Singular vectors are defined up to sign and their order is
    free, so both results are put in a canonical column order and sign before
    they are compared (:func:`_canonical_factors`).

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.lowrank.truncated_svd`, else that function.
    """
    names = ("X", "Theta")
    rng = np.random.default_rng(31)
    cases = []
    for n_m, n_u, k in ((8, 5, 2), (6, 6, 3), (10, 4, 1), (5, 7, 2), (12, 9, 4)):
        M = rng.standard_normal((n_m, 3)) @ rng.standard_normal((3, n_u)) + 0.3 * rng.standard_normal((n_m, n_u))
        cases.append(_Case(f"a random {n_m}x{n_u} matrix with k={k}", (M, k)))

    def split(out, case):
        return _canonical_factors(*_pair(out, names))

    def svd_factors(x_power, theta_power, smallest=False, vt_columns=False):
        def f(M, k):
            U, s, Vt = np.linalg.svd(M, full_matrices=False)
            idx = np.arange(s.size - k, s.size) if smallest else np.arange(k)
            V = Vt[:, idx] if vt_columns else Vt[idx].T
            return U[:, idx] * s[idx] ** x_power, V * s[idx] ** theta_power
        return f

    def shape_hint(p, got, exp):
        if got[p] == exp[p][::-1]:
            return (f"{names[p]} is transposed: it has one row per {'movie' if p == 0 else 'user'} and k columns"
                    + (" (take Vt[:k].T)" if p == 1 else ""))
        if p == 1 and got[1][1] == exp[1][1]:
            return "the right singular vectors are the ROWS of Vt: Theta = Vt[:k].T * sqrt(s[:k]), shape (n_users, k)"
        return "X is (n_movies, k) from the first k columns of U; Theta is (n_users, k) from the first k rows of Vt"

    spec = _Spec(
        name="check_truncated_svd", signature="M, k", ref_name="cflib.lowrank.truncated_svd",
        reference=_lazy("lowrank", "truncated_svd"), cases=cases, parts=names, split=split,
        mistakes=[
            _Mistake("keeps the k smallest singular values instead of the k largest",
                     "np.linalg.svd sorts the singular values in decreasing order: take the first k, s[:k]",
                     svd_factors(0.5, 0.5, smallest=True)),
            _Mistake("splits Sigma_k unevenly: all of it is in X",
                     "split it evenly: multiply both U[:, :k] and Vt[:k].T by np.sqrt(s[:k])",
                     svd_factors(1.0, 0.0)),
            _Mistake("splits Sigma_k unevenly: all of it is in Theta",
                     "split it evenly: multiply both U[:, :k] and Vt[:k].T by np.sqrt(s[:k])",
                     svd_factors(0.0, 1.0)),
            _Mistake("leaves out the singular values",
                     "scale column r of both factors by sqrt(s[r]), so that X @ Theta.T = U_k Sigma_k V_k^T",
                     svd_factors(0.0, 0.0)),
            _Mistake("scales both factors by s instead of sqrt(s), so the product has s**2",
                     "each factor gets half of Sigma_k: multiply by np.sqrt(s[:k])",
                     svd_factors(1.0, 1.0)),
            _Mistake("is built from columns of Vt, which are not singular vectors",
                     "the right singular vectors are the ROWS of Vt: Theta = Vt[:k].T * sqrt(s[:k])",
                     svd_factors(0.5, 0.5, vt_columns=True)),
        ],
        shape_hint=shape_hint,
        error_hint="U, s, Vt = np.linalg.svd(M, full_matrices=False); X = U[:, :k] * np.sqrt(s[:k]); "
                   "Theta = Vt[:k].T * np.sqrt(s[:k])",
        data_hint="X = U[:, :k] * sqrt(s[:k]) and Theta = Vt[:k].T * sqrt(s[:k]) (columns compared up to a common "
                  "sign and in decreasing order of singular value)",
    )
    return _run(spec, fn)


# ------------------------------------------------------------ one user
def check_user_gradient(fn) -> Callable:
    """Check ``fn(j, X, Theta, Y, R, lam=0.0) -> theta_grad`` of shape (k,).

    ``theta_grad = sum over the movies i user j rated of e_ij * X[i] + lam * Theta[j]``,
    row j of the full ``Theta_grad``.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.objective.user_gradient`, else that function.
    """
    cases = []
    for n, (label, (X, Theta, Y, R), lam) in enumerate(_dense_cases()):
        n_users = Theta.shape[0]
        j = n_users - 1 if n % 2 else n % n_users  # the last user (rated by nobody in one problem) and others
        cases.append(_Case(f"user j={j} of {label}", (j, X, Theta, Y, R, lam), lam))

    def errors_of(j, X, T, Y, R):
        return np.where(R[:, j], X @ T[j] - Y[:, j], 0.0)  # (n_movies,)

    def shape_hint(p, got, exp):
        k = exp[0][0]
        if len(got[0]) == 2 and got[0][1] == k and got[0][0] != 1:
            return "return only user j's row, shape (k,), not the whole Theta_grad"
        if len(got[0]) == 2:
            return "theta_grad is 1-D, shape (k,): use .ravel() or a 1-D product"
        return "theta_grad has one entry per feature: shape (k,)"

    spec = _Spec(
        name="check_user_gradient", signature="j, X, Theta, Y, R, lam=0.0", ref_name="cflib.objective.user_gradient",
        reference=_lazy("objective", "user_gradient"), cases=cases, parts=("theta_grad",),
        split=lambda out, case: (_array(out, "theta_grad"),),
        mistakes=[
            _Mistake("also counts the movies user j did not rate (the mask R[:, j] is not applied)",
                     "keep only the rated movies: rated = R[:, j]; e = X[rated] @ Theta[j] - Y[rated, j]",
                     lambda j, X, T, Y, R, lam: (X @ T[j] - Y[:, j]) @ X + lam * T[j]),
            _Mistake("misses lam * Theta[j]", "add the penalty's derivative, lam * Theta[j]",
                     lambda j, X, T, Y, R, lam: errors_of(j, X, T, Y, R) @ X),
            _Mistake("has the errors with the wrong sign",
                     "the error is prediction minus rating: e = X[rated] @ Theta[j] - Y[rated, j]",
                     lambda j, X, T, Y, R, lam: -errors_of(j, X, T, Y, R) @ X + lam * T[j]),
            _Mistake("is exactly twice the right value",
                     "the 1/2 in J cancels the 2 of the square: sum e_ij * X[i] + lam * Theta[j]",
                     lambda j, X, T, Y, R, lam: 2 * (errors_of(j, X, T, Y, R) @ X + lam * T[j])),
            _Mistake("is the gradient of movie j (row j of Y), not of user j (column j)",
                     "user j is column j: use R[:, j] and Y[:, j], and sum rows of X",
                     lambda j, X, T, Y, R, lam: np.where(R[j], X[j] @ T.T - Y[j], 0.0) @ T + lam * X[j]),
        ],
        shape_hint=shape_hint,
        lam_hint="add lam * Theta[j], the derivative of lam/2 * |theta_j|**2",
        error_hint="user j is column j: R[:, j] and Y[:, j] have shape (n_movies,); X[rated] is (n_j, k)",
        data_hint="theta_grad = e @ X[rated] + lam * Theta[j], with rated = R[:, j] and "
                  "e = X[rated] @ Theta[j] - Y[rated, j]",
    )
    return _run(spec, fn)


# ----------------------------------------------------- the planted bug of 04
def penalty_sign_bug(X, Theta, Y, R, lam=0.0):
    """The gradient with the penalty's sign flipped: ``(E @ Theta - lam * X, E.T @ X - lam * Theta)``.

    A deliberately WRONG gradient (notebook 04, exercise 1): right at
    ``lam = 0``, wrong in both blocks for ``lam > 0``. Built from
    :func:`cflib.gradient` at ``lam = 0``; shapes (n_movies, k) and (n_users, k).
    """
    X_data, Theta_data = _ref_gradient(X, Theta, Y, R, 0.0)
    return X_data - lam * np.asarray(X, dtype=float), Theta_data - lam * np.asarray(Theta, dtype=float)


def check_buggy_gradient(fn) -> Callable:
    """Check the planted bug ``fn(X, Theta, Y, R, lam) -> (X_grad, Theta_grad)`` of notebook 04.

    The exercise asks for the gradient with the penalty entering both blocks
    with the wrong sign, ``- lam * X`` and ``- lam * Theta``, and nothing else
    changed, so that its gradient check fails for ``lam > 0`` only. A correct
    gradient, a dropped penalty or a bug elsewhere is told apart.

    Returns
    -------
    callable
        ``fn`` if it is exactly that bug, else :func:`penalty_sign_bug`.
    """
    names = ("X_grad", "Theta_grad")
    cases = [_Case(label, (*p, lam), lam) for label, p, lam in _dense_cases()]

    def data(X, T, Y, R):
        return _ref_gradient(X, T, Y, R, 0.0)

    spec = _Spec(
        name="check_buggy_gradient", signature="X, Theta, Y, R, lam",
        ref_name="cflib.checks.penalty_sign_bug", reference=penalty_sign_bug, cases=cases, parts=names,
        split=lambda out, case: _pair(out, names),
        mistakes=[
            _Mistake("still has the + sign on its penalty: no bug is planted there",
                     "flip only the penalty: - lam * X in X_grad and - lam * Theta in Theta_grad",
                     lambda X, T, Y, R, lam: _ref_gradient(X, T, Y, R, lam)),
            _Mistake("drops the penalty instead of flipping its sign",
                     "keep the penalty with a minus sign: E @ Theta - lam * X, E.T @ X - lam * Theta",
                     lambda X, T, Y, R, lam: data(X, T, Y, R)),
            _Mistake("flips the sign of the whole gradient, not only of the penalty",
                     "keep the data term E @ Theta as it is and write - lam * X",
                     lambda X, T, Y, R, lam: tuple(-g for g in _ref_gradient(X, T, Y, R, lam))),
            _Mistake("flips the sign of the errors instead of the penalty",
                     "keep E = (X @ Theta.T - Y) * R and write - lam * X, - lam * Theta",
                     lambda X, T, Y, R, lam: tuple(-g + lam * A for g, A in zip(data(X, T, Y, R), (X, T)))),
        ],
        shape_hint=_grad_shape_hint(names),
        lam_hint="only the penalty changes sign: X_grad = E @ Theta - lam * X, Theta_grad = E.T @ X - lam * Theta",
        data_hint="the data part must stay right: E = (X @ Theta.T - Y) * R, X_grad = E @ Theta - lam * X, "
                  "Theta_grad = E.T @ X - lam * Theta",
    )
    return _run(spec, fn)
