"""CPU time of one move of every widget control, at the notebooks' settings and at the sliders' extremes.

What a learner waits for after releasing a slider: the observer's whole work
(retraining, re-evaluating, drawing and encoding the figure or the table),
measured as the process's CPU time (``time.process_time``, all threads), which
moves much less than wall time on a shared machine. Each move goes from the
notebook's starting value to a neighbouring value and back, so that every
measured move really changes the setting; the median over the moves is
reported, with the wall-clock median beside it.

    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_widgets.py            # every control, 5 moves each
    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_widgets.py --quick    # 2 moves each, fewer extremes

Widgets and settings (those of notebooks 07, 08 and 10):

* ``TrainingExplorer`` (08): u1.base split 90/10 (seed 0), k 10, lam 10, lr 0.005, 10 ALS
  sweeps; every slider and toggle; then the most expensive settings the sliders allow
  (k 30 with each optimizer at its maximum number of iterations).
* ``RatingWidget`` (07): BEST on all of ml-100k, the notebook's ratings; rating a movie,
  removing it, searching a title, choosing a match.
* ``ImplicitExplorer`` (10): u1, k 20, 10 sweeps; the alpha and lambda sliders.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import cflib  # noqa: E402
from cflib.implicit_widget import ImplicitExplorer  # noqa: E402
from cflib.rating_widget import RatingWidget  # noqa: E402
from cflib.train import BEST, fit  # noqa: E402
from cflib.widgets import TrainingExplorer  # noqa: E402
from measure import machine_markdown, markdown_table  # noqa: E402


def timed(action):
    """(CPU seconds, wall seconds) of ``action()``."""
    cpu, wall = time.process_time(), time.perf_counter()
    action()
    return time.process_time() - cpu, time.perf_counter() - wall


def moves(control, values, repeats):
    """Set ``control.value`` to each of ``values`` in turn, ``repeats`` times: (CPU, wall) per move."""
    out = []
    for _ in range(repeats):
        for v in values:
            out.append(timed(lambda: setattr(control, "value", v)))
    return out


def row(widget, control, setting, samples):
    cpu = [c for c, _ in samples]
    wall = [w for _, w in samples]
    return [widget, control, setting, len(samples), f"{statistics.median(cpu):.3f}", f"{max(cpu):.3f}",
            f"{statistics.median(wall):.3f}"]


def training_explorer(repeats, quick):
    base, _ = cflib.load_split("u1")
    train, val = base.random_split(0.1, seed=0)
    e = TrainingExplorer(train, val, k=10, lam=10.0, lr=0.005, n_iters=10, method="als")
    rows = [row("TrainingExplorer", "k", "ALS, 10 sweeps (08's start)", moves(e.k, [11, 10], repeats)),
            row("TrainingExplorer", "lam", "ALS, 10 sweeps", moves(e.lam, [10 ** 1.1, 10.0], repeats)),
            row("TrainingExplorer", "iterations", "ALS", moves(e.n_iters, [11, 10], repeats)),
            row("TrainingExplorer", "model", "ALS, 10 sweeps", moves(e.kind, ["biased", "normalized"], repeats))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rows.append(row("TrainingExplorer", "optimizer", "ALS <-> gradient descent at its start",
                        moves(e.method, ["gd", "als"], repeats)))
        e.method.value = "gd"
        rows.append(row("TrainingExplorer", "lr", "gradient descent at its start",
                        moves(e.lr, [0.002, 0.005], repeats)))
        extremes = ["als"] if quick else list(e.max_iters)
        for method in extremes:
            e.method.value = method
            e.n_iters.value = e.max_iters[method]
            e.k.value = 29
            rows.append(row("TrainingExplorer", "k", f"{method}, k 29 <-> 30, {e.max_iters[method]} iterations "
                            "(the sliders' most expensive)", moves(e.k, [30, 29], max(1, repeats // 2))))
    return rows


def rating_widget(repeats):
    data = cflib.load_movielens("100k")
    model, _ = fit(data, **BEST)
    rich, _ = fit(data, method="als", kind="biased", k=20, lam=15.0, n_iters=15)
    w = RatingWidget(model, data, n=10, min_ratings=20, similar_model=rich)
    star_wars = cflib.ratings.ratings_by_title(data, {"Star Wars (1977)": 5})
    movie = next(iter(star_wars))
    rate = [timed(lambda: w.rate(movie, 4)) for _ in range(repeats)]
    remove = []
    for _ in range(repeats):
        w.rate(movie, 4)
        remove.append(timed(lambda: w.remove(movie)))
    search = moves(w.search, ["star", "toy"], repeats)
    w.search.value = "star"
    options = [v for _, v in w.matches.options][:2]
    choose = moves(w.matches, options, repeats) if len(options) == 2 else []
    rows = [row("RatingWidget", "rate", "BEST on ml-100k", rate),
            row("RatingWidget", "remove", "BEST on ml-100k", remove),
            row("RatingWidget", "search", "typing a title", search)]
    if choose:
        rows.append(row("RatingWidget", "matches", "choosing a movie (similar movies)", choose))
    return rows


def implicit_explorer(repeats):
    train, test = cflib.load_split("u1")
    user = int(np.argmax(np.bincount(test.users[test.ratings >= 4], minlength=test.n_users)))
    e = ImplicitExplorer(train, test, user=user, k=20, n_iters=10)
    a0, l0 = e.alpha.value, e.lam.value
    a1 = next(a for a in e.alpha.options if a != a0)
    l1 = next(v for v in e.lam.options if v != l0)
    return [row("ImplicitExplorer", "alpha", "k 20, 10 sweeps (10's start)", moves(e.alpha, [a1, a0], repeats)),
            row("ImplicitExplorer", "lambda", "k 20, 10 sweeps", moves(e.lam, [l1, l0], repeats))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 moves per control and fewer extremes")
    parser.add_argument("--repeats", type=int, default=None, help="back-and-forth moves per control (default 3)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    print(machine_markdown() + "\n", flush=True)
    rows = training_explorer(repeats, args.quick)
    rows += implicit_explorer(repeats)
    rows += rating_widget(repeats)
    print(markdown_table(["widget", "control", "setting", "moves", "CPU s (median)", "CPU s (max)",
                          "wall s (median)"], rows))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
