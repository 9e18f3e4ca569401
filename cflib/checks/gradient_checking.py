"""Checks of part 3 (notebook 04): the numerical gradient, and a planted bug that a gradient check must find."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Invalid, Mistake, StandIn, array, case_rng, pair, refuse_odd_containers, run
from .problems import dense_cases
from .. import gradcheck
from ..objective import cost as ref_cost
from ..objective import gradient as ref_gradient

__all__ = ["check_numerical_gradient", "check_buggy_gradient", "penalty_sign_bug"]


def _numgrad_cases() -> list:
    """Three functions with known gradients; the first is the cost, with blocks X and Theta."""
    X, Theta, Y, R = gradcheck.small_problem(seed=3)

    def f_cost(X_, T_):
        return ref_cost(X_, T_, Y, R, 0.5)

    def f_one(a):
        return float(np.sum(np.sin(a)) + np.sum(a * a) ** 2)

    def f_two(A, B):
        return float(np.sum(A ** 3) + np.sum(A @ B) + np.exp(B[0, 0]))

    def f_cube(a):
        return float(np.sum(a ** 3))

    rng = case_rng(5)
    problems = [
        ("the cost of a 4x5 problem (params X, Theta), eps=1e-4", f_cost, (X, Theta), ("X", "Theta"), 1e-4),
        ("f(a) = sum(sin(a)) + sum(a**2)**2 at a 3-vector, eps=1e-3", f_one, [rng.standard_normal(3)],
         ("a",), 1e-3),
        ("f(A, B) = sum(A**3) + sum(A @ B) + exp(B[0, 0]), eps=1e-3", f_two,
         [rng.standard_normal((2, 3)), rng.standard_normal((3, 2))], ("A", "B"), 1e-3),
        # a large eps: the central difference of a**3 is exactly 3 a**2 + eps**2, so a step of its own shows
        ("f(a) = sum(a**3) at a 4-vector, eps=0.5 (the central difference is 3 a**2 + eps**2)", f_cube,
         [rng.standard_normal(4)], ("a",), 0.5),
    ]
    # blocks and shapes locate a difference in the concatenated result as "X[3, 1]"
    return [Case(label, (f, params, eps), blocks=blocks, shapes=tuple(np.shape(p) for p in params))
            for label, f, params, blocks, eps in problems]


def _half_forward(f, params, eps):
    """What code gets when p + eps and p - eps share one array: the - eps undoes the + eps.

    Then f is evaluated at p + eps and at p, and ``(f(p + eps) - f(p)) / (2 eps)``
    is half a one-sided difference: half the gradient, up to O(eps).
    """
    return tuple(g / 2 for g in gradcheck.finite_differences(f, params, eps, scheme="forward"))


def check_numerical_gradient(fn) -> Callable:
    """Check ``fn(f, params, eps) -> tuple of arrays``, one per block of ``params``.

    ``fn`` must return the central differences
    ``(f(p + eps e_t) - f(p - eps e_t)) / (2 eps)`` for every entry t of every
    block, leaving the caller's arrays unchanged. The eps vary from case to case
    (up to 0.5, where the difference of a cubic is far from the derivative), so a
    function that uses a step of its own instead of ``eps`` fails.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.gradcheck.numerical_gradient`, else a StandIn
        that runs that function and says so.
    """
    cases = _numgrad_cases()

    def split(out, case):
        params = case.args[1]
        if out is None:
            raise Invalid("returned None instead of one gradient array per block: is the `return` missing?")
        refuse_odd_containers(out, "a tuple with one gradient array per array in params")
        if isinstance(out, np.ndarray) or not isinstance(out, (tuple, list)):
            raise Invalid("returned one array instead of a tuple with one gradient array per array in params")
        if len(out) != len(params):
            raise Invalid(f"returned {len(out)} arrays for {len(params)} arrays in params")
        blocks = [array(o, "a gradient array") for o in out]
        for i, (b, p) in enumerate(zip(blocks, params)):
            if b.shape != np.shape(p):
                raise Invalid(f"returned gradient block {i} with shape {b.shape}, expected {np.shape(p)} "
                               "(each block has the shape of its parameter)")
        return (np.concatenate([b.ravel() for b in blocks]),)

    spec = CheckSpec(
        name="check_numerical_gradient", signature="f, params, eps", ref_name="cflib.gradcheck.numerical_gradient",
        reference=gradcheck.numerical_gradient, cases=cases, parts=("the numerical gradient",),
        split=split,
        changed_hints={"params": "put every entry back after perturbing it, or perturb copies "
                                 "(p_plus = p.copy() and p_minus = p.copy(), two separate arrays)"},
        mistakes=[
            Mistake("is exactly twice the right value ({where})",
                    "divide by 2 * eps, the distance between p + eps and p - eps",
                    lambda f, p, eps: tuple(2 * g for g in gradcheck.numerical_gradient(f, p, eps))),
            Mistake("is half the right value ({where}): p + eps and p - eps share one array, so the - eps "
                    "undoes the + eps and f is evaluated at p + eps and at p, not at p - eps",
                    "make two separate copies, p_plus = p.copy() and p_minus = p.copy(), then p_plus[t] += eps "
                    "and p_minus[t] -= eps",
                    _half_forward),
            Mistake("is 0 everywhere ({where}): f(p + eps) and f(p - eps) came out equal, which is what happens "
                    "when p_plus and p_minus are one array (p_minus = p_plus): the - eps undoes the + eps before "
                    "f is called",
                    "make two separate copies, p_plus = p.copy() and p_minus = p.copy(), and fill the gradient "
                    "array entry by entry",
                    lambda f, p, eps: tuple(np.zeros(np.shape(a)) for a in p)),
            Mistake("uses a one-sided difference (f(p + eps) - f(p)) / eps",
                    "central differences are far more accurate: (f(p + eps) - f(p - eps)) / (2 * eps)",
                    lambda f, p, eps: gradcheck.finite_differences(f, p, eps, scheme="forward")),
            *[Mistake(f"ignores the eps it is given: it uses a step of its own, {own:g} (with eps=0.5 the "
                      "central difference of sum(a**3) is 3 a**2 + eps**2 = 3 a**2 + 0.25, yours is about 3 a**2)",
                      "use the eps argument: p_plus[t] = p[t] + eps, p_minus[t] = p[t] - eps, and divide by 2 * eps",
                      lambda f, p, eps, own=own: gradcheck.numerical_gradient(f, p, own))
              for own in (1e-5, 1e-4, 1e-3, 1e-2, 1e-6, 1e-7)],
            Mistake("leaves each entry perturbed after computing its derivative",
                    "restore the entry to its old value before moving to the next one",
                    lambda f, p, eps: gradcheck.finite_differences(f, p, eps, restore=False)),
        ],
        data_hint="for each entry t: (f(p + eps e_t) - f(p - eps e_t)) / (2 * eps), with every other entry unchanged",
        error_hint="params is a sequence of arrays; call f(*params) and return one gradient array per array",
        later="no later cell uses it (cflib.gradcheck.numerical_gradient stands in if you call it)",
    )
    return run(spec, fn)


def penalty_sign_bug(X, Theta, Y, R, lam=0.0):
    """The gradient with the penalty's sign flipped: ``(E @ Theta - lam * X, E.T @ X - lam * Theta)``.

    A deliberately WRONG gradient (notebook 04, exercise 1): right at
    ``lam = 0``, wrong in both blocks for ``lam > 0``. Built from
    :func:`cflib.gradient` at ``lam = 0``; shapes (n_movies, k) and (n_users, k).
    """
    X_data, Theta_data = ref_gradient(X, Theta, Y, R, 0.0)
    return X_data - lam * np.asarray(X, dtype=float), Theta_data - lam * np.asarray(Theta, dtype=float)


#: A planted bug is "the correct gradient" when it agrees with cflib.gradient within this relative error.
SAME_AS_CORRECT = 1e-12


class _Found(tuple):
    """The one part of the planted-bug check, carrying what the gradient check found on each problem.

    ``found`` holds one ``(label, x_error, theta_error)`` per problem: the relative errors of the
    learner's blocks against central differences of :func:`cflib.cost`, as
    :func:`cflib.check_gradient` computes them. The PASS line is written from it.
    """

    def __new__(cls, part, found):
        self = super().__new__(cls, (part,))
        self.found = found
        return self


def _bug_problems() -> tuple:
    """``(labels, problems)``: the check's dense problems and the small problem of notebook 04's cells."""
    small = gradcheck.small_problem(seed=0)
    triples = [*dense_cases(),
               ("cflib's small problem (seed 0, the one check_gradient uses) with lam=1.5", small, 1.5),
               ("cflib's small problem (seed 0) with lam=0", small, 0.0)]
    return (tuple(label for label, _, _ in triples),
            tuple((*(np.array(a) for a in p), float(lam)) for _, p, lam in triples))


_ARGS = ("X", "Theta", "Y", "R")


def _bug_gradients(fn) -> Callable:
    """Call the learner's gradient on every problem (copies each time); the tuple of its pairs."""

    def gradients(problems, labels):
        grads = []
        for (X, Theta, Y, R, lam), label in zip(problems, labels):
            given = (X, Theta, Y, R)
            copies = tuple(a.copy() for a in given)
            out = fn(*copies, lam)
            for name, a, kept in zip(_ARGS, copies, given):
                if not np.array_equal(a, kept, equal_nan=True):
                    raise Invalid(f"changed its argument {name} in place: work on a copy "
                                  f"({name} = {name}.copy()) or build new arrays, so the caller's data stay intact")
            grads.append(pair(out, ("X_grad", "Theta_grad")))
        return tuple(grads)

    gradients.__name__ = getattr(fn, "__name__", "your function")
    return gradients


def _bug_split(out, case: Case) -> tuple:
    """The verdict on the learner's gradients: detected by a gradient check somewhere, or why not.

    The part is ``[1, 0, 0]`` when a gradient check (central differences of cflib.cost, per block,
    against :data:`cflib.gradcheck.TOLERANCE`) flags at least one block of at least one problem; else
    ``[0, e_correct, e_check]``: the largest relative error against cflib.gradient and against the
    central differences, which say whether it is the correct gradient or a change too small to see.
    """
    problems, labels = case.args
    if not isinstance(out, (tuple, list)) or len(out) != len(problems):
        raise Invalid(f"returned {type(out).__name__} instead of one (X_grad, Theta_grad) per problem")
    found, e_correct, e_check = [], 0.0, 0.0
    for o, (X, Theta, Y, R, lam), label in zip(out, problems, labels):
        X_grad, Theta_grad = pair(o, ("X_grad", "Theta_grad"))
        for name, g, p, of in (("X_grad", X_grad, X, "X"), ("Theta_grad", Theta_grad, Theta, "Theta")):
            if g.shape != p.shape:
                swapped = X_grad.shape == Theta.shape and Theta_grad.shape == X.shape
                why = "the two results are swapped: return (X_grad, Theta_grad) in this order" if swapped else \
                    (f"{name} is transposed" if g.shape == p.shape[::-1] else f"{name} must have the shape of {of}")
                raise Invalid(f"returned {name} of shape {g.shape}, expected {p.shape}, the shape of {of}: "
                              "a gradient check stops at its shape check before it compares a single "
                              f"number, so it cannot say which block is wrong; {why}, and plant a bug that keeps "
                              "the shapes")
        numeric = gradcheck.numerical_gradient(lambda X_, T_: ref_cost(X_, T_, Y, R, lam), (X, Theta))
        correct = ref_gradient(X, Theta, Y, R, lam)
        errors = [gradcheck.relative_error(g, n) for g, n in zip((X_grad, Theta_grad), numeric)]
        found.append((label, *errors))
        e_check = max(e_check, *errors)
        e_correct = max(e_correct, *(gradcheck.relative_error(g, c) for g, c in zip((X_grad, Theta_grad), correct)))
    flagged = any(not e < gradcheck.TOLERANCE for _, *errs in found for e in errs)  # NaN is flagged too
    return _Found(np.array([1.0, 0.0, 0.0]) if flagged else np.array([0.0, e_correct, e_check]), tuple(found))


def _bug_explain(p, got, expected, case) -> str:
    if got[1] <= SAME_AS_CORRECT:
        return ("is the correct gradient: it agrees with cflib.gradient on every problem tried, so there is "
                "no bug for a gradient check to find. Change one thing in a correct gradient (a sign, an index, a "
                "transpose, a factor, a term left out or added) and keep the shapes")
    return (f"differs from cflib.gradient, but by a relative error of at most {got[1]:.1e} on the problems "
            f"tried, and from the central differences by at most {got[2]:.1e}: below the gradient check's "
            f"tolerance, {gradcheck.TOLERANCE:.0e}, so no gradient check can tell it from a correct gradient. "
            "Plant a bug that changes the result by more than rounding does")


def _blocks(errs) -> list:
    return [b for b, e in zip(("X_grad", "Theta_grad"), errs) if not e < gradcheck.TOLERANCE]


def _bug_pass_text(name, learner) -> str:
    found = [f for o in learner for f in o.value.found]
    hit = [(label, _blocks(errs)) for label, *errs in found if _blocks(errs)]
    hidden = [label for label, *errs in found if not _blocks(errs)]
    wrong = [b for b in ("X_grad", "Theta_grad") if any(b in blocks for _, blocks in hit)]
    if len(wrong) > 1:
        text = f"X_grad and Theta_grad fail the check on {len(hit)} of the {len(found)} problems tried"
    else:
        other = "Theta_grad" if wrong == ["X_grad"] else "X_grad"
        text = (f"only {wrong[0]} fails the check ({other} passes everywhere), on {len(hit)} of the "
                f"{len(found)} problems tried")
    if hidden:
        lam_zero = len(hidden) > 1 and all(label.endswith("lam=0") for label in hidden)
        which = "every one with lam=0" if lam_zero else \
            ", ".join(hidden[:2]) + (f" and {len(hidden) - 2} more" if len(hidden) > 2 else "")
        text += (f"; it hides on the other one ({which}), where the check passes it" if len(hidden) == 1 else
                 f"; it hides on the other {len(hidden)} ({which}), where the check passes it")
    return f"{name} is a real bug, and a gradient check finds it: {text}."


def check_buggy_gradient(fn) -> Callable:
    """Check a planted bug ``fn(X, Theta, Y, R, lam) -> (X_grad, Theta_grad)`` of notebook 04: any bug will do.

    The learner plants a mistake of their own in the gradient of ``J``. The check calls ``fn``
    on ten small problems (square and not, lam = 0 and lam > 0, unrated movies and users, and
    the small problem that :func:`cflib.check_gradient` uses) and runs a gradient check on each:
    the relative error of each block against central differences of :func:`cflib.cost`, with
    :data:`cflib.gradcheck.TOLERANCE`. It PASSes when the check flags at least one block of at
    least one problem, and says which blocks and where the bug hides; it FAILs for the correct
    gradient, for a change too small for any gradient check to see, for wrong shapes (the check
    stops before comparing numbers) and for the usual unusable results.

    Returns
    -------
    callable
        ``fn`` when a gradient check finds its bug, else a StandIn that runs
        :func:`penalty_sign_bug` (a planted bug of cflib's own) and says so.
    """
    labels, problems = _bug_problems()
    spec = CheckSpec(
        name="check_buggy_gradient", signature="X, Theta, Y, R, lam",
        ref_name="cflib.checks.penalty_sign_bug", reference=_bug_gradients(penalty_sign_bug),
        cases=[Case(f"the check's {len(problems)} problems", (problems, labels))],
        parts=("your gradient",), split=_bug_split, explain=_bug_explain, pass_text=_bug_pass_text,
        later="the rest of this cell will check cflib.checks.penalty_sign_bug, cflib's own planted bug "
              "(the penalty's sign flipped)",
    )
    if isinstance(fn, StandIn) or not callable(fn):
        got = run(spec, fn)  # the engine's one-line FAIL for a stand-in or a non-function
        return got if got is fn else StandIn(penalty_sign_bug, spec.ref_name, spec.name, got.reason)
    target = _bug_gradients(fn)
    got = run(spec, target)
    # the engine's stand-in runs the wrapper; the one handed back is a gradient, as the exercise's function
    return fn if got is target else StandIn(penalty_sign_bug, spec.ref_name, spec.name, got.reason)
