"""Tests of cflib.train: the four trainers, the two models, the teaching helpers."""

import dataclasses

import numpy as np
import pytest

import cflib
from cflib import als, grams
from cflib.objective import cost, gradient
from cflib.evaluate import evaluate, rmse
from cflib.gradcheck import numerical_gradient, relative_error
from cflib.blocks import BlockObjective
from cflib.baselines import DEFAULT_LAM_BIAS, fit_baseline
from cflib.history import History, history_diverged, is_diverged
from cflib.train import (
    BEST,
    COURSE,
    METHODS,
    KINDS,
    fit,
    gradient_descent_step,
    normalize_ratings,
)

SMALL_LR = {"gd": 2e-3, "momentum": 1e-3}


@pytest.fixture(scope="module")
def data():
    return cflib.make_synthetic(80, 50, 3, density=0.3, noise=0.3, seed=1)


def exact_low_rank(n_movies=60, n_users=40, k=2, density=0.5, seed=0):
    """Ratings exactly equal to X_true @ Theta_true.T at the observed entries (no noise, no clipping)."""
    data, (X, Theta) = cflib.make_synthetic(n_movies, n_users, k, density=density, noise=0.0,
                                            integer=False, seed=seed, return_factors=True)
    exact = np.einsum("ij,ij->i", X[data.movies], Theta[data.users])
    return dataclasses.replace(data, ratings=exact, _cache={}), (X, Theta)


def with_unrated(data, movie=0, user=0):
    """The same data with every rating of one movie and one user removed."""
    keep = (data.movies != movie) & (data.users != user)
    return data.subset(keep)


# ------------------------------------------------------------------ trainers
@pytest.mark.parametrize("model", KINDS)
@pytest.mark.parametrize("method", METHODS)
def test_each_trainer_decreases_the_cost(data, method, model):
    _, h = fit(data, k=3, lam=1.0, method=method, kind=model, n_iters=15, lr=SMALL_LR.get(method))
    assert h.cost[-1] < h.initial_cost
    assert h.train_rmse[-1] < h.train_rmse[0] or h.train_rmse[-1] < 0.5
    if method in ("als", "gd", "lbfgs"):  # monotone methods (momentum may overshoot)
        assert np.all(np.diff(np.r_[h.initial_cost, h.cost]) <= 1e-9 * h.initial_cost)


@pytest.mark.parametrize("model", KINDS)
@pytest.mark.parametrize("method", ["als", "lbfgs"])
def test_als_and_lbfgs_recover_exact_low_rank(method, model):
    # Truth: x_i . theta_j with x_i = (sqrt(3.5), a_i): a user bias plus a rank-1 term.
    data, (X_true, Theta_true) = exact_low_rank()
    train, held_out = data.random_split(0.1, seed=0)
    # Biased: the biases take the constant column, one feature is left. Normalized:
    # y - m_i = [1, a_i, -m_i] . [sqrt(3.5) t_j, b_j, 1], rank 3.
    k = 1 if model == "biased" else 3
    m, h = fit(train, k=k, lam=1e-6, method=method, kind=model, n_iters=30 if method == "als" else 150, seed=0,
               **({"lam_bias": 1e-6} if model == "biased" else {}))
    # Cost (about the squared error: lam is tiny) says the training ratings are fitted...
    assert np.sqrt(2 * h.cost[-1] / train.nnz) < 2e-3
    # ... and the held-out entries are recovered (unclipped: the exact ratings leave 1..5).
    truth = np.einsum("ij,ij->i", X_true[held_out.movies], Theta_true[held_out.users])
    err = m.predict(held_out.movies, held_out.users, clip=False) - truth
    assert np.sqrt(np.mean(err**2)) < 1e-3


@pytest.mark.parametrize("method", METHODS)
def test_deterministic_given_seed(data, method):
    kw = dict(k=3, lam=1.0, method=method, n_iters=5, lr=SMALL_LR.get(method))
    a, ha = fit(data, seed=3, **kw)
    b, hb = fit(data, seed=3, **kw)
    c, _ = fit(data, seed=4, **kw)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.Theta, b.Theta)
    np.testing.assert_array_equal(ha.cost, hb.cost)
    assert not np.allclose(a.X, c.X)


@pytest.mark.parametrize("method", METHODS)
def test_history_lengths_and_fields(data, method):
    train, val = data.random_split(0.2, seed=0)
    _, h = fit(train, k=2, method=method, n_iters=7, lr=SMALL_LR.get(method), validation=val)
    # L-BFGS may stop early on convergence; never runs more than n_iters.
    n = 7 if method != "lbfgs" else len(h)
    assert 1 <= n <= 7
    assert len(h) == len(h.cost) == len(h.train_rmse) == len(h.val_rmse) == len(h.time) == n
    assert np.all(np.diff(h.time) >= 0) and h.time[0] >= 0
    assert h.method == method and h.kind == "biased"
    _, h2 = fit(train, k=2, method=method, n_iters=7, lr=SMALL_LR.get(method))
    assert h2.val_rmse == []


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("model", KINDS)
def test_history_rmse_matches_the_model(data, method, model):
    train, val = data.random_split(0.2, seed=0)
    m, h = fit(train, k=3, n_iters=5, validation=val, method=method, kind=model, lr=SMALL_LR.get(method))
    if model == "biased":  # the biases are parameters
        obj = BlockObjective(train, model, 3, m.lam, m.lam_bias, m.mu, np.zeros(train.n_movies))
        blocks = [m.X, m.Theta, m.movie_bias, m.user_bias]
    else:  # the movie means are a fixed offset
        obj = BlockObjective(train, model, 3, m.lam, m.lam_bias, m.mu, m.movie_bias)
        blocks = [m.X, m.Theta]
    assert h.cost[-1] == pytest.approx(obj.cost(blocks), rel=1e-9)
    assert h.val_rmse[-1] == pytest.approx(evaluate(m, val)["rmse"], rel=1e-12)
    unclipped = m.predict(train.movies, train.users, clip=False)
    assert h.train_rmse[-1] == pytest.approx(rmse(unclipped, train.ratings, clip=None), rel=1e-9)


def test_momentum_beats_plain_gd_at_the_same_step(data):
    _, h_gd = fit(data, k=3, lam=1.0, method="gd", lr=1e-3, n_iters=40)
    _, h_mom = fit(data, k=3, lam=1.0, method="momentum", lr=1e-3, momentum=0.9, n_iters=40)
    assert h_mom.cost[-1] < h_gd.cost[-1]


def test_gd_with_a_huge_step_warns_and_stops(data):
    with pytest.warns(RuntimeWarning, match="diverged"):
        m, h = fit(data, k=3, method="gd", lr=10.0, n_iters=50)
    assert h.diverged and len(h) < 50
    assert np.all(np.isfinite(m.X)) and np.all(np.isfinite(m.Theta))


def test_threads_do_not_change_the_result(data):
    a, _ = fit(data, k=3, n_iters=5, threads=1)
    b, _ = fit(data, k=3, n_iters=5, threads=2)
    np.testing.assert_allclose(a.X, b.X, rtol=1e-9, atol=1e-12)


def test_progress_bar_runs(data, capsys):
    _, h = fit(data, k=2, n_iters=3, progress=True)
    assert len(h) == 3


# -------------------------------------------------------------------- models
@pytest.mark.parametrize("model", KINDS)
def test_objective_gradient_matches_finite_differences(data, model):
    small = cflib.make_synthetic(12, 9, 2, density=0.5, seed=2)
    mu = float(small.ratings.mean())
    offset = np.random.default_rng(0).standard_normal(small.n_movies) * 0.1
    obj = BlockObjective(small, model, 2, 0.7, 1.3, mu, offset)
    rng = np.random.default_rng(1)
    blocks = [rng.standard_normal((12, 2)), rng.standard_normal((9, 2))]
    if model == "biased":
        blocks += [rng.standard_normal(12), rng.standard_normal(9)]
    _, grads = obj.cost_and_gradient(blocks)
    num = numerical_gradient(lambda *b: obj.cost_and_gradient(list(b))[0], blocks, 1e-5)
    for g, n in zip(grads, num):
        assert relative_error(g, n) < 1e-7


@pytest.mark.parametrize("method", ["als", "lbfgs"])
def test_biased_model_with_k0_is_the_bias_baseline(data, method):
    m, _ = fit(data, k=0, kind="biased", lam_bias=3.0, method=method, n_iters=60)
    base = fit_baseline(data, "biases", lam_bias=3.0, n_iters=200)
    assert m.mu == pytest.approx(base.mu)
    np.testing.assert_allclose(m.movie_bias, base.movie_bias, atol=1e-5)
    np.testing.assert_allclose(m.user_bias, base.user_bias, atol=1e-5)
    np.testing.assert_allclose(m.predict(data.movies, data.users), base.predict(data.movies, data.users), atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_normalized_model_with_k0_predicts_movie_means(data, method):
    train = with_unrated(data, movie=4, user=2)
    m, h = fit(train, k=0, kind="normalized", method=method, n_iters=2)
    assert 1 <= len(h) <= 2
    _, movie_mean = normalize_ratings(train.Y, train.R)
    np.testing.assert_allclose(m.movie_mean, movie_mean)
    pred = m.predict_all(clip=False)
    np.testing.assert_allclose(pred, np.repeat(movie_mean[:, None], train.n_users, axis=1))
    assert pred[4, 0] == pytest.approx(train.ratings.mean())  # unrated movie: global mean


@pytest.mark.parametrize("model", KINDS)
@pytest.mark.parametrize("method", METHODS)
def test_unrated_movies_and_users_have_zero_factors(data, method, model):
    train = with_unrated(data, movie=4, user=2)
    m, _ = fit(train, k=3, lam=1.0, method=method, kind=model, n_iters=10, lr=SMALL_LR.get(method))
    assert np.all(m.X[4] == 0) and np.all(m.Theta[2] == 0)
    assert m.movie_bias[4] == 0 and m.user_bias[2] == 0
    mu = train.ratings.mean()
    if model == "biased":
        assert m.predict([4], [7], clip=False)[0] == pytest.approx(mu + m.user_bias[7])
        assert m.predict([9], [2], clip=False)[0] == pytest.approx(mu + m.movie_bias[9])
    else:
        assert m.predict([4], [7], clip=False)[0] == pytest.approx(mu)
        assert m.predict([9], [2], clip=False)[0] == pytest.approx(m.movie_mean[9])


def test_predict_is_clipped_and_consistent(data):
    m, _ = fit(data, k=3, n_iters=5)
    all_pred = m.predict_all()
    assert all_pred.shape == (data.n_movies, data.n_users)
    assert all_pred.min() >= 1 and all_pred.max() <= 5
    np.testing.assert_allclose(m.predict(data.movies, data.users), all_pred[data.movies, data.users])
    raw = m.predict_all(clip=False)
    np.testing.assert_allclose(np.clip(raw, 1, 5), all_pred)
    with pytest.raises(ValueError, match="indices"):
        m.predict([data.n_movies], [0])


# ------------------------------------------------------------ teaching helpers
def test_normalize_ratings_values_and_unrated_movie():
    Y = np.array([[5.0, 3.0, np.nan], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    R = np.array([[1, 1, 0], [0, 0, 0], [1, 1, 1]])
    Y_norm, mean = normalize_ratings(Y, R)
    np.testing.assert_allclose(mean, [4.0, 14.0 / 5.0, 2.0])  # unrated movie: global mean of all ratings
    np.testing.assert_allclose(Y_norm, [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 1.0]])


def test_normalize_ratings_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        normalize_ratings(np.zeros((3, 2)), np.zeros((2, 3)))


def test_gradient_descent_step_is_one_step_of_the_gradient():
    rng = np.random.default_rng(0)
    X, Theta = rng.standard_normal((6, 2)), rng.standard_normal((5, 2))
    Y = rng.integers(1, 6, (6, 5)).astype(float)
    R = rng.random((6, 5)) < 0.6
    X0, T0 = X.copy(), Theta.copy()
    Xn, Tn = gradient_descent_step(X, Theta, Y, R, 0.5, 0.01)
    gX, gT = gradient(X, Theta, Y, R, 0.5)
    np.testing.assert_allclose(Xn, X - 0.01 * gX)
    np.testing.assert_allclose(Tn, Theta - 0.01 * gT)
    np.testing.assert_array_equal(X, X0)  # inputs untouched
    np.testing.assert_array_equal(Theta, T0)
    assert cost(Xn, Tn, Y, R, 0.5) < cost(X, Theta, Y, R, 0.5)
    with pytest.raises(ValueError, match="lr"):
        gradient_descent_step(X, Theta, Y, R, 0.5, 0.0)


# ---------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(method="sgd"), "method"),
        (dict(kind="plain"), "kind"),
        (dict(k=-1), "k must"),
        (dict(lam=-1.0), "lam"),
        (dict(n_iters=0), "n_iters"),
        (dict(method="gd", lr=0.0), "lr"),
        (dict(method="momentum", momentum=1.0), "momentum"),
        (dict(threads=0), "threads"),
    ],
)
def test_bad_arguments_give_clear_errors(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit(data, **kwargs)


def test_a_non_integer_k_is_a_type_error_as_everywhere_in_cflib(data):
    with pytest.raises(TypeError, match="k must be an integer, got float 2.5"):
        fit(data, k=2.5)


def test_bad_train_and_validation(data):
    with pytest.raises(TypeError, match="Ratings"):
        fit(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="no ratings"):
        fit(data.subset(np.zeros(data.nnz, dtype=bool)))
    other = cflib.make_synthetic(10, 10, 2, seed=0)
    with pytest.raises(ValueError, match="validation has shape"):
        fit(data, validation=other)


# ------------------------------------------------------------------ real data
def test_best_preset_on_ml100k_u1(movielens):
    train, test = cflib.load_split("u1")
    m, h = fit(train, **BEST, validation=test)
    assert rmse(m.predict(test.movies, test.users), test.ratings) < 0.93
    assert h.val_rmse[-1] < 0.93


# ------------------------------------------------------------------------ als
@pytest.mark.parametrize("d", [3, 30])
def test_row_systems_both_gram_paths_agree_with_a_direct_sum(data, d, monkeypatch):
    rng = np.random.default_rng(0)
    F = rng.standard_normal((data.n_users, d))
    sides = als.RowSystems(data.movies, data.users, data.n_movies, data.n_users)
    direct = np.zeros((data.n_movies, d, d))
    for m, u in zip(data.movies, data.users):
        direct[m] += np.outer(F[u], F[u])
    monkeypatch.setattr(grams, "GATHER_ENTRIES", 50)  # several gather blocks
    for loop_min_d in (1, 10**6):  # the row loop, then the sparse product
        monkeypatch.setattr(grams, "LOOP_MIN_D", loop_min_d)
        np.testing.assert_allclose(sides._grams(F), direct, rtol=1e-12, atol=1e-12)


def test_als_solve_reports_the_squared_error(data):
    rng = np.random.default_rng(1)
    F = rng.standard_normal((data.n_users, 3))
    t = rng.standard_normal(data.nnz)
    sides = als.RowSystems(data.movies, data.users, data.n_movies, data.n_users)
    W, sse = sides.solve(F, t, 0.5, return_sse=True)
    e = np.einsum("ij,ij->i", W[data.movies], F[data.users]) - t
    assert sse == pytest.approx(e @ e, rel=1e-10)
    np.testing.assert_allclose(sides.solve(F, t[sides.order], 0.5, grouped=True), W)


# ------------------------------------------------- names, defaults, divergence (issues 10, 12)

@pytest.fixture(scope="module")
def noisy():
    """60 movies, 40 users, k = 3, density 0.3, noise 0.3 (seed 1)."""
    return cflib.make_synthetic(60, 40, 3, density=0.3, noise=0.3, seed=1)


def test_fit_takes_kind_and_explains_the_old_model_keyword(noisy):
    m, h = fit(noisy, k=2, kind="normalized", n_iters=3)
    assert m.kind == "normalized" and h.kind == "normalized"
    assert BEST["kind"] == "biased" and COURSE["kind"] == "normalized"
    assert "model" not in BEST and "model" not in COURSE
    with pytest.raises(TypeError, match=r"kind='normalized' instead of model='normalized'"):
        fit(noisy, model="normalized")
    with pytest.raises(TypeError, match="method 'als' does not use epochs"):
        fit(noisy, epochs=3)


def test_bias_regularization_has_one_name_and_one_default(noisy):
    assert DEFAULT_LAM_BIAS == 5.0
    assert cflib.train.DEFAULT_LAM_BIAS is DEFAULT_LAM_BIAS or cflib.train.DEFAULT_LAM_BIAS == 5.0
    assert fit_baseline(noisy, "biases").lam_bias == DEFAULT_LAM_BIAS
    m, _ = fit(noisy, k=1, n_iters=2)
    assert m.lam_bias == DEFAULT_LAM_BIAS
    assert fit_baseline(noisy, "movie").lam_bias == 0.0  # the plain movie mean
    with pytest.raises(TypeError, match="lam_bias"):
        fit_baseline(noisy, "biases", lam=3.0)
    with pytest.raises(ValueError, match="lam_bias"):
        fit(noisy, lam_bias=-1.0)


def test_row_systems_index_dtype_follows_the_sizes():
    assert als.index_dtype(100_000, 1682, 943) is np.int32
    assert als.index_dtype(2**31 - 1, 10, 10) is np.int32
    assert als.index_dtype(2**31, 10, 10) is np.int64  # past 2**31 entries int32 would wrap
    assert als.index_dtype(10, 10, 2**31) is np.int64
    sides = als.RowSystems(np.array([0, 1, 1]), np.array([2, 0, 1]), 2, 3)
    assert sides.indptr.dtype == np.int32 and sides.indices.dtype == np.int32


def test_one_divergence_rule():
    assert not is_diverged([5.0, 4.0, 3.0], 6.0)
    assert is_diverged([5.0, 7.0], 6.0)            # ends above the start
    assert is_diverged([5.0, np.inf], 6.0)         # non-finite
    assert is_diverged([5.0, 4.0], 6.0, flagged=True)
    assert not is_diverged([], 6.0)
    assert is_diverged([5.0, 7.0], float("nan"))   # the first cost stands in for the start
    assert history_diverged({"cost": [1.0, np.nan]}) and not history_diverged(History(cost=[2.0, 1.0]))


@pytest.mark.parametrize("method", ["als", "lbfgs", "gd", "momentum"])
def test_every_method_reports_divergence_the_same_way(noisy, method):
    with pytest.warns(RuntimeWarning, match=f"{method} diverged"):
        m, h = fit(noisy, k=3, init_scale=1e200, n_iters=3, method=method)
    assert h.diverged
    assert np.all(np.isfinite(m.X)) and np.all(np.isfinite(m.Theta))
    assert all(np.isfinite(h.cost))


def test_als_divergence_from_a_huge_initialization_on_movielens(movielens):
    train, _ = cflib.load_split("u1")
    with pytest.warns(RuntimeWarning, match="als diverged"):
        m, h = fit(train, init_scale=1e200, n_iters=3)
    assert h.diverged and np.all(np.isfinite(m.X))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(method="gd", lr="0.1"), TypeError, "lr must be a real number.*without quotes"),
        (dict(method="momentum", momentum="0.9"), TypeError, "momentum must be a real number"),
        (dict(seed=-1), ValueError, "seed must be an integer >= 0"),
        (dict(seed=1.5), TypeError, "seed must be an integer"),
        (dict(method="gd", lr=float("nan")), ValueError, "lr must be a finite number"),
        (dict(lam=float("nan")), ValueError, "lam must be a finite number"),
        (dict(init_scale=0.0), ValueError, "init_scale"),
    ],
)
def test_fit_refuses_non_numbers_with_the_argument_name(noisy, kwargs, error, match):
    with pytest.raises(error, match=match):
        fit(noisy, **kwargs)


def test_lbfgs_line_search_overflow_is_divergence_not_an_input_error():
    """A huge lam makes L-BFGS's line search try a point that overflows: a divergence, as for every method."""
    noisy = cflib.make_synthetic(12, 9, 2, nnz=54, seed=0)
    with pytest.warns(RuntimeWarning, match="lbfgs diverged"):
        model, history = fit(noisy, method="lbfgs", n_iters=2, lam=1e160)
    assert history.diverged
    assert np.all(np.isfinite(model.X)) and np.all(np.isfinite(model.Theta))


def test_batched_grams_handle_empty_rows_wide_rows_and_weights(monkeypatch):
    # rows without partners (A = 0), one row wider than a gather block, and the weighted Gram
    rng = np.random.default_rng(2)
    n_rows, n_cols, d = 7, 40, 16
    rows = np.r_[np.zeros(30, int), rng.integers(2, 5, 25)]  # row 0 wide; rows 1, 5, 6 empty
    cols = np.r_[rng.permutation(n_cols)[:30], rng.integers(0, n_cols, 25)]
    keep = np.unique(rows * n_cols + cols, return_index=True)[1]
    rows, cols = rows[keep], cols[keep]
    monkeypatch.setattr(grams, "GATHER_ENTRIES", 20)  # row 0 alone exceeds a block
    assert d >= grams.LOOP_MIN_D
    sides = als.RowSystems(rows, cols, n_rows, n_cols)
    F = rng.standard_normal((n_cols, d))
    w = rng.random(rows.size)
    direct, weighted = np.zeros((n_rows, d, d)), np.zeros((n_rows, d, d))
    for t, (r, c) in enumerate(zip(rows, cols)):
        direct[r] += np.outer(F[c], F[c])
        weighted[r] += w[t] * np.outer(F[c], F[c])
    np.testing.assert_allclose(sides._grams(F), direct, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sides._weighted_grams(F, w[sides.order]), weighted, rtol=1e-12, atol=1e-12)
    assert not sides._grams(F)[[1, 5, 6]].any()
