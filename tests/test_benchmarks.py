"""The benchmark scripts still run: each with --quick (tiny shapes) in a subprocess.

No timing is asserted: only that the scripts finish and print their tables.
"""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run_quick(script):
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        capture_output=True, text=True, timeout=300, cwd=BENCHMARKS.parent,
    )
    assert proc.returncode == 0, f"{script} --quick failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def table_rows(output, first_cell, n_cells=11):
    """Rows of the tables with ``n_cells`` columns whose first cell is ``first_cell``."""
    return [line for line in output.splitlines()
            if line.startswith(f"| {first_cell} |") and line.count("|") == n_cells + 1]


@pytest.fixture(scope="module")
def cost_output():
    return run_quick("bench_cost.py")


@pytest.fixture(scope="module")
def scale_output():
    return run_quick("bench_scale.py")


@pytest.mark.parametrize("output", ["cost_output", "scale_output"])
def test_script_documents_the_machine(output, request):
    out = request.getfixturevalue(output)
    for field in ("- date:", "- CPU:", "- RAM:", "numpy", "scipy", "load average"):
        assert field in out


def test_bench_cost_quick_prints_every_method_and_agreement(cost_output):
    out = cost_output
    tiny = table_rows(out, "tiny")
    assert [row.split("|")[5].strip() for row in tiny] == ["loop", "dense", "sparse"] * 2
    # The last column holds the relative difference with the dense result.
    for row in tiny + table_rows(out, "small"):
        cell = row.split("|")[-2].strip()
        if cell not in ("-", "0 (reference)"):
            assert float(cell) < 1e-10
    assert "1 BLAS thread" in out and "2 BLAS threads" in out


def test_bench_scale_quick_trains_and_reports_rmse(scale_output):
    out = scale_output
    assert "build SparseProblem" in out
    assert "validation RMSE" in out
    rows = [line for line in out.splitlines() if line.startswith("| 1 |")]
    assert rows, out
    val_rmse = float(rows[-1].split("|")[4])
    assert 0.0 < val_rmse < 1.5


def _quick_with_peer(script, peer):
    pytest.importorskip(peer, reason=f"{script} runs beside {peer} (the bench extra: pip install -e '.[bench]')")
    return run_quick(script)


def test_bench_ranking_quick_compares_with_implicit():
    out = _quick_with_peer("bench_ranking.py", "implicit")
    line = next(line for line in out.splitlines() if line.startswith("- factors 20: cflib/implicit fit time"))
    # "P@10 0.389 vs 0.387; NDCG@10 0.461 vs 0.460": four numbers, each a valid score.
    scores = [float(x) for x in line.replace(";", " ").split() if x.replace(".", "", 1).isdigit()]
    assert len(scores) == 4 and all(0.0 < s < 1.0 for s in scores)
    assert "ranking_metrics on all 943 u1 users" in out


def test_bench_gibbs_quick_compares_with_myfm_and_reports_calibration():
    out = _quick_with_peer("bench_gibbs.py", "myfm")
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    for model in ("cflib gibbs", "myFM", "cflib ALS BEST"):
        assert 0.5 < float(rows[model].split("|")[2]) < 1.2
    shares = [float(x) for x in rows["share inside"].split("|")[2:5]]
    assert shares == sorted(shares) and all(0.0 < s < 1.0 for s in shares)


def test_bench_grade_quick_grades_the_class_and_says_where_the_time_goes():
    out = run_quick("bench_grade.py")
    assert "class: 8 submitted notebooks of 4 students" in out
    run = next(line for line in out.splitlines() if line.startswith("| --jobs 2 |") and "process starts" not in line)
    starts = int(run.rstrip(" |").split("|")[-1])
    assert starts >= 8  # one process per submission at least
    assert "verdicts (in the grader)" in out


def test_bench_widgets_quick_times_every_widget():
    out = run_quick("bench_widgets.py")
    for widget in ("TrainingExplorer", "ImplicitExplorer", "RatingWidget"):
        assert table_rows(out, widget, n_cells=7), widget
    controls = {line.split("|")[2].strip() for line in table_rows(out, "TrainingExplorer", n_cells=7)}
    assert {"k", "lam", "iterations", "model", "optimizer", "lr"} <= controls


def test_bench_kernels_quick_times_the_gathers_and_both_gram_paths():
    out = run_quick("bench_kernels.py")
    assert len(table_rows(out, "30", n_cells=6)) == 1 and len(table_rows(out, "20", n_cells=6)) == 1  # the gathers
    assert len(table_rows(out, "6", n_cells=5)) == 1 and len(table_rows(out, "31", n_cells=5)) == 1  # the Gram paths


def test_every_script_has_a_row_in_the_readme():
    """benchmarks/README.md's table lists every bench_*.py, and nothing that is gone."""
    text = (BENCHMARKS / "README.md").read_text(encoding="utf-8")
    table = text[:text.index("```")]
    listed = {cell.strip("` ") for line in table.splitlines() if line.startswith("| `bench_")
              for cell in [line.split("|")[1]]}
    assert listed == {p.name for p in BENCHMARKS.glob("bench_*.py")}


def test_bench_fm_quick_runs_every_solver_and_myfm_on_the_same_features():
    out = run_quick("bench_fm.py")
    rows = {line.split("|")[1].strip(): line for line in out.splitlines()
            if line.startswith("| ") and line.count("|") == 6}  # the results table: five cells
    labels = ["BEST (als, ids)", "fm_als, ids", "fm_als, all", "fm_sgd, ids", "fm_sgd, all", "fm_mcmc, ids",
              "fm_mcmc, myFM set"]
    try:
        import myfm  # noqa: F401
        labels.append("myFM, myFM set")
        assert "fm_mcmc / myFM, myFM set, median fit time:" in out
    except ImportError:
        assert "myfm is not installed" in out
    for label in labels:
        assert 0.7 < float(rows[label].split("|")[2]) < 1.3, label
    assert "fm_mcmc draws:" in out and "OMP_NUM_THREADS=1" in out
