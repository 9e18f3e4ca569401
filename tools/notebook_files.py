"""The course's notebook files, as every tool in ``tools/`` reads and writes them.

One place for what the tools agree on:

* which files are course notebooks: ``NN_snake_case.ipynb`` (two digits, any number from
  00 to 99), in the order of their numbers; two notebooks with the same number are an
  error, so a new chapter cannot silently take another one's place;
* the names of the contents page (``index.ipynb``), of the student folder (``exercises/``),
  of the navigation and Colab setup cell tags, of the solution markers and of nbgrader's hidden-test markers;
* reading a notebook as a plain dict, writing it in the layout nbformat itself writes
  (indent 1, sorted keys, non-ASCII kept, trailing newline), and comparing two notebooks
  whose sources are stored either as one string or as a list of lines (nbformat accepts
  both);
* the text, the lines and the tags of a cell.

Plain ``json`` only: the tools run with the course's own dependencies.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: ``02_cost_function.ipynb``: group 1 the number, group 2 the topic.
NOTEBOOK_RE = re.compile(r"^(\d\d)_([A-Za-z0-9_]+)\.ipynb$")
INDEX_NAME = "index.ipynb"
EXERCISES_DIR = "exercises"
NAV_TAG = "navigation"
#: The tag of the generated Google Colab setup cell (``tools/navigation.py``), right after the navigation line.
COLAB_TAG = "colab-setup"
SOLUTION_TAG = "solution"
BEGIN_CODE = "### BEGIN SOLUTION"
END_CODE = "### END SOLUTION"
BEGIN_MD = "<!-- BEGIN SOLUTION -->"
END_MD = "<!-- END SOLUTION -->"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"


class NotebookNameError(ValueError):
    """Two course notebooks share a number."""


def course_notebooks(folder: Path) -> list[Path]:
    """The ``NN_*.ipynb`` notebooks of ``folder``, in the order of their numbers.

    Raises
    ------
    NotebookNameError
        If two notebooks carry the same number (``09_a.ipynb`` and ``09_b.ipynb``).
    """
    paths = sorted(p for p in Path(folder).iterdir() if p.is_file() and NOTEBOOK_RE.match(p.name))
    seen: dict[str, str] = {}
    for p in paths:
        number = NOTEBOOK_RE.match(p.name).group(1)
        if number in seen:
            raise NotebookNameError(f"{seen[number]} and {p.name} share the number {number}: "
                                    "renumber one of them (file name NN_topic.ipynb)")
        seen[number] = p.name
    return paths


def read_notebook(path: Path) -> dict:
    """The notebook at ``path`` as a plain dict."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def dumps(nb: dict) -> str:
    """The text nbformat writes for ``nb``: indent 1, sorted keys, non-ASCII kept, trailing newline."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_notebook(path: Path, nb: dict) -> None:
    """Write ``nb`` to ``path`` in the layout of :func:`dumps`."""
    Path(path).write_text(dumps(nb), encoding="utf-8")


def normalized(nb: dict) -> str:
    """A canonical text of ``nb`` in which a source stored as one string or as a list of
    lines compares equal."""
    def fix(obj):
        if isinstance(obj, dict):
            return {k: ("".join(v) if k in ("source", "text") and isinstance(v, list) else fix(v))
                    for k, v in obj.items()}
        if isinstance(obj, list):
            return [fix(v) for v in obj]
        return obj
    return json.dumps(fix(nb), sort_keys=True, ensure_ascii=False)


def cell_source(cell: dict) -> str:
    """The source of ``cell`` as one string."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def source_lines(text: str) -> list[str]:
    """``text`` as nbformat stores a source on disk: a list of lines keeping their newlines."""
    return text.splitlines(keepends=True)


def cell_tags(cell: dict) -> list:
    """The tags of ``cell`` (a new list)."""
    return list(cell.get("metadata", {}).get("tags", []))


def is_navigation(cell: dict) -> bool:
    """Whether ``cell`` is the generated navigation line."""
    return NAV_TAG in cell_tags(cell)


def is_colab_setup(cell: dict) -> bool:
    """Whether ``cell`` is the generated Google Colab setup cell (not course content)."""
    return COLAB_TAG in cell_tags(cell)


def has_cell_ids(nb: dict) -> bool:
    """Whether ``nb``'s format (4.5 and later) gives every cell an id."""
    return (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5)
