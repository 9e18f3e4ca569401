"""Claims of notebook 10 (implicit feedback) about computed results, pinned.

As in ``tests/test_claims.py``: nbval keeps the stored outputs equal to a fresh run, so a test may parse what a
cell printed and assert what the prose says about it; where the prose states something no cell prints (the
summary's widget extremes, exercise 2's answer), the test recomputes it with cflib the way the notebook does.
"""

import re

import numpy as np
import pytest

import cflib
from cflib.implicit_als import fit_implicit_als
from cflib.ranking import ranking_metrics
from test_claims import grab, printed, prose, quoted


def _table():
    """The ranking table of section 4: {model: {metric: value}}."""
    out = printed("10", "ranking_metrics(m, train, test, k=10)")
    names = ("P@10", "R@10", "NDCG@10", "MAP@10", "coverage", "novelty")
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(.+?)\s+((?:\d+\.\d+\s*){6})$", line)
        if m:
            rows[m.group(1).strip()] = dict(zip(names, map(float, m.group(2).split())))
    assert set(rows) == {"COURSE", "BEST", "popularity", "implicit ALS (k=20)", "implicit ALS, all ratings"}, rows
    return rows


def test_10_alpha_is_the_confidence_slope_and_the_half_is_dropped_where_said():
    text = prose("10")
    assert "the **confidence slope** (`alpha` in code)" in text
    assert "c_{iu} = 1 + \\alpha\\, w_{iu}" in text
    quoted("10", "Unlike notebook 02's cost, this one has no $\\frac12$ on either term")


def test_10_cost_per_sweep_as_described():
    out = printed("10", "J lowered by each sweep")
    drops = [float(d) for d in re.search(r"J lowered by each sweep \(%\): ([\d. ]+)", out).group(1).split()]
    assert len(drops) == 15 and all(d >= 0 for d in drops)   # "J never increased", sweep 0 included
    assert 2.5 < drops[0] < 3.5                                # "the first sweep lowers J by only 3%"
    assert 45 < drops[1] < 55 and int(np.argmax(drops)) == 1   # "the second sweep cuts it by half"
    limit = grab(out, r"from the 6th on lowers J by less than NUMBER%")
    assert limit == 0.3 and max(drops[5:]) < limit             # "every later sweep gains less than 0.3%"
    quoted("10", "every later sweep gains less than 0.3%")
    start, after_one = grab(printed("10", "J never increased"), r"J: NUMBER at the start, NUMBER after one sweep")
    assert 100 * (start - after_one) / start == pytest.approx(drops[0], abs=0.01)


def test_10_ranking_claims_of_section_4_and_the_summary():
    t = _table()
    ours, pop, best, course = t["implicit ALS (k=20)"], t["popularity"], t["BEST"], t["COURSE"]
    assert ours["P@10"] > 1.5 * pop["P@10"] and ours["P@10"] > 2 * best["P@10"]  # "well above", "more than twice"
    assert ours["coverage"] > max(pop["coverage"], best["coverage"], course["coverage"])  # "more of the catalogue"
    assert pop["novelty"] < ours["novelty"] < best["novelty"]                      # "novelty between the two"
    for other in (pop, best, course):                                              # summary: beats all three
        assert all(ours[m] > other[m] for m in ("P@10", "R@10", "NDCG@10", "MAP@10"))
    gain = grab(printed("10", "ranking_metrics(m, train, test, k=10)"), r"P@10: NUMBERx")
    assert gain == pytest.approx(ours["P@10"] / pop["P@10"], abs=0.01)


def test_10_first_list_of_the_explorer_as_printed():
    out = printed("10", "explorer = ImplicitExplorer(")
    hits = grab(out, r"liked test movies; NUMBER of them in the first list")
    rows = re.findall(r"^\s*(\d+)\. (.+?)(  \*)?$", out, re.M)
    assert [int(r) for r, _, _ in rows] == list(range(1, 11))
    assert sum(bool(star) for _, _, star in rows) == hits
    assert "run the notebook (Run > Run All Cells) to use the sliders" in out  # the static view's text
    quoted("10", "The sliders need a running kernel.")


@pytest.fixture(scope="module")
def u1_split(movielens):
    return cflib.load_split("u1")


def _coverage(train, test, **kw):
    model = fit_implicit_als(train, k=20, n_iters=10, **kw)[0]  # as the widget fits (10 sweeps)
    return ranking_metrics(model, train, test, k=10)["coverage"]


def test_10_summary_widget_extremes(u1_split):
    """Section 5 and the Summary: a large lambda shows everyone the same few dozen movies, as popularity does;
    a larger alpha spreads the lists over more of the catalogue. The coverage cell prints them; the test reads
    the printout, checks the prose's numbers against it and recomputes the large-lambda figure."""
    train, test = u1_split
    out = printed("10", "def coverage_at(")
    pop = grab(out, r"popularity: coverage \S+ \(NUMBER movies\)", int)
    movies = {(float(a), float(lam)): int(n) for a, lam, n in
              re.findall(r"alpha =\s+([\d.]+), lambda =\s+([\d.]+): coverage \S+ \((\d+) movies\)", out)}
    assert set(movies) == {(2.0, 50.0), (2.0, 500.0), (20.0, 50.0), (50.0, 50.0)}
    assert abs(pop - _table()["popularity"]["coverage"] * train.n_movies) < 1   # the table prints 3 decimals
    default, large_lam = movies[2.0, 50.0], movies[2.0, 500.0]
    assert large_lam < 100 and large_lam < 1.5 * pop                      # a few dozen movies, like popularity
    assert default < movies[20.0, 50.0] < movies[50.0, 50.0] and movies[50.0, 50.0] > 2 * default
    quoted("10", f"at $\\lambda = 500$ the lists of all the evaluated users together hold {large_lam} movies, about as few as "
                 f"popularity's {pop} (at the default $\\lambda = 50$, {default})")
    quoted("10", f"{movies[20.0, 50.0]} movies at $\\alpha = 20$ and {movies[50.0, 50.0]} at $\\alpha = 50$, "
                 f"against {default} at the default $\\alpha = 2$")
    quoted("10", "a large $\\lambda$ fills every evaluated user's list from the same few dozen movies, as popularity does, and a larger "
                 "$\\alpha$ spreads the lists over more of the catalogue (coverage printed in section 5")
    assert round(_coverage(train, test, alpha=2.0, lam=500.0) * train.n_movies) == large_lam


def test_10_the_explorer_user_is_the_one_with_most_liked_test_movies(u1_split):
    """Section 5: the user is the one with the most liked test movies (135); 9 hits in 10 against a mean P@10 of
    0.389 for section 4's model."""
    train, test = u1_split
    out = printed("10", "explorer = ImplicitExplorer(")
    user, liked, hits = grab(out, r"user NUMBER: \d+ training ratings; NUMBER liked test movies; NUMBER of them", int)
    counts = np.bincount(test.users[test.ratings >= 4], minlength=test.n_users)
    assert user == int(np.argmax(counts)) and liked == counts.max() == 135 and hits == 9
    mean_p10 = _table()["implicit ALS (k=20)"]["P@10"]
    assert mean_p10 == 0.389 and hits / 10 > 2 * mean_p10
    quoted("10", "this is the user with the most liked test movies in u1.test (135, printed above)")
    quoted("10", "Its nine hits in ten are far above a typical user's: section 4's model has a mean P@10 of 0.389")


def test_10_all_ratings_row_is_a_little_less_precise_and_covers_more():
    t = _table()
    liked, every = t["implicit ALS (k=20)"], t["implicit ALS, all ratings"]
    assert 0 < liked["P@10"] - every["P@10"] < 0.02 and every["coverage"] > liked["coverage"]
    quoted("10", f"it is a little less precise (P@10 {every['P@10']:.3f} against {liked['P@10']:.3f}) and covers more "
                 f"of the catalogue ({every['coverage']:.3f} against {liked['coverage']:.3f})")
    quoted("10", 'counts every pair that is not liked (unwatched, or rated below 4) as a weak "no"')


def test_10_exercise_2_precision_against_k(u1_split):
    train, test = u1_split
    quoted("10", "0.347, 0.377, 0.389 and 0.391")
    got = [ranking_metrics(fit_implicit_als(train, k=k)[0], train, test, k=10)["precision"] for k in (5, 10, 20, 50)]
    assert [f"{p:.3f}" for p in got] == ["0.347", "0.377", "0.389", "0.391"]
