"""Checks of part 2 (notebooks 02-03): the cost and the gradient, dense, sparse and per user."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Mistake, array, cases_from, lazy, pair, run, scalar
from .problems import (at_scale, dense_cases, grad_shape_hint, has_nan_placeholders, masked_errors,
                       more_dense_cases, penalty, scale_case, sparse_cases, sparse_errors)
from ..objective import cost as ref_cost
from ..objective import cost_sparse as ref_cost_sparse
from ..objective import gradient as ref_gradient
from ..objective import gradient_sparse as ref_gradient_sparse

__all__ = ["check_cost", "check_cost_sparse", "check_analytic_gradient", "check_gradient_sparse",
           "check_user_gradient"]


#: Where no later cell calls the learner's function (notebook 03's my_gradient_loop is checked like
#: my_gradient, which later cells do call).
_GRADIENT_LATER = "a cell that calls it will use cflib.gradient"

#: The hint for NaN placeholders in Y: multiplying by R keeps them.
_WHERE_HINT = ("use np.where(R, X @ Theta.T - Y, 0), which never reads Y where R is 0, or keep only the rated "
               "entries, (X @ Theta.T - Y)[R]")


def _nan_as_inf(split, y_at=2):
    """``split`` that reads NaN as inf on the case whose Y holds NaN where R is 0.

    Multiplying the errors by R leaves NaN there (NaN * 0 is NaN); reading it as inf lets the
    engine compare it with the known mistakes (which give the same inf) instead of stopping at
    "contains NaN" before it looks at them. Elsewhere NaN stays NaN.
    """
    def read(out, case):
        parts = split(out, case)
        if has_nan_placeholders(case, y_at):
            parts = tuple(np.where(np.isnan(a), np.inf, a) for a in parts)
        return parts
    return read


def _times_r(errors):
    """The mistake ``(X @ Theta.T - Y) * R``: right until Y holds NaN where R is 0."""
    def f(X, T, Y, R, lam):
        with np.errstate(invalid="ignore"):
            return errors(X, T, Y, R, (X @ T.T - Y) * R, lam)
    return f


def _cost_mistakes(errors_fn) -> list:
    """Wrong costs built from a function giving the residuals that count."""

    def data(args):
        e = errors_fn(*args[:-1])
        return 0.5 * np.sum(e * e)

    def mk(phrase, hint, f):
        return Mistake(phrase, hint, lambda *a: f(a[0], a[1], a, a[-1]))

    return [
        mk("is exactly twice the right value",
           "the cost starts with 1/2: J = 1/2 * sum(errors**2) + lam/2 * (sum(X**2) + sum(Theta**2))",
           lambda X, T, a, lam: 2 * (data(a) + lam * penalty(X, T))),
        mk("misses the 1/2 in front of the squared errors",
           "J = 1/2 * sum(errors**2) + ...",
           lambda X, T, a, lam: 2 * data(a) + lam * penalty(X, T)),
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
           lambda X, T, a, lam: data(a) + 2 * lam * penalty(X, T)),
        mk("multiplies the squared errors by lam instead of the penalty",
           "lam multiplies only the penalty: 1/2 * sum(errors**2) + lam/2 * (sum(X**2) + sum(Theta**2))",
           lambda X, T, a, lam: lam * data(a) + penalty(X, T)),
        mk("uses sum(X) instead of sum(X**2) in the regularization",
           "the penalty squares every entry: lam/2 * (sum(X**2) + sum(Theta**2))",
           lambda X, T, a, lam: data(a) + 0.5 * lam * (np.sum(X) + np.sum(T))),
        mk("does not square the errors",
           "J = 1/2 * sum(errors**2): square each error before summing",
           lambda X, T, a, lam: 0.5 * np.sum(errors_fn(*a[:-1])) + lam * penalty(X, T)),
    ]



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
        ``fn`` if it agrees with :func:`cflib.cost`, else a StandIn
        that runs :func:`cflib.cost` and says so.
    """
    cases = cases_from(dense_cases() + more_dense_cases())
    mistakes = _cost_mistakes(masked_errors) + [
        Mistake("averages the squared errors instead of summing them",
                 "use sum, not mean: J = 1/2 * sum(errors**2) + ...",
                 lambda X, T, Y, R, lam: 0.5 * np.sum(masked_errors(X, T, Y, R) ** 2) / np.count_nonzero(R)
                 + lam * penalty(X, T)),
        Mistake("also counts the unrated entries (the mask R is not applied)",
                 "only rated entries count: " + _WHERE_HINT,
                 lambda X, T, Y, R, lam: 0.5 * np.sum((X @ T.T - Y) ** 2) + lam * penalty(X, T)),
        Mistake("is NaN on the problem whose Y holds NaN where R is 0: NaN * 0 is NaN, so multiplying the "
                "errors by R keeps them (cflib allows any placeholder where R is 0)",
                _WHERE_HINT,
                _times_r(lambda X, T, Y, R, E, lam: 0.5 * np.sum(E ** 2) + lam * penalty(X, T))),
        Mistake("uses Theta @ X.T where the predictions are X @ Theta.T",
                 "X is (n_movies, k) and Theta is (n_users, k); X @ Theta.T has the shape of Y, (n_movies, n_users)",
                 lambda X, T, Y, R, lam: 0.5 * np.sum(np.where(R, T @ X.T - Y, 0.0) ** 2) + lam * penalty(X, T)),
    ]
    spec = CheckSpec(
        name="check_cost", signature="X, Theta, Y, R, lam=0.0", ref_name="cflib.cost", reference=ref_cost, cases=cases,
        parts=("the cost",), split=_nan_as_inf(lambda out, case: (scalar(out, "the cost (one number)"),)),
        mistakes=mistakes,
        lam_hint="the penalty is lam/2 * (sum(X**2) + sum(Theta**2))",
        data_hint="J = 1/2 * sum over rated (i, j) of (X[i] @ Theta[j] - Y[i, j])**2 + the penalty",
    )
    return run(spec, fn)



def _gradient_mistakes(grad_fn) -> list:
    """Wrong gradients built from a function returning the data parts (E @ Theta, E.T @ X)."""

    def mk(phrase, hint, f):
        return Mistake(phrase, hint, lambda *a: f(a[0], a[1], grad_fn(*a[:-1]), a[-1]))

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


def check_analytic_gradient(fn) -> Callable:
    """Check a gradient ``fn(X, Theta, Y, R, lam=0.0) -> (X_grad, Theta_grad)``.

    Parameters
    ----------
    fn : callable
        Returns ``X_grad = E @ Theta + lam * X`` of shape (n_movies, k) and
        ``Theta_grad = E.T @ X + lam * Theta`` of shape (n_users, k), where
        ``E = np.where(R, X @ Theta.T - Y, 0)`` (Y may hold NaN where R is 0, as in one case).

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.gradient`, else a StandIn
        that runs :func:`cflib.gradient` and says so.
    """
    names = ("X_grad", "Theta_grad")
    cases = cases_from(dense_cases() + more_dense_cases())

    def data(X, T, Y, R):
        E = masked_errors(X, T, Y, R)
        return E @ T, E.T @ X

    mistakes = _gradient_mistakes(data) + [
        Mistake("also counts the unrated entries (the mask R is not applied)",
                 "only rated entries count: E = np.where(R, X @ Theta.T - Y, 0)",
                 lambda X, T, Y, R, lam: ((X @ T.T - Y) @ T + lam * X, (X @ T.T - Y).T @ X + lam * T)),
        Mistake("is NaN on the problem whose Y holds NaN where R is 0: NaN * 0 is NaN, so E = (X @ Theta.T - Y) "
                "* R keeps them (cflib allows any placeholder where R is 0)",
                "E = np.where(R, X @ Theta.T - Y, 0) never reads Y where R is 0",
                _times_r(lambda X, T, Y, R, E, lam: (E @ T + lam * X, E.T @ X + lam * T))),
        Mistake("uses E where E.T is needed (or the reverse): X and Theta are swapped",
                 "X_grad = E @ Theta (n_movies, k) and Theta_grad = E.T @ X (n_users, k), with E (n_movies, n_users)",
                 lambda X, T, Y, R, lam: (masked_errors(X, T, Y, R).T @ T + lam * X,
                                          masked_errors(X, T, Y, R) @ X + lam * T)),
        Mistake("uses Theta @ X.T where the predictions are X @ Theta.T",
                 "X is (n_movies, k) and Theta is (n_users, k); X @ Theta.T has the shape of Y, (n_movies, n_users)",
                 lambda X, T, Y, R, lam: (np.where(R, T @ X.T - Y, 0.0) @ T + lam * X,
                                          np.where(R, T @ X.T - Y, 0.0).T @ X + lam * T)),
    ]
    spec = CheckSpec(
        name="check_analytic_gradient", signature="X, Theta, Y, R, lam=0.0", ref_name="cflib.gradient", reference=ref_gradient, cases=cases,
        parts=names, split=_nan_as_inf(lambda out, case: pair(out, names)), mistakes=mistakes,
        shape_hint=grad_shape_hint(names),
        lam_hint="the penalty lam/2 * sum(X**2) adds lam * X to X_grad (and lam * Theta to Theta_grad)",
        data_hint="X_grad = E @ Theta + lam * X, Theta_grad = E.T @ X + lam * Theta, with "
                  "E = np.where(R, X @ Theta.T - Y, 0)",
        later=_GRADIENT_LATER,
    )
    return run(spec, fn)


def check_cost_sparse(fn) -> Callable:
    """Check a sparse cost ``fn(X, Theta, movies, users, ratings, lam=0.0) -> float``.

    The coordinates come in no particular order and a movie or user may
    appear many times (or never).

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.cost_sparse`, else a StandIn
        that runs :func:`cflib.cost_sparse` and says so.
    """
    cases = cases_from(sparse_cases() + [scale_case(43)])
    mistakes = _cost_mistakes(sparse_errors) + [
        Mistake("averages the squared errors instead of summing them",
                 "use sum, not mean: J = 1/2 * sum(errors**2) + ...",
                 lambda X, T, m, u, r, lam: 0.5 * np.mean(sparse_errors(X, T, m, u, r) ** 2) + lam * penalty(X, T)),
        Mistake("indexes X with users and Theta with movies",
                 "the prediction of rating t is X[movies[t]] @ Theta[users[t]]",
                 lambda X, T, m, u, r, lam: 0.5 * np.sum((np.sum(X[u] * T[m], axis=1) - r) ** 2) + lam * penalty(X, T)),
    ]
    spec = CheckSpec(
        name="check_cost_sparse", signature="X, Theta, movies, users, ratings, lam=0.0", ref_name="cflib.cost_sparse", reference=ref_cost_sparse, cases=cases,
        parts=("the cost",), split=lambda out, case: (scalar(out, "the cost (one number)"),),
        mistakes=mistakes,
        lam_hint="the penalty is lam/2 * (sum(X**2) + sum(Theta**2)), over all rows of X and Theta",
        data_hint="errors = sum(X[movies] * Theta[users], axis=1) - ratings; J = 1/2 * sum(errors**2) + the penalty",
    )
    wrapped = at_scale(fn, "the cost")
    got = run(spec, wrapped)
    return fn if got is wrapped else got


def check_gradient_sparse(fn) -> Callable:
    """Check a sparse gradient ``fn(X, Theta, movies, users, ratings, lam=0.0) -> (X_grad, Theta_grad)``.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.gradient_sparse`, else a StandIn
        that runs :func:`cflib.gradient_sparse` and says so.
    """
    names = ("X_grad", "Theta_grad")
    cases = cases_from(sparse_cases() + [scale_case(47)])

    def data(X, T, m, u, r):
        e = sparse_errors(X, T, m, u, r)
        Xg, Tg = np.zeros_like(X), np.zeros_like(T)
        np.add.at(Xg, m, e[:, None] * T[u])
        np.add.at(Tg, u, e[:, None] * X[m])
        return Xg, Tg

    def no_accumulate(X, T, m, u, r, lam):
        e = sparse_errors(X, T, m, u, r)
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
        Mistake("loses repeated indices (X_grad[movies] += ... adds each row once)",
                 "fancy-index += keeps only one of the repeated rows; use np.add.at(X_grad, movies, ...) "
                 "or np.bincount",
                 no_accumulate),
        Mistake("indexes X with users and Theta with movies",
                 "the prediction of rating t is X[movies[t]] @ Theta[users[t]]",
                 swapped_indices),
        Mistake("indexes with users where movies are needed (X and Theta swapped)",
                 "X_grad collects rows at movies, Theta_grad at users",
                 swapped),
    ]
    spec = CheckSpec(
        name="check_gradient_sparse", signature="X, Theta, movies, users, ratings, lam=0.0", ref_name="cflib.gradient_sparse", reference=ref_gradient_sparse,
        cases=cases, parts=names, split=lambda out, case: pair(out, names), mistakes=mistakes,
        shape_hint=grad_shape_hint(names),
        lam_hint="the penalty lam/2 * sum(X**2) adds lam * X to X_grad (and lam * Theta to Theta_grad), every row",
        data_hint="add e[t] * Theta[users[t]] to row movies[t] of X_grad and e[t] * X[movies[t]] to row users[t] "
                  "of Theta_grad (np.add.at)",
        later="no later cell uses it (cflib.gradient_sparse stands in if you call it)",
    )
    wrapped = at_scale(fn, "the gradient")
    got = run(spec, wrapped)
    return fn if got is wrapped else got



# ------------------------------------------------------------ one user
def check_user_gradient(fn) -> Callable:
    """Check ``fn(j, X, Theta, Y, R, lam=0.0) -> theta_grad`` of shape (k,).

    ``theta_grad = sum over the movies i user j rated of e_ij * X[i] + lam * Theta[j]``,
    row j of the full ``Theta_grad``.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.objective.user_gradient`, else a StandIn
        that runs that function and says so.
    """
    cases = []  # more_dense_cases: k=5 with more users than movies, and NaN in Y where R is 0
    for n, (label, (X, Theta, Y, R), lam) in enumerate(dense_cases() + more_dense_cases()):
        n_users = Theta.shape[0]
        unrated = np.flatnonzero(~np.asarray(R, bool).any(axis=0))  # the user rated by nobody, where there is one
        j = int(unrated[0]) if unrated.size else (n_users - 1 if n % 2 else n % n_users)
        cases.append(Case(f"user j={j} of {label}", (j, X, Theta, Y, R, lam), lam))

    def errors_of(j, X, T, Y, R):
        return np.where(R[:, j], X @ T[j] - Y[:, j], 0.0)  # (n_movies,)

    def shape_hint(p, got, exp):
        k = exp[0][0]
        if len(got[0]) == 2 and got[0][1] == k and got[0][0] != 1:
            return "return only user j's row, shape (k,), not the whole Theta_grad"
        if len(got[0]) == 2:
            return "theta_grad is 1-D, shape (k,): use .ravel() or a 1-D product"
        return "theta_grad has one entry per feature: shape (k,)"

    spec = CheckSpec(
        name="check_user_gradient", signature="j, X, Theta, Y, R, lam=0.0", ref_name="cflib.objective.user_gradient",
        reference=lazy("objective", "user_gradient"), cases=cases, parts=("theta_grad",),
        split=_nan_as_inf(lambda out, case: (array(out, "theta_grad"),), y_at=3),
        mistakes=[
            Mistake("is NaN on the problem whose Y holds NaN where R is 0: NaN * 0 is NaN, so multiplying the "
                    "errors by R[:, j] keeps them (cflib allows any placeholder where R is 0)",
                    "keep only the rated movies, rated = R[:, j]; e = X[rated] @ Theta[j] - Y[rated, j], or "
                    "np.where(R[:, j], X @ Theta[j] - Y[:, j], 0)",
                    lambda j, X, T, Y, R, lam: _times_r(lambda X, T, Y, R, E, lam: E[:, j] @ X + lam * T[j])(
                        X, T, Y, R, lam)),
            Mistake("also counts the movies user j did not rate (the mask R[:, j] is not applied)",
                    "keep only the rated movies: rated = R[:, j]; e = X[rated] @ Theta[j] - Y[rated, j]",
                    lambda j, X, T, Y, R, lam: (X @ T[j] - Y[:, j]) @ X + lam * T[j]),
            Mistake("misses lam * Theta[j]", "add the penalty's derivative, lam * Theta[j]",
                    lambda j, X, T, Y, R, lam: errors_of(j, X, T, Y, R) @ X),
            Mistake("has the errors with the wrong sign",
                    "the error is prediction minus rating: e = X[rated] @ Theta[j] - Y[rated, j]",
                    lambda j, X, T, Y, R, lam: -errors_of(j, X, T, Y, R) @ X + lam * T[j]),
            Mistake("is exactly twice the right value",
                    "the 1/2 in J cancels the 2 of the square: sum e_ij * X[i] + lam * Theta[j]",
                    lambda j, X, T, Y, R, lam: 2 * (errors_of(j, X, T, Y, R) @ X + lam * T[j])),
            Mistake("is the gradient of movie j (row j of Y), not of user j (column j)",
                    "user j is column j: use R[:, j] and Y[:, j], and sum rows of X",
                    lambda j, X, T, Y, R, lam: np.where(R[j], X[j] @ T.T - Y[j], 0.0) @ T + lam * X[j]),
            Mistake("is the gradient of user j - 1, an off-by-one in the user index",
                    "Python counts from 0: user j is column j of Y and R and row j of Theta, with no - 1",
                    lambda j, X, T, Y, R, lam: errors_of(j - 1, X, T, Y, R) @ X + lam * T[j - 1]),
            Mistake("is the gradient of user j + 1, an off-by-one in the user index",
                    "Python counts from 0: user j is column j of Y and R and row j of Theta, with no + 1",
                    lambda j, X, T, Y, R, lam: errors_of(j + 1, X, T, Y, R) @ X + lam * T[j + 1]),
        ],
        shape_hint=shape_hint,
        lam_hint="add lam * Theta[j], the derivative of lam/2 * |theta_j|**2",
        later="the rest of this cell will use cflib.objective.user_gradient",
        error_hint="user j is column j: R[:, j] and Y[:, j] have shape (n_movies,); X[rated] is (n_j, k)",
        data_hint="theta_grad = e @ X[rated] + lam * Theta[j], with rated = R[:, j] and "
                  "e = X[rated] @ Theta[j] - Y[rated, j]",
    )
    return run(spec, fn)


