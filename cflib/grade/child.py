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
import threading as _threading

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


#: The references whose code was replaced by a guard: key -> (original code, function, dotted name, roots).
_GUARDED: dict = {}
#: The grader's driver thread (the one that guards the references), the only one from which one runs.
_DRIVER = [None]


def _trusted_roots() -> tuple:
    """The folders of Python, its packages and cflib: code from a file there is not the submission's."""
    import numpy
    import sysconfig

    import cflib

    roots = {os.path.dirname(os.__file__), os.path.dirname(os.path.dirname(numpy.__file__)),
             os.path.dirname(cflib.__file__)}
    roots.update(sysconfig.get_paths().get(k, "") for k in ("stdlib", "platstdlib", "purelib", "platlib"))
    return tuple(os.path.realpath(r).rstrip("/") + "/" for r in roots if r)


def _learner_on_stack(frame, trusted: tuple) -> bool:
    """Whether code of the submission (a cell, exec'd text, a file it wrote) is among ``frame`` and its callers."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith("<frozen "):
            pass
        elif filename.startswith("<") or not os.path.realpath(filename).startswith(trusted):
            return True
        frame = frame.f_back
    return False


def _guard(function, name: str, trusted: tuple) -> bool:
    """Make every call of ``function`` that comes from the submission's code raise :class:`ReferenceCalled`.

    The function object itself is changed (its ``__code__``), so every way of
    reaching it is caught: a module attribute, the checks' own globals
    (``cflib.checks.cost_gradient.ref_cost``), a registry, ``gc``. A call with
    no code of the submission on the stack (a check's wrapper) still runs it.
    """
    import types

    if not isinstance(function, types.FunctionType) or function.__code__.co_freevars:
        return False
    if _DRIVER[0] is None:  # the thread that guards is the grader's driver
        _DRIVER[0] = _threading.get_ident()
    key = len(_GUARDED)
    # the original code is kept, not a working copy of the function (``gc`` would find that copy)
    _GUARDED[key] = (function.__code__, function, name, trusted)
    function.__globals__["__cflib_grade_guarded__"] = _guarded_call
    glue = {}
    exec(f"def {function.__name__}(*args, **kwargs):\n"
         f"    return __cflib_grade_guarded__({key}, args, kwargs)\n", {}, glue)
    function.__code__ = glue[function.__name__].__code__
    return True


def _guarded_call(key, args, kwargs):
    import types

    code, function, name, trusted = _GUARDED[key]
    # A thread the submission started has none of its code on that thread's own stack: only the grader's
    # driver thread (the one that installed the tripwires) may reach a reference at all.
    if _threading.get_ident() != _DRIVER[0] or _learner_on_stack(sys._getframe(2), trusted):
        raise ReferenceCalled(name)
    working = types.FunctionType(code, function.__globals__, function.__name__, function.__defaults__)
    working.__kwdefaults__ = function.__kwdefaults__
    return working(*args, **kwargs)


def _refuse_reloading() -> None:
    """An audit hook: cflib's loaded modules may be neither run again (``importlib.reload``, a second copy from
    the same file) nor read as text (``inspect.getsource``), so their references cannot be had afresh."""
    def loaded_file(path) -> bool:
        try:
            path = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        for name, mod in list(sys.modules.items()):
            if name.startswith("cflib") and getattr(mod, "__file__", None) \
                    and not getattr(getattr(mod, "__spec__", None), "_initializing", False) \
                    and os.path.realpath(mod.__file__) == path:  # (a module being imported is read once)
                return True
        return False

    def hook(event, args):
        if event == "exec" and args and hasattr(args[0], "co_filename") and args[0].co_filename.endswith(".py") \
                and loaded_file(args[0].co_filename):
            raise ImportError("the grader does not let a submission load cflib's modules again (importlib.reload)")
        if event == "open" and args and isinstance(args[0], (str, bytes)) and os.fsdecode(args[0]).endswith(".py") \
                and loaded_file(args[0]):
            raise PermissionError("the grader does not let a submission read cflib's source files")

    sys.addaudithook(hook)


def _check_helpers(spec, targets=()) -> dict:
    """The private helpers of the module of ``spec``'s check, by dotted name: guarded like the reference.

    They build the planted mistakes, and some compute the right answer with the right arguments
    (``cflib.checks.evaluation._found``), so a submission must not call them. Helpers that run while a
    case is called stay open: those of the callables the cases hand the learner's function (a function
    to differentiate, say) and of ``targets``, the wrappers the grader calls (they run on the call's
    own thread), and every helper those call.
    """
    import types

    check = getattr(sys.modules.get("cflib.checks"), spec.name, None)
    module = sys.modules.get(getattr(check, "__module__", ""))
    if module is None:
        return {}
    helpers = {n: f for n, f in vars(module).items() if n.startswith("_") and isinstance(f, types.FunctionType)
               and f.__module__ == module.__name__}

    def code_names(code):
        names = set(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                names |= code_names(const)
        return names

    handed = []
    for a in [*(a for case in spec.cases for a in _flat(case.args)), *targets]:
        if isinstance(a, types.FunctionType):
            handed.append(a)
        elif type(a).__module__ == module.__name__:  # an object of the module's own: its methods too
            handed += [f for f in vars(type(a)).values() if isinstance(f, types.FunctionType)]
    open_names = set()
    while handed:
        for name in code_names(handed.pop().__code__) & set(helpers) - open_names:
            open_names.add(name)
            handed.append(helpers[name])
    handed_ids = {id(a) for case in spec.cases for a in _flat(case.args)}
    return {f"{module.__name__}.{n}": f for n, f in helpers.items() if n not in open_names and id(f) not in handed_ids}


def _flat(args):
    """The arguments of a case and, one level down, the items of the lists, tuples and dicts among them."""
    for a in args:
        yield a
        if isinstance(a, (list, tuple)):
            yield from a
        elif isinstance(a, dict):
            yield from a.values()


def install_tripwires(specs: list, targets: list = ()) -> None:
    """Guard each spec's reference so that the submission cannot call it (:func:`_guard`), and refuse reloading.

    ``targets`` (one list per spec, the callables the grader calls for its cases) keep open the check's
    private helpers they use; the others are guarded too (:func:`_check_helpers`). The reference is also replaced by a plain tripwire in every loaded cflib
    module but the checks' (whose wrappers call it where no learner code runs),
    for references that are not plain functions.
    """
    wanted = {}
    trusted = _trusted_roots()
    for spec, spec_targets in zip(specs, list(targets) or [()] * len(specs)):
        for obj in (_resolve(spec.ref_name), spec.reference):
            if callable(obj) and id(obj) not in wanted:
                wanted[id(obj)] = spec.ref_name
                _guard(obj, spec.ref_name, trusted)
        for name, helper in _check_helpers(spec, spec_targets).items():
            if id(helper) not in wanted:
                wanted[id(helper)] = name
                _guard(helper, name, trusted)

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
    _refuse_reloading()


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
    if isinstance(exc, ReferenceCalled):  # caught by the checks' guard as an error: still the reference
        return {"kind": "reference", "text": str(exc)}
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
    from . import wire  # noqa: F401  (imported before the tripwires refuse reading cflib's files)

    try:
        graded = [graded_cases(getattr(checks, ex["check"]), fn, request["seed"]) for ex, fn in zip(exercises, later)]
    except Exception as exc:  # cflib's own fault (the submission has not run yet): said so, never blamed on it
        send({"ev": "grader_error", "text": f"{type(exc).__name__}: {str(exc).strip()[:300]}"})
        return
    install_tripwires([spec for spec, _ in graded], [targets for _, targets in graded])
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
