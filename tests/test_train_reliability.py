"""Issue 12 and issue 10 guards for training, evaluation, recommendation and the widgets.

Each test names the case it closes; every one asserts a value or a message.
"""

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cflib  # noqa: E402
from cflib import als, trainers  # noqa: E402
from cflib import rating_widget as RW  # noqa: E402
from cflib import widgets as W  # noqa: E402
from cflib.baselines import DEFAULT_LAM_BIAS, BaselineModel, BiasedPredictor, fit_baseline  # noqa: E402
from cflib.evaluate import evaluate  # noqa: E402
from cflib.history import History, history_diverged, is_diverged  # noqa: E402
from cflib.ratings import ratings_by_title  # noqa: E402
from cflib.recommend import fold_in, fold_in_user, recommend  # noqa: E402
from cflib.train import BEST, COURSE, DEFAULT_LR, DEFAULT_N_ITERS, MFModel, fit  # noqa: E402


@pytest.fixture(scope="module")
def data():
    return cflib.make_synthetic(60, 40, 3, density=0.3, noise=0.3, seed=1)


@pytest.fixture(scope="module")
def split():
    return cflib.make_synthetic(40, 30, k=3, density=0.3, seed=3).random_split(0.2, seed=0)


# ---------------------------------------------------------- names and defaults
def test_fit_takes_kind_and_explains_the_old_model_keyword(data):
    m, h = fit(data, k=2, kind="normalized", n_iters=3)
    assert m.kind == "normalized" and h.kind == "normalized"
    assert BEST["kind"] == "biased" and COURSE["kind"] == "normalized"
    assert "model" not in BEST and "model" not in COURSE
    with pytest.raises(TypeError, match=r"kind='normalized' instead of model='normalized'"):
        fit(data, model="normalized")
    with pytest.raises(TypeError, match="method 'als' does not use epochs"):
        fit(data, epochs=3)
    with pytest.raises(TypeError, match="kind="):
        W.TrainingExplorer(*data.random_split(0.2, seed=0), model="biased")


def test_bias_regularization_has_one_name_and_one_default(data):
    assert DEFAULT_LAM_BIAS == 5.0
    assert cflib.train.DEFAULT_LAM_BIAS is DEFAULT_LAM_BIAS or cflib.train.DEFAULT_LAM_BIAS == 5.0
    assert fit_baseline(data, "biases").lam_bias == DEFAULT_LAM_BIAS
    m, _ = fit(data, k=1, n_iters=2)
    assert m.lam_bias == DEFAULT_LAM_BIAS
    assert fit_baseline(data, "movie").lam_bias == 0.0  # the plain movie mean
    with pytest.raises(TypeError, match="lam_bias"):
        fit_baseline(data, "biases", lam=3.0)
    with pytest.raises(ValueError, match="lam_bias"):
        fit(data, lam_bias=-1.0)


def test_one_predict_for_baselines_and_factor_models(data):
    b = fit_baseline(data, "biases")
    m, _ = fit(data, k=0, kind="biased", n_iters=3)
    assert isinstance(b, BiasedPredictor) and isinstance(m, BiasedPredictor)
    assert BaselineModel.predict is MFModel.predict and BaselineModel.predict_all is MFModel.predict_all
    assert b.X.shape == (data.n_movies, 0) and b.Theta.shape == (data.n_users, 0)
    np.testing.assert_allclose(b.predict(data.movies, data.users), b.predict_all()[data.movies, data.users])


def test_evaluate_no_longer_reexports_fit_baseline():
    import cflib.evaluate as ev

    assert not hasattr(ev, "fit_baseline") or "fit_baseline" not in ev.__all__
    assert "BaselineModel" not in ev.__all__


def test_ratings_by_title_lives_in_ratings(movielens):
    mine = ratings_by_title(movielens, RW.EXAMPLE_RATINGS)
    assert len(mine) == len(RW.EXAMPLE_RATINGS)
    assert movielens.titles[next(iter(mine))] == "Star Wars (1977)"
    with pytest.raises(KeyError, match="Star Wars"):
        ratings_by_title(movielens, {"Star Wars": 5})
    with pytest.raises(TypeError, match="titles"):
        ratings_by_title(movielens, {50: 5})
    assert not hasattr(W, "ratings_by_title")


# ------------------------------------------------------------ the ridge solve
def test_one_ridge_solve_for_als_and_fold_in(data):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((data.n_movies, 3))
    movies = np.array([1, 5, 9, 20])
    r = np.array([0.5, -1.0, 1.5, 0.0])
    theta = fold_in(X, movies, r, 2.0)
    sides = als.RowSystems(np.zeros(4, dtype=int), movies, 1, data.n_movies)
    W_als = sides.solve(X, r, 2.0)
    np.testing.assert_allclose(theta, W_als[0], rtol=1e-12)
    # Singular (lam = 0, fewer ratings than features): the same minimum-norm answer on both paths.
    t0 = fold_in(X, movies[:2], r[:2], 0.0)
    w0 = als.RowSystems(np.zeros(2, dtype=int), movies[:2], 1, data.n_movies).solve(X, r[:2], 0.0)[0]
    np.testing.assert_allclose(t0, np.linalg.pinv(X[movies[:2]]) @ r[:2], atol=1e-10)
    np.testing.assert_allclose(t0, w0, atol=1e-10)


def test_row_systems_index_dtype_follows_the_sizes():
    assert als.index_dtype(100_000, 1682, 943) is np.int32
    assert als.index_dtype(2**31 - 1, 10, 10) is np.int32
    assert als.index_dtype(2**31, 10, 10) is np.int64  # past 2**31 entries int32 would wrap
    assert als.index_dtype(10, 10, 2**31) is np.int64
    sides = als.RowSystems(np.array([0, 1, 1]), np.array([2, 0, 1]), 2, 3)
    assert sides.indptr.dtype == np.int32 and sides.indices.dtype == np.int32


# -------------------------------------------------------------- divergence
def test_one_divergence_rule():
    assert not is_diverged([5.0, 4.0, 3.0], 6.0)
    assert is_diverged([5.0, 7.0], 6.0)            # ends above the start
    assert is_diverged([5.0, np.inf], 6.0)         # non-finite
    assert is_diverged([5.0, 4.0], 6.0, flagged=True)
    assert not is_diverged([], 6.0)
    assert is_diverged([5.0, 7.0], float("nan"))   # the first cost stands in for the start
    assert history_diverged({"cost": [1.0, np.nan]}) and not history_diverged(History(cost=[2.0, 1.0]))


@pytest.mark.parametrize("method", ["als", "lbfgs", "gd", "momentum"])
def test_every_method_reports_divergence_the_same_way(data, method):
    with pytest.warns(RuntimeWarning, match=f"{method} diverged"):
        m, h = fit(data, k=3, init_scale=1e200, n_iters=3, method=method)
    assert h.diverged
    assert np.all(np.isfinite(m.X)) and np.all(np.isfinite(m.Theta))
    assert all(np.isfinite(h.cost))


def test_als_divergence_from_a_huge_initialization_on_movielens(movielens):
    train, _ = cflib.load_split("u1")
    with pytest.warns(RuntimeWarning, match="als diverged"):
        m, h = fit(train, init_scale=1e200, n_iters=3)
    assert h.diverged and np.all(np.isfinite(m.X))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(method="gd", lr="0.1"), TypeError, "lr must be a real number.*without quotes"),
        (dict(method="momentum", momentum="0.9"), TypeError, "momentum must be a real number"),
        (dict(seed=-1), ValueError, "seed must be an integer >= 0"),
        (dict(seed=1.5), TypeError, "seed must be an integer"),
        (dict(method="gd", lr=float("nan")), ValueError, "lr must be a finite number"),
        (dict(lam=float("nan")), ValueError, "lam must be a finite number"),
        (dict(init_scale=0.0), ValueError, "init_scale"),
    ],
)
def test_fit_refuses_non_numbers_with_the_argument_name(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        fit(data, **kwargs)


# ------------------------------------------------------------ evaluate, recommend
def test_evaluate_checks_the_test_shape(data):
    m, _ = fit(data, k=2, n_iters=3)
    other = cflib.make_synthetic(20, 10, 2, seed=0)
    with pytest.raises(ValueError, match=r"test has shape \(20, 10\).*trained on \(60, 40\)"):
        evaluate(m, other)
    with pytest.raises(ValueError, match="test has shape"):
        evaluate(fit_baseline(data), other)
    with pytest.raises(TypeError, match="test must be a cflib.Ratings"):
        evaluate(m, np.zeros(3))
    assert evaluate(m, data)["rmse"] < 1.5


@pytest.mark.parametrize("bad, error, match", [
    ({3.7: 5}, TypeError, "integer movie indices, got float 3.7"),
    ({"12": 5}, TypeError, "string '12'.*ratings_by_title"),
    ({True: 5}, TypeError, "integer movie indices, got bool"),
    ({"Star Wars (1977)": 5}, TypeError, "ratings_by_title"),
    ({np.float64(2.0): 5}, TypeError, "integer movie indices"),
    ({2: "5"}, TypeError, "values must be numbers"),
])
def test_recommend_takes_integer_ids_only(data, bad, error, match):
    m, _ = fit(data, k=2, n_iters=3)
    with pytest.raises(error, match=match):
        recommend(m, bad)
    with pytest.raises(error, match=match):
        fold_in_user(m, bad)


def test_recommend_accepts_numpy_integer_ids(data):
    m, _ = fit(data, k=2, n_iters=3)
    assert recommend(m, {np.int64(3): 5.0}, n=3) == recommend(m, {3: 5.0}, n=3)


# ------------------------------------------------------------------ widgets
def _image(out):
    assert len(out.outputs) == 1
    return out.outputs[0]["data"]["image/png"]


def test_explorer_issue_case_draws_and_says_diverged(movielens):
    """The exact setting of issue 12 (u1, gd, lam=10**2.5, lr=10**-1.25): no OverflowError."""
    train, _ = cflib.load_split("u1")
    tr, val = train.random_split(0.1, seed=0)
    e = W.TrainingExplorer(tr, val, method="gd", k=10, lam=10**2.5, lr=10**-1.25, n_iters=30)
    assert e.lr.value == pytest.approx(0.05)  # 10**-1.25 = 0.056: the nearest step offered
    assert "diverged" in e.readout.value and _image(e.out)
    assert e.history.diverged
    e.lr.value = 0.002  # the controls keep working
    assert "diverged" not in e.readout.value


def test_explorer_step_sizes_reach_the_values_the_notebooks_use(split):
    train, val = split
    e = W.TrainingExplorer(train, val, k=2, n_iters=3, method="gd", lr=0.002)
    assert {0.002, 0.005, 0.01, 0.02, 0.025, 0.03} <= {v for _, v in e.lr.options}
    for lr in (0.002, 0.005, 0.03):
        e.lr.value = lr
        assert e.settings()["lr"] == lr and e.history.method == "gd"


def test_explorer_readout_never_prints_a_huge_number():
    train, val = cflib.make_synthetic(100, 300, k=3, density=0.5, seed=4).random_split(0.2, seed=0)
    e = W.TrainingExplorer(train, val, k=3, n_iters=30, method="gd", lr=1e-4)
    e.lr.value = 0.1
    text = e.readout.value
    assert "diverged" in text
    digits = max(len(run) for run in "".join(c if c.isdigit() else " " for c in text).split())
    assert digits <= 6, text


def test_explorer_cost_axis_is_clipped_after_a_divergence():
    import matplotlib.pyplot as plt

    from cflib.plots import plot_cost_curves

    h = History(cost=[50.0, 40.0, 1e30, 3.9e275], initial_cost=60.0, diverged=True)
    ax = plot_cost_curves({"gd": h})
    lo, hi = ax.get_ylim()
    assert hi <= 60.0 * 3.0 + 1e-9 and lo > 0  # clipped near the start, not 1e275
    assert any("off the scale" in t.get_text() for t in ax.texts)
    ax.figure.canvas.draw()  # the log axis can be drawn
    plt.close(ax.figure)


def test_explorer_survives_bad_values_and_keeps_working(split):
    train, val = split
    e = W.TrainingExplorer(train, val, k=2, n_iters=3, method="gd")
    runs = e.runs
    e.seed = -1  # a setting fit refuses: the readout says why, nothing raises
    e.k.value = 3
    assert "cannot train" in e.readout.value and "seed" in e.readout.value and e.runs == runs
    e.seed = 0
    e.k.value = 2
    assert "validation RMSE" in e.readout.value and e.runs == runs + 1
    e.lam.value = float("nan")  # NaN reaches the slider: the readout says why, controls keep working
    assert "cannot train" in e.readout.value and "lam must be a finite number" in e.readout.value
    e.lam.value = 1.0
    assert "validation RMSE 0." in e.readout.value and e.runs == runs + 2
    with pytest.raises(Exception, match="Invalid selection"):
        e.lr.value = float("nan")  # the step-size control only takes its own values
    with pytest.raises(ValueError, match="lam"):
        W.TrainingExplorer(train, val, lam=float("nan"))
    with pytest.raises(ValueError, match="lr"):
        W.TrainingExplorer(train, val, lr=float("nan"))


def _sweep(e, slider, values):
    """Set each value in turn; every run draws, and a diverged run says so. Returns the diverged flags."""
    flags = []
    for v in values:
        slider.value = v
        assert e.readout.value and _image(e.out)
        cost = np.asarray(e.history.cost)
        if e.history.diverged:
            assert "diverged" in e.readout.value
        assert np.all(np.isfinite(cost))
        flags.append(bool(e.history.diverged))
    return flags


@pytest.fixture
def low_dpi(monkeypatch):
    """Draw the explorer's figures at a tenth of the resolution: the same axes and ticks, faster."""
    import matplotlib.figure

    savefig = matplotlib.figure.Figure.savefig
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda self, *a, **kw: savefig(self, *a, **{**kw, "dpi": 10}))


@pytest.mark.parametrize("method", ["gd", "momentum", "lbfgs", "als"])
def test_explorer_sweep_every_slider_setting(method, low_dpi):
    """Every value each control allows, from the most divergence-prone corner, on synthetic data.

    The step size is swept for the methods that use it (the others ignore it).
    """
    train, val = cflib.make_synthetic(30, 40, k=2, density=0.4, seed=2).random_split(0.2, seed=0)
    small = {m: 4 for m in W.METHODS}
    e = W.TrainingExplorer(train, val, k=30, lam=10**2.5, lr=0.1, method=method, max_iters=small,
                           n_iters=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing escapes the widget, not even a warning
        _sweep(e, e.lam, [10 ** (-2 + 0.25 * i) for i in range(19)])
        e.lam.value = 10**2.5
        if method in ("gd", "momentum"):
            _sweep(e, e.lr, [v for _, v in e.lr.options])
            e.lr.value = 0.1
        _sweep(e, e.k, range(1, 31))
        _sweep(e, e.n_iters, range(1, 5))
        _sweep(e, e.kind, ["biased", "normalized"])
    assert e.runs >= 1 + 18 + 29 + 3 + 2


def test_explorer_lam_slider_corners_with_every_step_size(low_dpi):
    """The lam x lr grid of gradient descent at its corners, at the top iteration count."""
    train, val = cflib.make_synthetic(30, 40, k=2, density=0.4, seed=2).random_split(0.2, seed=0)
    e = W.TrainingExplorer(train, val, k=10, method="gd", max_iters={m: 6 for m in W.METHODS}, n_iters=6)
    flags = []
    for lam in (10**-2, 1.0, 10**2.5):
        e.lam.value = lam
        flags += _sweep(e, e.lr, [v for _, v in e.lr.options])
    assert any(flags) and not all(flags)  # the grid holds both tame and diverging runs


# -------------------------------------------------------------- rating widget
def test_rating_widget_validates_before_storing(data):
    m, _ = fit(data, k=2, n_iters=3)
    rw = RW.RatingWidget(m, data, ratings={0: 5}, n=3, min_ratings=0)
    before = (dict(rw.my_ratings), list(rw.recommended), rw.status.value, rw.mine.value,
              rw.recommendations.value)
    for movie, stars, error in [(5000, 4, ValueError), (-1, 4, ValueError), (3, 9, ValueError),
                                (3, float("nan"), ValueError), (3, "4", TypeError), (2.5, 4, TypeError)]:
        with pytest.raises(error):
            rw.rate(movie, stars)
        assert (dict(rw.my_ratings), list(rw.recommended), rw.status.value, rw.mine.value,
                rw.recommendations.value) == before
    rw.rate(3, 4)  # later ratings still work
    assert rw.my_ratings == {0: 5.0, 3: 4.0}


# ------------------------------------------------------------ property-based guard
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ANY_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
                        st.text(max_size=4), st.just([1.0]))


@pytest.fixture(scope="module")
def tiny():
    data = cflib.make_synthetic(12, 9, 2, density=0.5, seed=0)
    model, _ = fit(data, k=2, n_iters=2)
    return data, model


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["lr", "momentum", "seed", "lam", "lam_bias", "init_scale", "k", "n_iters"]),
       value=_ANY_SCALAR, method=st.sampled_from(["als", "gd", "momentum", "lbfgs"]))
def test_fit_either_trains_or_names_the_bad_argument(tiny, name, value, method):
    data, _ = tiny
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            model, h = fit(data, method=method, n_iters=2, **{name: value}) if name != "n_iters" else \
                fit(data, method=method, n_iters=value)
        except (TypeError, ValueError) as exc:
            assert name in str(exc)
            return
    assert np.all(np.isfinite(model.X)) and np.all(np.isfinite(model.Theta))
    assert np.all(np.isfinite(h.cost))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mine=st.dictionaries(st.one_of(st.integers(-3, 15), st.floats(0, 12), st.booleans(), st.text(max_size=3)),
                            st.one_of(st.floats(allow_nan=True), st.integers(-1, 7), st.text(max_size=2)),
                            max_size=4))
def test_recommend_either_answers_or_refuses_clearly(tiny, mine):
    data, model = tiny
    try:
        recs = recommend(model, mine, n=3)
    except (TypeError, ValueError) as exc:
        assert any(word in str(exc) for word in ("my_ratings", "movies", "ratings", "movie"))
        return
    assert all(isinstance(k, int) and not isinstance(k, bool) for k in mine)
    assert len(recs) <= 3 and all(0 <= m < data.n_movies and 1.0 <= p <= 5.0 for m, p in recs)


def test_lbfgs_line_search_overflow_is_divergence_not_an_input_error():
    """A huge lam makes L-BFGS's line search try a point that overflows: a divergence, as for every method."""
    data = cflib.make_synthetic(12, 9, 2, nnz=54, seed=0)
    with pytest.warns(RuntimeWarning, match="lbfgs diverged"):
        model, history = fit(data, method="lbfgs", n_iters=2, lam=1e160)
    assert history.diverged
    assert np.all(np.isfinite(model.X)) and np.all(np.isfinite(model.Theta))
