"""The Ratings container and the synthetic generator."""

import numpy as np
import pytest

import cflib
from cflib.ratings import Ratings
from cflib import rating_widget as RW
from cflib.ratings import ratings_by_title


def tiny():
    return Ratings(
        movies=[0, 0, 2], users=[1, 0, 1], ratings=[4.0, 3.0, 5.0], n_movies=3, n_users=2,
        titles=np.array(["A", "B", "C"], dtype=object), genre_names=("g",),
        genres=np.zeros((3, 1), dtype=bool), movie_ids=np.array([10, 20, 30]),
        user_ids=np.array([1, 2]), name="tiny",
    )


def test_dense_views_match_coordinates():
    d = tiny()
    np.testing.assert_array_equal(d.Y, [[3.0, 4.0], [0.0, 0.0], [0.0, 5.0]])
    np.testing.assert_array_equal(d.R, [[True, True], [False, False], [False, True]])
    assert d.shape == (3, 2) and d.nnz == 3 and d.density == pytest.approx(0.5)
    with pytest.raises(ValueError):
        d.Y[0, 0] = 1.0  # read-only: a learner cannot corrupt the cached data


def test_bad_coordinates_are_rejected():
    with pytest.raises(ValueError, match=r"movies holds indices in 3\.\.3, expected 0\.\.2"):
        Ratings(movies=[3], users=[0], ratings=[1.0], n_movies=3, n_users=2, titles=None,
                genre_names=(), genres=None, movie_ids=None, user_ids=None)
    with pytest.raises(ValueError, match="NaN or inf"):
        Ratings(movies=[0], users=[0], ratings=[np.nan], n_movies=3, n_users=2, titles=None,
                genre_names=(), genres=None, movie_ids=None, user_ids=None)
    with pytest.raises(ValueError, match="same length"):
        Ratings(movies=[0, 1], users=[0], ratings=[1.0], n_movies=3, n_users=2, titles=None,
                genre_names=(), genres=None, movie_ids=None, user_ids=None)


def test_repeated_pair_is_rejected_naming_the_first():
    kw = dict(n_movies=3, n_users=2, titles=None, genre_names=(), genres=None, movie_ids=None,
              user_ids=None)
    # nnz would be 4 while R.sum() is 3: the second rating of (2, 1) would be lost in Y.
    with pytest.raises(ValueError, match=r"pair \(movie 2, user 1\) is rated more than once "
                                         r"\(entries 0 and 3\)"):
        Ratings(movies=[2, 0, 1, 2], users=[1, 0, 0, 1], ratings=[4.0, 3.0, 5.0, 1.0], **kw)
    with pytest.raises(ValueError, match=r"\(movie 0, user 0\).*entries 1 and 2"):
        Ratings(movies=[1, 0, 0, 1], users=[1, 0, 0, 1], ratings=[1.0] * 4, **kw)
    ok = Ratings(movies=[0, 0, 1], users=[0, 1, 0], ratings=[1.0, 2.0, 3.0], **kw)
    assert ok.nnz == int(ok.R.sum()) == 3


def test_check_no_duplicates_fast_paths_agree_with_a_plain_count():
    from cflib.arguments import check_no_duplicates

    rng = np.random.default_rng(0)
    for trial in range(30):
        m = rng.integers(0, 6, 12)
        u = rng.integers(0, 5, 12)
        keys = list(zip(m.tolist(), u.tolist()))
        has_repeat = len(set(keys)) < len(keys)
        if has_repeat:
            at = next(i for i, k in enumerate(keys) if k in keys[:i])
            with pytest.raises(ValueError, match=rf"\(movie {m[at]}, user {u[at]}\) .*"
                                                 rf"entries {keys.index(keys[at])} and {at}\)"):
                check_no_duplicates(m, u, 5)
        else:
            check_no_duplicates(m, u, 5)
        order = np.lexsort((u, m))
        if not has_repeat:  # the sorted fast path
            check_no_duplicates(m[order], u[order], 5)


def test_dense_refused_when_too_large():
    d = cflib.make_synthetic(100_000, 100_000, 2, nnz=1000, seed=0)
    with pytest.raises(MemoryError, match="use the coordinates"):
        d.Y


def test_random_split_is_seeded_and_partitions():
    d = cflib.make_synthetic(60, 40, 2, density=0.3, seed=1)
    tr, te = d.random_split(0.25, seed=5)
    tr2, te2 = d.random_split(0.25, seed=5)
    np.testing.assert_array_equal(te.ratings, te2.ratings)
    assert tr.nnz + te.nnz == d.nnz and te.nnz == round(0.25 * d.nnz)
    assert tr.shape == te.shape == d.shape
    both = np.sort(np.concatenate([tr.movies * 40 + tr.users, te.movies * 40 + te.users]))
    np.testing.assert_array_equal(both, np.sort(d.movies * 40 + d.users))
    with pytest.raises(ValueError, match="test_fraction must be a finite number < 1"):
        d.random_split(1.0)


def test_find_title():
    assert tiny().find_title("b") == [1]


def test_synthetic_is_seeded_low_rank_and_in_range():
    a, (X, Theta) = cflib.make_synthetic(80, 50, 3, density=0.2, noise=0.0, integer=False,
                                         seed=3, return_factors=True)
    b = cflib.make_synthetic(80, 50, 3, density=0.2, noise=0.0, integer=False, seed=3)
    np.testing.assert_array_equal(a.ratings, b.ratings)
    assert X.shape == (80, 3) and Theta.shape == (50, 3)
    assert a.nnz == 800
    assert a.ratings.min() >= 1 and a.ratings.max() <= 5
    # Without noise and clipping, the observed ratings are exactly the model's.
    truth = np.sum(X[a.movies] * Theta[a.users], axis=1)
    inside = (truth > 1) & (truth < 5)
    assert inside.mean() > 0.9
    np.testing.assert_allclose(a.ratings[inside], truth[inside])
    # Positions are distinct.
    assert np.unique(a.movies * 50 + a.users).size == a.nnz


def test_synthetic_integer_ratings_and_exact_nnz():
    d = cflib.make_synthetic(30, 20, 2, nnz=599, seed=0)
    assert d.nnz == 599
    assert set(np.unique(d.ratings)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    full = cflib.make_synthetic(5, 4, 1, nnz=20, seed=0)
    assert full.R.all()


def test_synthetic_bad_arguments():
    with pytest.raises(ValueError, match="nnz must lie in 1..20"):
        cflib.make_synthetic(5, 4, 1, nnz=21)
    with pytest.raises(ValueError, match="density must be a finite number > 0"):
        cflib.make_synthetic(5, 4, 1, density=0.0)


def test_to_dense_matches_the_ratings_views():
    from cflib.ratings import to_dense

    data = cflib.make_synthetic(12, 9, k=2, density=0.4, seed=3)
    Y, R = to_dense(data.movies, data.users, data.ratings, data.n_movies, data.n_users)
    assert Y.dtype == np.float64 and R.dtype == bool and Y.shape == R.shape == (12, 9)
    np.testing.assert_array_equal(Y, data.Y)
    np.testing.assert_array_equal(R, data.R)
    assert int(R.sum()) == data.nnz and np.all(Y[~R] == 0)


def test_movie_means_ignore_unrated_values_and_give_nan_for_empty_rows():
    import warnings

    from cflib.ratings import movie_means

    Y = np.array([[4.0, 99.0, 2.0], [0.0, 0.0, 0.0], [5.0, 3.0, -7.0]])
    R = np.array([[True, False, True], [False, False, False], [True, True, False]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 warning for the empty row
        means = movie_means(Y, R)
    assert means.shape == (3,) and means[0] == 3.0 and np.isnan(means[1]) and means[2] == 4.0
    with pytest.raises(ValueError, match="same shape"):
        movie_means(Y, R[:, :2])


# ------------------------------------------------- property-based guard (issue 12)
from hypothesis import given, settings
from hypothesis import strategies as st

_index_values = st.one_of(
    st.integers(-3, 8), st.floats(-3, 8), st.sampled_from([float("nan"), float("inf")]),
    st.just("x"),
)


@settings(max_examples=300, deadline=None)
@given(n_movies=st.integers(0, 5), n_users=st.integers(0, 5),
       movies=st.lists(_index_values, max_size=8), users=st.lists(_index_values, max_size=8),
       ratings=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                  st.integers(-5, 10), st.just("4")), max_size=8))
def test_ratings_is_built_correctly_or_refused_with_a_named_argument(n_movies, n_users, movies,
                                                                     users, ratings):
    """Random ids (negative, float, strings, repeats), ratings (NaN, inf, strings) and shapes:
    a correct container, or a ValueError/TypeError naming the argument; never a raw crash."""
    try:
        d = Ratings(movies=movies, users=users, ratings=ratings, n_movies=n_movies,
                    n_users=n_users, titles=None, genre_names=(), genres=None, movie_ids=None,
                    user_ids=None)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        assert any(name in msg for name in ("movies", "users", "ratings", "pair")), msg
        return
    # Accepted: every index an in-range integer, every rating finite, every pair once,
    # and the dense views agree with the coordinates exactly.
    assert all(isinstance(v, int) and 0 <= v < n_movies for v in movies)
    assert all(isinstance(v, int) and 0 <= v < n_users for v in users)
    assert len(set(zip(movies, users))) == len(movies) == d.nnz
    assert int(d.R.sum()) == d.nnz
    np.testing.assert_array_equal(d.Y[d.movies, d.users], np.asarray(ratings, dtype=float))
    assert np.all(np.isfinite(d.ratings))


# ---- trust round three: bad input is a clear error, the container stays consistent
def test_ratings_copies_and_freezes_the_callers_arrays():
    ratings = np.array([4.0, 3.0, 5.0])
    movies = np.array([0, 0, 2])
    d = Ratings(movies=movies, users=[1, 0, 1], ratings=ratings, n_movies=3, n_users=2, titles=None,
                genre_names=(), genres=None, movie_ids=None, user_ids=None)
    Y = d.Y.copy()
    ratings[0] = 1.0
    movies[2] = 1
    np.testing.assert_array_equal(d.ratings, [4.0, 3.0, 5.0])
    np.testing.assert_array_equal(d.Y, Y)
    with pytest.raises(ValueError):
        d.ratings[0] = 2.0  # read-only, as Y is


@pytest.mark.parametrize("bad", [[True, False, True], ["4", "3", "5"], np.array([4, "3", 5], dtype=object)])
def test_bool_or_string_ratings_are_refused(bad):
    with pytest.raises(TypeError, match="ratings must be numbers"):
        Ratings(movies=[0, 0, 2], users=[1, 0, 1], ratings=bad, n_movies=3, n_users=2, titles=None,
                genre_names=(), genres=None, movie_ids=None, user_ids=None)


def test_empty_ratings_repr_and_density():
    e = Ratings(movies=[], users=[], ratings=[], n_movies=0, n_users=0, titles=None, genre_names=(),
                genres=None, movie_ids=None, user_ids=None)
    assert e.density == 0.0
    assert "nnz=0" in repr(e)


def test_subset_with_a_bad_mask_names_the_argument():
    d = tiny()
    with pytest.raises(ValueError, match=r"shape \(nnz,\) = \(3,\)"):
        d.subset(np.array([True, False]))
    with pytest.raises(TypeError, match="mask_or_index"):
        d.subset(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="positions in 0..5"):
        d.subset([0, 5])
    assert d.subset([2, 0]).nnz == 2


def test_random_split_arguments_are_checked():
    d = cflib.make_synthetic(20, 10, k=2, density=0.5, seed=0)
    with pytest.raises(TypeError, match="test_fraction must be a real number.*without quotes"):
        d.random_split("0.5")
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        d.random_split(0.5, seed=-1)
    with pytest.raises(ValueError, match="gives 0 test ratings"):
        d.random_split(1e-9)


def test_make_synthetic_and_find_title_refuse_bad_types():
    with pytest.raises(TypeError, match="n_movies must be an integer"):
        cflib.make_synthetic(2.5, 5)
    with pytest.raises(TypeError, match="text must be a string"):
        tiny().find_title(None)


def test_scale_is_checked_and_kept_by_subsets():
    d = Ratings(movies=[0], users=[0], ratings=[0.5], n_movies=1, n_users=1, titles=None, genre_names=(),
                genres=None, movie_ids=None, user_ids=None, scale=(0.5, 5))
    assert d.subset([0]).scale == (0.5, 5.0)
    with pytest.raises(ValueError, match="lowest < highest"):
        Ratings(movies=[], users=[], ratings=[], n_movies=1, n_users=1, titles=None, genre_names=(),
                genres=None, movie_ids=None, user_ids=None, scale=(5, 1))


def test_ratings_by_title(movielens):
    mine = ratings_by_title(movielens, RW.EXAMPLE_RATINGS)
    assert len(mine) == len(RW.EXAMPLE_RATINGS)
    assert movielens.titles[next(iter(mine))] == "Star Wars (1977)"
    with pytest.raises(KeyError, match="Star Wars"):
        ratings_by_title(movielens, {"Star Wars": 5})
    with pytest.raises(TypeError, match="titles"):
        ratings_by_title(movielens, {50: 5})
