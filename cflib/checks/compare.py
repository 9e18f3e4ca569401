"""Comparing a learner's result with the reference, and saying how they differ with honest numbers.

Tolerance policy (one for every check, applied by :func:`cflib.checks.engine.close` and nowhere else):

* a float64 (or integer) result agrees when ``|got - expected| <= RTOL * |expected| + ATOL``
  entrywise, NaN equal to NaN;
* a result computed in lower precision (float32, float16: the readers of
  :mod:`cflib.checks.guard` keep that dtype) is compared at float32 precision:
  ``|got - expected| <= F32_RTOL * (|expected| + max |expected|)`` (``engine.F32_RTOL``). It PASSes
  with a note saying so; when it FAILs, the line says that it was computed in
  float32, in case float32 rounding is the cause (finite differences are).

The numbers in a FAIL line never print alike: :func:`describe_difference` uses
6 significant digits, or as many as it takes to tell the two apart, plus the
relative difference when it is below 1e-3. ``engine.close`` compares
with ufuncs bound at import time, so a learner's ``np.allclose = ...`` cannot
change it.
"""

from __future__ import annotations

import linecache
import re

import numpy as np

from .guard import _first_line

def low_precision(a) -> bool:
    """Whether ``a`` is a floating array of less than 64 bits (float32, float16)."""
    return isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.dtype.itemsize < 8


def _fmt(a) -> str:
    return f"{float(a):.6g}"


def fmt_pair(expected, got) -> tuple:
    """``(expected, got, extra)``: as strings with the digits it takes to tell them apart (6 at least), and
    the relative difference when it is below 1e-3 ("" otherwise)."""
    e, g = float(expected), float(got)
    for digits in range(6, 18):
        es, gs = f"{e:.{digits}g}", f"{g:.{digits}g}"
        if es != gs:
            break
    extra = ""
    if e != 0 and abs(g - e) < 1e-3 * abs(e):  # close: say how close, a rounding or a real difference
        extra = f" (a relative difference of {abs(g - e) / abs(e):.1e})"
    return es, gs, extra


def _position(name: str, case, idx: tuple) -> str:
    """Where entry ``idx`` of part ``name`` is, as code: ``X_grad[3, 1]`` or ``X[3, 1]`` for a block."""
    if case.blocks:  # a concatenation of blocks: find the block and the position inside it
        flat = int(idx[0])
        for block, shape in zip(case.blocks, case.shapes):
            size = int(np.prod(shape))
            if flat < size:
                inner = np.unravel_index(flat, shape)
                return f"{block}[{', '.join(str(int(i)) for i in inner)}]"
            flat -= size
    where = ", ".join(str(int(i)) for i in idx)
    return f"{name}[{where}]" if name.isidentifier() else f"entry [{where}]"


def describe_difference(name: str, got: np.ndarray, expected: np.ndarray, case) -> str:
    """``"expected 3, got 4"`` for a number, ``"at X_grad[3, 1] expected ..., got ..."`` for an array."""
    if got.ndim == 0:
        e, g, extra = fmt_pair(expected, got)
        return f"expected {e}, got {g}{extra}"
    with np.errstate(invalid="ignore"):
        diff = np.abs(got.astype(np.float64) - expected)
    diff[np.isnan(diff)] = np.inf
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
    e, g, extra = fmt_pair(expected[idx], got[idx])
    return f"at {_position(name, case, idx)} expected {e}, got {g}{extra}"


def precision_note(parts, rtol: float) -> str:
    """The sentence added to a line when a part of the learner's result is float32 (or float16); else ""."""
    low = sorted({str(a.dtype) for a in parts if low_precision(a)})
    if not low:
        return ""
    return (f"your result is {' and '.join(low)}, compared at float32 precision (relative {rtol:g}): cflib "
            "and the later cells compute in float64; keep float64 arrays (no dtype=np.float32 or "
            ".astype(np.float32)) where the digits matter, as in finite differences")


def integer_trouble(name: str, p: int, learner: list, expected: list, cases: list):
    """(phrase, hint) when part p is the right values with the fractions cut off, or 0 everywhere; else None.

    Both are what integer arithmetic does: ``s // n`` or an int array drops the
    fractions, and a factor ``1 // 2`` is 0.
    """
    pairs = [(lo.value[p], eo.value[p], c) for lo, eo, c in zip(learner, expected, cases)]
    with np.errstate(invalid="ignore"):
        if all(np.array_equal(g, np.trunc(e), equal_nan=True) or np.array_equal(g, np.floor(e), equal_nan=True)
               for g, e, _ in pairs) and any(not np.array_equal(e, np.trunc(e), equal_nan=True) for _, e, _ in pairs):
            g, e, c = next((g, e, c) for g, e, c in pairs if not np.array_equal(g, e, equal_nan=True))
            return (f"has the fractions of the right values cut off ({describe_difference(name, g, e, c)} "
                    f"on {c.label}): integer arithmetic",
                    "divide with / (not //), and keep the arrays float: no dtype=int or .astype(int) "
                    "on values that can have fractions")
    if all(np.all(g == 0) for g, _, _ in pairs) and any(np.any(e != 0) for _, e, _ in pairs):
        return ("is 0 on every test case, where the right values are not",
                "is a factor 0 (1 // 2 is 0: write 0.5 or 1 / 2), is the result never accumulated, or is "
                "nothing ever counted (a condition that is never true: for a top-N list, do the relevant "
                "movies reach the list at all)?")
    return None


def failing_line(exc: BaseException) -> str:
    """Where the learner's code raised ``exc`` and the shapes of the arrays on that line, or "" if unknown."""
    tb, frame = exc.__traceback__, None
    while tb is not None:
        if not str(tb.tb_frame.f_globals.get("__name__", "")).startswith(("numpy", "cflib.")):
            frame, line_no = tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next
    if frame is None:
        return ""
    line = linecache.getline(frame.f_code.co_filename, line_no).strip()
    if not line:
        return ""
    names = dict.fromkeys(re.findall(r"[A-Za-z_]\w*", line))
    shapes = [f"{n} is {frame.f_locals[n].shape}" for n in names
              if isinstance(frame.f_locals.get(n), np.ndarray)]
    return f"the shapes do not fit in `{_first_line(line, 80)}`" + (f", where {', '.join(shapes)}" if shapes else "")
