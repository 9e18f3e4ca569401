"""Confidence-weighted ALS: the row solve against the dense normal equations, cost, descent, errors."""

import numpy as np
import pytest

from cflib.als import RowSystems
from cflib.implicit_als import (ImplicitModel, fit_implicit_als, implicit_cost, to_interactions)
from cflib.ranking import ranking_metrics
from cflib.synthetic import make_synthetic


def _dense_cost(X, Theta, P, C, lam):
    S = X @ Theta.T
    return float(np.sum(C * (P - S) ** 2) + lam * (np.sum(X * X) + np.sum(Theta * Theta)))


def _problem(seed=0, alpha=3.0):
    data = make_synthetic(25, 18, 2, seed=seed)
    movies, users, w = to_interactions(data, interactions="all", weights="rating")
    P = np.zeros(data.shape)
    P[movies, users] = 1.0
    C = np.ones(data.shape)
    C[movies, users] = 1.0 + alpha * w
    return data, movies, users, w, P, C


@pytest.mark.parametrize("d", [3, 30])  # both paths of the weighted Gram (sparse product and row loop)
def test_weighted_row_solve_equals_dense_normal_equations(d):
    data, movies, users, w, P, C = _problem()
    rng = np.random.default_rng(1)
    X = rng.standard_normal((data.n_movies, d))
    lam = 0.7
    side = RowSystems(users, movies, data.n_users, data.n_movies)
    c = (1.0 + 3.0 * w)[side.order]
    Theta = side.solve_weighted(X, c - 1.0, c, lam, base=X.T @ X)
    for u in range(data.n_users):
        A = X.T @ np.diag(C[:, u]) @ X + lam * np.eye(d)
        b = X.T @ (C[:, u] * P[:, u])
        np.testing.assert_allclose(Theta[u], np.linalg.solve(A, b), rtol=1e-9, atol=1e-12)


def test_cg_converges_to_the_exact_solve():
    data, movies, users, w, P, C = _problem()
    rng = np.random.default_rng(2)
    X = rng.standard_normal((data.n_movies, 4))
    side = RowSystems(users, movies, data.n_users, data.n_movies)
    c = (1.0 + 3.0 * w)[side.order]
    exact = side.solve_weighted(X, c - 1.0, c, 0.5, base=X.T @ X)
    W0 = np.zeros((data.n_users, 4))
    cg = side.solve_weighted_cg(X, c - 1.0, c, 0.5, W0, base=X.T @ X, steps=4)  # d steps: exact in theory
    np.testing.assert_allclose(cg, exact, rtol=1e-6, atol=1e-8)
    one = side.solve_weighted_cg(X, c - 1.0, c, 0.5, W0, base=X.T @ X, steps=1)
    assert np.abs(one - exact).max() > 1e-3  # one step is not the solution: the test can fail


def test_cost_from_interactions_equals_dense_cost():
    data, movies, users, w, P, C = _problem()
    rng = np.random.default_rng(3)
    X, Theta = rng.standard_normal((data.n_movies, 3)), rng.standard_normal((data.n_users, 3))
    got = implicit_cost(X, Theta, movies, users, 1.0 + 3.0 * w, 0.4)
    assert got == pytest.approx(_dense_cost(X, Theta, P, C, 0.4), rel=1e-12)


@pytest.mark.parametrize("solver", ["exact", "cg"])
def test_fit_decreases_the_cost_and_solvers_agree(solver):
    data, movies, users, w, P, C = _problem(alpha=2.0)
    model, h = fit_implicit_als(data, k=3, alpha=2.0, lam=1.0, interactions="all", weights="rating",
                                n_iters=8, solver=solver)
    assert len(h.cost) == 8 and h.time == sorted(h.time)
    assert h.cost[0] < h.initial_cost
    assert all(b <= a * (1 + 1e-9) for a, b in zip(h.cost, h.cost[1:]))  # ALS never goes up (exact); CG nearly
    assert h.cost[-1] == pytest.approx(_dense_cost(model.X, model.Theta, P, C, 1.0), rel=1e-10)
    assert not h.diverged
    assert isinstance(model, ImplicitModel) and model.predict_all().shape == data.shape


def test_exact_and_cg_reach_similar_costs_and_no_gram_is_the_same_fit():
    data = make_synthetic(25, 18, 2, seed=4)
    _, he = fit_implicit_als(data, k=3, alpha=2.0, lam=1.0, n_iters=10, solver="exact")
    _, hc = fit_implicit_als(data, k=3, alpha=2.0, lam=1.0, n_iters=10, solver="cg")
    assert hc.cost[-1] == pytest.approx(he.cost[-1], rel=1e-3)
    m1, _ = fit_implicit_als(data, k=3, n_iters=3, solver="exact")
    m2, _ = fit_implicit_als(data, k=3, n_iters=3, use_gram=False)
    np.testing.assert_allclose(m1.X, m2.X, rtol=1e-8, atol=1e-10)


def test_interactions_and_weights():
    data = make_synthetic(25, 18, 2, seed=5)
    m, u, w = to_interactions(data, interactions="liked", weights="binary")
    assert m.size == int((data.ratings >= 4).sum()) and np.all(w == 1.0)
    m, u, w = to_interactions(data, interactions="all", weights="rating")
    assert m.size == data.nnz and np.array_equal(w, data.ratings)


def test_learns_the_interactions_better_than_chance():
    data = make_synthetic(60, 50, 2, seed=6)
    train, test = data.random_split(0.2, seed=0)
    model, _ = fit_implicit_als(train, k=4, n_iters=10, interactions="all")
    rng = np.random.default_rng(0)

    class Random:
        def predict_all(self, *, clip=False):
            return rng.random(data.shape)

    ours = ranking_metrics(model, train, test, k=5)["precision"]
    chance = ranking_metrics(Random(), train, test, k=5)["precision"]
    assert ours > chance + 0.05


def test_errors():
    data = make_synthetic(10, 8, 2, seed=0)
    with pytest.raises(ValueError, match="interactions must be"):
        fit_implicit_als(data, interactions="some")
    with pytest.raises(ValueError, match="weights must be"):
        fit_implicit_als(data, weights="log")
    with pytest.raises(ValueError, match="solver must be"):
        fit_implicit_als(data, solver="lu")
    with pytest.raises(ValueError, match="alpha"):
        fit_implicit_als(data, alpha=-1.0)
    with pytest.raises(TypeError, match="train must be"):
        fit_implicit_als(np.zeros((3, 3)))
    model, _ = fit_implicit_als(data, k=2, n_iters=1)
    with pytest.raises(ValueError, match="clip=False"):
        model.predict_all(clip=True)


# ----------------------------------------------------------- the widget
def test_widget_refits_when_a_slider_moves():
    from cflib.implicit_widget import ImplicitExplorer, user_top

    data = make_synthetic(40, 30, 2, seed=7)
    train, test = data.random_split(0.2, seed=0)
    w = ImplicitExplorer(train, test, user=3, k=3, n_iters=3, alpha=2.0, lam=50.0)
    assert w.runs == 1 and len(w.top) == 10
    rated = set(train.movies[train.users == 3].tolist())
    assert not rated & set(w.top.tolist())  # never lists a training movie
    w.alpha.value = 50.0
    w.lam.value = 1.0
    assert w.runs == 3
    assert "alpha = 50" in w.table.value and "lambda = 1<" in w.table.value
    expected, _ = fit_implicit_als(train, k=3, alpha=50.0, lam=1.0, n_iters=3)
    assert w.top.tolist() == user_top(expected, train, 3, 10).tolist()
    assert 0 <= w.hits <= 10 and f"precision@10 = {w.hits / 10:.1f}" in w.table.value
    with pytest.raises(ValueError, match="alpha must be one of"):
        ImplicitExplorer(train, test, user=0, alpha=3.0)
    with pytest.raises(ValueError, match="user"):
        ImplicitExplorer(train, test, user=99)


def test_validation_ndcg_is_recorded_per_sweep():
    data = make_synthetic(40, 30, 2, seed=8)
    train, val = data.random_split(0.2, seed=1)
    _, h = fit_implicit_als(train, k=3, n_iters=4, interactions="all", validation=val)
    assert len(h.val_ndcg) == 4 and all(0.0 <= v <= 1.0 for v in h.val_ndcg)
    assert h.val_rmse == []


def test_cg_in_float32_is_close_to_float64():
    data = make_synthetic(40, 30, 2, seed=9)
    m32, h32 = fit_implicit_als(data, k=3, n_iters=6, interactions="all")
    m64, h64 = fit_implicit_als(data, k=3, n_iters=6, interactions="all", cg_dtype=np.float64)
    assert m32.X.dtype == np.float64
    assert h32.cost[-1] == pytest.approx(h64.cost[-1], rel=1e-4)
    assert np.abs(m32.predict_all() - m64.predict_all()).max() < 1e-3


# ------------------------------------------- adversarial inputs (issue 12)
from cflib.implicit_als import implicit_row  # noqa: E402


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError)])
def test_seed_is_checked_and_named(seed, error):
    data = make_synthetic(20, 15, 2, seed=3)
    with pytest.raises(error, match="seed"):
        fit_implicit_als(data, k=2, n_iters=1, seed=seed)


def test_cg_dtype_must_be_a_float_type():
    data = make_synthetic(20, 15, 2, seed=3)
    with pytest.raises(TypeError, match="cg_dtype must be np.float32 or np.float64"):
        fit_implicit_als(data, k=2, n_iters=1, cg_dtype=int)


def test_a_huge_k_is_refused_before_allocating():
    data = make_synthetic(20, 15, 2, seed=3)
    with pytest.raises(ValueError, match="k=1000000 would need about .* GB"):
        fit_implicit_als(data, k=10**6, n_iters=1)
    for scale in (1e308, 1e200):
        with pytest.raises(ValueError, match="init_scale=.* overflows"):
            fit_implicit_als(data, k=2, n_iters=1, init_scale=scale)
    with pytest.raises(ValueError, match="alpha=1e\\+308 makes the confidences"):
        fit_implicit_als(data, k=2, n_iters=1, alpha=1e308, weights="rating")


@pytest.mark.parametrize("kwargs", [dict(alpha=1e20), dict(lam=1e308), dict(alpha=1e20, solver="exact")])
def test_divergence_keeps_the_last_finite_factors_with_one_warning(kwargs):
    import warnings
    data = make_synthetic(30, 20, 2, density=0.4, seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, h = fit_implicit_als(data, k=3, n_iters=3, **kwargs)
    # only the loop's divergence warning: no numpy overflow warnings escape
    assert [str(w.message).split(":")[0] for w in caught] == ["implicit_als diverged after 0 iteration(s)"]
    assert h.diverged
    assert np.isfinite(model.X).all() and np.isfinite(model.Theta).all()
    assert np.isfinite(model.predict_all()).all()


def test_implicit_row_validates_its_arguments():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3))
    theta = implicit_row(X, [0, 2], [3.0, 2.0], 1.0)
    A = X.T @ X + np.outer(X[0], X[0]) * 2.0 + np.outer(X[2], X[2]) * 1.0 + np.eye(3)
    assert np.allclose(A @ theta, 3.0 * X[0] + 2.0 * X[2])
    cases = [((X, [99], [2.0], 1.0), ValueError, "movies holds indices"),
             ((X, [-1], [2.0], 1.0), ValueError, "movies holds indices"),   # used to use the last row
             ((X, [0, 1], [2.0], 1.0), ValueError, "c must hold one confidence"),
             ((X, [0], [2.0], "1"), TypeError, "lam must be a real number"),
             ((X, [0], [2.0], np.nan), ValueError, "lam must be a finite"),  # used to return NaN
             ((X, [0], [np.nan], 1.0), ValueError, "X and c must be finite"),
             ((np.zeros(3), [0], [2.0], 1.0), ValueError, "X must be 2-D"),
             ((np.zeros((3, 2)), [], [], 0.0), ValueError, "singular .* use lam > 0")]
    for args, error, match in cases:
        with pytest.raises(error, match=match):
            implicit_row(*args)


def test_widget_checks_its_data_and_survives_a_failed_refit(monkeypatch):
    import cflib.implicit_widget as iw

    data = make_synthetic(40, 30, 2, seed=7)
    train, test = data.random_split(0.2, seed=0)
    with pytest.raises(TypeError, match="train must be a cflib.Ratings"):
        iw.ImplicitExplorer("train", test, user=0)
    with pytest.raises(TypeError, match="test must be a cflib.Ratings"):
        iw.ImplicitExplorer(train, None, user=0)
    with pytest.raises(ValueError, match="test has shape"):
        iw.ImplicitExplorer(train, make_synthetic(10, 5, 2, seed=2), user=0)
    w = iw.ImplicitExplorer(train, test, user=3, k=3, n_iters=3)
    top, model = w.top.copy(), w.model
    real = iw.fit_implicit_als

    def diverging(*args, **kwargs):
        m, h = real(*args, **kwargs)
        h.diverged = True
        return m, h

    monkeypatch.setattr(iw, "fit_implicit_als", diverging)
    w.alpha.value = 50.0
    assert "Diverged with alpha = 50" in w.table.value
    assert w.model is model and w.top.tolist() == top.tolist()

    def failing(*args, **kwargs):
        raise ValueError("train has no interactions")

    monkeypatch.setattr(iw, "fit_implicit_als", failing)
    w.lam.value = 1.0
    assert "Could not fit" in w.table.value and w.model is model
    monkeypatch.setattr(iw, "fit_implicit_als", real)
    w.alpha.value = 0.0  # the controls still work
    assert "alpha = 0" in w.table.value and len(w.top) == 10
    # every corner of the sliders gives a finite ten-movie list
    for a in (iw.ALPHAS[0], iw.ALPHAS[-1]):
        for lam in (iw.LAMS[0], iw.LAMS[-1]):
            w.alpha.value, w.lam.value = a, lam
            assert len(w.top) == 10 and np.isfinite(w.model.X).all()


def test_validation_errors_name_validation():
    data = make_synthetic(30, 20, 2, density=0.4, seed=1)
    with pytest.raises(TypeError, match="validation must be a cflib.Ratings"):
        fit_implicit_als(data, k=2, n_iters=1, validation="val")
    with pytest.raises(ValueError, match="validation has shape"):
        fit_implicit_als(data, k=2, n_iters=1, validation=make_synthetic(10, 5, 2, seed=2))
    with pytest.raises(ValueError, match="validation has no rating >= 4"):
        fit_implicit_als(data, k=2, n_iters=1, validation=data.subset(data.ratings < 4))


def test_public_helpers_name_a_wrong_argument():
    with pytest.raises(TypeError, match="train must be a cflib.Ratings"):
        to_interactions("train")
    X, T = np.ones((4, 2)), np.ones((3, 2))
    P, C = np.zeros((4, 3)), np.ones((4, 3))
    P[0, 0], C[0, 0] = 1.0, 3.0
    assert implicit_cost(X, T, [0], [0], [3.0], 1.0) == pytest.approx(_dense_cost(X, T, P, C, 1.0))
    with pytest.raises(ValueError, match="users holds indices"):
        implicit_cost(X, T, [0], [5], [3.0], 1.0)
    with pytest.raises(ValueError, match="c must hold one confidence"):
        implicit_cost(X, T, [0], [0], [3.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="X has k=2 columns but Theta has k=3"):
        implicit_cost(X, np.ones((3, 3)), [0], [0], [3.0], 1.0)
    with pytest.raises(ValueError, match="lam must be a finite"):
        implicit_cost(X, T, [0], [0], [3.0], -1.0)


def test_user_top_names_a_bad_user_or_n():
    from cflib.implicit_als import ImplicitModel
    from cflib.implicit_widget import user_top
    from cflib.ratings import rating_scale

    model = ImplicitModel(np.ones((5, 2)), np.ones((3, 2)))
    assert rating_scale(model) is None  # preferences, not ratings
    train = type("T", (), {"movies": np.array([0]), "users": np.array([0])})
    for user in (-1, 3):
        with pytest.raises(ValueError, match="user"):
            user_top(model, train, user)
    with pytest.raises(ValueError, match="n"):
        user_top(model, train, 0, n=0)
