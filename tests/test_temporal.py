"""The time-based split."""

import numpy as np
import pytest

from cflib.ratings import Ratings
from cflib.synthetic import make_synthetic
from cflib.temporal import future_share, time_split, unseen


def _timed(n_movies=6, n_users=4):
    movies = np.array([0, 1, 2, 3, 4, 5, 0, 1])
    users = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    ts = np.array([10, 20, 30, 40, 50, 60, 70, 80])
    return Ratings(movies=movies, users=users, ratings=np.full(8, 4.0), n_movies=n_movies, n_users=n_users,
                   titles=np.array(["t"] * n_movies), genre_names=(), genres=np.zeros((n_movies, 0), bool),
                   movie_ids=np.arange(n_movies), user_ids=np.arange(n_users), timestamps=ts)


def test_global_cut_on_a_hand_example():
    train, test = time_split(_timed(), test_fraction=0.25)
    assert train.timestamps.tolist() == [10, 20, 30, 40, 50, 60]
    assert test.timestamps.tolist() == [70, 80]
    assert train.shape == test.shape == (6, 4)
    assert future_share(train, test) == 0.0
    # test user 3 never rated in train; movies 0 and 1 were rated by user 0
    assert unseen(train, test) == {"users": 1, "movies": 0, "ratings": 2}


def test_random_split_leaks_about_half_and_time_split_none(movielens):
    tr, te = movielens.random_split(0.2, seed=0)
    assert 0.4 < future_share(tr, te) < 0.6
    train, test = time_split(movielens, test_fraction=0.2)
    assert train.timestamps.max() < test.timestamps.min()
    assert future_share(train, test) == 0.0
    assert test.nnz == pytest.approx(0.2 * movielens.nnz, rel=0.01)
    assert train.nnz + test.nnz == movielens.nnz
    report = unseen(train, test)
    assert report["users"] > 0 and report["ratings"] > 0


def test_ties_at_the_cut_stay_in_train():
    data = _timed()
    data = data.subset(np.arange(8))
    object.__setattr__(data, "timestamps", np.array([1, 1, 1, 1, 2, 2, 2, 3]))
    train, test = time_split(data, test_fraction=0.3)
    assert test.timestamps.tolist() == [3]


def test_errors():
    with pytest.raises(ValueError, match="no timestamps"):
        time_split(make_synthetic(10, 8, 2, seed=0))
    with pytest.raises(ValueError, match="test_fraction"):
        time_split(_timed(), test_fraction=1.0)
    with pytest.raises(TypeError, match="data must be"):
        time_split(np.zeros(4))


# ------------------------------------------- adversarial inputs (issue 12)
def test_unseen_and_future_share_check_their_arguments():
    data = _timed()
    train, test = time_split(data, test_fraction=0.25)
    with pytest.raises(TypeError, match="train must be a cflib.Ratings"):
        unseen("train", test)
    with pytest.raises(TypeError, match="test must be a cflib.Ratings"):
        future_share(train, None)
    other = _timed(n_movies=7)
    with pytest.raises(ValueError, match="test has shape"):  # used to return counts silently
        unseen(train, other)
    with pytest.raises(ValueError, match="test has shape"):
        future_share(train, other)


def test_future_share_of_an_empty_side_is_an_error_not_nan():
    data = _timed()
    train, test = time_split(data, test_fraction=0.25)
    none = data.subset(np.zeros(data.nnz, dtype=bool))
    with pytest.raises(ValueError, match="train holds no ratings"):
        future_share(none, test)
    with pytest.raises(ValueError, match="test holds no ratings"):
        future_share(train, none)
    assert future_share(train, test) == 0.0


def test_a_test_fraction_too_small_for_the_ties_names_test_fraction():
    data = _timed()
    tied = Ratings(movies=data.movies, users=data.users, ratings=data.ratings, n_movies=data.n_movies,
                   n_users=data.n_users, titles=data.titles, genre_names=(), genres=data.genres,
                   movie_ids=data.movie_ids, user_ids=data.user_ids,
                   timestamps=np.array([10, 20, 30, 40, 50, 60, 80, 80]))
    with pytest.raises(ValueError, match="choose a larger test_fraction"):
        time_split(tied, test_fraction=0.1)
    train, test = time_split(tied, test_fraction=0.3)
    assert (train.nnz, test.nnz) == (6, 2)
