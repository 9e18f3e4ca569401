"""Grading a batch of submissions: find, recognise, run each in its own confined process, judge, write.

:func:`grade` is what ``cflib-grade`` runs; it is also the entry point for
scripts (the benchmark calls it). Submissions run ``jobs`` at a time, each in
its own process (:mod:`cflib.grade.session`); the verdicts are computed here
(:mod:`cflib.grade.marking`); the output folder is written once, at the end,
atomically (:mod:`cflib.grade.gradebook`).
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import gradebook
from .cases import case_seed
from .course import load
from .marking import STATUSES, mark, row
from .report import plural
from .session import run_submission
from .submissions import find, inspect, source


@dataclass
class Summary:
    """What a batch did: rows, counts, and where the time went (seconds)."""

    rows: list
    n_submissions: int
    skipped: list
    seconds: float
    per_submission: list = field(default_factory=list)  # dicts: student, notebook, seconds, starts, phases

    def line(self, out: Path) -> str:
        counts = {s: sum(r["status"] == s for r in self.rows) for s in STATUSES}
        students = len({r["student"] for r in self.rows})
        said = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items() if n)
        skipped = f"; {len(self.skipped)} skipped (see grading.json)" if self.skipped else ""
        return (f"graded {plural(self.n_submissions, 'notebook')} of {plural(students, 'student')} in "
                f"{self.seconds:.0f} s: "
                f"{said or 'no exercises'}{skipped}. Wrote {out / 'gradebook.csv'}, students.csv and report.html")


def _grade_one(sub, inspected, course, seed, limits):
    start = time.monotonic()
    if inspected.problem:
        nb = course.get(inspected.notebook)
        total = sum(e["points"] for e in nb["exercises"]) if nb else 0
        return [row(sub.student, inspected.notebook, "", "error", 0, total, inspected.problem)], {}, None, start
    nb = course[inspected.notebook]
    cells = [(i, source(c)) for i, c in enumerate(inspected.cells) if c.get("cell_type") == "code"]
    s = case_seed(nb["id"], sub.student, seed)
    run = run_submission(cells, [(e["function"], e["check"]) for e in nb["exercises"]], seed=s,
                         time_limit=limits["time_limit"], notebook_limit=limits["notebook_limit"],
                         memory_bytes=int(limits["memory_gib"] * 2**30))
    judged = time.monotonic()
    rows = mark(sub.student, nb, run, cells, s, limits)
    run.seconds["judge"] = time.monotonic() - judged
    return rows, run.sandbox, run, start


def grade(paths: list, out: Path, *, notebooks=None, time_limit: float = 20.0, notebook_limit: float = 300.0,
          memory_gib: float = 2.0, jobs: int = 1, shard=None, seed: int = 0, progress: bool = True) -> Summary:
    """Grade the notebooks under ``paths`` into the folder ``out``; returns a :class:`Summary`.

    Parameters
    ----------
    paths : list of path
        Notebook files or folders in any of the layouts of :mod:`cflib.grade.submissions`.
    out : Path
        Where gradebook.csv, students.csv, report.html and grading.json go.
    notebooks : set of str, optional
        Course notebook ids to grade; others are skipped (unrecognised files are always reported).
    time_limit, notebook_limit : float
        Seconds per call of a learner's function, and per submitted notebook.
    memory_gib : float
        Address space per submission's process, in GiB.
    jobs : int
        Submissions graded at the same time (one process each).
    shard : (int, int), optional
        ``(i, n)``: grade only the i-th of n parts (1-based), split by student.
    seed : int
        Mixed into every submission's fresh cases (a teacher may keep it secret).
    """
    t0 = time.monotonic()
    course = load()
    out_real = Path(out).resolve()
    subs = [s for s in find(paths) if out_real not in s.path.resolve().parents]  # never the grader's own output
    if not subs:
        raise FileNotFoundError(f"found no .ipynb under {', '.join(map(str, paths))}: give the folder the class's "
                                "notebooks were collected into")
    if shard is not None:
        i, n = shard
        subs = [s for s in subs if s.shard_key % n == i - 1]
    limits = {"time_limit": float(time_limit), "notebook_limit": float(notebook_limit),
              "memory_gib": float(memory_gib)}
    todo, seen, skipped = [], {}, []
    for sub in subs:
        inspected = inspect(sub.path, course)
        if notebooks and inspected.notebook in course and inspected.notebook not in notebooks:
            continue
        key = (sub.student, inspected.notebook)
        if key in seen:
            skipped.append(f"{sub.path}: a second submission of {inspected.notebook} by {sub.student} "
                           f"(graded: {seen[key]})")
            continue
        seen[key] = str(sub.path)
        todo.append((sub, inspected))
    rows, sandbox, per = [], {}, []
    bar = _progress(len(todo), progress)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_grade_one, sub, ins, course, seed, limits) for sub, ins in todo]
        for (sub, ins), future in zip(todo, futures):
            got, report, run, start = future.result()
            rows += got
            for k, v in report.items():
                sandbox.setdefault(k, [])
                if v not in sandbox[k]:
                    sandbox[k].append(v)
            per.append({"student": sub.student, "notebook": ins.notebook, "seconds": time.monotonic() - start,
                        "starts": run.starts if run else 0, "phases": dict(run.seconds) if run else {}})
            bar.update(1)
    bar.close()
    meta = {"n_submissions": len(todo), "limits": limits, "skipped": sorted(skipped),
            "sandbox": {k: " / ".join(v) for k, v in sorted(sandbox.items())} or
            {"note": "no submission ran (none could be read)"}}
    gradebook.write(Path(out), rows, meta, course)
    return Summary(gradebook.sort_rows(rows, course), len(todo), skipped, time.monotonic() - t0, per)


def merge(folders: list, out: Path) -> Summary:
    """Join the output folders of ``--shard`` runs into ``out``, as one run over all submissions would."""
    t0 = time.monotonic()
    course = load()
    rows, meta = gradebook.merge(folders)
    gradebook.write(Path(out), rows, meta, course)
    return Summary(gradebook.sort_rows(rows, course), meta["n_submissions"], meta["skipped"], time.monotonic() - t0)


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="notebook", desc="grading", file=sys.stderr, disable=not enabled or None,
                leave=False)
