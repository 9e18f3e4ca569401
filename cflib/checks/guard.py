"""Calling the learner's function safely (copies, a time limit, captured output), the stand-in, and reading results.

:func:`call_guarded` calls a function on one case and never lets it harm the
notebook:

* it passes deep copies of the arguments and compares them with the originals
  afterwards (a function that changes its inputs FAILs, naming the argument);
* it stops a call after :data:`TIME_LIMIT` seconds (configurable with
  :func:`set_time_limit`) where the platform can interrupt it (POSIX, main
  thread); elsewhere it says so once and runs without a limit;
* it captures what the function prints (the verdict quotes a few lines at most);
* it turns ``sys.exit``, any exception, and a result that cannot be read as an
  array (an ``__array__`` that raises) into an :class:`Outcome` the engine
  reports in one line. ``KeyboardInterrupt`` (the notebook's stop button) is
  never caught.

After a FAIL, or while an exercise is not written yet, a check returns a
:class:`StandIn`: cflib's reference, wrapped so that it says what it is. Cells
that print a result under the learner's name use :func:`who`, so the learner
reads "cflib.cost (stands in: yours did not pass its check)" instead of a
success that is not theirs.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import math
import signal
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

#: Seconds one call of the learner's function may take before it is stopped.
TIME_LIMIT = 20.0
#: Lines of the learner's printed output quoted in the verdict at most.
SHOWN_LINES = 3


def set_time_limit(seconds: float) -> float:
    """Set the per-call time limit of every check (seconds, > 0); returns the previous one."""
    global TIME_LIMIT
    from ..validation import check_scalar

    seconds = check_scalar(seconds, "seconds", min_val=0.0, include_boundaries="right")
    old, TIME_LIMIT = TIME_LIMIT, float(seconds)
    return old


class Invalid(Exception):
    """The learner's result cannot be used (wrong type or structure); the message says why."""


class _TimeUp(BaseException):
    """Raised by the alarm inside the learner's call (a BaseException, so `except Exception` cannot swallow it).

    A wrapper that calls the learner's function many times (the sampler check)
    may re-raise it with one argument that continues "took longer than 20 s".
    """


# =====================================================================
# The stand-in returned after a FAIL
# =====================================================================
class StandIn:
    """cflib's reference, returned by a check that did not pass, and saying so.

    Calls go to the reference unchanged. ``str(stand_in)`` and :func:`who`
    give ``"cflib.cost (stands in: yours did not pass its check)"``.
    """

    def __init__(self, reference: Callable, ref_name: str, check: str, reason: str):
        self.reference, self.ref_name, self.check, self.reason = reference, ref_name, check, reason
        functools.update_wrapper(self, reference)

    def __call__(self, *args, **kwargs):
        return self.reference(*args, **kwargs)

    def __str__(self):
        return f"{self.ref_name} (stands in: {self.reason})"

    def __repr__(self):
        return f"<{self}>"


def who(fn, name: str) -> str:
    """``name`` when ``fn`` is the learner's own function, else what stands in for it.

    Use it wherever a cell prints a result under the learner's name::

        print(f"{checks.who(my_cost, 'my_cost')}: {my_cost(X, Theta, Y, R):.4f}")
    """
    return str(fn) if isinstance(fn, StandIn) else name


# =====================================================================
# Calling the learner's function
# =====================================================================
_warned_no_limit = False


def _can_interrupt() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise :class:`_TimeUp` inside the block after ``seconds`` (POSIX main thread), else no limit."""
    global _warned_no_limit
    if not math.isfinite(seconds):  # cflib's own functions (references, known mistakes): no limit needed
        yield
        return
    if not _can_interrupt():
        if not _warned_no_limit:
            _warned_no_limit = True
            print("(cflib.checks: this platform cannot interrupt a call here (not POSIX, or not the main "
                  "thread), so the checks run without a time limit.)")
        yield
        return

    def on_alarm(signum, frame):
        raise _TimeUp()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _same(a, b) -> bool:
    """Deep equality of arguments: arrays entry by entry (NaN equal to NaN), sequences item by item."""
    if callable(a) or callable(b):
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:
        return True


def _quote_output(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    shown = " | ".join(_first_line(ln, 60) for ln in lines[:SHOWN_LINES])
    more = f" (and {len(lines) - SHOWN_LINES} more)" if len(lines) > SHOWN_LINES else ""
    return f"{len(lines)} line{'s' if len(lines) != 1 else ''}: {shown}{more}"


@dataclass
class Outcome:
    """What one call gave: kind is "value", "error", "invalid" or "todo"."""

    kind: str
    value: Any = None
    printed: str = ""


def call_guarded(fn, case, split, arg_names: Sequence[str] = (), changed_hints=None,
                 limit: float | None = None) -> Outcome:
    """Call ``fn(*copies of case.args)`` under every guard of the module docstring, then ``split`` its result."""
    args = copy.deepcopy(case.args)
    buf = io.StringIO()
    limit = TIME_LIMIT if limit is None else limit
    try:
        # Warnings (0/0, overflow) would add lines to the one-line verdict; NaN is diagnosed instead.
        with _time_limit(limit), warnings.catch_warnings(), np.errstate(all="ignore"), \
                contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            warnings.simplefilter("ignore")
            try:
                out = fn(*args)
                parts = None
                changed = _changed(args, case.args, arg_names, changed_hints or {})
                if changed is None:
                    parts = split(out, case)
            except NotImplementedError:
                return Outcome("todo")
            except SystemExit:
                return Outcome("invalid", "called sys.exit(): a checked function must return its result, "
                                          "not end the program", buf.getvalue())
            except Invalid as exc:
                return Outcome("invalid", str(exc), buf.getvalue())
            except Exception as exc:  # the learner's code: report any failure in one line
                if "out" in locals() and changed is None:  # split failed: the result cannot be read
                    return Outcome("invalid", f"returned a {type(out).__name__} that cannot be read as an array "
                                              f"({type(exc).__name__}: {_first_line(exc, 80)})", buf.getvalue())
                return Outcome("error", exc, buf.getvalue())
    except _TimeUp as exc:  # a wrapper that calls fn many times may say more (args[0] continues the sentence)
        more = exc.args[0] if exc.args else ": is there an endless loop?"
        return Outcome("invalid", f"took longer than {limit:g} s{more}", buf.getvalue())
    if changed is not None:
        return Outcome("invalid", changed, buf.getvalue())
    return Outcome("value", parts, buf.getvalue())


def _changed(used, original, arg_names, hints) -> str | None:
    for i, (a, b) in enumerate(zip(used, original)):
        if not _same(a, b):
            name = arg_names[i] if i < len(arg_names) else f"argument {i + 1}"
            hint = hints.get(name) or (f"work on a copy ({name} = {name}.copy()) or build new arrays, "
                                       "so the caller's data stay intact")
            return f"changed its argument {name} in place: {hint}"
    return None


def _first_line(text, limit: int = 160) -> str:
    text = str(text).strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


# =====================================================================
# Reading the result (used by the specs' split functions)
# =====================================================================
def _refuse_text_and_complex(out, what: str) -> None:
    """:class:`Invalid` for text (``float("3.5")`` would read it) and for complex numbers (float() drops the
    imaginary part silently)."""
    if isinstance(out, (str, bytes)) or (isinstance(out, np.ndarray) and out.dtype.kind in "USO"
                                         and any(isinstance(v, (str, bytes)) for v in out.flat)):
        raise Invalid(f"returned text ({_first_line(repr(out), 40)}) instead of {what}: return the number(s) "
                      "themselves, not a string (no str(), f-string or format() on the result)")
    if isinstance(out, (complex, np.complexfloating)) or (isinstance(out, np.ndarray) and out.dtype.kind == "c"):
        raise Invalid(f"returned a complex result instead of {what}: a real computation never needs complex "
                      "numbers; look for the square root or power of a negative number (** 0.5, np.emath, "
                      "np.lib.scimath) or complex dtypes")


def scalar(out, what: str) -> np.ndarray:
    """A number (Python or NumPy) or a 0-d array, as a 0-d float array.

    A list, a tuple or an array with a dimension (even of one element) is
    :class:`Invalid`: later cells format the result with ``f"{J:.4f}"``, which
    such a value cannot do.
    """
    if out is None:
        raise Invalid(f"returned None instead of {what}: is the `return` statement missing?")
    if isinstance(out, (tuple, list)):
        raise Invalid(f"returned a {type(out).__name__} of {len(out)} items instead of {what}: "
                      "return the number itself (a float), not a container")
    _refuse_text_and_complex(out, what)
    try:
        a = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        raise Invalid(f"returned a {type(out).__name__} instead of {what}") from None
    if a.size != 1:
        raise Invalid(f"returned an array of shape {a.shape} instead of {what}: "
                      "sum over the entries to get one number")
    if a.ndim > 0:
        raise Invalid(f"returned an array of shape {a.shape} instead of {what}: return the number itself, "
                      "e.g. float(J[0]), or build it from np.sum(...), which gives a number")
    return a


def array(out, what: str) -> np.ndarray:
    """The result as a float array; :class:`Invalid` when it is None, a list or tuple, or not numeric.

    A list is refused although NumPy could read it: later cells use ``.shape``
    and NumPy arithmetic on the learner's result.
    """
    if out is None:
        raise Invalid(f"returned None instead of {what}: is the `return` statement missing?")
    if isinstance(out, (tuple, list)):
        raise Invalid(f"returned a Python {type(out).__name__}, not a NumPy array, for {what}: "
                      "build it with NumPy (np.zeros, @, np.where) or end with np.array(...), "
                      "so that .shape and NumPy arithmetic work in the cells after the check")
    _refuse_text_and_complex(out, what)
    try:
        return np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        raise Invalid(f"returned a {type(out).__name__} instead of {what}") from None


def pair(out, names: tuple) -> tuple:
    """A pair of arrays such as ``(X_grad, Theta_grad)``."""
    what = f"the pair ({', '.join(names)})"
    if out is None:
        raise Invalid(f"returned None instead of {what}: is the `return` statement missing?")
    if isinstance(out, np.ndarray) or not isinstance(out, (tuple, list)):
        shape = getattr(out, "shape", None)
        extra = f" (one array of shape {shape})" if shape is not None else f" (a {type(out).__name__})"
        raise Invalid(f"returned one value{extra} instead of {what}: end with `return {', '.join(names)}`")
    if len(out) != len(names):
        raise Invalid(f"returned {len(out)} values instead of {what}")
    return tuple(array(o, n) for o, n in zip(out, names))
