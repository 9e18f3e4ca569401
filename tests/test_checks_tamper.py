"""The check cannot be broken from inside the learner's function (issue "Trust, round three", section 1).

A call that swallows every exception in a loop, cancels a timer or handles
SIGALRM itself still ends at the time limit; a call stuck in C code is given up
and said so; every BaseException is a one-line FAIL (KeyboardInterrupt still
stops the cell); printing costs bounded memory; a call that changes the
checks' settings or the functions they rely on FAILs and changes nothing after.
"""

import asyncio
import os
import signal
import sys
import threading
import time
import tracemalloc

import numpy as np
import pytest

import cflib
from cflib import checks
from cflib.checks import engine, guard, stopping
from cflib.evaluate import rmse as ref_rmse


@pytest.fixture
def short_limit():
    old = checks.set_time_limit(0.3)
    yield 0.3
    checks.set_time_limit(old)


def one_line(check, fn, capsys):
    got = check(fn)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 1, captured.out
    assert "Traceback" not in lines[0] and captured.err == "", captured
    return lines[0], got


def helper():
    return sum(range(100))


def inner_swallows():
    try:
        while True:
            helper()
    except BaseException:  # noqa: B036
        return 0


# ------------------------------------------------------------------ 1. stopping
def swallow_plain(predictions, actual):
    x = 0
    while True:
        try:
            x += 1
        except:  # noqa: E722
            continue


def swallow_around_a_call(predictions, actual):
    while True:
        try:
            helper()
            time.sleep(0.001)
        except:  # noqa: E722
            continue


def swallow_nested(predictions, actual):
    while True:
        try:
            try:
                while True:
                    helper()
            except BaseException:  # noqa: B036
                pass
        except:  # noqa: E722
            pass


def swallow_in_a_callee(predictions, actual):
    while True:
        try:
            inner_swallows()
        except:  # noqa: E722
            pass


def swallow_with_quiet_lines(predictions, actual):
    while True:
        try:
            helper()
        except:  # noqa: E722
            x = 1
            y = x + 1  # noqa: F841
            continue


def cancels_the_timer(predictions, actual):
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.alarm(0)
    while True:
        pass


def handles_sigalrm(predictions, actual):
    try:
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
    except ValueError:  # outside the main thread
        pass
    while True:
        try:
            helper()
        except:  # noqa: E722
            continue


def arms_an_alarm(predictions, actual):
    signal.alarm(1)  # without cflib's guard, SIGALRM's default action would end the process
    while True:
        pass


@pytest.mark.parametrize("fn", [swallow_plain, swallow_around_a_call, swallow_nested, swallow_in_a_callee,
                                swallow_with_quiet_lines, cancels_the_timer, handles_sigalrm, arms_an_alarm],
                         ids=lambda f: f.__name__)
def test_a_call_that_fights_the_limit_still_ends_at_the_limit(fn, short_limit, capsys):
    tracer = sys.gettrace()
    start = time.monotonic()
    line, got = one_line(checks.check_rmse, fn, capsys)
    elapsed = time.monotonic() - start
    assert line.startswith("check_rmse: FAIL - it took longer than 0.3 s: is there an endless loop?"), line
    assert elapsed < short_limit + 1.0, elapsed
    assert isinstance(got, checks.StandIn)
    assert sys.gettrace() is tracer and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert not stopping._ACTIVE
    line, _ = one_line(checks.check_rmse, ref_rmse, capsys)  # the next check runs as before
    assert line.startswith("check_rmse: PASS")


def test_a_call_stuck_in_c_code_is_given_up_and_said_so(short_limit, capsys, monkeypatch):
    monkeypatch.setattr(stopping, "STOP_GRACE", 0.3)
    start = time.monotonic()
    line, _ = one_line(checks.check_rmse, lambda p, a: time.sleep(5), capsys)
    assert time.monotonic() - start < 2.0
    assert line.startswith("check_rmse: FAIL - it took longer than 0.3 s and could not be stopped"), line
    assert "restart the kernel" in line


def test_the_stop_button_still_stops_a_call_that_swallows_everything():
    def sigint_then_swallow(predictions, actual):
        os.kill(os.getpid(), signal.SIGINT)
        swallow_around_a_call(predictions, actual)

    def workers():
        return {t for t in threading.enumerate() if t.name == "cflib-checked-call"}

    earlier = workers()  # a call given up by another test may still run
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            checks.check_rmse(sigint_then_swallow)
    finally:
        signal.signal(signal.SIGINT, old)
    assert time.monotonic() - start < 5
    deadline = time.monotonic() + 2
    while workers() - earlier and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not workers() - earlier


def test_the_sampler_check_keeps_its_own_sentence_when_stopped(capsys):
    slow_draws = []

    def slow_sampler(F, t, alpha, mu, lam, rng):
        slow_draws.append(1)
        if len(slow_draws) > 3:
            while True:
                try:
                    helper()
                except:  # noqa: E722
                    continue
        return cflib.gibbs.sample_row(F, t, alpha, mu, lam, rng)

    old = checks.set_time_limit(0.5)
    try:
        line, _ = one_line(checks.check_sample_row, slow_sampler, capsys)
    finally:
        checks.set_time_limit(old)
    assert "took longer than 0.5 s for the" in line and "although the first draws came back" in line, line


# ------------------------------------------------------------- 2. BaseException
class Unusual(BaseException):
    pass


@pytest.mark.parametrize("exc", [Unusual("mine"), GeneratorExit(), asyncio.CancelledError()],
                         ids=lambda e: type(e).__name__)
def test_any_base_exception_is_a_one_line_fail(exc, capsys):
    def raises(predictions, actual):
        raise exc

    line, got = one_line(checks.check_rmse, raises, capsys)
    assert line.startswith(f"check_rmse: FAIL - it raised {type(exc).__name__}"), line
    assert isinstance(got, checks.StandIn)


def test_keyboard_interrupt_raised_by_the_function_still_stops_the_cell():
    def interrupted(predictions, actual):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        checks.check_rmse(interrupted)


# ----------------------------------------------------------------- 3. printing
def test_a_flood_of_prints_costs_bounded_memory(capsys):
    chunk = "x" * 10**4

    def floods(predictions, actual):
        for _ in range(10**4):  # 10**8 characters in all
            print(chunk)
        return ref_rmse(predictions, actual)

    tracemalloc.start()
    try:
        line, _ = one_line(checks.check_rmse, floods, capsys)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert line.startswith("check_rmse: PASS") and "While checked it printed" in line
    assert peak < 20 * 2**20, peak


def test_the_printed_buffer_keeps_the_start():
    buf = guard._Printed()
    buf.write("a" * (guard.MAX_PRINTED - 2))
    buf.write("bcdef")
    assert buf.getvalue() == "a" * (guard.MAX_PRINTED - 2) + "bc" and buf.dropped == 3


# ---------------------------------------------------------------- 4. tampering
def _wrong_rmse(predictions, actual):
    return 2 * ref_rmse(predictions, actual)


def sets_rtol(predictions, actual):
    engine.RTOL = 10.0
    return _wrong_rmse(predictions, actual)


def sets_atol_and_limit(predictions, actual):
    engine.ATOL, guard.TIME_LIMIT = 1e9, 1e9
    return ref_rmse(predictions, actual)


def sets_package_rtol(predictions, actual):
    checks.RTOL = 10.0
    return ref_rmse(predictions, actual)


def patches_numpy(predictions, actual):
    np.allclose = np.isclose = np.array_equal = lambda *a, **k: True
    return _wrong_rmse(predictions, actual)


def patches_engine_close(predictions, actual):
    engine.close = lambda a, b: True
    return _wrong_rmse(predictions, actual)


def patches_the_reference(predictions, actual):
    cflib.evaluate.rmse = _wrong_rmse
    return _wrong_rmse(predictions, actual)


@pytest.mark.parametrize("fn, named", [
    (sets_rtol, "the checks' settings (engine.RTOL)"),
    (sets_atol_and_limit, "the checks' settings (engine.ATOL, guard.TIME_LIMIT)"),
    (sets_package_rtol, "the checks' settings (cflib.checks.RTOL)"),
    (patches_numpy, "functions the checks rely on (np."),
    (patches_engine_close, "functions the checks rely on (engine.close)"),
    (patches_the_reference, "functions the checks rely on (cflib.evaluate.rmse)"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_a_call_that_changes_the_checks_fails_and_changes_nothing(fn, named, capsys):
    before = (engine.RTOL, engine.ATOL, checks.RTOL, guard.TIME_LIMIT, np.allclose, np.isclose, np.array_equal,
              engine.close, cflib.evaluate.rmse)
    line, got = one_line(checks.check_rmse, fn, capsys)
    assert line.startswith(f"check_rmse: FAIL - it changed {named}"), line
    assert "they are restored" in line and isinstance(got, checks.StandIn)
    after = (engine.RTOL, engine.ATOL, checks.RTOL, guard.TIME_LIMIT, np.allclose, np.isclose, np.array_equal,
             engine.close, cflib.evaluate.rmse)
    assert all(a is b for a, b in zip(before, after))
    line, _ = one_line(checks.check_rmse, _wrong_rmse, capsys)  # later checks judge as before
    assert line.startswith("check_rmse: FAIL - ") and "changed" not in line, line
    line, _ = one_line(checks.check_rmse, ref_rmse, capsys)
    assert line.startswith("check_rmse: PASS")


def test_the_comparison_does_not_rest_on_numpy_names(monkeypatch):
    """Patched before the call (in a notebook cell), np.allclose still cannot make a wrong result agree."""
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isclose", lambda *a, **k: np.True_)
    assert not engine.close(np.array([1.0]), np.array([2.0]))
    assert engine.close(np.array([1.0, np.nan]), np.array([1.0, np.nan]))
