"""Running one submission's process from the grader's side: start, wait with deadlines, kill, restart.

:func:`run_submission` starts :mod:`cflib.grade.child` in a fresh temporary
folder with a clean environment, sends the request, and collects its messages
per exercise. It enforces the limits itself, whatever the submission does with
its own alarms:

* a call that sends nothing for ``time_limit`` + :data:`GRACE` seconds is a
  timeout; the process (its whole process group) is killed and a new one
  carries on with the exercises left;
* the whole notebook has ``notebook_limit`` seconds; what is left then times out;
* a process that dies (``os._exit``, a segfault, the memory ceiling) is noted
  with its exit code or signal, and a new one carries on.

The temporary folder is removed afterwards; nothing of the submission
survives the call.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

#: Seconds added to a call's limit before the grader kills the process (its own alarm comes first).
GRACE = 5.0
#: Seconds a new process may take to import NumPy and cflib and confine itself.
STARTUP = 60.0
#: The longest message line read (a 64 MiB array in base64, with room).
MAX_LINE = 96 * 2**20


@dataclass
class Exercise:
    """What the grader learned about one exercise: the messages of its calls, or why there are none."""

    function: str
    check: str
    results: list = field(default_factory=list)  # one dict per case called, in order
    absent: str | None = None  # None, "missing", or the type of the non-function found
    stopped: str | None = None  # "timeout" or "died": why the calls stopped early
    stopped_detail: str = ""
    started: int = -1  # the case whose call began last


@dataclass
class Run:
    """One submission's run: its exercises, the definitions' problems, the sandbox report, the process count."""

    exercises: list
    problems: list = field(default_factory=list)
    sandbox: dict = field(default_factory=dict)
    fatal: str = ""  # set when the definitions themselves could not run (the notebook gets one error row)
    starts: int = 0
    seconds: dict = field(default_factory=lambda: {"start": 0.0, "define": 0.0, "calls": 0.0})


def _environment(workdir: str) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir, "TMPDIR": workdir,
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": workdir, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1"}
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def _died(code: int | None) -> str:
    if code is None:
        return "the process stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the process was killed by {name}" + (" (a segfault)" if name == "SIGSEGV" else "")
    if code == 0:
        return ("the submission's process ended before it had reported everything (did the notebook write to the "
                "grader's file descriptors, or call sys.exit?)")
    return f"the submission's process ended with exit code {code} (a call of os._exit?)"


class _Process:
    """One child process and a thread that turns its output into a queue of messages."""

    def __init__(self, request: dict, workdir: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "cflib.grade.child"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, cwd=workdir, env=_environment(workdir), start_new_session=True)
        self.messages: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.close()
        except OSError:
            pass  # it died at once: the reader reports the end

    def _read(self):
        for line in iter(lambda: self.proc.stdout.readline(MAX_LINE), b""):
            try:
                message = json.loads(line)
            except ValueError:
                continue  # not one of ours
            if isinstance(message, dict):
                self.messages.put(message)
        self.messages.put(None)

    def next(self, deadline: float):
        """The next message, ``None`` when the process ended, ``"timeout"`` past ``deadline``."""
        try:
            return self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return "timeout"

    def kill(self) -> int | None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return None


def run_submission(cells: list, exercises: list, *, seed: int, time_limit: float, notebook_limit: float,
                   memory_bytes: int) -> Run:
    """Call the learner's functions of one notebook in a confined process (see the module docstring).

    Parameters
    ----------
    cells : list of (int, str)
        The submission's code cells: index and source.
    exercises : list of (str, str)
        ``(function, check)`` pairs, e.g. ``("my_cost", "check_cost")``.
    seed : int
        The seed of the fresh cases (:func:`cflib.grade.cases.case_seed`).
    time_limit, notebook_limit : float
        Seconds per call, and for the whole notebook.
    memory_bytes : int
        The process's address-space ceiling.
    """
    run = Run([Exercise(f, c) for f, c in exercises])
    end = time.monotonic() + notebook_limit
    todo = list(range(len(run.exercises)))
    workdir = tempfile.mkdtemp(prefix="cflib-grade-")
    try:
        while todo:
            request = {"cells": cells, "exercises": [{"function": run.exercises[i].function,
                                                      "check": run.exercises[i].check} for i in todo],
                       "seed": seed, "time_limit": time_limit, "memory_bytes": memory_bytes, "workdir": workdir}
            todo = _one_process(run, request, todo, workdir, time_limit, end)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return run


def _one_process(run: Run, request: dict, todo: list, workdir: str, time_limit: float, end: float) -> list:
    """Run one process over the exercises ``todo``; the exercises still to do when it had to stop."""
    run.starts += 1
    process = _Process(request, workdir)
    phase, current = "ready", None  # current: the position in todo of the exercise being called
    deadline = min(end, time.monotonic() + STARTUP)
    since = time.monotonic()
    try:
        while True:
            message = process.next(deadline)
            now = time.monotonic()
            run.seconds[{"ready": "start", "defining": "define"}.get(phase, "calls")] += now - since
            since = now
            if message == "timeout" or message is None:
                code = process.kill() if message == "timeout" else process.proc.wait()
                over = time.monotonic() >= end - 0.01
                return _stopped(run, todo, phase, current, message, code, over)
            ev = message.get("ev")
            if ev == "ready" and phase == "ready":
                run.sandbox = {str(k): str(v) for k, v in dict(message.get("sandbox", {})).items()}
                phase, deadline = "defining", min(end, time.monotonic() + time_limit + GRACE)
            elif ev == "grader_error" and phase == "defining":  # before any of the submission ran: not forged
                run.fatal = (f"the grader itself failed before running this notebook ({message.get('text', '')}); "
                             "this is not the student's fault: please report it")
                return []
            elif ev == "defined" and phase == "defining":
                run.problems = list(message.get("problems", []))[:50]
                phase, deadline = "calling", min(end, time.monotonic() + time_limit + GRACE)
            elif ev in ("start", "result", "absent") and phase == "calling":
                i = int(message.get("ex", -1))
                if not 0 <= i < len(todo):
                    continue
                current = i
                exercise = run.exercises[todo[i]]
                if ev == "absent":
                    exercise.absent = message.get("type") or "missing"
                elif ev == "result":
                    exercise.results.append(message)
                else:
                    exercise.started = int(message.get("case", 0))
                deadline = min(end, time.monotonic() + time_limit + GRACE)
            elif ev == "done" and phase == "calling":
                process.kill()
                return []
    finally:
        process.kill()


def _stopped(run: Run, todo: list, phase: str, current, why, code, over: bool) -> list:
    """Record why the process stopped; the exercises a new process should do (none when time is up)."""
    if why == "timeout":
        text = "the whole notebook took longer than its limit" if over else "a call did not return in time"
    else:
        text = _died(code)
    if phase != "calling":
        if why == "timeout" and not over and phase == "ready":
            text = "the grader's process did not start in time (the machine may be overloaded)"
        run.fatal = text + (" while the notebook's definitions ran" if phase == "defining" else "")
        if why == "timeout" and phase == "defining":
            run.fatal = "the notebook's definitions did not finish in time (an endless loop at the top level?)"
        return []
    i = current if current is not None else 0
    exercise = run.exercises[todo[i]]
    exercise.stopped = "timeout" if why == "timeout" else "died"
    exercise.stopped_detail = text
    rest = todo[i + 1:]
    if over:
        for k in rest:
            run.exercises[k].stopped, run.exercises[k].stopped_detail = "timeout", text
        return []
    return rest
