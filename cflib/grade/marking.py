"""The verdicts: a submission's reported results, judged in the grader's own process, as gradebook rows.

Everything here runs in the grader, on plain data the submission's process
sent (:mod:`cflib.grade.wire`). Each result is read with the check's own reader
and judged with :func:`cflib.checks.engine.judge` against the reference the
grader computes itself, on the check's cases and on fresh ones
(:mod:`cflib.grade.cases`), so the detail is the line the learner would have
read. A row's status is one of :data:`STATUSES`:

* ``pass``: every case agrees (full points);
* ``fail``: a wrong result, an exception, a function that only calls the cflib
  function it was asked to write, or a function that is not defined;
* ``not_implemented``: it still raises ``NotImplementedError``;
* ``timeout``: a call (or the whole notebook) ran out of time;
* ``error``: the submission could not be graded (unreadable, another course's
  notebook, its imports fail, its process died, or it ran out of memory).
"""

from __future__ import annotations

import builtins
import re
import threading
import warnings

from .. import checks
from ..checks.engine import judge
from ..checks.guard import Invalid, Outcome, _first_line
from .cases import graded_cases
from .wire import decode

STATUSES = ("pass", "fail", "not_implemented", "error", "timeout")
#: One submission judged at a time: the checks redirect sys.stdout and set warning filters around
#: each call they make, which is not thread-safe, and ``--jobs`` judges from several threads (two
#: overlapping redirections once left the grader's own stdout pointing into a check's buffer, so its
#: summary line vanished).
_JUDGING = threading.Lock()


def row(student, notebook, exercise, status, points, max_points, detail) -> dict:
    """One gradebook row (the columns of :data:`cflib.grade.gradebook.COLUMNS`)."""
    return {"student": student, "notebook": notebook, "exercise": exercise, "status": status,
            "points": float(points), "max_points": float(max_points),
            "detail": " ".join(str(detail).split())}


def _exception(result: dict) -> BaseException:
    name, text = str(result.get("type", "Exception")), str(result.get("text", ""))
    cls = getattr(builtins, name, None) if result.get("builtin") else None
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = type(name if name.isidentifier() else "Exception", (Exception,), {})
    try:
        return cls(text)
    except Exception:
        return Exception(text)


def _outcome(result: dict, spec, case) -> Outcome:
    kind, printed = result.get("kind"), str(result.get("printed", ""))
    if kind == "todo":
        return Outcome("todo")
    if kind == "invalid":
        return Outcome("invalid", str(result.get("text", "")), printed)
    if kind in ("error", "memory"):
        return Outcome("error", _exception(result), printed)
    try:
        out = decode(result.get("value"))
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        return Outcome("invalid", f"sent a result the grader cannot read ({exc})", printed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Outcome("value", spec.split(out, case), printed)
    except Invalid as exc:
        return Outcome("invalid", str(exc), printed)
    except Exception as exc:
        return Outcome("invalid", f"returned a {type(out).__name__} that cannot be read as an array "
                                  f"({type(exc).__name__}: {_first_line(exc, 80)})", printed)


def _def_source(cells: list, function: str) -> str:
    pattern = re.compile(rf"^def {re.escape(function)}\s*\(", re.M)
    return next((src for _, src in cells if pattern.search(src)), "")


def _absent(exercise, problems: list, cells: list) -> str:
    if exercise.absent != "missing":
        return f"{exercise.function} is a {exercise.absent}, not a function: define it with def {exercise.function}(...)"
    pattern = re.compile(rf"^def {re.escape(exercise.function)}\s*\(", re.M)
    cell = next((i for i, src in cells if pattern.search(src)), None)
    trouble = next((p for p in problems if p.get("cell") == cell), None)
    if cell is not None and trouble:
        return f"{exercise.function} is not defined: its cell does not run ({trouble['text']})"
    return (f"{exercise.function} is not defined in the notebook: write it in its cell as "
            f"def {exercise.function}(...)")


def mark_exercise(student: str, nb: dict, entry: dict, exercise, run, cells: list, seed: int, limits: dict) -> dict:
    """The row of one exercise from what its process reported (``exercise``: a :class:`~.session.Exercise`)."""
    fn, max_points = exercise.function, entry["points"]

    def out(status, detail):
        return row(student, nb["id"], fn, status, max_points if status == "pass" else 0, max_points, detail)

    if exercise.absent:
        return out("fail", _absent(exercise, run.problems, cells))

    def placeholder(*args):
        raise NotImplementedError

    placeholder.__name__ = fn
    spec, _ = graded_cases(getattr(checks, entry["check"]), placeholder, seed)
    results = exercise.results
    where = lambda k: spec.cases[min(k, len(spec.cases) - 1)].label  # noqa: E731
    for k, result in enumerate(results):
        if result.get("kind") == "reference":
            called = result.get("text") or ""
            if called.startswith("cflib.checks.") and called != spec.ref_name and "._" in called:
                return out("fail", f"{fn} calls {called}, a helper of the notebook's checks (it builds the "
                                   "mistakes they diagnose, and can compute the answer), instead of computing the "
                                   f"result itself: write {fn} with numpy and your own code")
            if called == spec.ref_name:
                return out("fail", f"{fn} calls {called}, the function this exercise asks you to write, "
                                   "instead of computing the result itself; the notebook's check compares it with "
                                   "that same function, so it passes there, but it is not an answer")
            return out("fail", f"{fn} calls {called}, the answer cflib holds for another exercise of this "
                               "notebook; the grader does not run the reference answers inside a submission: "
                               f"compute the result in {fn} itself, or call your own function for that exercise")
        if result.get("kind") == "memory":
            return out("error", f"{fn} ran out of memory on {where(k)}: the grader allows "
                                f"{limits['memory_gib']:g} GiB per submission (--memory-limit); look for a dense "
                                "matrix or a copy much larger than the data")
    if exercise.stopped == "died":
        return out("error", f"{exercise.stopped_detail} while {fn} ran on {where(max(exercise.started, 0))}")
    if exercise.stopped == "timeout" and not results:
        return out("timeout", f"{fn} did not return: {exercise.stopped_detail} "
                              f"(the limits are {limits['time_limit']:g} s per call and "
                              f"{limits['notebook_limit']:g} s per notebook)")
    outcomes = [_outcome(r, spec, c) for r, c in zip(results, spec.cases)]
    if exercise.stopped == "timeout" or len(outcomes) < len(spec.cases):
        last = outcomes[-1] if outcomes else Outcome("invalid", f"took longer than {limits['time_limit']:g} s")
        if exercise.stopped == "timeout" and last.kind == "value":
            last = Outcome("invalid", f"took longer than {limits['time_limit']:g} s: is there an endless loop?")
        outcomes += [last] * (len(spec.cases) - len(outcomes))
    try:
        status, text = judge(spec, outcomes, fn, _def_source(cells, fn))
    except RuntimeError as exc:  # the reference failed on a fresh case: cflib's fault, never the learner's
        return out("error", f"the grader itself failed on this exercise ({exc}); please report it")
    if status == "todo":
        return out("not_implemented", f"{fn} is not written yet (it still raises NotImplementedError)")
    if any(o.kind == "invalid" and str(o.value).startswith("took longer") for o in outcomes):
        return out("timeout", text)
    return out(status, text)


def mark(student: str, nb: dict, run, cells: list, seed: int, limits: dict) -> list:
    """The rows of one submission of course notebook ``nb`` (:mod:`cflib.grade.course`)."""
    total = sum(e["points"] for e in nb["exercises"])
    if run.fatal:
        return [row(student, nb["id"], "", "error", 0, total, run.fatal)]
    imports = [p for p in run.problems if p.get("kind") == "import"]
    if imports:
        p = imports[0]
        return [row(student, nb["id"], "", "error", 0, total,
                    f"the notebook's imports fail (cell {p['cell']}: {p['text']}): fix or remove that import")]
    with _JUDGING:
        return [mark_exercise(student, nb, entry, exercise, run, cells, seed, limits)
                for entry, exercise in zip(nb["exercises"], run.exercises)]
