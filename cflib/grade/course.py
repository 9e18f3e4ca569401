"""What the grader knows of the course: each notebook's exercises, checks, points and handout cells.

The solution notebooks are the one place this is written: the learner's
functions are the code cells with a ``### BEGIN SOLUTION`` region, each checked
by a cell ``my_xxx = checks.check_yyy(my_xxx)``, and each exercise's points are
the notebook's metadata ``cflib.points`` (nbgrader reads the same numbers,
written into its cell metadata by ``tools/make_exercises.py``). The handout's
cell ids come from the student copies in ``notebooks/exercises/``.

Because an installed ``cflib`` has no notebooks, this module turns them into
``course.json`` inside the package, and the grader reads only that file::

    python -m cflib.grade.course notebooks          # rewrite cflib/grade/course.json
    python -m cflib.grade.course notebooks --check  # exit 1 if it is stale

``make exercises`` runs the first; a test runs the second.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

COURSE_FILE = Path(__file__).with_name("course.json")
_NOTEBOOK = re.compile(r"^(\d\d_[A-Za-z0-9_]+)\.ipynb$")
_CHECK_CELL = re.compile(r"^(\w+) = checks\.(check_\w+)\(\1\)\s*$", re.M)
_DEF = re.compile(r"^def (\w+)\s*\(", re.M)
BEGIN = "### BEGIN SOLUTION"


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _notebook(path: Path, handout: Path) -> dict | None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    points = nb.get("metadata", {}).get("cflib", {}).get("points", {})
    defs, checks = {}, {}
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        text = _source(cell)
        if BEGIN in text:
            for name in _DEF.findall(text):
                defs.setdefault(name, cell.get("id"))
        for name, check in _CHECK_CELL.findall(text):
            checks[name] = (check, cell.get("id"))
    exercises = [{"function": name, "check": checks[name][0], "points": points[name], "def_cell": cell_id,
                  "check_cell": checks[name][1]} for name, cell_id in defs.items() if name in checks]
    if not exercises:
        return None
    missing = [e["function"] for e in exercises if e["function"] not in points] + \
        [n for n in points if n not in {e["function"] for e in exercises}]
    if missing:
        raise ValueError(f"{path.name}: metadata cflib.points and the checked functions disagree on {missing}")
    cells = [c.get("id") for c in json.loads(handout.read_text(encoding="utf-8"))["cells"]]
    return {"id": path.stem, "title": nb["metadata"].get("cflib", {}).get("short_title", path.stem),
            "exercises": exercises, "handout_cells": cells}


def build(folder: Path) -> dict:
    """The course description from the solution notebooks in ``folder`` (and their copies in ``exercises/``)."""
    notebooks = []
    for path in sorted(Path(folder).iterdir()):
        if _NOTEBOOK.match(path.name):
            entry = _notebook(path, Path(folder) / "exercises" / path.name)
            if entry:
                notebooks.append(entry)
    return {"notebooks": notebooks}


def dumps(course: dict) -> str:
    return json.dumps(course, indent=1, sort_keys=True) + "\n"


def load() -> dict:
    """The course description shipped with cflib (``course.json``), notebooks keyed by id."""
    course = json.loads(COURSE_FILE.read_text(encoding="utf-8"))
    return {nb["id"]: nb for nb in course["notebooks"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cflib.grade.course", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="the solution notebooks' folder (notebooks/)")
    parser.add_argument("--check", action="store_true", help="exit 1 if course.json is stale; write nothing")
    args = parser.parse_args(argv)
    text = dumps(build(args.folder))
    if args.check:
        if not COURSE_FILE.exists() or COURSE_FILE.read_text(encoding="utf-8") != text:
            print(f"{COURSE_FILE} is stale: run `python -m cflib.grade.course {args.folder}` (make exercises)",
                  file=sys.stderr)
            return 1
        return 0
    COURSE_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {COURSE_FILE} ({len(json.loads(text)['notebooks'])} notebooks)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
