"""The grader's output folder: gradebook.csv, students.csv, report.html and grading.json, written atomically.

Every file is written to a temporary name in the same folder and renamed
into place, so Ctrl-C or a crash leaves the old file or the new one, never
half of one. The rows are sorted (student, notebook, then the exercises in
course order), so the same submissions give the same bytes, and
:func:`merge` of shards gives what one run over all of them gives.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from .marking import STATUSES
from .report import render_report

COLUMNS = ("student", "notebook", "exercise", "status", "points", "max_points", "detail")
STUDENT_COLUMNS = ("student", "notebook", "points", "max_points", *STATUSES)
#: Names of the files the grader writes in its output folder.
FILES = ("gradebook.csv", "students.csv", "report.html", "grading.json")
#: A text cell starting with one of these is a formula to a spreadsheet (CSV injection): it is written after a
#: quote ("'=cmd|..." shows as text "=cmd|..."); a text that starts with a quote gets one more, so reading undoes it.
FORMULA_START = "=+-@\t\r'"


def cell(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text, never runs (:data:`FORMULA_START`)."""
    text = str(text)
    return "'" + text if text[:1] and text[0] in FORMULA_START else text


def uncell(text: str) -> str:
    """The text :func:`cell` wrote."""
    return text[1:] if text[:1] == "'" and text[1:2] and text[1] in FORMULA_START else text


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _points(x: float) -> str:
    return f"{float(x):g}"


def sort_rows(rows: list, course: dict) -> list:
    """Rows by student, notebook, then exercise in course order (a notebook's error row first)."""
    def key(r):
        order = [e["function"] for e in course.get(r["notebook"], {}).get("exercises", [])]
        return (r["student"], r["notebook"], order.index(r["exercise"]) if r["exercise"] in order else -1,
                r["exercise"])
    return sorted(rows, key=key)


def _csv(header, rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def students_table(rows: list) -> list:
    """One dict per (student, notebook): the points and the count of each status."""
    table = {}
    for r in rows:
        t = table.setdefault((r["student"], r["notebook"]),
                             {"student": r["student"], "notebook": r["notebook"], "points": 0.0, "max_points": 0.0,
                              **{s: 0 for s in STATUSES}})
        t["points"] += r["points"]
        t["max_points"] += r["max_points"]
        t[r["status"]] += 1
    return [table[k] for k in sorted(table)]


def write(out: Path, rows: list, meta: dict, course: dict) -> None:
    """Write the four files of :data:`FILES` into ``out`` (created if needed)."""
    rows = sort_rows(rows, course)
    texts = {"gradebook.csv": _csv(COLUMNS, [[cell(r["student"]), cell(r["notebook"]), r["exercise"], r["status"],
                                              _points(r["points"]), _points(r["max_points"]), cell(r["detail"])]
                                             for r in rows]),
             "students.csv": _csv(STUDENT_COLUMNS, [[cell(t["student"]), cell(t["notebook"]), _points(t["points"]),
                                                     _points(t["max_points"]), *(t[s] for s in STATUSES)]
                                                    for t in students_table(rows)])}
    info = {"title": "cflib course: what the class gets right and wrong",
            "generated": f"by cflib-grade from {meta['n_submissions']} submitted notebooks "
                         f"({meta['limits']['time_limit']:g} s per call)",
            "sandbox": meta["sandbox"], "n_submissions": meta["n_submissions"],
            "order": {nb: [e["function"] for e in entry.get("exercises", [])] for nb, entry in course.items()}}
    texts["report.html"] = render_report(rows, info)
    texts["grading.json"] = json.dumps(meta, indent=1, sort_keys=True) + "\n"
    out.mkdir(parents=True, exist_ok=True)  # every text is ready before the first file is replaced
    for name in FILES:
        write_atomic(out / name, texts[name])


def read(folder: Path) -> tuple:
    """``(rows, meta)`` of an output folder written by :func:`write`; ``ValueError`` naming what is wrong."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "grading.json").read_text(encoding="utf-8"))
        with open(folder / "gradebook.csv", encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise ValueError(f"{folder / 'gradebook.csv'} does not have the columns {','.join(COLUMNS)}")
            rows = [{**r, "student": uncell(r["student"]), "notebook": uncell(r["notebook"]),
                     "detail": uncell(r["detail"]), "points": float(r["points"]), "max_points": float(r["max_points"])}
                    for r in reader]
    except FileNotFoundError as exc:
        raise ValueError(f"--merge {folder}: {Path(exc.filename).name} is missing; give folders written by "
                         "cflib-grade --out") from None
    return rows, meta


def merge(folders: list) -> tuple:
    """``(rows, meta)`` joining the output folders of several shards."""
    rows, metas = [], []
    for folder in folders:
        r, m = read(folder)
        rows += r
        metas.append(m)
    sandbox = {}
    for m in metas:
        for k, v in m.get("sandbox", {}).items():
            if v not in sandbox.setdefault(k, []):
                sandbox[k].append(v)
    meta = {"n_submissions": sum(m["n_submissions"] for m in metas),
            "sandbox": {k: " / ".join(v) for k, v in sorted(sandbox.items())},
            "limits": metas[0]["limits"] if metas else {},
            "skipped": sorted(s for m in metas for s in m.get("skipped", []))}
    return rows, meta
