"""Tests of cflib.evaluate and cflib.baselines: error measures and the baseline ladder."""

from dataclasses import replace

import numpy as np
import pytest

import cflib
from cflib.baselines import BaselineModel, BiasedPredictor, fit_baseline
from cflib.evaluate import baseline_ladder, evaluate, mae, rmse
from cflib.train import MFModel, fit


@pytest.fixture(scope="module")
def split():
    data = cflib.make_synthetic(120, 80, 3, density=0.25, noise=0.3, seed=5)
    return data.random_split(0.2, seed=0)


# ---------------------------------------------------------------- rmse, mae
def test_truth_against_itself_is_zero():
    y = np.array([1.0, 3.0, 4.5, 5.0])
    assert rmse(y, y) == 0.0
    assert mae(y, y) == 0.0


def test_known_values():
    p = np.array([2.0, 3.0, 4.0, 5.0])
    a = np.array([1.0, 3.0, 5.0, 5.0])
    assert rmse(p, a) == pytest.approx(np.sqrt(2 / 4))
    assert mae(p, a) == pytest.approx(0.5)
    # any equal shapes, not only 1-D
    assert rmse(p.reshape(2, 2), a.reshape(2, 2)) == pytest.approx(np.sqrt(0.5))


def test_predictions_are_clipped_to_the_rating_scale():
    p = np.array([6.0, 0.0, 5.5])
    a = np.array([5.0, 1.0, 4.0])
    assert rmse(p, a) == pytest.approx(np.sqrt(1.0 / 3))
    assert mae(p, a) == pytest.approx(1.0 / 3)
    assert rmse(p, a, clip=None) == pytest.approx(np.sqrt((1 + 1 + 2.25) / 3))
    assert mae(p, a, clip=None) == pytest.approx(3.5 / 3)


@pytest.mark.parametrize("fn", [rmse, mae])
def test_bad_inputs(fn):
    with pytest.raises(ValueError, match="shape"):
        fn(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="shape"):
        fn(np.ones((3, 1)), np.ones(3))
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="NaN"):
        fn([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        fn([1.0, 2.0], [np.inf, 2.0])
    with pytest.raises(TypeError, match="numeric"):
        fn(["a", "b"], [1.0, 2.0])


# ----------------------------------------------------------------- evaluate
def test_evaluate_matches_rmse_and_mae(split):
    train, test = split
    m, _ = fit(train, k=3, n_iters=5)
    out = evaluate(m, test)
    assert set(out) == {"rmse", "mae"}
    pred = m.predict(test.movies, test.users)
    assert out["rmse"] == pytest.approx(rmse(pred, test.ratings))
    assert out["mae"] == pytest.approx(mae(pred, test.ratings))
    with pytest.raises(TypeError, match="predict"):
        evaluate(np.zeros(3), test)
    with pytest.raises(ValueError, match="no ratings"):
        evaluate(m, test.subset(np.zeros(test.nnz, dtype=bool)))


# ---------------------------------------------------------------- baselines
def test_global_and_movie_baselines(split):
    train, _ = split
    g = fit_baseline(train, "global")
    assert g.mu == pytest.approx(train.ratings.mean())
    np.testing.assert_allclose(g.predict(train.movies, train.users, clip=False), g.mu)
    mv = fit_baseline(train, "movie")
    counts = np.bincount(train.movies, minlength=train.n_movies)
    sums = np.bincount(train.movies, weights=train.ratings, minlength=train.n_movies)
    rated = counts > 0
    np.testing.assert_allclose((mv.mu + mv.movie_bias)[rated], sums[rated] / counts[rated])
    assert np.all(mv.movie_bias[~rated] == 0) and np.all(mv.user_bias == 0)


def test_bias_baseline_is_the_ridge_solution(split):
    train, _ = split
    lam = 4.0
    b = fit_baseline(train, "biases", lam_bias=lam, n_iters=200)
    e = b.mu + b.movie_bias[train.movies] + b.user_bias[train.users] - train.ratings
    # Stationarity of J_b: sum of residuals per movie (and per user) + lam * bias = 0.
    gm = np.bincount(train.movies, weights=e, minlength=train.n_movies) + lam * b.movie_bias
    gu = np.bincount(train.users, weights=e, minlength=train.n_users) + lam * b.user_bias
    assert np.abs(gm).max() < 1e-8 and np.abs(gu).max() < 1e-8


def test_unrated_get_zero_bias_and_predictions_are_clipped(split):
    train, _ = split
    keep = (train.movies != 3) & (train.users != 5)
    b = fit_baseline(train.subset(keep), "biases")
    assert b.movie_bias[3] == 0 and b.user_bias[5] == 0
    assert b.predict([3], [5], clip=False)[0] == pytest.approx(b.mu)
    pred = b.predict_all()
    assert pred.shape == train.shape and pred.min() >= 1 and pred.max() <= 5


def test_baseline_bad_arguments(split):
    train, _ = split
    with pytest.raises(ValueError, match="baseline must be one of"):
        fit_baseline(train, "median")
    with pytest.raises(TypeError, match=r"write baseline='movie'"):  # kind is fit's model kind
        fit_baseline(train, kind="movie")
    assert fit_baseline(train, baseline="movie").baseline == "movie"
    with pytest.raises(ValueError, match="lam"):
        fit_baseline(train, "biases", lam_bias=-1.0)
    with pytest.raises(ValueError, match="no ratings"):
        fit_baseline(train.subset(np.zeros(train.nnz, dtype=bool)))
    b = fit_baseline(train, "global")
    with pytest.raises(ValueError, match="indices"):
        b.predict([0], [train.n_users])


def test_baseline_ladder_goes_down(split):
    train, test = split
    m, _ = fit(train, k=3, lam=2.0, n_iters=20)
    ladder = baseline_ladder(train, test, m)
    names = [name for name, _ in ladder]
    assert names == ["global mean", "movie mean", "movie + user biases", "matrix factorization"]
    values = [v for _, v in ladder]
    assert values[0] > values[2] > values[3]
    assert values[3] == pytest.approx(evaluate(m, test)["rmse"])
    with pytest.raises(TypeError, match="not both"):
        baseline_ladder(train, test, m, k=2)
    trained_inside = baseline_ladder(train, test, k=3, lam=2.0, n_iters=20)
    assert trained_inside[3][1] == pytest.approx(values[3])
    # fit's own `model=` keyword (as in the BEST and COURSE presets) passes through.
    normalized = baseline_ladder(train, test, k=3, lam=2.0, n_iters=20, kind="normalized")
    m_norm, _ = fit(train, k=3, lam=2.0, n_iters=20, kind="normalized")
    assert normalized[3][1] == pytest.approx(evaluate(m_norm, test)["rmse"])


# ---- trust round three: models without a rating scale, the data's scale, clip arguments
def half_stars(seed=0):
    """Synthetic ratings on the half-star scale 0.5..5 of ml-latest-small (0.5 occurs)."""
    d = cflib.make_synthetic(80, 60, 3, density=0.3, integer=False, noise=0.3, seed=seed)
    r = np.clip(np.round((d.ratings - 1.0) * 9 / 4 + 0.5) / 2, 0.5, 5.0)  # 1..5 -> 0.5..5
    r[d.movies == d.movies[0]] = 0.5  # one movie everybody hates: its predictions lie below 1
    return cflib.Ratings(movies=d.movies, users=d.users, ratings=r, n_movies=d.n_movies, n_users=d.n_users,
                         titles=d.titles, genre_names=(), genres=d.genres, movie_ids=d.movie_ids,
                         user_ids=d.user_ids, name="half stars", scale=(0.5, 5.0))


def test_evaluate_and_ladder_refuse_models_without_a_rating_scale(split):
    from cflib.implicit_als import fit_implicit_als
    from cflib.popularity import fit_popularity
    train, test = split
    for model in (fit_popularity(train), fit_implicit_als(train, k=2, n_iters=1)[0]):
        with pytest.raises(ValueError, match="scores are not ratings.*ranking_metrics"):
            evaluate(model, test)
        with pytest.raises(ValueError, match="fitted is a .*Model, whose scores are not ratings"):
            baseline_ladder(train, test, fitted=model)


def test_half_star_predictions_reach_half_a_star():
    data = half_stars()
    assert data.ratings.min() == 0.5
    train, test = data.random_split(0.2, seed=0)
    for model in (fit_baseline(train, "movie"), fit(train, method="als", k=2, n_iters=3)[0]):
        assert model.rating_scale == (0.5, 5.0)
        pred = model.predict_all()
        assert pred.min() >= 0.5 and pred[data.movies[0]].min() == 0.5  # not clipped at 1
        out = evaluate(model, test)
        p = np.clip(model.predict(test.movies, test.users, clip=False), 0.5, 5.0)
        assert out["rmse"] == pytest.approx(np.sqrt(np.mean((p - test.ratings) ** 2)))


def test_rmse_refuses_actual_ratings_outside_clip():
    with pytest.raises(ValueError, match=r"outside clip=\(1, 5\).*clip=test.scale"):
        rmse([1.0, 2.0], [0.5, 2.0])
    assert rmse([0.7, 2.0], [0.5, 2.0], clip=(0.5, 5)) == pytest.approx(np.sqrt(0.04 / 2))


@pytest.mark.parametrize("clip, err, match", [
    (5, TypeError, "clip must be a pair"),
    ((5, 1), ValueError, "lowest < highest.*write \\(1, 5\\)"),
    ((np.nan, 5), ValueError, r"clip\[0\] \(the lowest rating\) must be a finite number"),
    (("1", 5), TypeError, r"clip\[0\]"),
])
def test_bad_clip_is_a_clear_error(clip, err, match):
    with pytest.raises(err, match=match):
        rmse([1.0, 2.0], [1.0, 2.0], clip=clip)
    with pytest.raises(err, match=match):
        mae([1.0, 2.0], [1.0, 2.0], clip=clip)


# ---------------------------------------------------- one predict, test shape

@pytest.fixture(scope="module")
def noisy():
    """60 movies, 40 users, k = 3, density 0.3, noise 0.3 (seed 1)."""
    return cflib.make_synthetic(60, 40, 3, density=0.3, noise=0.3, seed=1)


def test_one_predict_for_baselines_and_factor_models(noisy):
    b = fit_baseline(noisy, "biases")
    m, _ = fit(noisy, k=0, kind="biased", n_iters=3)
    assert isinstance(b, BiasedPredictor) and isinstance(m, BiasedPredictor)
    assert BaselineModel.predict is MFModel.predict and BaselineModel.predict_all is MFModel.predict_all
    assert b.X.shape == (noisy.n_movies, 0) and b.Theta.shape == (noisy.n_users, 0)
    np.testing.assert_allclose(b.predict(noisy.movies, noisy.users), b.predict_all()[noisy.movies, noisy.users])


def test_evaluate_checks_the_test_shape(noisy):
    m, _ = fit(noisy, k=2, n_iters=3)
    other = cflib.make_synthetic(20, 10, 2, seed=0)
    with pytest.raises(ValueError, match=r"test has shape \(20, 10\).*trained on \(60, 40\)"):
        evaluate(m, other)
    with pytest.raises(ValueError, match="test has shape"):
        evaluate(fit_baseline(noisy), other)
    with pytest.raises(TypeError, match="test must be a cflib.Ratings"):
        evaluate(m, np.zeros(3))
    assert evaluate(m, noisy)["rmse"] < 1.5


def test_evaluate_gives_an_fm_the_test_dates_on_any_data():
    data = cflib.make_synthetic(n_movies=12, n_users=9, density=0.5, seed=4)
    times = np.random.default_rng(0).integers(800_000_000, 800_000_000 + 60 * 86400, data.nnz)
    data = replace(data, timestamps=times, _cache={})
    train, test = data.random_split(0.3, seed=0)
    model, _ = fit(train, method="fm_als", features=["user", "movie", "date"], k=2, n_iters=3)
    assert model.space.side is None  # no side information: the dates can come only from the test ratings
    expect = rmse(model.predict(test.movies, test.users, timestamps=test.timestamps), test.ratings)
    assert evaluate(model, test)["rmse"] == pytest.approx(expect)
    with pytest.raises(ValueError, match="the date group needs each rating's time"):
        model.predict(test.movies, test.users)
    plain, _ = fit(train, method="als", k=2, n_iters=3)  # a predict without timestamps is called as before
    assert evaluate(plain, test)["rmse"] == pytest.approx(rmse(plain.predict(test.movies, test.users), test.ratings))
