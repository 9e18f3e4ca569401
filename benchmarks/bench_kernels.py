"""The two kernel choices behind the explorer's speed (issue 23): how rows are gathered, and how ALS builds its Grams.

1. **Gathers.** Every gradient evaluation gathers the rows of X and Theta of each rating
   (``cflib.sparse.row_dots``), and implicit ALS's conjugate-gradient products gather a row
   of the fixed factor per entry. Timed here at the sizes of u1 (72,000 training ratings):
   fancy indexing ``F[idx]``, ``np.take`` with its default ``mode="raise"`` (a bounds check
   per index) and ``np.take(mode="clip")`` into a kept buffer, which cflib uses after one
   bounds check of the whole index array.
2. **ALS Gram matrices** ``A_r = sum_c f_c f_c^T`` of both sides of u1
   (``cflib.grams.gram_matrices``): the sparse product of the pattern with the upper
   triangles of all outer products, against the batched BLAS products over buckets of rows
   with similar counts, by number of columns d. ``LOOP_MIN_D`` picks the path.

CPU time of the process (``time.process_time``), median of 20 repetitions, one BLAS thread::

    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_kernels.py
    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_kernels.py --quick   # 3 repetitions, two d
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import cflib  # noqa: E402
from cflib import als, grams  # noqa: E402
from measure import machine_markdown, markdown_table  # noqa: E402


REPEATS = 20


def cpu_ms(action):
    """Median CPU milliseconds of ``action()`` over ``REPEATS`` runs."""
    out = []
    for _ in range(REPEATS):
        start = time.process_time()
        action()
        out.append(time.process_time() - start)
    return 1e3 * statistics.median(out)


def gathers(train, rng):
    rows = []
    for k, dtype in ((10, np.float64), (30, np.float64), (20, np.float32)):
        F = rng.standard_normal((train.n_users, k)).astype(dtype)
        idx = np.ascontiguousarray(train.users, dtype=np.int32)
        buf = np.empty((idx.size, k), dtype)
        fancy = cpu_ms(lambda: F[idx])
        checked = cpu_ms(lambda: np.take(F, idx, axis=0, out=buf))
        clip = cpu_ms(lambda: np.take(F, idx, axis=0, out=buf, mode="clip"))
        rows.append([k, np.dtype(dtype).name, f"{fancy:.2f}", f"{checked:.2f}", f"{clip:.2f}", f"{checked / clip:.1f}"])
    return markdown_table(["k", "dtype", "F[idx] ms", "take (raise) ms", "take (clip) ms", "raise / clip"], rows)


def gram_paths(train, rng, ds):
    movie_side = als.RowSystems(train.movies, train.users, train.n_movies, train.n_users)
    user_side = als.RowSystems(train.users, train.movies, train.n_users, train.n_movies)
    chosen = grams.LOOP_MIN_D
    rows = []
    try:
        for d in ds:
            Theta = rng.standard_normal((train.n_users, d))
            X = rng.standard_normal((train.n_movies, d))
            times = []
            for min_d in (10**6, 1):  # the sparse product, then the batched products
                grams.LOOP_MIN_D = min_d
                times.append(cpu_ms(lambda: movie_side._grams(Theta)) + cpu_ms(lambda: user_side._grams(X)))
            faster = "batched" if times[1] < times[0] else "sparse"
            rows.append([d, f"{times[0]:.1f}", f"{times[1]:.1f}", faster, "batched" if d >= chosen else "sparse"])
    finally:
        grams.LOOP_MIN_D = chosen
    return markdown_table(["d", "sparse product ms", "batched buckets ms", "faster", f"cflib (LOOP_MIN_D = {chosen})"],
                          rows)


def main(argv=None):
    global REPEATS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions, d 6 and 31 only")
    args = parser.parse_args(argv)
    REPEATS = 3 if args.quick else 20
    ds = (6, 31) if args.quick else (6, 11, 14, 16, 21, 26, 31, 51)
    print(machine_markdown() + "\n", flush=True)
    base, _ = cflib.load_split("u1")
    train, _ = base.random_split(0.1, seed=0)
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        print(f"Gathers of one row per rating ({train.nnz:,} ratings, rows of Theta):\n\n{gathers(train, rng)}\n",
              flush=True)
        print(f"ALS Gram matrices, both sides of u1 ({train.nnz:,} ratings):\n\n{gram_paths(train, rng, ds)}")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
