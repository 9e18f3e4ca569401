"""cflib.als_wr: ALS on Spark's objective (per-row penalty reg_param * n_r, no offsets)."""

import numpy as np
import pytest

import cflib
from cflib.evaluate import evaluate
from cflib.als_wr import fit_als_wr, row_penalty, wr_cost


@pytest.fixture(scope="module")
def small():
    return cflib.make_synthetic(60, 40, 3, density=0.3, seed=3)


def test_row_penalty_is_reg_param_times_count():
    P = row_penalty(np.array([0, 2, 2, 2, 0]), 4, 0.5, 3)
    assert P.shape == (4, 3)
    np.testing.assert_allclose(P, [[1.0] * 3, [0.0] * 3, [1.5] * 3, [0.0] * 3])


@pytest.mark.parametrize("kwargs, match", [
    (dict(rows=[0, 5], n_rows=3, reg_param=0.1, k=2), "rows"),
    (dict(rows=[0], n_rows=3, reg_param=-0.1, k=2), "reg_param"),
    (dict(rows=[0], n_rows=3, reg_param=0.1, k=2.5), "k"),
])
def test_row_penalty_rejects_bad_input(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        row_penalty(**kwargs)


def test_one_row_is_spark_style_ridge(small):
    """Each user row of the fit solves (X_j^T X_j + reg * n_j I) theta = X_j^T y_j exactly."""
    model, _ = fit_als_wr(small, k=4, reg_param=0.2, n_iters=3)
    X = model.X
    for j in (0, 7, 31):
        sel = small.users == j
        Xj, yj = X[small.movies[sel]], small.ratings[sel]
        theta = np.linalg.solve(Xj.T @ Xj + 0.2 * sel.sum() * np.eye(4), Xj.T @ yj)
        np.testing.assert_allclose(model.Theta[j], theta, rtol=1e-9, atol=1e-12)
        # The cflib-J system with a single lam would give another answer.
        other = np.linalg.solve(Xj.T @ Xj + 0.2 * np.eye(4), Xj.T @ yj)
        assert np.max(np.abs(other - theta)) > 1e-3


def test_fold_in_takes_the_models_own_als_wr_step(small):
    """recommend's fold-in of an ALS-WR model penalises theta by reg_param * n_r, as the model's user step
    does: folding a training user's own ratings back in gives that user's row of Theta."""
    from cflib.recommend import fold_in_user

    model, _ = fit_als_wr(small, k=4, reg_param=0.2, n_iters=3)
    for j in (0, 7, 31):
        sel = small.users == j
        mine = dict(zip(small.movies[sel].tolist(), small.ratings[sel].tolist()))
        folded = fold_in_user(model, mine)
        np.testing.assert_allclose(folded.theta, model.Theta[j], rtol=1e-9, atol=1e-12)
        assert folded.bias == 0.0
        np.testing.assert_allclose(folded.predictions, np.clip(model.X @ model.Theta[j], 1, 5), atol=1e-12)


def test_stationary_point_of_the_wr_objective(small):
    """After convergence the gradient of J_WR in X and Theta is ~0."""
    model, hist = fit_als_wr(small, k=3, reg_param=0.1, n_iters=300)
    X, T = model.X, model.Theta
    e = np.sum(X[small.movies] * T[small.users], axis=1) - small.ratings
    n_m = np.bincount(small.movies, minlength=small.n_movies)[:, None]
    n_u = np.bincount(small.users, minlength=small.n_users)[:, None]
    gX = 2 * 0.1 * n_m * X
    gT = 2 * 0.1 * n_u * T
    np.add.at(gX, small.movies, 2 * e[:, None] * T[small.users])
    np.add.at(gT, small.users, 2 * e[:, None] * X[small.movies])
    assert np.max(np.abs(gX)) < 1e-5 and np.max(np.abs(gT)) < 1e-5
    assert hist.cost[-1] == pytest.approx(wr_cost(X, T, small, 0.1), rel=1e-9)


def test_history_is_monotone_and_consistent(small):
    val = cflib.make_synthetic(60, 40, 3, density=0.05, seed=4)
    model, hist = fit_als_wr(small, k=3, reg_param=0.05, n_iters=10, validation=val)
    assert len(hist) == len(hist.train_rmse) == len(hist.val_rmse) == len(hist.time) == 10
    assert np.all(np.diff(hist.cost) <= 1e-9 * hist.cost[0])
    assert hist.cost[0] < hist.initial_cost
    assert not hist.diverged
    pred = model.predict(val.movies, val.users)
    assert hist.val_rmse[-1] == pytest.approx(float(np.sqrt(np.mean((pred - val.ratings) ** 2))))
    e = model.predict(small.movies, small.users, clip=False) - small.ratings
    assert hist.train_rmse[-1] == pytest.approx(float(np.sqrt(np.mean(e ** 2))), rel=1e-7)
    assert model.kind == "plain" and model.mu == 0.0 and not model.movie_bias.any()


def test_seed_and_rows_without_ratings():
    data = cflib.make_synthetic(30, 20, 2, density=0.3, seed=1)
    keep = (data.movies != 5) & (data.users != 3)
    train = data.subset(keep)
    a, _ = fit_als_wr(train, k=2, n_iters=4, seed=1)
    b, _ = fit_als_wr(train, k=2, n_iters=4, seed=1)
    c, _ = fit_als_wr(train, k=2, n_iters=4, seed=2)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.allclose(a.X, c.X)
    assert not a.X[5].any() and not a.Theta[3].any()


def test_fit_rejects_bad_arguments(small):
    with pytest.raises(TypeError, match="train"):
        fit_als_wr(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="reg_param"):
        fit_als_wr(small, reg_param=-1.0)
    with pytest.raises((ValueError, TypeError), match="n_iters"):
        fit_als_wr(small, n_iters=0)
    with pytest.raises(ValueError, match="validation"):
        fit_als_wr(small, validation=cflib.make_synthetic(10, 10, 2, seed=0))


def test_u1_rmse_near_spark(movielens):
    """On u1, rank 10, regParam 0.15, 20 sweeps: test RMSE near Spark's (0.92-0.93 on u1)."""
    train, test = cflib.load_split("u1", download=False)
    model, hist = fit_als_wr(train, k=10, reg_param=0.15, n_iters=20)
    known = (model.movie_counts[test.movies] > 0) & (model.user_counts[test.users] > 0)
    r = evaluate(model, test.subset(known))["rmse"]
    assert 0.90 < r < 0.95


# ------------------------------------------- adversarial inputs (issue 12)
def test_validation_type_and_huge_k_are_clear_errors(small):
    with pytest.raises(TypeError, match="validation must be a cflib.Ratings"):
        fit_als_wr(small, n_iters=1, validation="val")
    with pytest.raises(ValueError, match="k=100000 would need about .* GB"):
        fit_als_wr(small, k=10**5, n_iters=1)


def test_wr_cost_checks_its_arguments(small):
    X, T = np.zeros((small.n_movies, 2)), np.zeros((small.n_users, 2))
    assert wr_cost(X, T, small, 0.1) == pytest.approx(float(small.ratings @ small.ratings))
    with pytest.raises(TypeError, match="train must be a cflib.Ratings"):
        wr_cost(X, T, "train", 0.1)
    with pytest.raises(ValueError, match="rows but train has shape"):
        wr_cost(X[:3], T, small, 0.1)
    T2 = T.copy()
    T2[0, 0] = np.nan
    with pytest.raises(ValueError, match="Theta contains 1 NaN"):
        wr_cost(X, T2, small, 0.1)
