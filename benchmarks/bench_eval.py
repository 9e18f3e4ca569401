"""Evaluation done right (issue 22): EASE, BPR and three baselines on u1..u5; sampled against full ranking.

Run from the repository root (needs the real MovieLens 100K copy)::

    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_eval.py              # ~5 min on a quiet 2-core machine
    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_eval.py --quick      # u1 only, short BPR: a smoke test
    CFLIB_DATA_DIR=/path/to/data python benchmarks/bench_eval.py --tune-bpr   # the BPR validation grid first

Protocol (full ranking, as :func:`cflib.ranking.ranking_metrics`): train on uN.base,
test on uN.test; a test movie is relevant when rated >= 4; movies the user rated
in uN.base are never listed; top 10 by unclipped score. Per model and fold:
P@10 and NDCG@10, means over the evaluated users with a 95 % percentile
bootstrap interval over users (:func:`cflib.significance.mean_interval`, seed 0).

Models, all with seed 0:

* EASE on binary "rated" interactions, lam chosen by :func:`cflib.ease.choose_lam`
  on a validation split carved from uN.base (80/20, seed 0; uN.test is not read),
  then fitted on the whole uN.base;
* BPR with :data:`cflib.bpr.DEFAULTS` (chosen by ``--tune-bpr`` on u1.base only);
* popularity (:func:`cflib.popularity.fit_popularity`);
* cflib's implicit ALS with its defaults (:func:`cflib.implicit_als.fit_implicit_als`);
* BEST (:data:`cflib.train.BEST`, the rating model, ranked by its predicted ratings).

Then: the comparisons paired over users on u1 and paired over the five folds
(:mod:`cflib.significance`); EASE's fit time on u1.base (median of ``--repeats``
fits, one BLAS thread as ``fit`` chooses); and sampled against full ranking
(:mod:`cflib.protocols`): on u1 with N = 100 sampled unrated movies (seed 0),
and on a leave-last-one-out split of all of ml-100k (every held-out movie
relevant), with the exact expectation over all draws, looking for a pair of
models whose order reverses between the protocols; three variants join the
five models there (:func:`fit_variants`).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import numpy as np

import cflib
from cflib import protocols, significance
from cflib.bpr import DEFAULTS as BPR_DEFAULTS
from cflib.bpr import fit_bpr
from cflib.ease import choose_lam
from cflib.implicit_als import fit_implicit_als
from cflib.popularity import fit_popularity
from cflib.ranking import ranking_table
from cflib.train import BEST, fit
from measure import load_average, machine_markdown, markdown_table, median, time_runs

FOLDS = ("u1", "u2", "u3", "u4", "u5")
MODELS = ("EASE", "BPR", "popularity", "implicit ALS", "BEST")
BPR_GRID = dict(k=[32, 64], lam=[0.01, 0.03, 0.1], lr=[0.05])
TARGETS = dict(ease_p10=0.375, ease_ndcg10=0.445, ease_fit_s=1.0)


def fit_models(train, *, bpr_iters=None):
    """The five models on ``train``: ``{name: (model, (fit wall seconds, fit CPU seconds))}`` and EASE's lam."""
    out = {}
    lam, _ = choose_lam(train)
    for name, make in (("EASE", lambda: fit(train, method="ease", lam=lam)[0]),
                       ("BPR", lambda: fit_bpr(train, n_iters=bpr_iters)[0]),
                       ("popularity", lambda: fit_popularity(train)),
                       ("implicit ALS", lambda: fit_implicit_als(train, record_cost=False)[0]),
                       ("BEST", lambda: fit(train, **BEST)[0])):
        start, start_cpu = time.perf_counter(), time.process_time()
        model = make()
        out[name] = (model, (time.perf_counter() - start, time.process_time() - start_cpu))
    return out, lam


def fit_variants(train):
    """Three more models for the sampled-against-full comparison, where a reversal is looked for:
    an under-trained BPR (5 epochs), an over-regularized EASE (lam 20000) and implicit ALS with k = 5."""
    return {"BPR, 5 epochs": fit_bpr(train, n_iters=5)[0],
            "EASE, lam 20000": fit(train, method="ease", lam=20000.0)[0],
            "implicit ALS, k=5": fit_implicit_als(train, k=5, record_cost=False)[0]}


def _ci(values):
    mean, low, high = significance.mean_interval(values)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def tune_bpr(base, epochs):
    """BPR's grid on u1.base split 80/20 (seed 0): best validation NDCG@10 over the epochs."""
    fit_part, val = base.random_split(0.2, seed=0)
    rows = []
    for k, lam, lr in itertools.product(*BPR_GRID.values()):
        _, history = fit_bpr(fit_part, k=k, lam=lam, lr=lr, n_iters=epochs, validation=val)
        v = np.array(history.val_ndcg)
        rows.append((float(v.max()), int(v.argmax()) + 1, k, lam, lr, float(v[-1])))
    rows.sort(key=lambda r: -r[0])
    print(f"### BPR validation grid (u1.base 80/20, seed 0, {epochs} epochs, interactions = ratings >= 4)\n")
    print(markdown_table(["k", "lam", "lr", "best val NDCG@10", "at epoch", f"val NDCG@10 at epoch {epochs}"],
                         [[k, f"{lam:g}", f"{lr:g}", f"{best:.4f}", ep, f"{last:.4f}"]
                          for best, ep, k, lam, lr, last in rows]))
    print(f"\ncflib.bpr.DEFAULTS: {BPR_DEFAULTS}\n")


def folds_section(folds, bpr_iters):
    """Per-fold tables; returns the per-user tables ``{fold: {model: table}}``, the fold means,
    EASE's lam per fold and the models of the first fold."""
    tables, lams, rows, fitted = {}, {}, [], None
    for fold in folds:
        train, test = cflib.load_split(fold)
        models, lams[fold] = fit_models(train, bpr_iters=bpr_iters)
        if fitted is None:
            fitted = {name: model for name, (model, _) in models.items()}
        tables[fold] = {}
        for name in MODELS:
            model, (wall, cpu) = models[name]
            t = ranking_table(model, train, test)
            tables[fold][name] = t
            rows.append([fold, name, _ci(t["precision"]), _ci(t["ndcg"]), f"{wall:.2f}", f"{cpu:.2f}"])
        print(f"- {fold}: EASE lam chosen on validation: {lams[fold]:g}", flush=True)
    print()
    print(markdown_table(["fold", "model", "P@10 [95% CI]", "NDCG@10 [95% CI]", "fit wall s (one run)",
                          "fit CPU s"], rows))
    print()
    means = {name: {m: [float(tables[f][name][c].mean()) for f in folds] for m, c in
                    (("P@10", "precision"), ("NDCG@10", "ndcg"))} for name in MODELS}
    print(f"### Means over {len(folds)} fold(s)\n")
    print(markdown_table(["model", "P@10 per fold", "mean P@10", "NDCG@10 per fold", "mean NDCG@10"],
                         [[name, " ".join(f"{v:.3f}" for v in means[name]["P@10"]),
                           f"{np.mean(means[name]['P@10']):.3f}",
                           " ".join(f"{v:.3f}" for v in means[name]["NDCG@10"]),
                           f"{np.mean(means[name]['NDCG@10']):.3f}"] for name in MODELS]))
    print()
    return tables, means, lams, fitted


def significance_section(tables, means, folds):
    pairs = [("EASE", "implicit ALS"), ("EASE", "BPR"), ("implicit ALS", "BPR"), ("BPR", "popularity"),
             ("EASE", "BEST"), ("BEST", "popularity")]
    print("### Paired comparisons on u1 (per user, 95% bootstrap interval of the mean difference, Wilcoxon)\n")
    rows = []
    for a, b in pairs:
        for metric, col in (("P@10", "precision"), ("NDCG@10", "ndcg")):
            x, y = significance.per_user(tables[folds[0]][a], tables[folds[0]][b], col)
            c = significance.compare_users(x, y)
            rows.append([f"{a} - {b}", metric, f"{c.difference:+.4f}", f"[{c.low:+.4f}, {c.high:+.4f}]",
                         f"{c.p_value:.2g}", f"{c.wins}/{c.losses}/{c.ties}"])
    print(markdown_table(["pair", "metric", "mean difference", "95% CI", "Wilcoxon p", "users a>b / a<b / ="], rows))
    print()
    if len(folds) < 2:
        return
    print(f"### Paired over the {len(folds)} folds "
          "(paired t-test; corrected: Nadeau-Bengio with n_test/n_train = 0.25)\n")
    rows = []
    for a, b in pairs:
        for metric in ("P@10", "NDCG@10"):
            plain = significance.compare_folds(means[a][metric], means[b][metric])
            nb = significance.compare_folds(means[a][metric], means[b][metric], test_train_ratio=0.25)
            rows.append([f"{a} - {b}", metric, f"{plain.difference:+.4f}", f"[{plain.low:+.4f}, {plain.high:+.4f}]",
                         f"{plain.p_value:.2g}", f"[{nb.low:+.4f}, {nb.high:+.4f}]", f"{nb.p_value:.2g}",
                         f"{plain.wins}/{plain.n}"])
    print(markdown_table(["pair", "metric", "mean difference", "95% t CI", "t-test p", "corrected CI",
                          "corrected p", "folds a>b"], rows))
    print()


def timing_section(repeats, lam):
    train, _ = cflib.load_split("u1")
    cpu = []
    walls = time_runs(lambda: fit(train, method="ease", lam=lam), repeats, cpu=cpu)
    wall = median(walls)
    print(f"- EASE fit on u1.base (lam={lam:g}, G, Cholesky, inverse, B; one BLAS thread): median of {repeats}: "
          f"{wall:.3f} s wall, {median(cpu):.3f} s CPU (runs: {', '.join(f'{w:.3f}' for w in walls)}); "
          f"load average {load_average()}")
    return wall


def _protocol_rows(models, train, test, relevant_min, n_negatives, exact):
    negatives = protocols.sample_negatives(train, test, n_negatives, seed=0, relevant_min=relevant_min)
    out = {}
    for name, model in models.items():
        full = protocols.full_table(model, train, test, relevant_min=relevant_min)
        sampled = protocols.sampled_table(model, train, test, relevant_min=relevant_min, negatives=negatives)
        row = {"full": full, "sampled": sampled}
        if exact:
            row["expected"] = protocols.expected_sampled_metrics(model, train, test, n_negatives=n_negatives,
                                                                 relevant_min=relevant_min)
        out[name] = row
    return out


def _reversals(results, metric):
    """Pairs (a, b) with a > b under the sampled protocol and a < b under full ranking, for a metric column."""
    names = list(results)
    found = []
    for a, b in itertools.permutations(names, 2):
        s = results[a]["sampled"][metric].mean() - results[b]["sampled"][metric].mean()
        f = results[a]["full"][metric].mean() - results[b]["full"][metric].mean()
        if s > 0 and f < 0:
            found.append((a, b, s, f))
    return found


def protocols_section(title, models, train, test, relevant_min, n_negatives=100, exact=False):
    results = _protocol_rows(models, train, test, relevant_min, n_negatives, exact)
    print(f"### {title}\n")
    header = ["model", "full HR@10", "full NDCG@10", f"sampled HR@10 (N={n_negatives})",
              f"sampled NDCG@10 (N={n_negatives})", "full AUC", "sampled AUC"]
    if exact:
        header += ["E[sampled HR@10]", "E[sampled NDCG@10]"]
    rows = []
    for name, r in results.items():
        row = [name, f"{r['full']['hit'].mean():.4f}", f"{r['full']['ndcg'].mean():.4f}",
               f"{r['sampled']['hit'].mean():.4f}", f"{r['sampled']['ndcg'].mean():.4f}",
               f"{r['full']['auc'].mean():.4f}", f"{r['sampled']['auc'].mean():.4f}"]
        if exact:
            row += [f"{r['expected']['hit'].mean():.4f}", f"{r['expected']['ndcg'].mean():.4f}"]
        rows.append(row)
    print(markdown_table(header, rows))
    print()
    for metric, label in (("hit", "HR@10"), ("ndcg", "NDCG@10")):
        order_full = sorted(results, key=lambda n: -results[n]["full"][metric].mean())
        order_sampled = sorted(results, key=lambda n: -results[n]["sampled"][metric].mean())
        print(f"- {label} order, full: {' > '.join(order_full)}; sampled: {' > '.join(order_sampled)}")
        for a, b, s, f in _reversals(results, metric):
            ps = significance.compare_users(*significance.per_user(results[a]["sampled"], results[b]["sampled"],
                                                                   metric))
            pf = significance.compare_users(*significance.per_user(results[a]["full"], results[b]["full"], metric))
            print(f"  - **reversal**: {a} - {b} = {s:+.4f} sampled (CI [{ps.low:+.4f}, {ps.high:+.4f}], Wilcoxon p "
                  f"{ps.p_value:.2g}) but {f:+.4f} full (CI [{pf.low:+.4f}, {pf.high:+.4f}], p {pf.p_value:.2g})")
    print()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="u1 only, BPR 5 epochs, 1 timing run (a smoke test)")
    parser.add_argument("--repeats", type=int, default=7, help="EASE fit timings (median reported)")
    parser.add_argument("--tune-bpr", action="store_true", help="run the BPR validation grid first")
    parser.add_argument("--tune-epochs", type=int, default=60)
    args = parser.parse_args(argv)
    folds = FOLDS[:1] if args.quick else FOLDS
    bpr_iters = 5 if args.quick else None
    repeats = 1 if args.quick else args.repeats
    print("## Evaluation done right (`bench_eval.py`)\n")
    print(machine_markdown() + "\n")
    if args.tune_bpr:
        tune_bpr(cflib.load_split("u1")[0], 5 if args.quick else args.tune_epochs)

    tables, means, lams, fitted = folds_section(folds, bpr_iters)
    significance_section(tables, means, folds)
    wall = timing_section(repeats, lams["u1"])

    t = tables["u1"]
    ease_p, ease_n = t["EASE"]["precision"].mean(), t["EASE"]["ndcg"].mean()
    bpr_p, pop_p = t["BPR"]["precision"].mean(), t["popularity"]["precision"].mean()
    print("\n### Targets (issue 22)\n")
    print(f"- EASE on u1 (lam {lams['u1']:g}, chosen on validation): P@10 {ease_p:.4f} (target >= "
          f"{TARGETS['ease_p10']}), NDCG@10 {ease_n:.4f} (target >= {TARGETS['ease_ndcg10']}): "
          f"{'met' if ease_p >= TARGETS['ease_p10'] and ease_n >= TARGETS['ease_ndcg10'] else 'MISSED'}")
    print(f"- EASE fit {wall:.3f} s median (target <= {TARGETS['ease_fit_s']} s): "
          f"{'met' if wall <= TARGETS['ease_fit_s'] else 'MISSED'}")
    print(f"- BPR P@10 {bpr_p:.4f} against popularity {pop_p:.4f} on u1: {'met' if bpr_p > pop_p else 'MISSED'}\n")

    # Sampled against full ranking.
    train, test = cflib.load_split("u1")
    protocols_section("u1: full ranking against N = 100 sampled unrated movies (relevant = rating >= 4)",
                      {**fitted, **fit_variants(train)}, train, test, relevant_min=4.0)
    data = cflib.load_movielens("100k")
    loo_train, loo_test = protocols.leave_last_out(data)
    loo_models, loo_lam = fit_models(loo_train, bpr_iters=bpr_iters)
    protocols_section(f"ml-100k leave-last-one-out ({loo_test.nnz} users, every held-out movie relevant; "
                      f"EASE lam {loo_lam:g} chosen on validation)",
                      {**{name: m for name, (m, _) in loo_models.items()}, **fit_variants(loo_train)}, loo_train,
                      loo_test, relevant_min=0.0, exact=True)
    print(f"- load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
