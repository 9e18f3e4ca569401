"""The Google Colab support that tools/navigation.py writes into every notebook: the setup cell
(a no-op outside Colab; in Colab it installs the course and fetches MovieLens) and the
"Open in Colab" links of the navigation lines. Colab itself is not run here (no internet):
its presence is simulated with a stand-in ``google.colab`` module."""

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import navigation  # noqa: E402
import notebook_files  # noqa: E402

from cflib.grade import child  # noqa: E402

REPO = navigation.repository()
SOURCE = navigation.colab_setup_source(REPO)
PAGES = [*notebook_files.course_notebooks(ROOT / "notebooks"),
         *notebook_files.course_notebooks(ROOT / "notebooks" / "exercises")]
COLAB_LINK = re.compile(r"\[Open in Colab\]\((https://colab\.research\.google\.com/github/"
                        r"([A-Za-z0-9-]+/[A-Za-z0-9._-]+)/blob/main/(notebooks/(?:exercises/)?\d\d_\w+\.ipynb))\)$")


def _cells(path):
    return notebook_files.read_notebook(path)["cells"]


# ------------------------------------------------------------ outside Colab
#: Runs the cell's code as a kernel would, with every way of starting a process refused, and
#: writes what the cell left behind to the file named by argv[1]; stdout is the cell's own.
WRAPPER = """\
import json, os, subprocess, sys
def refuse(*args, **kwargs):
    raise AssertionError(f"the setup cell started a process outside Colab: {args}")
subprocess.Popen = subprocess.run = os.system = refuse
before = set(sys.modules)
exec(compile(sys.stdin.read(), "<colab-setup>", "exec"), {"__name__": "__main__"})
with open(sys.argv[1], "w") as fh:
    json.dump({"data_dir": os.environ.get("CFLIB_DATA_DIR"),
               "new_modules": sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("cflib", "pip"))}, fh)
"""


def test_setup_cell_is_a_no_op_outside_colab(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CFLIB_DATA_DIR"}
    done = subprocess.run([sys.executable, "-c", WRAPPER, str(tmp_path / "left.json")], input=SOURCE,
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")  # strict nbval compares outputs: it must print nothing
    assert json.loads((tmp_path / "left.json").read_text()) == {"data_dir": None, "new_modules": []}
    assert list(tmp_path.iterdir()) == [tmp_path / "left.json"]  # nothing downloaded or written


def test_setup_cell_runs_as_plain_python():
    """No shell magics (``!pip``): a plain Python interpreter runs it, and so does the grader."""
    assert not re.search(r"^\s*[!%]", SOURCE, re.MULTILINE)
    compile(SOURCE, "<colab-setup>", "exec")


def test_grader_runs_only_the_import_of_the_setup_cell():
    """The grader's child keeps imports, definitions and constants of a submission: of this
    cell only ``import sys``; the ``if`` (installing, fetching) never runs there."""
    ns, problems = child.define([(1, SOURCE)])
    assert problems == []
    assert sorted(k for k in ns if not k.startswith("__")) == ["sys"]


# --------------------------------------------------------------- in Colab
@pytest.fixture
def in_colab(monkeypatch):
    """A stand-in ``google.colab`` module and a subprocess.run that records the commands."""
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setenv("CFLIB_DATA_DIR", "restored-after-the-test")
    commands, failing = [], set()

    def fake_run(args, **kwargs):
        commands.append(list(args))
        assert kwargs == {"capture_output": True, "text": True}
        failed = args[2] in failing
        out = "" if args[2] == "pip" else "MovieLens 100K is ready in /content/cflib-data/ml-100k (...)"
        return subprocess.CompletedProcess(args, 1 if failed else 0, stdout=out,
                                           stderr="network is unreachable" if failed else "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    return commands, failing


def test_setup_cell_in_colab_installs_the_course_and_fetches_movielens(in_colab, capsys):
    commands, _ = in_colab
    exec(compile(SOURCE, "<colab-setup>", "exec"), {"__name__": "__main__"})
    assert commands == [
        [sys.executable, "-m", "pip", "install", "--quiet", f"git+https://github.com/{REPO}"],
        [sys.executable, "-m", "cflib.datasets", "--no-progress"],
    ]
    assert os.environ["CFLIB_DATA_DIR"] == "/content/cflib-data"  # for the fetch and for the kernel's loads
    assert capsys.readouterr().out == "MovieLens 100K is ready in /content/cflib-data/ml-100k (...)\n"


def test_setup_cell_in_colab_stops_with_the_failing_command(in_colab):
    commands, failing = in_colab
    failing.add("pip")
    with pytest.raises(RuntimeError, match=r"python -m pip install --quiet git\+https://\S+ failed:\n"
                                           r"network is unreachable"):
        exec(compile(SOURCE, "<colab-setup>", "exec"), {"__name__": "__main__"})
    assert len(commands) == 1  # no fetch after a failed install


def test_the_fetch_command_of_the_setup_cell_works(movielens):
    """``python -m cflib.datasets --no-progress`` as the cell runs it (here the copy is present,
    so nothing is downloaded)."""
    done = subprocess.run([sys.executable, "-m", "cflib.datasets", "--no-progress"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("MovieLens 100K is ready in ")


# ------------------------------------------------------------ the notebooks
@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_every_notebook_has_the_setup_cell_first_and_a_colab_link_to_itself(page):
    cells = _cells(page)
    setup = [i for i, c in enumerate(cells) if notebook_files.is_colab_setup(c)]
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    assert len(setup) == 1 and setup[0] == code[0], "the setup cell is the first code cell, and only one"
    cell = cells[setup[0]]
    assert notebook_files.cell_source(cell) == SOURCE
    assert cell["outputs"] == []
    assert setup[0] == (1 if page.parent.name == "notebooks" else 2)  # after the navigation (and the note)
    nav = notebook_files.cell_source(cells[0])
    assert notebook_files.is_navigation(cells[0])
    match = COLAB_LINK.search(nav)
    assert match, f"no well-formed Open in Colab link at the end of {nav!r}"
    url, repo, path = match.groups()
    assert repo == REPO
    assert path == page.relative_to(ROOT).as_posix() and (ROOT / path).is_file()
    assert url == navigation.colab_url(REPO, page.name, student=page.parent.name == "exercises")
    assert nav.count("colab.research.google.com") == 1


def test_student_colab_links_only_change_course_notebook_links():
    prefix = f"https://colab.research.google.com/github/{REPO}/blob/main/notebooks/"
    text = f"[a]({prefix}02_cost.ipynb) [b]({prefix}index.ipynb) [c](https://example.org/notebooks/02_cost.ipynb)"
    assert navigation.student_colab_links(text, REPO) == (
        f"[a]({prefix}exercises/02_cost.ipynb) [b]({prefix}index.ipynb) "
        "[c](https://example.org/notebooks/02_cost.ipynb)")


# --------------------------------------------------------------- the setting
def _pyproject(tmp_path, body):
    path = tmp_path / "pyproject.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_repository_setting_is_read_from_pyproject(tmp_path):
    assert navigation.repository(_pyproject(tmp_path, '[tool.cflib]\nrepository = "me/my-course"\n')) == "me/my-course"
    assert re.fullmatch(r"[\w-]+/[\w.-]+", REPO)


@pytest.mark.parametrize("body", ["[project]\nname = 'x'\n", '[tool.cflib]\nrepository = "https://github.com/a/b"\n',
                                  '[tool.cflib]\nrepository = "a"\n', "[tool.cflib]\nrepository = 3\n"])
def test_a_missing_or_malformed_repository_setting_is_a_clear_error(tmp_path, body):
    with pytest.raises(navigation.NavigationError, match=r"\[tool.cflib\] repository must be .*owner/name"):
        navigation.repository(_pyproject(tmp_path, body))


def _course(folder):
    for number, name in (("00", "a"), ("01", "b")):
        nb = nbformat.v4.new_notebook()
        nb.metadata["cflib"] = {"summary": "what it teaches"}
        nb.cells = [nbformat.v4.new_markdown_cell(f"# Learn {name}"), nbformat.v4.new_code_cell("x = 1")]
        nbformat.write(nb, folder / f"{number}_{name}.ipynb")
    assert navigation.main(["--notebooks", str(folder)]) == 0
    assert navigation.main(["--notebooks", str(folder), "--check"]) == 0


def _edit(path, change):
    nb = notebook_files.read_notebook(path)
    change(nb["cells"])
    notebook_files.write_notebook(path, nb)


@pytest.mark.parametrize("change", [
    lambda cells: cells.pop(1),                                                  # missing
    lambda cells: cells[1].update(source="!pip install cflib"),                  # edited by hand
    lambda cells: cells.insert(3, cells.pop(1)),                                 # moved
    lambda cells: cells.insert(3, json.loads(json.dumps(cells[1]))),             # twice
], ids=["missing", "edited", "moved", "duplicated"])
def test_check_flags_a_stale_or_missing_setup_cell_and_the_tool_repairs_it(tmp_path, change):
    _course(tmp_path)
    path = tmp_path / "01_b.ipynb"
    good = path.read_bytes()
    _edit(path, change)
    assert navigation.main(["--notebooks", str(tmp_path), "--check"]) == 1
    assert navigation.main(["--notebooks", str(tmp_path)]) == 0
    assert path.read_bytes() == good


def test_another_repository_setting_makes_every_notebook_stale(tmp_path):
    _course(tmp_path)
    stale = navigation.plan(tmp_path, repo="someone/else")
    assert sorted(p.name for p in stale) == ["00_a.ipynb", "01_b.ipynb"]
    for nb in stale.values():
        assert "colab.research.google.com/github/someone/else/" in notebook_files.cell_source(nb["cells"][0])
        assert "git+https://github.com/someone/else" in notebook_files.cell_source(nb["cells"][1])
