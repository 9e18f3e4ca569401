"""EASE: the closed form against a direct numpy computation, the one loop, choosing lam, errors."""

import numpy as np
import pytest

from cflib.ease import EASEModel, choose_lam, ease_cost, ease_weights, fit_ease, gram
from cflib.popularity import fit_popularity
from cflib.ranking import ranking_metrics
from cflib.synthetic import make_synthetic
from cflib.train import fit


@pytest.fixture(scope="module")
def data():
    return make_synthetic(40, 60, 3, density=0.25, seed=5)


def _dense_R(data):
    R = np.zeros(data.shape)
    R[data.movies, data.users] = 1.0
    return R


def test_closed_form_against_a_direct_numpy_computation(data):
    R = _dense_R(data)
    X = R.T  # users x movies, as in Steck's paper
    lam = 7.0
    P = np.linalg.inv(X.T @ X + lam * np.eye(data.n_movies))
    B_ref = np.eye(data.n_movies) - P @ np.diag(1.0 / np.diag(P))
    G = gram(data)
    np.testing.assert_allclose(G, X.T @ X)
    B = ease_weights(G, lam)
    np.testing.assert_allclose(B, B_ref, atol=1e-12)
    assert np.all(np.diag(B) == 0.0)
    # B is the constrained minimizer: the gradient 2 (G B - G) + 2 lam B vanishes off the diagonal
    grad = 2 * (G @ B - G) + 2 * lam * B
    off = ~np.eye(data.n_movies, dtype=bool)
    assert np.abs(grad[off]).max() < 1e-9
    # and any change of an off-diagonal entry costs more
    J = ease_cost(B, R, lam)
    B2 = B.copy()
    B2[1, 2] += 1e-3
    assert ease_cost(B2, R, lam) > J


def test_fit_through_the_one_loop(data):
    train, val = data.random_split(0.2, seed=0)
    model, history = fit(train, method="ease", lam=5.0, validation=val)
    direct, _ = fit_ease(train, lam=5.0)
    np.testing.assert_array_equal(model.B, direct.B)
    assert isinstance(model, EASEModel) and model.params == dict(method="ease", lam=5.0, interactions="all",
                                                                 n_iters=1, seed=0)
    # one step; J at B = 0 is the number of interactions, J at the closed form is sum(1/P_ii) - lam n_movies
    assert len(history.cost) == len(history.time) == len(history.val_ndcg) == 1 and not history.diverged
    assert history.initial_cost == train.nnz
    assert history.cost[0] == pytest.approx(ease_cost(model.B, _dense_R(train), 5.0))
    assert history.val_ndcg[0] == pytest.approx(ranking_metrics(model, train, val)["ndcg"])
    S = model.predict_all(clip=False)
    np.testing.assert_allclose(S, model.B.T @ _dense_R(train))
    np.testing.assert_allclose(model.predict(val.movies, val.users), S[val.movies, val.users])
    again, _ = fit(train, **model.params)
    np.testing.assert_array_equal(again.B, model.B)
    liked, _ = fit(train, method="ease", lam=5.0, interactions="liked")
    assert liked.R.nnz == int((train.ratings >= 4).sum())


def test_ease_works_with_the_ranking_functions():
    data = make_synthetic(60, 80, 3, density=0.2, seed=1)
    train, test = data.random_split(0.25, seed=1)
    model, _ = fit(train, method="ease", lam=20.0)
    m = ranking_metrics(model, train, test)
    assert 0.0 <= m["precision"] <= 1.0 and m["n_users"] > 0
    assert ranking_metrics(fit_popularity(train), train, test)["n_users"] == m["n_users"]


def test_choose_lam_keeps_the_best_on_validation(data):
    lam, table = choose_lam(data, [1.0, 10.0, 100.0], seed=3)
    assert [row["lam"] for row in table] == [1.0, 10.0, 100.0]
    assert lam == max(table, key=lambda row: row["ndcg"])["lam"]
    fit_part, val = data.random_split(0.2, seed=3)
    model, _ = fit(fit_part, method="ease", lam=10.0)
    assert table[1]["ndcg"] == pytest.approx(ranking_metrics(model, fit_part, val)["ndcg"])


def test_bad_arguments_are_named(data):
    with pytest.raises(ValueError, match="lam must be a finite number > 0"):
        fit(data, method="ease", lam=0.0)
    with pytest.raises(ValueError, match="n_iters must be an integer <= 1"):
        fit(data, method="ease", n_iters=3)
    with pytest.raises(TypeError, match="method 'ease' does not use k"):
        fit(data, method="ease", k=10)
    with pytest.raises(ValueError, match="interactions must be one of"):
        fit(data, method="ease", interactions="watched")
    with pytest.raises(ValueError, match=r"G must be square"):
        ease_weights(np.zeros((3, 4)), 1.0)
    with pytest.raises(ValueError, match="G must be symmetric"):
        ease_weights(np.triu(np.ones((3, 3))), 1.0)
    with pytest.raises(ValueError, match="lam must be a finite number > 0"):
        ease_weights(np.eye(3), -1.0)
    with pytest.raises(ValueError, match="not positive definite"):
        ease_weights(-5 * np.eye(3), 1.0)
    with pytest.raises(ValueError, match=r"B must have shape \(n_movies, n_movies\)"):
        ease_cost(np.eye(3), np.ones((4, 2)), 1.0)
    with pytest.raises(ValueError, match="lams is empty"):
        choose_lam(data, [])
    with pytest.raises(ValueError, match=r"lams\[1\] must be a finite number > 0"):
        choose_lam(data, [1.0, 0.0])
    with pytest.raises(TypeError, match="lams must be a sequence"):
        choose_lam(data, 100.0)
    model, _ = fit(data, method="ease", lam=5.0)
    with pytest.raises(ValueError, match="clip=False"):
        model.predict_all(clip=True)
    with pytest.raises(ValueError, match="movies holds indices"):
        model.predict(np.array([40]), np.array([0]))
