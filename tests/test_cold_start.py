"""The cold-start protocol (cflib.cold_start) and new movies and users in a factorization machine
(cflib.cold_start.with_new_movie / with_new_user, cflib.features.FeatureSpace.movie_row / user_row / with_new)."""

from __future__ import annotations

import numpy as np
import pytest

import cflib
from cflib.cold_start import (ColdStart, attribute_mean, cold_start_split, cold_start_user_split, genre_mean,
                               with_new_movie, with_new_user)
from cflib.evaluate import evaluate, rmse
from cflib.fm import FMModel, predict_dense
from cflib.ranking import score_matrix, top_k, user_list
from cflib.train import fit
from test_features import fixture_data  # noqa: F401  (the ml-100k fixture, 4 users x 5 movies, and its side)

SIDE_ALL = ["user", "movie", "age", "gender", "occupation", "zip", "genres", "year", "date", "movie_raters",
            "user_rated"]


@pytest.fixture(scope="module")
def split():
    data = cflib.make_synthetic(n_movies=60, n_users=40, density=0.3, seed=2)
    return data.random_split(0.2, seed=0)


@pytest.fixture(scope="module")
def fm(fixture_data):
    full, side = fixture_data
    model, _ = fit(full, method="fm_sgd", features=SIDE_ALL, side=side, k=3, n_iters=3, init_std=0.3, lr=0.05)
    return model


def _triples(*datasets):
    return sorted(t for d in datasets for t in zip(d.movies.tolist(), d.users.tolist(), d.ratings.tolist()))


# ------------------------------------------------------------------ the split
@pytest.mark.parametrize("kind", ["movies", "users"])
def test_the_split_moves_exactly_the_chosen_ratings_and_loses_none(split, kind):
    train, test = split
    if kind == "movies":
        cs = cold_start_split(train, test, n_movies=10, seed=3, min_ratings=5)
        side_of = lambda d: d.movies  # noqa: E731
    else:
        cs = cold_start_user_split(train, test, n_users=8, seed=3, min_ratings=5)
        side_of = lambda d: d.users  # noqa: E731
    assert isinstance(cs, ColdStart) and cs.kind == kind
    chosen = cs.chosen
    assert chosen.size == (10 if kind == "movies" else 8) and np.all(np.diff(chosen) > 0)
    assert np.array_equal(getattr(cs, kind), chosen) and getattr(cs, "users" if kind == "movies" else "movies").size == 0
    assert np.all(np.bincount(side_of(train), minlength=60)[chosen] >= 5)
    assert not np.isin(side_of(cs.train), chosen).any()
    assert _triples(cs.train, cs.test) == _triples(train, test)  # nothing lost, nothing doubled
    moved = np.isin(side_of(train), chosen)
    assert _triples(cs.train) == _triples(train.subset(~moved))
    was_test = np.isin(side_of(test), chosen)
    assert _triples(cs.cold) == _triples(train.subset(moved), test.subset(was_test))
    assert np.isin(side_of(cs.cold), chosen).all()
    assert cs.train.shape == train.shape and cs.test.shape == test.shape
    assert f"{chosen.size} new {kind}" in repr(cs)


def test_the_split_is_seeded(split):
    train, test = split
    a = cold_start_split(train, test, n_movies=10, seed=1, min_ratings=5)
    b = cold_start_split(train, test, n_movies=10, seed=1, min_ratings=5)
    c = cold_start_split(train, test, n_movies=10, seed=2, min_ratings=5)
    assert np.array_equal(a.movies, b.movies) and not np.array_equal(a.movies, c.movies)
    assert np.array_equal(a.test.ratings, b.test.ratings)


def test_the_split_keeps_the_dates_of_the_moved_ratings(fixture_data):
    full, _ = fixture_data
    train, test = full.subset(np.arange(7)), full.subset(np.arange(7, 10))
    cs = cold_start_split(train, test, n_movies=1, seed=0, min_ratings=1)
    stamp = {(m, u): t for m, u, t in zip(full.movies, full.users, full.timestamps)}
    assert [stamp[(m, u)] for m, u in zip(cs.test.movies, cs.test.users)] == cs.test.timestamps.tolist()


def test_split_errors_name_the_argument_and_the_fix(split):
    train, test = split
    with pytest.raises(ValueError, match=r"n_movies=500 but only \d+ movies have at least min_ratings=5.*n_movies <="):
        cold_start_split(train, test, n_movies=500, min_ratings=5)
    with pytest.raises(ValueError, match="n_movies must be an integer >= 1, got 0"):
        cold_start_split(train, test, n_movies=0)
    with pytest.raises(TypeError, match="n_users must be an integer, got bool True"):
        cold_start_user_split(train, test, n_users=True)
    with pytest.raises(TypeError, match="min_ratings must be an integer, got float 2.5"):
        cold_start_split(train, test, min_ratings=2.5)
    with pytest.raises(TypeError, match="seed must be an integer, got str"):
        cold_start_split(train, test, n_movies=2, min_ratings=1, seed="0")
    with pytest.raises(TypeError, match="test must be a cflib.Ratings"):
        cold_start_split(train, test.Y)
    other = cflib.make_synthetic(n_movies=5, n_users=4, density=0.5, seed=0)
    with pytest.raises(ValueError, match="pass the two halves of one split"):
        cold_start_split(train, other)


# ------------------------------------------------------------------ the baselines
def test_genre_mean_is_the_mean_of_the_genre_means(fixture_data):
    full, side = fixture_data
    model = genre_mean(full, side)
    G = side.genres
    mu = full.ratings.mean()
    means = []
    for g in range(G.shape[1]):
        r = [y for m, y in zip(full.movies, full.ratings) if G[m, g]]
        means.append(np.mean(r) if r else mu)
    expect = [np.mean([means[g] for g in np.flatnonzero(G[i])]) if G[i].any() else mu for i in range(full.n_movies)]
    np.testing.assert_allclose(model.predict_all(clip=False)[:, 0], expect)
    np.testing.assert_allclose(model.predict(np.arange(5), np.full(5, 3)), np.clip(expect, 1, 5))
    assert evaluate(model, full)["rmse"] == pytest.approx(rmse(model.predict(full.movies, full.users), full.ratings))


def test_attribute_mean_is_the_mean_of_the_attribute_means(fixture_data):
    full, side = fixture_data
    model = attribute_mean(full, side, attributes=("gender", "occupation"))
    mu = full.ratings.mean()

    def mean_of(value_of):
        out = []
        for j in range(full.n_users):
            r = [y for u, y in zip(full.users, full.ratings) if value_of[u] == value_of[j]]
            out.append(np.mean(r) if r else mu)
        return np.array(out)

    expect = (mean_of(side.gender) + mean_of(side.occupation)) / 2
    np.testing.assert_allclose(model.predict_all(clip=False)[0], expect)
    with pytest.raises(ValueError, match="attributes must name some of"):
        attribute_mean(full, side, attributes=("height",))
    with pytest.raises(TypeError, match="side must be a SideInfo"):
        genre_mean(full, None)


# ------------------------------------------------------------------ new movies and users
def test_a_new_movie_is_predicted_as_the_dense_design_of_its_features(fm, fixture_data):
    full, side = fixture_data
    new = fm.with_new_movie(genres=("Comedy", "Romance"), year=1996)
    assert isinstance(new, FMModel) and new.n_movies == full.n_movies + 1 and new.n_users == full.n_users
    movies, users = np.full(full.n_users, full.n_movies), np.arange(full.n_users)
    X = new.space.dense(movies, users)
    np.testing.assert_allclose(new.predict(movies, users, clip=False), predict_dense(X, new.w0, new.w, new.V),
                               atol=1e-12)
    # the movie's row holds its two genres at 1/sqrt(2), its year bucket and a new id of weight and factors 0
    row = new.space.blocks["movie"][full.n_movies].toarray().ravel()
    names = np.array(new.space.feature_names)
    assert sorted(names[row != 0]) == ["genre:Comedy", "genre:Romance", "movie:new", "year:1996"]
    np.testing.assert_allclose(row[row != 0], [1.0, 2 ** -0.5, 2 ** -0.5, 1.0])
    c = new.space.group_slices["movie"].stop - 1
    assert names[c] == "movie:new" and new.w[c] == 0 and not new.V[c].any()
    assert new.space.n_features == fm.space.n_features + 1 and not new.space.blocks["movie"][:-1, c].nnz
    # the old movies are unchanged; predict_all and the ranking functions see n_movies + 1 movies
    old = (full.movies, full.users)
    np.testing.assert_allclose(new.predict(*old, timestamps=full.timestamps),
                               fm.predict(*old, timestamps=full.timestamps), atol=1e-12)
    S = score_matrix(new, full.n_movies + 1, full.n_users)
    np.testing.assert_allclose(S[-1], new.predict(movies, users, clip=False), atol=1e-12)
    top, valid = top_k(S.T, full.n_movies + 1)  # every user's full list holds the new movie once
    assert valid.all() and ((top == full.n_movies).sum(axis=1) == 1).all()
    rated = full.movies[full.users == 0]
    place = user_list(S[:, 0], rated, 10)
    assert full.n_movies in place and not np.isin(rated, place).any()


def test_a_new_user_is_predicted_as_the_dense_design_of_its_features(fm, fixture_data):
    full, side = fixture_data
    new = with_new_user(fm, age=30, gender="F", occupation="writer", zip="T8H1N")
    assert new.n_users == full.n_users + 1
    movies, users = np.arange(full.n_movies), np.full(full.n_movies, full.n_users)
    X = new.space.dense(movies, users)
    np.testing.assert_allclose(new.predict(movies, users, clip=False), predict_dense(X, new.w0, new.w, new.V),
                               atol=1e-12)
    row = new.space.blocks["user"][full.n_users].toarray().ravel()
    assert sorted(np.array(new.space.feature_names)[row != 0]) == ["age:25-34", "gender:F", "occupation:writer",
                                                                    "user:new", "zip:other"]
    np.testing.assert_allclose(new.predict_all(clip=False)[:, -1], new.predict(movies, users, clip=False), atol=1e-12)
    both = with_new_movie(new, genres="Drama", year=None)
    assert both.predict([full.n_movies], [full.n_users]).shape == (1,)
    assert "year:unknown" in np.array(both.space.feature_names)[both.space.blocks["movie"][-1].indices]


def test_new_rows_fall_in_the_latest_date_bucket(fm, fixture_data):
    full, _ = fixture_data
    new = fm.with_new_movie(genres=("Action",), year=1990)
    idx = new.space.indices([full.n_movies, 0], [0, 0])
    assert idx["date"][0] == new.space.n_dates - 1
    assert idx["date"][1] == new.space.date_index(fm.space.side.rating_times([0], [0]))[0]
    # a new user's index must not be read as a pair of u.data (movie m, user n_users is movie m + 1, user 0
    # in the pair table)
    both = with_new_user(new, age=40, gender="M", occupation="other", zip="10001")
    assert (both.space.indices(np.arange(full.n_movies), np.full(full.n_movies, full.n_users))["date"]
            == both.space.n_dates - 1).all()


def test_new_movie_and_user_errors_list_the_valid_values(fm):
    with pytest.raises(ValueError, match=r"'Comedie', which is not a genre of u.genre: choose from \(.*'Comedy'"):
        fm.with_new_movie(genres=("Comedie",), year=1996)
    for year, err, phrase in ((1996.5, TypeError, "year must be an integer, got float"),
                              ("1996", TypeError, "a string is not converted"),
                              (3000, ValueError, "year must be an integer <= 2100"), (True, TypeError, "got bool")):
        with pytest.raises(err, match=phrase):
            fm.with_new_movie(genres="Drama", year=year)
    with pytest.raises(ValueError, match=r"occupation 'pilot' is not one of u.occupation's: choose from \("):
        fm.with_new_user(age=30, gender="F", occupation="pilot", zip="94110")
    with pytest.raises(ValueError, match="age must be an integer >= 1, got 0"):
        fm.with_new_user(age=0, gender="F", occupation="writer", zip="94110")
    with pytest.raises(ValueError, match="gender must be 'F' or 'M'"):
        fm.with_new_user(age=30, gender="female", occupation="writer", zip="94110")
    with pytest.raises(ValueError, match="zip must be a zip code"):
        fm.with_new_user(age=30, gender="F", occupation="writer", zip=94110)
    with pytest.raises(ValueError, match=r"row must have shape \(1, \d+\)"):
        fm.space.with_new("movie", np.zeros((1, 3)))
    with pytest.raises(ValueError, match="side must be 'movie' or 'user'"):
        fm.space.with_new("date", np.zeros((1, fm.space.n_features)))


def test_a_new_movie_under_mcmc_draws_its_id_from_each_samples_group(fixture_data):
    full, side = fixture_data
    post, _ = fit(full, method="fm_mcmc", features=SIDE_ALL, side=side, k=2, n_iters=8, burn_in=2)
    new = with_new_movie(post, genres=("Comedy",), year=1995, seed=3)
    assert type(new) is type(post) and new.n_movies == full.n_movies + 1 and new.w.shape == (6, post.w.shape[1] + 1)
    movies, users = np.full(full.n_users, full.n_movies), np.arange(full.n_users)
    X = new.space.dense(movies, users)
    per_sample = [predict_dense(X, new.w0[s], new.w[s], new.V[s]) for s in range(new.n_samples)]
    np.testing.assert_allclose(new.predict(movies, users, clip=False), np.mean(per_sample, axis=0), atol=1e-12)
    std = new.predict_std(movies, users)
    np.testing.assert_allclose(std, np.sqrt(np.mean(1 / new.tau) + np.var(per_sample, axis=0)), atol=1e-12)
    # the new id's weight and factors: one draw per sample, from that sample's movie ids (mean and spread)
    c = new.space.group_slices["movie"].stop - 1
    group = post.space.group_slices["movie"]
    theta = np.column_stack([new.w[:, c], new.V[:, c]])
    rows = np.concatenate([post.w[:, group, None], post.V[:, group]], axis=2)
    z = (theta - rows.mean(axis=1)) / rows.std(axis=1)
    np.testing.assert_allclose(z, np.random.default_rng(3).standard_normal(z.shape), atol=1e-9)
    again = with_new_movie(post, genres=("Comedy",), year=1995, seed=3)
    np.testing.assert_array_equal(again.V, new.V)  # seeded
    np.testing.assert_array_equal(post.with_new_movie(genres=("Comedy",), year=1995, seed=3).V, new.V)  # the method
    user = post.with_new_user(age=30, gender="F", occupation="writer", zip="02139", seed=1)
    assert type(user) is type(post) and user.n_users == full.n_users + 1
    # the old movies keep their samples: the new column is inserted, nothing else moves
    np.testing.assert_allclose(new.predict(full.movies, full.users), post.predict(full.movies, full.users),
                               atol=1e-12)
    user = with_new_user(post, age=30, gender="M", occupation="writer", zip="10001")
    assert user.predict_std([0], [full.n_users]).shape == (1,)
