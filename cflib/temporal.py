r"""A time-based split: train on the past, test on the future.

The official MovieLens folds u1..u5 split the ratings at random, so a model
trained on u1.base has seen ratings given *after* most of the ratings it is
tested on: it knows which movies became popular later, and what a user rated
after the test rating. A deployed recommender never has that.

Design: one global cut
----------------------
:func:`time_split` chooses one instant :math:`t` and puts every rating given
at or before :math:`t` in train and every later rating in test:

.. math::

    \text{train} = \{(i, u, y, \tau) : \tau \le t\}, \qquad
    \text{test} = \{(i, u, y, \tau) : \tau > t\},

with :math:`t` the timestamp below which ``1 - test_fraction`` of the ratings
lie. We chose this over "the last n ratings of each user" because the
per-user split still trains on other users' future (user A's last ratings may
be older than user B's first), so it keeps part of the leak we want to show;
the global cut leaks nothing, which :func:`future_share` measures (0 exactly).
The price: users who joined after t, and movies first rated after t, are
unseen in train; :func:`unseen` counts them, and the models fall back to
their biases for them (and the ranking metrics still score those users'
lists).
"""

from __future__ import annotations

import numpy as np

from .arguments import check_scalar

__all__ = ["time_split", "unseen", "future_share"]


def _timestamps(data, name="data"):
    if not hasattr(data, "movies") or not hasattr(data, "timestamps"):
        raise TypeError(f"{name} must be a cflib.Ratings, got {type(data).__name__}")
    if data.timestamps is None:
        raise ValueError(f"{name} has no timestamps (synthetic data?): load MovieLens with "
                         "cflib.load_movielens(), whose Ratings keep them")
    return data.timestamps


def time_split(data, *, test_fraction: float = 0.2):
    """Split ratings at one instant: train before, test after.

    Parameters
    ----------
    data : Ratings with ``timestamps``
    test_fraction : float in (0, 1), default 0.2
        About this fraction of the ratings, the latest, go to test (ratings
        given in the same second as the cut all stay in train, so test can be
        a little smaller).

    Returns
    -------
    train, test : Ratings
        Same shape as ``data``; ``max(train.timestamps) <= cut < min(test.timestamps)``.
    """
    ts = _timestamps(data)
    test_fraction = check_scalar(test_fraction, "test_fraction", min_val=0.0, max_val=1.0,
                                 include_boundaries="neither")
    if data.nnz < 2:
        raise ValueError(f"data needs at least 2 ratings to split, has {data.nnz}")
    n_train = min(max(int(round((1.0 - test_fraction) * data.nnz)), 1), data.nnz - 1)
    cut = np.partition(ts, n_train - 1)[n_train - 1]  # the n_train-th earliest timestamp
    is_test = ts > cut
    if not is_test.any():
        raise ValueError(f"test_fraction={test_fraction:g} leaves no rating after the cut (the latest "
                         f"{data.nnz - n_train} share the cut's timestamp and stay in train): "
                         "choose a larger test_fraction")
    return (data.subset(~is_test, name=f"{data.name} before cut"),
            data.subset(is_test, name=f"{data.name} after cut"))


def _check_pair(train, test):
    for name, data in (("train", train), ("test", test)):
        if not all(hasattr(data, a) for a in ("movies", "users", "n_movies", "n_users")):
            raise TypeError(f"{name} must be a cflib.Ratings, got {type(data).__name__}")
    if (test.n_movies, test.n_users) != (train.n_movies, train.n_users):
        raise ValueError(f"test has shape {(test.n_movies, test.n_users)} but train has "
                         f"{(train.n_movies, train.n_users)}: split one Ratings (e.g. with time_split) "
                         "so both keep all movies and users")


def unseen(train, test) -> dict:
    """Test users and movies that have no rating in train.

    Returns
    -------
    dict
        ``users`` and ``movies``: how many distinct test users / movies have
        no training rating; ``ratings``: how many test ratings involve either.
    """
    _check_pair(train, test)
    u_seen = np.bincount(train.users, minlength=train.n_users) > 0
    m_seen = np.bincount(train.movies, minlength=train.n_movies) > 0
    new_users = ~u_seen[test.users]
    new_movies = ~m_seen[test.movies]
    return {
        "users": int(np.unique(test.users[new_users]).size),
        "movies": int(np.unique(test.movies[new_movies]).size),
        "ratings": int((new_users | new_movies).sum()),
    }


def future_share(train, test) -> float:
    r"""How much of train lies in the future of the test ratings.

    .. math::

        \frac{1}{|\text{test}|} \sum_{s \in \text{test}}
            \frac{|\{r \in \text{train} : \tau_r > \tau_s\}|}{|\text{train}|}

    0 for :func:`time_split`; about 0.5 for a random split.

    Raises
    ------
    ValueError
        When train or test has no ratings (the share is then undefined).
    """
    _check_pair(train, test)
    for name, data in (("train", train), ("test", test)):
        if data.nnz == 0:
            raise ValueError(f"{name} holds no ratings: the future share is undefined; "
                             "give both sides at least one rating")
    t_train = np.sort(_timestamps(train, "train"))
    t_test = _timestamps(test, "test")
    later = t_train.size - np.searchsorted(t_train, t_test, side="right")
    return float(later.mean() / t_train.size)
