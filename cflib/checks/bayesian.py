r"""Checks of part 8 (notebook 11): one row's conditional draw in the Gibbs sampler.

``check_sample_row(fn)`` checks a learner's ``fn(F, t, tau, nu, lam, rng) -> w``
of shape (d,), one draw from

.. math::

    w \sim \mathcal N(A^{-1} h, A^{-1}), \qquad A = \tau F^T F + \operatorname{diag}(\lambda),
    \qquad h = \tau F^T t + \lambda \odot \nu ,

with ``tau`` the noise precision and ``nu`` the row's prior mean (the course's
glossary: ``alpha`` is notebook 10's confidence slope, ``mu`` the global mean).

A draw is random, so it cannot be compared entry by entry. The check calls
``fn`` ``N_DRAWS`` times with one fixed generator (``np.random.default_rng``
of the case's seed), estimates the mean and the covariance of the draws, and
compares each with the closed form of the right sampler and of every typical
mistake (:func:`cflib.gibbs.row_moments` with the mistake built in): an
estimate *is* a candidate's moment when it lies within ``Z_MAX`` standard
errors of it, entry by entry. Then the engine (:func:`cflib.checks.engine.run`)
decides and diagnoses as for any other exercise (the estimate is replaced by
the exact moment it matched, so the engine's exact comparison applies). The
N_DRAWS calls of one case run as one guarded call: the learner's function gets
copies of the case's arrays, the time limit covers all the draws of a case,
and what it prints is captured. The test cases
are built so that every mistake is many standard errors away from the right
answer (``tests/test_checks_gibbs.py`` asserts it).

The first draws are repeated with a new generator of the same seed and must
come out the same: a sampler that ignores ``rng`` (``np.random``, a generator
of its own) cannot be repeated, and FAILs with that diagnosis. A sampler that
changes F, t, nu or lam in place (``nu *= lam``) FAILs with a line naming the
argument: it is called N_DRAWS times on the same arrays.

The draws must be Gaussian, not only have the right mean and covariance:
whitened with their own mean and covariance, their Mardia kurtosis and
skewnesses must be within ``Z_SHAPE`` standard errors of a Gaussian's
(:func:`_shape`); uniform or +-1 noise scaled to unit variance is far off.
A complex or text draw is refused like any other check's result.

Diagnosed: the precision used as the covariance, a missing tau (everywhere, in A only or in h only), the prior
mean forgotten, the Cholesky factor transposed, no noise at all, and noise
that is not Gaussian.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Mistake, _refuse_text_and_complex, case_rng, lazy, low_precision, run
from .guard import Invalid, StandIn, _TimeUp, _first_line

__all__ = ["check_sample_row", "N_DRAWS", "Z_MAX"]

#: Calls of the learner's sampler per test case.
N_DRAWS = 4000
#: Draws repeated with a second generator of the same seed, which must give the same numbers.
N_REPEAT = 3
#: An estimate matches a moment when within this many standard errors of it, entry by entry.
Z_MAX = 5.0
#: The draws' shape is Gaussian when Mardia's kurtosis and every skewness of the whitened draws are within
#: this many standard errors of a Gaussian's (10^5 right samplers never went past 5; uniform noise is ~18 off).
Z_SHAPE = 8.0


def row_moments(F, t, tau, nu, lam):
    """:func:`cflib.gibbs.row_moments`, imported when a check runs (keeps the import graph light)."""
    return lazy("gibbs", "row_moments")(F, t, tau, nu, lam)


class _Moments(dict):
    """Exact moments (a reference's or a mistake's): keys ``mean`` (d,), ``cov`` (d, d) and, when the draws are
    not Gaussian, ``shape`` (what :func:`_shape` gives them)."""


def _gaussian_shape(d: int) -> np.ndarray:
    """[Mardia's kurtosis, the largest |skewness|] of Gaussian draws in d dimensions: [d (d + 2), 0]."""
    return np.array([d * (d + 2.0), 0.0])


def _exact(mean_cov) -> _Moments:
    mean, cov = mean_cov
    return _Moments(mean=np.asarray(mean, float), cov=np.asarray(cov, float))


def _precision(F, tau, lam):
    return tau * F.T @ F + np.diag(lam)


def _reference(F, t, tau, nu, lam, seed):
    return _exact(row_moments(F, t, tau, nu, lam))


def _precision_as_cov(F, t, tau, nu, lam, seed):
    return _Moments(mean=row_moments(F, t, tau, nu, lam)[0], cov=_precision(F, tau, lam))


def _no_tau(F, t, tau, nu, lam, seed):
    return _exact(row_moments(F, t, 1.0, nu, lam))


def _tau_only_in_A(F, t, tau, nu, lam, seed):
    A = _precision(F, tau, lam)
    return _Moments(mean=np.linalg.solve(A, F.T @ t + lam * nu), cov=np.linalg.inv(A))


def _tau_only_in_h(F, t, tau, nu, lam, seed):
    return _Moments(mean=np.linalg.solve(_precision(F, 1.0, lam), tau * F.T @ t + lam * nu),
                    cov=row_moments(F, t, 1.0, nu, lam)[1])


def _no_prior_mean(F, t, tau, nu, lam, seed):
    return _Moments(mean=row_moments(F, t, tau, np.zeros_like(nu), lam)[0],
                    cov=row_moments(F, t, tau, nu, lam)[1])


def _transposed(F, t, tau, nu, lam, seed):
    Linv = np.linalg.inv(np.linalg.cholesky(_precision(F, tau, lam)))
    return _Moments(mean=row_moments(F, t, tau, nu, lam)[0], cov=Linv @ Linv.T)


def _no_noise(F, t, tau, nu, lam, seed):
    mean = row_moments(F, t, tau, nu, lam)[0]
    return _Moments(mean=mean, cov=np.zeros((mean.size, mean.size)), shape=np.zeros(2))


MISTAKES = [
    Mistake("is the precision A, not its inverse: the noise was multiplied by the Cholesky factor L",
             "with A = L L^T, the draw is m + solve(L.T, z): Cov(L^-T z) = (L L^T)^-1 = A^-1, while L z has "
             "covariance A", _precision_as_cov),
    Mistake("matches tau = 1: the noise precision tau is missing",
             "A = tau * F.T @ F + np.diag(lam) and h = tau * F.T @ t + lam * nu: tau scales both data terms",
             _no_tau),
    Mistake("is what h = F.T @ t + lam * nu gives: tau is missing on the data term of h (it is in A)",
             "tau scales both data terms, F.T @ F in A and F.T @ t in h: h = tau * F.T @ t + lam * nu", _tau_only_in_A),
    Mistake("is what A = F.T @ F + np.diag(lam) gives: tau is missing in A (it is in h)",
             "tau scales both data terms, F.T @ F in A and F.T @ t in h: A = tau * F.T @ F + np.diag(lam)",
             _tau_only_in_h),
    Mistake("ignores the prior mean nu",
             "the prior adds lam * nu to the right-hand side: h = tau * F.T @ t + lam * nu", _no_prior_mean),
    Mistake("is (L^T L)^-1, not (L L^T)^-1: the Cholesky factor is transposed",
             "np.linalg.cholesky gives the lower L with A = L @ L.T; the draw is m + solve(L.T, z), not solve(L, z)",
             _transposed),
    Mistake("is zero: the function returns the mean without any noise",
             "add the noise: draw z = rng.standard_normal(d) and return m + solve(L.T, z)", _no_noise),
]


def _cases():
    cases = []
    # The data seeds were picked so that every mistake is >= 25 standard errors off (see the tests).
    for label, n, tau, nu, lam, data_seed, seed in (
            ("a movie with 5 ratings and 3 coordinates", 5, 4.0, [1.5, -2.0, 0.8], [2.0, 5.0, 1.0], 311, 11),
            ("a user with 6 ratings and 2 coordinates", 6, 2.5, [-1.0, 3.0], [3.0, 0.3], 331, 12)):
        rng = case_rng(data_seed)
        F = rng.standard_normal((n, len(nu))) + 0.6  # correlated columns: A is far from diagonal
        t = rng.normal(0.5, 1.0, n)
        cases.append(Case(label, (F, t, tau, np.array(nu), np.array(lam), seed)))
    return cases


def _candidates(args):
    return [_reference(*args)] + [m.fn(*args) for m in MISTAKES]


def _agree(estimate, exact, se):
    tol = Z_MAX * se + 1e-9 * (1.0 + np.abs(exact))
    return estimate.shape == exact.shape and bool(np.all(np.abs(estimate - exact) <= tol))


def _snap(draws: np.ndarray, case: Case) -> tuple:
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


def _shape(draws: np.ndarray) -> np.ndarray:
    """[Mardia's kurtosis, the largest |skewness|] of the whitened draws, or the Gaussian's when close to it.

    The draws are whitened with their own mean and covariance, so only the shape is left: Gaussian noise
    gives kurtosis d (d + 2) and skewness 0, within :data:`Z_SHAPE` standard errors; uniform or +-1 noise
    scaled to the right covariance has the right mean and covariance but a kurtosis far below.
    """
    n, d = draws.shape
    gaussian = _gaussian_shape(d)
    centred = draws - draws.mean(axis=0)
    try:
        L = np.linalg.cholesky(centred.T @ centred / (n - 1))
    except np.linalg.LinAlgError:  # no noise, or noise in fewer dimensions: no shape to speak of
        return np.zeros(2)
    z = np.linalg.solve(L, centred.T).T
    kurtosis = float(np.mean(np.sum(z * z, axis=1) ** 2))
    skew = float(np.max(np.abs(np.mean(z ** 3, axis=0))))
    if abs(kurtosis - gaussian[0]) <= Z_SHAPE * np.sqrt(8 * gaussian[0] / n) and skew <= Z_SHAPE * np.sqrt(6 / n):
        return gaussian
    return np.array([kurtosis, skew])


def _split(out, case: Case) -> tuple:
    if isinstance(out, _Moments):
        return out["mean"], out["cov"], out.get("shape", _gaussian_shape(out["mean"].size))
    parts = (*_snap(out, case), _shape(out))
    if low_precision(out):  # the learner's draws were float32: say so, as every check does
        parts = tuple(np.asarray(p, dtype=out.dtype) for p in parts)
    return parts


def _explain(p, got, exp, case):
    if p != 2:
        return None
    n, d = N_DRAWS, int(round(-1 + np.sqrt(1 + exp[0])))
    if not np.any(got):
        return (f"has no spread in some direction: your draws lie on a line or a plane (on {case.label}); draw "
                f"all {d} coordinates of z = rng.standard_normal({d}) and return m + solve(L.T, z)")
    return (f"is not Gaussian: whitened, your draws have a kurtosis of {got[0]:.2f} and a largest skewness of "
            f"{got[1]:.2f}, where Gaussian draws have {exp[0]:g} +- {np.sqrt(8 * exp[0] / n):.2f} and 0 +- "
            f"{np.sqrt(6 / n):.2f} (on {case.label}): noise with the right mean and covariance but another "
            f"distribution (uniform noise, for instance) is not enough; draw z = rng.standard_normal({d}) and return m + solve(L.T, z)")


def _one_draw(w, d: int) -> np.ndarray:
    """One draw of the learner's as a (d,) float array; :class:`Invalid` when it is not one (text, complex)."""
    if w is None:
        raise Invalid("returned None instead of the draw w: is the `return` statement missing?")
    _refuse_text_and_complex(w, f"the draw w, an array of shape ({d},)")
    try:
        w = np.asarray(w, dtype=float)
    except Exception as exc:  # a string, or an object whose __array__ raises
        raise Invalid(f"returned a {type(w).__name__} that cannot be read as the draw w, an array of shape "
                      f"({d},) ({type(exc).__name__}: {_first_line(exc, 80)})") from None
    if w.shape != (d,):
        raise Invalid(f"returned an array of shape {w.shape} instead of one draw w of shape ({d},)")
    return w


def _unchanged(given: dict, kept: dict) -> None:
    """:class:`Invalid` naming the first argument the sampler changed in place (it is called again and again)."""
    for name, a in given.items():
        if not np.array_equal(a, kept[name], equal_nan=True):
            raise Invalid(f"changed its argument {name} in place, so every later draw used other numbers: "
                          f"work on a copy ({name} = {name}.copy()) or build new arrays "
                          f"(h = tau * F.T @ t + lam * nu, not nu *= lam)")


def _drawer(fn) -> Callable:
    """Run the learner's sampler N_DRAWS times with one generator of the case's seed; the (N, d) draws."""

    def draws(F, t, tau, nu, lam, seed):
        rng = np.random.default_rng(seed)
        d = nu.size
        out = np.empty((N_DRAWS, d))
        given = {"F": F, "t": t, "nu": nu, "lam": lam}
        kept = {name: a.copy() for name, a in given.items()}
        s, low = 0, None
        try:
            for s in range(N_DRAWS):
                w = fn(F, t, tau, nu, lam, rng)
                if s == 0 and low_precision(w):
                    low = np.asarray(w).dtype  # float32 draws: the moments are compared as float32, with its note
                out[s] = _one_draw(w, d)
                if s == 0 or s == N_DRAWS - 1:
                    _unchanged(given, kept)
        except _TimeUp:
            if s == 0:  # not even one draw came back
                raise
            raise _TimeUp(f" for the {N_DRAWS} draws of one case, although the first draws came back: each draw "
                          "is too slow (a right one takes well under a millisecond here); look for work repeated "
                          "on every call, or set a longer limit with checks.set_time_limit") from None
        if np.all(out == out[0]) and not any(np.allclose(out[0], c["mean"]) for c in
                                             _candidates((F, t, tau, nu, lam, seed))):
            raise Invalid("returned the same w on every call, and it is no mean either: the noise must change "
                          "from draw to draw, so draw it from the rng argument on each call "
                          "(z = rng.standard_normal(d)), not from a generator created inside the function")
        again = np.random.default_rng(seed)  # the same generator again must give the same first draws
        for s in range(N_REPEAT):
            if not np.array_equal(_one_draw(fn(F, t, tau, nu, lam, again), d), out[s]):
                raise Invalid("drew other numbers from a new generator with the same seed: draw the noise from "
                              "the rng argument (z = rng.standard_normal(d)), not from np.random or a generator "
                              "of your own, so that a seeded chain can be repeated")
        return out if low is None else out.astype(low)

    draws.__name__ = getattr(fn, "__name__", "your function")
    return draws


def check_sample_row(fn) -> Callable:
    r"""Check ``fn(F, t, tau, nu, lam, rng) -> w``, one draw of a row from its Gaussian conditional.

    Parameters of ``fn`` (passed by position): F (n, d) the partners' rows, t (n,)
    the targets, tau the noise precision, nu and lam (d,) the prior mean and
    (diagonal) precision, rng a ``numpy.random.Generator`` to draw the noise from;
    w has shape (d,) and is distributed as :math:`\mathcal N(A^{-1}h, A^{-1})` with
    :math:`A = \tau F^T F + \operatorname{diag}(\lambda)`,
    :math:`h = \tau F^T t + \lambda \odot \nu`.

    Prints one line (PASS, not implemented yet, or FAIL with the diagnosis).

    Returns
    -------
    callable
        ``fn`` if its draws have the mean and covariance of
        :func:`cflib.gibbs.sample_row`, else a StandIn that runs that function
        and says so.
    """
    spec = CheckSpec(
        name="check_sample_row", signature="F, t, tau, nu, lam, rng", ref_name="cflib.gibbs.sample_row",
        reference=_reference, cases=_cases(),
        parts=("the mean of your draws", "the covariance of your draws", "the distribution of your draws"),
        split=_split, mistakes=MISTAKES, explain=_explain,
        data_hint="A = tau * F.T @ F + np.diag(lam), h = tau * F.T @ t + lam * nu, L = np.linalg.cholesky(A), "
                  "m = np.linalg.solve(A, h), w = m + np.linalg.solve(L.T, rng.standard_normal(d))",
        error_hint="F is (n, d), t is (n,), nu and lam are (d,): A = tau * F.T @ F + np.diag(lam) is (d, d)",
    )
    sample_row = lazy("gibbs", "sample_row")
    if isinstance(fn, StandIn) or not callable(fn):
        got = run(spec, fn)  # the engine's one-line FAIL for a stand-in or a non-function
        return got if got is fn else StandIn(sample_row, spec.ref_name, spec.name, got.reason)
    drawer = _drawer(fn)
    got = run(spec, drawer)
    # the engine's stand-in runs the moments; the one handed back draws, as cflib.gibbs.sample_row
    return fn if got is drawer else StandIn(sample_row, spec.ref_name, spec.name, got.reason)
