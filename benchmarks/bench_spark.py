"""cflib against Apache Spark MLlib's ALS, same objective (ALS-WR), same data, same run.

Run from the repository root, by hand (needs pyspark and Java 17+)::

    python benchmarks/bench_spark.py                       # ml-100k u1..u5, ml-1m and ml-10m shapes
    python benchmarks/bench_spark.py ml-1m --iters 10      # some cases, other sweep count
    python benchmarks/bench_spark.py --quick               # a tiny synthetic shape, a smoke run

Both sides train rank k = 10, regParam 0.15: Spark with
``pyspark.ml.recommendation.ALS`` in local mode (2 cores, 2 user and item
blocks, 1 GB driver heap, 4 GB at the ml-10m shape), cflib with
:func:`cflib.als_wr.fit_als_wr` (the same objective, one BLAS thread). Each
case runs in its own child process so the memory peaks are its own:

* fit time per iteration: the fit's wall time divided by the sweeps (Spark:
  ``ALS.fit`` on a cached, counted DataFrame; the transfer from Python is
  timed apart as "to Spark");
* test RMSE of clipped predictions on the pairs Spark scores
  (``cflib.spark.drop_cold_start``), both models through ``cflib.evaluate``;
* peak resident memory of the Python process (``ru_maxrss``) and of the JVM
  (``VmHWM`` of the gateway's java process).

The synthetic shapes are :func:`cflib.make_synthetic` with the ml-1m and
ml-10m numbers of movies, users and ratings, 10 % held out at random.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import cflib
from cflib import spark as cspark
from cflib.als_wr import fit_als_wr
from cflib.evaluate import evaluate

SHAPES = {"ml-1m": (3_706, 6_040, 1_000_209), "ml-10m": (10_677, 69_878, 10_000_054), "tiny": (300, 500, 15_000)}
FOLDS = ("u1", "u2", "u3", "u4", "u5")


def _jvm_peak(spark) -> int:
    """VmHWM of the JVM behind the session (spark-submit execs java; its children too)."""
    pids = [spark.sparkContext._gateway.proc.pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pids[0]}/task/{pids[0]}/children").read_text().split()]
    except OSError:
        pass
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _data(case, seed=0):
    if case in FOLDS:
        return cflib.load_split(case, download=False)
    n_movies, n_users, nnz = SHAPES[case]
    data = cflib.make_synthetic(n_movies, n_users, 10, nnz=nnz, seed=seed)
    return data.random_split(0.1, seed=seed)


def run_one(case, iters, k, reg):
    """One case in this process: a JSON line of figures."""
    train, test = _data(case)
    kept = cspark.drop_cold_start(test, train)
    t = time.perf_counter()
    model, hist = fit_als_wr(train, k=k, reg_param=reg, n_iters=iters)
    cf_fit = time.perf_counter() - t
    cf_rmse = evaluate(model, kept)["rmse"]
    py_peak_cflib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    spark = cspark.start_session(cores=2, driver_memory="4g" if train.nnz > 5_000_000 else "1g")
    try:
        t = time.perf_counter()
        df = cspark.to_spark(spark, train)
        df.count()
        transfer = time.perf_counter() - t
        t = time.perf_counter()
        als = cspark.fit_spark_als(df, k=k, reg_param=reg, n_iters=iters, seed=0, blocks=2)
        sp_fit = time.perf_counter() - t
        sp_rmse = evaluate(cspark.from_spark(als, train, reg_param=reg), kept)["rmse"]
        jvm = _jvm_peak(spark)
    finally:
        cspark.stop_session(spark)
    py_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return dict(case=case, nnz=train.nnz, iters=iters, dropped=test.nnz - kept.nnz,
                cflib_per_iter=cf_fit / iters, spark_per_iter=sp_fit / iters, to_spark=transfer,
                cflib_rmse=cf_rmse, spark_rmse=sp_rmse, py_peak_cflib=py_peak_cflib, py_peak=py_peak, jvm_peak=jvm)


def _mb(n):
    return f"{n / 2**20:,.0f} MiB"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", help="u1..u5, ml-1m, ml-10m, tiny (default: all but tiny)")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--iters-10m", type=int, default=5, help="sweeps at the ml-10m shape (default 5)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--reg", type=float, default=0.15)
    ap.add_argument("--quick", action="store_true", help="the tiny shape only, 3 sweeps")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.iters, args.k, args.reg)))
        return 0
    cases = ["tiny"] if args.quick else (args.cases or [*FOLDS, "ml-1m", "ml-10m"])
    rows = []
    print(f"# cflib ALS-WR vs Spark ALS, k={args.k}, regParam={args.reg}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {Path('/proc/loadavg').read_text().split()[0]}")
    for case in cases:
        iters = 3 if args.quick else (args.iters_10m if case == "ml-10m" else args.iters)
        out = subprocess.run([sys.executable, __file__, "--one", case, "--iters", str(iters), "--k", str(args.k),
                              "--reg", str(args.reg)], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"| {case} | failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode} |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
    print("\n| data | ratings | sweeps | cflib s/iter | Spark s/iter | ratio | to Spark | cflib RMSE | Spark RMSE "
          "| dropped | Python peak (cflib only) | Python + JVM peak |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['nnz']:,} | {r['iters']} | {r['cflib_per_iter']:.4f} | {r['spark_per_iter']:.3f} "
              f"| {r['spark_per_iter'] / r['cflib_per_iter']:.0f}x | {r['to_spark']:.1f} s | {r['cflib_rmse']:.4f} "
              f"| {r['spark_rmse']:.4f} | {r['dropped']} | {_mb(r['py_peak_cflib'])} "
              f"| {_mb(r['py_peak'])} + {_mb(r['jvm_peak'])} |")
    folds = [r for r in rows if r["case"] in FOLDS]
    if folds:
        med = lambda key: float(np.median([r[key] for r in folds]))  # noqa: E731
        print(f"\nml-100k u1..u{len(folds)}: mean test RMSE cflib {np.mean([r['cflib_rmse'] for r in folds]):.4f}, "
              f"Spark {np.mean([r['spark_rmse'] for r in folds]):.4f}; median s/iter cflib {med('cflib_per_iter'):.4f}, "
              f"Spark {med('spark_per_iter'):.3f} ({med('spark_per_iter') / med('cflib_per_iter'):.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
