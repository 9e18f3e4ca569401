"""The cases a submission is graded on: the check's own, then the same problems drawn afresh.

The notebook's self-check runs a learner's function on its fixed cases. A
function could remember those answers, so the grader adds the check's random
problems drawn again with a seed of its own (:func:`cflib.checks.engine.case_rng`),
which neither the notebook nor the check ever shows. Both the submission's
process (which calls the function) and the grader (which judges the results)
build the list with :func:`graded_cases`, so they agree case by case without
sending any case across.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from ..checks.engine import capture

#: Completes a fresh case's label, so a diagnosis says where the problem came from.
FRESH_LABEL = " (drawn afresh by the grader)"


def case_seed(notebook: str, student: str, seed: int = 0) -> int:
    """The fresh cases' seed for one submission: a stable function of notebook, student and ``--seed``."""
    digest = hashlib.sha256(f"{notebook}\0{student}\0{seed}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if callable(a) or callable(b):
        return a is b
    try:
        return bool(a == b)
    except Exception:
        return False


def graded_cases(check, fn, seed: int) -> tuple:
    """``(spec, targets)``: the check's spec over its cases and the fresh ones, and what to call on each.

    ``targets[i]`` is the function to call on ``spec.cases[i]`` (``fn`` itself,
    or the wrapper the check calls instead). A fresh case equal to one of the
    check's own (a hand-written problem has no random numbers) is left out.
    """
    spec, target = capture(check, fn)
    fresh_spec, fresh_target = capture(check, fn, fresh=seed)
    cases, targets = list(spec.cases), [target] * len(spec.cases)
    for case in fresh_spec.cases:
        if any(_same(case.args, c.args) for c in spec.cases):
            continue
        cases.append(dataclasses.replace(case, label=case.label + FRESH_LABEL))
        targets.append(fresh_target)
    return dataclasses.replace(spec, cases=cases), targets
