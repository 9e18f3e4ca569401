"""nbgrader runs the course unchanged: a round trip on notebook 02.

The solution notebook ``notebooks/02_cost_function.ipynb`` is copied as it is into an
nbgrader course folder (``source/ps02/``); ``nbgrader generate_assignment`` must release
it without any solution; a submission with one function right, one wrong and one left
unwritten is autograded, and nbgrader's points per test cell must be the points
``metadata.cflib.points`` gives, for the functions that pass, and 0 otherwise. The
course's own grader (``python -m cflib.grade``) must give the same points per function.

The cell metadata nbgrader reads (``metadata.nbgrader``) and the hidden tests are
written into the solution notebooks by ``tools/make_exercises.py``.

Without nbgrader the test skips, with the reason; with ``CI`` set it fails instead.
nbgrader runs ``alembic`` by name, so the virtual environment's ``bin/`` goes first on PATH.
Notebook 02 loads MovieLens 100K (``CFLIB_DATA_DIR``); without it the test skips (fails in CI).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cflib
from cflib.datasets import ENV_VAR

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "02_cost_function.ipynb"
ASSIGNMENT = "ps02"
STUDENT = "alice"
TIMEOUT = 600  # seconds per nbgrader command

#: The submission: my_cost_loop right, my_cost wrong (forgets the mask R), my_cost_sparse left as released.
ANSWERS = {
    "my_cost_loop": """\
    n_movies, n_users = Y.shape
    J = 0.0
    for i in range(n_movies):
        for j in range(n_users):
            if R[i, j]:
                J += 0.5 * (X[i] @ Theta[j] - Y[i, j]) ** 2
    return float(J + 0.5 * lam * (np.sum(X**2) + np.sum(Theta**2)))""",
    "my_cost": """\
    E = X @ Theta.T - Y  # every entry, rated or not: wrong
    return float(0.5 * np.sum(E**2) + 0.5 * lam * (np.sum(X**2) + np.sum(Theta**2)))""",
}
PASSES = {"my_cost_loop"}


def _nbgrader_or_skip():
    try:
        import nbgrader  # noqa: F401
        from nbgrader.api import Gradebook  # noqa: F401
    except ImportError as exc:
        reason = f"nbgrader is not installed (pip install nbgrader==0.9.6): {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"nbgrader test cannot run in CI: {reason}")
        pytest.skip(reason)


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # alembic, nbgrader
    return env


def _run(args, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _nbgrader(*args, cwd: Path):
    return _run([sys.executable, "-m", "nbgrader", *args], cwd)


def _source(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _solution_bodies(nb) -> list:
    """Every line of solution code and of markdown answers in the solution notebook."""
    bodies = []
    for cell in nb["cells"]:
        bodies += re.findall(r"^[ \t]*(?:### BEGIN SOLUTION|<!-- BEGIN SOLUTION -->)\n(.*?)^[ \t]*"
                             r"(?:### END SOLUTION|<!-- END SOLUTION -->)", _source(cell), re.MULTILINE | re.DOTALL)
    return [line.strip() for body in bodies for line in body.splitlines() if len(line.strip()) > 12]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """An nbgrader course folder with notebook 02 released, submitted by alice and autograded."""
    _nbgrader_or_skip()
    try:
        cflib.load_movielens("100k", download=False)
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"MovieLens 100K not available (set {ENV_VAR}): {exc}")
    root = tmp_path_factory.mktemp("nbgrader_course")
    (root / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "cflib"\n',
                                             encoding="utf-8")
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(NOTEBOOK, root / "source" / ASSIGNMENT / NOTEBOOK.name)  # unchanged: no config, no edits
    _nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=root)
    released = json.loads((root / "release" / ASSIGNMENT / NOTEBOOK.name).read_text(encoding="utf-8"))

    submission = json.loads(json.dumps(released))
    filled = set()
    for cell in submission["cells"]:
        fn = _nbgrader_meta(cell).get("grade_id")
        if fn in ANSWERS:
            src, n = re.subn(r"^    # YOUR CODE HERE\n    raise NotImplementedError\(\)$",
                             lambda _: ANSWERS[fn], _source(cell), flags=re.MULTILINE)
            assert n == 1, f"the released cell {fn} has no code stub:\n{_source(cell)}"
            cell["source"] = src
            filled.add(fn)
    assert filled == set(ANSWERS)
    folder = root / "submitted" / STUDENT / ASSIGNMENT
    folder.mkdir(parents=True)
    submitted = folder / NOTEBOOK.name
    submitted.write_text(json.dumps(submission, indent=1), encoding="utf-8")
    _nbgrader("autograde", ASSIGNMENT, cwd=root)
    return {"root": root, "released": released, "submitted": submitted}


def _nbgrader_scores(root: Path) -> dict:
    """{grade cell name: (score, max score)} of alice's notebook, from nbgrader's gradebook.db."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="cflib") as gb:
        notebook = gb.find_submission_notebook(NOTEBOOK.stem, ASSIGNMENT, STUDENT)
        return {grade.name: (grade.score, grade.max_score) for grade in notebook.grades}


def test_release_has_no_solution(course):
    solution = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    released = course["released"]
    text = "\n".join(_source(c) for c in released["cells"])
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "assert not isinstance"):
        assert marker not in text
    leaked = [line for line in _solution_bodies(solution) if line in text]
    assert leaked == [], f"solution lines in nbgrader's release copy: {leaked}"
    assert all(c.get("outputs", []) == [] for c in released["cells"] if c["cell_type"] == "code")
    tagged = [c["id"] for c in solution["cells"] if "solution" in c["metadata"].get("tags", [])]
    released_by_id = {c["id"]: _source(c) for c in released["cells"]}
    for cid in tagged:  # a cell tagged solution is replaced whole (none in notebook 02 today)
        assert released_by_id.get(cid, "") in ("", "YOUR ANSWER HERE", "# YOUR CODE HERE\nraise NotImplementedError()")


def test_autograde_gives_the_points_of_the_checks_that_pass(course):
    points = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["metadata"]["cflib"]["points"]
    scores = _nbgrader_scores(course["root"])
    tests = {name[len("test_"):]: score for name, score in scores.items() if name.startswith("test_")}
    assert tests == {fn: (float(points[fn] if fn in PASSES else 0), float(points[fn])) for fn in points}
    assert tests == {"my_cost_loop": (1.0, 1.0), "my_cost": (0.0, 2.0), "my_cost_sparse": (0.0, 2.0)}
    # The markdown answers are nbgrader "manually graded answers" worth 0 points: unchanged, they score 0.
    answers = {name: score for name, score in scores.items() if name.startswith("answer_")}
    assert answers and all(score == (0.0, 0.0) for score in answers.values())


def test_nbgrader_and_cflib_grade_agree(course, tmp_path):
    out = tmp_path / "graded"
    _run([sys.executable, "-m", "cflib.grade", str(course["submitted"]), "--out", str(out)], ROOT)
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["exercise"].startswith("my_")]
    ours = {r["exercise"]: (float(r["points"]), float(r["max_points"])) for r in rows}
    scores = _nbgrader_scores(course["root"])
    theirs = {name[len("test_"):]: score for name, score in scores.items() if name.startswith("test_")}
    assert ours == theirs
    assert {r["status"] for r in rows} == {"pass", "fail", "not_implemented"}
