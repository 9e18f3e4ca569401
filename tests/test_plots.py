"""Tests for cflib.plots: each function draws what it says on the Axes it returns."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cflib  # noqa: E402
from cflib import movie_map, plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(n=12, diverge=False):
    it = np.arange(n)
    cost = 500.0 * np.exp(-it / 3) + 20
    if diverge:
        cost = 500.0 * np.exp(it / 2)
        cost[-3:] = np.inf
    return {
        "cost": list(cost),
        "train_rmse": list(1.2 * np.exp(-it / 4) + 0.6),
        "val_rmse": list(np.r_[1.3 * np.exp(-it[:8] / 3) + 0.9, [0.97, 0.98, 0.99, 1.0]][:n]),
        "time": list(0.01 * (it + 1)),
    }


def _line_labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def test_learning_curves_draw_both_curves_and_labelled_baselines():
    h = _history()
    ax = plots.plot_learning_curves(h, baselines={"movie mean": 1.02, "biases": 0.95})
    labels = _line_labels(ax)
    assert "training RMSE" in labels
    val_label = [lab for lab in labels if lab.startswith("validation RMSE")][0]
    best = int(np.argmin(h["val_rmse"]))
    assert f"{h['val_rmse'][best]:.4f}" in val_label and f"iteration {best + 1}" in val_label
    train_line = ax.get_lines()[labels.index("training RMSE")]
    np.testing.assert_allclose(train_line.get_ydata(), h["train_rmse"])
    assert train_line.get_xdata()[0] == 1
    assert "movie mean: 1.0200" in labels and "biases: 0.9500" in labels
    assert [t.get_text() for t in ax.get_legend().get_texts()][-2:] == ["movie mean: 1.0200", "biases: 0.9500"]
    horizontal = [ln for ln in ax.get_lines() if np.ptp(ln.get_ydata()) == 0 and len(ln.get_ydata()) == 2]
    assert sorted(ln.get_ydata()[0] for ln in horizontal) == [0.95, 1.02]
    assert ax.get_xlabel() == "iteration" and "RMSE" in ax.get_ylabel()


def test_learning_curves_legend_below_clears_the_axes():
    ax = plots.plot_learning_curves(_history(), baselines={"biases": 0.95}, legend="below")
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    label = ax.xaxis.label.get_window_extent(renderer)
    assert legend.y1 < label.y0  # under the x label, so it covers no curve
    assert len(ax.get_legend().get_texts()) == 3
    with pytest.raises(ValueError, match="below"):
        plots.plot_learning_curves(_history(), legend="outside")


def test_learning_curves_accept_objects_and_missing_validation():
    class H:
        train_rmse = [1.0, 0.9, 0.8]
        val_rmse = []

    ax = plots.plot_learning_curves(H())
    assert _line_labels(ax) == ["training RMSE"]
    with pytest.raises(ValueError, match="neither"):
        plots.plot_learning_curves({"cost": [1.0]})


def test_cost_curves_iteration_and_time_axes():
    hs = {"ALS": _history(), "GD": _history(n=10)}
    fig, (a, b) = plt.subplots(1, 2)
    plots.plot_cost_curves(hs, ax=a)
    plots.plot_cost_curves(hs, x="time", ax=b)
    assert _line_labels(a) == ["ALS", "GD"]
    assert a.get_yscale() == "log" and a.get_xlabel() == "iteration"
    np.testing.assert_allclose(b.get_lines()[0].get_xdata(), hs["ALS"]["time"])
    np.testing.assert_array_equal(a.get_lines()[0].get_xdata(), np.arange(1, 13))
    assert b.get_xlabel() == "wall time (s)"


def test_cost_curves_start_from_the_initial_cost_and_honour_the_diverged_flag():
    h = {"cost": [50.0, 20.0, 10.0], "time": [0.1, 0.2, 0.3], "initial_cost": 100.0}
    ax = plots.plot_cost_curves({"run": h}, x="time")
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), [0.0, 0.1, 0.2, 0.3])
    np.testing.assert_array_equal(line.get_ydata(), [100.0, 50.0, 20.0, 10.0])
    ax = plots.plot_cost_curves({"run": dict(h, diverged=True)})
    assert ax.get_lines()[0].get_label() == "run (diverged)"


def test_cost_curves_mark_divergence():
    ax = plots.plot_cost_curves({"lr=0.1": _history(diverge=True), "lr=0.001": _history()})
    labels = _line_labels(ax)
    assert "lr=0.1 (diverged)" in labels and "lr=0.001" in labels
    diverged = ax.get_lines()[labels.index("lr=0.1 (diverged)")]
    tame = np.array(_history()["cost"])
    assert ax.get_ylim() == pytest.approx((tame.min() / 1.5, tame.max() * 3.0))  # the blow-up is cut off
    # drawn up to its first point above the scale and no further (never flat along the top edge)
    ys, top = np.asarray(diverged.get_ydata()), ax.get_ylim()[1]
    assert np.all(np.isfinite(ys)) and ys[-1] > top and np.all(ys[:-1] <= top) and len(ys) == 4
    (caret,) = [line for line in ax.get_lines() if line.get_marker() == "^"]
    (cx,), (cy,) = caret.get_xdata(), caret.get_ydata()
    assert cy == pytest.approx(top) and diverged.get_xdata()[-2] <= cx <= diverged.get_xdata()[-1]
    assert not caret.get_clip_on()
    (note,) = [t for t in ax.texts if t.get_text().startswith("diverged: J reaches")]
    assert note.get_text() == "diverged: J reaches inf (off the scale)"  # its last values are inf
    ax = plots.plot_cost_curves({"big": _history(diverge=True), "ok": _history()}, logy=False)
    assert ax.get_ylim()[1] < 2 * tame.max()


def test_cost_curves_relative_to_a_given_floor():
    """05's comparison: measured against J from a longer run, the best run does not dive to 0 at its end."""
    hs = {"a": {"cost": [10.0, 5.0, 3.0]}, "b": {"cost": [10.0, 4.0, 2.0]}}
    ax = plots.plot_cost_curves(hs, relative=True, floor=1.5)
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [8.5, 2.5, 0.5])  # every point drawn
    assert ax.get_ylabel() == "J - reference J"
    for bad in (2.5, np.nan, "1"):  # above a drawn cost, or not a number
        with pytest.raises(ValueError, match="floor must be a finite number at most the lowest cost drawn"):
            plots.plot_cost_curves(hs, relative=True, floor=bad)


def test_cost_curves_divergence_note_stays_inside_the_axes():
    """05's step sizes: a run that diverges early gets its note written towards the middle, inside the axes."""
    early = {"cost": [500.0, 300.0, 200.0, 1e120, np.inf], "initial_cost": 600.0, "diverged": True}
    late = {"cost": list(600.0 - 10 * np.arange(40)), "initial_cost": 600.0}
    for runs in ({"early": early, "late": late}, {"late": late, "early": dict(early, cost=[500.0] * 36 + [1e120])}):
        ax = plots.plot_cost_curves(runs, logy=False)
        ax.figure.canvas.draw()
        renderer = ax.figure.canvas.get_renderer()
        (note,) = [t for t in ax.texts if t.get_text().startswith("diverged: J reaches")]
        box, frame = note.get_window_extent(renderer), ax.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, (box, frame)
        plt.close(ax.figure)


def test_cost_curves_within_a_decade_get_plain_tick_labels():
    ax = plots.plot_cost_curves({"als": {"cost": [37000.0, 31000.0, 29500.0, 29000.0]}})
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels(minor=True) + ax.get_yticklabels()]
    assert "30,000" in labels and not any("times" in lab or "^" in lab for lab in labels)


def test_cost_curves_relative_and_bad_input():
    ax = plots.plot_cost_curves({"a": {"cost": [10.0, 5.0, 3.0]}, "b": {"cost": [10.0, 4.0, 2.0]}},
                                relative=True)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [8.0, 3.0, 1.0])
    assert np.isnan(ax.get_lines()[1].get_ydata()[-1])  # J - J_min = 0 is not drawn on a log axis
    with pytest.raises(ValueError, match="x must be"):
        plots.plot_cost_curves({"a": {"cost": [1.0]}}, x="seconds")
    with pytest.raises(ValueError, match="time"):
        plots.plot_cost_curves({"a": {"cost": [1.0, 0.5]}}, x="time")
    with pytest.raises(ValueError, match="empty"):
        plots.plot_cost_curves({})


def test_heatmap_marks_the_best_cell_and_annotates_every_cell():
    values = np.array([[1.0, 0.95, 0.97], [0.99, 0.93, 0.96]])
    ax = plots.plot_sweep_heatmap(values, [5, 10], [0.1, 1, 10])
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == values.size and "0.930" in texts
    (rect,) = ax.patches
    assert rect.get_xy() == (0.5, 0.5)  # column 1, row 1
    assert "k=10" in ax.get_title() and "lam=1" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.1", "1", "10"]
    with pytest.raises(ValueError, match="shape"):
        plots.plot_sweep_heatmap(values.T, [5, 10], [0.1, 1, 10])


def test_baseline_ladder_dots_best_at_the_bottom_with_each_gain():
    ax = plots.plot_baseline_ladder([("global", 1.15), ("MF", 0.92), ("movie", 1.03)], highlight="MF")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["MF", "movie", "global"]
    assert not ax.patches                                   # dots, not bars: no length read from a cut axis
    (dots,) = ax.collections
    np.testing.assert_allclose(dots.get_offsets(), [[0.92, 0], [1.03, 1], [1.15, 2]])
    colours = dots.get_facecolors()
    assert not np.allclose(colours[0], colours[1]) and np.allclose(colours[1], colours[2])
    texts = [t.get_text() for t in ax.texts]
    assert {"0.9200", "1.0300", "1.1500", "-0.110", "-0.120"} <= set(texts)
    lo, hi = ax.get_xlim()
    assert lo < 0.92 and hi > 1.15
    shared = plots.plot_baseline_ladder([("a", 1.0), ("b", 0.9)], xlim=(0.8, 1.2))
    assert shared.get_xlim() == (0.8, 1.2)
    with pytest.raises(ValueError, match="empty"):
        plots.plot_baseline_ladder([])
    with pytest.raises(ValueError, match="finite"):
        plots.plot_baseline_ladder([("a", float("nan"))])


def test_embedding_2d_pca_is_centred_and_ordered():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4)) * np.array([3.0, 1.0, 0.5, 0.1]) + 2.0
    coords, explained = movie_map.embedding_2d(X)
    np.testing.assert_allclose(coords.mean(axis=0), 0.0, atol=1e-10)
    assert explained[0] > explained[1] > 0 and explained.sum() <= 1.0
    assert np.var(coords[:, 0]) > np.var(coords[:, 1])
    # Sign fixed: the same X gives the same picture, and negating X flips nothing but the data.
    again, _ = movie_map.embedding_2d(X.copy())
    np.testing.assert_array_equal(coords, again)
    first2, _ = movie_map.embedding_2d(X, method="first2")
    np.testing.assert_array_equal(first2, X[:, :2])
    with pytest.raises(ValueError, match="method"):
        movie_map.embedding_2d(X, method="tsne")


def _tiny_data_with_genres():
    data = cflib.make_synthetic(60, 40, k=2, density=0.5, seed=1)
    genres = np.zeros((60, 3), dtype=bool)
    genres[:20, 0] = True
    genres[20:40, 1] = True
    genres[10:30, 2] = True  # overlaps both
    from dataclasses import replace
    return replace(data, genre_names=("Alpha", "Beta", "Gamma"), genres=genres, _cache={})


def test_embedding_plot_colours_genres_and_labels_few_titles():
    data = _tiny_data_with_genres()
    X = np.random.default_rng(0).standard_normal((data.n_movies, 3))
    ax = movie_map.plot_embedding(X, data, genres=("Alpha", "Beta"), min_ratings=1, n_labels=5)
    labels = [c.get_label() for c in ax.collections]
    assert labels == ["other genres", "Alpha (20)", "Beta (20)"]
    assert sum(len(c.get_offsets()) for c in ax.collections) == data.n_movies
    assert 1 <= len(ax.texts) <= 5
    assert all(t.get_text().startswith("Movie ") for t in ax.texts)
    assert "PC1" in ax.get_xlabel() and "% of variance" in ax.get_xlabel()
    renderer = ax.figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[:i])
    frame = ax.get_window_extent(renderer)
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1 for b in boxes)
    ax2 = movie_map.plot_embedding(X, data, method="first2", genres=("Gamma",), min_ratings=1, label=[0, 1])
    assert [t.get_text() for t in ax2.texts] == ["Movie 0", "Movie 1"]
    assert "feature 1" in ax2.get_xlabel()
    with pytest.raises(ValueError, match="unknown genre"):
        movie_map.plot_embedding(X, data, genres=("Horror",), min_ratings=1)
    with pytest.raises(ValueError, match="rows"):
        movie_map.plot_embedding(X[:5], data)


def _points_under(ax, text):
    """How many scatter points of ``ax`` lie inside the box of ``text`` (not its leader line)."""
    ax.figure.canvas.draw()  # places the annotations
    renderer = ax.figure.canvas.get_renderer()
    xy = ax.transData.transform(np.vstack([c.get_offsets() for c in ax.collections]))
    box = Text.get_window_extent(text, renderer)
    return int(np.sum((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1) & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1)))


def test_embedding_titles_move_off_the_points():
    """A point with a crowd just above-right of it (where its title would go by default)."""
    data = _tiny_data_with_genres()
    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 2 * np.pi, data.n_movies)
    X = np.c_[3 * np.cos(angle), 3 * np.sin(angle), np.zeros(data.n_movies)]
    X[0, :2] = (-3.5, 0.0)
    X[1:12, 0], X[1:12, 1] = np.linspace(-3.4, -2.4, 11), 0.15  # the crowd
    X[12:, 1] = np.where(np.abs(X[12:, 1]) < 1.0, 2.0, X[12:, 1])  # nothing else near it
    ax = movie_map.plot_embedding(X, data, method="first2", genres=("Alpha",), min_ratings=1, label=[0])
    (title,) = ax.texts
    assert title.get_text() == "Movie 0" and tuple(title.xy) == (-3.5, 0.0)
    assert _points_under(ax, title) == 0


def test_embedding_plot_on_movielens(movielens, monkeypatch):
    X = np.random.default_rng(0).standard_normal((movielens.n_movies, 5))
    ax = movie_map.plot_embedding(X, movielens, n_labels=8)
    shown = int(np.sum(np.bincount(movielens.movies, minlength=movielens.n_movies) >= 50))
    assert sum(len(c.get_offsets()) for c in ax.collections) == shown
    assert len(ax.texts) == 8
    covered = sum(_points_under(ax, t) for t in ax.texts)
    monkeypatch.setattr(movie_map, "_unclutter", lambda *args: None)  # every title at its first spot
    plain = movie_map.plot_embedding(X, movielens, n_labels=8)
    assert covered < sum(_points_under(plain, t) for t in plain.texts)


def test_embedding_dot_area_is_proportional_to_ratings_and_has_a_size_legend(movielens):
    X = np.random.default_rng(0).standard_normal((movielens.n_movies, 5))
    ax = movie_map.plot_embedding(X, movielens, n_labels=0)
    counts = np.bincount(movielens.movies, minlength=movielens.n_movies)
    shown = counts >= 50
    areas = np.concatenate([c.get_sizes() for c in ax.collections])
    assert np.allclose(np.sort(areas), np.sort(movie_map.LARGEST_DOT * counts[shown] / counts.max()))
    size_legend = ax.get_legend()
    assert "proportional" in size_legend.get_title().get_text()
    labels = [t.get_text() for t in size_legend.get_texts()]
    assert labels == ["50 ratings", "200 ratings", "500 ratings"]
    for n, handle in zip((50, 200, 500), size_legend.legend_handles):  # the key's dots are the map's dots
        assert handle.get_markersize() ** 2 == pytest.approx(movie_map.dot_area(n, counts.max()))
    genre_legend = next(a for a in ax.artists if isinstance(a, matplotlib.legend.Legend))
    assert [t.get_text() for t in genre_legend.get_texts()][0] == "other genres"
    plt.close(ax.figure)


def test_predicted_vs_actual_one_violin_per_rating():
    rng = np.random.default_rng(0)
    actual = rng.integers(1, 6, 500).astype(float)
    predicted = np.clip(0.6 * actual + 1.3 + 0.5 * rng.standard_normal(500), 1, 5)
    ax = plots.plot_predicted_vs_actual(predicted, actual)
    assert len(ax.collections) == 5  # one violin body per true rating
    means = ax.get_lines()[0].get_ydata()
    np.testing.assert_allclose(means, [predicted[actual == r].mean() for r in range(1, 6)])
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [1, 2, 3, 4, 5])
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{r}\n(n={np.sum(actual == r)})" for r in range(1, 6)]
    renderer = ax.figure.canvas.get_renderer()
    assert ax.get_legend().get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1  # off the violins
    with pytest.raises(ValueError, match="same length"):
        plots.plot_predicted_vs_actual(predicted[:3], actual)
    assert "same width" in ax.get_xlabel()


def test_predicted_vs_actual_clips_and_says_how_many():
    actual = np.array([1, 1, 1, 5, 5, 5, 3, 3], dtype=float)
    predicted = np.array([0.5, 1.5, 2.0, 5.4, 5.2, 4.0, 3.0, 3.5])
    ax = plots.plot_predicted_vs_actual(predicted, actual, clip=(1, 5))
    means = ax.get_lines()[0].get_ydata()
    np.testing.assert_allclose(means, [(1 + 1.5 + 2) / 3, 3.25, (5 + 5 + 4) / 3])   # clipped before the means
    (label,) = [t.get_text() for t in ax.get_legend().get_texts() if "clipped" in t.get_text()]
    assert "1 raised to 1" in label and "2 lowered to 5" in label
    assert sorted(line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == ":" and
                  len(line.get_ydata()) == 2) == [1, 5]
    with pytest.raises(ValueError, match="clip"):
        plots.plot_predicted_vs_actual(predicted, actual, clip=(5, 1))
    with pytest.raises(TypeError, match="clip"):
        plots.plot_predicted_vs_actual(predicted, actual, clip=5)


def test_genre_summary_is_what_the_map_marks():
    rng = np.random.default_rng(4)
    data = cflib.make_synthetic(30, 20, 2, nnz=400, seed=4)
    genres = np.zeros((30, 2), dtype=bool)
    genres[:12, 0] = True
    genres[8:20, 1] = True  # movies 8..11 are in both: the first listed genre wins
    data = type(data)(**{**{f: getattr(data, f) for f in ("movies", "users", "ratings", "n_movies", "n_users",
                                                          "titles", "movie_ids", "user_ids", "name")},
                         "genre_names": ("Alpha", "Beta"), "genres": genres})
    X = rng.standard_normal((30, 3))
    stats, explained = movie_map.genre_summary(X, data, genres=("Alpha", "Beta"), min_ratings=1)
    assert stats["Alpha"][0] == 12 and stats["Beta"][0] == 8
    coords, again = movie_map.embedding_2d(X, rows=np.arange(30))
    np.testing.assert_allclose(explained, again)
    np.testing.assert_allclose(stats["Alpha"][2], np.median(coords[:12], axis=0))
    ax = movie_map.plot_embedding(X, data, genres=("Alpha", "Beta"), min_ratings=1, summary=True)
    crosses = [line for line in ax.get_lines() if line.get_marker() == "P"]
    assert len(crosses) == 2 and np.allclose(crosses[0].get_xydata()[0], stats["Alpha"][2])
    assert any("median and quartiles" in t.get_text() for t in ax.texts)
    plt.close(ax.figure)
