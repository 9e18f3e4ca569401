"""Numbers and claims in the prose of notebook 14 (evaluation protocols), pinned.

Two kinds of tests: the prose quotes what the cell above it printed (the stored outputs, which nbval
keeps equal to a fresh run), and the central results are recomputed here from the data, so that a
change in cflib that moves them fails a test even before the notebook is re-executed.
"""

import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import cflib
from cflib.bpr import fit_bpr
from cflib.popularity import fit_popularity
from cflib.protocols import expected_sampled_metrics, full_table, leave_last_out, sample_negatives, sampled_table
from cflib.ranking import ranking_table
from cflib.significance import compare_users, per_user
from cflib.train import fit

from stored_notebook import StoredNotebook, numbers

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "14_evaluation_protocols.ipynb"


_NB = StoredNotebook(NOTEBOOK)
_cells, _prose, _printed, _numbers = _NB.cells, _NB.prose, _NB.printed, numbers

# ------------------------------------------------------------------ the prose quotes the outputs
QUOTES = [  # (code cell's first characters, printed text, the prose's words)
    ("data = cflib.load_movielens", "1,576 on average", "1,576 on average"),
    ("data = cflib.load_movielens", "sampled movies the user had rated: 0", "no sampled movie was rated by its user"),
    ("loo_models = ", "EASE        HR@10 full 0.0859  sampled 0.6013", "(HR@10 0.6013)"),
    ("loo_models = ", "EASE        HR@10 full 0.0859  sampled 0.6013", "for 8.6 % of them (0.0859)"),
    ("def five_models", "EASE             0.3768       0.4476       0.5691          0.6707",
     "NDCG@10 0.4476 against 0.3948, P@10 0.3768 against 0.3410"),
    ("def five_models", "BPR              0.3410       0.3948       0.5945          0.6940",
     "BPR 0.6940 against 0.6707 in NDCG@10, 0.5945 against 0.5691 in P@10"),
    ("for protocol in", "sampled: BPR - EASE NDCG@10 = +0.0233", "(+0.0233, interval clear of 0)"),
    ("for protocol in", "full: BPR - EASE NDCG@10 = -0.0528", "(−0.0528)"),
    ("print(f\"{'model':<11} {'full AUC'", "EASE          0.8640      0.8648        0.6013           0.5934",
     "(0.5934 and 0.3148)"),
    ("print(f\"{'model':<11} {'full AUC'", "popularity    0.7527      0.7529        0.3118           0.3148",
     "(HR@10 0.6013 and 0.3118)"),
    ("M, n_neg, N = 1600", "AUC 0.95: expected sampled HR@10 0.976", "a sampled hit 97.6 % of the time (0.976)"),
    ("M, n_neg, N = 1600", "AUC 0.90: expected sampled HR@10 0.447", "a little under half the time (0.447)"),
    ("for a_name, b_name in ((\"implicit ALS\"", "implicit ALS - EASE, NDCG@10: u1 +0.0137 [+0.0001, +0.0273]",
     "the lower end of the interval of the difference is +0.0001"),
    ("for a_name, b_name in ((\"implicit ALS\"", "corrected p 0.025, won 5/5", "p-value is 0.025"),
    ("for a_name, b_name in ((\"implicit ALS\"", "implicit ALS - EASE, NDCG@10: u1 +0.0137 [+0.0001",
     "(implicit ALS − EASE: +0.0137 in NDCG@10 on u1, an interval just clear of 0, section 5)"),
    ("n_relevant = {f:", "u1 24.6, u2 17.4, u3 13.0, u4 12.3, u5 12.5",
     "24.6 of them in u1, against 17.4 in u2 and 12.3 to 13.0 in u3..u5"),
    ("S = u1_models[\"EASE\"]", "mean sampled R@10 of EASE on u1 = 0.4177 (section 2's sampled_table: 0.4177)",
     "from 0.4177 to 0.5099"),
    ("S = u1_models[\"EASE\"]", "among the candidates: 0.5099", "from 0.4177 to 0.5099"),
    ("names = [\"implicit ALS\"", "implicit ALS      0.389 [0.365, 0.414]     0.461 [0.436, 0.487]",
     "overlap widely (0.436 to 0.487 and 0.424 to 0.471)"),
    ("names = [\"implicit ALS\"", "EASE              0.377 [0.353, 0.400]     0.448 [0.424, 0.471]",
     "overlap widely (0.436 to 0.487 and 0.424 to 0.471)"),
    ("for a_name, b_name in ((\"implicit ALS\"", "EASE - BPR, NDCG@10: u1 +0.0528 [+0.0360, +0.0700], Wilcoxon p 2.3e-08; "
     "5 folds +0.0614", "(+0.0614 over the folds)"),
]


@pytest.mark.parametrize("marker, printed, words", QUOTES, ids=[w for _, _, w in QUOTES])
def test_nb14_prose_quotes_the_printed_figures(marker, printed, words):
    assert printed in _printed(marker)
    assert words in _prose()


def test_nb14_benchmark_bpr_figure_is_the_recorded_one():
    readme = (Path(__file__).resolve().parents[1] / "benchmarks" / "README.md").read_text(encoding="utf-8")
    assert "| u1 | BPR | 0.357 [" in readme and "reaches a P@10 of 0.357 on u1" in _prose()
    assert "(k 64, λ 0.03, lr 0.05, 60 epochs, batch 256" in readme and "(60 epochs in batches of 256, step 0.05)" in _prose()
    assert "500, 350, 750, 350, 500 on u1..u5" in readme and "would be 350 to 750" in _prose()
    assert "BPR              0.3410" in _printed("def five_models")
    assert "against 0.341 here" in _prose()


def test_nb14_sampled_is_seven_times_full_and_the_reversal_is_about_twice():
    prose = _prose()
    out = _printed("loo_models = ")
    full, sampled = (float(v) for v in re.search(r"EASE\s+HR@10 full ([\d.]+)\s+sampled ([\d.]+)", out).groups())
    assert round(sampled / full) == 7 and "a factor of seven" in prose
    rev = _printed("for protocol in")
    s, f = (float(v) for v in re.findall(r"NDCG@10 = ([-+][\d.]+)", rev))
    assert s > 0 > f and 1.8 < -f / s < 2.6 and "about twice as large" in prose
    lows_highs = re.findall(r"CI \[([-+][\d.]+), ([-+][\d.]+)\]", rev)
    assert float(lows_highs[0][0]) > 0 and float(lows_highs[1][1]) < 0  # "Both differences are clear of 0"
    users = [sum(int(v) for v in re.findall(r"(?:for|tied) (\d+)", line)) for line in rev.splitlines()]
    assert users[0] == users[1] and 440 < users[0] < 480  # "one fold of about 460 users"
    assert "one fold of about 460 users" in prose


def test_nb14_only_bpr_and_ease_reverse_among_the_five():
    out = _printed("def five_models")
    rows = {line[:13].strip(): _numbers(line[13:]) for line in out.splitlines()[1:]
            if line.strip() and not line.startswith("full AUC on u1")}
    flips = {(a, b) for a in rows for b in rows if a < b for col in ((0, 2), (1, 3))
             if (rows[a][col[0]] - rows[b][col[0]]) * (rows[a][col[1]] - rows[b][col[1]]) < 0}
    assert flips == {("BPR", "EASE")}
    assert "The other pairs keep their order here" in _prose()


def test_nb14_sampled_auc_and_one_draw_are_close_to_their_expectations():
    out = _printed("print(f\"{'model':<11} {'full AUC'")
    for line in out.splitlines()[1:]:
        full_auc, sampled_auc, hr, expected_hr = _numbers(line)
        assert abs(full_auc - sampled_auc) < 0.001 and abs(hr - expected_hr) < 0.01
    assert "within 0.001 of the full AUC" in _prose() and "within 0.01 of the exact expectation" in _prose()


def test_nb14_ladder_steps_are_all_significant():
    out = _printed("steps = [")
    rows = [_numbers(line[24:]) for line in out.splitlines()[1:]]
    assert len(rows) == 5
    for diff, low, high, half, wilcoxon_p, fold_diff, t_p, corrected_p in rows:
        assert (low > 0 or high < 0) and np.sign(diff) == np.sign(fold_diff)
        assert corrected_p < 0.01 and wilcoxon_p < 2e-9
    assert all(w in ("5/5", "0/5") for w in re.findall(r"(\d/5)", out))
    halves = [r[3] for r in rows]
    assert f"{min(halves):.3f}" == "0.012" and f"{max(halves):.3f}" == "0.017"
    prose = _prose()
    assert "half-widths of the u1 intervals are 0.012 to 0.017" in prose
    assert "half-widths of the ladder's intervals in P@10 are 0.012 to 0.017" in prose  # the Summary
    assert "largest Wilcoxon p-value is about $10^{-9}$" in prose and "corrected p below 0.01" in prose


def test_nb14_fold_order_u1_easiest_and_spread_beyond_the_intervals():
    out = _printed("names = [\"implicit ALS\"")
    per_fold = {}
    for line in out.split("fold by fold")[1].splitlines()[1:]:
        if line.strip():
            values = [float(v) for v in re.findall(r"u\d ([\d.]+)", line)]
            per_fold[line[:13].strip()] = (np.array(values), float(re.search(r"widest interval ([\d.]+)", line).group(1)))
    order = ["EASE", "BPR", "popularity", "BEST"]
    for f in range(5):  # "The order is the same on every fold": the two leaders, then BPR, popularity, BEST
        assert min(per_fold["implicit ALS"][0][f], per_fold["EASE"][0][f]) > per_fold["BPR"][0][f]
        assert all(per_fold[a][0][f] > per_fold[b][0][f] for a, b in zip(order[1:], order[2:]))
    for values, widest in per_fold.values():
        assert values.argmax() == 0                    # u1 is the easiest fold for every model
        assert values.max() - values.min() > widest    # spread larger than the width of any interval
    assert "u1 is the easiest fold for every model" in _prose()


# ------------------------------------------------------------------ recomputed from the data
@pytest.fixture(scope="module")
def loo(movielens):
    train, test = leave_last_out(cflib.load_movielens("100k", download=False))
    return train, test


def test_nb14_leave_last_out_full_against_sampled(loo):
    train, test = loo
    negatives = sample_negatives(train, test, 100, seed=0, relevant_min=0.0)
    ease = fit(train, method="ease", lam=500.0)[0]
    full = full_table(ease, train, test, relevant_min=0.0)
    sampled = sampled_table(ease, train, test, negatives=negatives, relevant_min=0.0)
    assert f"{full['hit'].mean():.4f}" == "0.0859" and f"{sampled['hit'].mean():.4f}" == "0.6013"
    expected = expected_sampled_metrics(ease, train, test, n_negatives=100, relevant_min=0.0)
    assert f"{expected['hit'].mean():.4f}" == "0.5934" and f"{expected['auc'].mean():.4f}" == "0.8640"
    pop = fit_popularity(train)
    assert f"{full_table(pop, train, test, relevant_min=0.0)['hit'].mean():.4f}" == "0.0498"


def test_nb14_relevant_test_movies_per_user_recomputed(movielens):
    means = {}
    for fold in ("u1", "u2", "u3", "u4", "u5"):
        _, test = cflib.load_split(fold, download=False)
        per_user = np.bincount(test.users[test.ratings >= 4], minlength=test.n_users)
        means[fold] = f"{per_user[per_user > 0].mean():.1f}"
    assert means == {"u1": "24.6", "u2": "17.4", "u3": "13.0", "u4": "12.3", "u5": "12.5"}
    train, test = cflib.load_split("u1", download=False)
    table = ranking_table(fit(train, method="ease", lam=500.0)[0], train, test)
    assert f"{table['n_relevant'].mean():.1f}" == "24.6"
    assert table["precision"][table["n_relevant"] > 40].mean() > table["precision"][table["n_relevant"] <= 5].mean() + 0.4


def test_nb14_exercise_1_with_and_without_the_test_movies_rated_below_4(movielens):
    from cflib.checks.evaluation import sampled_recall
    train, test = cflib.load_split("u1", download=False)
    ease = fit(train, method="ease", lam=500.0)[0]
    users, negatives = sample_negatives(train, test, 100, seed=0)
    S = ease.predict_all(clip=False)
    relevant = {u: test.movies[(test.users == u) & (test.ratings >= 4)] for u in users}
    below_4 = {u: test.movies[(test.users == u) & (test.ratings < 4)] for u in users}
    with_them = np.array([sampled_recall(S[:, u], relevant[u], np.append(row, below_4[u]), 10)
                          for u, row in zip(users, negatives)])
    without = np.array([sampled_recall(S[:, u], relevant[u], row, 10) for u, row in zip(users, negatives)])
    table = sampled_table(ease, train, test, negatives=(users, negatives))
    np.testing.assert_allclose(with_them, table["recall"])   # section 2's protocol, user by user
    assert f"{with_them.mean():.4f}" == "0.4177" and f"{without.mean():.4f}" == "0.5099"


def test_nb14_reversal_recomputed_on_u1(movielens):
    train, test = cflib.load_split("u1", download=False)
    ease = fit(train, method="ease", lam=500.0)[0]
    bpr = fit_bpr(train, n_iters=30, batch_size=1024, lr=0.1, seed=0)[0]
    negatives = sample_negatives(train, test, 100, seed=0)
    sampled = compare_users(*per_user(sampled_table(bpr, train, test, negatives=negatives),
                                      sampled_table(ease, train, test, negatives=negatives), "ndcg"))
    full = compare_users(*per_user(ranking_table(bpr, train, test), ranking_table(ease, train, test), "ndcg"))
    assert sampled.low > 0 and full.high < 0
    assert f"{sampled.difference:+.4f}" == "+0.0233" and f"{full.difference:+.4f}" == "-0.0528"


def test_nb14_hypergeometric_hit_probabilities():
    M, n_neg, N = 1600, 100, 10    # pool, sampled movies, list length
    assert f"{stats.hypergeom(M, round(0.10 * M), n_neg).cdf(N - 1):.3f}" == "0.447"
    assert f"{stats.hypergeom(M, round(0.05 * M), n_neg).cdf(N - 1):.3f}" == "0.976"
    assert "97.6 % of the time" in _prose()
    # a full hit needs ell <= N - 1: an AUC of at least 1 - 9/1600, the legend's 0.9944
    assert f"{1 - (N - 1) / M:.4f}" == "0.9944" and "an AUC of at least $1 - 9/1600 \\approx 0.9944$" in _prose()
    # E[1 - L/n_neg] = 1 - ell/M: the sampled AUC is unbiased
    ell = 240
    L = stats.hypergeom(M, ell, n_neg)
    assert np.isclose(1 - L.mean() / n_neg, 1 - ell / M)


def test_nb14_vocabulary_follows_the_glossary():
    """N is the list length, k the latent features, X the movie features (README glossary); no letter means two things."""
    prose = _prose()
    for old in ("$N = 100$", "HR@$k$", "HR@k", "NDCG@k", "recall@k", "top $k$", "$X = R^T", "X^TX", "$a_u$", "$b_u$",
                "$a \\le 9$", "Hypergeom}(M, a, N)", "$P = (G", "B = I - P"):
        assert old not in prose, old
    for new in ("$n_{\\text{neg}} = 100$", "HR@$N$ is the share of users whose held-out movie is in the top $N$",
                "the code's argument `k` of `cflib.ranking` and `cflib.protocols` is $N$",
                "$R^\\top$ (users × movies; Steck and `cflib.ease` call it $X$", "$Q = (G + \\lambda I)^{-1}$",
                "$d_u = s_u - s'_u$", "L \\sim \\mathrm{Hypergeom}(M, \\ell, n_{\\text{neg}})",
                "943 held-out ratings: one per user"):
        assert new in prose, new
    (figure,) = ["".join(c["source"]) for c in _cells() if "".join(c["source"]).startswith("M, n_neg, N = 1600")]
    assert 'label=f"sampled HR@{N}, {n_neg} sampled movies (expected)"' in figure  # the legend


def _grouped(out, label):
    """{model: values by group} of one block of the cell that groups users by their relevant test movies."""
    block = out.split(f"{label} by the number")[1].split("\n\n")[0].splitlines()
    names = re.split(r"\s{2,}", block[1].split("users", 1)[1].strip())
    rows = [_numbers(line.split(maxsplit=3)[3]) for line in block[2:] if line.strip()]
    return {name: [row[j] for row in rows] for j, name in enumerate(names)}


def test_nb14_metrics_rise_with_the_number_of_relevant_test_movies():
    out = _printed("n_relevant = {f:")
    for label in ("P@10", "NDCG@10"):
        grouped = _grouped(out, label)
        assert set(grouped) == {"implicit ALS", "EASE", "BPR", "popularity", "BEST"}
        for name, values in grouped.items():  # "for every model both P@10 and NDCG@10 rise with that count"
            assert all(a < b for a, b in zip(values, values[1:])), (label, name, values)
    ease = _grouped(out, "P@10")["EASE"]
    assert f"(EASE's P@10 from {ease[0]:.3f} to {ease[-1]:.3f})" == "(EASE's P@10 from 0.107 to 0.669)"
    assert "(EASE's P@10 from 0.107 to 0.669)" in _prose() and "from the users with 1 to 5 relevant" in _prose()
    assert "1 to 5 " in out and "41 to " in out and "those with more than 40" in _prose()


def test_nb14_bpr_has_the_higher_full_auc_on_u1_while_ease_leads_at_the_top():
    """Section 3: 'on u1 BPR's full AUC is a little higher than EASE's (printed in section 2), while EASE puts
    more relevant movies at the very top'."""
    out = _printed("def five_models(train):")
    ease, bpr = (float(v) for v in re.findall(r"full AUC on u1 \(section 3\): EASE (\d\.\d{4}), BPR (\d\.\d{4})", out)[0])
    assert 0 < bpr - ease < 0.01
    assert "on u1 BPR's full AUC is a little higher than EASE's (printed in section 2)" in _prose()
