"""Build the student notebooks (exercises) from the solution notebooks.

The solution notebooks ``notebooks/NN_*.ipynb`` are the one copy anyone edits.
For each of them this tool writes ``notebooks/exercises/NN_*.ipynb`` in which

* code between a ``### BEGIN SOLUTION`` line and a ``### END SOLUTION`` line
  becomes ``# YOUR CODE HERE`` and ``raise NotImplementedError``, at the
  indentation of the ``### BEGIN SOLUTION`` line (a region at the top level of a
  cell, outside any function, also gets the cell tag ``raises-exception`` so that
  running the whole notebook does not stop there);
* markdown between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->``
  becomes ``*Your answer here.*``;
* cells tagged ``solution`` are dropped;
* outputs, execution counts, execution timings and widget state are cleared;
* relative links in markdown are rewritten so they work from ``exercises/``:
  links to a course notebook point to its student copy next to it, any other
  link (the contents page ``index.ipynb``, files, images) gets ``../``;
* a short note under the navigation line says what the file is.

A marker that does not pair up (an END without a BEGIN, a BEGIN without an
END, a BEGIN inside a region, or code markers in a markdown cell) is an error
naming the notebook and the cell (index counted from 0 and first line).

The output is deterministic: the JSON layout nbformat writes (indent 1, sorted
keys, trailing newline) and cell ids kept from the solution notebook.
``index.ipynb`` has no student copy.

Usage
-----
``python tools/make_exercises.py``          write the student notebooks (``make exercises``)
``python tools/make_exercises.py --check``  exit 1 listing the student notebooks that are stale; write nothing
``python tools/make_exercises.py --notebooks DIR [--out DIR]``   other folders (used by the tests)
"""

from __future__ import annotations

import argparse
import copy
import json
import posixpath
import re
import sys
from pathlib import Path

import nbformat

NOTEBOOK_RE = re.compile(r"^\d\d_[A-Za-z0-9_]+\.ipynb$")
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "notebooks"
EXERCISES_DIR = "exercises"

BEGIN_CODE = "### BEGIN SOLUTION"
END_CODE = "### END SOLUTION"
BEGIN_MD = "<!-- BEGIN SOLUTION -->"
END_MD = "<!-- END SOLUTION -->"
SOLUTION_TAG = "solution"
NAV_TAG = "navigation"
RAISES_TAG = "raises-exception"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError")
MARKDOWN_STUB = "*Your answer here.*"
NOTE_ID = "exercise-note"
#: Cell metadata that records a particular run, never wanted in a handout.
VOLATILE_CELL_KEYS = ("execution", "ExecuteTime", "collapsed", "scrolled")
#: Notebook metadata of the same kind (saved widget state).
VOLATILE_NOTEBOOK_KEYS = ("widgets",)


class MarkerError(ValueError):
    """Solution markers that do not pair up (the message names the notebook and the cell),
    or a student notebook that would not be valid."""


# ------------------------------------------------------------------ cells
def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _lines(text: str) -> list[str]:
    """Source as nbformat stores it on disk: a list of lines keeping their newlines."""
    return text.splitlines(keepends=True)


def _tags(cell: dict) -> list:
    return list(cell.get("metadata", {}).get("tags", []))


def _where(path, index: int, cell: dict) -> str:
    first = next((line.strip() for line in _source(cell).splitlines() if line.strip()), "")
    if len(first) > 60:
        first = first[:57] + "..."
    return f"{path}, cell {index} (counting from 0; first line: {first!r})"


def _strip_regions(text: str, begin: str, end: str, stub, where: str):
    """Replace every begin/end region of ``text`` by ``stub(indent)``.

    Returns the new text and the indentations of the regions found. Raises
    MarkerError on markers that do not pair up.
    """
    out, indents = [], []
    inside = None  # (line number, indent) of the open BEGIN
    lines = text.splitlines(keepends=True)
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if stripped == begin:
            if inside is not None:
                raise MarkerError(f"{where}: {begin!r} on line {number} while the region opened on line "
                                  f"{inside[0]} is not closed; add {end!r} before it")
            inside = (number, indent)
            continue
        if stripped == end:
            if inside is None:
                raise MarkerError(f"{where}: {end!r} on line {number} has no {begin!r} before it")
            newline = "\n" if number < len(lines) or line.endswith("\n") else ""
            block = stub(inside[1])
            out.append(block + newline)
            indents.append(inside[1])
            inside = None
            continue
        if inside is None:
            out.append(line)
    if inside is not None:
        raise MarkerError(f"{where}: {begin!r} on line {inside[0]} has no matching {end!r}")
    return "".join(out), indents


def _code_stub(indent: str) -> str:
    return "\n".join(indent + s for s in CODE_STUB)


def _markdown_stub(indent: str) -> str:
    return indent + MARKDOWN_STUB


# ------------------------------------------------------------------ links
_MD_LINK = re.compile(r"(!?\[[^\]\n]*\]\()(<[^>\n]*>|[^)\s]+)((?:\s+\"[^\"\n]*\")?\))")
_REF_DEF = re.compile(r"^( {0,3}\[[^\]\n]+\]:\s*)(\S+)", re.MULTILINE)
_HTML_ATTR = re.compile(r"""((?:src|href)\s*=\s*)(["'])([^"'\n]+)\2""", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def rewrite_target(target: str, course: set) -> str:
    """A link target written for ``notebooks/`` rewritten for ``notebooks/exercises/``.

    ``course`` holds the file names of the notebooks that have a student copy.
    """
    bracketed = target.startswith("<") and target.endswith(">")
    t = target[1:-1] if bracketed else target
    if not t or t.startswith(("#", "/")) or _SCHEME.match(t):
        return target
    cut = min([i for i in (t.find("#"), t.find("?")) if i >= 0], default=len(t))
    path, rest = t[:cut], t[cut:]
    if not path:
        return target
    resolved = posixpath.normpath(posixpath.join("notebooks", path))
    if posixpath.dirname(resolved) in ("notebooks", f"notebooks/{EXERCISES_DIR}") \
            and posixpath.basename(resolved) in course:
        new = posixpath.basename(resolved)  # the student copy, next to this one
    else:
        new = posixpath.relpath(resolved, f"notebooks/{EXERCISES_DIR}")
        if path.endswith("/") and not new.endswith("/"):
            new += "/"
    new += rest
    return f"<{new}>" if bracketed else new


def rewrite_links(text: str, course: set) -> str:
    """Rewrite the relative targets of markdown links, images, reference definitions and HTML src/href."""
    text = _MD_LINK.sub(lambda m: m.group(1) + rewrite_target(m.group(2), course) + m.group(3), text)
    text = _REF_DEF.sub(lambda m: m.group(1) + rewrite_target(m.group(2), course), text)
    return _HTML_ATTR.sub(lambda m: m.group(1) + m.group(2) + rewrite_target(m.group(3), course) + m.group(2),
                          text)


# -------------------------------------------------------------- notebooks
def _note_cell(solution_name: str, with_id: bool) -> dict:
    text = (
        f"> **Exercise version** of [{solution_name}](../{solution_name}), which has the solutions. "
        "Write your code where it says `# YOUR CODE HERE` (delete the `raise NotImplementedError` line); "
        "the cell that follows checks your function and prints one line: pass, or what is wrong and a hint. "
        "Until your function passes, the check hands the `cflib` version to the rest of the notebook.\n"
        ">\n"
        "> *Course authors: this file is generated by `make exercises` (`tools/make_exercises.py`); "
        "edit the solution notebook instead.*"
    )
    cell = {"cell_type": "markdown", "metadata": {}, "source": _lines(text)}
    if with_id:
        cell["id"] = NOTE_ID
    return cell


def _clean_metadata(meta: dict, drop_tags=()) -> dict:
    meta = {k: v for k, v in meta.items() if k not in VOLATILE_CELL_KEYS}
    if "tags" in meta:
        tags = [t for t in meta["tags"] if t not in drop_tags]
        if tags:
            meta["tags"] = tags
        else:
            del meta["tags"]
    return meta


def student_notebook(nb: dict, path, course: set) -> dict:
    """The student version of solution notebook ``nb`` (read from ``path``; used in messages).

    Raises
    ------
    MarkerError
        On solution markers that do not pair up.
    """
    name = Path(str(path)).name
    cells = []
    has_ids = (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5)
    note_at = 0
    for index, cell in enumerate(nb.get("cells", [])):
        tags = _tags(cell)
        if SOLUTION_TAG in tags:
            continue
        where = _where(path, index, cell)
        new = copy.deepcopy(cell)
        new["metadata"] = _clean_metadata(new.get("metadata", {}), drop_tags=(SOLUTION_TAG,))
        text = _source(cell)
        kind = cell.get("cell_type")
        if kind == "code":
            text, indents = _strip_regions(text, BEGIN_CODE, END_CODE, _code_stub, where)
            if "" in indents and RAISES_TAG not in new["metadata"].get("tags", []):
                new["metadata"]["tags"] = new["metadata"].get("tags", []) + [RAISES_TAG]
            new["outputs"] = []
            new["execution_count"] = None
        elif kind == "markdown":
            for line in text.splitlines():
                if line.strip() in (BEGIN_CODE, END_CODE):
                    raise MarkerError(f"{where}: {line.strip()!r} in a markdown cell; markdown uses "
                                      f"{BEGIN_MD!r} and {END_MD!r}")
            text, _ = _strip_regions(text, BEGIN_MD, END_MD, _markdown_stub, where)
            text = rewrite_links(text, course)
        new["source"] = _lines(text)
        if NAV_TAG in tags and not cells:
            note_at = 1
        cells.append(new)
    note = _note_cell(name, has_ids)
    taken = {c.get("id") for c in cells}
    while note.get("id") in taken:  # never a duplicate id, which nbformat rejects
        note["id"] = note["id"] + "-x"
    cells.insert(note_at, note)
    out = {k: copy.deepcopy(v) for k, v in nb.items() if k != "cells"}
    out["metadata"] = {k: v for k, v in out.get("metadata", {}).items() if k not in VOLATILE_NOTEBOOK_KEYS}
    out["cells"] = cells
    return out


def dumps(nb: dict) -> str:
    """The layout nbformat writes: indent 1, sorted keys, non-ASCII kept, trailing newline."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def solution_notebooks(folder: Path) -> list:
    """The ``NN_*.ipynb`` solution notebooks of ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and NOTEBOOK_RE.match(p.name))


def build(folder: Path) -> dict:
    """``{file name: text}`` of every student notebook for the solution notebooks in ``folder``."""
    paths = solution_notebooks(folder)
    course = {p.name for p in paths}
    out = {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            nb = json.load(fh)
        student = student_notebook(nb, _display(path), course)
        try:
            nbformat.validate(nbformat.from_dict(student))
        except nbformat.ValidationError as exc:
            raise MarkerError(f"{_display(path)}: the student notebook would not be valid: "
                              f"{str(exc).splitlines()[0]}") from None
        out[path.name] = dumps(student)
    return out


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def plan(folder: Path, out_dir: Path):
    """What to do: (files to write {path: text}, stale student notebooks to delete [path])."""
    wanted = build(folder)
    writes = {}
    for name, text in wanted.items():
        target = out_dir / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            writes[target] = text
    deletes = []
    if out_dir.is_dir():
        deletes = [p for p in solution_notebooks(out_dir) if p.name not in wanted]
    return writes, deletes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a student notebook is missing, stale or orphaned; write nothing")
    parser.add_argument("--notebooks", type=Path, default=DEFAULT_DIR,
                        help=f"folder of the NN_*.ipynb solution notebooks (default: {DEFAULT_DIR})")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder of the student notebooks (default: NOTEBOOKS/{EXERCISES_DIR})")
    args = parser.parse_args(argv)
    folder = args.notebooks
    out_dir = args.out if args.out is not None else folder / EXERCISES_DIR
    if not folder.is_dir():
        print(f"error: {folder} is not a folder", file=sys.stderr)
        return 2
    try:
        writes, deletes = plan(folder, out_dir)
    except MarkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if writes or deletes:
            print("stale student notebooks (run `make exercises`, i.e. python tools/make_exercises.py):")
            for path in writes:
                print(f"  {path.name}: {'differs from' if path.exists() else 'missing, not yet built from'} "
                      "its solution notebook")
            for path in deletes:
                print(f"  {path.name}: its solution notebook no longer exists")
            return 1
        print(f"student notebooks are up to date ({len(solution_notebooks(folder))} notebooks)")
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, text in writes.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {_display(path)}")
    for path in deletes:
        path.unlink()
        print(f"removed {_display(path)} (no solution notebook)")
    if not writes and not deletes:
        print("nothing to do: the student notebooks are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
