"""The grader on notebook 13's three exercises (cflib.checks.factorization): its verdict is the in-kernel check's.

A submission's functions run in the grader's confined process (:func:`cflib.grade.session.run_submission`) and
are judged by :func:`cflib.grade.marking.mark` on the check's cases plus fresh ones; the status, and for a known
mistake its diagnosis, must be what the notebook's own check says. The course entry is written here, so the test
does not wait for notebook 13's course.json row.
"""

from __future__ import annotations

import inspect
import io
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from cflib import checks
from cflib.grade.cases import case_seed
from cflib.grade.marking import mark
from cflib.grade.session import run_submission

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_checks_fm as t  # noqa: E402

NB = "13_fm_exercises"
LIMITS = {"time_limit": 20.0, "notebook_limit": 120.0, "memory_gib": 2.0}
HEAD = "import numpy as np\n\n"


def _cell(fn, name) -> str:
    """``fn``'s source renamed ``name``, with the helpers of test_checks_fm it calls defined before it."""
    helpers = {"grad_ok": t.grad_ok, "grad_loop": t.grad_loop, "pw_ok": t.pw_ok, "step_ok": t.step_ok}
    src = inspect.getsource(fn).replace(f"def {fn.__name__}(", f"def {name}(", 1)
    before = "".join(inspect.getsource(h) + "\n\n" for h_name, h in helpers.items()
                     if h_name in src and h is not fn)
    return HEAD + before + src


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
    cells = [(i, _cell(fn, name)) for i, ((name, _, _, _, _), fn) in enumerate(zip(EXERCISES, fns))]
    nb = {"id": NB, "exercises": [{"function": name, "check": check, "points": 1}
                                  for name, check, _, _, _ in EXERCISES]}
    seed = case_seed(NB, student)
    run = run_submission(cells, [(name, check) for name, check, _, _, _ in EXERCISES], seed=seed,
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


def wraps_pairwise(X, V):
    import cflib.fm
    return cflib.fm.pairwise(X, V)


def wraps_gradient(x, y, w0, w, V):
    from cflib.fm_sgd import rating_gradient
    return rating_gradient(x, y, w0, w, V)


def wraps_step(x, y, w0, w, V, lr, lam):
    from cflib.fm_sgd import rating_step
    return rating_step(x, y, w0, w, V, lr, lam)


def test_a_function_that_calls_the_reference_gets_no_points():
    """The notebook's check passes it (it IS the reference); the grader's tripwire names the function it calls."""
    graded = _graded("wrapper", [wraps_pairwise, wraps_gradient, wraps_step])
    for row, ref in zip(graded, ("cflib.fm.pairwise", "cflib.fm_sgd.rating_gradient", "cflib.fm_sgd.rating_step")):
        assert row["status"] == "fail" and f"calls {ref}, the function this exercise asks you to write" in row["detail"]
