"""Tests of tools/navigation.py: on a temporary folder, and --check on the repository."""

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("navigation", ROOT / "tools" / "navigation.py")
navigation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(navigation)


def _make(folder: Path, name: str, title: str, *, summary="what it teaches", minutes=10,
          short_title=None, with_meta=True):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if with_meta:
        nb.metadata["cflib"] = {"summary": summary, "minutes": minutes}
        if short_title:
            nb.metadata["cflib"]["short_title"] = short_title
    code = nbformat.v4.new_code_cell("print(1 + 1)", execution_count=7)
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nIntro."), code,
                nbformat.v4.new_markdown_cell("## 1. A section")]
    nbformat.write(nb, folder / name)
    return folder / name


@pytest.fixture
def course(tmp_path):
    _make(tmp_path, "00_ratings_data.ipynb", "Explore the ratings", summary="Y and R", minutes=20)
    _make(tmp_path, "01_low_rank_model.ipynb", "Model ratings as a product", minutes=25,
          short_title="Low-rank model")
    _make(tmp_path, "02_cost_function.ipynb", "Write the cost", summary="J three ways", minutes=30)
    (tmp_path / "notes.ipynb").write_text("not a course notebook")  # ignored: no NN_ prefix
    return tmp_path


def _run(folder, *extra):
    return navigation.main(["--notebooks", str(folder), *extra])


def _first_source(path):
    nb = nbformat.read(path, as_version=4)
    return nb.cells[0].source, nb


def test_writes_navigation_lines(course):
    assert _run(course, "--check") == 1
    assert _run(course) == 0
    first, nb = _first_source(course / "00_ratings_data.ipynb")
    assert first == "[Contents](index.ipynb) · [01 Low-rank model →](01_low_rank_model.ipynb)"
    assert nb.cells[0].metadata["tags"] == ["navigation"]
    middle, _ = _first_source(course / "01_low_rank_model.ipynb")
    assert middle == ("[← 00 Ratings data](00_ratings_data.ipynb) · [Contents](index.ipynb) · "
                      "[02 Cost function →](02_cost_function.ipynb)")
    last, _ = _first_source(course / "02_cost_function.ipynb")
    assert last == "[← 01 Low-rank model](01_low_rank_model.ipynb) · [Contents](index.ipynb)"
    for p in navigation.course_notebooks(course):
        nbformat.validate(nbformat.read(p, as_version=4))


def test_other_cells_outputs_and_counts_untouched(course):
    before = nbformat.read(course / "01_low_rank_model.ipynb", as_version=4)
    _run(course)
    after = nbformat.read(course / "01_low_rank_model.ipynb", as_version=4)
    assert len(after.cells) == len(before.cells) + 1
    for b, a in zip(before.cells, after.cells[1:]):
        assert a == b
    assert after.cells[2].execution_count == 7
    assert after.cells[2].outputs[0].text == "2\n"


def test_idempotent_and_check_passes(course):
    _run(course)
    snapshot = {p.name: p.read_bytes() for p in course.glob("*.ipynb")}
    assert _run(course, "--check") == 0
    assert _run(course) == 0
    assert {p.name: p.read_bytes() for p in course.glob("*.ipynb")} == snapshot
    # One navigation cell, never two.
    nb = nbformat.read(course / "02_cost_function.ipynb", as_version=4)
    assert sum("navigation" in c.metadata.get("tags", []) for c in nb.cells) == 1


def test_survives_nbformat_rewrite(course):
    """Executing or saving with nbformat (source as a list of lines) must not look stale."""
    _run(course)
    for p in list(course.glob("*.ipynb")):
        if p.name != "notes.ipynb":
            nbformat.write(nbformat.read(p, as_version=4), p)
    assert _run(course, "--check") == 0


def test_new_notebook_makes_links_stale_and_is_linked(course):
    _run(course)
    _make(course, "03_gradient.ipynb", "Derive the gradient", minutes=35)
    assert _run(course, "--check") == 1
    _run(course)
    last, _ = _first_source(course / "02_cost_function.ipynb")
    assert last.endswith("[03 Gradient →](03_gradient.ipynb)")
    index = (course / "index.ipynb").read_text(encoding="utf-8")
    assert "[Derive the gradient](03_gradient.ipynb)" in index


def test_stale_or_misplaced_navigation_cell_is_replaced(course):
    _run(course)
    path = course / "01_low_rank_model.ipynb"
    nb = nbformat.read(path, as_version=4)
    nav = nb.cells.pop(0)
    nav.source = "[old link](nowhere.ipynb)"
    nb.cells.insert(2, nav)  # moved and edited by hand
    nbformat.write(nb, path)
    assert _run(course, "--check") == 1
    _run(course)
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].source.startswith("[← 00 Ratings data]")
    assert sum("navigation" in c.metadata.get("tags", []) for c in nb.cells) == 1


def test_index_lists_titles_summaries_minutes(course):
    _run(course)
    nb = nbformat.read(course / "index.ipynb", as_version=4)
    nbformat.validate(nb)
    text = "\n".join(c.source for c in nb.cells)
    assert "| 00 | [Explore the ratings](00_ratings_data.ipynb) | Y and R | 20 |" in text
    assert "| 02 | [Write the cost](02_cost_function.ipynb) | J three ways | 30 |" in text
    assert "**75**" in text  # 20 + 25 + 30 minutes
    assert "](exercises/)" in text
    assert "## How to use this course" in text
    assert "notes.ipynb" not in text


def test_pipe_in_summary_does_not_break_the_table(tmp_path):
    _make(tmp_path, "00_a.ipynb", "A | B", summary="x | y")
    _run(tmp_path)
    text = "".join(nbformat.read(tmp_path / "index.ipynb", as_version=4).cells[1].source)
    assert "| 00 | [A \\| B](00_a.ipynb) | x \\| y | 10 |" in text


def test_index_edited_by_hand_is_stale(course):
    _run(course)
    path = course / "index.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"][0]["source"] = ["# Something else\n"]
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert _run(course, "--check") == 1


def test_missing_metadata_is_a_clear_error(tmp_path, capsys):
    _make(tmp_path, "00_a.ipynb", "A", with_meta=False)
    assert _run(tmp_path) == 2
    assert 'no "cflib" entry' in capsys.readouterr().err
    assert not (tmp_path / "index.ipynb").exists()


def test_missing_title_is_a_clear_error(tmp_path, capsys):
    path = _make(tmp_path, "00_a.ipynb", "A")
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = "No heading here."
    nbformat.write(nb, path)
    assert _run(tmp_path) == 2
    assert "no H1 title" in capsys.readouterr().err


def test_repository_is_up_to_date():
    folder = ROOT / "notebooks"
    if not navigation.course_notebooks(folder):
        pytest.skip("no course notebooks in the repository yet")
    assert navigation.main(["--check"]) == 0, "run: python tools/navigation.py"


def test_readme_table_between_markers(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _make(folder, "00_a.ipynb", "Learn A", summary="about a", minutes=7)
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- contents-table: generated by tools/navigation.py -->\nold\n"
                      "<!-- end contents-table -->\nafter\n")
    assert _run(folder) == 0
    text = readme.read_text()
    assert "| 00 | [Learn A](notebooks/00_a.ipynb) | about a | 7 |" in text
    assert "old" not in text and text.startswith("intro\n") and text.endswith("after\n")
    assert _run(folder, "--check") == 0
    readme.write_text("no markers\n")
    assert _run(folder) == 2
