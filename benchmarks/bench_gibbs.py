"""Benchmark the Gibbs sampler of cflib against myFM on the official ml-100k folds u1..u5.

Run from the repository root (needs the real MovieLens 100K copy and ``pip install myfm``,
the ``bench`` extra)::

    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_gibbs.py           # ~1 min
    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_gibbs.py --quick   # u1 only, 20 sweeps

In one run, on the same folds, one thread each (BLAS pinned to 1 thread by
``fit_gibbs``; ``OMP_NUM_THREADS=1`` set before myFM is imported):

* ``cflib.gibbs.fit_gibbs(train, k=10, n_iters=200, seed=0)`` (the default burn-in, 10 sweeps);
* ``myfm.MyFMRegressor(rank=10, random_seed=0).fit(X, y, n_iter=200)`` on one-hot
  user and movie features (its defaults: every sample kept, one hyperparameter group);
* ALS ``BEST`` of :mod:`cflib.train`, for reference.

Reported: mean test RMSE over the folds (clipped predictions), each fold's,
median fit time per fold (wall clock and CPU time of the process; prediction
time excluded for both), the ratios of the medians, and for cflib the calibration: the share of test ratings
inside the central 50/80/90% Gaussian predictive intervals
(mean +- z * ``predict_std``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from scipy.stats import norm  # noqa: E402

import cflib  # noqa: E402
from cflib.evaluate import evaluate, rmse  # noqa: E402
from cflib.gibbs import fit_gibbs  # noqa: E402
from cflib.train import BEST, fit  # noqa: E402

LEVELS = (0.5, 0.8, 0.9)


def one_hot(r):
    """(nnz, n_users + n_movies) CSR: a 1 in the user's column and one in the movie's."""
    rows = np.repeat(np.arange(r.nnz), 2)
    cols = np.stack([r.users, r.n_users + r.movies], axis=1).ravel()
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(r.nnz, r.n_users + r.n_movies))


def coverage(model, test):
    mean = model.predict(test.movies, test.users, clip=False)
    std = model.predict_std(test.movies, test.users)
    return [float(np.mean(np.abs(test.ratings - mean) <= norm.ppf(0.5 + q / 2) * std)) for q in LEVELS]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="u1 only, 20 sweeps")
    args = parser.parse_args()
    folds = ["u1"] if args.quick else ["u1", "u2", "u3", "u4", "u5"]
    n_iters = 20 if args.quick else 200
    try:
        import myfm
    except ImportError:
        myfm = None
        print("myfm is not installed (pip install myfm): its rows are skipped")
    res = {"cflib gibbs": ([], [], []), "myFM": ([], [], []), "cflib ALS BEST": ([], [], [])}
    cover = []
    for name in folds:
        train, test = cflib.load_split(name)
        t, c = time.perf_counter(), time.process_time()
        model, _ = fit_gibbs(train, k=10, n_iters=n_iters, seed=0)
        res["cflib gibbs"][1].append(time.perf_counter() - t)
        res["cflib gibbs"][2].append(time.process_time() - c)
        res["cflib gibbs"][0].append(evaluate(model, test)["rmse"])
        cover.append(coverage(model, test))
        if myfm is not None:
            X, Xt = one_hot(train), one_hot(test)
            fm = myfm.MyFMRegressor(rank=10, random_seed=0)
            t, c = time.perf_counter(), time.process_time()
            fm.fit(X, train.ratings, n_iter=n_iters)
            res["myFM"][1].append(time.perf_counter() - t)
            res["myFM"][2].append(time.process_time() - c)
            res["myFM"][0].append(rmse(fm.predict(Xt), test.ratings))
        t, c = time.perf_counter(), time.process_time()
        als = fit(train, **BEST)
        als = als[0] if isinstance(als, tuple) else als
        res["cflib ALS BEST"][1].append(time.perf_counter() - t)
        res["cflib ALS BEST"][2].append(time.process_time() - c)
        res["cflib ALS BEST"][0].append(evaluate(als, test)["rmse"])
        print(f"{name}: " + ", ".join(f"{k} {v[0][-1]:.4f} in {v[1][-1]:.2f} s" for k, v in res.items() if v[0]),
              flush=True)
    print(f"\nml-100k {', '.join(folds)}, rank 10, {n_iters} sweeps, one thread each\n")
    print("| model | mean test RMSE | per fold | median fit time per fold (wall) | (CPU) |")
    print("|---|---|---|---|---|")
    for k, (errs, times, cpu) in res.items():
        if errs:
            print(f"| {k} | {np.mean(errs):.4f} | {' '.join(f'{e:.4f}' for e in errs)} | "
                  f"{statistics.median(times):.2f} s | {statistics.median(cpu):.2f} s |")
    if res["myFM"][1]:
        for what, i in (("wall", 1), ("CPU", 2)):
            ratio = statistics.median(res["cflib gibbs"][i]) / statistics.median(res["myFM"][i])
            print(f"\ncflib gibbs / myFM median fit time ({what}): {ratio:.2f}")
    print("\nCalibration of cflib gibbs (share of test ratings inside the central interval, mean over folds):\n")
    print("| interval | " + " | ".join(f"{int(q * 100)}%" for q in LEVELS) + " |")
    print("|---|" + "---|" * len(LEVELS))
    print("| share inside | " + " | ".join(f"{c:.3f}" for c in np.mean(cover, axis=0)) + " |")


if __name__ == "__main__":
    main()
