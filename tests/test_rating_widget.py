"""The rating widget keeps an honest state: every bad input is a clear error, every failure leaves it as shown."""

from dataclasses import replace

import numpy as np
import pytest

import cflib
from cflib import rating_widget as RW
from cflib.train import fit


@pytest.fixture(scope="module")
def named():
    data = cflib.make_synthetic(40, 30, 2, density=0.4, noise=0.3, seed=3)
    titles = np.array([f"Film {i:02d}" for i in range(data.n_movies)], dtype=object)
    data = replace(data, titles=titles, _cache={})
    model, _ = fit(data, k=2, lam=1.0, n_iters=5)
    return data, model


def state(rw):
    return (dict(rw.my_ratings), list(rw.recommended), rw.mine.value, rw.recommendations.value,
            rw.matches.options, rw.matches.value, rw.similar.value)


def test_similar_model_as_bare_features_with_the_default_min_ratings(named):
    data, model = named
    rw = RW.RatingWidget(model, data, ratings={0: 5}, similar_model=model.X * 2)  # min_ratings=20
    rw.search.value = "film 0"
    rw.matches.value = 1
    assert "Closest to Film 01" in rw.similar.value
    counts = np.bincount(data.movies, minlength=data.n_movies)
    listed = [t for t in rw.similar.value.split("<li>")[1:]]
    assert all(counts[int(t[5:7])] >= 20 for t in listed)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=0), ValueError, "n must be an integer >= 1"),
    (dict(n="10"), TypeError, "n must be an integer.*without quotes"),
    (dict(min_ratings="5"), TypeError, "min_ratings must be an integer"),
    (dict(ratings={500: 4}), ValueError, "ratings: movies holds indices in 500..500"),
    (dict(ratings={0: 9}), ValueError, "ratings: my_ratings values must lie in the data's rating scale 1..5"),
    (dict(ratings={"No Such Film": 4}), KeyError, "no movie titled 'No Such Film'"),
    (dict(ratings=[(0, 4)]), TypeError, "ratings must be a dict"),
])
def test_bad_arguments_are_clear_errors(named, kwargs, error, match):
    data, model = named
    with pytest.raises(error, match=match):
        RW.RatingWidget(model, data, **kwargs)


def test_title_keys_are_accepted(named):
    data, model = named
    rw = RW.RatingWidget(model, data, ratings={"Film 03": 5, 4: 2}, min_ratings=0)
    assert rw.my_ratings == {3: 5.0, 4: 2.0}


def test_rate_and_remove_refuse_bad_movies_and_leave_the_widget_as_it_was(named):
    data, model = named
    rw = RW.RatingWidget(model, data, ratings={5: 4}, n=3, min_ratings=0)
    before = state(rw)
    for movie, error in [(data.n_movies, ValueError), ("5", TypeError), (True, TypeError),
                         ("Film 05", TypeError)]:
        with pytest.raises(error, match="movie"):
            rw.rate(movie, 4)
        with pytest.raises(error, match="movie"):
            rw.remove(movie)
        assert state(rw) == before
    rw.remove(5)
    assert rw.my_ratings == {}


def test_half_stars_are_shown_as_given(named):
    data, model = named
    rw = RW.RatingWidget(model, data, ratings={0: 5}, n=3, min_ratings=0)
    rw.search.value = "film 0"
    rw.rate(5, 4.5)
    assert "4.5 stars" in rw.status.value and "4 stars" not in rw.status.value
    assert "★★★★½ Film 05 (4.5)" in rw.mine.value
    assert dict((v, lab) for lab, v in rw.matches.options)[5] == "Film 05  [you: 4.5]"


def test_a_failed_update_changes_nothing_shown(named, monkeypatch):
    data, model = named
    rw = RW.RatingWidget(model, data, ratings={0: 5}, n=3, min_ratings=0)
    rw.search.value = "film 0"
    rw.matches.value = 2
    rw.rate(2, 3)
    before = state(rw)

    def broken(*args, **kwargs):
        raise RuntimeError("solver failed")
    monkeypatch.setattr(RW, "recommend", broken)
    for action in (lambda: rw.rate(4, 5), lambda: rw.remove(2), rw.reset):
        with pytest.raises(RuntimeError):
            action()
        assert state(rw) == before
        assert "unchanged" in rw.status.value


def test_half_star_data_gets_half_star_buttons(named):
    data, _ = named
    half = replace(data, ratings=np.clip(data.ratings - 0.5, 0.5, 5.0), scale=(0.5, 5.0), _cache={})
    model, _ = fit(half, k=2, n_iters=3)
    rw = RW.RatingWidget(model, half, ratings={0: 0.5}, n=3, min_ratings=0)
    assert [v for _, v in rw.stars.options][:2] == [0.5, 1.0]
    rw.rate(1, 0.5)
    assert rw.my_ratings == {0: 0.5, 1: 0.5}


def test_other_model_kinds_are_refused_up_front(named):
    from cflib.gibbs import fit_gibbs
    from cflib.implicit_als import fit_implicit_als
    from cflib.popularity import fit_popularity
    data, model = named
    for other, match in [(fit_gibbs(data, k=2, n_iters=3, burn_in=1)[0], "GibbsModel"),
                         (fit_implicit_als(data, k=2, n_iters=1)[0], "ImplicitModel"),
                         (fit_popularity(data), "PopularityModel")]:
        with pytest.raises(TypeError, match=match):
            RW.RatingWidget(other, data)
    with pytest.raises(TypeError, match="GibbsModel.*model.X"):
        RW.RatingWidget(model, data, similar_model=fit_gibbs(data, k=2, n_iters=3, burn_in=1)[0])


def test_a_movie_without_training_ratings_shows_a_message(named):
    data, _ = named
    keep = data.movies != 6
    model, _ = fit(data.subset(keep), k=2, n_iters=3)
    rw = RW.RatingWidget(model, data, ratings={0: 5}, n=3, min_ratings=0)
    rw.search.value = "film 06"
    rw.matches.value = 6
    assert "no training ratings" in rw.similar.value


@pytest.fixture(scope="module")
def noisy():
    """60 movies, 40 users, k = 3, density 0.3, noise 0.3 (seed 1)."""
    return cflib.make_synthetic(60, 40, 3, density=0.3, noise=0.3, seed=1)


def test_rating_widget_validates_before_storing(noisy):
    m, _ = fit(noisy, k=2, n_iters=3)
    rw = RW.RatingWidget(m, noisy, ratings={0: 5}, n=3, min_ratings=0)
    before = (dict(rw.my_ratings), list(rw.recommended), rw.status.value, rw.mine.value,
              rw.recommendations.value)
    for movie, stars, error in [(5000, 4, ValueError), (-1, 4, ValueError), (3, 9, ValueError),
                                (3, float("nan"), ValueError), (3, "4", TypeError), (2.5, 4, TypeError)]:
        with pytest.raises(error):
            rw.rate(movie, stars)
        assert (dict(rw.my_ratings), list(rw.recommended), rw.status.value, rw.mine.value,
                rw.recommendations.value) == before
    rw.rate(3, 4)  # later ratings still work
    assert rw.my_ratings == {0: 5.0, 3: 4.0}
