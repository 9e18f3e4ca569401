"""Claims of notebook 11 and of cflib.gibbs's docstrings that are not printed right above them.

Each test recomputes its claim on the real ml-100k folds (skipped without the data).
A chain does not depend on ``burn_in`` (the same draws are made, only the
averaging starts later), so one fit with ``burn_in=0`` serves every burn-in.
"""

import numpy as np
import pytest
from scipy.stats import norm

import cflib
from cflib import gibbs
from cflib.checks import bayesian as checks_bayesian
from cflib.evaluate import evaluate, rmse
from cflib.gibbs import fit_gibbs
from cflib.train import BEST, fit

try:
    U1 = cflib.load_split("u1")
except Exception as exc:  # no MovieLens copy on this machine
    U1 = None
    REASON = f"needs ml-100k: {exc}"
pytestmark = pytest.mark.skipif(U1 is None, reason=REASON if U1 is None else "")


def average_from(model, ratings, burn_in):
    """Test RMSE of the average of the samples kept from sweep ``burn_in`` on (model fitted with burn_in=0)."""
    samples = model.sample_predictions(ratings.movies, ratings.users)
    return rmse(samples[burn_in:].mean(axis=0), ratings.ratings)


@pytest.fixture(scope="module")
def u1_chain():
    train, test = U1
    return fit_gibbs(train, k=10, n_iters=200, burn_in=0, seed=0)


def test_constants_quoted_in_the_notebook():
    assert checks_bayesian.N_DRAWS == 4000  # "calls your function 4000 times"
    assert gibbs.BURN_IN == 10  # "BURN_IN (10 sweeps)"
    assert BEST["k"] == 5 and BEST["n_iters"] == 15  # "ALS BEST (k = 5, 15 iterations)"
    assert f"{norm.ppf(0.9):.2f}" == "1.28"


def test_default_fit_is_the_chain_averaged_after_ten_sweeps(u1_chain):
    train, test = U1
    model, _ = fit_gibbs(train, k=10, n_iters=200, seed=0)
    assert evaluate(model, test)["rmse"] == pytest.approx(average_from(u1_chain[0], test, 10), rel=1e-12)


def test_gibbs_beats_als_best_by_more_than_a_hundredth_on_u1(u1_chain):
    """Section 5 and the summary: 'more than 0.01 better in RMSE than ALS BEST'."""
    train, test = U1
    als, _ = fit(train, **BEST)
    assert evaluate(als, test)["rmse"] - average_from(u1_chain[0], test, 10) > 0.01


def test_tau_climbs_for_a_few_dozen_sweeps_then_levels_off(u1_chain):
    tau = np.array(u1_chain[1].tau)
    level = tau[100:].mean()
    assert tau[9] < 0.8 * level  # still far below its level after the burn-in of 10
    assert abs(tau[59] / level - 1) < 0.03  # at its level by sweep 60
    assert tau[100:].std() < 0.02 * level


def test_shorter_burn_ins_give_better_averages_on_u1(u1_chain):
    """Exercise 2's answer: burn-in 0 / 10 better than 50, 50 better than 100 (test RMSE of u1)."""
    _, test = U1
    errs = {b: average_from(u1_chain[0], test, b) for b in (0, 10, 50, 100)}
    assert max(errs[0], errs[10]) < errs[50] < errs[100]


def test_burn_in_was_chosen_on_a_validation_split():
    """The BURN_IN comment: on 10% of u1.base, validation RMSE 0.9022 / 0.9027 / 0.9053 for 0 / 10 / 50."""
    base, _ = U1
    mask = np.random.default_rng(0).random(base.nnz) < 0.1
    tr, va = base.subset(~mask), base.subset(mask)
    model, _ = fit_gibbs(tr, k=10, n_iters=200, burn_in=0, seed=0)
    errs = [average_from(model, va, b) for b in (0, 10, 50)]
    np.testing.assert_allclose(errs, [0.9022, 0.9027, 0.9053], atol=6e-5)


def test_a_user_cut_to_three_ratings_gets_wider_intervals(u1_chain):
    """Exercise 3's answer: the model variance grows several times over, the total std by much less."""
    train, _ = U1
    model = u1_chain[0]
    user = int(np.argmax(model.user_counts))
    keep = (train.users != user) | (np.cumsum(train.users == user) <= 3)
    cut, _ = fit_gibbs(train.subset(keep), k=10, n_iters=200, burn_in=0, seed=0)
    assert cut.user_counts[user] == 3
    movies = np.flatnonzero(model.movie_counts >= 50)[:20]
    users = np.full(20, user)
    var_ratio = cut.sample_predictions(movies, users).var(axis=0) / model.sample_predictions(movies, users).var(axis=0)
    std_ratio = cut.predict_std(movies, users) / model.predict_std(movies, users)
    assert np.median(var_ratio) > 3
    assert 1 < np.median(std_ratio) < 1.5
    # the mean predictions move towards the movie levels mu + b_i
    level = cut.mu + cut.movie_bias.mean(axis=0)[movies]
    before = model.mu + model.movie_bias.mean(axis=0)[movies]
    assert np.mean(np.abs(cut.predict(movies, users, clip=False) - level)) < \
        np.mean(np.abs(model.predict(movies, users, clip=False) - before))


@pytest.fixture(scope="module")
def u1_default():
    """The notebook's model: 200 sweeps, the default burn-in."""
    train, _ = U1
    return fit_gibbs(train, k=10, n_iters=200, seed=0)[0]


def test_the_toy_ellipse_is_only_slightly_tilted():
    """Section 2: 'a negative off-diagonal entry ... a correlation of about -0.26'."""
    rng = np.random.default_rng(1)
    G = rng.standard_normal((6, 2))
    G[:, 1] += 0.9 * G[:, 0]
    F = np.column_stack([G, np.ones(6)])
    t = rng.normal(0.5, 1.0, 6)
    _, cov = gibbs.row_moments(F, t, 1.5, np.array([0.0, 0.0, 0.2]), np.array([2.0, 2.0, 4.0]))
    corr = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    assert f"{corr:.2f}" == "-0.26"


def test_unseen_movies_get_among_the_widest_intervals(u1_default):
    """Section 4: unseen movies 'on average wider than nine movies in ten, though some movies
    with one or two ratings reach higher'; user 12 as in the notebook."""
    model = u1_default
    std = model.predict_std(np.arange(model.n_movies), np.full(model.n_movies, 12))
    unseen = model.movie_counts == 0
    assert unseen.sum() > 0
    assert std[unseen].mean() > np.quantile(std, 0.9)
    few = (model.movie_counts >= 1) & (model.movie_counts <= 2)
    assert std[few].max() > std[unseen].max()


def test_users_panel_narrower_band_and_wider_for_few_ratings(u1_default):
    """Section 4, right panel: a narrower band than the movies'; users with < 20 training ratings
    have a larger mean std than users with >= 200; every u1 user has training ratings."""
    model = u1_default
    popular = int(np.argmax(model.movie_counts))
    std_u = model.predict_std(np.full(model.n_users, popular), np.arange(model.n_users))
    std_m = model.predict_std(np.arange(model.n_movies), np.full(model.n_movies, 12))
    counts = model.user_counts
    assert counts.min() > 0
    assert std_u[counts < 20].mean() > std_u[counts >= 200].mean()
    assert np.ptp(std_u) < np.ptp(std_m)
