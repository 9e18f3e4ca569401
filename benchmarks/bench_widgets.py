"""CPU time of one move of every widget control, at the notebooks' settings and at the sliders' extremes.

What a learner waits for after releasing a slider: the observer's whole work
(retraining, re-evaluating, drawing and encoding the figure or the table),
measured as the process's CPU time (``time.process_time``, all threads), which
moves much less than wall time on a shared machine. Each move goes from the
notebook's starting value to a neighbouring value and back, so that every
measured move really changes the setting; the median over the moves is
reported, with the wall-clock median beside it.

The explorers keep the runs of the settings they have shown (issue 23), so a
move back to a setting costs no training. Rows marked "new setting" empty that
store before every move (untimed): the cost of a setting never shown before,
the learner's usual case. Rows marked "shown before" move back and forth
between two settings already shown.

    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_widgets.py            # every control, 5 moves each
    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_widgets.py --quick    # 2 moves each, fewer extremes
    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_widgets.py --calibrate  # only the cost per iteration

The calibration (also part of the full run) times ``fit`` as the explorer calls it, for each
optimizer the explorer offers at k = 10 and k = 30, both model kinds, at the registry's
``max_iters``: CPU milliseconds per iteration per 100,000 training ratings (the median of
3 fits, the larger of the two kinds), beside the ``iter_ms`` the registry holds. The
explorer's iterations slider stops where those figures say a move would train for longer
than ``cflib.trainers.MOVE_SECONDS``.

Widgets and settings (those of notebooks 07, 08 and 10):

* ``TrainingExplorer`` (08): u1.base split 90/10 (seed 0), k 10, lam 10, lr 0.005, 10 ALS
  sweeps; every slider and toggle; then the most expensive settings the sliders allow:
  k 20 and 30 with each optimizer at the most iterations its slider offers there (the
  limit ``cflib.trainers.explorer_iterations`` sets from the registry's ``iter_ms``),
  both model kinds; the gradient methods at lr 0.002, which runs every iteration
  without diverging.
* ``RatingWidget`` (07): BEST on all of ml-100k, the notebook's ratings; rating a movie,
  removing it, searching a title, choosing a match.
* ``ImplicitExplorer`` (10): u1, k 20, 10 sweeps; the alpha and lambda sliders, and
  the four corners of the two sliders.
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
from cflib.trainers import METHODS, explorer_methods  # noqa: E402
from cflib.widgets import TrainingExplorer  # noqa: E402
from measure import machine_markdown, markdown_table  # noqa: E402


def timed(action):
    """(CPU seconds, wall seconds) of ``action()``."""
    cpu, wall = time.process_time(), time.perf_counter()
    action()
    return time.process_time() - cpu, time.perf_counter() - wall


def moves(control, values, repeats, forget=None):
    """Set ``control.value`` to each of ``values`` in turn, ``repeats`` times: (CPU, wall) per move.

    ``forget``, when given, is called (untimed) before every move: it empties the widget's
    store of runs, so that every move costs what a setting never shown before costs. Without
    it, every value is shown once untimed first, so that every timed move goes to a setting
    shown before.
    """
    if forget is None:
        for v in values:
            control.value = v
    out = []
    for _ in range(repeats):
        for v in values:
            if forget is not None:
                forget()
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
    new, name = e._cache.clear, "TrainingExplorer"
    rows = [row(name, "k", "ALS, 10 sweeps (08's start), new setting", moves(e.k, [11, 10], repeats, new)),
            row(name, "k", "ALS, 10 sweeps, shown before", moves(e.k, [11, 10], repeats)),
            row(name, "lam", "ALS, 10 sweeps, new setting", moves(e.lam, [10 ** 1.25, 10.0], repeats, new)),
            row(name, "iterations", "ALS, new setting", moves(e.n_iters, [11, 10], repeats, new)),
            row(name, "model", "ALS, 10 sweeps, new setting", moves(e.kind, ["biased", "normalized"], repeats, new))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rows.append(row(name, "optimizer", "ALS <-> gradient descent at its start, new setting",
                        moves(e.method, ["gd", "als"], repeats, new)))
        e.method.value = "gd"
        rows.append(row(name, "lr", "gradient descent at its start, new setting",
                        moves(e.lr, [0.002, 0.005], repeats, new)))
        rows.append(row(name, "lr", "gradient descent at its start, shown before", moves(e.lr, [0.002, 0.005], repeats)))
        e.lr.value = 0.002  # every iteration runs (0.005 diverges for the biased model)
        extremes = ["als"] if quick else list(e.max_iters)
        for method in extremes:
            e.method.value = method
            for kind in ("normalized",) if quick else ("normalized", "biased"):
                e.kind.value = kind
                for top in (30,) if quick else (20, 30):
                    e.k.value = top
                    e.n_iters.value = e.n_iters.max  # the most the slider offers at this k
                    rows.append(row(name, "k", f"{method} ({kind}), k {top - 1} <-> {top}, {e.n_iters.value} "
                                    f"iterations (the most at k {top}), new setting",
                                    moves(e.k, [top - 1, top], max(1, repeats // 2), new)))
    return rows


def calibration():
    """CPU ms per iteration per 100,000 ratings at k 10 and 30 for each explorer optimizer, beside ``iter_ms``."""
    base, _ = cflib.load_split("u1")
    train, val = base.random_split(0.1, seed=0)
    rows = []
    for method in explorer_methods():
        entry = METHODS[method]
        measured = []
        for k in (10, 30):
            per_kind = []
            for kind in entry.kinds:
                kw = dict(k=k, lam=10.0, method=method, kind=kind, n_iters=entry.max_iters, seed=0)
                if entry.uses_lr:
                    kw["lr"] = 0.002
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    cpu = [timed(lambda: fit(train, validation=val, progress=False, **kw))[0] for _ in range(3)]
                per_kind.append(statistics.median(cpu) / entry.max_iters * 1e3 * 1e5 / train.nnz)
            measured.append(max(per_kind))
        rows.append([method, entry.max_iters, f"{measured[0]:.1f}", f"{entry.iter_ms[0]:.1f}",
                     f"{measured[1]:.1f}", f"{entry.iter_ms[1]:.1f}"])
    return markdown_table(["optimizer", "iterations timed", "ms at k 10 (measured)", "iter_ms[0] (registry)",
                           "ms at k 30 (measured)", "iter_ms[1] (registry)"], rows)


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


def implicit_explorer(repeats, quick):
    train, test = cflib.load_split("u1")
    user = int(np.argmax(np.bincount(test.users[test.ratings >= 4], minlength=test.n_users)))
    e = ImplicitExplorer(train, test, user=user, k=20, n_iters=10)
    a0, l0 = e.alpha.value, e.lam.value
    a1 = next(a for a in e.alpha.options if a != a0)
    l1 = next(v for v in e.lam.options if v != l0)
    new, name = e._cache.clear, "ImplicitExplorer"
    rows = [row(name, "alpha", "k 20, 10 sweeps (10's start), new setting", moves(e.alpha, [a1, a0], repeats, new)),
            row(name, "alpha", "k 20, 10 sweeps, shown before", moves(e.alpha, [a1, a0], repeats)),
            row(name, "lambda", "k 20, 10 sweeps, new setting", moves(e.lam, [l1, l0], repeats, new))]
    if not quick:
        for alpha in (e.alpha.options[0], e.alpha.options[-1]):
            e.alpha.value = alpha
            lams = (e.lam.options[0], e.lam.options[-1])
            rows.append(row(name, "lambda", f"alpha {alpha:g}, lambda {lams[0]:g} <-> {lams[1]:g} (the sliders' "
                            "corners), new setting", moves(e.lam, lams, max(1, repeats // 2), new)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 moves per control and fewer extremes")
    parser.add_argument("--repeats", type=int, default=None, help="back-and-forth moves per control (default 3)")
    parser.add_argument("--calibrate", action="store_true", help="only the CPU cost per iteration (iter_ms)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    print(machine_markdown() + "\n", flush=True)
    if args.calibrate or not args.quick:
        print("CPU ms per iteration per 100,000 training ratings (u1, 90 %):\n\n" + calibration() + "\n", flush=True)
        if args.calibrate:
            return
    rows = training_explorer(repeats, args.quick)
    rows += implicit_explorer(repeats, args.quick)
    rows += rating_widget(repeats)
    print(markdown_table(["widget", "control", "setting", "moves", "CPU s (median)", "CPU s (max)",
                          "wall s (median)"], rows))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
