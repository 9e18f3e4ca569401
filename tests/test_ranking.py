"""ranking_metrics: a hand computation, an independent slow implementation, limits and errors."""

import numpy as np
import pytest

from cflib.popularity import fit_popularity
from cflib.ranking import popularity_strata, ranking_metrics, ranking_table, top_k
from cflib.ratings import Ratings


def _ratings(movies, users, ratings, n_movies, n_users, name="toy"):
    n = len(movies)
    return Ratings(movies=np.array(movies), users=np.array(users), ratings=np.array(ratings, float),
                   n_movies=n_movies, n_users=n_users, titles=np.array([f"m{i}" for i in range(n_movies)]),
                   genre_names=(), genres=np.zeros((n_movies, 0), bool), movie_ids=np.arange(n_movies) + 1,
                   user_ids=np.arange(n_users) + 1, name=name) if n else None


class Fixed:
    """A model with given scores (n_movies, n_users)."""

    def __init__(self, S):
        self.S = np.asarray(S, float)

    def predict_all(self, *, clip=True):
        assert clip is False
        return self.S.copy()


class PredictOnly:
    def __init__(self, S):
        self.S = np.asarray(S, float)

    def predict(self, movies, users, *, clip=True):
        return self.S[movies, users]


def _toy():
    # 6 movies, 2 users. User 0 rated movie 0 in train; test: movies 1 (5), 3 (4), 4 (2).
    # User 1: train movie 5; test movie 2 (3) only -> no relevant movie, not evaluated.
    train = _ratings([0, 5], [0, 1], [5, 4], 6, 2)
    test = _ratings([1, 3, 4, 2], [0, 0, 0, 1], [5, 4, 2, 3], 6, 2)
    # scores for user 0: movie 0 best (but rated in train), then 4, 1, 2 == 5 (tie), 3
    S = np.zeros((6, 2))
    S[:, 0] = [9.0, 7.0, 1.0, 0.0, 8.0, 1.0]
    S[:, 1] = np.arange(6)
    return train, test, S


def test_hand_computation_on_toy_example():
    train, test, S = _toy()
    # user 0 list at k=3: movie 0 excluded -> 4 (score 8), 1 (7), then 2 and 5 tie at 1: lower index 2.
    table = ranking_table(Fixed(S), train, test, k=3)
    assert table["user"].tolist() == [0]
    assert table["top"].tolist() == [[4, 1, 2]]
    assert table["relevant"].tolist() == [[False, True, False]]
    m = ranking_metrics(Fixed(S), train, test, k=3)
    assert m["n_users"] == 1
    assert m["precision"] == pytest.approx(1 / 3)
    assert m["recall"] == pytest.approx(1 / 2)          # 2 relevant: movies 1 and 3
    assert m["hit_rate"] == 1.0
    # DCG = 1/log2(3); IDCG over min(3, 2) = 2 items: 1 + 1/log2(3)
    assert m["ndcg"] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    # AP = (P@2 * 1) / min(3, 2) = (1/2) / 2
    assert m["map"] == pytest.approx(0.25)
    assert m["coverage"] == pytest.approx(3 / 6)
    # distinct train users per movie: movies 4, 1, 2 have none -> counted as 1 of 2 users: 1 bit each
    assert m["novelty"] == pytest.approx(1.0)


def test_toy_k5_reaches_second_relevant_and_predict_only_model_agrees():
    train, test, S = _toy()
    m = ranking_metrics(Fixed(S), train, test, k=5)
    # list: 4, 1, 2, 5, 3 -> hits at ranks 2 and 5
    assert m["precision"] == pytest.approx(2 / 5)
    assert m["recall"] == pytest.approx(1.0)
    assert m["map"] == pytest.approx((1 / 2 + 2 / 5) / 2)
    assert ranking_metrics(PredictOnly(S), train, test, k=5) == m


def _slow(S, train, test, k, relevant_min):
    """Independent loop implementation of the issue's definitions."""
    n_movies, n_users = S.shape
    out = {key: [] for key in ("precision", "recall", "ndcg", "map", "hit_rate")}
    listed = set()
    nov = []
    raters = [set() for _ in range(n_movies)]
    for i, u in zip(train.movies, train.users):
        raters[i].add(u)
    for u in range(n_users):
        relevant = {int(i) for i, uu, r in zip(test.movies, test.users, test.ratings) if uu == u and r >= relevant_min}
        if not relevant:
            continue
        seen = {int(i) for i, uu in zip(train.movies, train.users) if uu == u}
        cands = [i for i in range(n_movies) if i not in seen]
        cands.sort(key=lambda i: (-S[i, u], i))
        lst = cands[:k]
        rel = [1 if i in relevant else 0 for i in lst]
        hits = sum(rel)
        out["precision"].append(hits / k)
        out["recall"].append(hits / len(relevant))
        out["hit_rate"].append(1.0 if hits else 0.0)
        dcg = sum(r / np.log2(pos + 2) for pos, r in enumerate(rel))
        idcg = sum(1 / np.log2(pos + 2) for pos in range(min(k, len(relevant))))
        out["ndcg"].append(dcg / idcg)
        ap, h = 0.0, 0
        for pos, r in enumerate(rel):
            h += r
            ap += (h / (pos + 1)) * r
        out["map"].append(ap / min(k, len(relevant)))
        listed.update(lst)
        nov += [-np.log2(max(len(raters[i]), 1) / n_users) for i in lst]
    res = {key: float(np.mean(v)) for key, v in out.items()}
    res["coverage"] = len(listed) / n_movies
    res["novelty"] = float(np.mean(nov))
    res["n_users"] = len(out["precision"])
    return res


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 4, 10])
def test_agrees_with_slow_loop_on_random_data_with_ties(seed, k):
    rng = np.random.default_rng(seed)
    n_movies, n_users = 30, 12
    cells = rng.choice(n_movies * n_users, size=160, replace=False)
    movies, users = np.divmod(cells, n_users)
    ratings = rng.integers(1, 6, cells.size).astype(float)
    is_test = rng.random(cells.size) < 0.4
    train = _ratings(movies[~is_test], users[~is_test], ratings[~is_test], n_movies, n_users)
    test = _ratings(movies[is_test], users[is_test], ratings[is_test], n_movies, n_users)
    S = rng.integers(0, 4, (n_movies, n_users)).astype(float)  # many ties
    fast = ranking_metrics(Fixed(S), train, test, k=k, relevant_min=4.0)
    slow = _slow(S, train, test, k, 4.0)
    assert fast["n_users"] == slow["n_users"] > 0
    for key in slow:
        assert fast[key] == pytest.approx(slow[key], abs=1e-12), key


def test_top_k_breaks_ties_by_lower_index_and_marks_missing_candidates():
    S = np.array([[1.0, 3.0, 3.0, 0.0, 3.0], [5.0, 5.0, 5.0, 5.0, 5.0]])
    exclude = np.array([[False, False, True, False, False], [True, True, True, True, False]])
    top, valid = top_k(S, 3, exclude=exclude)
    assert top[0].tolist() == [1, 4, 0]
    assert top[1, 0] == 4 and valid[1].tolist() == [True, False, False]
    assert S[0, 2] == 3.0  # not modified


def test_perfect_and_worst_models_hit_the_limits():
    train, test, _ = _toy()
    oracle = np.zeros((6, 2))
    oracle[1, 0], oracle[3, 0] = 2.0, 1.0
    m = ranking_metrics(Fixed(oracle), train, test, k=2)
    assert m["precision"] == m["recall"] == m["ndcg"] == m["map"] == m["hit_rate"] == 1.0
    worst = -oracle
    worst[0, 0] = 100.0  # rated in train: must be ignored
    m = ranking_metrics(Fixed(worst), train, test, k=2)
    assert m["precision"] == m["ndcg"] == m["hit_rate"] == 0.0


def test_popularity_strata_share_of_head():
    train, test, _ = _toy()
    pop = fit_popularity(train)
    strata = popularity_strata(pop, train, test, k=2, head_fraction=0.34)
    assert strata["head_movies"] == 3  # movies 0, 5 (1 rating each) and 1 (ties by index)
    # user 0: movie 0 rated -> list = 5 (1 rating), then 1 (0 ratings, lowest index): both in the head
    assert strata["head"]["list_share"] == 1.0
    assert strata["head"]["hit_share"] == 1.0 and strata["tail"]["hit_share"] == 0.0
    assert strata["head"]["relevant_share"] == 0.5  # relevant: movies 1 (head) and 3 (tail)
    assert strata["tail"]["recall"] == 0.0


def test_bad_input_raises_clear_errors():
    train, test, S = _toy()
    with pytest.raises(ValueError, match="k must be"):
        ranking_metrics(Fixed(S), train, test, k=0)
    with pytest.raises(TypeError, match="model must have"):
        ranking_metrics(object(), train, test)
    with pytest.raises(ValueError, match="shape"):
        ranking_metrics(Fixed(S[:5]), train, test)
    S_nan = S.copy()
    S_nan[2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ranking_metrics(Fixed(S_nan), train, test)
    with pytest.raises(ValueError, match="relevant_min"):
        ranking_metrics(Fixed(S), train, test, relevant_min=6.0)
    with pytest.raises(TypeError, match="train must be"):
        ranking_metrics(Fixed(S), "u1", test)


def test_u1_reproduces_the_issue_figures(movielens):
    import cflib
    train, test = cflib.load_split("u1", download=False)
    m = ranking_metrics(fit_popularity(train), train, test)
    assert m["precision"] == pytest.approx(0.214, abs=0.0015)
    assert m["ndcg"] == pytest.approx(0.245, abs=0.0015)
    assert m["n_users"] == 456


# ------------------------------------------- adversarial inputs (issue 12)
from cflib.ranking import ndcg_at_k, precision_at_k, user_list  # noqa: E402
from cflib.synthetic import make_synthetic  # noqa: E402


@pytest.mark.parametrize("scores, exclude, match", [
    (np.zeros((2, 3)), np.zeros((2, 2), bool), "exclude must be a boolean array"),
    (np.zeros((2, 3)), np.zeros((2, 3)), "exclude must be a boolean array"),
    (np.zeros((2, 0)), None, "scores must be 2-D"),
    (np.arange(5.0), None, "scores must be 2-D"),
    (np.array([[np.nan, 1.0, 2.0]]), None, "scores contain NaN"),
])
def test_top_k_rejects_bad_scores_and_masks(scores, exclude, match):
    with pytest.raises(ValueError, match=match):
        top_k(scores, 2, exclude=exclude)


def test_top_k_rejects_strings_with_a_type_error():
    with pytest.raises(TypeError, match="scores must be a numeric array"):
        top_k([["a", "b"]], 1)


@pytest.mark.parametrize("train_movies, error, match", [
    ([7], ValueError, "train_movies holds indices in 7..7"),
    ([-1], ValueError, "train_movies holds indices in -1..-1"),   # used to drop the last movie silently
    ([1.5], TypeError, "train_movies must hold integer indices"),  # used to be truncated to 1
])
def test_user_list_checks_train_movies(train_movies, error, match):
    with pytest.raises(error, match=match):
        user_list(np.array([0.1, 0.5, 0.3, 0.9]), train_movies, 2)


def test_user_list_wants_one_row_of_scores_and_no_nan():
    with pytest.raises(ValueError, match="scores must be 1-D"):
        user_list(np.zeros((2, 2)), [], 1)
    with pytest.raises(ValueError, match="NaN"):
        user_list(np.array([np.nan, 1.0]), [], 1)
    assert user_list(np.array([0.1, 0.5, 0.3, 0.9]), [], 2).tolist() == [3, 1]


@pytest.mark.parametrize("fn", [precision_at_k, ndcg_at_k], ids=lambda f: f.__name__)
@pytest.mark.parametrize("relevant, error, match", [
    ([99], ValueError, "relevant holds indices in 99..99"),  # used to give 0.0 silently
    (["a"], TypeError, "relevant must hold integer indices"),
    ([1.5], TypeError, "relevant must hold integer indices"),  # used to be truncated to 1
])
def test_one_user_metrics_check_relevant(fn, relevant, error, match):
    with pytest.raises(error, match=match):
        fn(np.array([0.1, 0.5, 0.3, 0.9]), [], relevant, 2)


def test_one_user_metrics_still_agree_with_hand_values():
    s = np.array([0.1, 0.5, 0.3, 0.9])  # list for k=2: [3, 1]
    assert precision_at_k(s, [], [1], 2) == 0.5
    assert ndcg_at_k(s, [], [1], 2) == pytest.approx((1 / np.log2(3)) / 1.0)
    assert ndcg_at_k(s, [3], [1], 2) == pytest.approx(1.0)  # 3 excluded: list [1, 2]


class _Scores:
    def __init__(self, S):
        self.S = S

    def predict_all(self, clip=False):
        return self.S


def test_ranking_rejects_nan_and_non_numeric_scores_and_never_lists_minus_inf():
    data = make_synthetic(30, 20, 2, density=0.4, seed=1)
    train, test = data.random_split(0.3, seed=0)
    S = np.zeros((30, 20))
    S[0, 0] = np.nan
    with pytest.raises(ValueError, match="scores contain NaN"):
        ranking_metrics(_Scores(S), train, test)
    S = np.zeros((30, 20))
    S[:25] = -np.inf  # only movies 25..29 may be listed (notebook 09, exercise 3)
    table = ranking_table(_Scores(S), train, test, k=10)
    assert set(table["top"][table["top"] >= 0].tolist()) <= set(range(25, 30))
    with pytest.raises(TypeError, match="model scores must be numbers"):
        ranking_metrics(_Scores([["a"] * 20] * 30), train, test)


# ---- trust round three: sizes that do not fit meet a guard, a huge k is a correct result
def test_ranking_metrics_refuses_a_grid_that_does_not_fit():
    from cflib.popularity import fit_popularity
    from cflib.ratings import Ratings
    big = Ratings(movies=[0, 1], users=[0, 1], ratings=[5.0, 4.0], n_movies=200_000, n_users=300_000,
                  titles=None, genre_names=(), genres=None, movie_ids=None, user_ids=None)
    with pytest.raises(MemoryError, match=r"ranking_metrics ranks every movie.*\(200,000, 300,000\).*GB"):
        ranking_metrics(fit_popularity(big), big, big.subset([1]))


def test_ndcg_and_precision_with_a_huge_k():
    from cflib.ranking import ndcg_at_k, precision_at_k
    scores = np.array([0.9, 0.1, 0.5, 0.7])
    assert ndcg_at_k(scores, [0], [2, 3], k=10**12) == pytest.approx(ndcg_at_k(scores, [0], [2, 3], k=4))
    assert precision_at_k(scores, [0], [2, 3], k=10**12) == pytest.approx(2 / 10**12)
