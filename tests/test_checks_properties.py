"""Hypothesis guards over every exercise check: whatever a learner's function returns, one line, no PASS if wrong.

Each check is fed a right answer (the first of its row in ``test_learner_mistakes.RIGHT``) whose result is
spoiled in a way hypothesis chooses:

* non-real results: complex (with or without an imaginary part), text, bytes, None, a bare ``object()``,
  a dict, an object array, a generator;
* oversized results: a long array, a wide matrix, a deeply nested list, a tuple with extra arrays;
* NaN, +inf, -inf or 1e300 put into one finite entry, or every entry shifted;
* for the two ranking checks, tied scores broken in an order hypothesis draws (a permutation of the
  movies): the verdict must be PASS exactly when that order gives the reference's numbers on every case.

The properties: the check prints exactly ONE line, starting with ``check_xxx: `` and without a traceback;
a result made wrong never gets PASS; a FAIL hands back a stand-in.
"""

from __future__ import annotations

import io
import math
from contextlib import redirect_stdout

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cflib import checks
from cflib.checks.capture import capture
from test_learner_mistakes import RIGHT

#: One right answer per check, in course order.
RIGHT_ONE = {}
for _check, _fn in RIGHT:
    RIGHT_ONE.setdefault(_check, _fn)
assert set(RIGHT_ONE) == set(checks.CHECKS)

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _line(check: str, fn) -> tuple:
    """The one line the check prints for ``fn``, and what it hands back."""
    buf = io.StringIO()
    with redirect_stdout(buf):
        got = getattr(checks, check)(fn)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(f"{check}: "), line
    assert "Traceback" not in line and 'File "' not in line, line
    return line, got


def _assert_not_passed(check: str, line: str, got) -> None:
    assert not line.startswith(f"{check}: PASS"), line
    assert isinstance(got, checks.StandIn), line


def _float_arrays(out):
    """Map ``f`` over the float parts of a result (a number, an array, or a tuple/list of them)."""
    def apply(f):
        def one(a):
            if isinstance(a, (tuple, list)):
                return type(a)(one(b) for b in a)
            arr = np.asarray(a)
            if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
                return a
            new = f(np.array(arr, dtype=float, copy=True))
            if np.ndim(a) == 0 and np.ndim(new) == 0:  # a number stays a number (a complex one stays complex)
                return complex(new) if np.iscomplexobj(new) else float(new)
            return new
        return one(out)
    return apply


def _spoiled(fn, how, draw_value):
    """``fn`` whose result is changed by ``how`` (a name), ``draw_value`` a float hypothesis drew."""
    def spoil_entry(value):
        def f(a):
            flat = a.reshape(-1)
            finite = np.flatnonzero(np.isfinite(flat))
            if finite.size:
                flat[finite[int(abs(draw_value) * 1e6) % finite.size]] = value
            return flat.reshape(a.shape)
        return f

    def learner(*args):
        out = fn(*args)
        if how in ("nan", "inf", "-inf", "1e300"):
            return _float_arrays(out)(spoil_entry(float(how)))
        if how == "shift":
            shift = 0.5 + abs(draw_value)  # the sampler's moments are compared statistically: a clear shift
            return _float_arrays(out)(lambda a: a + shift)
        if how == "complex":
            return _float_arrays(out)(lambda a: a + 1j * (abs(draw_value) + 0.5))
        raise AssertionError(how)

    learner.__name__ = f"{getattr(fn, '__name__', 'fn')}_{how}"
    return learner


WRONG_VALUES = st.sampled_from(["nan", "inf", "-inf", "1e300", "shift", "complex"])


@pytest.mark.parametrize("check", checks.CHECKS)
@SETTINGS
@given(how=WRONG_VALUES, value=st.floats(-1e3, 1e3, allow_nan=False))
def test_a_spoiled_value_never_passes(check, how, value):
    """NaN, inf or 1e300 in one finite entry, every entry shifted, an imaginary part: one FAIL line."""
    line, got = _line(check, _spoiled(RIGHT_ONE[check], how, value))
    if check == "check_buggy_gradient" and how != "complex":
        # 04's exercise 1 asks for a bug that a gradient check finds: a spoiled gradient is one (NaN and inf
        # are flagged WRONG by cflib.check_gradient too), so it passes; only a complex result is refused
        assert line.startswith(f"{check}: PASS") and got is not None and not isinstance(got, checks.StandIn), line
        return
    _assert_not_passed(check, line, got)


class _Weird:
    def __repr__(self):
        raise RuntimeError("no repr")

    def __array__(self, *a, **k):
        raise ValueError("no array")


def _non_real(kind, size):
    """A result that is not numbers at all, or far too big; ``size`` a number hypothesis drew."""
    return {
        "text": lambda out: str(out),
        "bytes": lambda out: b"\x00\xff" * size,
        "none": lambda out: None,
        "object": lambda out: object(),
        "weird": lambda out: _Weird(),
        "dict": lambda out: {"result": out},
        "generator": lambda out: (x for x in range(size)),
        "complex0": lambda out: _float_arrays(out)(lambda a: a + 0j),
        "long": lambda out: np.ones(size * 1000),
        "wide": lambda out: np.ones((3, size * 100)),
        "nested": lambda out: [[[[size]]]] * size,
        "extra": lambda out: (*out, np.ones(size)) if isinstance(out, tuple) else (out, np.ones(size)),
        "text array": lambda out: np.array(["4.0"] * size),
    }[kind]


NON_REAL = st.sampled_from(["text", "bytes", "none", "object", "weird", "dict", "generator", "complex0", "long",
                            "wide", "nested", "extra", "text array"])


@pytest.mark.parametrize("check", checks.CHECKS)
@SETTINGS
@given(kind=NON_REAL, size=st.integers(1, 2000))
def test_a_non_real_or_oversized_result_is_one_fail_line(check, kind, size):
    right = RIGHT_ONE[check]
    make = _non_real(kind, size)

    def learner(*args):
        return make(right(*args))

    learner.__name__ = f"returns_{kind.replace(' ', '_')}"
    line, got = _line(check, learner)
    _assert_not_passed(check, line, got)


@pytest.mark.parametrize("check", checks.CHECKS)
@SETTINGS
@given(exc=st.sampled_from([ValueError("bad shape"), ZeroDivisionError("division by zero"), MemoryError(),
                            RecursionError("maximum recursion depth exceeded"), AssertionError(),
                            FloatingPointError("overflow"), StopIteration(), GeneratorExit()]))
def test_an_exception_is_one_fail_line(check, exc):
    def learner(*args):
        raise exc

    line, got = _line(check, learner)
    _assert_not_passed(check, line, got)


# ------------------------------------------------------------ tied scores, broken in any order
def _ranked(scores, train, k, order_key):
    """The first k movies not in train by decreasing score, ties broken by ``order_key`` (lower first)."""
    s = np.asarray(scores, float).copy()
    s[np.asarray(train, int)] = -np.inf
    return np.lexsort((order_key[: s.size], -s))[:k]


def _metric(name, listed, relevant, k):
    hits = np.isin(listed, relevant).astype(float)
    if name == "check_precision_at_k":
        return hits.sum() / k
    disc = 1.0 / np.log2(np.arange(2, hits.size + 2))
    return float((hits * disc).sum() / disc[: min(k, len(relevant))].sum())


@pytest.mark.parametrize("check", ["check_precision_at_k", "check_ndcg_at_k"])
@settings(max_examples=25, deadline=None, derandomize=True)
@given(perm=st.permutations(list(range(60))))
def test_tied_scores_pass_exactly_when_the_tie_break_gives_the_right_numbers(check, perm):
    """A tie broken by any order of the movies: PASS if and only if that order gives cflib's numbers on every case."""
    key = np.asarray(perm)

    def learner(scores, train_movies, relevant, k):
        return _metric(check, _ranked(scores, train_movies, k, key), relevant, k)

    spec, _ = capture(getattr(checks, check), learner)
    agrees = all(math.isclose(learner(*c.args), spec.reference(*c.args), rel_tol=1e-9, abs_tol=1e-12)
                 for c in spec.cases)
    line, got = _line(check, learner)
    if agrees:
        assert line.startswith(f"{check}: PASS"), line
    else:
        _assert_not_passed(check, line, got)


def test_the_lower_index_rule_is_the_only_order_that_passes_both_ranking_checks():
    """The identity order passes; the reversed order, and an order that swaps two tied neighbours, fail."""
    for check in ("check_precision_at_k", "check_ndcg_at_k"):
        for key, passes in ((np.arange(60), True), (np.arange(60)[::-1], False)):
            def learner(scores, train_movies, relevant, k, key=key):
                return _metric(check, _ranked(scores, train_movies, k, key), relevant, k)

            line, _ = _line(check, learner)
            assert line.startswith(f"{check}: PASS") == passes, line
