"""Navigation lines and the contents pages of the course notebooks.

For every course notebook ``notebooks/NN_*.ipynb`` (in the order of their numbers) this
tool

* sets the first cell to a markdown navigation line, for example
  ``[← 01 Low-rank model](01_low_rank_model.ipynb) · [Contents](index.ipynb) · [03 Gradient →](03_gradient.ipynb)``,
  marked with the cell tag ``navigation`` (inserted if absent, replaced if present,
  moved to the top if it is elsewhere), ending in an "Open in Colab" link to the notebook
  on GitHub;
* sets the second cell to the Google Colab setup cell, tagged ``colab-setup``: only when
  the notebook runs in Colab, it installs the course from its GitHub repository and
  fetches MovieLens 100K into ``/content/cflib-data``; anywhere else it does nothing and
  prints nothing;
* (re)writes ``notebooks/index.ipynb``: the start page listing every notebook with its
  H1 title, its one-line summary, its number of exercises and its minutes, plus how to
  use the course;
* writes the same table into the repository ``README.md``, between the markers
  ``<!-- contents-table: ... -->`` and ``<!-- end contents-table -->``.

The student copies' contents page ``notebooks/exercises/index.ipynb`` is built by
:func:`build_student_index` here and written by ``tools/make_exercises.py``, with the
student copies it links.

What it reads from each notebook
--------------------------------
* the H1 title: the first markdown line starting with ``# `` outside the navigation cell;
* the notebook metadata ``cflib``: ``{"summary": str}`` and, optionally,
  ``"short_title": str`` (the label in navigation lines; default: built from the file
  name, ``02_cost_function.ipynb`` -> ``Cost function``);
* the minutes are derived from the cells by ``tools/study_time.py``. An old hand-written
  ``cflib.minutes`` entry is removed from the metadata.

Apart from that entry, only the navigation and Colab setup cells are ever changed: no other
cell, output or execution count is touched, and a notebook that is already up to date is not
rewritten.

The repository
--------------
Both the Colab links and the setup cell come from one setting, ``repository`` (``owner/name``
on GitHub) in the ``[tool.cflib]`` table of ``pyproject.toml``. Change it there when the
course is published under another name, then run ``make exercises``; ``--check`` reports
every notebook whose link or cell does not match it. The student copies' links point to
``notebooks/exercises/`` (:func:`student_colab_links`, applied by ``tools/make_exercises.py``).

Usage
-----
``python tools/navigation.py``            update the notebooks and the contents page
``python tools/navigation.py --check``    exit 1 and list what is stale; change nothing
``python tools/navigation.py --notebooks DIR``   work on another folder (used by the tests)
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:  # the shared tool modules sit next to this file
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebook_files as nbf  # noqa: E402
import study_time  # noqa: E402

NAV_CELL_ID = "navigation"
COLAB_CELL_ID = "colab-setup"
GENERATED_BY = "tools/navigation.py"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "notebooks"
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
#: Where the notebooks live in the repository, and the branch the Colab links open.
NOTEBOOKS_PATH = "notebooks"
BRANCH = "main"
COLAB_DATA_DIR = "/content/cflib-data"
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
TITLE = "Low-rank matrix factorization for collaborative filtering"

HOW_TO_USE = """\
## How to use this course

1. Work through the notebooks in order: each one builds on the previous one and links
   to its neighbours on its first line.
2. Every notebook derives an idea, shows it on a small example you can see whole, then
   imports the tested function from `cflib` and applies it to MovieLens. Read the
   derivations with a pen; re-run the cells and change the numbers.
3. Each notebook ends with a `## Summary` and `## Exercises`. The notebooks in this
   folder contain the solutions. To practise, open the
   [student copies](exercises/index.ipynb): the same notebooks with the solutions
   removed. In each exercise you write a function; the cell after it checks your
   function with `cflib.checks` and prints one line: pass, or what is wrong and a hint.
   If your function is not ready yet, the check hands back the `cflib` version so that
   the rest of the notebook still runs.
4. The data: MovieLens 100K. `make lab` fetches it once into `data/`; offline, put
   `ml-100k.zip` there, or set `CFLIB_DATA_DIR` to a folder that holds `ml-100k/`
   (see the repository README).
"""

HOW_TO_EXERCISE = """\
## How to work on an exercise

1. Work through the notebooks in order. The navigation line at the top of each one links
   the neighbouring student copies and this page.
2. Write your code where a cell says `# YOUR CODE HERE`, and delete the line
   `raise NotImplementedError` under it. Written answers go where it says *Your answer here.*
3. Run the cell after your function: it checks your function with `cflib.checks` and
   prints one line, pass, or what is wrong and a hint. Until your function passes, the
   later cells run with the `cflib` version instead, and say so.
4. Each notebook starts with a note linking its solution notebook; the solutions are
   listed on the [course contents page](../index.ipynb).
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
def h1_title(nb: dict, path: Path) -> str:
    """The text of the first ``# `` heading outside the navigation cell."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown" or nbf.is_navigation(cell):
            continue
        for line in nbf.cell_source(cell).splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    raise NavigationError(f"{path.name}: no H1 title (a markdown line starting with '# ')")


def summary(nb: dict, path: Path) -> str:
    """The one-line summary in the notebook metadata ``cflib.summary``."""
    meta = nb.get("metadata", {}).get("cflib")
    if not isinstance(meta, dict):
        raise NavigationError(
            f'{path.name}: notebook metadata has no "cflib" entry; add '
            '{"cflib": {"summary": "<one line: what the notebook teaches>"}}'
        )
    text = meta.get("summary")
    if not isinstance(text, str) or not text.strip():
        raise NavigationError(f"{path.name}: metadata cflib.summary must be a non-empty string "
                              "(one line: what the notebook teaches)")
    return text.strip()


def short_label(nb: dict, path: Path) -> str:
    """``"02 Cost function"``: the number and a short title for navigation links."""
    number, stem = nbf.NOTEBOOK_RE.match(path.name).groups()
    short = nb.get("metadata", {}).get("cflib", {}).get("short_title")
    if not short:
        words = stem.replace("_", " ").strip()
        short = words[:1].upper() + words[1:]
    return f"{number} {short}"


def contents_entries(paths: list[Path], notebooks: list[dict]) -> list[dict]:
    """One entry per notebook: file name, title, summary, number of exercises and minutes."""
    entries = []
    for path, nb in zip(paths, notebooks):
        work = study_time.workload(nb)
        entries.append({"name": path.name, "title": h1_title(nb, path), "summary": summary(nb, path),
                        "exercises": work.exercises, "minutes": work.minutes})
    return entries


def read_course(folder: Path) -> tuple[list[Path], list[dict]]:
    """The course notebooks of ``folder`` and their contents, in course order."""
    paths = nbf.course_notebooks(folder)
    return paths, [nbf.read_notebook(p) for p in paths]


def repository(pyproject: Path = PYPROJECT) -> str:
    """The GitHub repository ``owner/name``: ``[tool.cflib] repository`` in ``pyproject``."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise NavigationError("reading pyproject.toml needs Python 3.11+ or the package tomli "
                                  "(pip install tomli)") from None
    try:
        with open(pyproject, "rb") as fh:
            value = tomllib.load(fh).get("tool", {}).get("cflib", {}).get("repository")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise NavigationError(f"cannot read {pyproject}: {exc}") from None
    if not isinstance(value, str) or not _REPOSITORY.match(value):
        raise NavigationError(f'{pyproject.name}: [tool.cflib] repository must be the GitHub repository as '
                              f'"owner/name" (e.g. "cflib-course/cflib-course"), got {value!r}')
    return value


# ------------------------------------------------------------- building
def colab_url(repo: str, name: str, student: bool = False) -> str:
    """The address that opens notebook ``name`` (its student copy if ``student``) of GitHub
    repository ``repo`` in Google Colab."""
    folder = f"{NOTEBOOKS_PATH}/{nbf.EXERCISES_DIR}" if student else NOTEBOOKS_PATH
    return f"https://colab.research.google.com/github/{repo}/blob/{BRANCH}/{folder}/{name}"


def student_colab_links(text: str, repo: str | None = None) -> str:
    """``text`` with its Colab links to solution notebooks turned into links to their
    student copies (for ``tools/make_exercises.py``)."""
    prefix = colab_url(repo or repository(), "")
    pattern = re.escape(prefix) + r"(?=\d\d_[A-Za-z0-9_]+\.ipynb)"
    return re.sub(pattern, lambda _: prefix + nbf.EXERCISES_DIR + "/", text)


def colab_setup_source(repo: str) -> str:
    """The code of the Colab setup cell: a no-op that prints nothing unless ``google.colab``
    is imported (as it is in every Colab kernel)."""
    return f"""\
# Google Colab only: install the course library cflib and fetch MovieLens 100K.
# Anywhere else (JupyterLab after `make lab`) this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    os.environ["CFLIB_DATA_DIR"] = "{COLAB_DATA_DIR}"
    for command in (["pip", "install", "--quiet", "git+https://github.com/{repo}"],
                    ["cflib.datasets", "--no-progress"]):
        done = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"python -m {{' '.join(command)}} failed:\\n{{done.stderr}}")
    print(done.stdout.strip())"""


def navigation_line(labels: list[str], names: list[str], pos: int, repo: str | None = None) -> str:
    """Markdown ``[← prev](…) · [Contents](index.ipynb) · [next →](…) · [Open in Colab](…)``
    for notebook ``pos`` (no Colab link without ``repo``)."""
    parts = []
    if pos > 0:
        parts.append(f"[← {labels[pos - 1]}]({names[pos - 1]})")
    parts.append(f"[Contents]({nbf.INDEX_NAME})")
    if pos < len(names) - 1:
        parts.append(f"[{labels[pos + 1]} →]({names[pos + 1]})")
    if repo:
        parts.append(f"[Open in Colab]({colab_url(repo, names[pos])})")
    return " · ".join(parts)


def _nav_cell(nb: dict, line: str) -> dict:
    cell = {"cell_type": "markdown", "metadata": {"tags": [nbf.NAV_TAG]}, "source": nbf.source_lines(line)}
    if nbf.has_cell_ids(nb):
        cell["id"] = NAV_CELL_ID
    return cell


def _colab_cell(nb: dict, repo: str) -> dict:
    """The Colab setup cell; never run here, so no outputs and no execution count."""
    cell = {"cell_type": "code", "execution_count": None, "metadata": {"tags": [nbf.COLAB_TAG]},
            "outputs": [], "source": nbf.source_lines(colab_setup_source(repo))}
    if nbf.has_cell_ids(nb):
        cell["id"] = COLAB_CELL_ID
    return cell


def with_navigation(nb: dict, line: str, repo: str | None = None) -> dict:
    """A copy of ``nb`` whose first cell is the navigation line and, given ``repo``, whose
    second is the Colab setup cell, without a hand-written ``cflib.minutes``; other cells
    untouched."""
    cells = [c for c in nb.get("cells", []) if not (nbf.is_navigation(c) or nbf.is_colab_setup(c))]
    new = dict(nb)
    new["cells"] = [_nav_cell(nb, line)] + ([_colab_cell(nb, repo)] if repo else []) + cells
    meta = nb.get("metadata", {})
    if isinstance(meta.get("cflib"), dict) and "minutes" in meta["cflib"]:
        new["metadata"] = copy.deepcopy(meta)
        del new["metadata"]["cflib"]["minutes"]
    return new


def _md(text: str, cell_id: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": nbf.source_lines(text)}


def contents_rows(entries: list[dict], link_prefix: str = "") -> list[str]:
    """The contents table as markdown lines; links are ``link_prefix + name``."""
    rows = [
        "| | Notebook | What you will learn | Exercises | Minutes |",
        "|---|---|---|---|---|",
    ]
    for e in entries:
        number = e["name"][:2]
        title, text = (e[key].replace("|", "\\|") for key in ("title", "summary"))  # keep the table intact
        rows.append(f"| {number} | [{title}]({link_prefix}{e['name']}) | {text} | {e['exercises']} "
                    f"| {e['minutes']} |")
    rows.append(f"| | **Total** | | **{sum(e['exercises'] for e in entries)}** "
                f"| **{sum(e['minutes'] for e in entries)}** |")
    return rows


def contents_table(entries: list[dict], link_prefix: str = "") -> str:
    """The contents table and, under it, how its minutes are estimated."""
    return "\n".join(contents_rows(entries, link_prefix)) + "\n\n" + study_time.rule()


README_START = "<!-- contents-table: generated by tools/navigation.py -->"
README_END = "<!-- end contents-table -->"


def readme_with_contents(text: str, entries: list[dict], folder_name: str) -> str:
    """``text`` (the repository README) with the table between its markers replaced."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise NavigationError(f"README.md lacks the markers {README_START!r} ... {README_END!r}")
    table = contents_table(entries, link_prefix=f"{folder_name}/")
    return text[: start + len(README_START)] + "\n" + table + "\n" + text[end:]


def _page(cells: list[dict], kernelspec: dict | None, generated_by: str) -> dict:
    metadata = {"language_info": {"name": "python"}, "cflib": {"generated_by": generated_by}}
    if kernelspec:
        metadata["kernelspec"] = kernelspec
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def build_index(entries: list[dict], kernelspec: dict | None) -> dict:
    """The contents notebook of the solution notebooks, from ``entries``."""
    intro = (
        f"# {TITLE}\n\n"
        "A hands-on course: from the MovieLens ratings matrix to a trained recommender, "
        "deriving every formula, checking every gradient and writing the key functions "
        "yourself. Start with the first notebook and follow the navigation line at the top "
        "of each one."
    )
    exercises = (
        "## Exercises\n\n"
        f"Student copies of the notebooks, with the solutions removed, are in `{nbf.EXERCISES_DIR}/`, "
        f"listed on their own [contents page]({nbf.EXERCISES_DIR}/{nbf.INDEX_NAME}). Each has the same "
        "file name as its solution notebook listed above; the check cells tell you when your function "
        "is right."
    )
    return _page([
        _md(intro, "title"),
        _md("## Contents\n\n" + contents_table(entries) + "\n", "contents"),
        _md(HOW_TO_USE, "how-to-use"),
        _md(exercises, "exercises"),
        _md(GLOSSARY, "notation"),
    ], kernelspec, GENERATED_BY)


def build_student_index(entries: list[dict], kernelspec: dict | None, generated_by: str) -> dict:
    """The contents notebook of the student copies (``exercises/index.ipynb``): the same
    table, linking the student copies next to it."""
    intro = (
        f"# Exercises: {TITLE}\n\n"
        "The student copies of the course notebooks: the same notebooks with the solutions "
        "removed, for you to write the key functions yourself. Start with the first one and "
        "follow the navigation line at the top of each. The notebooks with the solutions are "
        f"listed on the [course contents page](../{nbf.INDEX_NAME})."
    )
    return _page([
        _md(intro, "title"),
        _md("## Contents\n\n" + contents_table(entries) + "\n", "contents"),
        _md(HOW_TO_EXERCISE, "how-to-exercise"),
        _md(GLOSSARY, "notation"),
    ], kernelspec, generated_by)


def is_generated_index(path: Path) -> bool:
    """Whether ``path`` is a contents page written by this tool."""
    if not path.is_file():
        return False
    try:
        meta = nbf.read_notebook(path).get("metadata", {}).get("cflib", {})
    except ValueError:
        return False
    return isinstance(meta, dict) and meta.get("generated_by") == GENERATED_BY


def kernelspec_of(notebooks: list[dict]) -> dict | None:
    """The kernelspec the contents pages carry: the first notebook's."""
    return notebooks[0].get("metadata", {}).get("kernelspec") if notebooks else None


# ----------------------------------------------------------------- main
def plan(folder: Path, repo: str | None = None) -> dict[Path, dict | str]:
    """Every file that should change, mapped to its new content (empty if all is up to date).

    ``repo``: the GitHub repository of the Colab links and setup cells; default
    :func:`repository`."""
    repo = repo or repository()
    paths, notebooks = read_course(folder)
    labels = [short_label(nb, p) for nb, p in zip(notebooks, paths)]
    names = [p.name for p in paths]
    entries = contents_entries(paths, notebooks)
    changes: dict[Path, dict | str] = {}
    for pos, (path, nb) in enumerate(zip(paths, notebooks)):
        new = with_navigation(nb, navigation_line(labels, names, pos, repo), repo)
        if nbf.normalized(new) != nbf.normalized(nb):
            changes[path] = new
    index_path = folder / nbf.INDEX_NAME
    index = build_index(entries, kernelspec_of(notebooks))
    if not index_path.exists() or nbf.normalized(nbf.read_notebook(index_path)) != nbf.normalized(index):
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
    except (NavigationError, nbf.NotebookNameError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if changes:
            print("stale (run `make navigation`, i.e. python tools/navigation.py):")
            for path in changes:
                print(f"  {path.name}")
            return 1
        print(f"navigation and {nbf.INDEX_NAME} are up to date ({len(nbf.course_notebooks(folder))} notebooks)")
        return 0
    for path, new in changes.items():
        if isinstance(new, str):
            path.write_text(new, encoding="utf-8")
        else:
            nbf.write_notebook(path, new)
        print(f"updated {path.name}")
    if not changes:
        print("nothing to do: everything is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
