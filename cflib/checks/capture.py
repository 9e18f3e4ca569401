"""Hooks for the classroom grader: a check's spec without running it, and fresh cases.

:func:`capture` returns what a ``check_xxx(fn)`` would hand to
:func:`cflib.checks.engine.run` (the spec and the function to call), so that
:mod:`cflib.grade` can call a submission in one process and judge its results
with :func:`cflib.checks.engine.judge` in another. :func:`case_rng` is the one
generator the checks draw their random cases from; inside
``capture(..., fresh=s)`` it draws other numbers.
"""

from __future__ import annotations

import contextvars
from typing import Callable

import numpy as np

#: Set by :func:`capture`: a list that :func:`run` appends ``(spec, fn)`` to instead of checking.
_CAPTURE: contextvars.ContextVar = contextvars.ContextVar("cflib_checks_capture", default=None)
#: Set by :func:`capture`: an extra seed that :func:`case_rng` mixes in, so the cases are drawn afresh.
_FRESH: contextvars.ContextVar = contextvars.ContextVar("cflib_checks_fresh", default=None)


def case_rng(seed: int) -> np.random.Generator:
    """The generator every check draws its random cases from.

    ``np.random.default_rng(seed)`` in a notebook, so the cases (and the
    stored PASS/FAIL lines) are the same on every run. Inside
    ``capture(..., fresh=s)`` it is ``default_rng([seed, s])``: the same kind
    of problems with other numbers, which the classroom grader
    (:mod:`cflib.grade`) uses so that a function remembering the notebook's
    answers does not pass.
    """
    fresh = _FRESH.get()
    return np.random.default_rng(seed if fresh is None else [int(seed), int(fresh)])


def capture(check: Callable, fn, fresh: int | None = None) -> tuple:
    """``(spec, target)``: what ``check(fn)`` would hand to :func:`run`, without running it.

    ``target`` is ``fn`` itself, or the wrapper the check calls instead (the
    sampler check calls ``fn`` many times inside one call). With ``fresh`` set,
    the check's random cases are drawn with that extra seed (:func:`case_rng`).
    This is how :mod:`cflib.grade` calls a submission in one process and judges
    it with :func:`judge` in another.
    """
    box: list = []
    token_box, token_fresh = _CAPTURE.set(box), _FRESH.set(fresh)
    try:
        check(fn)
    finally:
        _CAPTURE.reset(token_box)
        _FRESH.reset(token_fresh)
    if len(box) != 1:
        raise RuntimeError(f"{getattr(check, '__name__', check)} did not hand exactly one spec to run()")
    return box[0]
