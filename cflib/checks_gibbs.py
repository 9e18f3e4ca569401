r"""Self-check for the Gibbs exercise of notebook 11: one row's conditional draw.

``check_sample_row(fn)`` checks a learner's ``fn(F, t, alpha, mu, lam, rng) -> w``
of shape (d,), one draw from

.. math::

    w \sim \mathcal N(m, A^{-1}), \qquad A = \alpha F^T F + \operatorname{diag}(\lambda),
    \qquad A m = \alpha F^T t + \lambda \odot \mu .

A draw is random, so it cannot be compared entry by entry. The check calls
``fn`` ``N_DRAWS`` times with one fixed generator (``np.random.default_rng``
of the case's seed), estimates the mean and the covariance of the draws, and
compares each with the closed form of the right sampler and of every typical
mistake (:func:`cflib.gibbs.row_moments` with the mistake built in): an
estimate *is* a candidate's moment when it lies within ``Z_MAX`` standard
errors of it, entry by entry. Then the engine of :mod:`cflib.checks` decides and
diagnoses as for any other exercise (the estimate is replaced by the exact
moment it matched, so the engine's exact comparison applies). The test cases
are built so that every mistake is many standard errors away from the right
answer (``tests/test_checks_gibbs.py`` asserts it).

Diagnosed: the precision used as the covariance, a missing alpha, the prior
mean forgotten, the Cholesky factor transposed, and no noise at all.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .checks import _Case, _Invalid, _Mistake, _Spec, _close, _diagnose, _name, _outcome
from .gibbs import row_moments, sample_row

__all__ = ["check_sample_row", "N_DRAWS", "Z_MAX"]

#: Calls of the learner's sampler per test case.
N_DRAWS = 4000
#: An estimate matches a moment when within this many standard errors of it, entry by entry.
Z_MAX = 5.0


class _Moments(dict):
    """Exact moments (a reference's or a mistake's): keys ``mean`` (d,) and ``cov`` (d, d)."""


def _exact(mean_cov) -> _Moments:
    mean, cov = mean_cov
    return _Moments(mean=np.asarray(mean, float), cov=np.asarray(cov, float))


def _precision(F, alpha, lam):
    return alpha * F.T @ F + np.diag(lam)


def _reference(F, t, alpha, mu, lam, seed):
    return _exact(row_moments(F, t, alpha, mu, lam))


def _precision_as_cov(F, t, alpha, mu, lam, seed):
    return _Moments(mean=row_moments(F, t, alpha, mu, lam)[0], cov=_precision(F, alpha, lam))


def _no_alpha(F, t, alpha, mu, lam, seed):
    return _exact(row_moments(F, t, 1.0, mu, lam))


def _no_prior_mean(F, t, alpha, mu, lam, seed):
    return _Moments(mean=row_moments(F, t, alpha, np.zeros_like(mu), lam)[0],
                    cov=row_moments(F, t, alpha, mu, lam)[1])


def _transposed(F, t, alpha, mu, lam, seed):
    Linv = np.linalg.inv(np.linalg.cholesky(_precision(F, alpha, lam)))
    return _Moments(mean=row_moments(F, t, alpha, mu, lam)[0], cov=Linv @ Linv.T)


def _no_noise(F, t, alpha, mu, lam, seed):
    mean = row_moments(F, t, alpha, mu, lam)[0]
    return _Moments(mean=mean, cov=np.zeros((mean.size, mean.size)))


MISTAKES = [
    _Mistake("is the precision A, not its inverse: the noise was multiplied by the Cholesky factor L",
             "with A = L L^T, the draw is m + solve(L.T, z): Cov(L^-T z) = (L L^T)^-1 = A^-1, while L z has "
             "covariance A", _precision_as_cov),
    _Mistake("matches alpha = 1: the noise precision alpha is missing",
             "A = alpha * F.T @ F + np.diag(lam) and b = alpha * F.T @ t + lam * mu: alpha scales both data terms",
             _no_alpha),
    _Mistake("ignores the prior mean mu",
             "the prior adds lam * mu to the right-hand side: b = alpha * F.T @ t + lam * mu", _no_prior_mean),
    _Mistake("is (L^T L)^-1, not (L L^T)^-1: the Cholesky factor is transposed",
             "np.linalg.cholesky gives the lower L with A = L @ L.T; the draw is m + solve(L.T, z), not solve(L, z)",
             _transposed),
    _Mistake("is zero: the function returns the mean without any noise",
             "add the noise: draw z = rng.standard_normal(d) and return m + solve(L.T, z)", _no_noise),
]


def _cases():
    cases = []
    # The data seeds were picked so that every mistake is >= 25 standard errors off (see the tests).
    for label, n, alpha, mu, lam, data_seed, seed in (
            ("a movie with 5 ratings and 3 coordinates", 5, 4.0, [1.5, -2.0, 0.8], [2.0, 5.0, 1.0], 311, 11),
            ("a user with 6 ratings and 2 coordinates", 6, 2.5, [-1.0, 3.0], [3.0, 0.3], 331, 12)):
        rng = np.random.default_rng(data_seed)
        F = rng.standard_normal((n, len(mu))) + 0.6  # correlated columns: A is far from diagonal
        t = rng.normal(0.5, 1.0, n)
        cases.append(_Case(label, (F, t, alpha, np.array(mu), np.array(lam), seed)))
    return cases


def _candidates(args):
    return [_reference(*args)] + [m.fn(*args) for m in MISTAKES]


def _agree(estimate, exact, se):
    tol = Z_MAX * se + 1e-9 * (1.0 + np.abs(exact))
    return estimate.shape == exact.shape and bool(np.all(np.abs(estimate - exact) <= tol))


def _snap(draws: np.ndarray, case: _Case) -> tuple:
    """(mean, cov) of the draws, each replaced by the candidate moment it statistically equals.

    The standard errors are those of the estimates themselves (from the draws'
    own variances), so a candidate with a large covariance does not widen the
    tolerance of the mean.
    """
    n, d = draws.shape
    mean_hat = draws.mean(axis=0)
    cov_hat = np.cov(draws, rowvar=False).reshape(d, d)
    var = np.diag(cov_hat)
    se_mean = np.sqrt(var / n)
    se_cov = np.sqrt((np.outer(var, var) + cov_hat ** 2) / n)
    mean, cov = mean_hat, cov_hat
    for c in _candidates(case.args):
        if mean is mean_hat and _agree(mean_hat, c["mean"], se_mean):
            mean = c["mean"]
        if cov is cov_hat and _agree(cov_hat, c["cov"], se_cov):
            cov = c["cov"]
    return mean, cov


def _split(out, case: _Case) -> tuple:
    if isinstance(out, _Moments):
        return out["mean"], out["cov"]
    return _snap(out, case)


def _drawer(fn) -> Callable:
    """Run the learner's sampler N_DRAWS times with one generator of the case's seed; the (N, d) draws."""

    def draws(F, t, alpha, mu, lam, seed):
        rng = np.random.default_rng(seed)
        d = mu.size
        out = np.empty((N_DRAWS, d))
        for s in range(N_DRAWS):
            w = fn(F, t, alpha, mu, lam, rng)
            if w is None:
                raise _Invalid("returned None instead of the draw w: is the `return` statement missing?")
            w = np.asarray(w, dtype=float)
            if w.shape != (d,):
                raise _Invalid(f"returned an array of shape {w.shape} instead of one draw w of shape ({d},)")
            out[s] = w
        return out

    return draws


def _catch_invalid(drawer) -> Callable:
    def run(*args):
        try:
            return drawer(*args)
        except _Invalid as exc:
            return _InvalidResult(str(exc))
    return run


class _InvalidResult(str):
    pass


def _split_checked(out, case):
    if isinstance(out, _InvalidResult):
        raise _Invalid(str(out))
    return _split(out, case)


def check_sample_row(fn) -> Callable:
    r"""Check ``fn(F, t, alpha, mu, lam, rng) -> w``, one draw of a row from its Gaussian conditional.

    Parameters of ``fn``: F (n, d) the partners' rows, t (n,) the targets,
    alpha the noise precision, mu and lam (d,) the prior mean and (diagonal)
    precision, rng a ``numpy.random.Generator`` to draw the noise from.

    Prints one line (PASS, not implemented yet, or FAIL with the diagnosis).

    Returns
    -------
    callable
        ``fn`` if its draws have the mean and covariance of
        :func:`cflib.gibbs.sample_row`, else that function.
    """
    spec = _Spec(
        name="check_sample_row", signature="F, t, alpha, mu, lam, rng", ref_name="cflib.gibbs.sample_row",
        reference=_reference, cases=_cases(), parts=("the mean of your draws", "the covariance of your draws"),
        split=_split_checked, mistakes=MISTAKES,
        data_hint="A = alpha * F.T @ F + np.diag(lam), b = alpha * F.T @ t + lam * mu, L = np.linalg.cholesky(A), "
                  "m = np.linalg.solve(A, b), w = m + np.linalg.solve(L.T, rng.standard_normal(d))",
        error_hint="F is (n, d), t is (n,), mu and lam are (d,): A = alpha * F.T @ F + np.diag(lam) is (d, d)",
    )
    later = f"later cells will use {spec.ref_name}"
    if not callable(fn):
        print(f"{spec.name}: FAIL - expected a function, got {type(fn).__name__}; {later}.")
        return sample_row
    learner = [_outcome(_catch_invalid(_drawer(fn)), c, spec.split) for c in spec.cases]
    if any(k == "todo" for k, _ in learner):
        print(f"{spec.name}: not implemented yet - {later}.")
        return sample_row
    expected = [_outcome(spec.reference, c, spec.split) for c in spec.cases]
    if all(k == "value" and all(_close(g, e) for g, e in zip(v, ev[1])) for (k, v), ev in zip(learner, expected)):
        print(f"{spec.name}: PASS - the draws of {_name(fn)} have the mean and covariance of {spec.ref_name} "
              f"({N_DRAWS} draws on each of {len(spec.cases)} test cases).")
        return fn
    print(f"{spec.name}: FAIL - {_diagnose(spec, learner, expected)} Until it passes, {later}.")
    return sample_row
