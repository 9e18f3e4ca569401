"""The grader on notebook 13's three exercises (cflib.checks.factorization): its verdict is the in-kernel check's.

A submission's functions run in the grader's confined process (:func:`cflib.grade.session.run_submission`) and
are judged by :func:`cflib.grade.marking.mark` on the check's cases plus fresh ones; the status, and for a known
mistake its diagnosis, must be what the notebook's own check says. The course entry is written here, so the test
does not wait for notebook 13's course.json row.
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from cflib import checks
from cflib.grade.cases import case_seed
from cflib.grade.course import _notebook
from cflib.grade.marking import mark
from cflib.grade.session import run_submission

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tools"))
import synthetic_class as sc  # noqa: E402
import test_checks_fm as t  # noqa: E402

NB = "13_fm_exercises"
LIMITS = {"time_limit": 20.0, "notebook_limit": 120.0, "memory_gib": 2.0}
HEAD = "import numpy as np\n\n"
HANDOUT = REPO / "notebooks" / "exercises" / "13_side_information.ipynb"


# (function, check, right answer, wrong answer, the wrong answer's diagnosis)
EXERCISES = [
    ("fm_pairwise", "check_fm_pairwise", t.pw_loop, t.pw_no_squares, "the squares sum_i v_if^2 x_i^2 are not"),
    ("fm_gradient", "check_fm_gradient", t.grad_outer, t.grad_no_square_term, "gV leaves out the -v_if x_i^2 term"),
    ("sgd_step", "check_sgd_step", t.step_copy_first, t.step_sequential, "after w0 and w were updated"),
]


def _kernel(check: str, fn) -> str:
    buf = io.StringIO()
    with redirect_stdout(buf):
        getattr(checks, check)(fn)
    return buf.getvalue().strip()


def _graded(student: str, fns: list) -> list:
    cells = [(i, HEAD + sc.function_source(fn, name)) for i, ((name, _, _, _, _), fn) in enumerate(zip(EXERCISES, fns))]
    nb = {"id": NB, "exercises": [{"function": name, "check": check, "points": 1}
                                  for name, check, _, _, _ in EXERCISES]}
    return _run(student, nb, cells)


def _run(student: str, nb: dict, cells: list) -> list:
    seed = case_seed(nb["id"], student)
    run = run_submission(cells, [(e["function"], e["check"]) for e in nb["exercises"]], seed=seed,
                         time_limit=LIMITS["time_limit"], notebook_limit=LIMITS["notebook_limit"],
                         memory_bytes=int(LIMITS["memory_gib"] * 2 ** 30))
    return mark(student, nb, run, cells, seed, LIMITS)


@pytest.fixture(scope="module")
def rows():
    return {"right": _graded("right", [e[2] for e in EXERCISES]), "wrong": _graded("wrong", [e[3] for e in EXERCISES])}


@pytest.mark.parametrize("k", range(len(EXERCISES)), ids=[e[0] for e in EXERCISES])
def test_the_grader_agrees_with_the_check_in_the_notebook(rows, k):
    name, check, right, wrong, phrase = EXERCISES[k]
    graded_right, graded_wrong = rows["right"][k], rows["wrong"][k]
    assert graded_right["exercise"] == name and graded_right["status"] == "pass", graded_right
    assert graded_right["points"] == 1.0
    assert _kernel(check, right).startswith(f"{check}: PASS - ")
    assert graded_wrong["status"] == "fail" and graded_wrong["points"] == 0.0, graded_wrong
    line = _kernel(check, wrong)
    assert line.startswith(f"{check}: FAIL - ") and phrase in line
    assert phrase in graded_wrong["detail"], graded_wrong["detail"]


WRAPPERS = {  # each calls the cflib function its exercise asks for
    "fm_pairwise": HEAD + "import cflib.fm\n\n\ndef fm_pairwise(X, V):\n    return cflib.fm.pairwise(X, V)\n",
    "fm_gradient": HEAD + "from cflib.fm_sgd import rating_gradient\n\n\ndef fm_gradient(x, y, w0, w, V):\n"
                          "    return rating_gradient(x, y, w0, w, V)\n",
    "sgd_step": HEAD + "from cflib import fm_sgd\n\n\ndef sgd_step(x, y, w0, w, V, lr, lam):\n"
                       "    return fm_sgd.rating_step(x, y, w0, w, V, lr, lam)\n",
}


def test_a_function_that_calls_the_reference_gets_no_points():
    """The notebook's check passes it (it IS the reference); the grader's tripwire names the function it calls."""
    nb = {"id": NB, "exercises": [{"function": name, "check": check, "points": 1}
                                  for name, check, _, _, _ in EXERCISES]}
    graded = _run("wrapper", nb, list(enumerate(WRAPPERS.values())))
    for row, ref in zip(graded, ("cflib.fm.pairwise", "cflib.fm_sgd.rating_gradient", "cflib.fm_sgd.rating_step")):
        assert row["status"] == "fail" and f"calls {ref}, the function this exercise asks you to write" in row["detail"]


def test_a_function_that_calls_another_exercises_reference_is_told_so():
    """An SGD step built on cflib's FM gradient (the answer of the gradient exercise) is not the step's own work,
    and the message names the other exercise's reference as such, not as this exercise's."""
    nb = {"id": NB, "exercises": [{"function": name, "check": check, "points": 1}
                                  for name, check, _, _, _ in EXERCISES]}
    borrowed = HEAD + ("from cflib.fm_sgd import rating_gradient\n\n\ndef sgd_step(x, y, w0, w, V, lr, lam):\n"
                       "    g0, gw, gV = rating_gradient(x, y, w0, w, V)\n"
                       "    return w0 - lr * g0, w - lr * (gw + lam * w), V - lr * (gV + lam * V)\n")
    cells = list(enumerate([HEAD + "def fm_pairwise(X, V):\n    raise NotImplementedError\n",
                            HEAD + "def fm_gradient(x, y, w0, w, V):\n    raise NotImplementedError\n", borrowed]))
    step = next(r for r in _run("borrower", nb, cells) if r["exercise"] == "sgd_step")
    assert step["status"] == "fail" and step["points"] == 0
    assert "calls cflib.fm_sgd.rating_gradient, the answer cflib holds for another exercise" in step["detail"]
    assert "the function this exercise asks you to write" not in step["detail"]


@pytest.mark.skipif(not HANDOUT.exists(), reason="notebook 13's student copy is not generated yet")
def test_notebook_13s_student_copy_filled_in_is_graded_as_its_checks_say():
    """The handout as a learner hands it in: the course entry read from the notebooks (as course.json will be)."""
    entry = _notebook(REPO / "notebooks" / HANDOUT.name, HANDOUT)
    names = [e["function"] for e in entry["exercises"]]
    assert [e["check"] for e in entry["exercises"]] == ["check_fm_pairwise", "check_fm_gradient", "check_sgd_step"]
    answers = {names[0]: t.pw_einsum, names[1]: t.grad_no_x_factor, names[2]: t.step_ok}
    filled = sc.fill(json.loads(HANDOUT.read_text(encoding="utf-8")),
                     {name: HEAD + sc.function_source(fn, name) for name, fn in answers.items()})
    cells = [(i, sc._source(c)) for i, c in enumerate(filled["cells"]) if c["cell_type"] == "code"]
    rows = _run("handout", entry, cells)
    for row, e, fn in zip(rows, entry["exercises"], answers.values()):
        line = _kernel(e["check"], fn)
        assert row["status"] == ("pass" if line.startswith(f"{e['check']}: PASS") else "fail"), (row, line)
    assert [r["status"] for r in rows] == ["pass", "fail", "pass"]
    assert "gV leaves out the factor x_i" in rows[1]["detail"]


def _exercises() -> dict:
    return {"id": NB, "exercises": [{"function": name, "check": check, "points": 1}
                                    for name, check, _, _, _ in EXERCISES]}


HOSTILE = [  # code a learner could hand in for notebook 13, each worth no points, none writing outside its folder
    HEAD + "def fm_pairwise(X, V, _=open('/tmp/cflib_grade_fm_owned_default.txt', 'w')):\n"
           "    return 0.5 * ((X @ V) ** 2 - (X ** 2) @ (V ** 2)).sum(axis=1)\n",
    HEAD + "@(lambda f: (open('/tmp/cflib_grade_fm_owned_decorator.txt', 'w').write('x'), f)[1])\n"
           "def fm_gradient(x, y, w0, w, V):\n    s = x @ V\n"
           "    e = w0 + w @ x + 0.5 * (s @ s - ((x ** 2) @ (V ** 2)).sum()) - y\n"
           "    return str(e), (e * x).astype(str), e * x[:, None] * (s - V * x[:, None])\n",
    HEAD + "def sgd_step(x, y, w0, w, V, lr, lam):\n    open('/tmp/cflib_grade_fm_owned_call.txt', 'w').write('x')\n"
           "    return w0, w, V\n",
    HEAD + "def sgd_step(x, y, w0, w, V, lr, lam):\n    return complex(w0), w + 0j, V\n",
]


def test_hostile_fm_code_gets_no_points_and_writes_nothing_outside():
    """A file written from a default argument, a decorator or the body; a text or complex part of a right tuple."""
    owned = [Path(f"/tmp/cflib_grade_fm_owned_{w}.txt") for w in ("default", "decorator", "call")]
    for path in owned:
        path.unlink(missing_ok=True)
    nb = _exercises()
    graded = _run("hostile", nb, list(enumerate(HOSTILE[:3])))
    graded.append(_run("complex", {"id": NB, "exercises": nb["exercises"][2:]}, [(0, HOSTILE[3])])[0])
    assert [r["points"] for r in graded] == [0.0] * 4, graded
    assert all("PermissionError" in r["detail"] for r in graded[:3]), graded
    assert "complex" in graded[3]["detail"], graded[3]["detail"]
    assert not any(path.exists() for path in owned)


THREADED = (HEAD + "import gc\nimport concurrent.futures as cf\n\n\ndef fm_pairwise(X, V):\n"
            "    ref = [o for o in gc.get_objects() if callable(o) and getattr(o, '__qualname__', '') == 'pairwise'\n"
            "           and getattr(o, '__module__', '') == 'cflib.fm']\n"
            "    with cf.ThreadPoolExecutor(1) as pool:\n        return pool.submit(ref[0], X, V).result()\n")


def test_a_function_that_calls_the_reference_from_a_thread_of_its_own_gets_no_points():
    row = _run("threaded", {"id": NB, "exercises": [{"function": "fm_pairwise", "check": "check_fm_pairwise",
                                                      "points": 1}]}, [(0, THREADED)])[0]
    assert row["status"] == "fail" and row["points"] == 0.0, row


def test_the_helpers_of_a_check_are_guarded_like_its_reference():
    """A learner's pass found that cflib.checks.evaluation._found, with its default arguments, is the right
    sampled recall: imported or found through gc, it scored full points. The check's private helpers are now
    guarded, while the ones a case's callable runs stay open (a right answer still passes)."""
    nb = {"id": "14_helpers", "exercises": [{"function": "my_sampled_recall", "check": "check_sampled_recall",
                                             "points": 2}]}
    borrowed = HEAD + ("from cflib.checks.evaluation import _found\n\n\n"
                       "def my_sampled_recall(scores, relevant, negatives, k):\n"
                       "    return _found(scores, relevant, negatives, k) / len(relevant)\n")
    via_gc = HEAD + ("import gc\n\n\ndef my_sampled_recall(scores, relevant, negatives, k):\n"
                     "    rank = [o for o in gc.get_objects() if getattr(o, '__name__', '') == '_rank'][0]\n"
                     "    cands = np.union1d(relevant, negatives)\n"
                     "    return np.isin(rank(scores, cands, k), relevant).sum() / len(relevant)\n")
    right = HEAD + ("def my_sampled_recall(scores, relevant, negatives, k):\n"
                    "    cands = sorted(set(map(int, relevant)) | set(map(int, negatives)), key=lambda m: (-scores[m], m))\n"
                    "    return len(set(cands[:k]) & set(map(int, relevant))) / len(relevant)\n")
    for source, status in ((borrowed, "fail"), (via_gc, "fail"), (right, "pass")):
        (row,) = _run("helper", nb, [(0, source)])
        assert row["status"] == status, row
        if status == "fail":
            assert "a helper of the notebook's checks" in row["detail"] and row["points"] == 0
