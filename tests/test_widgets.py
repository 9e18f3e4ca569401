"""Tests for cflib.widgets: set widget values as a user would and check the results.

No browser: setting ``slider.value`` fires the observers synchronously and
``button.click()`` runs the click handlers.
"""

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cflib  # noqa: E402
from cflib import rating_widget as RW  # noqa: E402
from cflib import widgets as W  # noqa: E402
from cflib.history import History  # noqa: E402
from cflib.train import fit  # noqa: E402


@pytest.fixture(scope="module")
def small_split():
    data = cflib.make_synthetic(120, 80, k=3, density=0.25, seed=3)
    return data.random_split(0.2, seed=0)


def _image(e):
    """The SVG document the explorer shows (its ``plot``: one ``<img>`` with a data URL), checked to be well formed."""
    import base64
    import re
    import xml.etree.ElementTree as ET

    (data,) = re.findall(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', e.plot.value)
    svg = base64.b64decode(data).decode("utf-8")
    root = ET.fromstring(svg)  # raises on malformed markup
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return svg


def _texts(svg):
    """Every text drawn in an SVG document (titles, tick labels, legend)."""
    import xml.etree.ElementTree as ET

    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]


def test_explorer_draws_once_and_retrains_on_every_change(small_split):
    train, val = small_split
    e = W.TrainingExplorer(train, val, k=3, n_iters=5)
    assert e.runs == 1 and "validation RMSE" in e.readout.value
    first_svg, first_text = _image(e), e.readout.value
    assert "RMSE: als (normalized), k=3, lam=10" in _texts(first_svg)
    assert "validation, previous run" not in _texts(first_svg)  # nothing to compare with yet
    e.k.value = 1
    assert e.runs == 2 and e.result.k == 1
    assert _image(e) != first_svg and e.readout.value != first_text
    assert "validation, previous run" in _texts(_image(e))
    e.lam.value = 1.0
    e.n_iters.value = 8
    e.kind.value = "biased"
    assert e.runs == 5
    assert len(e.history.val_rmse) == 8 and e.result.kind == "biased"
    shown = float(e.readout.value.split("validation RMSE ")[1].split("<")[0])
    assert shown == pytest.approx(e.history.val_rmse[-1], abs=5e-5)


def test_explorer_step_size_only_for_gradient_methods(small_split):
    train, val = small_split
    e = W.TrainingExplorer(train, val, k=2, n_iters=5, method="als")
    assert e.lr.disabled and "lr" not in e.settings()
    e.method.value = "gd"
    assert not e.lr.disabled and e.settings()["lr"] == pytest.approx(e.lr.value)
    assert e.history.method == "gd" and e.runs == 2


def test_explorer_method_change_adapts_iterations_and_retrains_once(small_split):
    train, val = small_split
    e = W.TrainingExplorer(train, val, k=2, n_iters=5, method="gd", max_iters={"gd": 40, "momentum": 40,
                                                                              "lbfgs": 30, "als": 6})
    e.n_iters.value = 40
    runs = e.runs
    e.method.value = "als"  # ALS starts at min(START_ITERS, its max); one training only
    assert e.n_iters.max == 6 and e.n_iters.value == 6
    assert e.runs == runs + 1 and len(e.history.cost) == 6
    e.n_iters.value = 3
    e.method.value = "gd"  # gradient descent gets back its own 40 iterations
    assert (e.n_iters.max, e.n_iters.value, len(e.history.cost)) == (40, 40, 40)
    e.method.value = "als"
    assert e.n_iters.value == 3 and len(e.history.cost) == 3
    e.method.value = "lbfgs"  # first visit: the starting count, capped at the maximum
    assert e.n_iters.value == min(W.START_ITERS["lbfgs"], 30)
    assert e.runs == runs + 5  # four optimizer switches and one slider move
    assert e.trained == runs + 3  # gd with 40 and als with 3 were shown before: kept, not retrained


def test_explorer_reports_divergence():
    # Many ratings per movie and user make the gradient large: a step of 0.03 overshoots.
    train, val = cflib.make_synthetic(100, 300, k=3, density=0.5, seed=4).random_split(0.2, seed=0)
    e = W.TrainingExplorer(train, val, k=3, n_iters=30, method="gd", lr=1e-4)
    assert "diverged" not in e.readout.value
    e.lr.value = 0.1  # the top of the slider
    assert "diverged" in e.readout.value
    texts = _texts(_image(e))
    assert "gd (diverged)" in texts and any(t.startswith("diverged: J reaches") for t in texts)


def test_explorer_rejects_bad_input(small_split):
    train, val = small_split
    with pytest.raises(ValueError, match="method"):
        W.TrainingExplorer(train, val, method="adam")
    with pytest.raises(ValueError, match="validation"):
        W.TrainingExplorer(train, None)


def test_explorer_after_a_refused_setting_shows_what_it_draws(small_split, monkeypatch):
    train, val = small_split
    e = W.TrainingExplorer(train, val, k=3, n_iters=5, method="gd", lr=0.005)
    shown, svg, runs = e.settings(), _image(e), e.runs
    e.method.value = None  # no optimizer: refused, nothing retrained, the control set back
    assert e.method.value == "gd" and e.runs == runs and _image(e) == svg
    assert "optimizer must be one of" in e.readout.value and "back at the run shown" in e.readout.value

    def broken_fit(*args, **kwargs):
        raise MemoryError("no room for the factors")

    monkeypatch.setattr(W, "fit", broken_fit)
    e.method.value = "als"  # the optimizer, its iterations and the step size change, then fit fails
    assert e.settings() == shown and not e.lr.disabled and e.n_iters.max == e.max_iters["gd"]
    assert "MemoryError: no room for the factors" in e.readout.value and "validation RMSE" in e.readout.value
    e.k.value = 2
    assert e.k.value == 3 and e.settings() == shown and e.runs == runs and _image(e) == svg
    monkeypatch.setattr(W, "fit", lambda *a, **kw: (_ for _ in ()).throw(RuntimeError("solver failed")))
    first = W.TrainingExplorer(train, val, k=3, n_iters=5)  # the very first training fails
    assert first.history is None and "RuntimeError: solver failed" in first.readout.value
    assert "nothing is shown" in first.readout.value and first.plot.value == ""
    assert first.picture() is None and "image/png" not in first._repr_mimebundle_()


def test_explorer_max_iters_partial_and_checked(small_split):
    train, val = small_split
    e = W.TrainingExplorer(train, val, k=2, n_iters=5, method="als", max_iters={"als": 6})
    assert e.n_iters.max == 6 and e.max_iters["gd"] == W.MAX_ITERS["gd"]  # the others keep their defaults
    with pytest.raises(TypeError, match="max_iters must be a dict"):
        W.TrainingExplorer(train, val, max_iters=5)
    with pytest.raises(ValueError, match=r"max_iters names optimizer\(s\) \['adam'\]"):
        W.TrainingExplorer(train, val, max_iters={"adam": 4})
    with pytest.raises((TypeError, ValueError), match=r"max_iters\['gd'\]"):
        W.TrainingExplorer(train, val, max_iters={"gd": "40"})
    with pytest.raises(ValueError, match=r"max_iters\['als'\]"):
        W.TrainingExplorer(train, val, max_iters={"als": 0})


def _png_size(png):
    """Width and height of PNG data (and a check that it is PNG)."""
    import struct
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])  # width, height


def test_explorer_stores_a_picture_for_viewers_without_widgets(small_split, monkeypatch):
    import base64

    train, val = small_split
    e = W.TrainingExplorer(train, val, k=3, n_iters=5)
    bundle = e._repr_mimebundle_()
    # JupyterLab draws the widget view (its renderer ranks first); GitHub or a plain export the PNG.
    assert set(bundle) == {"text/plain", "application/vnd.jupyter.widget-view+json", "image/png"}
    assert "Run All Cells" in bundle["text/plain"]
    first = base64.b64decode(bundle["image/png"])
    width, height = _png_size(first)
    assert width > 800 and height > 400
    titles = []
    real_suptitle = W.plt.Figure.suptitle
    monkeypatch.setattr(W.plt.Figure, "suptitle", lambda fig, t, **kw: titles.append(t) or real_suptitle(fig, t, **kw))
    e.picture()
    assert "its starting view" in titles[-1] and "Run > Run All Cells" in titles[-1]
    assert "validation RMSE" in titles[-1] and " s\n" not in titles[-1]  # the readout, without its timing
    e.k.value = 1
    assert e.picture() != first and "after 1 change of the controls" in titles[-1]
    assert not W.plt.get_fignums()  # the picture's figure is closed: nothing stray in the cell


def test_explorer_picture_is_stored_in_notebook_08():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "08_explorer.ipynb").read_text())
    (cell,) = [c for c in nb["cells"] if c["cell_type"] == "code" and "explorer = TrainingExplorer(" in "".join(c["source"])]
    (data,) = [o["data"] for o in cell["outputs"] if "data" in o]
    assert "application/vnd.jupyter.widget-view+json" in data and data["image/png"]


def test_explorer_is_fast_on_movielens_u1(movielens):
    import time

    train, _ = cflib.load_split("u1")
    tr, val = train.random_split(0.1, seed=0)
    e = W.TrainingExplorer(tr, val)  # the default settings the notebook opens with
    start = time.perf_counter()
    e.k.value = 12
    seconds = time.perf_counter() - start
    assert seconds < 5.0, f"one retrain took {seconds:.1f} s"  # < 1 s on an idle laptop; CI is shared
    assert 0.85 < e.history.val_rmse[-1] < 1.0


def test_explorer_keeps_runs_and_shows_them_again_without_training(small_split, monkeypatch):
    train, val = small_split
    e = W.TrainingExplorer(train, val, k=3, n_iters=5)
    first_history, first_svg = e.history, _image(e)
    e.lam.value = 1.0
    assert e.trained == 2 and "shown again" not in e.readout.value
    e.lam.value = 10.0  # back to the start: kept, not retrained
    assert (e.runs, e.trained) == (3, 2) and e.history is first_history
    assert "shown again without training" in e.readout.value and "validation RMSE" in e.readout.value
    assert "validation, previous run" in _texts(_image(e)) and _image(e) != first_svg  # the lam = 1 run, dotted
    fresh = fit(train, validation=val, **e.settings())[1]  # the kept run is the run a retraining gives
    assert fresh.val_rmse == e.history.val_rmse and fresh.cost == e.history.cost
    monkeypatch.setattr(W, "CACHE_RUNS", 2)
    e.k.value = 2
    e.k.value = 1  # keeps k = 2 and k = 1; the start (k = 3) is forgotten
    assert len(e._cache) == 2 and e.trained == 4
    e.k.value = 3
    assert e.trained == 5 and "shown again" not in e.readout.value


def test_explorer_keeps_runs_by_every_setting_a_subclass_adds(small_split):
    """Exercise 3 of notebook 08 extends settings() with lam_bias: the kept runs must tell them apart."""
    import ipywidgets

    class WithBiasPenalty(W.TrainingExplorer):
        def __init__(self, *args, **kwargs):
            self.lam_bias = ipywidgets.FloatLogSlider(value=5, base=10, min=-1, max=2, continuous_update=False)
            super().__init__(*args, **kwargs)
            self.lam_bias.observe(lambda change: self.retrain(), names="value")
            self.children += (self.lam_bias,)

        def settings(self):
            kw = super().settings()
            if self.kind.value == "biased":
                kw["lam_bias"] = float(self.lam_bias.value)
            return kw

    train, val = small_split
    e = WithBiasPenalty(train, val, k=3, n_iters=5, kind="biased")
    e.lam_bias.value = 100.0
    assert e.trained == 2 and e.result.params["lam_bias"] == 100.0
    e.lam_bias.value = 5.0
    assert e.trained == 2 and e.result.params["lam_bias"] == 5.0


def test_explorer_plot_is_an_image_the_browser_test_finds(small_split):
    train, val = small_split
    e = W.TrainingExplorer(train, val, k=3, n_iters=5)
    assert "cflib-explorer-plot" in e.plot._dom_classes and "cflib-explorer-k" in e.k._dom_classes
    assert "cflib-explorer-readout" in e.readout._dom_classes
    assert e.plot.value.startswith("<img ") and 'alt="Training explorer: RMSE: als (normalized)' in e.plot.value
    assert e.plot in e.children and e.out in e.children and not e.out.outputs
    texts = _texts(_image(e))
    for label in ("Cost J (log scale)", "iteration", "RMSE (stars)", "cost J", "training RMSE"):
        assert label in texts
    assert any(t.startswith("validation RMSE (lowest ") for t in texts)
    assert [t for t in texts if t.startswith("movie + user biases: ")] == [
        f"movie + user biases: {e.baselines['movie + user biases']:.4f}"]


def test_svg_curves_ticks_and_clipping():
    from cflib import svg_curves as S

    assert S.nice_ticks(0.0, 1.0, 6).tolist() == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert S.nice_ticks(0.55, 1.12, 7).tolist() == pytest.approx([0.6, 0.7, 0.8, 0.9, 1.0, 1.1])
    assert S.nice_ticks(0.5, 3.5, 7, integer=True).tolist() == [1.0, 2.0, 3.0]
    # A curve that leaves the axes is cut at the bound; a NaN splits it in two.
    runs = S._clipped_runs([1, 2, 3, 4, 5, 6], [0.5, 0.5, 1e200, np.nan, 0.2, 0.3], 0.0, 1.0)
    assert runs[0][:2] == [(1.0, 0.5), (2.0, 0.5)] and runs[0][2][1] == pytest.approx(1.0)
    assert 2.0 <= runs[0][2][0] < 2.01 and runs[1] == [(5.0, 0.2), (6.0, 0.3)]
    assert S._clipped_runs([1, 2], [5.0, 6.0], 0.0, 1.0) == []  # wholly outside: nothing drawn


def test_svg_curves_log_axis_labels_and_a_run_diverged_at_once():
    import xml.etree.ElementTree as ET

    from cflib import svg_curves as S

    wide = History(cost=[1e5, 1e3, 50.0], train_rmse=[1.2, 1.0, 0.9], val_rmse=[1.3, 1.1, 1.0],
                   initial_cost=2e5)
    svg = S.explorer_svg(wide, baselines={"mean": 1.05}, ylim=(0.8, 1.4), title="t", cost_label="gd")
    ET.fromstring(svg)
    assert ">10<tspan" in svg and "(diverged)" not in svg  # powers of ten over several decades
    at_once = History(cost=[], train_rmse=[], val_rmse=[], diverged=True)
    svg = S.explorer_svg(at_once, baselines={"mean": 1.05}, ylim=(0.9, 1.2), title="t", cost_label="gd")
    assert "Cost J: diverged at the first iteration" in _texts(svg) and "mean: 1.0500" in _texts(svg)


def test_implicit_explorer_keeps_fits_and_shows_them_again():
    from cflib.implicit_widget import ImplicitExplorer

    train, test = cflib.make_synthetic(40, 30, 2, seed=7).random_split(0.2, seed=0)
    w = ImplicitExplorer(train, test, user=3, k=3, n_iters=3, alpha=2.0, lam=50.0)
    first, table = w.top.tolist(), w.table.value
    w.alpha.value = 50.0
    w.alpha.value = 2.0  # back: the same list, without a refit
    assert (w.runs, w.fits) == (3, 2) and w.top.tolist() == first and w.table.value == table


# ------------------------------------------------------------- rating widget
@pytest.fixture(scope="module")
def named():
    """Synthetic data with two clear taste groups and readable titles."""
    from dataclasses import replace

    data = cflib.make_synthetic(60, 200, k=2, density=0.4, seed=5)
    titles = np.array([f"Film {i:02d}" for i in range(data.n_movies)], dtype=object)
    titles[7] = "The Special One"
    data = replace(data, titles=titles, _cache={})
    model, _ = fit(data, k=2, lam=1.0, kind="normalized", n_iters=10)
    return data, model


def test_rating_widget_starts_from_default_ratings(named):
    data, model = named
    rw = RW.RatingWidget(model, data, ratings={0: 5, 1: 1}, n=5, min_ratings=0)
    assert len(rw.recommended) == 5
    rec = [m for m, _ in rw.recommended]
    assert 0 not in rec and 1 not in rec
    assert rw.recommended == sorted(rw.recommended, key=lambda p: -p[1])
    assert "Film 00" in rw.mine.value and "★★★★★" in rw.mine.value
    for title in rw.titles(rec):
        assert title in rw.recommendations.value


def test_rating_widget_search_rate_remove_and_reset(named):
    data, model = named
    rw = RW.RatingWidget(model, data, ratings={0: 5}, n=5, min_ratings=0)
    rw.search.value = "special"
    assert [v for _, v in rw.matches.options] == [7]
    rw.matches.value = 7
    assert "Closest to The Special One" in rw.similar.value
    before = list(rw.recommended)
    rw.stars.value = 1
    rw.rate_button.click()
    assert rw.my_ratings == {0: 5.0, 7: 1.0}
    assert "The Special One" in rw.mine.value and "The Special One" not in rw.recommendations.value
    assert rw.recommended != before
    rw.remove_button.click()
    assert rw.my_ratings == {0: 5.0}
    rw.reset_button.click()
    assert rw.my_ratings == {0: 5.0} and rw.recommended == before
    rw.search.value = "x"  # one character: too short to search
    assert rw.matches.options == ()


def test_rating_widget_matches_show_your_rating_at_once(named):
    """Rating, removing and resetting update the "[you: n]" marks of the listed matches,
    and the selected movie stays selected (the similar list does not jump)."""
    data, model = named
    rw = RW.RatingWidget(model, data, ratings={0: 5}, n=5, min_ratings=0)
    rw.search.value = "film 0"  # Film 00 .. Film 09 (not 07, renamed)
    labels = dict((v, lab) for lab, v in rw.matches.options)
    assert labels[0] == "Film 00  [you: 5]" and labels[3] == "Film 03"
    rw.matches.value = 3
    similar = rw.similar.value
    rw.stars.value = 2
    rw.rate_button.click()
    labels = dict((v, lab) for lab, v in rw.matches.options)
    assert labels[3] == "Film 03  [you: 2]"
    assert rw.matches.value == 3 and rw.similar.value == similar
    rw.stars.value = 4
    rw.rate_button.click()
    assert dict((v, lab) for lab, v in rw.matches.options)[3] == "Film 03  [you: 4]"
    rw.remove_button.click()
    assert dict((v, lab) for lab, v in rw.matches.options)[3] == "Film 03"
    rw.rate(3, 1)
    rw.reset_button.click()
    labels = dict((v, lab) for lab, v in rw.matches.options)
    assert labels[3] == "Film 03" and labels[0] == "Film 00  [you: 5]" and rw.matches.value == 3


def test_rating_widget_recommendations_follow_the_ratings(named):
    """Loving the movies one taste group loves must recommend that group's other movies."""
    data, model = named
    # The direction of the strongest feature splits the movies into two groups.
    x = model.X[:, np.argmax(np.var(model.X, axis=0))]
    top, bottom = np.argsort(x)[-6:], np.argsort(x)[:6]
    likes = {int(m): 5.0 for m in top[:3]} | {int(m): 1.0 for m in bottom[:3]}
    rw = RW.RatingWidget(model, data, ratings=likes, n=8, min_ratings=0)
    scores = np.array([x[m] for m, _ in rw.recommended])
    assert np.mean(scores) > np.median(x)
    flipped = {m: 6.0 - r for m, r in likes.items()}
    rw2 = RW.RatingWidget(model, data, ratings=flipped, n=8, min_ratings=0)
    assert np.mean([x[m] for m, _ in rw2.recommended]) < np.mean(scores)


def test_rating_widget_similar_movies_from_another_model(named):
    data, model = named
    X = np.zeros((data.n_movies, 2))
    X[:, 0] = 1.0
    X[7] = [0.0, 1.0]
    X[9] = [0.1, 1.0]  # the only movie pointing the way movie 7 points
    rw = RW.RatingWidget(model, data, ratings={0: 5}, min_ratings=0, similar_model=X)
    rw.search.value = "special"
    rw.matches.value = 7
    first = rw.similar.value.split("<li>")[1]
    assert first.startswith("Film 09")


def test_rating_widget_with_no_ratings_and_min_ratings(named):
    data, model = named
    rw = RW.RatingWidget(model, data, n=5)
    assert rw.recommended == [] and "rate a few movies" in rw.recommendations.value
    rw.rate(3, 4)
    counts = np.bincount(data.movies, minlength=data.n_movies)
    assert all(counts[m] >= 20 for m, _ in rw.recommended)
    rw.rate(None, 4)
    assert "pick a movie" in rw.status.value


def test_show_figure_replaces_the_output():
    import ipywidgets
    import matplotlib.pyplot as plt

    out = ipywidgets.Output()
    for _ in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1])
        W.show_figure(out, fig)
        assert len(out.outputs) == 1 and "image/png" in out.outputs[0]["data"]
    assert not plt.get_fignums()  # closed: nothing left for the inline backend to show


def test_the_rating_widget_keeps_its_old_import_path():
    assert W.RatingWidget is RW.RatingWidget and W.EXAMPLE_RATINGS is RW.EXAMPLE_RATINGS


# ------------------------------------------- guards from issues 10 and 12 (moved from test_train_reliability)
@pytest.fixture(scope="module")
def split():
    return cflib.make_synthetic(40, 30, k=3, density=0.3, seed=3).random_split(0.2, seed=0)


def test_explorer_names_the_model_kind_kind(split):
    with pytest.raises(TypeError, match="kind="):
        W.TrainingExplorer(*split, model="biased")


def test_explorer_issue_case_draws_and_says_diverged(movielens):
    """The exact setting of issue 12 (u1, gd, lam=10**2.5, lr=10**-1.25): no OverflowError."""
    train, _ = cflib.load_split("u1")
    tr, val = train.random_split(0.1, seed=0)
    e = W.TrainingExplorer(tr, val, method="gd", k=10, lam=10**2.5, lr=10**-1.25, n_iters=30)
    assert e.lr.value == pytest.approx(0.05)  # 10**-1.25 = 0.056: the nearest step offered
    assert "diverged" in e.readout.value and _image(e)
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
    assert e.k.value == 2  # the control is back at the run the figure shows
    e.seed = 0
    e.k.value = 3
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
        assert e.readout.value and _image(e)
        cost = np.asarray(e.history.cost)
        if e.history.diverged:
            assert "diverged" in e.readout.value
        assert np.all(np.isfinite(cost))
        flags.append(bool(e.history.diverged))
    return flags


@pytest.mark.parametrize("method", ["gd", "momentum", "lbfgs", "als"])
def test_explorer_sweep_every_slider_setting(method):
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


def test_explorer_lam_slider_corners_with_every_step_size():
    """The lam x lr grid of gradient descent at its corners, at the top iteration count."""
    train, val = cflib.make_synthetic(30, 40, k=2, density=0.4, seed=2).random_split(0.2, seed=0)
    e = W.TrainingExplorer(train, val, k=10, method="gd", max_iters={m: 6 for m in W.METHODS}, n_iters=6)
    flags = []
    for lam in (10**-2, 1.0, 10**2.5):
        e.lam.value = lam
        flags += _sweep(e, e.lr, [v for _, v in e.lr.options])
    assert any(flags) and not all(flags)  # the grid holds both tame and diverging runs


# ------------------------------------------------------------------ the budget per move
def test_explorer_iterations_follow_the_budget():
    from cflib import trainers as T

    nnz = 72_000  # the training ratings of notebook 08 (90 % of u1.base)
    for m in W.METHODS:
        limits = [T.explorer_iterations(m, k, nnz) for k in range(1, 31)]
        assert all(a >= b for a, b in zip(limits, limits[1:]))  # more features, never more iterations
        assert limits[0] == T.METHODS[m].max_iters  # small k: the registry's maximum
        for k in (10, 20, 30):  # every allowed run fits the budget, by the registry's own estimate
            n = T.explorer_iterations(m, k, nnz)
            assert n * T.iteration_seconds(m, k, nnz) <= T.MOVE_SECONDS or n == T.MIN_EXPLORER_ITERS
        assert T.explorer_iterations(m, 30, nnz, seconds=None) == T.METHODS[m].max_iters
        assert T.explorer_iterations(m, 30, 10**9) == min(T.MIN_EXPLORER_ITERS, T.METHODS[m].max_iters)
        assert T.explorer_iterations(m, 30, nnz, cap=3, seconds=100.0) == 3
    # the estimate is a power law through the two measured points, per 100,000 ratings
    t10, t30 = T.METHODS["als"].iter_ms
    assert T.iteration_seconds("als", 10, 100_000) == pytest.approx(t10 * 1e-3)
    assert T.iteration_seconds("als", 30, 200_000) == pytest.approx(2 * t30 * 1e-3)
    assert T.iteration_seconds("ease", 30, nnz) == 0.0  # no estimate: no budget
    assert T.explorer_iterations("ease", 30, nnz) == T.METHODS["ease"].max_iters


def test_explorer_clamps_iterations_at_large_k_and_restores_them(small_split):
    from cflib import trainers as T

    train, val = small_split
    budget = 4.5 * T.iteration_seconds("als", 3, train.nnz)  # 4 ALS sweeps at k = 3, more at k = 1
    e = W.TrainingExplorer(train, val, k=1, n_iters=8, method="als", move_seconds=budget)
    assert e.iteration_limit() > 8 and e.n_iters.value == 8 and "slider stops at" not in e.readout.value
    runs = e.runs
    e.k.value = 3  # one move: the slider adapts, one training of 4 sweeps
    assert e.runs == runs + 1 and e.trained == runs + 1
    assert e.n_iters.max == e.n_iters.value == e.iteration_limit() == 4 and len(e.history.cost) == 4
    assert "the iterations slider stops at 4 at k = 3" in e.readout.value and "your 8 come back" in e.readout.value
    e.k.value = 1  # the chosen 8 sweeps come back (a kept run: nothing trained)
    assert e.n_iters.value == 8 and e.runs == runs + 2 and len(e.history.cost) == 8
    assert "slider stops at" not in e.readout.value
    e.k.value = 3
    e.n_iters.value = 2  # a choice made at the clamp is the new choice
    e.k.value = 1
    assert e.n_iters.value == 2 and e.settings()["n_iters"] == 2
    # switching optimizer uses that optimizer's own limit at this k
    e.k.value = 3
    e.method.value = "gd"
    assert e.n_iters.max == e.iteration_limit("gd", 3) and e.history.method == "gd"
    assert e.n_iters.value == min(e._iters["gd"], e.n_iters.max)
    # no budget: the registry's maximum at every k
    free = W.TrainingExplorer(train, val, k=3, n_iters=8, method="als", move_seconds=None)
    assert free.n_iters.max == W.MAX_ITERS["als"] and free.n_iters.value == 8
    with pytest.raises(ValueError, match="move_seconds"):
        W.TrainingExplorer(train, val, move_seconds=0.0)
    with pytest.raises((TypeError, ValueError), match="move_seconds"):
        W.TrainingExplorer(train, val, move_seconds="fast")


def test_explorer_starts_clamped_when_asked_for_more_than_the_budget(small_split):
    from cflib import trainers as T

    train, val = small_split
    budget = 4.5 * T.iteration_seconds("als", 3, train.nnz)
    e = W.TrainingExplorer(train, val, k=3, n_iters=12, method="als", move_seconds=budget)
    assert e.n_iters.value == 4 and len(e.history.cost) == 4 and "your 12 come back" in e.readout.value


def test_explorer_answers_at_every_k_with_every_optimizer_under_a_binding_budget(small_split):
    # Every k the slider allows, every optimizer: the slider's range is the limit there, the value
    # within it, and the run shown has exactly that many iterations (or says it diverged).
    from cflib import trainers as T

    train, val = small_split
    budget = 4.5 * T.iteration_seconds("als", 12, train.nnz)  # binds from about k 12 on for ALS
    e = W.TrainingExplorer(train, val, k=1, n_iters=6, method="als", move_seconds=budget,
                           max_iters={m: 6 for m in W.METHODS})
    e.lr.value = 0.002
    for method in W.METHODS:
        e.method.value = method
        e.k.value = 1
        e.n_iters.value = e.n_iters.max
        for k in range(1, 31):
            e.k.value = k
            assert e.n_iters.max == e.iteration_limit() == T.explorer_iterations(method, k, train.nnz, seconds=budget,
                                                                                 cap=6)
            assert e.settings() == {**e.settings(), "k": k, "method": method, "n_iters": e.n_iters.value}
            assert e.result.k == k and (len(e.history.cost) == e.n_iters.value or e.history.diverged)
            held_back = e.n_iters.value < 6 and len(e.history.cost) == e.n_iters.value and not e.history.diverged
            assert ("the iterations slider stops at" in e.readout.value) == held_back
    assert e.iteration_limit("als", 30) < 6  # the budget did bind


def test_explorer_readout_says_when_a_run_stopped_early_or_diverged_and_then_adds_no_budget_note(small_split):
    from cflib import trainers as T

    train, val = small_split
    e = W.TrainingExplorer(train, val, k=1, lam=10 ** 2.5, n_iters=40, method="lbfgs")
    n = len(e.history.cost)
    assert n < 40 and not e.history.diverged  # converged long before 40 iterations
    assert f"{n} of 40 iterations (the optimizer stopped early: its own stopping test was met)" in e.readout.value
    budget = 30.5 * T.iteration_seconds("gd", 3, train.nnz)  # 30 steps at k = 3, below the 60 asked for
    e = W.TrainingExplorer(train, val, k=3, lr=0.1, n_iters=60, method="gd", kind="biased", move_seconds=budget)
    assert e.history.diverged and e.n_iters.value == 30
    assert "diverged" in e.readout.value and "slider stops at" not in e.readout.value
