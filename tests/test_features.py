"""Feature blocks of the factorization machine (cflib.features): groups, weights, the relational design."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import cflib
from cflib.datasets.formats import read_ml100k
from cflib.datasets.side import read_ml100k_side
from cflib.features import (AGE_EDGES, DATE_DAYS, GROUPS, ID_GROUPS, build_features, resolve_groups)

FIXTURE = Path(__file__).parent / "fixtures" / "ml-100k"


@pytest.fixture(scope="module")
def small():
    """A synthetic Ratings with rating times over 60 days."""
    data = cflib.make_synthetic(n_movies=12, n_users=9, density=0.4, seed=1)
    times = np.random.default_rng(0).integers(800_000_000, 800_000_000 + 60 * 86400, data.nnz)
    return replace(data, timestamps=times, _cache={})


@pytest.fixture(scope="module")
def fixture_data(tmp_path_factory):
    """The hand-written ml-100k fixture (4 users, 5 movies) and its side information."""
    dest = tmp_path_factory.mktemp("side") / "ml-100k"
    dest.mkdir()
    for f in FIXTURE.glob("*.fixture"):
        shutil.copyfile(f, dest / f.stem)
    (dest / "u.occupation").write_text("administrator\nother\ntechnician\nwriter\n")
    full = read_ml100k(dest)
    return full, read_ml100k_side(dest, full)


def test_resolve_groups():
    assert resolve_groups("ids") == ID_GROUPS == ("user", "movie")
    assert resolve_groups("all", side=object()) == GROUPS
    assert resolve_groups("all") == ("user", "movie", "date", "movie_raters", "user_rated")
    assert resolve_groups(["date", "movie", "user"]) == ("user", "movie", "date")  # column order
    for bad, error, match in [("everything", ValueError, "features must be 'ids', 'all' or a list"),
                              (["user", "colour"], ValueError, "'colour', which is not a group"),
                              ([], ValueError, "empty list"), (["user", "user"], ValueError, "twice"),
                              (3, TypeError, "features must be 'ids', 'all' or a list of group names, got int")]:
        with pytest.raises(error, match=match):
            resolve_groups(bad)


def test_blocks_equal_the_dense_design_built_by_hand(small):
    space = build_features(small, ["user", "movie", "date", "movie_raters", "user_rated"])
    X = space.dense(small.movies, small.users, small.timestamps)
    n_u, n_m, n_d = small.n_users, small.n_movies, space.n_dates
    assert n_d == (small.timestamps.max() - small.timestamps.min()) // (DATE_DAYS * 86400) + 1
    expect = np.zeros((small.nnz, n_u + n_m + n_d + n_u + n_m))
    rated = np.zeros((n_m, n_u))
    rated[small.movies, small.users] = 1
    for t, (i, j, when) in enumerate(zip(small.movies, small.users, small.timestamps)):
        expect[t, j] = expect[t, n_u + i] = 1
        expect[t, n_u + n_m + (when - small.timestamps.min()) // (DATE_DAYS * 86400)] = 1
        expect[t, n_u + n_m + n_d:n_u + n_m + n_d + n_u] = rated[i] / np.sqrt(rated[i].sum())
        expect[t, n_u + n_m + n_d + n_u:] = rated[:, j] / np.sqrt(rated[:, j].sum())
    np.testing.assert_allclose(X, expect)
    # the blocks have one row per user, movie and date bucket: never one per rating
    p = space.n_features
    assert {b: B.shape for b, B in space.blocks.items()} == {"user": (n_u, p), "movie": (n_m, p), "date": (n_d, p)}
    assert space.one_hot == {"user": True, "movie": True, "date": True, "movie_raters": False, "user_rated": False}
    assert (space.group_of_feature() == np.repeat(np.arange(5), [n_u, n_m, n_d, n_u, n_m])).all()


def test_side_groups(fixture_data):
    full, side = fixture_data
    space = build_features(full, "all", side)
    assert space.groups == GROUPS
    sl = space.group_slices
    U, M = space.blocks["user"].toarray(), space.blocks["movie"].toarray()
    names = np.array(space.feature_names)
    # user 2 is 53, F, other, zip 94043
    assert names[sl["age"]][U[1, sl["age"]] == 1].tolist() == ["age:50-55"]
    assert len(AGE_EDGES) + 1 == sl["age"].stop - sl["age"].start
    assert names[sl["gender"]][U[1, sl["gender"]] == 1].tolist() == ["gender:F"]
    assert names[sl["occupation"]][U[1, sl["occupation"]] == 1].tolist() == ["occupation:other"]
    assert names[sl["zip"]][U[1, sl["zip"]] == 1].tolist() == ["zip:9"]
    # Toy Story has 3 genres, each 1/sqrt(3); movie 4 has no release date
    np.testing.assert_allclose(np.sort(M[0, sl["genres"]])[-4:], [0, *[1 / np.sqrt(3)] * 3])
    assert names[sl["year"]][M[3, sl["year"]] == 1].tolist() == ["year:unknown"]
    assert names[sl["year"]][M[4, sl["year"]] == 1].tolist() == ["year:1990-1992"]
    # every user row holds its one-hot groups once, every row of the implicit groups has unit norm
    for g in ("user", "age", "gender", "occupation", "zip"):
        assert (U[:, sl[g]].sum(axis=1) == 1).all()
    np.testing.assert_allclose((U[:, sl["user_rated"]] ** 2).sum(axis=1), 1.0)
    np.testing.assert_allclose((M[:, sl["movie_raters"]] ** 2).sum(axis=1), 1.0)
    # the date of a rating comes from the side information when not given
    idx = space.indices(full.movies, full.users)
    assert np.array_equal(idx["date"], space.date_index(full.timestamps))
    assert space.indices(np.array([4]), np.array([0]))["date"].tolist() == [space.n_dates - 1]  # never rated
    assert "age 7" in repr(space)


def test_errors_name_the_fix(small, fixture_data):
    full, side = fixture_data
    with pytest.raises(ValueError, match=r"the groups \['age'\] need the side information: pass side="):
        build_features(small, ["user", "age"])
    with pytest.raises(ValueError, match="has none: leave 'date' out"):
        build_features(replace(small, timestamps=None, _cache={}), ["date"])
    with pytest.raises(ValueError, match="does not have the movies and users"):
        build_features(small, "ids", side)
    space = build_features(small, ["user", "date"])
    with pytest.raises(ValueError, match="the date group needs each rating's time: pass timestamps="):
        space.indices(small.movies, small.users)
    with pytest.raises(ValueError, match=r"timestamps has shape \(2,\), expected \(3,\)"):
        space.indices(small.movies[:3], small.users[:3], small.timestamps[:2])
    big = cflib.make_synthetic(n_movies=2000, n_users=900, density=0.02, seed=0)
    with pytest.raises(ValueError, match="is for small data"):
        build_features(big, "ids").dense(big.movies, big.users)
