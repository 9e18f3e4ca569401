"""Navigation lines and the contents page of the course notebooks.

For every ``notebooks/NN_*.ipynb`` (sorted by name) this tool

* sets the first cell to a markdown navigation line, for example
  ``[← 01 Low-rank model](01_low_rank_model.ipynb) · [Contents](index.ipynb) · [03 Gradient →](03_gradient.ipynb)``,
  marked with the cell tag ``navigation`` (inserted if absent, replaced if present,
  moved to the top if it is elsewhere);
* (re)writes ``notebooks/index.ipynb``: the start page listing every notebook with
  its H1 title, its one-line summary and its minutes, plus how to use the course;
* writes the same table into the repository ``README.md``, between the markers
  ``<!-- contents-table: ... -->`` and ``<!-- end contents-table -->``.

What it reads from each notebook
--------------------------------
* the H1 title: the first markdown line starting with ``# `` outside the navigation cell;
* the notebook metadata ``cflib``: ``{"summary": str, "minutes": int}`` and, optionally,
  ``"short_title": str`` (the label in navigation lines; default: built from the file
  name, ``02_cost_function.ipynb`` -> ``Cost function``).

Only the navigation cell is ever changed: no other cell, output or execution count is
touched, and a notebook that is already up to date is not rewritten.

Usage
-----
``python tools/navigation.py``            update the notebooks and the contents page
``python tools/navigation.py --check``    exit 1 and list what is stale; change nothing
``python tools/navigation.py --notebooks DIR``   work on another folder (used by the tests)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

NOTEBOOK_RE = re.compile(r"^(\d\d)_([A-Za-z0-9_]+)\.ipynb$")
NAV_TAG = "navigation"
NAV_CELL_ID = "navigation"
INDEX_NAME = "index.ipynb"
EXERCISES_DIR = "exercises"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "notebooks"

HOW_TO_USE = """\
## How to use this course

1. Work through the notebooks in order: each one builds on the previous one and links
   to its neighbours on its first line.
2. Every notebook derives an idea, shows it on a small example you can see whole, then
   imports the tested function from `cflib` and applies it to MovieLens. Read the
   derivations with a pen; re-run the cells and change the numbers.
3. Each notebook ends with a `## Summary` and `## Exercises`. The notebooks in this
   folder contain the solutions. To practise, open the student copies in
   [`exercises/`](exercises/): the same notebooks with the solutions removed. In each
   exercise you write a function; the cell after it checks your function with
   `cflib.checks` and prints one line: pass, or what is wrong and a hint. If your
   function is not ready yet, the check hands back the `cflib` version so that the
   rest of the notebook still runs.
4. The data: MovieLens 100K. `make lab` fetches it once into `data/`; offline, put
   `ml-100k.zip` there, or set `CFLIB_DATA_DIR` to a folder that holds `ml-100k/`
   (see the repository README).
"""

GLOSSARY = r"""## Notation used in every notebook

| Symbol | Code | Shape | Meaning |
|---|---|---|---|
| $Y$ | `Y` | $(n_m, n_u)$ | ratings, movies $\times$ users |
| $R$ | `R` | $(n_m, n_u)$ | 1 (True) where a rating exists |
| $X$ | `X` | $(n_m, k)$ | movie features, row $i$ is $x_i$ |
| $\Theta$ | `Theta` | $(n_u, k)$ | user preferences, row $j$ is $\theta_j$ |
| $\lambda$ | `lam` | scalar | regularization strength |
| $k$ | `k` | scalar | number of latent features |
"""


class NavigationError(ValueError):
    """A notebook lacks something the contents page needs."""


# --------------------------------------------------------------- reading
def course_notebooks(folder: Path) -> list[Path]:
    """The ``NN_*.ipynb`` notebooks of ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and NOTEBOOK_RE.match(p.name))


def read_notebook(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write_notebook(path: Path, nb: dict) -> None:
    # The layout nbformat itself writes: indent 1, sorted keys, trailing newline.
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _lines(text: str) -> list[str]:
    """Source as nbformat stores it on disk: a list of lines keeping their newlines."""
    return text.splitlines(keepends=True)


def normalized(nb: dict) -> str:
    """A canonical text of ``nb`` in which a source stored as one string or as a list of
    lines compares equal (nbformat accepts both)."""
    def fix(obj):
        if isinstance(obj, dict):
            return {k: ("".join(v) if k in ("source", "text") and isinstance(v, list) else fix(v))
                    for k, v in obj.items()}
        if isinstance(obj, list):
            return [fix(v) for v in obj]
        return obj
    return json.dumps(fix(nb), sort_keys=True, ensure_ascii=False)


def _is_nav(cell: dict) -> bool:
    return NAV_TAG in cell.get("metadata", {}).get("tags", [])


def h1_title(nb: dict, path: Path) -> str:
    """The text of the first ``# `` heading outside the navigation cell."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown" or _is_nav(cell):
            continue
        for line in _source(cell).splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    raise NavigationError(f"{path.name}: no H1 title (a markdown line starting with '# ')")


def course_meta(nb: dict, path: Path) -> dict:
    """The ``cflib`` notebook metadata, checked: summary (str) and minutes (int)."""
    meta = nb.get("metadata", {}).get("cflib")
    if not isinstance(meta, dict):
        raise NavigationError(
            f'{path.name}: notebook metadata has no "cflib" entry; add '
            '{"cflib": {"summary": "<one line>", "minutes": <int>}}'
        )
    if not isinstance(meta.get("summary"), str) or not meta["summary"].strip():
        raise NavigationError(f'{path.name}: metadata cflib.summary must be a non-empty string')
    minutes = meta.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
        raise NavigationError(f"{path.name}: metadata cflib.minutes must be a positive integer, got {minutes!r}")
    return meta


def short_label(nb: dict, path: Path) -> str:
    """``"02 Cost function"``: the number and a short title for navigation links."""
    number, stem = NOTEBOOK_RE.match(path.name).groups()
    short = nb.get("metadata", {}).get("cflib", {}).get("short_title")
    if not short:
        words = stem.replace("_", " ").strip()
        short = words[:1].upper() + words[1:]
    return f"{number} {short}"


# ------------------------------------------------------------- building
def navigation_line(labels: list[str], names: list[str], pos: int) -> str:
    """Markdown ``[← prev](…) · [Contents](index.ipynb) · [next →](…)`` for notebook ``pos``."""
    parts = []
    if pos > 0:
        parts.append(f"[← {labels[pos - 1]}]({names[pos - 1]})")
    parts.append(f"[Contents]({INDEX_NAME})")
    if pos < len(names) - 1:
        parts.append(f"[{labels[pos + 1]} →]({names[pos + 1]})")
    return " · ".join(parts)


def _nav_cell(nb: dict, line: str) -> dict:
    cell = {"cell_type": "markdown", "metadata": {"tags": [NAV_TAG]}, "source": _lines(line)}
    if (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5):
        cell["id"] = NAV_CELL_ID
    return cell


def with_navigation(nb: dict, line: str) -> dict:
    """A copy of ``nb`` whose first cell is the navigation line; other cells untouched."""
    cells = [c for c in nb.get("cells", []) if not _is_nav(c)]
    new = dict(nb)
    new["cells"] = [_nav_cell(nb, line)] + cells
    return new


def _md(text: str, cell_id: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": _lines(text)}


def contents_rows(entries: list[dict], link_prefix: str = "") -> list[str]:
    """The contents table as markdown lines; links are ``link_prefix + name``."""
    rows = [
        "| | Notebook | What you will learn | Minutes |",
        "|---|---|---|---|",
    ]
    for e in entries:
        number = e["name"][:2]
        title, summary = (e[key].replace("|", "\\|") for key in ("title", "summary"))  # keep the table intact
        rows.append(f"| {number} | [{title}]({link_prefix}{e['name']}) | {summary} | {e['minutes']} |")
    rows.append(f"| | **Total** | | **{sum(e['minutes'] for e in entries)}** |")
    return rows


README_START = "<!-- contents-table: generated by tools/navigation.py -->"
README_END = "<!-- end contents-table -->"


def readme_with_contents(text: str, entries: list[dict], folder_name: str) -> str:
    """``text`` (the repository README) with the table between its markers replaced."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise NavigationError(f"README.md lacks the markers {README_START!r} ... {README_END!r}")
    table = "\n".join(contents_rows(entries, link_prefix=f"{folder_name}/"))
    return text[: start + len(README_START)] + "\n" + table + "\n" + text[end:]


def build_index(entries: list[dict], kernelspec: dict | None) -> dict:
    """The contents notebook from ``entries`` (name, title, summary, minutes)."""
    rows = contents_rows(entries)
    intro = (
        "# Low-rank matrix factorization for collaborative filtering\n\n"
        "A hands-on course: from the MovieLens ratings matrix to a trained recommender, "
        "deriving every formula, checking every gradient and writing the key functions "
        "yourself. Start with the first notebook and follow the navigation line at the top "
        "of each one."
    )
    contents = "## Contents\n\n" + "\n".join(rows) + "\n"
    exercises = (
        "## Exercises\n\n"
        f"Student copies of the notebooks, with the solutions removed, are in "
        f"[`{EXERCISES_DIR}/`]({EXERCISES_DIR}/). Each has the same file name as its solution "
        "notebook listed above; the check cells tell you when your function is right."
    )
    metadata = {
        "language_info": {"name": "python"},
        "cflib": {"generated_by": "tools/navigation.py"},
    }
    if kernelspec:
        metadata["kernelspec"] = kernelspec
    return {
        "cells": [
            _md(intro, "title"),
            _md(contents, "contents"),
            _md(HOW_TO_USE, "how-to-use"),
            _md(exercises, "exercises"),
            _md(GLOSSARY, "notation"),
        ],
        "metadata": metadata,
        "nbformat": 4,
        "nbformat_minor": 5,
    }


# ----------------------------------------------------------------- main
def plan(folder: Path) -> dict[Path, dict]:
    """Every file that should change, mapped to its new content (empty if all is up to date)."""
    paths = course_notebooks(folder)
    notebooks = [read_notebook(p) for p in paths]
    labels = [short_label(nb, p) for nb, p in zip(notebooks, paths)]
    names = [p.name for p in paths]
    changes: dict[Path, dict] = {}
    entries = []
    for pos, (path, nb) in enumerate(zip(paths, notebooks)):
        meta = course_meta(nb, path)
        entries.append({
            "name": path.name,
            "title": h1_title(nb, path),
            "summary": meta["summary"].strip(),
            "minutes": meta["minutes"],
        })
        new = with_navigation(nb, navigation_line(labels, names, pos))
        if normalized(new) != normalized(nb):
            changes[path] = new
    kernelspec = notebooks[0].get("metadata", {}).get("kernelspec") if notebooks else None
    index_path = folder / INDEX_NAME
    index = build_index(entries, kernelspec)
    if not index_path.exists() or normalized(read_notebook(index_path)) != normalized(index):
        changes[index_path] = index
    readme = folder.parent / "README.md"
    if readme.exists():  # the repository README carries the same table
        text = readme.read_text(encoding="utf-8")
        new_text = readme_with_contents(text, entries, folder.name)
        if new_text != text:
            changes[readme] = new_text
    return changes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a navigation line or the contents page is stale; write nothing")
    parser.add_argument("--notebooks", type=Path, default=DEFAULT_DIR,
                        help=f"folder of NN_*.ipynb notebooks (default: {DEFAULT_DIR})")
    args = parser.parse_args(argv)
    folder = args.notebooks
    if not folder.is_dir():
        print(f"error: {folder} is not a folder", file=sys.stderr)
        return 2
    try:
        changes = plan(folder)
    except NavigationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if changes:
            print("stale (run python tools/navigation.py):")
            for path in changes:
                print(f"  {path.name}")
            return 1
        print(f"navigation and {INDEX_NAME} are up to date ({len(course_notebooks(folder))} notebooks)")
        return 0
    for path, new in changes.items():
        if isinstance(new, str):
            path.write_text(new, encoding="utf-8")
        else:
            write_notebook(path, new)
        print(f"updated {path.name}")
    if not changes:
        print("nothing to do: everything is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
