"""Scale benchmark: train on a synthetic MovieLens-25M shape with the sparse path.

Run from the repository root, by hand (not in CI): 2.5 minutes on an idle 2-core
machine, 13 minutes when other jobs kept it busy; 3.5 GiB peak resident memory::

    python benchmarks/bench_scale.py                 # 162,541 users x 59,047 movies, 25,000,095 ratings
    python benchmarks/bench_scale.py --quick         # tiny shape, a smoke run of a few seconds

Steps, each timed and with its memory:

1. the memory the dense form would need at this shape (computed, never allocated);
2. generate the ratings with :func:`cflib.make_synthetic` and split off a
   validation set (``--val-fraction``);
3. build one :class:`cflib.SparseProblem` on the training ratings and time one
   cost + gradient evaluation at k = 10 and k = 50;
4. train with :func:`cflib.train.fit` (``--method``, ``--k``, ``--iters``) and
   report the time and the training and validation RMSE of every iteration,
   next to the global-mean baseline.

Memory figures: tracemalloc peaks per step (numpy buffers included) and the
process's resident-memory high-water mark (``ru_maxrss``). Output is markdown.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc

import numpy as np

import cflib
from cflib.train import fit
from measure import (fmt_bytes, fmt_seconds, load_average, machine_markdown, markdown_table, max_rss_bytes,
                     median, peak_extra_bytes)

FULL = ("ml-25m shape", 59_047, 162_541, 25_000_095)
QUICK = ("tiny", 300, 500, 15_000)
# Dense bytes per (movie, user) entry: Y float64 + R bool, then the evaluation's
# temporaries (X @ Theta.T, its difference with Y, np.where): measured ~16 by bench_cost.py.
DENSE_INPUT_BYTES = 9
DENSE_EXTRA_BYTES = 16


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shape, a smoke run of a few seconds")
    parser.add_argument("--method", default="als", choices=["als", "lbfgs"], help="trainer (default als)")
    parser.add_argument("--model", default="biased", choices=["biased", "normalized"], help="model (default biased)")
    parser.add_argument("--k", type=int, default=10, help="features for training (default 10)")
    parser.add_argument("--iters", type=int, default=None, help="training iterations (default: als 5, lbfgs 20)")
    parser.add_argument("--val-fraction", type=float, default=0.02, help="share of ratings held out (default 0.02)")
    parser.add_argument("--repeats", type=int, default=2, help="timed cost + gradient runs per k (default 2)")
    args = parser.parse_args(argv)
    name, n_movies, n_users, nnz = QUICK if args.quick else FULL
    n_iters = args.iters or {"als": 5, "lbfgs": 20}[args.method]

    print(f"## Scale: {name}\n")
    print(machine_markdown())
    print(f"- command: `python benchmarks/bench_scale.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n")
    entries = n_movies * n_users
    print(f"Shape {n_movies:,} movies x {n_users:,} users = {entries:,} entries, {nnz:,} ratings "
          f"(density {nnz / entries:.4%}).\n")
    print(markdown_table(["dense array", "memory"], [
        ["Y (float64)", fmt_bytes(8 * entries)],
        ["R (bool)", fmt_bytes(entries)],
        ["one dense cost + gradient (Y, R and temporaries)", fmt_bytes((DENSE_INPUT_BYTES + DENSE_EXTRA_BYTES) * entries)],
    ]))
    print()

    steps = []  # [step, time, peak extra memory, note]
    tracemalloc.start()

    def step(label, fn, note=""):
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        start_cpu = time.process_time()
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        cpu = time.process_time() - start_cpu
        peak = tracemalloc.get_traced_memory()[1] - before
        steps.append([label, fmt_seconds(seconds), fmt_seconds(cpu), fmt_bytes(peak), note])
        print(f"  {label}: {fmt_seconds(seconds)}, load {load_average()}", file=sys.stderr, flush=True)
        return result

    data, (X_true, Theta_true) = step(
        "generate (make_synthetic, seed 0)",
        lambda: cflib.make_synthetic(n_movies, n_users, 10, nnz=nnz, seed=0, return_factors=True))
    train, val = step(f"split off {args.val_fraction:.0%} for validation",
                      lambda: data.random_split(args.val_fraction, seed=0))
    del data
    prob = step("build SparseProblem (train)", lambda: cflib.SparseProblem.from_ratings(train))
    steps[-1][-1] = f"keeps {fmt_bytes(prob.nbytes)}"
    tracemalloc.stop()  # timings below without tracing; memory measured in separate calls

    eval_rows = []
    rng = np.random.default_rng(1)
    for k in (10, 50):
        X = rng.standard_normal((n_movies, k)) / np.sqrt(k)
        Theta = rng.standard_normal((n_users, k)) / np.sqrt(k)
        # At this size one call takes seconds: no warm-up, and each timed call
        # also measures its memory (so tracemalloc is on during the timed calls).
        times, cpus, mems = [], [], []
        for _ in range(args.repeats):
            start_cpu = time.process_time()
            start = time.perf_counter()
            _, mem = peak_extra_bytes(lambda: prob.cost_and_gradient(X, Theta, 1.0))
            times.append(time.perf_counter() - start)
            cpus.append(time.process_time() - start_cpu)
            mems.append(mem)
        mem = max(mems)
        eval_rows.append([k, fmt_seconds(median(times)), fmt_seconds(median(cpus)), args.repeats, fmt_bytes(mem)])
        print(f"  cost + gradient k={k}: median {fmt_seconds(median(times))}, load {load_average()}",
              file=sys.stderr, flush=True)
        del X, Theta
    del prob

    tracemalloc.start()
    model, history = step(f"fit(method={args.method!r}, kind={args.model!r}, k={args.k}, n_iters={n_iters})",
                          lambda: fit(train, k=args.k, method=args.method, kind=args.model, n_iters=n_iters,
                                      validation=val),
                          "includes setup and per-iteration RMSEs")
    tracemalloc.stop()

    mean = float(train.ratings.mean())
    baseline = float(np.sqrt(np.mean((np.clip(mean, 1, 5) - val.ratings) ** 2)))
    # The model that generated the data, clipped: the floor set by the noise and the rounding.
    truth = np.clip(np.einsum("ij,ij->i", X_true[val.movies], Theta_true[val.users]), 1, 5)
    floor = float(np.sqrt(np.mean((truth - val.ratings) ** 2)))
    t = np.asarray(history.time)
    per_iter = np.diff(np.concatenate([[0.0], t]))
    iter_rows = [[i + 1, fmt_seconds(per_iter[i]), f"{history.train_rmse[i]:.4f}", f"{history.val_rmse[i]:.4f}"]
                 for i in range(len(t))]

    print(markdown_table(["step", "time", "CPU time", "peak extra memory (tracemalloc)", "note"], steps))
    print(f"\nProcess resident-memory high-water mark: {fmt_bytes(max_rss_bytes())}.\n")
    print("### One sparse cost + gradient on the training ratings\n")
    print(markdown_table(["k", "median time", "median CPU time", "runs", "peak extra memory"], eval_rows))
    print(f"\n### Training: {args.method}, {args.model} model, k={args.k}, "
          f"{train.nnz:,} training / {val.nnz:,} validation ratings\n")
    print(markdown_table(["iteration", "time", "train RMSE", "validation RMSE"], iter_rows))
    print(f"\nValidation RMSE of the global mean: {baseline:.4f}; of the true model that generated the "
          f"ratings (the floor: noise and rounding to whole stars): {floor:.4f}. "
          f"Median time per iteration: {fmt_seconds(median(per_iter[1:] if per_iter.size > 1 else per_iter))} "
          f"(the first includes the trainer's setup).")
    print(f"\n- load average at end: {load_average()}")


if __name__ == "__main__":
    main()
