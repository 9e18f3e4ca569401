"""Benchmark top-N ranking on ml-100k u1: cflib's implicit ALS against benfred/implicit.

Run from the repository root (needs the real MovieLens 100K copy and, for the
peer rows, ``pip install implicit``, the ``bench`` extra)::

    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_ranking.py           # ~1 min
    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_ranking.py --tune    # + the validation grid, ~2 min more
    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_ranking.py --quick   # factors 20, one run: a smoke test

Protocol (issue 13): train on u1.base, test on u1.test; a test movie is
relevant when rated >= 4; movies the user rated in u1.base are never listed;
top 10 by unclipped score; metrics from :func:`cflib.ranking.ranking_metrics`
for every model, the peer included (its factors are wrapped as a model).

In one run:

* ``implicit.cpu.als.AlternatingLeastSquares`` with the issue's tuned setting
  (alpha 1, regularization 10, positives: training ratings >= 4), 15
  iterations, one thread, ``random_state=0``; and cflib's
  :func:`cflib.implicit_als.fit_implicit_als` with its own defaults
  (``DEFAULTS``, chosen by ``--tune`` on a validation split of u1.base), 15
  sweeps, one BLAS thread, its conjugate-gradient solver (3 steps, as implicit's
  default), and once with its exact solver; at factors 20 and 50. Fit time:
  median wall and CPU seconds of ``--repeats`` fits each; neither library
  computes the training loss while timed (``record_cost=False``,
  ``calculate_training_loss=False``).
* One sweep of cflib's implicit ALS with the shared ``X^T X`` trick and without it.
* :func:`ranking_metrics` on all u1 users (the ``BEST`` model): median seconds.

``--tune`` first runs the grid over alpha, lam, interactions and weights at
k=20 on u1.base split 80/20 twice (seeds 0 and 1), scoring the mean NDCG@10 on
the 20 %; u1.test is not read for it. ``--tune-only`` stops after the grid.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import cflib
from cflib.implicit_als import DEFAULTS, fit_implicit_als, to_interactions
from cflib.ranking import ranking_metrics
from cflib.train import BEST, fit
from measure import machine_markdown, markdown_table, median

GRID = dict(alpha=[0.0, 0.5, 1.0, 2.0, 5.0], lam=[5.0, 10.0, 20.0, 50.0],
            interactions=["liked", "all"], weights=["binary", "rating"])
TUNE_SEEDS = (0, 1)
PEER = dict(alpha=1.0, regularization=10.0)


class _Factors:
    """A peer's factors as a cflib-style model: scores = item_factors @ user_factors.T."""

    def __init__(self, item_factors, user_factors):
        self.item_factors, self.user_factors = np.asarray(item_factors), np.asarray(user_factors)

    def predict_all(self, *, clip=False):
        return (self.item_factors @ self.user_factors.T).astype(np.float64)


def tune(base):
    splits = [base.random_split(0.2, seed=seed) for seed in TUNE_SEEDS]
    rows = []
    for alpha, lam, kind, w in itertools.product(*GRID.values()):
        if alpha == 0.0 and w != "binary":
            continue  # alpha = 0: the weights do not enter
        ms = []
        for fit_part, val in splits:
            model, _ = fit_implicit_als(fit_part, k=20, alpha=alpha, lam=lam, interactions=kind, weights=w,
                                        record_cost=False)
            ms.append(ranking_metrics(model, fit_part, val))
        rows.append((np.mean([m["ndcg"] for m in ms]), np.mean([m["precision"] for m in ms]), alpha, lam, kind, w))
    rows.sort(key=lambda r: -r[0])
    print(f"### Validation grid (u1.base 80/20, seeds {TUNE_SEEDS}, k=20), best 8 by mean NDCG@10\n")
    print(markdown_table(["alpha", "lam", "interactions", "weights", "val P@10", "val NDCG@10"],
                         [[f"{a:g}", f"{l:g}", kd, w, f"{p:.3f}", f"{n:.3f}"] for n, p, a, l, kd, w in rows[:8]]))
    print()
    return rows[0]


def _timed(fn, repeats):
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return out, median(walls), median(cpus)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true")
    parser.add_argument("--tune-only", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="factors 20 only, one run each (a smoke test)")
    args = parser.parse_args(argv)
    factors = (20,) if args.quick else (20, 50)
    if args.quick:
        args.repeats = 1
    print("## Top-N ranking and implicit feedback (`bench_ranking.py`)\n")
    print(machine_markdown() + "\n")
    train, test = cflib.load_split("u1")
    if args.tune or args.tune_only:
        best = tune(train)
        print(f"best on validation: alpha={best[2]:g}, lam={best[3]:g}, interactions={best[4]}, "
              f"weights={best[5]}; DEFAULTS in cflib: {DEFAULTS}\n")
        if args.tune_only:
            return 0

    try:
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError:
        AlternatingLeastSquares = None
        print("(implicit is not installed: peer rows skipped; pip install implicit)\n")
    m_, u_, _ = to_interactions(train, interactions="liked", weights="binary")
    user_items = sp.csr_matrix((np.ones(m_.size, dtype=np.float32), (u_, m_)),
                               shape=(train.n_users, train.n_movies))

    rows, figures = [], {}
    for k in factors:
        with threadpool_limits(limits=1, user_api="blas"):
            model, wall, cpu = _timed(lambda: fit_implicit_als(train, k=k, n_iters=15, record_cost=False)[0],
                                      args.repeats)
            exact, ewall, ecpu = _timed(lambda: fit_implicit_als(train, k=k, n_iters=15, solver="exact",
                                                                 record_cost=False)[0], 1)
        em = ranking_metrics(exact, train, test)
        rows.append([f"cflib implicit_als, exact solve (1 run)", k, f"{em['precision']:.3f}", f"{em['ndcg']:.3f}",
                     f"{em['map']:.3f}", f"{em['coverage']:.3f}", f"{ewall:.3f}", f"{ecpu:.3f}"])
        m = ranking_metrics(model, train, test)
        figures[("cflib", k)] = (m, wall)
        rows.append([f"cflib implicit_als, CG (defaults)", k,
                     f"{m['precision']:.3f}", f"{m['ndcg']:.3f}", f"{m['map']:.3f}", f"{m['coverage']:.3f}",
                     f"{wall:.3f}", f"{cpu:.3f}"])
        if AlternatingLeastSquares is not None:
            def peer_fit():
                peer = AlternatingLeastSquares(factors=k, iterations=15, num_threads=1, random_state=0,
                                               calculate_training_loss=False, **PEER)
                peer.fit(user_items, show_progress=False)
                return peer
            with threadpool_limits(limits=1, user_api="blas"):
                peer, pwall, pcpu = _timed(peer_fit, args.repeats)
            pm = ranking_metrics(_Factors(peer.item_factors, peer.user_factors), train, test)
            figures[("implicit", k)] = (pm, pwall)
            rows.append(["implicit ALS, CG (alpha 1, reg 10, positives >= 4)", k,
                         f"{pm['precision']:.3f}", f"{pm['ndcg']:.3f}", f"{pm['map']:.3f}",
                         f"{pm['coverage']:.3f}", f"{pwall:.3f}", f"{pcpu:.3f}"])
    print("### u1: cflib implicit ALS against implicit, 15 iterations, one thread\n")
    print(markdown_table(["model", "factors", "P@10", "NDCG@10", "MAP@10", "coverage",
                          "fit wall s (median)", "fit CPU s (median)"], rows))
    print()
    for k in factors:
        if ("implicit", k) in figures:
            (cm, cw), (pm, pw) = figures[("cflib", k)], figures[("implicit", k)]
            print(f"- factors {k}: cflib/implicit fit time {cw / pw:.2f}x; P@10 {cm['precision']:.3f} vs "
                  f"{pm['precision']:.3f}; NDCG@10 {cm['ndcg']:.3f} vs {pm['ndcg']:.3f}")
    print()

    # One sweep with and without the shared Gram trick (k = 20).
    with threadpool_limits(limits=1, user_api="blas"):
        _, w_trick, _ = _timed(lambda: fit_implicit_als(train, k=20, n_iters=1), args.repeats)
        _, w_plain, _ = _timed(lambda: fit_implicit_als(train, k=20, n_iters=1, use_gram=False), 1)
    print(f"- one sweep at k=20: with the X^T X trick {w_trick:.3f} s, building every X^T C_u X "
          f"over all movies {w_plain:.3f} s ({w_plain / w_trick:.0f}x)")

    best, _ = fit(train, **BEST)
    _, w_rank, _ = _timed(lambda: ranking_metrics(best, train, test), 5)
    print(f"- ranking_metrics on all {train.n_users} u1 users (BEST): median {w_rank * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
