"""Running the learner's call in a worker thread that a time limit can stop, whatever the call does.

:func:`run_stoppable` runs ``call()`` in a daemon worker thread while the
calling thread waits for it in short slices (so the stop button, a
``KeyboardInterrupt`` in the notebook's main thread, is seen at once). At the
deadline the waiting thread raises :class:`_TimeUp` inside the worker with
CPython's ``PyThreadState_SetAsyncExc`` (bound at import time), again every
20 ms. Nothing depends on signals or timers, so a function that cancels a timer
(``signal.alarm(0)``) or installs a SIGALRM handler changes nothing
(``signal.signal`` fails outside the main thread anyway).

A bare ``except:`` catches one ``_TimeUp`` but cannot keep running: creating a
``_TimeUp`` in the worker (Python creates it where it is caught) turns on line
tracing for the learner's frames of the worker's stack, and the first line run
next (the ``except`` body, the ``continue``) arms the next ``_TimeUp`` at once,
from C code that reaches no check of pending exceptions before the learner's
next instruction (``armer[0]``: a ``defaultdict`` whose factory is the C
function). Each ``except`` thus moves the exception out by one ``try``; the
tracer then switches itself off until the next catch, so it never runs while
an exception is pending. cflib's own frames are not traced (the sampler check's
wrapper re-raises ``_TimeUp`` with a sentence of its own).

A call still running :data:`STOP_GRACE` seconds after the deadline (C code that
never returns to Python: a huge product, ``time.sleep(10**6)``) is given up:
its thread is left running as a daemon and the verdict says it could not be
stopped. Without ``ctypes.pythonapi`` (not CPython) a call is given up at the
deadline. Out of reach: one C operation that holds the GIL for minutes
(``10 ** 10 ** 9``), or ``sys.setswitchinterval(10**6)``: the waiting thread
never gets the interpreter back until it ends.
"""

from __future__ import annotations

import collections
import contextvars
import ctypes
import functools
import sys
import threading
import time
from typing import Any, Callable

#: Seconds a call may go on after the deadline while it is being stopped, before it is given up.
STOP_GRACE = 2.0
_SLICE, _RETRY = 0.05, 0.02

try:
    _set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    _set_async_exc.argtypes, _set_async_exc.restype = (ctypes.c_ulong, ctypes.py_object), ctypes.c_int
    _clear_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
        ("PyThreadState_SetAsyncExc", ctypes.pythonapi))
except (AttributeError, OSError, TypeError):  # not CPython: calls can be given up, not stopped
    _set_async_exc = _clear_async_exc = None

#: Worker thread id -> its :class:`_Stopper`, while the worker runs.
_ACTIVE: dict = {}


class _TimeUp(BaseException):
    """Raised inside the learner's call at the deadline (a BaseException, so `except Exception` cannot swallow it).

    A wrapper that calls the learner's function many times (the sampler check)
    may re-raise it with one argument that continues "took longer than 20 s".
    """

    def __init__(self, *args):
        super().__init__(*args)
        stopper = _ACTIVE.get(threading.get_ident())
        if stopper is not None and stopper.stopping:
            if args:
                stopper.more = str(args[0])
            stopper.trace_stack(sys._getframe(1))


class _Stopper:
    """The state shared by a worker and the thread that waits for it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ident = 0
        self.stopping = False
        self.more = ""
        self.tracer = None

    def make_tracer(self) -> Callable:
        armer = collections.defaultdict(functools.partial(_set_async_exc, self.ident, _TimeUp))

        def tracer(frame, event, arg):
            if self.stopping and event == "line":
                f = frame
                while f is not None:  # quiet until the next catch: never entered with an exception pending
                    f.f_trace = None
                    f = f.f_back
                armer[0]  # noqa: B018  (calls PyThreadState_SetAsyncExc from C: no check before the next line)
                del armer[0]
            return None

        return tracer

    def trace_stack(self, frame) -> None:
        """Trace the learner's frames from ``frame`` up to the worker's entry (cflib's own frames stay untraced)."""
        sys.settrace(getattr)  # a global tracer that traces no new frame; the frames below get their own
        while frame is not None and frame.f_code is not _work.__code__:
            if not str(frame.f_globals.get("__name__", "")).startswith("cflib."):
                frame.f_trace = self.tracer
            frame = frame.f_back

    def settle(self) -> None:
        """In the worker, once the call is over: no tracing, no stop pending, none to come."""
        for _ in range(100):
            try:
                sys.settrace(None)
                with self.lock:
                    self.stopping = False
                    if _clear_async_exc is not None:
                        _clear_async_exc(self.ident, None)
                return
            except BaseException:  # a stop that was pending: caught here, try again
                continue


def _work(stopper: _Stopper, ctx, call, box: dict, done: threading.Event) -> None:
    try:
        try:
            box["out"] = ("value", ctx.run(call))
        except BaseException as exc:  # everything the call raised, reported by the waiting thread
            box["out"] = ("raised", exc)
    except BaseException:  # a second stop while the first was being stored: it took too long anyway
        pass
    finally:
        stopper.settle()
        _ACTIVE.pop(stopper.ident, None)
        done.set()


def _stop(stopper: _Stopper, done: threading.Event, grace: float) -> bool:
    """Raise :class:`_TimeUp` in the worker until it ends or ``grace`` seconds pass; whether it ended."""
    if _set_async_exc is None:
        return done.is_set()
    stopper.tracer = stopper.make_tracer()
    end = time.monotonic() + grace
    with stopper.lock:
        stopper.stopping = True
    while not done.is_set() and time.monotonic() < end:
        with stopper.lock:
            if stopper.stopping:
                _set_async_exc(stopper.ident, _TimeUp)
        done.wait(_RETRY)
    return done.is_set()


def run_stoppable(call: Callable[[], Any], limit: float) -> tuple:
    """Run ``call()`` in a worker thread for at most ``limit`` seconds.

    Returns ``("value", result)``, ``("raised", exception)``, ``("timeup", more)``
    (stopped after the limit; ``more`` is a wrapper's continuation of the
    sentence, or "") or ``("stuck", more)`` (still running after the grace: given
    up). A ``KeyboardInterrupt`` in the waiting thread stops the worker (or
    gives it up) and is raised again.
    """
    stopper, box, done = _Stopper(), {}, threading.Event()
    worker = threading.Thread(target=_work, args=(stopper, contextvars.copy_context(), call, box, done),
                              name="cflib-checked-call", daemon=True)
    deadline = time.monotonic() + limit
    try:
        worker.start()
        _register(stopper, worker)
        while not done.wait(max(0.0, min(_SLICE, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                break
        if done.is_set():
            return box.get("out", ("timeup", stopper.more))
        stopped = _stop(stopper, done, STOP_GRACE)
    except KeyboardInterrupt:  # the stop button, maybe before the worker was registered
        if worker.is_alive() or not done.is_set():
            _register(stopper, worker)
            _stop(stopper, done, STOP_GRACE / 2)
        raise
    finally:
        if done.is_set():  # a worker that ended before it was registered leaves no entry behind
            _ACTIVE.pop(stopper.ident, None)
    return ("timeup" if stopped else "stuck"), stopper.more


def _register(stopper: _Stopper, worker: threading.Thread) -> None:
    """Make the worker stoppable: its id, known once it runs (a stop cannot come before)."""
    end = time.monotonic() + 1.0
    while worker.ident is None and time.monotonic() < end:
        time.sleep(0.001)
    with stopper.lock:
        stopper.ident = worker.ident or 0
        _ACTIVE[stopper.ident] = stopper
