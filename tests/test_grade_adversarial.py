"""The classroom grader against a hostile student and a careless teacher: each test is an attack that once worked
(or a trap a teacher fell into), and what the grader does now.

One small class is graded once per module (``--jobs 2``, 3 s per call); the
other tests are unit tests of the piece that was fixed.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cflib.grade import child, gradebook
from cflib.grade.batch import grade, merge

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from test_grade import ARGS, HEAD, NB02, VEC, read_rows, submission, write  # noqa: E402

CALLS = "calls cflib.cost, the function this exercise asks you to write"
#: A my_cost that reaches cflib.cost by a way the module-attribute tripwire did not cover, and what it gets now.
REFERENCE_ROUTES = {
    # the checks' own import of the reference (cflib.checks.* modules were left alone)
    "via_checks": ("from cflib.checks.cost_gradient import ref_cost\n\n",
                   "ref_cost(X, Theta, Y, R, lam)", "fail", CALLS),
    # the original function object, found among all objects
    "via_gc": ("import gc\n\n",
               "[o for o in gc.get_objects() if callable(o) and getattr(o, '__qualname__', '') == 'cost' and "
               "getattr(o, '__module__', '') == 'cflib.objective'][0](X, Theta, Y, R, lam)", "fail", CALLS),
    # a stand-in handed back by the check itself: stopped already where the check builds its planted mistakes
    "via_standin": ("from cflib import checks\n\n", "checks.check_cost(None)(X, Theta, Y, R, lam)", "fail",
                    "calls cflib.checks.cost_gradient._cost_mistakes, a helper of the notebook's checks"),
    # a fresh copy of the module, whose functions were never replaced
    "via_reload": ("import importlib\nimport cflib.objective\n\n",
                   "importlib.reload(cflib.objective).cost(X, Theta, Y, R, lam)", "fail", ""),
    # the reference's source text, run again
    "via_getsource": ("import inspect\nimport cflib.objective\n\n",
                      "(lambda ns: (exec(inspect.getsource(cflib.objective), ns), ns['cost'])[1])"
                      "({'__name__': 'x'})(X, Theta, Y, R, lam)", "fail", "could not get source"),
}
FORGE = HEAD + '''import json
import os


class _Forge:
    for fd in range(3, 12):
        try:
            os.write(fd, (json.dumps({"ev": "defined", "problems": []}) + "\\n").encode())
            for c in range(40):
                os.write(fd, (json.dumps({"ev": "result", "ex": 1, "case": c, "kind": "value",
                                          "value": {"t": "float", "v": "0x1p+0"}, "printed": ""}) + "\\n").encode())
            os.write(fd, (json.dumps({"ev": "done"}) + "\\n").encode())
        except OSError:
            pass


def my_cost(''' + ARGS + '''):
    return 0.0
'''
FORMULA_NAME = "=HYPERLINK(\"x\";\"click\")"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    cls, out = root / "class", root / "class" / "graded"
    for name, (imports, call, _, _) in REFERENCE_ROUTES.items():
        write(cls / name / f"{NB02}.ipynb",
              submission(my_cost=HEAD + imports + f"def my_cost({ARGS}):\n    return {call}\n"))
    write(cls / "forger" / f"{NB02}.ipynb", submission(my_cost=FORGE))
    write(cls / FORMULA_NAME / f"{NB02}.ipynb", submission(my_cost=VEC))
    write(out / "planted" / f"{NB02}.ipynb", submission(my_cost=VEC))  # inside --out: never graded
    grade([cls], out, time_limit=3, notebook_limit=60, jobs=2, progress=False)
    return {"root": root, "out": out}


def by_key(out: Path) -> dict:
    return {(gradebook.uncell(r["student"]), r["exercise"]): r for r in read_rows(out)}


@pytest.mark.parametrize("route", sorted(REFERENCE_ROUTES))
def test_a_function_that_reaches_the_reference_another_way_does_not_pass(graded, route):
    row = by_key(graded["out"])[(route, "my_cost")]
    _, _, status, phrase = REFERENCE_ROUTES[route]
    assert row["status"] == status and row["points"] == "0", row
    assert phrase in row["detail"], row["detail"]
    # the honest functions beside it are not caught by the guard
    assert by_key(graded["out"])[(route, "my_cost_loop")]["status"] == "pass"


def test_forged_protocol_messages_give_no_points(graded):
    rows = {ex: r for (student, ex), r in by_key(graded["out"]).items() if student == "forger"}
    assert rows["my_cost"]["status"] != "pass" and rows["my_cost"]["points"] == "0", rows["my_cost"]


def test_a_student_name_that_is_a_spreadsheet_formula_is_written_as_text(graded, tmp_path):
    text = (graded["out"] / "gradebook.csv").read_text(encoding="utf-8")
    assert FORMULA_NAME not in [line.split(",")[0] for line in text.splitlines()]
    with open(graded["out"] / "students.csv", encoding="utf-8", newline="") as f:
        names = [r["student"] for r in csv.DictReader(f)]
    assert "'" + FORMULA_NAME in names and not any(n.startswith("=") for n in names)
    assert by_key(graded["out"])[(FORMULA_NAME, "my_cost")]["status"] == "pass"
    merge([graded["out"]], tmp_path / "merged")  # reading the files back undoes the quote
    for name in ("gradebook.csv", "students.csv"):
        assert (tmp_path / "merged" / name).read_bytes() == (graded["out"] / name).read_bytes()


def test_cells_round_trip():
    for text in ("alice", "=1+1", "+1", "-1", "@x", "'=x", "'quoted", "''", "\tx", ""):
        assert gradebook.uncell(gradebook.cell(text)) == text
        assert gradebook.cell(text)[:1] not in ("=", "+", "-", "@", "\t")


def test_the_output_folder_inside_the_submissions_is_not_graded(graded):
    assert "planted" not in {gradebook.uncell(r["student"]) for r in read_rows(graded["out"])}


def test_a_folder_without_notebooks_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    run = subprocess.run([sys.executable, "-m", "cflib.grade", str(tmp_path / "empty"), "--out",
                          str(tmp_path / "out"), "--no-progress"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "found no .ipynb" in run.stderr, run
    assert not (tmp_path / "out").exists()


def test_the_graders_own_failure_is_not_blamed_on_the_student(monkeypatch):
    """cflib failing to build a check's cases (before any student code runs) is the grader's fault."""
    from cflib.grade import cases

    def broken(*args, **kwargs):
        raise ImportError("cannot import name 'Something' from 'cflib.blocks'")

    monkeypatch.setattr(cases, "graded_cases", broken)
    sent = []
    child.serve({"exercises": [{"function": "my_cost", "check": "check_cost"}], "seed": 1, "cells": [],
                 "time_limit": 3}, sent.append)
    assert sent == [{"ev": "grader_error", "text": "ImportError: cannot import name 'Something' from 'cflib.blocks'"}]


def test_the_reference_still_runs_where_no_submission_code_calls_it():
    """The guard changes the reference's code object; a call with no learner code on the stack still computes
    (the driver runs in a thread of its own, compiled under a name inside cflib, as the child's frames are)."""
    driver = ("import json, numpy as np\nfrom cflib.grade import child\nimport cflib.objective as o\n"
              "X, T, Y, R = np.ones((3, 2)), np.ones((2, 2)), np.zeros((3, 2)), np.ones((3, 2))\n"
              "before = float(o.cost(X, T, Y, R, 0.0))\n"
              "child._guard(o.cost, 'cflib.cost', child._trusted_roots())\n"
              "after = float(o.cost(X, T, Y, R, 0.0))\n"
              "ns = {}\nexec(compile('def mine(*a):\\n    return cost(*a)\\n', '<cell 1>', 'exec'), {'cost': o.cost}, ns)\n"
              "try:\n    ns['mine'](X, T, Y, R, 0.0); caught = False\n"
              "except child.ReferenceCalled:\n    caught = True\n"
              "print(json.dumps([before, after, caught]))\n")
    driver = "def main():\n" + "".join(f"    {line}\n" for line in driver.splitlines())
    code = ("import os, threading, cflib\nname = os.path.join(os.path.dirname(cflib.__file__), 'grade', 'driver.py')\n"
            f"ns = {{}}\nexec(compile({driver!r}, name, 'exec'), ns)\n"
            "t = threading.Thread(target=ns['main'])\nt.start()\nt.join()\n")  # a stack of cflib's frames only
    run = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120)
    assert run.stdout and json.loads(run.stdout) == [12.0, 12.0, True], run.stderr
