"""Numbers and claims in the prose of notebook 13 (side information, factorization machines), pinned.

Two kinds of tests, as in ``test_claims_eval.py``: the prose quotes what the cell above it printed (the
stored outputs, which nbval keeps equal to a fresh run), and the central results (MF is an FM, the
cold-start ordering) are recomputed here from the data, so that a change in cflib that moves them fails
a test even before the notebook is re-executed.
"""

import re
from pathlib import Path

import numpy as np
import pytest

import cflib
from cflib.baselines import fit_baseline
from cflib.cold_start import cold_start_split, cold_start_user_split, genre_mean
from cflib.evaluate import evaluate
from cflib.features import build_features
from cflib.fm import FMModel
from cflib.train import BEST, fit

from stored_notebook import StoredNotebook, numbers

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "13_side_information.ipynb"

_NB = StoredNotebook(NOTEBOOK)
_cells, _prose, _printed, _numbers = _NB.cells, _NB.prose, _NB.printed, numbers


# ------------------------------------------------------------------ the prose quotes the outputs
QUOTES = [  # (code cell's first characters, printed text, the prose's words)
    ('space = build_features(train, "all", side)', "x has 529 nonzeros out of p = 5,355",
     "Of $p = 5{,}355$ features, 529 are on"),
    ("idx = space.indices", "relational blocks: 171,003 nonzeros", "stores 171,003 numbers"),
    ("idx = space.indices", "sparse design, one row per rating: 25,066,801 nonzeros", "a sparse design matrix would store 25 million"),
    ("fm_ids, fm_ids_history", "   15    31300.3    31362.2", "they are at 31,300 and 31,362"),
    ("fm_ids, fm_ids_history", "test RMSE on u1: als 0.9214, fm_als 0.9242", "Their test RMSEs, 0.9214 and 0.9242"),
    ("fm_ids, fm_ids_history", "(seeds 1, 2, 3): 0.9235, 0.9221, 0.9230", "(0.9214 to 0.9235 over seeds 0 to 3)"),
    ("rng = np.random.default_rng(0)", "cost 1,396,560 multiplications, the identity 10,580",
     "it needs 10,580 multiplications where the pairs of nonzeros need 1,396,560"),
    ("rng = np.random.default_rng(1)", "loss of this rating 0.2292 -> 0.1018", "lowers this rating's cost"),
    ("fit_part, val_part", "constant, lr = 0.3                    validation RMSE after epoch 1 1.0349, 6 1.0192, 12 1.0116; "
     "epochs 7-12 range 0.0174, rose in 3 of them", "rose in 3 of the epochs 7 to 12"),
    ("fit_part, val_part", "epochs 7-12 range 0.0143, rose in 0 of them", "the decaying step's in none (their ranges over those "
     "epochs, 0.0174 and 0.0143"),
    ("fit_part, val_part", "constant, lr = 0.05                   validation RMSE after epoch 1 0.9564, 6 0.9446, 12 0.9397; "
     "epochs 7-12 range 0.0062, rose in 1 of them",
     "nearly steady (it rose once in epochs 7 to 12) but slow, 0.9397 after 12 epochs"),
    ("fit_part, val_part", "validation RMSE after epoch 1 1.0349, 6 0.9371, 12 0.9182", "ends lowest, at 0.9182"),
    ("folds = (", "+ users who rated the movie     0.9186  0.9055  0.9053  0.9044  0.9074  0.9083 -0.0080   -0.0114 to -0.0048"
     "         5/5",
     "(−0.0080 in mean RMSE)"),
    ("folds = (", "+ genres, year                  0.9202  0.9106  0.9053  0.9055  0.9082  0.9100 -0.0063   -0.0096 to -0.0041"
     "         5/5",
     "the genres with the release year (−0.0063)"),
    ("folds = (", "+ movies the user rated         0.9244  0.9165  0.9115  0.9101  0.9110  0.9147 -0.0016   -0.0054 to -0.0002"
     "         5/5",
     "(−0.0016, also 5 of 5)"),
    ("folds = (", "+ user attributes               0.9313  0.9168  0.9178  0.9198  0.9198  0.9211 +0.0048",
     "(+0.0048 and +0.0103;"),
    ("folds = (", "+ rating week                   0.9386  0.9255  0.9200  0.9236  0.9252  0.9266 +0.0103   +0.0082 to +0.0130"
     "         0/5", "the week on every fold, +0.0082 to +0.0130"),
    ("folds = (", "+ user attributes               0.9313  0.9168  0.9178  0.9198  0.9198  0.9211 +0.0048   +0.0000 to +0.0091"
     "         0/5", "the attributes on four folds of five, and equal to four decimals on the fifth"),
    ("cs = cold_start_split", "FM: ids + genres + year, k = 5    RMSE on the 11,002 ratings of the 100 new movies: 1.0788",
     "(1.0788 against 1.0293)"),
    ("cs = cold_start_split", "FM: user + genres + year, k = 5   RMSE on the 11,002 ratings of the 100 new movies: 0.9809",
     "0.9809 against 1.0293 (biases only) and 1.0627 (genre mean)"),
    ("cs = cold_start_split", "FM: user + genres + year, k = 0   RMSE on the 11,002 ratings of the 100 new movies: 0.9735",
     "Its linear part alone is better still, 0.9735"),
    ("cu = cold_start_user_split", "FM: movie + attributes, k = 5   RMSE on the 11,340 ratings of the 100 new users: 1.1096",
     "(1.1096 against 1.0516)"),
    ("cu = cold_start_user_split", "FM: movie + attributes, k = 0   RMSE on the 11,340 ratings of the 100 new users: 1.0402",
     "beats both baselines, at 1.0402"),
    ("bayes = fit(", "100 most rated movies  (5,625 test ratings): mean predict_std 0.917, spread of the samples alone 0.213; "
     "RMSE 0.9047", "0.213 for the most rated movies and 0.475 for the new ones"),
    ("bayes = fit(", "100 new movies         (11,002 test ratings): mean predict_std 1.016, spread of the samples alone 0.475; "
     "RMSE 1.0170", "(1.0170 against 0.9047)"),
    ("bayes = fit(", "the noise alone, sqrt(mean 1/tau) = 0.889", "the same for every rating (0.889)"),
    ("bayes = fit(", "spread of the samples 0.335, 0.355, 0.363, 0.537, 0.327", "(0.327 to 0.537 for the first five users)"),
]


@pytest.mark.parametrize("marker, printed, words", QUOTES, ids=[w for _, _, w in QUOTES])
def test_nb13_prose_quotes_the_printed_figures(marker, printed, words):
    assert printed in _printed(marker)
    assert words in _prose()


def test_nb13_fm_of_best_is_best():
    out = _printed("mf, mf_history = fit")
    gap = float(re.search(r"on u1.test: ([\d.e+-]+)", out).group(1))
    J_mf, J_fm = (float(v) for v in re.findall(r"J of [^:]*: ([\d.]+)", out))
    assert gap < 1e-12 and J_mf == J_fm
    assert "predicts the same ratings to round-off and has the same $J$" in _prose()


def test_nb13_als_and_fm_als_fall_together_and_differ_like_seeds():
    out = _printed("fm_ids, fm_ids_history")
    rows = [_numbers(line) for line in out.splitlines()[1:6]]
    als, fm = [r[0] for r in rows], [r[1] for r in rows]
    assert all(a > b for a, b in zip(als, als[1:])) and all(a > b for a, b in zip(fm, fm[1:]))  # "still falling"
    assert abs(fm[-1] / als[-1] - 1) < 0.0025                                                  # "0.2 % apart"
    rmse_als, rmse_fm = _numbers(re.search(r"test RMSE on u1: .*", out).group(0))
    seeds = [rmse_als, *_numbers(re.search(r"seeds 1, 2, 3\): .*", out).group(0))]
    assert abs(rmse_fm - rmse_als) < 1.5 * (max(seeds) - min(seeds))  # "about as much as als differs from itself"
    assert "0.2 % apart and still falling" in _prose()


def test_nb13_identity_saves_a_factor_n_minus_1_over_4():
    out = _printed("rng = np.random.default_rng(0)")
    n = int(re.search(r"n = (\d+) nonzeros", out).group(1))
    pairs, identity = (int(v.replace(",", "")) for v in re.findall(r"cost ([\d,]+) multiplications, the identity ([\d,]+)",
                                                                   out)[0])
    assert pairs // identity == (n - 1) // 4 == 132 and "here 132" in _prose()
    assert abs(n * (n - 1) / 2 - 140_000) < 1_000 and "140,000 pairs per rating" in _prose()
    assert float(re.search(r"from the definition ([\d.e+-]+)", out).group(1)) < 1e-12


def test_nb13_cold_start_choice_made_on_validation():
    printed = _printed("val = cold_start_split")
    assert "(0 of them among the test's new movies)" in printed
    rows = {tuple(m.groups()[:3]): float(m.group(4)) for m in re.finditer(
        r"FM: (.+?), k = (\d), +(\d+) sweeps +validation RMSE (\d\.\d+)", printed)}
    assert len(rows) == 6
    with_id = [r for (f, _, _), r in rows.items() if f.startswith("ids")]
    without = [r for (f, _, _), r in rows.items() if not f.startswith("ids")]
    assert min(with_id) > max(without)             # "the FM with the movie id is worst, the id-free FMs best"
    for f, k in {(f, k) for f, k, _ in rows}:
        assert rows[f, k, "6"] < rows[f, k, "15"]                            # 6 sweeps preferred for every candidate
    assert min(rows[f, "0", s] for f, k, s in rows if k == "0") < min(rows[f, "5", s] for f, k, s in rows if k == "5" and not f.startswith("ids"))
    chosen = min(rows, key=rows.get)
    assert chosen == ("user + genres + year", "0", "6")
    m = re.search(r"chosen on validation: user \+ genres \+ year, k = 0, 6 sweeps; on the 100 new test movies RMSE "
                  r"(\d\.\d+), against biases only (\d\.\d+) and the genre mean (\d\.\d+)", printed)
    assert m and float(m.group(1)) < min(float(m.group(2)), float(m.group(3)))
    prose = _prose()
    assert "the FM with the movie id is worst, the id-free FMs best" in prose and "prefers 6 sweeps to 15 for every candidate" in prose
    assert f"does better still ({m.group(1)})" in prose


def test_nb13_new_movie_spread_is_that_of_the_new_movies():
    out = _printed("bayes = fit(")
    cold = float(re.search(r"100 new movies .*spread of the samples alone ([\d.]+)", out).group(1))
    known = float(re.search(r"100 most rated movies .*spread of the samples alone ([\d.]+)", out).group(1))
    mine = _numbers(out.split("spread of the samples ")[-1])
    assert 1.8 < cold / known < 2.4 and "about twice as large" in _prose()
    assert min(mine) > known and abs(np.mean(mine) - cold) < 0.1  # "a spread of the same size"
    assert "gets a spread of the same size" in _prose()


def test_nb13_gradient_checks_pass():
    for marker in ("rng = np.random.default_rng(1)", "small = cflib.make_synthetic"):
        errors = [float(v) for v in re.findall(r"(?:w0|w|V) (\d\.\de-\d+)", _printed(marker))]
        assert errors and max(errors) < 1e-7


def test_nb13_schedule_claims():
    lines = _printed("fit_part, val_part").splitlines()
    (big, small, decay) = [_numbers(line.split("validation RMSE")[1]) for line in lines]
    assert min(big[:3]) > 1.01 and big[0] == decay[0]            # "gets no lower than about 1.01", "starts as badly"
    assert decay[2] < min(small[2], big[2])                       # "ends lowest"
    assert "gets no lower than about 1.01" in _prose() and "starts as badly as the large constant one" in _prose()


def test_nb13_solver_order_on_u1():
    rmse = {line.split()[0]: float(line.split()[-1]) for line in _printed("side_groups = ").splitlines()}
    assert rmse["fm_mcmc"] < rmse["fm_als"] < rmse["fm_sgd"]
    assert "the sampler is best, then ALS, then SGD" in _prose()


def test_nb13_ablation_claims():
    out = _printed("folds = (")
    rows = {line[:30].strip(): _numbers(line[30:]) for line in out.splitlines()[1:]}
    assert len(rows) == 6
    for values in rows.values():
        assert np.argmax(values[:5]) == 0                          # u1 the hardest fold for every row
    ids = rows["ids"][:5]
    assert max(ids) - min(ids) > max(abs(v[6]) for v in rows.values())  # spread larger than most differences
    assert "u1 is the hardest fold for every row" in _prose()


def test_nb13_benchmark_figures_are_the_recorded_ones():
    readme = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    prose = _prose()
    assert "| fm_als, ids | 0.9129 |" in readme and "| ALS `BEST` (ids) | 0.9100 |" in readme
    assert "`fm_als` on ids gives a mean test RMSE of 0.9129 against `BEST`'s 0.9100" in prose
    assert "| fm_als, all | 0.8984 |" in readme and "| fm_sgd, all | 0.8984 |" in readme
    assert "| 3.21 s |" in readme and "| 7.11 s |" in readme and "(median fit 3.2 s and 7.1 s of CPU)" in prose
    assert "| fm_mcmc, ids | 0.8961 |" in readme and "against 0.8961 on ids alone" in prose
    # Section 10's table: the side-by-side run of bench_fm.py
    assert "| fm_mcmc, myFM set | **0.8830** | 0.8910 /" in readme and "| myFM, myFM set | 0.8831 | 0.8906 /" in readme
    assert "| 0.8830 (u1 0.8910) | 0.8831 (u1 0.8906) | 6.5 s / 8.0 s |" in prose
    assert "| **6.51 s** |" in readme and "| 8.01 s |" in readme
    assert "| fm_mcmc, all | **0.8782** | **0.8860** /" in readme and "| myFM, all | 0.8796 | 0.8855 /" in readme
    assert "| **0.8782** (u1 **0.8860**) | 0.8796 (u1 0.8855) | 9.6 s / 9.7 s |" in prose
    assert "| **9.64 s** |" in readme and "| 9.74 s |" in readme
    assert "`fm_mcmc` 0.8782 ($k = 10$, 200 sweeps, 9.6 s per fold" in prose
    assert "(0.8830 on u1..u5 with myFM's feature set, against 0.8961 on ids alone)" in prose
    assert "| ALS `BEST` (ids) | 0.9100 | 0.9214 /" in readme and "`BEST` on ids is 0.9214" in prose
    assert f"{0.8889 - 0.8860:.3f}" == "0.003" and f"{0.8860 - 0.8833:.3f}" == "0.003"
    assert "0.003 below GLocal-K's published 0.8889 and 0.003 above the 0.8833 quoted for myFM" in prose


# ------------------------------------------------------------------ recomputed from the data
@pytest.fixture(scope="module")
def u1(movielens):
    return cflib.load_split("u1", download=False)


@pytest.fixture(scope="module")
def side(movielens):
    from cflib.datasets import load_side_info
    return load_side_info(download=False, progress=False)


def test_nb13_best_copied_into_an_fm_predicts_the_same(u1):
    train, test = u1
    mf, history = fit(train, **BEST)
    ids = build_features(train, "ids")
    w, V = np.zeros(ids.n_features), np.zeros((ids.n_features, mf.k))
    w[ids.group_slices["user"]], V[ids.group_slices["user"]] = mf.user_bias, mf.Theta
    w[ids.group_slices["movie"]], V[ids.group_slices["movie"]] = mf.movie_bias, mf.X
    fm = FMModel(w0=mf.mu, w=w, V=V, space=ids)
    np.testing.assert_allclose(fm.predict(test.movies, test.users, clip=False),
                               mf.predict(test.movies, test.users, clip=False), atol=1e-12)


def test_nb13_cold_start_ordering(u1, side):
    """The FM that knows movies by their description beats biases only and the genre mean on new movies;
    the FM with movie ids does not beat biases only."""
    train, test = u1
    cs = cold_start_split(train, test, n_movies=100, seed=0)
    kw = dict(method="fm_als", side=side, lam=10.0, lam_bias=5.0, n_iters=15)
    r = {"biases": evaluate(fit_baseline(cs.train, "biases"), cs.cold)["rmse"],
         "genre mean": evaluate(genre_mean(cs.train, side), cs.cold)["rmse"],
         "content": evaluate(fit(cs.train, features=["user", "genres", "year"], k=5, **kw)[0], cs.cold)["rmse"],
         "hybrid": evaluate(fit(cs.train, features=["user", "movie", "genres", "year"], k=5, **kw)[0], cs.cold)["rmse"]}
    assert r["content"] < r["biases"] < r["genre mean"]
    assert r["hybrid"] > r["biases"]
    assert f"{r['content']:.4f}" == "0.9809" and f"{r['biases']:.4f}" == "1.0293" and f"{r['genre mean']:.4f}" == "1.0627"
    # the first run, with 6 sweeps, that the prose discloses: the same order
    kw["n_iters"] = 6
    first = [evaluate(fit(cs.train, features=f, k=5, **kw)[0], cs.cold)["rmse"]
             for f in (["user", "movie", "genres", "year"], ["user", "genres", "year"])]
    assert [f"{v:.4f}" for v in first] == ["1.0483", "0.9978"]
    assert first[1] < r["biases"] < first[0]
    assert "(6 sweeps gave the same order: 1.0483 with the movie id, 0.9978 without)" in _prose()


def test_nb13_new_users_list_led_by_large_movie_weights(u1, side):
    train, test = u1
    cu = cold_start_user_split(train, test, n_users=100, seed=0)
    model = fit(cu.train, method="fm_als", features=["movie", "age", "gender", "occupation", "zip"], side=side, k=5,
                lam=10.0, lam_bias=5.0, n_iters=15)[0]
    newcomer = model.with_new_user(age=30, gender="F", occupation="writer", zip="94110")
    top = np.argsort(-newcomer.predict_all()[:, train.n_users], kind="stable")[:5]
    w_movie = model.w[model.space.group_slices["movie"]]
    assert len(set(top) & set(np.argsort(-w_movie, kind="stable")[:20])) == 2
    # the order of the table (k = 0 < biases < k = 5 < attribute mean), and of the first run with 6 sweeps
    from cflib.cold_start import attribute_mean
    biases = evaluate(fit_baseline(cu.train, "biases"), cu.cold)["rmse"]
    attributes = evaluate(attribute_mean(cu.train, side), cu.cold)["rmse"]
    for n_iters in (15, 6):
        r = [evaluate(fit(cu.train, method="fm_als", features=["movie", "age", "gender", "occupation", "zip"], side=side,
                          k=k, lam=10.0, lam_bias=5.0, n_iters=n_iters)[0], cu.cold)["rmse"] for k in (0, 5)]
        assert r[0] < biases < r[1] < attributes
    assert "a first run with 6 sweeps, scored on these ratings, gave the same order" in _prose()
    assert "two of its five movies are among the 20 with the largest movie weights" in _prose()
    ranks = [int(v) for v in re.findall(r"weight rank (\d+)", _printed("cu = cold_start_user_split"))]
    assert len(ranks) == 5 and sorted(r for r in ranks if r <= 20) == [3, 17] and sorted(r for r in ranks if r > 20)[::2] == [146, 417]
    assert "(ranks 3 and 17: movies that rate well with everybody); the other three (ranks 146 to 417)" in _prose()


def test_nb13_exercise_answers_hold(u1, side):
    """Exercise 4's number and its parts, Exercise 5's validation choice and test figures, recomputed."""
    train, test = u1
    cs = cold_start_split(train, test, n_movies=100, seed=0)
    content = fit(cs.train, method="fm_als", features=["user", "genres", "year"], side=side, k=5, lam=10.0,
                  lam_bias=5.0, n_iters=15)[0]
    blank = content.with_new_movie(genres=(), year=None)
    names = list(blank.space.feature_names)
    u, y = names.index("user:1"), names.index("year:unknown")
    parts = (blank.w0, blank.w[u], blank.w[y], blank.V[u] @ blank.V[y])
    assert np.isclose(sum(parts), blank.predict([train.n_movies], [0], clip=False)[0])
    said = "for user 1, 3.36 stars = 3.52 ($w_0$) + 0.11 (the user's weight) − 0.25 (the weight of year `unknown`) − 0.02"
    assert [f"{abs(v):.2f}" for v in (sum(parts), *parts)] == ["3.36", "3.52", "0.11", "0.25", "0.02"] and said in _prose()
    fit_part, val_part = train.random_split(0.1, seed=0)
    settings = dict(method="fm_als", k=5, lam_bias=5.0, n_iters=6, side=side)
    got = {}
    for name, groups in (("ids", ["user", "movie"]), ("week", ["user", "movie", "date"])):
        val = {lam: evaluate(fit(fit_part, features=groups, lam=lam, **settings)[0], val_part)["rmse"] for lam in (3.0, 10.0, 30.0)}
        lam = min(val, key=val.get)
        got[name] = (lam, val[lam], evaluate(fit(train, features=groups, lam=lam, **settings)[0], test)["rmse"])
    assert got["ids"][0] == got["week"][0] == 10.0 and got["week"][2] > got["ids"][2]
    assert (f"{got['ids'][1]:.4f}", f"{got['week'][1]:.4f}", f"{got['week'][2]:.4f}", f"{got['ids'][2]:.4f}") == \
        ("0.9207", "0.9290", "0.9386", "0.9299")
    assert "(0.9207 for ids, 0.9290 with the week), so on u1.test the week still hurts: 0.9386 against 0.9299" in _prose()
