"""Finding the submissions, naming their students, and recognising which notebook each one is.

Three layouts are read, and may be mixed:

* nbgrader's ``submitted/<student>/<assignment>/<notebook>.ipynb``;
* a folder per student, ``<student>/<NN_name>.ipynb``;
* a flat folder of ``<student>__<NN_name>.ipynb`` or ``<student>.ipynb``.

A notebook is recognised by its content, never by its file name: the course
notebook whose exercise functions (``def my_cost(``...) it defines. Before
anything of it runs, :func:`inspect` turns the unusable ones (not JSON, not a
notebook, another course's notebook, the solution notebook, cells deleted or
reordered) into one clear reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .course import BEGIN

_COURSE_NAME = re.compile(r"^\d\d_")
_DEF = re.compile(r"^def (my_\w+)\s*\(|^(my_\w+)\s*=\s*lambda\b", re.M)
#: The largest notebook file read (bytes); a larger one is refused, not parsed.
MAX_NOTEBOOK = 50 * 2**20


@dataclass(frozen=True)
class Submission:
    """One notebook file handed in, and whose it is."""

    student: str
    path: Path

    @property
    def shard_key(self) -> int:
        """A stable number for ``--shard``: a student's submissions all land in the same shard."""
        return int.from_bytes(hashlib.sha256(self.student.encode()).digest()[:8], "little")


def _student(path: Path, root: Path | None) -> str:
    parts = path.parts
    if "submitted" in parts[:-1]:
        i = len(parts) - 1 - parts[::-1].index("submitted")
        if len(parts) - i >= 4:  # submitted/<student>/<assignment>/<file>
            return parts[i + 1]
    rel = path.relative_to(root).parts if root is not None else (path.name,)
    if len(rel) >= 2:
        return rel[0]
    stem = path.stem
    if "__" in stem:
        return stem.split("__", 1)[0]
    if _COURSE_NAME.match(stem) and root is None:
        return path.parent.name  # a file given alone, named like a course notebook: its folder is the student
    return stem


def find(paths: list) -> list:
    """Every submission under ``paths`` (files or folders), sorted by student then path.

    Raises ``FileNotFoundError`` naming a path that does not exist.
    """
    found = []
    for given in paths:
        p = Path(given)
        if not p.exists():
            raise FileNotFoundError(f"SUBMISSION {given!s} does not exist: give notebook files or folders of them")
        if p.is_file():
            found.append(Submission(_student(p.resolve(), None), p))
            continue
        for f in sorted(p.rglob("*.ipynb")):
            rel = f.relative_to(p)
            if any(part.startswith(".") for part in rel.parts) or not f.is_file():
                continue  # .ipynb_checkpoints and other hidden copies
            found.append(Submission(_student(f, p), f))
    unique = {(s.student, str(s.path.resolve())): s for s in found}
    return sorted(unique.values(), key=lambda s: (s.student, str(s.path)))


def _cells(nb) -> list:
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise ValueError("not a Jupyter notebook (no list of cells): hand in the .ipynb file itself")
    return cells


def source(cell: dict) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        return "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


@dataclass
class Inspected:
    """A readable submission: which course notebook it is, its cells, or why it cannot be graded."""

    notebook: str  # the course notebook's id, or the file's name when none is recognised
    cells: list
    problem: str = ""


def inspect(path: Path, course: dict) -> Inspected:
    """Read ``path`` and recognise it among ``course`` (:func:`cflib.grade.course.load`)."""
    name = path.name
    try:
        if path.stat().st_size > MAX_NOTEBOOK:
            return Inspected(name, [], f"the file is larger than {MAX_NOTEBOOK // 2**20} MiB: not a course notebook")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return Inspected(name, [], "the file is not text (UTF-8): not a Jupyter notebook")
    except OSError as exc:
        return Inspected(name, [], f"the file cannot be read ({exc.strerror})")
    if not text.strip():
        return Inspected(name, [], "the file is empty")
    try:
        cells = _cells(json.loads(text))
    except ValueError as exc:
        reason = str(exc) if "notebook" in str(exc) else f"the file is not valid JSON ({str(exc)[:80]})"
        return Inspected(name, [], reason + ": was it saved from Jupyter, or damaged in transfer?")
    except RecursionError:
        return Inspected(name, [], "the file is not a notebook (JSON nested too deep)")
    defined = set()
    for cell in cells:
        if cell.get("cell_type") == "code":
            defined.update(a or b for a, b in _DEF.findall(source(cell)))
    scores = sorted(((len(defined & {e["function"] for e in nb["exercises"]}), nb_id) for nb_id, nb in course.items()),
                    key=lambda t: (-t[0], t[1]))
    if not scores or scores[0][0] == 0:
        return Inspected(name, cells, "not a notebook of this course: it defines none of the course's exercise "
                                      "functions (my_cost, my_gradient, ...)")
    nb = course[scores[0][1]]
    return Inspected(nb["id"], cells, _structure(cells, nb))


def _structure(cells: list, nb: dict) -> str:
    """Why the cells do not match the handout (solution notebook, cells deleted or reordered), or ""."""
    if any(BEGIN in source(c) for c in cells if c.get("cell_type") == "code"):
        return ("this is the solution notebook (it still has ### BEGIN SOLUTION markers), not a student's copy: "
                "hand in the copy from notebooks/exercises/")
    ids = [c.get("id") for c in cells]
    handout = nb["handout_cells"]
    position = {cell_id: k for k, cell_id in enumerate(handout) if cell_id}
    present = [position[i] for i in ids if i in position]
    if not present:
        return ""  # no cell ids (an old nbformat): the exercises are found by their function names
    needed = {e["def_cell"]: e["function"] for e in nb["exercises"]}
    needed.update({e["check_cell"]: f"the check of {e['function']}" for e in nb["exercises"]})
    gone = [what for cell_id, what in needed.items() if cell_id not in ids]
    if gone:
        return (f"cells deleted: the cell of {gone[0]} is missing"
                + (f" (and {len(gone) - 1} more)" if len(gone) > 1 else "")
                + "; write in the cells of the handout, or start again from a fresh copy")
    if present != sorted(present):
        k = next(k for k in range(1, len(present)) if present[k] < present[k - 1])
        moved = handout[present[k]]
        return (f"cells reordered: the handout's cell {present[k]} (id {moved!r}) now comes after cell "
                f"{present[k - 1]}; put the cells back in the handout's order")
    return ""
