"""Claims of notebooks 04-07 added or reworded after the cold reading of December 2026, pinned.

The same two kinds as ``tests/test_claims.py`` (whose helpers this file reuses): a stored output that nbval
guarantees equals a fresh run, parsed and compared with what the prose quotes; or a number the prose quotes
without printing it, recomputed with cflib the way the notebook does.
"""

import re

import numpy as np
import pytest

import cflib
from cflib.train import BEST, fit
from test_claims import _quiet_fit, grab, printed, prose, quoted


@pytest.fixture(scope="module")
def u1(movielens):
    base, test = cflib.load_split("u1")
    train, val = base.random_split(0.1, seed=0)
    return base, test, train, val


# --------------------------------------------------------------------------- 05 training

def _step_table():
    """05's like-for-like table: {lr: [toy raw, toy normalized, MovieLens raw, MovieLens normalized]},
    each cell the final J (a float) or None where the run overflowed."""
    out = printed("05", "def run_to_the_end(")
    table = {}
    for line in out.splitlines()[1:]:
        lr, rest = line.split(None, 1)
        cells = re.findall(r"J = (\S+)|overflow at step \d+", rest)
        assert len(cells) == 4, line
        table[float(lr)] = [float(c) if c else None for c in cells]
    assert sorted(table) == [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2]
    return table


def _edge(table, column):
    """(largest step that survives, smallest step that overflows) in one column of the table."""
    ok = [lr for lr, row in table.items() if row[column] is not None]
    bad = [lr for lr, row in table.items() if row[column] is None]
    assert max(ok) < min(bad), f"column {column} is not one edge: {table}"
    return max(ok), min(bad)


def test_05_like_for_like_movielens_needs_the_smaller_step():
    table = _step_table()
    toy_raw, toy_norm, ml_raw, ml_norm = (_edge(table, c) for c in range(4))
    assert table[0.005][0] is not None and table[0.005][2] is None    # the toy's step: safe on the toy only
    assert table[0.1][1] is not None and ml_norm[1] == 0.05           # toy survives 0.1; MovieLens overflows from 0.05
    assert toy_raw[0] > ml_raw[1] and toy_norm[0] > ml_norm[1]        # in both pairs MovieLens's edge is lower
    for raw, norm in ((toy_raw, toy_norm), (ml_raw, ml_norm)):       # normalization: about ten times larger steps
        assert 4 <= norm[0] / raw[0] <= 25 and 4 <= norm[1] / raw[1] <= 25
    assert abs(table[0.01][0] - 650) < 10 and table[0.02][0] is None  # raw toy: stalls near 650, overflows at 0.02
    assert table[0.01][3] is not None                                 # normalized MovieLens takes 0.01
    quoted("05", "the toy's own step, $\\eta = 0.005$, is safe on the raw toy and overflows on the raw MovieLens "
                 "ratings; on normalized ratings the toy survives $\\eta = 0.1$, MovieLens overflows from $0.05$")
    quoted("05", "(it stalls near $J \\approx 650$ at $\\eta = 0.01$) and overflows at 0.02")
    quoted("05", "mean normalization moves the edge up by about a factor of ten on both data sets")
    quoted("05", "Like for like, a step that works on the toy diverges on MovieLens (0.005 on raw ratings, 0.1 on "
                 "normalized ones)")


def test_05_toy_and_movielens_counts_as_printed():
    out = printed("05", "toy_counts = np.bincount(")
    most, average, mean = grab(out, r"toy: at most NUMBER ratings for one movie, NUMBER on average; "
                                    r"mean rating NUMBER stars")
    assert (most, average) == (60, 18) and abs(mean - 3.5) < 0.05
    assert grab(out, r"most ratings for one movie: NUMBER \(Star Wars") == 448
    quoted("05", "in the toy a movie has 18 ratings on average and at most 60; in the MovieLens training set, "
                 "*Star Wars* alone has 448 (both printed below)")
    quoted("05", "until $x_i^T\\theta_j$ is about 3.5, the toy's mean rating")


def test_05_hidden_entries_against_the_movie_means_on_the_same_entries():
    out = printed("05", "error of the movie means, hidden entries")
    model = grab(out, r"error of X Theta\^T on the hidden entries\s+NUMBER stars")
    means = grab(out, r"error of the movie means, hidden entries\s+NUMBER stars")
    assert 0.55 <= model / means <= 0.65                              # "about 60%"
    quoted("05", f"about 60% of the error of the movie means on the same hidden entries ({model:.2f} against "
                 f"{means:.2f} stars)")


def test_05_flat_start_is_in_the_validation_panel_and_the_first_drop_is_the_penalty(u1):
    _, _, train, val = u1
    setting = dict(method="gd", k=10, lam=10.0, kind="normalized", validation=val, seed=0)
    for lr, flat in ((0.01, 3), (0.002, 18)):
        h = _quiet_fit(train, lr=lr, n_iters=25, **setting)[1]
        v = np.asarray(h.val_rmse)
        assert abs(v[0] - 1.03) < 0.005                                  # "about 1.03 stars"
        assert np.all(np.abs(v[:flat] - v[0]) < 0.001)                   # flat for a few / about twenty iterations
        assert v[-1] < v[0] - 0.0015                                     # ... and then it falls
        # the cost on the left falls from the first step; more than half of the first 5 steps' drop is penalty
        rng = np.random.default_rng(0)
        X0, T0 = 0.1 * rng.standard_normal((train.n_movies, 10)), 0.1 * rng.standard_normal((train.n_users, 10))
        model = _quiet_fit(train, lr=lr, n_iters=5, **setting)[0]
        penalty_drop = 5.0 * (np.sum(X0**2) + np.sum(T0**2) - np.sum(model.X**2) - np.sum(model.Theta**2))
        assert h.cost[0] < h.initial_cost
        assert penalty_drop > 0.5 * (h.initial_cost - h.cost[4])
    quoted("05", "their validation RMSE stays at its starting value, about 1.03 stars, for the first few iterations "
                 "at $\\eta = 0.01$ and for about twenty at $\\eta = 0.002$")
    quoted("05", "more than half of that early drop is the penalty on the random starting factors shrinking")


def test_05_the_diverging_run_leaves_the_scale_at_its_last_point_below_the_start(u1):
    _, _, train, val = u1
    h = _quiet_fit(train, method="gd", lr=0.03, n_iters=60, k=10, lam=10.0, kind="normalized",
                   validation=val, seed=0)[1]
    cost = np.asarray(h.cost)
    keep = int(np.argmax(~(cost <= h.initial_cost)))
    assert 3 <= keep < len(cost) and np.all(np.isfinite(cost[:keep]))  # drawn up to a finite point, then the arrow


def test_05_lbfgs_and_als_budgets_are_stated():
    out = printed("05", "histories = {name: fit(train")
    assert re.search(r"L-BFGS\s+60 iterations", out) and re.search(r"ALS\s+25 iterations", out)
    quoted("05", "The budgets differ, though: 60 L-BFGS iterations against 25 ALS sweeps")


# --------------------------------------------------------------------------- 07 recommendations

def test_07_romances_above_the_horror_median_as_printed():
    above, total = grab(printed("07", "romances above the horror median"),
                        r"romances above the horror median on PC2: NUMBER of NUMBER")
    assert 1 / 10 < above / total < 1 / 7                                 # "about one in eight"
    quoted("07", f"{above:.0f} of the {total:.0f} romances on the map sit above the horror median (printed above), "
                 "about one in eight")


def test_07_a_rotation_of_the_features_leaves_the_map(movielens):
    from cflib.movie_map import embedding_2d
    assert "map of X Q = map of X, up to flipping an axis: True" in printed("07", "map of X Q = map of X")
    X = fit(movielens, method="als", kind="biased", k=20, lam=15.0, n_iters=15)[0].X
    on_map = np.flatnonzero(np.bincount(movielens.movies, minlength=movielens.n_movies) >= 50)
    coords = embedding_2d(X, rows=on_map)[0]
    for seed in (1, 2):                                                   # other rotations than the notebook's
        Q = np.linalg.qr(np.random.default_rng(seed).standard_normal((20, 20)))[0]
        rotated = embedding_2d(X @ Q, rows=on_map)[0]
        signs = np.sign(np.sum(rotated[on_map] * coords[on_map], axis=0))
        np.testing.assert_allclose(rotated * signs, coords, atol=1e-9)
    quoted("07", "such a rotation would not change this map, because PCA finds the directions of largest variance "
                 "whatever the coordinates, up to flipping an axis")


def test_07_cold_start_gain_per_rating_from_5_to_20():
    out = printed("07", "per added rating")
    per_rating = {int(n): float(v) for n, v in re.findall(r"^\s*(\d+)\s+\S+ \[.*?\]\s+\S+ \[.*?\]\s+(\S+)", out, re.M)}
    assert 0.0025 <= per_rating[10] < 0.0040 and 0.0015 <= per_rating[20] < 0.0025   # "about three", "two"
    quoted("07", "from 5 to 10, about three thousandths each, and from 10 to 20 two;")


def test_07_bias_keeps_its_own_penalty_in_fold_in(movielens):
    from cflib.rating_widget import EXAMPLE_RATINGS
    from cflib.recommend import fold_in_user
    from cflib.ratings import ratings_by_title
    assert BEST["lam_bias"] == 5.0
    model = fit(movielens, **BEST)[0]
    mine = ratings_by_title(movielens, EXAMPLE_RATINGS)
    movies = np.array(list(mine))
    r = np.array(list(mine.values())) - model.mu - model.movie_bias[movies]
    A = np.hstack([model.X[movies], np.ones((movies.size, 1))])
    for lam in (None, 1.0):                                               # lam= moves theta's penalty only
        pen = np.r_[np.full(model.k, model.lam if lam is None else lam), model.lam_bias]
        w = np.linalg.solve(A.T @ A + np.diag(pen), A.T @ r)
        folded = fold_in_user(model, mine, lam=lam)
        np.testing.assert_allclose(np.r_[folded.theta, folded.bias], w, atol=1e-10)
    quoted("07", "with the biases' own penalty $\\lambda_b$ (`lam_bias`, 5 in `BEST`) on it instead of $\\lambda$")
    quoted("07", "(`lam=` changes only the penalty of $\\theta$; the bias $b_u$ keeps its own penalty, `lam_bias` = 5.)")
    # Exercise 3: at lam = 1 six unrated movies are clipped to 5.0 already (40 at lam = 0.1, tests/test_claims.py)
    unrated = np.setdiff1d(np.arange(movielens.n_movies), movies)
    assert np.sum(fold_in_user(model, mine, lam=1.0).predictions[unrated] >= 5.0) == 6
    quoted("07", "At $\\lambda = 1$ it has already begun: six unrated movies are clipped to 5.0")


def test_07_exercise_4_fold_in_movie_as_specified(movielens):
    import dataclasses

    from cflib.recommend import similar_movies

    def fold_in_movie(model, users, ratings):  # the answer's code, as the exercise specifies it
        users = np.asarray(users)
        r = np.asarray(ratings, dtype=float) - model.mu - model.user_bias[users]
        A = np.hstack([model.Theta[users], np.ones((users.size, 1))])
        penalty = np.diag(np.r_[np.full(model.k, model.lam), model.lam_bias])
        w = np.linalg.solve(A.T @ A + penalty, A.T @ r)
        return w[:-1], float(w[-1])

    data = movielens
    toy = data.find_title("Toy Story (1995)")[0]
    without = fit(data.subset(data.movies != toy), **BEST)[0]
    first = np.flatnonzero(data.movies == toy)[:10]
    x, b = fold_in_movie(without, data.users[first], data.ratings[first])
    assert x.shape == (without.k,) and isinstance(b, float)
    X_new = without.X.copy()
    X_new[toy] = x
    folded = dataclasses.replace(without, X=X_new)
    near = [data.titles[i] for i, _ in similar_movies(folded, toy, n=5, min_ratings=50)]
    assert near == ["Sneakers (1992)", "Star Trek IV: The Voyage Home (1986)", "Hunt for Red October, The (1990)",
                    "Star Trek: First Contact (1996)", "Independence Day (ID4) (1996)"]
    full = [data.titles[i] for i, _ in similar_movies(fit(data, **BEST)[0], toy, n=5, min_ratings=50)]
    assert not set(near) & set(full) and full[:2] == ["French Kiss (1995)", "Cinderella (1950)"]
    quoted("07", "come out as *Sneakers*, *Star Trek IV*, *The Hunt for Red October*, *Star Trek: First Contact* "
                 "and *Independence Day*: none of the full `BEST` model's list (*French Kiss*, *Cinderella*, ...)")
    quoted("07", "penalty = np.diag(np.r_[np.full(model.k, model.lam), model.lam_bias])")


def test_07_exercise_2_says_where_to_start_and_what_to_call():
    text = prose("07")
    assert "Starting from the example profile, add ratings in the widget" in text
    assert "`most_to_taste(widget.my_ratings)`" in text


def test_07_k5_is_ahead_of_k10_just_beyond_the_tie_line(u1):
    # 07 section 5: "about six thousandths of a star ahead of k = 10: just beyond the 0.005 ... and ahead again on a
    # second validation split (notebook 06, Exercise 3)"
    k10 = grab(printed("06", "row = ks.index(10)"), r"(?m)^\s+10\s+\S+\s+NUMBER\s+\S+$")
    best = grab(printed("06", "lowest validation RMSE"), r"lowest validation RMSE NUMBER at k = 5, lam = 10")
    assert 0.0055 <= k10 - best < 0.0065
    base, _, _, _ = u1
    train, val = base.random_split(0.1, seed=1)
    rmse = {k: fit(train, method="als", kind="biased", k=k, lam=10.0, n_iters=10, validation=val)[1].val_rmse[-1]
            for k in (5, 10)}
    assert 0.005 < rmse[10] - rmse[5] < 0.0065
    quoted("07", "about six thousandths of a star ahead of $k = 10$: just beyond the five thousandths")


# --------------------------------------------------------------------------- 06 evaluation and tuning

def test_06_user_bias_percentiles_as_printed():
    low, high = grab(printed("06", "user biases of the biases rung"),
                     r"10th percentile NUMBER, 90th percentile NUMBER stars")
    assert abs(low + 0.5) < 0.06 and abs(high - 0.4) < 0.05
    quoted("06", "one user in ten rates everything about half a star or more below the average, another one in ten "
                 "about 0.4 stars or more above it: the percentiles printed above")


def test_06_low_prediction_shares_are_printed_as_quoted():
    low, ones = grab(printed("06", "predictions below 2.5:"),
                     r"predictions below 2.5: NUMBER% of all, NUMBER% of those for a true 1")
    quoted("06", f"only {low:.1f}% of all the u1.test predictions are below 2.5")
    quoted("06", f"fewer than half ({ones:.1f}%) are predicted below 2.5 (both shares printed above)")


def test_06_fold_spread_is_the_sample_standard_deviation():
    out = printed("06", "fold_rmse, fold_bias = [], []")
    folds = [float(v) for v in re.findall(r"matrix factorization (\d\.\d{4})$", out, re.M)]
    mean, sd = grab(out, r"\(ddof=1\): biases [\d.]+ \+/- [\d.]+, matrix factorization NUMBER \+/- NUMBER")
    assert len(folds) == 5 and abs(np.std(folds, ddof=1) - sd) < 2e-4 and abs(np.mean(folds) - mean) < 1e-4
    quoted("06", "report the mean and the (sample) standard deviation across the folds")


def test_06_surprise_and_best_compared_fold_by_fold():
    from scipy import stats

    from test_claims import ROOT
    text = (ROOT / "benchmarks" / "results_training.md").read_text(encoding="utf-8")

    def per_fold(name):
        row = re.search(rf"^\| {re.escape(name)} \|[^|]+\| [\d.]+ \| ([\d. ]+) \|", text, re.M)
        return np.array([float(v) for v in row.group(1).split()])

    surprise, best = per_fold("surprise SVD, tuned"), per_fold("BEST: als, biased")
    folds = printed("06", "fold_rmse, fold_bias = [], []")
    assert np.allclose([float(v) for v in re.findall(r"matrix factorization (\d\.\d{4})$", folds, re.M)], best)
    cell = [c for c in __import__("test_claims")._notebook("06")["cells"]
            if c["cell_type"] == "code" and "surprise_tuned = np.array(" in "".join(c["source"])]
    assert len(cell) == 1 and f"np.array([{', '.join(f'{v:.4f}' for v in surprise)}])" in "".join(cell[0]["source"])
    diff = surprise - best
    t = diff.mean() / (diff.std(ddof=1) / np.sqrt(5))
    p = 2 * stats.t.sf(t, df=4)
    out = printed("06", "paired t = ")
    assert grab(out, r"BEST lower on NUMBER of 5 folds") == np.sum(diff > 0) == 4
    assert grab(out, r"mean difference NUMBER") == pytest.approx(diff.mean(), abs=6e-5)
    assert grab(out, r"paired t = NUMBER") == pytest.approx(t, abs=0.1) and 0.05 < p < 0.15
    quoted("06", "`BEST` is lower on 4 of the 5 folds, by 0.0015 stars on average, but with a paired $t$ of "
                 f"{t:.1f} on 4 degrees of freedom ($p = {grab(out, r'p = NUMBER'):.2f}$) that is a hint, not a clear "
                 "difference")
    quoted("06", "have the same model form, $\\mu + b_i + b_{u,j}$, although `BaselineOnly` fits it with penalties")


def test_06_exercise_3_gap_of_k10_behind_k5(u1):
    base, _, _, _ = u1
    gaps = []
    for seed in (0, 1):
        train, val = base.random_split(0.1, seed=seed)
        r = {k: fit(train, method="als", kind="biased", k=k, lam=10.0, n_iters=10, validation=val)[1].val_rmse[-1]
             for k in (5, 10)}
        gaps.append(r[10] - r[5])
    quoted("06", f"is {gaps[0]:.4f} behind with seed 0 and {gaps[1]:.4f} with seed 1")


# --------------------------------------------------------------------------- 04 gradient checking

def test_04_fitted_slopes_as_printed_and_quoted():
    out = printed("04", "def fitted_slope(")
    fwd, cen = grab(out, r"truncation \(1e-4 <= eps <= 1e-2\): forward NUMBER, central NUMBER")
    fwd_r, cen_r = grab(out, r"round-off \(eps <= 1e-10\):\s+forward NUMBER, central NUMBER")
    assert abs(fwd - 1) < 0.05 and abs(cen - 2) < 0.05 and abs(fwd_r + 1) < 0.3 and abs(cen_r + 1) < 0.3
    quoted("04", f"gives {fwd:.2f} and {cen:.2f} on the truncation side and ${fwd_r:.1f}$ and ${cen_r:.1f}$ (noisy) "
                 "on the round-off side")
    quoted("04", "The black reference lines have the slopes Taylor predicts, 1, 2 and $-1$; only where they sit comes "
                 "from the data")


def test_04_directional_errors_against_the_small_problem():
    out = printed("04", "def directional_check(")
    errors = [float(e) for e in re.findall(r"direction \d: relative error (\S+)  pass", out)]
    small = [float(e) for e in re.findall(r"overall\s+relative error (\S+)", printed("04", "for lam_check in (0.0, 1.5):"))]
    assert len(errors) == 3 and len(small) == 2
    assert min(errors) < min(small) < max(small) < max(errors)         # "can be larger", not always
    assert f"{min(errors):.0e}" == "2e-11" and 5e-9 < max(errors) < 2e-8 and all(2.5e-11 < s < 3.5e-11 for s in small)
    quoted("04", "can be larger than on the small problem (here from $2\\times10^{-11}$ to $10^{-8}$, against about "
                 "$3\\times10^{-11}$ there)")


def test_04_exercises_are_numbered_in_order_and_machine_epsilon_has_its_subscript():
    text = prose("04")
    numbers = [int(n) for n in re.findall(r"\*\*Exercise (\d+)\.\*\*", text)]
    assert numbers == [1, 2, 3, 4, 5] and "Exercise (in this section)" not in text
    assert "u^{1/3}" not in text and "u_\\text{mach}^{1/3}" in text
    assert "e_\\ell = \\text{unit vector of entry } \\ell" in text
