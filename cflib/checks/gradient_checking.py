"""Checks of part 3 (notebook 04): the numerical gradient and the planted bug."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Invalid, Mistake, array, case_rng, cases_from, pair, run
from .problems import dense_cases, grad_shape_hint
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


def check_buggy_gradient(fn) -> Callable:
    """Check the planted bug ``fn(X, Theta, Y, R, lam) -> (X_grad, Theta_grad)`` of notebook 04.

    The exercise asks for the gradient with the penalty entering both blocks
    with the wrong sign, ``- lam * X`` and ``- lam * Theta``, and nothing else
    changed, so that its gradient check fails for ``lam > 0`` only. A correct
    gradient, a dropped penalty or a bug elsewhere is told apart.

    Returns
    -------
    callable
        ``fn`` if it is exactly that bug, else a StandIn
        that runs :func:`penalty_sign_bug` and says so.
    """
    names = ("X_grad", "Theta_grad")
    cases = cases_from(dense_cases())

    def data(X, T, Y, R):
        return ref_gradient(X, T, Y, R, 0.0)

    spec = CheckSpec(
        name="check_buggy_gradient", signature="X, Theta, Y, R, lam",
        ref_name="cflib.checks.penalty_sign_bug", reference=penalty_sign_bug, cases=cases, parts=names,
        split=lambda out, case: pair(out, names),
        mistakes=[
            Mistake("still has the + sign on its penalty: no bug is planted there",
                    "flip only the penalty: - lam * X in X_grad and - lam * Theta in Theta_grad",
                    lambda X, T, Y, R, lam: ref_gradient(X, T, Y, R, lam)),
            Mistake("drops the penalty instead of flipping its sign",
                    "keep the penalty with a minus sign: E @ Theta - lam * X, E.T @ X - lam * Theta",
                    lambda X, T, Y, R, lam: data(X, T, Y, R)),
            Mistake("flips the sign of the whole gradient, not only of the penalty",
                    "keep the data term E @ Theta as it is and write - lam * X",
                    lambda X, T, Y, R, lam: tuple(-g for g in ref_gradient(X, T, Y, R, lam))),
            Mistake("flips the sign of the errors instead of the penalty",
                    "keep E = np.where(R, X @ Theta.T - Y, 0) and write - lam * X, - lam * Theta",
                    lambda X, T, Y, R, lam: tuple(-g + lam * A for g, A in zip(data(X, T, Y, R), (X, T)))),
        ],
        shape_hint=grad_shape_hint(names),
        lam_hint="only the penalty changes sign: X_grad = E @ Theta - lam * X, Theta_grad = E.T @ X - lam * Theta",
        later="the rest of this cell will check cflib.checks.penalty_sign_bug",
        data_hint="the data part must stay right: E = np.where(R, X @ Theta.T - Y, 0), X_grad = E @ Theta - lam * X, "
                  "Theta_grad = E.T @ X - lam * Theta",
    )
    return run(spec, fn)
