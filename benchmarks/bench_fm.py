"""Benchmark cflib's factorization machine (issue 21) on the official ml-100k folds u1..u5.

Run from the repository root (needs the real MovieLens 100K copy)::

    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_fm.py           # u1..u5
    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_fm.py --quick   # u1 only, few iterations
    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_fm.py --methods fm_mcmc   # BEST, fm_mcmc, myFM

In one run, for every fold, one BLAS thread (the FM solvers' default on ml-100k):

* ``fm_sgd`` and ``fm_als`` with ``features="ids"`` (MF with biases, as an FM) and
  ``features="all"`` (every group of :mod:`cflib.features`);
* ``fm_mcmc`` (k = 10, 200 sweeps, burn-in 10) with ``features="ids"``, the myFM set
  :data:`MYFM_FEATURES` and ``"all"``, and **myFM** (``myfm.MyFMRegressor``, the ``bench``
  extra) beside it on the very same features (the myFM set and ``"all"``): cflib's blocks
  handed to myFM as its relation blocks (:func:`myfm_design`), one hyperprior group per cflib
  group, rank 10, the same sweeps, burn-in and clipping;
* ALS ``BEST`` of :mod:`cflib.train`, cflib's best model on the ids alone, for reference.

**Hyperparameters are chosen on validation, never on the test file.** Each fold's training
file is split once more (``train.random_split(0.1, seed=0)``: 90 % fit, 10 % validation); every
setting of the small grid :data:`GRID` is fitted on the 90 % and scored on the 10 %; the setting
with the lowest validation RMSE is refitted on the whole training file, and only that model
meets the test file. Fit time is the refit's (wall clock and CPU time of the process; the grid
search and prediction excluded).

Both samplers run on one thread: ``OMP_NUM_THREADS=1`` is set before numpy, cflib and myFM
are imported (myFM's Gibbs sampler is single-threaded C++). ``fm_mcmc`` uses its compiled draws
when numba is installed (:mod:`cflib.fm_draws`; the script prints which), and myFM's fit time
includes building the feature blocks, as cflib's does. Without myFM its rows are skipped.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # myFM's progress bar

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

import cflib  # noqa: E402
from cflib.datasets import load_side_info  # noqa: E402
from cflib.evaluate import evaluate, rmse  # noqa: E402
from cflib.features import GROUP_SIDE, build_features  # noqa: E402
from cflib.fm_draws import compiled_available  # noqa: E402
from cflib.train import BEST, fit  # noqa: E402
from measure import load_average, machine_markdown, markdown_table  # noqa: E402

#: The settings tried on each fold's validation split: fixed options, then the grid.
GRID = {
    "fm_als": (dict(k=10, n_iters=15, lam_bias=5.0), dict(lam=(10.0, 20.0, 40.0))),
    "fm_sgd": (dict(k=10, n_iters=20, lam_bias=5.0, batch_size=1024, lr_decay=0.95),
               dict(lam=(10.0, 30.0), lr=(0.02, 0.05))),
    "fm_mcmc": (dict(k=10, n_iters=200, burn_in=10), {}),  # nothing to tune: issue 21's setting of myFM
}
QUICK = {
    "fm_als": (dict(k=4, n_iters=3, lam_bias=5.0), dict(lam=(10.0, 40.0))),
    "fm_sgd": (dict(k=4, n_iters=2, lam_bias=5.0, batch_size=1024, lr_decay=0.95), dict(lam=(10.0,), lr=(0.05,))),
    "fm_mcmc": (dict(k=4, n_iters=4, burn_in=1), {}),
}
#: The features of myFM's ml-100k example, as issue 21 quotes it: the date, the user attributes,
#: and "users who rated this movie" weighted 1/sqrt(n) (with the two ids).
MYFM_FEATURES = ("user", "movie", "age", "gender", "occupation", "zip", "date", "movie_raters")
#: The feature sets per method; fm_mcmc also runs myFM's set (the comparison of issue 21). myFM runs
#: beside fm_mcmc on every set but ids, with the same features.
FEATURES = {"fm_sgd": ("ids", "all"), "fm_als": ("ids", "all"), "fm_mcmc": ("ids", MYFM_FEATURES, "all")}


def timed_fit(train, **kw):
    """(model, wall seconds, CPU seconds) of one fit."""
    wall, cpu = time.perf_counter(), time.process_time()
    model, _ = fit(train, **kw)
    return model, time.perf_counter() - wall, time.process_time() - cpu


def myfm_design(space, movies, users, timestamps):
    """cflib's feature blocks as myFM's input: ``(empty X (n, 0), relation blocks, group sizes)``.

    One ``myfm.RelationBlock`` per block (user, movie, date) holding the block's columns of the
    space's groups, and ``group_shapes`` giving one hyperprior group per cflib
    group, in myFM's column order (the blocks one after the other).
    """
    import myfm

    idx = space.indices(movies, users, timestamps)
    blocks, shapes = [], []
    for side in ("user", "movie", "date"):
        groups = [g for g in space.groups if GROUP_SIDE[g] == side]
        if groups:
            cols = np.concatenate([np.arange(space.group_slices[g].start, space.group_slices[g].stop) for g in groups])
            blocks.append(myfm.RelationBlock(idx[side], space.blocks[side][:, cols].tocsr()))
            shapes += [space.group_slices[g].stop - space.group_slices[g].start for g in groups]
    return sp.csr_matrix((idx["user"].size, 0)), blocks, shapes


def fit_myfm(train, test, side, options, features=MYFM_FEATURES):
    """myFM on ``features``, the settings of ``options`` (k, n_iters, burn_in): (test RMSE, wall s, CPU s)."""
    import myfm

    wall, cpu = time.perf_counter(), time.process_time()
    space = build_features(train, features, side)
    X, blocks, shapes = myfm_design(space, train.movies, train.users, train.timestamps)
    fm = myfm.MyFMRegressor(rank=options["k"], random_seed=0)
    fm.fit(X, train.ratings, X_rel=blocks, n_iter=options["n_iters"],
           n_kept_samples=options["n_iters"] - options.get("burn_in", 0), group_shapes=shapes,
           callback=lambda *_: (False, None))  # no status line (TQDM_DISABLE hides the bar)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    X_test, blocks_test, _ = myfm_design(space, test.movies, test.users, test.timestamps)
    pred = np.clip(fm.predict(X_test, blocks_test), *train.scale)  # clipped as cflib's evaluate clips
    return rmse(pred, test.ratings), wall, cpu


def choose(train, method, features, side, grid):
    """The grid setting with the lowest validation RMSE on a 10 % split of ``train``, and that RMSE."""
    fixed, axes = grid[method]
    if not axes:
        return fixed, float("nan")
    fit_part, val = train.random_split(0.1, seed=0)
    best = None
    for values in itertools.product(*axes.values()):
        options = {**fixed, **dict(zip(axes, values))}
        model, _ = fit(fit_part, method=method, features=features, side=side, **options)
        score = evaluate(model, val)["rmse"]
        if best is None or score < best[1]:
            best = (options, score)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="u1 only, tiny grids (seconds: checks the script runs)")
    parser.add_argument("--folds", nargs="+", default=None)
    parser.add_argument("--methods", nargs="+", default=list(GRID), choices=list(GRID))
    parser.add_argument("--sweeps", type=int, default=None, help="fm_mcmc's (and myFM's) number of sweeps (default 200)")
    args = parser.parse_args()
    try:
        import myfm
    except ImportError:
        myfm = None
        print("myfm is not installed (pip install -e '.[bench]'): its rows are skipped")
    folds = args.folds or (["u1"] if args.quick else ["u1", "u2", "u3", "u4", "u5"])
    grid = dict(QUICK if args.quick else GRID)
    if args.sweeps is not None:
        grid["fm_mcmc"] = ({**grid["fm_mcmc"][0], "n_iters": args.sweeps}, {})
    print(machine_markdown())
    print(f"- fm_mcmc draws: {'compiled (numba)' if compiled_available() else 'numpy (numba not installed)'}; "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}" + (f"; myfm {myfm.__version__}" if myfm else ""))
    side = load_side_info(progress=False)
    results = {}  # (label) -> list of (fold, rmse, wall, cpu, options)
    for fold in folds:
        train, test = cflib.load_split(fold, progress=False)
        model, wall, cpu = timed_fit(train, **BEST)
        results.setdefault("BEST (als, ids)", []).append((fold, evaluate(model, test)["rmse"], wall, cpu, "BEST"))
        for method, features in [(m, f) for m in args.methods for f in FEATURES[m]]:
            options, val_rmse = choose(train, method, features, side, grid)
            model, wall, cpu = timed_fit(train, method=method, features=features, side=side, **options)
            chosen = ", ".join(f"{k}={v:g}" for k, v in options.items() if k in grid[method][1]) or "none to choose"
            label = f"{method}, {features if isinstance(features, str) else 'myFM set'}"
            results.setdefault(label, []).append(
                (fold, evaluate(model, test)["rmse"], wall, cpu,
                 chosen if val_rmse != val_rmse else f"{chosen} (val {val_rmse:.4f})"))
            print(f"{fold} {label}: test RMSE {results[label][-1][1]:.4f}, fit {wall:.1f} s, chosen {chosen}",
                  flush=True)
            if method == "fm_mcmc" and features != "ids" and myfm is not None:
                score, wall, cpu = fit_myfm(train, test, side, options, features=model.space.groups)
                name = label.replace("fm_mcmc", "myFM")
                results.setdefault(name, []).append((fold, score, wall, cpu, "none to choose"))
                print(f"{fold} {name}: test RMSE {score:.4f}, fit {wall:.1f} s", flush=True)
    print(f"- load average at end: {load_average()}")
    print()
    rows = []
    for label, runs in results.items():
        rows.append([label, f"{statistics.mean(r[1] for r in runs):.4f}",
                     " / ".join(f"{r[1]:.4f}" for r in runs),
                     f"{statistics.median(r[2] for r in runs):.2f} s", f"{statistics.median(r[3] for r in runs):.2f} s"])
    print(markdown_table(["model, features", "mean test RMSE", "per fold (" + ", ".join(folds) + ")",
                          "median fit time (wall)", "median fit CPU time"], rows))
    print()
    for name in ("myFM set", "all"):
        ours, theirs = results.get(f"fm_mcmc, {name}"), results.get(f"myFM, {name}")
        if ours and theirs:
            ratio = [statistics.median(r[i] for r in ours) / statistics.median(r[i] for r in theirs) for i in (2, 3)]
            print(f"fm_mcmc / myFM, {name}, median fit time: {ratio[0]:.2f} (wall), {ratio[1]:.2f} (CPU); mean test "
                  f"RMSE {statistics.mean(r[1] for r in ours):.4f} vs {statistics.mean(r[1] for r in theirs):.4f}")
    print()
    print(markdown_table(["model, features", "settings chosen on validation, per fold"],
                         [[label, "; ".join(f"{r[0]}: {r[4]}" for r in runs)] for label, runs in results.items()
                          if not label.startswith("BEST")]))


if __name__ == "__main__":
    main()
