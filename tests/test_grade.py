"""The classroom grader, end to end: a class whose gradebook is known in advance, hostile and broken
submissions, the sandbox, shards and merge, exit codes, atomic output.

One class of 21 submissions (notebook 02, plus one of 09) is graded once per
module with ``--jobs 2``; every row is compared exactly. Needs Linux for the
sandbox assertions (Landlock, network namespace); they skip elsewhere with the
reason, and fail under ``CI``.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from cflib.checks.engine import capture
from cflib.grade import gradebook
from cflib.grade.batch import grade, merge
from cflib.grade.course import COURSE_FILE, build, dumps
from cflib.grade.wire import decode, encode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import synthetic_class as sc  # noqa: E402

HEAD = "import numpy as np\nimport cflib\n\n"
LOOP = HEAD + '''def my_cost_loop(X, Theta, Y, R, lam=0.0):
    J = 0.0
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if R[i, j]:
                J += 0.5 * (X[i] @ Theta[j] - Y[i, j]) ** 2
    return J + 0.5 * lam * (np.sum(X ** 2) + np.sum(Theta ** 2))
'''
VEC = HEAD + '''def my_cost(X, Theta, Y, R, lam=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return 0.5 * np.sum(E ** 2) + 0.5 * lam * (np.sum(X ** 2) + np.sum(Theta ** 2))
'''
SPARSE = HEAD + '''def my_cost_sparse(X, Theta, movies, users, ratings, lam=0.0):
    e = np.sum(X[movies] * Theta[users], axis=1) - ratings
    return 0.5 * np.sum(e ** 2) + 0.5 * lam * (np.sum(X ** 2) + np.sum(Theta ** 2))
'''
RIGHT = {"my_cost_loop": LOOP, "my_cost": VEC, "my_cost_sparse": SPARSE}
ARGS = "X, Theta, Y, R, lam=0.0"
SPARSE_ARGS = "X, Theta, movies, users, ratings, lam=0.0"


def remembered_answers() -> str:
    """A my_cost that returns the check's answers it saw (keyed by the inputs) and 0 otherwise."""
    from cflib import checks
    from cflib.objective import cost

    spec, _ = capture(checks.check_cost, lambda *a: None)
    table = {round(float(np.sum(c.args[0]) + np.nansum(c.args[2]) + c.args[4]), 9): float(cost(*c.args))
             for c in spec.cases}
    return HEAD + f'''ANSWERS = {table!r}


def my_cost(X, Theta, Y, R, lam=0.0):
    return ANSWERS.get(round(float(np.sum(X) + np.nansum(Y) + lam), 9), 0.0)
'''


def write(path: Path, nb) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nb if isinstance(nb, str) else json.dumps(nb, indent=1), encoding="utf-8")
    return path


def submission(**sources) -> dict:
    return sc.fill(sc.handout("02"), {**RIGHT, **sources})


def hostile(kind, fn, args=ARGS, **kw):
    return "import numpy as np\nimport cflib\nfrom cflib import checks\n\n" + \
        sc.hostile_source(kind, fn, {"my_cost_sparse": "check_cost_sparse"}.get(fn, "check_cost"), args, **kw)


# Rows known in advance: (student, notebook, exercise) -> (status, points, a phrase of the detail).
NB02, NB09 = "02_cost_function", "09_top_n_evaluation"
EXPECTED = {
    ("alice", NB02, "my_cost_loop"): ("pass", 1, "agrees with cflib.cost on"),
    ("alice", NB02, "my_cost"): ("pass", 2, "agrees with cflib.cost"),
    ("alice", NB02, "my_cost_sparse"): ("pass", 2, "agrees with cflib.cost_sparse on"),
    ("alice", NB09, "my_precision_at_k"): ("pass", 2, "agrees with cflib.ranking.precision_at_k"),
    ("alice", NB09, "my_ndcg_at_k"): ("pass", 3, "agrees with cflib.ranking.ndcg_at_k"),
    ("bob", NB02, "my_cost_loop"): ("fail", 0, "calls cflib.cost, the function this exercise asks you to write"),
    ("bob", NB02, "my_cost"): ("fail", 0, "the mask R is not applied"),
    ("bob", NB02, "my_cost_sparse"): ("not_implemented", 0, "still raises NotImplementedError"),
    ("carol", NB02, "my_cost_loop"): ("fail", 0, "the cost is 0 on every test case"),
    ("carol", NB02, "my_cost"): ("fail", 0, "the cost is 0 on every test case"),
    ("carol", NB02, "my_cost_sparse"): ("fail", 0, "While checked it printed 1 line: check_cost_sparse: PASS"),
    ("dave", NB02, "my_cost_loop"): ("pass", 1, ""),
    ("dave", NB02, "my_cost"): ("fail", 0, "(drawn afresh by the grader)"),
    ("dave", NB02, "my_cost_sparse"): ("pass", 2, ""),
    ("erin", NB02, "my_cost_loop"): ("pass", 1, ""),
    ("erin", NB02, "my_cost"): ("pass", 2, ""),
    ("erin", NB02, "my_cost_sparse"): ("timeout", 0, "took longer than 3 s"),
    ("frank", NB02, "my_cost_loop"): ("pass", 1, ""),
    ("frank", NB02, "my_cost"): ("error", 0, "exit code 3"),
    ("frank", NB02, "my_cost_sparse"): ("pass", 2, ""),
    ("grace", NB02, "my_cost_loop"): ("pass", 1, ""),
    ("grace", NB02, "my_cost"): ("fail", 0, "the cost is 0 on every test case"),
    ("grace", NB02, "my_cost_sparse"): ("pass", 2, ""),
    ("heidi", NB02, "my_cost_loop"): ("pass", 1, ""),
    ("heidi", NB02, "my_cost"): ("pass", 2, ""),
    ("heidi", NB02, "my_cost_sparse"): ("error", 0, "ran out of memory"),
    ("ivan", NB02, ""): ("error", 0, "SIGSEGV"),
    ("judy", "judy.ipynb", ""): ("error", 0, "not valid JSON"),
    ("ken", "ken.ipynb", ""): ("error", 0, "the file is empty"),
    ("leo", "leo.ipynb", ""): ("error", 0, "not a notebook of this course"),
    ("mallory", NB02, ""): ("error", 0, "this is the solution notebook"),
    ("nina", NB02, ""): ("error", 0, "cells reordered"),
    ("oscar", NB02, ""): ("error", 0, "cells deleted: the cell of my_cost is missing"),
    ("peggy", NB02, ""): ("error", 0, "the notebook's imports fail"),
    ("quinn", NB02, "my_cost_loop"): ("pass", 1, ""),
    ("quinn", NB02, "my_cost"): ("pass", 2, ""),
    ("quinn", NB02, "my_cost_sparse"): ("pass", 2, ""),
    ("rita", NB02, "my_cost_loop"): ("fail", 0, "returned text ("),
    ("rita", NB02, "my_cost"): ("fail", 0, "returned a complex result"),
    ("rita", NB02, "my_cost_sparse"): ("pass", 2, ""),
    ("sam", NB02, "my_cost_loop"): ("pass", 1, ""),
    ("sam", NB02, "my_cost"): ("fail", 0, "its cell does not run (SyntaxError"),
    ("sam", NB02, "my_cost_sparse"): ("pass", 2, ""),
    ("tina", NB02, "my_cost_loop"): ("pass", 1, ""),
    ("tina", NB02, "my_cost"): ("fail", 0, "is a float, not a function"),
    ("tina", NB02, "my_cost_sparse"): ("fail", 0, "the grader does not let a submission open network connections"),
}


def make_class(root: Path, out: Path) -> dict:
    """Write the class of :data:`EXPECTED` under ``root``; returns the files its escapes aim at."""
    cls = root / "class"
    alice = write(cls / "alice" / f"{NB02}.ipynb", submission())
    tries = sc._learner_tries()
    nb09 = sc.fill(sc.handout("09"), {"my_precision_at_k": sc.function_source(tries.prec_ok, "my_precision_at_k"),
                                      "my_ndcg_at_k": sc.function_source(tries.ndcg_ok, "my_ndcg_at_k")})
    write(cls / "alice" / f"{NB09}.ipynb", nb09)
    write(cls / "bob__02_cost_function.ipynb",
          sc.fill(sc.handout("02"), {"my_cost_loop": hostile("wraps_cflib", "my_cost_loop"),
                                     "my_cost": HEAD + "def my_cost(X, Theta, Y, R, lam=0.0):\n"
                                     "    E = X @ Theta.T - Y\n    return 0.5 * np.sum(E ** 2) + 0.5 * lam * "
                                     "(np.sum(X ** 2) + np.sum(Theta ** 2))\n"}))
    write(cls / "carol.ipynb", submission(my_cost_loop=hostile("replaces_check", "my_cost_loop"),
                                          my_cost=hostile("patches_numpy", "my_cost"),
                                          my_cost_sparse=hostile("prints_pass", "my_cost_sparse", SPARSE_ARGS)))
    write(cls / "dave" / "renamed copy.ipynb", submission(my_cost=remembered_answers()))
    write(cls / "erin" / f"{NB02}.ipynb", submission(my_cost_sparse=hostile("endless_loop", "my_cost_sparse",
                                                                            SPARSE_ARGS)))
    write(cls / "frank" / f"{NB02}.ipynb", submission(my_cost=hostile("exits", "my_cost")))
    targets = {"neighbour": alice, "out": out / "gradebook.csv", "planted": out / "planted.txt",
               "tmp": Path("/tmp") / f"cflib-escape-{uuid.uuid4().hex}.txt", "home": root / "escaped.txt"}
    defining = "class _AtDefinition:\n" + "".join(
        f"    try:\n        open({str(t)!r}, 'w').write('x')\n    except OSError:\n        pass\n"
        for t in targets.values())
    write(cls / "grace" / f"{NB02}.ipynb",
          submission(my_cost=hostile("escapes", "my_cost", targets=list(targets.values())) + "\n\n" + defining))
    write(cls / "heidi" / f"{NB02}.ipynb", submission(my_cost_sparse=hostile("memory_hog", "my_cost_sparse",
                                                                             SPARSE_ARGS)))
    write(cls / "ivan" / f"{NB02}.ipynb", submission(
        my_cost=VEC + "\n\nclass _Crash:\n    import faulthandler\n    faulthandler._sigsegv()\n"))
    write(cls / "judy.ipynb", '{"cells": [')
    write(cls / "ken.ipynb", "")
    write(cls / "leo.ipynb", {"cells": [{"cell_type": "code", "source": "def foo():\n    return 1\n", "metadata": {},
                                         "outputs": [], "execution_count": None}], "metadata": {},
                              "nbformat": 4, "nbformat_minor": 5})
    write(cls / "mallory" / f"{NB02}.ipynb", (REPO / "notebooks" / f"{NB02}.ipynb").read_text(encoding="utf-8"))
    nina = submission()
    nina["cells"][5], nina["cells"][20] = nina["cells"][20], nina["cells"][5]
    write(cls / "nina" / f"{NB02}.ipynb", nina)
    oscar = submission()
    oscar["cells"] = [c for c in oscar["cells"] if "def my_cost(" not in sc._source(c)]
    write(cls / "oscar" / f"{NB02}.ipynb", oscar)
    write(cls / "peggy" / f"{NB02}.ipynb", submission(my_cost=VEC + "import not_a_module_of_this_course\n"))
    write(root / "nbgrader" / "submitted" / "quinn" / "ps02" / f"{NB02}.ipynb", submission())
    write(cls / "rita" / f"{NB02}.ipynb", submission(
        my_cost_loop=HEAD + f"def my_cost_loop({ARGS}):\n    return str(cflib.objective.np.sum(((X @ Theta.T - Y) * R)"
        " ** 2) / 2 + lam / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2)))\n",
        my_cost=HEAD + f"def my_cost({ARGS}):\n    E = (X @ Theta.T - Y) * R\n    return complex(0.5 * np.sum(E ** 2)"
        " + 0.5 * lam * (np.sum(X ** 2) + np.sum(Theta ** 2)), 1e-3)\n"))
    write(cls / "sam" / f"{NB02}.ipynb", submission(my_cost=f"def my_cost({ARGS}):\n    return 0.5 * (\n"))
    write(cls / "tina" / f"{NB02}.ipynb", submission(
        my_cost="my_cost = 3.0\n",
        my_cost_sparse=HEAD + f"import socket\n\n\ndef my_cost_sparse({SPARSE_ARGS}):\n"
        "    socket.create_connection(('127.0.0.1', 9), timeout=1)\n    return 0.0\n"))
    return targets


def read_rows(out: Path) -> list:
    with open(out / "gradebook.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("classroom")
    out = root / "graded"
    targets = make_class(root, out)
    before = {name: (p.read_bytes() if p.exists() else None) for name, p in targets.items()}
    streams = (sys.stdout, sys.stderr)
    summary = grade([root / "class", root / "nbgrader"], out, time_limit=3, notebook_limit=60, jobs=2,
                    progress=False)
    # judging from two threads once left the grader's own stdout inside a check's buffer
    assert (sys.stdout, sys.stderr) == streams
    return {"root": root, "out": out, "targets": targets, "before": before, "summary": summary}


def test_the_gradebook_of_a_known_class_matches_exactly(graded):
    rows = read_rows(graded["out"])
    assert list(rows[0]) == ["student", "notebook", "exercise", "status", "points", "max_points", "detail"]
    got = {(r["student"], r["notebook"], r["exercise"]): r for r in rows}
    assert set(got) == set(EXPECTED), set(got) ^ set(EXPECTED)
    for key, (status, points, phrase) in EXPECTED.items():
        r = got[key]
        assert (r["status"], float(r["points"])) == (status, points), (key, r["detail"])
        assert phrase in r["detail"], (key, r["detail"])
        assert "\n" not in r["detail"] and r["detail"].strip()


def test_students_csv_sums_points_and_counts_statuses(graded):
    with open(graded["out"] / "students.csv", encoding="utf-8", newline="") as f:
        table = {(r["student"], r["notebook"]): r for r in csv.DictReader(f)}
    assert table[("alice", NB02)]["points"] == "5" and table[("alice", NB02)]["max_points"] == "5"
    bob = table[("bob", NB02)]
    assert (bob["points"], bob["fail"], bob["not_implemented"], bob["pass"]) == ("0", "2", "1", "0")
    assert table[("ivan", NB02)]["error"] == "1" and table[("ivan", NB02)]["max_points"] == "5"


def test_nothing_a_submission_does_reaches_outside_its_folder(graded):
    for name, path in graded["targets"].items():
        now = path.read_bytes() if path.exists() else None
        if name == "out":  # the grader itself wrote it: it must hold grades, not the planted text
            assert now is not None and b"graded by me" not in now
        else:
            assert now == graded["before"][name], f"the submission changed {name}: {path}"


def test_the_sandbox_report_is_written(graded):
    meta = json.loads((graded["out"] / "grading.json").read_text())
    sandbox = meta["sandbox"]
    if os.environ.get("CI") or sys.platform.startswith("linux"):
        assert sandbox["network"].startswith("off"), sandbox
        assert "Landlock" in sandbox["file system"] and "not confined" not in sandbox["file system"], sandbox
    html = (graded["out"] / "report.html").read_text()
    assert sandbox["network"] in html and "class-figure" in html


def test_shards_merge_into_what_one_run_gives(graded, tmp_path):
    root, out = graded["root"], graded["out"]
    shards = []
    for i in (1, 2):
        shard_out = tmp_path / f"shard{i}"
        grade([root / "class", root / "nbgrader"], shard_out, time_limit=3, notebook_limit=60, jobs=2,
              shard=(i, 2), progress=False)
        shards.append(shard_out)
    students = [{r["student"] for r in read_rows(s)} for s in shards]
    assert students[0] and students[1] and not students[0] & students[1]
    merge(shards, tmp_path / "merged")
    for name in gradebook.FILES:  # also: grading the same folder again gives the same bytes
        assert (tmp_path / "merged" / name).read_bytes() == (out / name).read_bytes(), name


def test_no_temporary_file_is_left_and_a_failed_write_changes_nothing(graded, tmp_path, monkeypatch):
    assert sorted(p.name for p in graded["out"].iterdir()) == sorted(gradebook.FILES)
    rows, meta = gradebook.read(graded["out"])
    target = tmp_path / "out"
    gradebook.write(target, rows, meta, {})
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gradebook, "render_report", broken)
    with pytest.raises(KeyboardInterrupt):
        gradebook.write(target, rows[:3], meta, {})
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before


def cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "cflib.grade", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.mark.parametrize("args, phrase", [
    (["x.ipynb"], "--out"),
    (["--out", "o"], "give at least one SUBMISSION"),
    (["does-not-exist", "--out", "o"], "SUBMISSION does-not-exist does not exist"),
    (["tests", "--out", "o", "--shard", "3/2"], "1 <= I <= N"),
    (["tests", "--out", "o", "--shard", "two"], "--shard must be I/N"),
    (["tests", "--out", "o", "--notebooks", "99"], "--notebooks: '99' is not a course notebook"),
    (["tests", "--out", "o", "--time-limit", "-1"], "--time-limit must be > 0"),
    (["tests", "--out", "o", "--jobs", "0"], "--jobs must be > 0"),
    (["tests", "--out", "README.md"], "is a file"),
    (["--merge", "tests", "--out", "o"], "grading.json is missing"),
])
def test_unusable_arguments_exit_2_naming_the_argument(args, phrase, tmp_path):
    run = cli(*args)
    assert run.returncode == 2, run
    assert phrase in run.stderr, run.stderr
    assert not (REPO / "o").exists()


def test_the_command_exits_0_when_students_fail(tmp_path):
    path = write(tmp_path / "bob" / f"{NB02}.ipynb", sc.handout("02"))
    run = cli(path.parent, "--out", tmp_path / "out", "--no-progress")
    assert run.returncode == 0, run.stderr
    assert "graded 1 notebook of 1 student" in run.stdout and "3 not implemented" in run.stdout
    assert [r["status"] for r in read_rows(tmp_path / "out")] == ["not_implemented"] * 3


def test_notebooks_option_grades_only_those(tmp_path):
    write(tmp_path / "a" / f"{NB02}.ipynb", sc.handout("02"))
    write(tmp_path / "a" / f"{NB09}.ipynb", sc.handout("09"))
    grade([tmp_path], tmp_path / "out", notebooks={NB09}, progress=False)
    assert {r["notebook"] for r in read_rows(tmp_path / "out")} == {NB09}


def test_course_json_is_up_to_date():
    assert COURSE_FILE.read_text(encoding="utf-8") == dumps(build(REPO / "notebooks")), \
        "run `python -m cflib.grade.course notebooks` (make exercises)"


def test_wire_carries_data_and_refuses_objects():
    for value in (None, True, 3, 2.5, float("nan"), 1 + 2j, "3.5", [1, (2.0, "x")], np.float32(1.5),
                  np.arange(6.0).reshape(2, 3), np.array([1 + 1j]), np.array(["a", "b"])):
        back = decode(json.loads(json.dumps(encode(value))))
        assert type(back) is type(value) or isinstance(value, np.generic)
        assert repr(back) == repr(value)
    assert type(decode(encode(object()))).__name__ == "object"
    # what the checks refuse in the kernel crosses as itself, so the grader refuses it too
    assert isinstance(decode(json.loads(json.dumps(encode(np.asmatrix(np.eye(2)))))), np.matrix)
    assert type(decode(encode(g for g in ()))).__name__ == "generator"
    with pytest.raises(ValueError):
        decode({"t": "nd", "dtype": "|O", "shape": [1], "b64": "AAAAAAAAAAA="})
    with pytest.raises(ValueError):
        decode({"t": "nd", "dtype": "<f8", "shape": [3], "b64": "AAAAAAAAAAA="})


def test_landlock_alone_confines_writes(tmp_path):
    """The kernel layer holds without the Python audit hook (so ctypes or native code cannot get round it)."""
    work, other = tmp_path / "work", tmp_path / "other"
    work.mkdir()
    other.mkdir()
    code = ("import json, cflib.checks\nfrom cflib.grade.sandbox import confine\n"
            f"r = confine({str(work)!r}, 2**31, audit=False)\nout = {{'report': r}}\n"
            f"for name, p in (('work', {str(work / 'a')!r}), ('other', {str(other / 'b')!r})):\n"
            "    try:\n        open(p, 'w').write('x'); out[name] = 'written'\n"
            "    except OSError as e:\n        out[name] = type(e).__name__\nprint(json.dumps(out))\n")
    run = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120)
    got = json.loads(run.stdout)
    if "not confined" in got["report"]["file system"]:
        if os.environ.get("CI"):
            pytest.fail(f"no Landlock on the CI machine: {got['report']}")
        pytest.skip(got["report"]["file system"])
    assert got["work"] == "written" and got["other"] == "PermissionError", got
    assert not (other / "b").exists()
