"""Benchmark one cost + gradient evaluation: loops, dense vectorized, sparse.

Run from the repository root::

    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_cost.py          # full, ~3-5 min
    python benchmarks/bench_cost.py --quick                                # smoke run, seconds

Cases: MovieLens 100K (the real data when ``CFLIB_DATA_DIR`` points at it,
otherwise a synthetic set of the same shape, said in the output), and
synthetic sets of the MovieLens 1M and 10M shapes from
:func:`cflib.make_synthetic` (generation is not timed). Each case is run with
k = 10 and k = 50 and ``lam = 1``.

* loop: ``cost_loop`` + ``gradient_loop``, one run, ml-100k only;
* dense: ``cost_and_gradient(X, Theta, Y, R, lam)``, where Y and R fit
  (``--dense-limit-gb``); otherwise the memory it would need is printed;
* sparse: ``SparseProblem.cost_and_gradient``, the problem built once (its
  build time and memory are reported apart).

Time is the median of ``--repeats`` runs (one warm-up call first). Memory is
the peak that one evaluation allocates on top of its inputs, measured in a
separate, untimed call with tracemalloc. A second table compares one and two
BLAS threads for the sparse evaluation (threadpoolctl). Output is markdown.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

import cflib
from cflib.ratings import DENSE_LIMIT_BYTES
from measure import (fmt_bytes, fmt_seconds, load_average, machine_markdown, markdown_table, median,
                     peak_extra_bytes, time_runs)

LAM = 1.0
# Bytes per (movie, user) entry of the dense inputs: Y float64 + R bool.
DENSE_INPUT_BYTES = 9
# Extra bytes per entry one dense evaluation allocates (X @ Theta.T, its
# difference with Y, np.where); replaced by the value measured in the run when
# a dense case runs.
DENSE_EXTRA_BYTES_GUESS = 16


@dataclass
class Case:
    name: str
    n_movies: int
    n_users: int
    nnz: int
    real: bool = False  # the real ml-100k when available
    loop: bool = False  # run the loop implementation


FULL = [
    Case("ml-100k", 1682, 943, 100_000, real=True, loop=True),
    Case("ml-1m", 3706, 6040, 1_000_209),
    Case("ml-10m", 10677, 69878, 10_000_054),
]
QUICK = [
    Case("tiny", 60, 40, 600, loop=True),
    Case("small", 400, 300, 12_000),
]
KS_FULL = (10, 50)
KS_QUICK = (3, 8)


def load_case(case: Case):
    """The ratings of one case and a description of where they came from."""
    if case.real:
        try:
            return cflib.load_movielens("100k"), "real MovieLens 100K"
        except (FileNotFoundError, OSError) as exc:
            print(f"\n> ml-100k not found ({exc.__class__.__name__}); using a synthetic set of its shape.\n")
    data = cflib.make_synthetic(case.n_movies, case.n_users, 10, nnz=case.nnz, seed=0)
    return data, "synthetic (make_synthetic, seed 0)"


def factors(data, k, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((data.n_movies, k)) / np.sqrt(k)
    Theta = rng.standard_normal((data.n_users, k)) / np.sqrt(k)
    return X, Theta


def max_rel_diff(a, b) -> float:
    """max |a - b| / max |b| over J and both gradient blocks."""
    (Ja, (Xa, Ta)), (Jb, (Xb, Tb)) = a, b
    num = max(abs(Ja - Jb), np.max(np.abs(Xa - Xb), initial=0.0), np.max(np.abs(Ta - Tb), initial=0.0))
    den = max(abs(Jb), np.max(np.abs(Xb), initial=0.0), np.max(np.abs(Tb), initial=0.0))
    return float(num / den) if den else float(num)


def run_case(case, data, source, ks, repeats, dense_limit, dense_extra, rows, notes):
    entries = data.n_movies * data.n_users
    dense_inputs = DENSE_INPUT_BYTES * entries
    shape = f"{data.n_movies:,} x {data.n_users:,}"
    # Build the sparse problem once: its time and memory are reported apart.
    start = time.perf_counter()
    prob, build_mem = peak_extra_bytes(lambda: cflib.SparseProblem.from_ratings(data))
    build_time = time.perf_counter() - start
    kept = prob.nbytes
    notes.append(f"{case.name}: SparseProblem built in {fmt_seconds(build_time)} (traced), "
                 f"keeps {fmt_bytes(kept)}, peak while building {fmt_bytes(build_mem)}; data: {source}")
    dense_fits = dense_inputs + dense_extra * entries <= dense_limit and dense_inputs <= DENSE_LIMIT_BYTES
    Y = R = None
    if dense_fits:
        Y, R = data.Y, data.R
    for k in ks:
        X, Theta = factors(data, k)
        base = [case.name, shape, f"{data.nnz:,}", k]
        sparse_fn = lambda: prob.cost_and_gradient(X, Theta, LAM)  # noqa: E731
        c_sparse = []
        t_sparse = time_runs(sparse_fn, repeats, cpu=c_sparse)
        sparse_res, sparse_mem = peak_extra_bytes(sparse_fn)
        diff = "-"
        if case.loop and Y is not None:
            def loop_fn():
                return cflib.cost_loop(X, Theta, Y, R, LAM), cflib.gradient_loop(X, Theta, Y, R, LAM)
            c_loop = []
            t_loop = time_runs(loop_fn, 1, warmup=0, cpu=c_loop)
            loop_res, loop_mem = peak_extra_bytes(loop_fn)
            rows.append(base + ["loop", fmt_seconds(t_loop[0]), fmt_seconds(c_loop[0]), "1", fmt_bytes(dense_inputs),
                                fmt_bytes(loop_mem), f"{max_rel_diff(sparse_res, loop_res):.1e}"])
        if Y is not None:
            dense_fn = lambda: cflib.cost_and_gradient(X, Theta, Y, R, LAM)  # noqa: E731
            c_dense = []
            t_dense = time_runs(dense_fn, repeats, cpu=c_dense)
            dense_res, dense_mem = peak_extra_bytes(dense_fn)
            diff = f"{max_rel_diff(sparse_res, dense_res):.1e}"
            rows.append(base + ["dense", fmt_seconds(median(t_dense)), fmt_seconds(median(c_dense)), str(repeats),
                                fmt_bytes(dense_inputs), fmt_bytes(dense_mem), "0 (reference)"])
        else:
            need = dense_inputs + dense_extra * entries
            rows.append(base + ["dense", "does not fit", "-", "-", fmt_bytes(dense_inputs),
                                f"would need ~{fmt_bytes(need)} in all", "-"])
        rows.append(base + ["sparse", fmt_seconds(median(t_sparse)), fmt_seconds(median(c_sparse)), str(repeats),
                            fmt_bytes(kept), fmt_bytes(sparse_mem), diff])
        print(f"  done {case.name} k={k}: sparse median {fmt_seconds(median(t_sparse))} "
              f"(min {fmt_seconds(min(t_sparse))}), load {load_average()}", file=sys.stderr)
    return Y is not None


def measured_dense_extra(data, k=10):
    """Bytes per (movie, user) entry that one dense evaluation allocates, measured."""
    X, Theta = factors(data, k)
    _, mem = peak_extra_bytes(lambda: cflib.cost_and_gradient(X, Theta, data.Y, data.R, LAM))
    return mem / (data.n_movies * data.n_users)


def thread_table(cases_data, ks, repeats, Baseline=None):
    """Median wall time of the sparse evaluation with 1 and 2 BLAS threads (and of the baseline's)."""
    versions = [("current", cflib.SparseProblem)] + ([("baseline", Baseline)] if Baseline else [])
    rows = []
    for case, data in cases_data:
        for label, cls in versions:
            prob = cls(data.movies, data.users, data.ratings, data.n_movies, data.n_users)
            for k in ks:
                X, Theta = factors(data, k)
                medians = []
                for n in (1, 2):
                    with threadpool_limits(limits=n, user_api="blas"):
                        medians.append(median(time_runs(lambda: prob.cost_and_gradient(X, Theta, LAM), repeats)))
                rows.append([case.name, label, k, fmt_seconds(medians[0]), fmt_seconds(medians[1]),
                             f"{medians[0] / medians[1]:.2f}"])
    return markdown_table(["data", "sparse.py", "k", "1 BLAS thread", "2 BLAS threads", "speed-up with 2"], rows)


def load_baseline(path):
    """SparseProblem from another version of cflib/sparse.py (e.g. ``git show REV:cflib/sparse.py``)."""
    spec = importlib.util.spec_from_file_location("cflib._baseline_sparse", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its relative imports resolve inside the installed cflib
    return module.SparseProblem


def baseline_table(cases_data, ks, repeats, Baseline):
    """Median sparse cost + gradient of the baseline version and of the current one, same run."""
    rows = []
    for case, data in cases_data:
        old = Baseline(data.movies, data.users, data.ratings, data.n_movies, data.n_users)
        new = cflib.SparseProblem.from_ratings(data)
        for k in ks:
            X, Theta = factors(data, k)
            c_old, c_new = [], []
            t_old = median(time_runs(lambda: old.cost_and_gradient(X, Theta, LAM), repeats, cpu=c_old))
            _, m_old = peak_extra_bytes(lambda: old.cost_and_gradient(X, Theta, LAM))
            t_new = median(time_runs(lambda: new.cost_and_gradient(X, Theta, LAM), repeats, cpu=c_new))
            _, m_new = peak_extra_bytes(lambda: new.cost_and_gradient(X, Theta, LAM))
            rows.append([case.name, k, fmt_seconds(t_old), fmt_seconds(t_new), f"{t_old / t_new:.2f}",
                         fmt_seconds(median(c_old)), fmt_seconds(median(c_new)),
                         f"{median(c_old) / median(c_new):.2f}", fmt_bytes(m_old), fmt_bytes(m_new)])
            print(f"  baseline {case.name} k={k}: {fmt_seconds(t_old)} -> {fmt_seconds(t_new)}, "
                  f"load {load_average()}", file=sys.stderr, flush=True)
    return markdown_table(["data", "k", "baseline", "current", "speed-up", "baseline CPU", "current CPU",
                           "CPU speed-up", "baseline peak extra memory", "current peak extra memory"], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes, a smoke run of a few seconds")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case (default 7, quick 3)")
    parser.add_argument("--dense-limit-gb", type=float, default=4.0,
                        help="run the dense form only when its inputs + temporaries fit in this (default 4)")
    parser.add_argument("--only", nargs="*", default=None, help="case names to run, e.g. ml-100k ml-1m")
    parser.add_argument("--baseline", default=None, metavar="SPARSE_PY",
                        help="also time the SparseProblem of another sparse.py, e.g. from "
                             "`git show ab35e94:cflib/sparse.py > /tmp/sparse_v0.py`")
    args = parser.parse_args(argv)
    cases, ks = (QUICK, KS_QUICK) if args.quick else (FULL, KS_FULL)
    if args.only:
        cases = [c for c in cases if c.name in args.only]
    repeats = args.repeats or (3 if args.quick else 7)
    dense_limit = args.dense_limit_gb * 1024**3

    print("## Cost + gradient: loop, dense, sparse\n")
    print(machine_markdown())
    print(f"- command: `python benchmarks/bench_cost.py {' '.join(argv if argv is not None else sys.argv[1:])}`")
    print(f"- BLAS threads: default ({os.environ.get('OPENBLAS_NUM_THREADS', 'unset')} OPENBLAS_NUM_THREADS)\n")
    rows, notes, loaded = [], [], []
    dense_extra = DENSE_EXTRA_BYTES_GUESS
    for case in cases:
        start = time.perf_counter()
        data, source = load_case(case)
        notes.append(f"{case.name}: data ready in {fmt_seconds(time.perf_counter() - start)} (not timed below)")
        loaded.append((case, data))
        ran_dense = run_case(case, data, source, ks, repeats, dense_limit, dense_extra, rows, notes)
        if ran_dense:  # later "would need" estimates use the largest measured dense case
            dense_extra = measured_dense_extra(data)
    header = ["data", "shape (movies x users)", "nnz", "k", "method", "median time", "median CPU time", "runs",
              "data structure", "peak extra memory", "max rel. diff vs dense"]
    print(markdown_table(header, rows))
    print()
    print(f"Dense extra memory used for estimates: {dense_extra:.1f} bytes per (movie, user) entry "
          f"on top of the {DENSE_INPUT_BYTES} bytes of Y (float64) and R (bool).")
    for n in notes:
        print(f"- {n}")
    print(f"- load average at end: {load_average()}")

    print("\n## Sparse cost + gradient: one vs two BLAS threads\n")
    thread_cases = [(c, d) for c, d in loaded if c.name in ("ml-100k", "ml-1m", "tiny", "small")]
    Baseline = load_baseline(args.baseline) if args.baseline else None
    print(thread_table(thread_cases, ks, repeats, Baseline))
    print(f"\n- load average at end: {load_average()}")

    if Baseline is not None:
        print(f"\n## Sparse cost + gradient: baseline `{args.baseline}` vs current\n")
        print(baseline_table(loaded, ks, repeats, Baseline))
        print(f"\n- load average at end: {load_average()}")


if __name__ == "__main__":
    main()
