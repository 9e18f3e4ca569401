"""The Gibbs sampler of cflib.gibbs: its conditionals against their closed forms, and the fitted model.

Monte Carlo tests draw thousands of samples with a fixed seed and accept a
moment only within Z_MAX standard errors of the closed form; the same test
function rejects a deliberately wrong sampler (the precision used as the
covariance, the Cholesky factor transposed, the Gamma's rate used as its scale),
so it cannot pass by chance or by looseness.
"""

import numpy as np
import pytest

from cflib.als import RowSystems
from cflib.evaluate import evaluate, fit_baseline
from cflib.conditionals import _backward, _forward
from cflib.gibbs import (GibbsModel, fit_gibbs, row_moments, sample_tau,
                         sample_hyper, sample_row, sample_rows)
from cflib.synthetic import make_synthetic

Z_MAX = 5.0
N_DRAWS = 20_000


def moments_agree(draws, mean, cov, z_max=Z_MAX):
    """Sample mean and covariance of draws (n, d) within z_max standard errors of (mean, cov)."""
    n = draws.shape[0]
    se_mean = np.sqrt(np.diag(cov) / n)
    if np.any(np.abs(draws.mean(axis=0) - mean) > z_max * se_mean):
        return False
    # Var of the sample covariance entry (i, j) of a Gaussian: (S_ii S_jj + S_ij^2) / n.
    se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov ** 2) / n)
    return bool(np.all(np.abs(np.cov(draws, rowvar=False) - cov) <= z_max * se_cov))


def toy_row(seed=3, n=4, d=3):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, d))
    t = rng.standard_normal(n)
    return F, t, 2.5, np.array([1.0, -2.0, 0.5])[:d], np.array([2.0, 3.0, 0.7])[:d]


def test_row_moments_are_the_als_system_divided_by_tau():
    rng = np.random.default_rng(0)
    F, t = rng.standard_normal((6, 3)), rng.standard_normal(6)
    tau, lam = 4.0, np.array([2.0, 1.0, 0.5])
    mean, cov = row_moments(F, t, tau, np.zeros(3), lam)
    systems = RowSystems(np.zeros(6, int), np.arange(6), 1, 6)
    np.testing.assert_allclose(mean, systems.solve(F, t, lam / tau)[0], rtol=1e-12)
    np.testing.assert_allclose(np.linalg.inv(cov), tau * F.T @ F + np.diag(lam), rtol=1e-12)


def test_batched_row_draws_have_the_conditional_mean_and_covariance():
    F, t, tau, nu, lam = toy_row()
    mean, cov = row_moments(F, t, tau, nu, lam)
    A = tau * F.T @ F + np.diag(lam)
    h = tau * F.T @ t + lam * nu
    draws = sample_rows(np.broadcast_to(A, (N_DRAWS, 3, 3)).copy(), np.tile(h, (N_DRAWS, 1)),
                        np.random.default_rng(1))
    assert moments_agree(draws, mean, cov)
    # The same test rejects wrong samplers built from the same factor and noise.
    L = np.linalg.cholesky(A)
    z = np.random.default_rng(1).standard_normal((N_DRAWS, 3))
    Ls = np.broadcast_to(L, (N_DRAWS, 3, 3))
    transposed = mean + _forward(Ls, z)  # L^{-1} z: covariance L^{-1} L^{-T}, not A^{-1}
    precision_as_cov = mean + z @ L.T  # L z: covariance A
    no_prior_mean = row_moments(F, t, tau, np.zeros(3), lam)[0] + _backward(Ls, z)
    for wrong in (transposed, precision_as_cov, no_prior_mean):
        assert not moments_agree(wrong, mean, cov)
    assert moments_agree(mean + _backward(Ls, z), mean, cov)


def test_triangular_solves_match_numpy():
    rng = np.random.default_rng(2)
    G = rng.standard_normal((50, 6, 6))
    L = np.linalg.cholesky(G @ np.swapaxes(G, 1, 2) + np.eye(6))
    b = rng.standard_normal((50, 6))
    np.testing.assert_allclose(_forward(L, b), np.linalg.solve(L, b[..., None])[..., 0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_backward(L, b), np.linalg.solve(np.swapaxes(L, 1, 2), b[..., None])[..., 0],
                               rtol=1e-10, atol=1e-12)


def test_single_row_sampler_matches_its_closed_form():
    F, t, tau, nu, lam = toy_row(seed=5)
    rng = np.random.default_rng(4)
    draws = np.array([sample_row(F, t, tau, nu, lam, rng) for _ in range(5000)])
    mean, cov = row_moments(F, t, tau, nu, lam)
    assert moments_agree(draws, mean, cov)
    # tau forgotten (tau = 1 instead of 2.5): rejected
    assert not moments_agree(draws, *row_moments(F, t, 1.0, nu, lam))


def test_tau_draw_has_the_gamma_conditional_mean():
    sse, n, rng = 170.0, 200, np.random.default_rng(6)
    draws = np.array([sample_tau(sse, n, rng) for _ in range(N_DRAWS)])
    shape, rate = 1.0 + n / 2, 1.0 + sse / 2
    se = np.sqrt(shape) / rate / np.sqrt(N_DRAWS)
    assert abs(draws.mean() - shape / rate) < Z_MAX * se
    assert abs(draws.var() / (shape / rate ** 2) - 1) < 0.05
    # the wrong parametrization (rate passed as numpy's scale) is far off
    wrong = np.random.default_rng(6).gamma(shape, rate, N_DRAWS)
    assert abs(wrong.mean() - shape / rate) > Z_MAX * se


def test_hyperparameter_draws_have_the_normal_gamma_posterior_moments():
    rng = np.random.default_rng(8)
    W = rng.normal([0.5, -1.0], [0.3, 2.0], size=(40, 2))
    n, wbar = 40, W.mean(axis=0)
    rate = 1.0 + 0.5 * (((W - wbar) ** 2).sum(axis=0) + n / (1.0 + n) * wbar ** 2)
    shape = 1.0 + n / 2
    draws = [sample_hyper(W, rng) for _ in range(N_DRAWS)]
    means = np.array([m for m, _ in draws])
    lams = np.array([lam for _, lam in draws])
    se_lam = np.sqrt(shape) / rate / np.sqrt(N_DRAWS)
    assert np.all(np.abs(lams.mean(axis=0) - shape / rate) < Z_MAX * se_lam)
    # E[m] = n wbar / (1 + n); Var[m] = E[1/lam] / (1 + n) = rate / ((shape - 1)(1 + n))
    var_m = rate / ((shape - 1) * (1.0 + n))
    assert np.all(np.abs(means.mean(axis=0) - n * wbar / (1.0 + n)) < Z_MAX * np.sqrt(var_m / N_DRAWS))
    assert np.all(np.abs(means.var(axis=0) / var_m - 1) < 0.05)


@pytest.fixture(scope="module")
def toy():
    data = make_synthetic(60, 40, 2, density=0.35, noise=0.3, seed=1)
    rng = np.random.default_rng(0)
    test_mask = rng.random(data.nnz) < 0.2
    return data.subset(~test_mask, name="train"), data.subset(test_mask, name="test")


@pytest.fixture(scope="module")
def fitted(toy):
    train, test = toy
    return fit_gibbs(train, k=3, n_iters=60, burn_in=20, seed=0, validation=test)


def test_fit_is_deterministic_for_a_seed(toy, fitted):
    train, test = toy
    model, h = fit_gibbs(train, k=3, n_iters=60, burn_in=20, seed=0, validation=test)
    np.testing.assert_array_equal(model.X, fitted[0].X)
    assert h.val_rmse == fitted[1].val_rmse and h.tau == fitted[1].tau
    other, _ = fit_gibbs(train, k=3, n_iters=60, burn_in=20, seed=1)
    assert not np.allclose(other.X, model.X)


def test_fit_records_history_and_keeps_the_samples_after_burn_in(toy, fitted):
    train, test = toy
    model, h = fitted
    assert isinstance(model, GibbsModel) and model.n_samples == 40 and model.X.shape == (40, 60, 3)
    assert len(h) == len(h.tau) == len(h.train_rmse) == len(h.val_rmse) == len(h.time) == 60
    assert h.burn_in == 20 and not h.diverged and np.all(np.diff(h.time) >= 0)
    np.testing.assert_allclose(model.tau, h.tau[20:])
    # the last val_rmse is that of the average of the kept samples
    assert h.val_rmse[-1] == pytest.approx(evaluate(model, test)["rmse"], rel=1e-12)


def test_fit_beats_the_biases_and_learns_the_noise(toy, fitted):
    train, test = toy
    model, h = fitted
    err = evaluate(model, test)["rmse"]
    base = evaluate(fit_baseline(train, "biases"), test)["rmse"]
    assert err < 0.9 * base  # 0.49 against 0.58 here; the noise floor is about 0.42
    # noise sd 0.3 plus rounding to integers (sd ~0.29): tau near 1 / (0.3^2 + 1/12)
    assert 3.0 < np.median(h.tau[20:]) < 9.0


def test_predictions_agree_and_std_includes_the_noise(toy, fitted):
    train, test = toy
    model, _ = fitted
    full = model.predict_all(clip=False)
    np.testing.assert_allclose(model.predict(test.movies, test.users, clip=False),
                               full[test.movies, test.users], rtol=1e-10)
    assert np.all(model.predict_all() >= 1) and np.all(model.predict_all() <= 5)
    std = model.predict_std(test.movies, test.users)
    assert np.all(std > np.sqrt(np.mean(1 / model.tau)))
    samples = model.sample_predictions(test.movies, test.users)
    np.testing.assert_allclose(std ** 2, np.mean(1 / model.tau) + samples.var(axis=0), rtol=1e-10)


def test_rarely_rated_movies_get_wider_intervals(toy, fitted):
    train, _ = toy
    model, _ = fitted
    std = model.predict_std(np.arange(60), np.zeros(60, int))
    few = model.movie_counts <= np.quantile(model.movie_counts, 0.25)
    many = model.movie_counts >= np.quantile(model.movie_counts, 0.75)
    assert std[few].mean() > std[many].mean()


@pytest.mark.parametrize("kwargs, word", [(dict(k=0), "k"), (dict(n_iters=0), "n_iters"),
                                          (dict(n_iters=10, burn_in=10), "burn_in"),
                                          (dict(seed=-1), "seed"), (dict(k=2.5), "k")])
def test_bad_arguments_name_themselves(toy, kwargs, word):
    with pytest.raises((ValueError, TypeError), match=word):
        fit_gibbs(toy[0], **kwargs)


def test_normal_equations_are_the_unpenalized_als_systems():
    rng = np.random.default_rng(9)
    rows, cols = rng.integers(0, 7, 40), rng.integers(0, 5, 40)
    keep = np.unique(rows * 5 + cols, return_index=True)[1]
    rows, cols = rows[keep], cols[keep]
    systems = RowSystems(rows, cols, 8, 5)  # row 7 has no entries
    F, t = rng.standard_normal((5, 3)), rng.standard_normal(rows.size)
    A, b = systems.normal_equations(F, t)
    for r in range(8):
        mask = rows == r
        np.testing.assert_allclose(A[r], F[cols[mask]].T @ F[cols[mask]], atol=1e-12)
        np.testing.assert_allclose(b[r], F[cols[mask]].T @ t[mask], atol=1e-12)
    penalty = np.array([0.5, 1.0, 2.0])
    W = np.linalg.solve(A[:7] + np.diag(penalty), b[:7][..., None])[..., 0]
    np.testing.assert_allclose(W, systems.solve(F, t, penalty)[:7], rtol=1e-10)
    assert not A[7].any() and not b[7].any()


def test_train_must_be_ratings_and_progress_runs(toy, capsys):
    with pytest.raises(TypeError, match="train must be a cflib.Ratings"):
        fit_gibbs(np.zeros((3, 3)))
    model, h = fit_gibbs(toy[0], k=2, n_iters=4, progress=True)
    assert len(h) == 4 and h.burn_in == 2 and model.n_samples == 2


# ------------------------------------------- adversarial inputs (issue 12)
def test_validation_is_checked_like_train():
    data = make_synthetic(30, 20, 2, density=0.4, seed=1)
    with pytest.raises(TypeError, match="validation must be a cflib.Ratings"):
        fit_gibbs(data, k=2, n_iters=3, validation="val")
    with pytest.raises(ValueError, match="validation has shape"):  # used to be scored silently
        fit_gibbs(data, k=2, n_iters=3, validation=make_synthetic(10, 5, 2, seed=2))


def test_an_empty_validation_set_records_nan_without_a_warning():
    import warnings
    data = make_synthetic(30, 20, 2, density=0.4, seed=1)
    empty = data.subset(np.zeros(data.nnz, dtype=bool))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, h = fit_gibbs(data, k=2, n_iters=3, burn_in=1, validation=empty)
    assert len(h.val_rmse) == 3 and all(np.isnan(v) for v in h.val_rmse)


def test_divergence_in_the_burn_in_names_init_std():
    data = make_synthetic(30, 20, 2, density=0.4, seed=1)
    with pytest.raises(ValueError, match="init_std"):
        fit_gibbs(data, k=2, n_iters=4, init_std=1e200)


def test_a_huge_k_is_refused_before_allocating():
    data = make_synthetic(30, 20, 2, density=0.4, seed=1)
    with pytest.raises(ValueError, match="k=100000 .* GB"):
        fit_gibbs(data, k=10**5, n_iters=2)


def test_divergence_after_the_burn_in_keeps_only_the_finite_samples(monkeypatch):
    """A sweep that goes non-finite after the burn-in must not leave an unfilled sample slot."""
    import cflib.gibbs as gibbs

    data = make_synthetic(30, 20, 2, density=0.4, seed=1)
    real, calls = gibbs.sample_rows, []

    def breaks_at_sweep_3(A, b, rng):
        calls.append(1)
        out = real(A, b, rng)
        if len(calls) == 2 * 4:  # the user rows of the 4th sweep (index 3)
            out[0, 0] = np.nan
        return out

    monkeypatch.setattr(gibbs, "sample_rows", breaks_at_sweep_3)
    model, h = gibbs.fit_gibbs(data, k=2, n_iters=6, burn_in=1)
    assert h.diverged
    assert model.n_samples == 2  # sweeps 1 and 2; sweep 3 diverged
    for arr in (model.X, model.Theta, model.movie_bias, model.user_bias, model.tau):
        assert np.isfinite(arr).all()
    assert np.allclose(model.tau, h.tau[1:3])


def test_the_conditionals_name_a_wrong_argument():
    rng = np.random.default_rng(0)
    F, t = rng.standard_normal((5, 2)), rng.standard_normal(5)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sample_row(F, t, 1.0, np.zeros(2), np.ones(2), 0)
    with pytest.raises(ValueError, match="not positive definite"):  # used to be a raw LinAlgError
        sample_row(np.zeros((5, 2)), t, 1.0, np.zeros(2), np.zeros(2), rng)
    with pytest.raises(ValueError, match="not positive definite"):
        row_moments(np.zeros((5, 2)), t, 1.0, np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="sse must be a finite number >= 0"):
        sample_tau(-1.0, 5, rng)
    with pytest.raises(TypeError, match="rng must be"):
        sample_tau(1.0, 5, None)
    with pytest.raises(ValueError, match="W must be 2-D"):
        sample_hyper(np.zeros((0, 3)), rng)
    mean, lam = sample_hyper(rng.standard_normal((6, 3)), rng)
    assert mean.shape == lam.shape == (3,) and np.all(lam > 0)


# ------------------------------------------- the data's rating scale (issue 19)
def _half_stars(data, shift=-0.5):
    """The toy ratings moved half a star down and declared on the scale 0.5..5 of ml-latest-small."""
    from dataclasses import replace

    return replace(data, ratings=np.clip(data.ratings + shift, 0.5, 5.0), scale=(0.5, 5.0), _cache={})


def test_predictions_clip_to_the_training_data_scale(toy):
    """Half-star data: predictions reach down to 0.5, never below, as the other models' do; 1..5 data keeps 1..5."""
    train, test = toy
    low = _half_stars(train, shift=-2.0)  # many ratings at 0.5: the posterior mean goes below 1 for some pairs
    model, h = fit_gibbs(low, k=2, n_iters=20, seed=0, validation=_half_stars(test, shift=-2.0))
    assert model.scale == model.rating_scale == (0.5, 5.0)
    raw = model.predict_all(clip=False)
    assert raw.min() < 1.0  # the check below is not empty
    clipped = model.predict_all()
    assert clipped.min() >= 0.5 and clipped.max() <= 5.0
    np.testing.assert_array_equal(clipped, np.clip(raw, 0.5, 5.0))
    movies, users = np.unravel_index(np.argmin(raw), raw.shape)
    assert model.predict([movies], [users])[0] == max(0.5, raw[movies, users])
    # the validation RMSE of the history clips to the same scale as predict
    v = _half_stars(test, shift=-2.0)
    assert h.val_rmse[-1] == pytest.approx(evaluate(model, v)["rmse"], rel=1e-12)
    assert evaluate(model, v)["rmse"] == pytest.approx(
        np.sqrt(np.mean((np.clip(raw[v.movies, v.users], 0.5, 5.0) - v.ratings) ** 2)), rel=1e-12)
    # 1..5 data: the floor stays 1
    plain, _ = fit_gibbs(train, k=2, n_iters=6, seed=0)
    assert plain.scale == (1.0, 5.0) and plain.predict_all().min() >= 1.0


def test_a_bad_scale_is_refused_by_name(fitted):
    from dataclasses import replace

    with pytest.raises(ValueError, match="scale"):
        replace(fitted[0], scale=(5, 1))
