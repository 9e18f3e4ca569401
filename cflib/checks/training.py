"""Checks of part 4 (notebooks 05-06): training (normalization, one gradient step) and evaluation (RMSE)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Invalid, Mistake, case_rng, close, lazy, pair, run, scalar
from .problems import dense_cases, grad_shape_hint, rating_cases
from ..objective import gradient as ref_gradient

__all__ = ["check_normalize", "check_gradient_descent_step", "check_rmse"]


#: The fallback of normalize_ratings, quoted when a learner's differs.
FALLBACK_RULE = ("a movie nobody rated gets the global mean of all ratings, Y[R].mean(), so that it is "
                 "predicted an average rating")


def check_normalize(fn) -> Callable:
    """Check mean normalization ``fn(Y, R) -> (Y_norm, movie_mean)``.

    ``movie_mean`` (n_movies,) is each movie's mean over its rated entries (the
    global mean of all ratings for a movie nobody rated); ``Y_norm``
    (n_movies, n_users) is ``Y - movie_mean[:, None]`` where R is 1 and 0 elsewhere.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.train.normalize_ratings`, else a StandIn
        that runs that function and says so.
    """
    reference = lazy("train", "normalize_ratings")
    names = ("Y_norm", "movie_mean")
    cases = rating_cases()

    def with_mean(mean_fn, zero_unrated=True):
        def f(Y, R):
            m = mean_fn(Y, R)
            Yn = Y - m[:, None]
            return (np.where(R, Yn, 0.0) if zero_unrated else Yn), m
        return f

    def right_mean(Y, R):
        return reference(Y, R)[1]

    def unmasked_numerator(Y, R):
        """Y.sum(axis=1) / R.sum(axis=1) for the rated movies, the right fallback for the others."""
        counts = R.sum(axis=1)
        return np.where(counts > 0, Y.sum(axis=1) / np.maximum(counts, 1), right_mean(Y, R))

    def empty_zero(Y, R):
        counts = R.sum(axis=1)
        return np.where(counts > 0, np.where(R, Y, 0).sum(axis=1) / np.maximum(counts, 1), 0.0)

    def explain(p, got, exp, case):
        Y, R = case.args
        unrated = R.sum(axis=1) == 0
        if p == 1 and unrated.any() and close(got[~unrated], exp[~unrated]):
            nobody = "movies nobody rated" if unrated.sum() > 1 else "movie nobody rated"
            return (f"is wrong only for the {nobody} (expected {exp[unrated][0]:.6g}, got "
                    f"{got[unrated][0]:.6g}); the rule: {FALLBACK_RULE}")
        return None

    def split(out, case):
        Y_norm, mean = pair(out, names)
        R = np.asarray(case.args[1], bool)
        if Y_norm.shape == R.shape and not np.isnan(mean).any() and np.isnan(Y_norm[~R]).any() \
                and not np.isnan(Y_norm[R]).any():
            raise Invalid("returned a Y_norm with NaN where R is 0: Y_norm must be exactly 0 there, whatever Y "
                          "holds: np.where(R, Y - movie_mean[:, None], 0.0)")
        return Y_norm, mean

    def shape_hint(p, got, exp):
        if p == 1 and got[1] == (exp[1][0], 1):
            return "movie_mean should be 1-D, shape (n_movies,): drop keepdims or use .ravel()"
        if p == 1:
            return "one mean per movie: average along each row of Y (axis=1), over the rated entries"
        return "Y_norm has the shape of Y, (n_movies, n_users)"

    spec = CheckSpec(
        name="check_normalize", signature="Y, R", ref_name="cflib.train.normalize_ratings", reference=reference,
        cases=cases, parts=names, split=split,
        mistakes=[
            Mistake("uses the mean over all entries, Y.mean(axis=1), the unrated ones included",
                    "average over rated entries only: sum of Y where R is 1, divided by R.sum(axis=1)",
                    with_mean(lambda Y, R: Y.mean(axis=1))),
            Mistake("adds up Y where R is 0 too: the numerator of the mean is not masked (Y holds junk there "
                    "in some test cases)",
                    "sum only the rated entries: np.where(R, Y, 0).sum(axis=1) / R.sum(axis=1)",
                    with_mean(lambda Y, R: Y.sum(axis=1) / np.maximum(R.sum(axis=1), 1))),
            Mistake("adds up Y where R is 0 too: the numerator of the mean is not masked (Y holds junk there "
                    "in some test cases)",
                    "sum only the rated entries: np.where(R, Y, 0).sum(axis=1) / R.sum(axis=1)",
                    with_mean(lambda Y, R: unmasked_numerator(Y, R))),
            Mistake("is not 0 where R is 0",
                    "subtract the mean only where R is 1 and leave 0 elsewhere: np.where(R, Y - mean, 0)",
                    with_mean(right_mean, zero_unrated=False)),
            Mistake("gives a movie with no ratings 0 instead of the global mean of all ratings",
                    "for a movie nobody rated use the mean of all ratings, so it is predicted an average rating",
                    with_mean(empty_zero)),
            Mistake("averages per user (down the columns) instead of per movie",
                    "one mean per movie: average along each row (axis=1)",
                    with_mean(lambda Y, R: np.where(R, Y, 0).sum(axis=0) / np.maximum(R.sum(axis=0), 1))),
        ],
        shape_hint=shape_hint,
        nan_hint=f"a movie with no ratings gives 0/0 = NaN; the rule: {FALLBACK_RULE}",
        explain=explain,
        error_hint="Y and R are (n_movies, n_users); the means are taken along each row, axis=1",
        data_hint="movie_mean[i] = mean of Y[i, R[i]]; Y_norm = Y - movie_mean[:, None] where R is 1, 0 elsewhere",
    )
    return run(spec, fn)


def check_gradient_descent_step(fn) -> Callable:
    """Check one gradient-descent step ``fn(X, Theta, Y, R, lam, lr) -> (X_new, Theta_new)``.

    Both gradients are taken at the old ``(X, Theta)``; the inputs must not be
    modified.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.train.gradient_descent_step`, else a StandIn
        that runs that function and says so.
    """
    reference = lazy("train", "gradient_descent_step")
    names = ("X_new", "Theta_new")
    lrs = (0.1, 0.05, 0.02)
    cases = [Case(f"{label}, lr={lrs[i % 3]:g}", (*p, lam, lrs[i % 3]), lam)
             for i, (label, p, lam) in enumerate(dense_cases())]

    def step(sign=-1.0, use_lr=True, lam_used=None, order=None, swap=False):
        def f(X, T, Y, R, lam, lr):
            if swap:
                lam, lr = lr, lam
            lam_ = lam if lam_used is None else lam_used(lam)
            a = lr if use_lr else 1.0
            Xg, Tg = ref_gradient(X, T, Y, R, lam_)
            if order == "X first":
                Xn = X + sign * a * Xg
                return Xn, T + sign * a * ref_gradient(Xn, T, Y, R, lam_)[1]
            if order == "Theta first":
                Tn = T + sign * a * Tg
                return X + sign * a * ref_gradient(X, Tn, Y, R, lam_)[0], Tn
            return X + sign * a * Xg, T + sign * a * Tg
        return f

    spec = CheckSpec(
        name="check_gradient_descent_step", signature="X, Theta, Y, R, lam, lr", ref_name="cflib.train.gradient_descent_step",
        reference=reference, cases=cases, parts=names, split=lambda out, case: pair(out, names),
        mistakes=[
            Mistake("moves uphill (+ lr * gradient)", "descent subtracts: X_new = X - lr * X_grad",
                    step(sign=+1.0)),
            Mistake("ignores lr", "scale the step: X_new = X - lr * X_grad", step(use_lr=False)),
            Mistake("ignores lam", "take the gradient of the regularized cost, with lam",
                    step(lam_used=lambda lam: 0.0)),
            Mistake("swaps lr and lam: lam scales the step and lr regularizes",
                    "the arguments come in the order (X, Theta, Y, R, lam, lr): X_new = X - lr * X_grad, "
                    "with X_grad = E @ Theta + lam * X",
                    step(swap=True)),
            Mistake("uses lam/2 where the gradient has lam * X (the derivative of lam/2 * sum(X**2))",
                    "X_grad = E @ Theta + lam * X and Theta_grad = E.T @ X + lam * Theta, then X - lr * X_grad",
                    step(lam_used=lambda lam: lam / 2)),
            Mistake("is computed from the already updated other matrix",
                    "take both gradients at the old X and Theta first, then update both (simultaneous update)",
                    step(order="X first")),
            Mistake("is computed from the already updated other matrix",
                    "take both gradients at the old X and Theta first, then update both (simultaneous update)",
                    step(order="Theta first")),
            Mistake("is the gradient, not the updated matrix", "return X - lr * X_grad, not X_grad",
                    lambda X, T, Y, R, lam, lr: ref_gradient(X, T, Y, R, lam)),
        ],
        shape_hint=grad_shape_hint(names),
        changed_hints={name: (f"{name} -= ... changes the caller's array: return new arrays, "
                              f"{name}_new = {name} - lr * {name}_grad, so the starting point stays intact")
                       for name in ("X", "Theta")},
        lam_hint="the gradient includes lam * X and lam * Theta",
        data_hint="X_new = X - lr * X_grad and Theta_new = Theta - lr * Theta_grad, both gradients at the old point",
    )
    return run(spec, fn)


def check_rmse(fn) -> Callable:
    """Check ``fn(predictions, actual) -> float``, the root mean squared error.

    The test predictions lie in 1..5, so clipping them or not makes no difference.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.evaluate.rmse`, else a StandIn
        that runs that function and says so.
    """
    reference = lazy("evaluate", "rmse")
    rng = case_rng(17)
    cases = [Case("the fixed 4 predictions", (np.array([3.5, 4.0, 1.5, 2.0]), np.array([4.0, 4.0, 1.0, 3.0])))]
    for n in (7, 50):
        cases.append(Case(f"{n} random predictions",
                           (rng.uniform(1, 5, n), rng.integers(1, 6, n).astype(float))))

    def d(p, a):
        return np.asarray(p, float) - np.asarray(a, float)

    def explain(p, got, exp, case):
        for decimals in range(7):
            if got == np.round(exp, decimals):
                return (f"is rounded to {decimals} decimal{'s' if decimals != 1 else ''} (expected {exp:.6g}, got "
                        f"{got:.6g} on {case.label}): return the full value, and round only where it is printed, "
                        "f\"{rmse:.4f}\"")
        return None

    spec = CheckSpec(
        name="check_rmse", signature="predictions, actual", ref_name="cflib.evaluate.rmse", reference=reference, cases=cases,
        parts=("the RMSE",), split=lambda out, case: (scalar(out, "the RMSE (one number)"),),
        mistakes=[
            Mistake("is the mean squared error: the square root is missing", "RMSE = sqrt(mean((p - a)**2))",
                    lambda p, a: np.mean(d(p, a) ** 2)),
            Mistake("takes the root of the sum, not of the mean", "divide by the number of ratings before sqrt",
                    lambda p, a: np.sqrt(np.sum(d(p, a) ** 2))),
            Mistake("is the mean absolute error", "square the errors: sqrt(mean((p - a)**2))",
                    lambda p, a: np.mean(np.abs(d(p, a)))),
            Mistake("is np.std of the errors, which first subtracts their mean",
                    "a model that is always 1 too high has std 0 but RMSE 1: use sqrt(mean((p - a)**2))",
                    lambda p, a: np.std(d(p, a))),
            Mistake("does not square the errors", "RMSE = sqrt(mean((p - a)**2))",
                    lambda p, a: np.sqrt(np.abs(np.mean(d(p, a))))),
            Mistake("rounds the predictions to whole stars before comparing",
                    "the RMSE measures the predictions as they are: sqrt(mean((predictions - actual)**2)), no np.round",
                    lambda p, a: np.sqrt(np.mean((np.round(np.asarray(p, float)) - np.asarray(a, float)) ** 2))),
            Mistake("divides by n - 1, the correction of a sample variance", "the RMSE is a plain mean over the "
                    "n ratings: sqrt(np.sum((p - a)**2) / n), or np.sqrt(np.mean((p - a)**2))",
                    lambda p, a: np.sqrt(np.sum(d(p, a) ** 2) / (np.size(p) - 1))),
        ],
        explain=explain,
        data_hint="RMSE = sqrt(mean((predictions - actual)**2))",
        error_hint="predictions and actual are 1-D arrays of the same length",
        later="no later cell uses it (cflib.evaluate.rmse stands in if you call it)",
    )
    return run(spec, fn)
