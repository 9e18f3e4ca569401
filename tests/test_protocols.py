"""Protocols: leave-last-one-out, sampled and full ranking against hand computations, the AUC relation."""

import itertools

import numpy as np
import pytest

from cflib import protocols as P
from cflib.ranking import ranking_table
from cflib.ratings import Ratings
from cflib.synthetic import make_synthetic


def _ratings(movies, users, ratings, n_movies, n_users, timestamps=None):
    return Ratings(movies=np.array(movies), users=np.array(users), ratings=np.array(ratings, float),
                   n_movies=n_movies, n_users=n_users, titles=np.array([f"m{i}" for i in range(n_movies)]),
                   genre_names=(), genres=np.zeros((n_movies, 0), bool), movie_ids=np.arange(n_movies) + 1,
                   user_ids=np.arange(n_users) + 1,
                   timestamps=None if timestamps is None else np.array(timestamps, dtype=np.int64))


class Fixed:
    """A model with given scores (n_movies, n_users)."""

    def __init__(self, S):
        self.S = np.asarray(S, float)

    def predict_all(self, *, clip=True):
        assert clip is False
        return self.S.copy()


def _toy():
    """6 movies, 2 users; every figure below is worked out in the comments.

    user 0: train {0}; test movie 2 (5 stars, relevant) and 3 (2 stars, not); pool {1, 4, 5}
    user 1: train {0, 1}; test movie 4 (4 stars); pool {2, 3, 5}
    """
    train = _ratings([0, 0, 1], [0, 1, 1], [3, 4, 2], 6, 2)
    test = _ratings([2, 3, 4], [0, 0, 1], [5, 2, 4], 6, 2)
    S = np.array([[9, 1], [8, 2], [5, 3], [7, 0], [6, 5], [4, 3]])  # column u: user u's scores
    return train, test, Fixed(S)


def test_full_ranking_and_auc_by_hand():
    train, test, model = _toy()
    t = P.full_table(model, train, test, k=3)
    # user 0 lists 1 (8), 3 (7), 4 (6), then 2 (5): the relevant movie 2 is 4th, outside the top 3.
    # user 1 lists 4 (5), 2 (3), 5 (3; tie with 2, the lower index first), 3 (0): movie 4 is 1st.
    assert t["user"].tolist() == [0, 1]
    assert t["top"].tolist() == [[1, 3, 4], [4, 2, 5]]
    np.testing.assert_allclose(t["precision"], [0, 1 / 3])
    np.testing.assert_allclose(t["recall"], [0, 1])
    np.testing.assert_allclose(t["ndcg"], [0, 1])
    np.testing.assert_allclose(t["hit"], [0, 1])
    np.testing.assert_allclose(t["ap"], [0, 1])
    # AUC: user 0's movie 2 (5) beats only movie 5 (4) of its pool {1, 4, 5}: 1/3; user 1 beats all: 1.
    np.testing.assert_allclose(t["auc"], [1 / 3, 1])
    m = P.full_metrics(model, train, test, k=3)
    assert m["precision"] == pytest.approx(1 / 6) and m["auc"] == pytest.approx(2 / 3) and m["n_users"] == 2


def test_sampled_ranking_by_hand():
    train, test, model = _toy()
    negatives = (np.array([0, 1]), np.array([[5, 4], [3, 5]]))
    t = P.sampled_table(model, train, test, k=3, negatives=negatives)
    # user 0's candidates: test movies 2, 3 and sampled 5, 4 -> 3 (7), 4 (6), 2 (5), 5 (4): movie 2 is 3rd.
    # user 1's candidates: test movie 4, sampled 3, 5 -> 4 (5), 5 (3), 3 (0): 1st.
    assert t["top"].tolist() == [[3, 4, 2], [4, 5, 3]]
    np.testing.assert_allclose(t["precision"], [1 / 3, 1 / 3])
    np.testing.assert_allclose(t["recall"], [1, 1])
    np.testing.assert_allclose(t["ndcg"], [1 / np.log2(4), 1])
    np.testing.assert_allclose(t["hit"], [1, 1])
    np.testing.assert_allclose(t["ap"], [1 / 3, 1])
    # sampled AUC: of user 0's negatives {5, 4}, movie 4 (6) is listed before movie 2 (5): 1 - 1/2.
    np.testing.assert_allclose(t["auc"], [0.5, 1])
    m = P.sampled_metrics(model, train, test, k=3, negatives=negatives)
    assert m["hit_rate"] == 1.0 and m["ndcg"] == pytest.approx((0.5 + 1) / 2) and m["auc"] == pytest.approx(0.75)


def test_sampling_the_whole_pool_is_full_ranking():
    train, test, model = _toy()  # both pools hold 3 movies
    for seed in range(3):
        sampled = P.sampled_table(model, train, test, n_negatives=3, k=2, seed=seed)
        full = P.full_table(model, train, test, k=2)
        for key in ("precision", "recall", "ndcg", "ap", "hit", "auc", "top"):
            np.testing.assert_array_equal(sampled[key], full[key], err_msg=key)


def test_sampling_is_seeded_and_never_draws_a_rated_movie():
    data = make_synthetic(40, 30, 2, density=0.3, seed=2)
    train, test = data.random_split(0.3, seed=1)
    users, neg = P.sample_negatives(train, test, 8, seed=5)
    again = P.sample_negatives(train, test, 8, seed=5)
    other = P.sample_negatives(train, test, 8, seed=6)
    np.testing.assert_array_equal(neg, again[1])
    assert not np.array_equal(neg, other[1])
    rated = set(zip(train.users.tolist(), train.movies.tolist())) | set(zip(test.users.tolist(), test.movies.tolist()))
    assert all((int(u), int(i)) not in rated for u, row in zip(users, neg) for i in row)
    assert all(np.unique(row).size == row.size for row in neg)
    assert users.tolist() == sorted(set(test.users[test.ratings >= 4].tolist()))
    # The sampled table with the same seed uses the same draw as a given one.
    model = Fixed(np.random.default_rng(0).standard_normal((40, 30)))
    a = P.sampled_table(model, train, test, n_negatives=8, seed=5)
    b = P.sampled_table(model, train, test, negatives=(users, neg))
    np.testing.assert_array_equal(a["ndcg"], b["ndcg"])


def _loo_toy():
    """7 movies, 2 users, one held-out movie each (a leave-one-out test)."""
    train = _ratings([0, 1, 0], [0, 0, 1], [4, 4, 4], 7, 2)
    test = _ratings([2, 3], [0, 1], [5, 4], 7, 2)
    S = np.array([[0, 0], [0, 0], [3, 1], [6, 2], [4, 5], [2, 0], [1, 3]], float)
    return train, test, Fixed(S)


def test_expected_sampled_metrics_average_every_draw_exactly():
    train, test, model = _loo_toy()
    N, k = 2, 2
    pools = [[3, 4, 5, 6], [1, 2, 4, 5, 6]]  # movies rated in neither train nor test
    totals, count = {"hit": 0.0, "ndcg": 0.0, "auc": 0.0}, 0
    for a, b in itertools.product(itertools.combinations(pools[0], N), itertools.combinations(pools[1], N)):
        t = P.sampled_table(model, train, test, k=k, negatives=(np.array([0, 1]), np.array([a, b])))
        for key in totals:
            totals[key] += t[key]
        count += 1
    e = P.expected_sampled_metrics(model, train, test, n_negatives=N, k=k)
    for key in totals:
        np.testing.assert_allclose(e[key], totals[key] / count, err_msg=key)
    # user 0's movie 2 (3) is beaten by 3 (6) and 4 (4) of its pool of 4: AUC = 1 - 2/4, the full AUC.
    np.testing.assert_allclose(e["auc"], P.auc_table(model, train, test)["auc"])
    assert e["before"].tolist() == [2, 2] and e["pool"].tolist() == [4, 5]


def test_leave_last_out_by_time_with_ties_to_the_largest_movie():
    data = _ratings([0, 2, 3, 1, 4, 5, 0], [0, 0, 0, 1, 2, 2, 2], [5, 4, 3, 4, 2, 1, 5], 6, 3,
                    timestamps=[5, 9, 9, 7, 3, 8, 1])
    train, test = P.leave_last_out(data)
    # user 0: movies 2 and 3 share the latest second 9 -> movie 3; user 1 has one rating: kept in train;
    # user 2: movie 5 (time 8).
    assert sorted(zip(test.users.tolist(), test.movies.tolist())) == [(0, 3), (2, 5)]
    assert train.nnz == 5 and train.shape == test.shape == data.shape
    # the order of the ratings in the data does not matter
    perm = np.array([6, 5, 4, 3, 2, 1, 0])
    _, test2 = P.leave_last_out(data.subset(perm))
    assert sorted(zip(test2.users.tolist(), test2.movies.tolist())) == [(0, 3), (2, 5)]


def test_bad_arguments_are_named():
    train, test, model = _toy()
    with pytest.raises(ValueError, match=r"n_negatives=4 is larger than the unrated pool of user 0 \(3 of 6"):
        P.sample_negatives(train, test, 4)
    with pytest.raises(ValueError, match="n_negatives must be an integer >= 1"):
        P.sample_negatives(train, test, 0)
    with pytest.raises(TypeError, match="n_negatives must be an integer"):
        P.sampled_table(model, train, test, n_negatives="100")
    with pytest.raises(TypeError, match="seed must be an integer"):
        P.sample_negatives(train, test, 2, seed=1.5)
    with pytest.raises(ValueError, match="users holds user 1, who has no test rating >= relevant_min=5"):
        P.sample_negatives(train, test, 2, relevant_min=5, users=[0, 1])
    with pytest.raises(ValueError, match="no user has a test rating >= relevant_min=6"):
        P.sample_negatives(train, test, 2, relevant_min=6)
    with pytest.raises(ValueError, match="negatives holds a movie the user rated"):
        P.sampled_table(model, train, test, negatives=(np.array([0, 1]), np.array([[3, 4], [3, 5]])))
    with pytest.raises(TypeError, match="negatives must be the pair"):
        P.sampled_table(model, train, test, negatives=np.array([[5, 4], [3, 5]]))
    with pytest.raises(TypeError, match="train must be a cflib.Ratings"):
        P.sampled_metrics(model, np.zeros((6, 2)), test)
    with pytest.raises(ValueError, match=r"test has shape \(7, 2\) but train has \(6, 2\)"):
        P.auc_table(model, train, _ratings([2], [0], [5], 7, 2))
    with pytest.raises(ValueError, match="test holds 2 movies of user 0: expected_sampled_metrics needs exactly one"):
        P.expected_sampled_metrics(model, train, test, n_negatives=2)
    with pytest.raises(ValueError, match="has no timestamps"):
        P.leave_last_out(train)
    one_each = _ratings([0, 1], [0, 1], [4, 4], 3, 2, timestamps=[1, 2])
    with pytest.raises(ValueError, match="no user with 2 or more ratings"):
        P.leave_last_out(one_each)
    l_train, l_test, l_model = _loo_toy()
    with pytest.raises(ValueError, match="n_negatives=5 is larger than the smallest unrated pool"):
        P.expected_sampled_metrics(l_model, l_train, l_test, n_negatives=5)


def test_sampled_metrics_use_the_ranking_table_definitions():
    """On random data the sampled table is ranking_table on the candidates: compare with a slow loop."""
    data = make_synthetic(30, 20, 2, density=0.3, seed=4)
    train, test = data.random_split(0.25, seed=0)
    S = np.round(np.random.default_rng(1).standard_normal((30, 20)), 1)  # rounded: ties happen
    users, neg = P.sample_negatives(train, test, 5, seed=3)
    t = P.sampled_table(Fixed(S), train, test, k=4, negatives=(users, neg))
    for e, u in enumerate(users):
        cand = set(neg[e].tolist()) | set(test.movies[test.users == u].tolist())
        listed = sorted(cand, key=lambda i: (-S[i, u], i))[:4]
        rel = set(test.movies[(test.users == u) & (test.ratings >= 4)].tolist())
        gains = [1.0 if i in rel else 0.0 for i in listed]
        dcg = sum(g / np.log2(r + 2) for r, g in enumerate(gains))
        idcg = sum(1 / np.log2(r + 2) for r in range(min(4, len(rel))))
        assert t["top"][e].tolist() == listed
        assert t["precision"][e] == pytest.approx(sum(gains) / 4)
        assert t["recall"][e] == pytest.approx(sum(gains) / len(rel))
        assert t["ndcg"][e] == pytest.approx(dcg / idcg)
        before = [sum(1 for j in neg[e] if (S[j, u], -j) > (S[i, u], -i)) for i in rel]
        assert t["auc"][e] == pytest.approx(np.mean([1 - b / 5 for b in before]))
    assert ranking_table(Fixed(S), train, test, k=4)["user"].tolist() == users.tolist()
