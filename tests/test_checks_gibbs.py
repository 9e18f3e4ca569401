"""check_sample_row: a right sampler passes, each typical mistake gets its own diagnosis."""

import numpy as np
import pytest

from cflib.checks import StandIn, check_sample_row
from cflib.checks.bayesian import MISTAKES, N_DRAWS, Z_MAX, _cases, _reference
from cflib.gibbs import sample_row


def stands_in(got) -> bool:
    """The check returned cflib.gibbs.sample_row wrapped as a stand-in that says so."""
    return isinstance(got, StandIn) and got.reference is sample_row and "stands in" in str(got)


def _parts(F, t, tau, nu, lam):
    A = tau * F.T @ F + np.diag(lam)
    h = tau * F.T @ t + lam * nu
    return A, h, np.linalg.cholesky(A)


def right(F, t, tau, nu, lam, rng):
    A, h, L = _parts(F, t, tau, nu, lam)
    return np.linalg.solve(A, h) + np.linalg.solve(L.T, rng.standard_normal(nu.size))


def right_other_draws(F, t, tau, nu, lam, rng):
    """Right, with a different use of the generator (another normal API): must pass as well."""
    A, h, _ = _parts(F, t, tau, nu, lam)
    return rng.multivariate_normal(np.linalg.solve(A, h), np.linalg.inv(A))


def precision_as_cov(F, t, tau, nu, lam, rng):
    A, h, L = _parts(F, t, tau, nu, lam)
    return np.linalg.solve(A, h) + L @ rng.standard_normal(nu.size)


def no_tau(F, t, tau, nu, lam, rng):
    return right(F, t, 1.0, nu, lam, rng)


def no_prior_mean(F, t, tau, nu, lam, rng):
    A, h, L = _parts(F, t, tau, nu, lam)
    return np.linalg.solve(A, tau * F.T @ t) + np.linalg.solve(L.T, rng.standard_normal(nu.size))


def transposed(F, t, tau, nu, lam, rng):
    A, h, L = _parts(F, t, tau, nu, lam)
    return np.linalg.solve(A, h) + np.linalg.solve(L, rng.standard_normal(nu.size))


def no_noise(F, t, tau, nu, lam, rng):
    A, h, _ = _parts(F, t, tau, nu, lam)
    return np.linalg.solve(A, h)


def too_much_noise(F, t, tau, nu, lam, rng):
    return right(F, t, tau, nu, lam, rng) + 0.3 * rng.standard_normal(nu.size)


def global_generator(F, t, tau, nu, lam, rng):
    """Right in distribution, but the noise comes from np.random, not from rng: cannot be repeated."""
    A, h, L = _parts(F, t, tau, nu, lam)
    return np.linalg.solve(A, h) + np.linalg.solve(L.T, np.random.standard_normal(nu.size))


def test_a_sampler_that_ignores_rng_fails(capsys):
    assert stands_in(check_sample_row(global_generator))
    out = capsys.readouterr().out
    assert out.startswith("check_sample_row: FAIL") and out.count("\n") == 1
    assert "same seed" in out and "rng.standard_normal(d)" in out, out


def own_seeded_generator(F, t, tau, nu, lam, rng):
    """A generator created inside with a fixed seed: the same w on every call, not the mean either."""
    A, h, L = _parts(F, t, tau, nu, lam)
    return np.linalg.solve(A, h) + np.linalg.solve(L.T, np.random.default_rng(0).standard_normal(nu.size))


def test_a_sampler_that_repeats_one_draw_fails(capsys):
    assert stands_in(check_sample_row(own_seeded_generator))
    out = capsys.readouterr().out
    assert out.startswith("check_sample_row: FAIL") and "the same w on every call" in out, out
    assert "without any noise" not in out


def todo(F, t, tau, nu, lam, rng):
    raise NotImplementedError


def wrong_shape(F, t, tau, nu, lam, rng):
    return right(F, t, tau, nu, lam, rng)[None, :]


@pytest.mark.parametrize("fn", [right, right_other_draws, sample_row])
def test_right_samplers_pass(fn, capsys):
    assert check_sample_row(fn) is fn
    out = capsys.readouterr().out
    assert out.startswith("check_sample_row: PASS") and out.count("\n") == 1


@pytest.mark.parametrize("fn, words", [
    (precision_as_cov, ["covariance of your draws", "precision A", "solve(L.T, z)"]),
    (no_tau, ["tau is missing"]),
    (no_prior_mean, ["mean of your draws", "prior mean nu", "lam * nu"]),
    (transposed, ["covariance of your draws", "transposed"]),
    (no_noise, ["covariance of your draws", "without any noise"]),
])
def test_each_mistake_is_diagnosed(fn, words, capsys):
    assert stands_in(check_sample_row(fn))
    out = capsys.readouterr().out
    assert out.startswith("check_sample_row: FAIL") and out.count("\n") == 1
    for w in words:
        assert w in out, (w, out)
    if fn is not no_tau:
        # only the wrong part is blamed
        right_part = "mean" if "covariance of your draws" in words[0] else "covariance"
        if fn is no_noise:  # no spread: the distribution is blamed with the covariance
            assert "the mean of your draws is right, but the covariance of your draws and the distribution" in out
        else:
            assert f"the {right_part} of your draws and the distribution of your draws are right" in out


def test_unknown_error_names_the_entry(capsys):
    check_sample_row(too_much_noise)
    out = capsys.readouterr().out
    assert "FAIL" in out and "the covariance of your draws differs from cflib.gibbs.sample_row" in out
    assert "the mean of your draws and the distribution of your draws are right" in out


def _unit_noise(draw):
    def sample(F, t, tau, nu, lam, rng):
        A = tau * F.T @ F + np.diag(lam)
        m = np.linalg.solve(A, tau * F.T @ t + lam * nu)
        return m + np.linalg.solve(np.linalg.cholesky(A).T, draw(rng, nu.size))
    return sample


@pytest.mark.parametrize("draw", [lambda rng, d: (rng.random(d) - 0.5) * np.sqrt(12.0),
                                  lambda rng, d: rng.choice([-1.0, 1.0], size=d),
                                  lambda rng, d: rng.laplace(size=d) / np.sqrt(2.0)],
                         ids=["uniform", "rademacher", "laplace"])
def test_noise_with_the_right_moments_but_not_gaussian_fails(draw, capsys):
    assert stands_in(check_sample_row(_unit_noise(draw)))
    out = capsys.readouterr().out
    assert "the mean of your draws and the covariance of your draws are right, but the distribution of your " \
           "draws is not Gaussian" in out, out


def test_a_right_sampler_passes_the_normality_test_on_fresh_cases():
    """The shape test (Z_SHAPE standard errors) lets a right sampler through on cases drawn afresh too."""
    from cflib.checks.bayesian import _shape
    from cflib.checks.engine import capture

    for fresh in range(4):
        spec, target = capture(check_sample_row, right, fresh=fresh)
        for case in spec.cases:
            draws = target(*case.args)
            d = draws.shape[1]
            assert np.array_equal(_shape(draws), [d * (d + 2.0), 0.0]), (fresh, case.label)


def test_todo_shape_and_non_callable(capsys):
    assert stands_in(check_sample_row(todo))
    assert "not implemented yet" in capsys.readouterr().out
    check_sample_row(wrong_shape)
    out = capsys.readouterr().out
    assert "FAIL" in out and "shape (1, 3)" in out
    check_sample_row(3)
    assert "expected a function" in capsys.readouterr().out


def test_mistakes_are_far_from_the_right_moments():
    """Each mistake's exact moments lie beyond 4 * Z_MAX standard errors of the right ones somewhere."""
    for case in _cases():
        ref = _reference(*case.args)
        var = np.diag(ref["cov"])
        se_mean = np.sqrt(var / N_DRAWS)
        se_cov = np.sqrt((np.outer(var, var) + ref["cov"] ** 2) / N_DRAWS)
        for m in MISTAKES:
            got = m.fn(*case.args)
            gap = max(np.max(np.abs(got["mean"] - ref["mean"]) / se_mean),
                      np.max(np.abs(got["cov"] - ref["cov"]) / se_cov))
            assert gap > 4 * Z_MAX, (case.label, m.phrase, gap)



def tau_only_in_A(F, t, tau, nu, lam, rng):
    """tau on F.T @ F but not on F.T @ t."""
    A = tau * F.T @ F + np.diag(lam)
    return np.linalg.solve(A, F.T @ t + lam * nu) + np.linalg.solve(np.linalg.cholesky(A).T, rng.standard_normal(nu.size))


def tau_only_in_h(F, t, tau, nu, lam, rng):
    """tau on F.T @ t but not on F.T @ F."""
    A = F.T @ F + np.diag(lam)
    return np.linalg.solve(A, tau * F.T @ t + lam * nu) + np.linalg.solve(np.linalg.cholesky(A).T,
                                                                          rng.standard_normal(nu.size))


@pytest.mark.parametrize("fn, words", [
    (tau_only_in_A, ["the mean of your draws is what h = F.T @ t + lam * nu gives", "missing on the data term of h",
                     "the covariance of your draws and the distribution of your draws are right"]),
    (tau_only_in_h, ["the mean of your draws and the covariance of your draws each is what A = F.T @ F",
                     "tau is missing in A"]),
])
def test_tau_on_one_data_term_only_is_named(fn, words, capsys):
    assert stands_in(check_sample_row(fn))
    out = capsys.readouterr().out
    assert out.startswith("check_sample_row: FAIL") and out.count("\n") == 1
    for w in words:
        assert w in out, (w, out)
