"""Tests of cflib.recommend: fold-in, recommendations, similar movies."""

import dataclasses

import numpy as np
import pytest

import cflib
from cflib import als
from cflib.recommend import add_user, fold_in, fold_in_user, recommend, similar_movies
from cflib.train import KINDS, fit


@pytest.fixture(scope="module")
def data():
    return cflib.make_synthetic(100, 60, 3, density=0.25, noise=0.3, seed=7)


@pytest.fixture(scope="module", params=KINDS)
def model(request, data):
    m, _ = fit(data, k=3, lam=2.0, kind=request.param, method="als", n_iters=10)
    return m


def user_ratings(data, j):
    sel = data.users == j
    return {int(m): float(r) for m, r in zip(data.movies[sel], data.ratings[sel])}


# ------------------------------------------------------------------- fold_in
def test_fold_in_is_the_ridge_solution():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    movies = np.array([1, 5, 7, 8, 20, 29])
    r = rng.standard_normal(6)
    lam = 0.7
    theta = fold_in(X, movies, r, lam)
    # Ridge as least squares on the augmented system [X_r; sqrt(lam) I] theta = [r; 0].
    A = np.vstack([X[movies], np.sqrt(lam) * np.eye(4)])
    b = np.r_[r, np.zeros(4)]
    expected = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(theta, expected, rtol=1e-10, atol=1e-12)
    assert theta.shape == (4,)


def test_fold_in_edge_cases():
    X = np.arange(12.0).reshape(6, 2)
    np.testing.assert_array_equal(fold_in(X, np.array([], dtype=int), np.array([]), 1.0), [0.0, 0.0])
    # lam = 0 with one rating: singular, minimum-norm least squares instead of an error
    theta = fold_in(X, [3], [2.0], 0.0)
    assert X[3] @ theta == pytest.approx(2.0)
    with pytest.raises(ValueError, match="same length"):
        fold_in(X, [1, 2], [3.0], 1.0)
    with pytest.raises(ValueError, match="0..5"):
        fold_in(X, [6], [3.0], 1.0)
    with pytest.raises(ValueError, match="more than once"):
        fold_in(X, [1, 1], [3.0, 4.0], 1.0)
    with pytest.raises(TypeError, match="integer"):
        fold_in(X, [1.5], [3.0], 1.0)
    with pytest.raises(ValueError, match="lam"):
        fold_in(X, [1], [3.0], -1.0)


def test_fold_in_user_reproduces_the_last_als_user_step(data, model):
    # ALS ends with a user half-step: folding a training user back in gives their row of Theta.
    for j in (0, 17, 42):
        u = fold_in_user(model, user_ratings(data, j))
        np.testing.assert_allclose(u.theta, model.Theta[j], atol=1e-8)
        assert u.bias == pytest.approx(model.user_bias[j], abs=1e-8)
        np.testing.assert_allclose(u.predictions, model.predict_all()[:, j], atol=1e-8)


def test_fold_in_user_without_ratings_predicts_the_baseline(model):
    u = fold_in_user(model, {})
    assert np.all(u.theta == 0) and u.bias == 0
    np.testing.assert_allclose(u.predictions, np.clip(model.mu + model.movie_bias, 1, 5))


def test_fold_in_user_bad_ratings(model):
    with pytest.raises(ValueError, match="1..5"):
        fold_in_user(model, {0: 7.0})
    with pytest.raises(TypeError, match="dict"):
        fold_in_user(model, [(0, 5.0)])
    with pytest.raises(ValueError, match="indices"):
        fold_in_user(model, {model.n_movies: 5.0})


# ----------------------------------------------------------------- recommend
def test_recommend_excludes_rated_movies_and_is_sorted(data, model):
    mine = user_ratings(data, 3)
    recs = recommend(model, mine, n=15)
    assert len(recs) == 15
    assert not {m for m, _ in recs} & set(mine)
    scores = [p for _, p in recs]
    assert scores == sorted(scores, reverse=True)
    pred = fold_in_user(model, mine).predictions
    unseen = np.setdiff1d(np.arange(model.n_movies), list(mine))
    assert scores[0] == pytest.approx(pred[unseen].max())


def test_recommend_min_ratings_filter(data, model):
    mine = {0: 5.0, 1: 1.0}
    recs = recommend(model, mine, n=5, min_ratings=20)
    assert all(model.movie_counts[m] >= 20 for m, _ in recs)
    with pytest.raises(ValueError, match="n must"):
        recommend(model, mine, n=0)


def test_recommend_with_retraining(data):
    m, _ = fit(data, k=2, n_iters=5)
    mine = {0: 5.0, 10: 4.0, 20: 1.0}
    recs = recommend(m, mine, n=5, retrain=True)
    assert len(recs) == 5 and not {i for i, _ in recs} & set(mine)
    no_data = dataclasses.replace(m, train=None)
    with pytest.raises(ValueError, match="training ratings"):
        recommend(no_data, mine, retrain=True)


def test_add_user(data):
    mine = {4: 5.0, 9: 2.0}
    bigger = add_user(data, mine)
    assert bigger.shape == (data.n_movies, data.n_users + 1)
    assert bigger.nnz == data.nnz + 2
    assert bigger.user_ids[-1] == data.user_ids.max() + 1
    assert bigger.Y[4, -1] == 5.0 and bigger.Y[9, -1] == 2.0 and bigger.R[:, -1].sum() == 2
    np.testing.assert_array_equal(bigger.Y[:, :-1], data.Y)


# ------------------------------------------------------------ similar movies
def test_similar_movies_finds_a_copied_feature_vector_first(model):
    X = model.X.copy()
    X[17] = 2.5 * X[5]  # same direction, different length: cosine 1
    copy = dataclasses.replace(model, X=X)
    sims = similar_movies(copy, 5, n=4)
    assert sims[0][0] == 17 and sims[0][1] == pytest.approx(1.0)
    assert all(m != 5 for m, _ in sims)
    assert [c for _, c in sims] == sorted([c for _, c in sims], reverse=True)
    assert similar_movies(X, 5, n=1)[0][0] == 17  # a bare X works too


def test_similar_movies_filters(data):
    keep = data.movies != 8
    m, _ = fit(data.subset(keep), k=3, n_iters=5)
    sims = similar_movies(m, 0, n=m.n_movies)
    assert 8 not in [i for i, _ in sims]  # never rated: zero features, no direction
    assert len(sims) == m.n_movies - 2
    popular = similar_movies(m, 0, n=50, min_ratings=30)
    assert all(m.movie_counts[i] >= 30 for i, _ in popular)
    with pytest.raises(ValueError, match="all-zero"):
        similar_movies(m, 8)
    with pytest.raises(ValueError, match="movie must"):
        similar_movies(m, m.n_movies)
    with pytest.raises(ValueError, match="min_ratings needs"):
        similar_movies(m.X, 0, min_ratings=5)


# ---- trust round three: every model kind gives a result or a clear error, half stars
@pytest.fixture(scope="module")
def other_models(data):
    from cflib.gibbs import fit_gibbs
    from cflib.implicit_als import fit_implicit_als
    from cflib.popularity import fit_popularity
    return {"gibbs": fit_gibbs(data, k=2, n_iters=4, burn_in=2)[0],
            "implicit": fit_implicit_als(data, k=2, n_iters=2)[0],
            "popularity": fit_popularity(data)}


@pytest.mark.parametrize("kind, match", [("gibbs", "GibbsModel holding .* cflib.train.fit"),
                                         ("implicit", "ImplicitModel, whose scores are not ratings"),
                                         ("popularity", "PopularityModel, whose scores are not ratings")])
def test_recommend_and_fold_in_on_other_models_are_clear_errors(other_models, kind, match):
    model = other_models[kind]
    with pytest.raises(TypeError, match=match):
        recommend(model, {0: 5})
    with pytest.raises(TypeError, match=match.replace("recommend", "fold_in_user")):
        fold_in_user(model, {0: 5})


def test_similar_movies_on_other_models(other_models, data):
    with pytest.raises(TypeError, match=r"GibbsModel.*model\.X\[-1\]"):
        similar_movies(other_models["gibbs"], 0)
    assert len(similar_movies(other_models["gibbs"].X[-1], 0, n=3)) == 3
    with pytest.raises(TypeError, match="PopularityModel, which has no features"):
        similar_movies(other_models["popularity"], 0)
    implicit = other_models["implicit"]
    assert len(similar_movies(implicit, 0, n=3)) == 3
    with pytest.raises(ValueError, match="movie_counts=np.bincount"):
        similar_movies(implicit, 0, min_ratings=5)
    counts = np.bincount(data.movies, minlength=data.n_movies)
    near = similar_movies(implicit, 0, n=5, min_ratings=5, movie_counts=counts)
    assert all(counts[i] >= 5 for i, _ in near)


def test_similar_movies_and_recommend_argument_types(model):
    with pytest.raises(TypeError, match="movie must be an int index"):
        similar_movies(model, True)
    with pytest.raises(TypeError, match="min_ratings must be an integer.*without quotes"):
        similar_movies(model, 0, min_ratings="5")
    with pytest.raises(TypeError, match="retrain must be True or False"):
        recommend(model, {0: 5}, retrain="no")
    with pytest.raises(TypeError, match="min_ratings must be an integer"):
        recommend(model, {0: 5}, min_ratings="5")


def test_recommend_accepts_half_stars_on_half_star_data(data):
    half = dataclasses.replace(data, ratings=np.clip(data.ratings - 0.5, 0.5, 5.0), scale=(0.5, 5.0),
                               _cache={})
    m, _ = fit(half, k=2, n_iters=3)
    out = recommend(m, {0: 0.5, 1: 4.5}, n=3)
    assert len(out) == 3 and all(0.5 <= p <= 5.0 for _, p in out)
    assert fold_in_user(m, {0: 0.5}).predictions.min() >= 0.5
    with pytest.raises(ValueError, match="rating scale 0.5..5"):
        recommend(m, {0: 0.25})
    with pytest.raises(ValueError, match="rating scale 1..5"):
        recommend(fit(data, k=2, n_iters=2)[0], {0: 0.5})
    assert add_user(half, {0: 0.5}).scale == (0.5, 5.0)


# ------------------------------------------------ the ridge solve, integer ids

@pytest.fixture(scope="module")
def noisy():
    """60 movies, 40 users, k = 3, density 0.3, noise 0.3 (seed 1)."""
    return cflib.make_synthetic(60, 40, 3, density=0.3, noise=0.3, seed=1)


def test_one_ridge_solve_for_als_and_fold_in(noisy):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((noisy.n_movies, 3))
    movies = np.array([1, 5, 9, 20])
    r = np.array([0.5, -1.0, 1.5, 0.0])
    theta = fold_in(X, movies, r, 2.0)
    sides = als.RowSystems(np.zeros(4, dtype=int), movies, 1, noisy.n_movies)
    W_als = sides.solve(X, r, 2.0)
    np.testing.assert_allclose(theta, W_als[0], rtol=1e-12)
    # Singular (lam = 0, fewer ratings than features): the same minimum-norm answer on both paths.
    t0 = fold_in(X, movies[:2], r[:2], 0.0)
    w0 = als.RowSystems(np.zeros(2, dtype=int), movies[:2], 1, noisy.n_movies).solve(X, r[:2], 0.0)[0]
    np.testing.assert_allclose(t0, np.linalg.pinv(X[movies[:2]]) @ r[:2], atol=1e-10)
    np.testing.assert_allclose(t0, w0, atol=1e-10)


@pytest.mark.parametrize("bad, error, match", [
    ({3.7: 5}, TypeError, "integer movie indices, got float 3.7"),
    ({"12": 5}, TypeError, "string '12'.*ratings_by_title"),
    ({True: 5}, TypeError, "integer movie indices, got bool"),
    ({"Star Wars (1977)": 5}, TypeError, "ratings_by_title"),
    ({np.float64(2.0): 5}, TypeError, "integer movie indices"),
    ({2: "5"}, TypeError, "values must be numbers"),
])
def test_recommend_takes_integer_ids_only(noisy, bad, error, match):
    m, _ = fit(noisy, k=2, n_iters=3)
    with pytest.raises(error, match=match):
        recommend(m, bad)
    with pytest.raises(error, match=match):
        fold_in_user(m, bad)


def test_recommend_accepts_numpy_integer_ids(noisy):
    m, _ = fit(noisy, k=2, n_iters=3)
    assert recommend(m, {np.int64(3): 5.0}, n=3) == recommend(m, {3: 5.0}, n=3)
