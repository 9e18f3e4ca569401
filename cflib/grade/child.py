"""The submission's own process: it confines itself, defines the learner's functions, calls them, reports.

Started by :mod:`cflib.grade.session` as ``python -I -m cflib.grade.child`` in
the submission's temporary folder. It reads one JSON request on stdin and
writes JSON lines on the file descriptor that was its stdout; its own stdout
and stderr then go to ``/dev/null``, so nothing the submission prints can be
mistaken for a message. It never judges: it sends back what each call
returned (as plain data, :mod:`cflib.grade.wire`) and the grader decides.

What runs of the submission: from every code cell, in order, only the
top-level imports, function and class definitions, and assignments of
constants or lambdas. Loading data, training, printing and the notebook's own
check calls are skipped, so a printed "PASS" or a replaced
``checks.check_cost`` never runs, and a notebook grades in about a second.

Before the definitions run, the cflib function each exercise asks the learner
to write (``cflib.cost`` for ``my_cost``) is replaced, everywhere the submission
could import it from, by a tripwire: a function that only wraps it is caught.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import os
import re
import sys

#: A cell line run by IPython, not Python (``%matplotlib inline``, ``!pip ...``).
_MAGIC = re.compile(r"^\s*[%!]")
#: The most characters of one call's printed output sent back.
MAX_PRINTED = 2000


class ReferenceCalled(BaseException):
    """The learner's function called the cflib function it was asked to write (a BaseException: not swallowed)."""


class _Later:
    """Stands for the learner's function while the checks build their cases, before it is defined."""

    def __init__(self, name: str):
        self.__name__ = name
        self.fn = None

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


class _Sink(io.StringIO):
    """Where stray prints go between calls (bounded, never read)."""

    def write(self, s):
        if self.tell() > 100_000:
            self.seek(0)
            self.truncate()
        return super().write(s)


def _keep(node) -> bool:
    """A top-level statement that defines something and computes nothing heavy."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if not all(isinstance(t, ast.Name) for t in targets):
            return False
        if isinstance(node.value, ast.Lambda):
            return True
        try:
            ast.literal_eval(node.value)
            return True
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
    return False


def define(cells: list) -> tuple:
    """Run the definitions of ``cells`` (``[(index, source)]``) in one namespace; ``(namespace, problems)``.

    A problem is ``{"cell", "kind", "text"}`` with kind ``"syntax"`` or
    ``"import"`` or ``"runtime"``; the other statements still run.
    """
    ns = {"__name__": "__main__", "__builtins__": builtins}
    problems = []
    for index, source in cells:
        text = "\n".join("" if _MAGIC.match(line) else line for line in str(source).splitlines())
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
            problems.append({"cell": index, "kind": "syntax",
                             "text": f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}{where}"})
            continue
        for node in tree.body:
            if not _keep(node):
                continue
            try:
                exec(compile(ast.Module([node], []), f"<cell {index}>", "exec"), ns)
            except BaseException as exc:  # the submission's code: anything, even SystemExit
                kind = "import" if isinstance(node, (ast.Import, ast.ImportFrom)) else "runtime"
                problems.append({"cell": index, "kind": kind, "line": node.lineno,
                                 "text": f"{type(exc).__name__}: {str(exc).strip()[:300]}"})
    return ns, problems


def _resolve(dotted: str):
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
        return obj
    return None


def install_tripwires(specs: list) -> None:
    """Replace each spec's reference in every loaded cflib module (but the checks') by a tripwire."""
    wanted = {}
    for spec in specs:
        for obj in (_resolve(spec.ref_name), spec.reference):
            if callable(obj):
                wanted[id(obj)] = spec.ref_name

    def tripwire(name):
        def called(*args, **kwargs):
            raise ReferenceCalled(name)
        return called

    for mod_name, mod in list(sys.modules.items()):
        if not mod_name.startswith("cflib") or mod_name.startswith(("cflib.checks.", "cflib.grade")):
            continue
        for attr, value in list(vars(mod).items()):
            if id(value) in wanted:
                setattr(mod, attr, tripwire(wanted[id(value)]))


def _raw(out, case):
    return out


def _encode_outcome(outcome) -> dict:
    from .wire import TooLarge, encode

    printed = (outcome.printed or "")[:MAX_PRINTED]
    if outcome.kind == "value":
        try:
            return {"kind": "value", "value": encode(outcome.value), "printed": printed}
        except TooLarge as exc:
            return {"kind": "invalid", "text": f"returned a result too large to grade ({exc})", "printed": printed}
    if outcome.kind == "todo":
        return {"kind": "todo", "printed": printed}
    if outcome.kind == "invalid":
        return {"kind": "invalid", "text": str(outcome.value), "printed": printed}
    exc = outcome.value
    kind = "memory" if isinstance(exc, MemoryError) else "error"
    return {"kind": kind, "type": type(exc).__name__, "builtin": type(exc).__module__ == "builtins",
            "text": str(exc).strip()[:500], "printed": printed}


def serve(request: dict, send) -> None:
    """Everything after confinement: specs, tripwires, definitions, calls; one message per step."""
    import numpy as np

    from .. import checks
    from ..checks.guard import call_guarded
    from .cases import graded_cases

    exercises = request["exercises"]
    later = [_Later(ex["function"]) for ex in exercises]
    graded = [graded_cases(getattr(checks, ex["check"]), fn, request["seed"]) for ex, fn in zip(exercises, later)]
    install_tripwires([spec for spec, _ in graded])
    ns, problems = define(request["cells"])
    send({"ev": "defined", "problems": problems})
    for i, (ex, fn, (spec, targets)) in enumerate(zip(exercises, later, graded)):
        got = ns.get(ex["function"])
        if got is None or not callable(got):
            send({"ev": "absent", "ex": i, "type": None if got is None else type(got).__name__})
            continue
        fn.fn = got
        for j, (case, target) in enumerate(zip(spec.cases, targets)):
            send({"ev": "start", "ex": i, "case": j})
            try:
                with np.errstate(all="ignore"):
                    outcome = call_guarded(target, case, _raw, spec.arg_names, spec.changed_hints,
                                           limit=request["time_limit"])
                message = _encode_outcome(outcome)
            except ReferenceCalled as exc:
                message = {"kind": "reference", "text": str(exc)}
            send({"ev": "result", "ex": i, "case": j, **message})
            if message["kind"] in ("reference", "memory") or \
                    (message["kind"] == "invalid" and message["text"].startswith("took longer")):
                break  # one is enough: the others would say the same (or wait the whole limit again)
    send({"ev": "done"})


def main() -> None:
    request = json.loads(sys.stdin.readline())
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sys.stdout = sys.stderr = _Sink()

    def send(message):
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    import numpy  # noqa: F401  (imported before confinement: reading its files is then not needed)

    from .. import checks  # noqa: F401
    from .sandbox import confine

    report = confine(request["workdir"], int(request["memory_bytes"]))
    send({"ev": "ready", "sandbox": report})
    serve(request, send)


if __name__ == "__main__":
    main()
