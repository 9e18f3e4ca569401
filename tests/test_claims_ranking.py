"""Numbers quoted in the prose of notebooks 09 and 10 that are not printed right above them.

Each test recomputes its claim from the data and can fail.
"""

import numpy as np
import pytest

import cflib
from cflib.popularity import fit_popularity
from cflib.ranking import ranking_metrics
from cflib.temporal import time_split
from cflib.train import BEST, fit


@pytest.fixture(scope="module")
def u1(movielens):
    return cflib.load_split("u1", download=False)


def test_nb09_exercise2_relevant_min_5_flips_best_and_popularity(u1):
    train, test = u1
    best = ranking_metrics(fit(train, **BEST)[0], train, test, relevant_min=5.0)["precision"]
    pop = ranking_metrics(fit_popularity(train), train, test, relevant_min=5.0)["precision"]
    assert round(best, 3) == 0.115 and round(pop, 3) == 0.109


def test_nb09_exercise3_popular_and_good_list(u1):
    train, test = u1
    best = fit(train, **BEST)[0]
    counts = np.bincount(train.movies, minlength=train.n_movies)

    class PopularAndGood:
        def predict_all(self, *, clip=False):
            return np.repeat(np.where(counts >= 50, best.movie_bias, -np.inf)[:, None], train.n_users, axis=1)

    assert round(ranking_metrics(PopularAndGood(), train, test)["precision"], 3) == 0.130
    assert round(ranking_metrics(best, train, test)["precision"], 3) == 0.164
    assert round(ranking_metrics(fit_popularity(train), train, test)["precision"], 3) == 0.214


def test_nb09_exercise4_time_cut_users_with_20_ratings(movielens):
    past, future = time_split(movielens, test_fraction=0.2)
    n = np.bincount(past.users, minlength=past.n_users)
    sub = future.subset(n[future.users] >= 20)
    pop = ranking_metrics(fit_popularity(past), past, sub)
    best = ranking_metrics(fit(past, **BEST)[0], past, sub)
    assert pop["n_users"] == 93
    assert round(pop["precision"], 3) == 0.106 and round(best["precision"], 3) == 0.096


def test_nb10_exercise2_precision_by_k(u1):
    from cflib.implicit_als import fit_implicit_als
    train, test = u1
    got = [round(ranking_metrics(fit_implicit_als(train, k=k, record_cost=False)[0], train, test)["precision"], 3)
           for k in (5, 10, 20, 50)]
    assert got == [0.347, 0.377, 0.389, 0.391]


def test_nb10_implicit_beats_twice_best_and_popularity(u1):
    from cflib.implicit_als import fit_implicit_als
    train, test = u1
    imp = ranking_metrics(fit_implicit_als(train, k=20)[0], train, test)
    best = ranking_metrics(fit(train, **BEST)[0], train, test)
    pop = ranking_metrics(fit_popularity(train), train, test)
    assert imp["precision"] > 2 * best["precision"]
    for key in ("precision", "recall", "ndcg", "map"):
        assert imp[key] > pop[key] > best[key]
    assert pop["novelty"] < imp["novelty"] < best["novelty"]
