"""The layout of cflib.checks: one module per part of the course, listed in the README, no name collisions."""

import ast
import re
from pathlib import Path

import pytest

import cflib
from cflib import checks

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cflib" / "checks"
PART_MODULES = ("data_model", "cost_gradient", "gradient_checking", "training", "recommendations",
                "top_n", "implicit_feedback", "bayesian", "spark_objective", "factorization", "evaluation")


def readme_table() -> dict:
    """module -> list of checks, from the table between the CHECKS LIST markers of the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- BEGIN CHECKS LIST -->(.*?)<!-- END CHECKS LIST -->", text, re.S)
    assert block, "README.md has no <!-- BEGIN CHECKS LIST --> ... <!-- END CHECKS LIST --> table"
    table = {}
    for row in block.group(1).strip().splitlines()[2:]:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        table[cells[0].strip("`")] = re.findall(r"`(check_\w+)`", cells[2])
    return table


def test_readme_lists_exactly_the_checks_cflib_exports():
    table = readme_table()
    assert [name for names in table.values() for name in names] == list(checks.CHECKS)
    for module, names in table.items():
        assert names == [n for n in getattr(checks, module).__all__ if n.startswith("check_")], module


def test_every_check_is_reachable_from_the_package():
    assert len(checks.CHECKS) == 26
    for name in checks.CHECKS:
        assert callable(getattr(checks, name)) and name in checks.__all__
    assert checks.check_cost.__module__ == "cflib.checks.cost_gradient"
    assert checks.check_sample_row.__module__ == "cflib.checks.bayesian"


def test_part_modules_are_the_import_lines_in_course_order():
    """Every part module has its import line in __init__, in the order of PART_MODULES (the course order)."""
    text = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    assert re.findall(r"^from \.(\w+) import \*", text, re.M) == list(PART_MODULES)
    assert {p.stem for p in PACKAGE.glob("*.py")} == {*PART_MODULES, "__init__", "engine", "guard", "problems", "capture",
                                                     "wording", "compare", "stopping", "integrity", "results"}


def test_no_check_module_is_left_outside_the_package():
    """The old standalone check modules (checks_ranking, checks_gibbs, checks_spark) are gone."""
    assert not list((ROOT / "cflib").glob("checks_*.py"))


def test_name_collisions_are_resolved():
    """checks.check_gradient would shadow cflib.check_gradient's name with another contract; check_dense is gone."""
    assert not hasattr(checks, "check_gradient") and not hasattr(checks, "check_dense")
    assert cflib.check_gradient is cflib.gradcheck.check_gradient


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_each_module_is_short(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path


def test_no_private_finite_difference_loop():
    """The finite differences come from cflib.gradcheck; no module of checks perturbs entries itself."""
    for path in PACKAGE.glob("*.py"):
        src = path.read_text(encoding="utf-8")
        assert "_perturbed" not in src and "flat[t] = old" not in src, path


def test_part_modules_import_only_the_engine_problems_and_cflib():
    """One-way imports: part modules never import each other; the shared modules never import a part."""
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        local = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module}
        if path.stem in PART_MODULES:
            assert local <= {"engine", "problems", "guard", "results"}, (path.name, local)
        elif path.stem in ("engine", "problems", "guard", "results"):
            assert not local & set(PART_MODULES), (path.name, local)


def test_the_recipe_for_a_new_check_is_in_the_package_docstring():
    doc = checks.__doc__
    assert "How to add a check" in doc
    for word in ("CheckSpec", "Mistake", "import line", "tests/test_checks.py", "NDCG", "Gibbs"):
        assert word in doc, word


def test_the_recipe_adds_a_part_with_one_module_and_one_import_line(tmp_path):
    """Follow the docstring's recipe on a copy of cflib: a new module plus one import line gives a working check."""
    import shutil
    import subprocess
    import sys

    shutil.copytree(ROOT / "cflib", tmp_path / "cflib", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "cflib" / "checks" / "top_mean.py").write_text('''"""Checks of a new part: the mean of the top k scores."""
import numpy as np

from .engine import Case, CheckSpec, Mistake, run, scalar

__all__ = ["check_top_mean"]


def top_mean(scores, k):
    return float(np.sort(scores)[::-1][:k].mean())


def check_top_mean(fn):
    cases = [Case("5 scores, k=2", (np.array([3.0, 1.0, 4.0, 1.0, 5.0]), 2)),
             Case("4 scores, k=3", (np.array([0.5, 2.0, -1.0, 7.0]), 3))]
    return run(CheckSpec(name="check_top_mean", signature="scores, k", ref_name="top_mean", reference=top_mean,
                         cases=cases, parts=("the mean",), split=lambda out, case: (scalar(out, "the mean"),),
                         mistakes=[Mistake("takes the k smallest scores", "sort in decreasing order",
                                           lambda s, k: float(np.sort(s)[:k].mean()))]), fn)
''', encoding="utf-8")
    init = tmp_path / "cflib" / "checks" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    anchor = f"from .{PART_MODULES[-1]} import *  # noqa: E402,F401,F403\n"  # the last part of the course
    assert anchor in text
    init.write_text(text.replace(anchor, anchor + "from .top_mean import *  # noqa: E402,F401,F403\n"),
                    encoding="utf-8")
    code = ("import numpy as np\nfrom cflib import checks\nprint(checks.CHECKS[-1])\n"
            "checks.check_top_mean(lambda s, k: float(np.sort(s)[-k:].mean()))\n"
            "checks.check_top_mean(lambda s, k: float(np.sort(s)[:k].mean()))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "check_top_mean"
    assert lines[1].startswith("check_top_mean: PASS")
    assert lines[2].startswith("check_top_mean: FAIL - the mean takes the k smallest scores. Hint: sort"), lines[2]
