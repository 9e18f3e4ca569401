"""Tests of tools/navigation.py and tools/study_time.py: on temporary folders, and --check
on the repository; plus the student copies' contents page that tools/make_exercises.py writes."""

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import make_exercises  # noqa: E402
import navigation  # noqa: E402
import notebook_files  # noqa: E402
import study_time  # noqa: E402

#: What ``_make`` puts in a notebook besides its title: 7 words of prose and one code cell.
SMALL = study_time.Workload(words=7, code_cells=1, functions=0, tasks=0, questions=0, experiments=0)


def _make(folder: Path, name: str, title: str, *, summary="what it teaches", minutes=None,
          short_title=None, with_meta=True, extra_cells=()):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if with_meta:
        nb.metadata["cflib"] = {"summary": summary}
        if minutes is not None:  # the old hand-written entry
            nb.metadata["cflib"]["minutes"] = minutes
        if short_title:
            nb.metadata["cflib"]["short_title"] = short_title
    code = nbformat.v4.new_code_cell("print(1 + 1)", execution_count=7)
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nIntro."), code,
                nbformat.v4.new_markdown_cell("## 1. A section"), *extra_cells]
    nbformat.write(nb, folder / name)
    return folder / name


@pytest.fixture
def course(tmp_path):
    _make(tmp_path, "00_ratings_data.ipynb", "Explore the ratings", summary="Y and R", minutes=20)
    _make(tmp_path, "01_low_rank_model.ipynb", "Model ratings as a product", short_title="Low-rank model")
    _make(tmp_path, "02_cost_function.ipynb", "Write the cost", summary="J three ways")
    (tmp_path / "notes.ipynb").write_text("not a course notebook")  # ignored: no NN_ prefix
    return tmp_path


def _colab(name, student=False):
    """`` · [Open in Colab](…)``: the end of every navigation line."""
    return f" · [Open in Colab]({navigation.colab_url(navigation.repository(), name, student)})"


def _run(folder, *extra):
    return navigation.main(["--notebooks", str(folder), *extra])


def _first_source(path):
    nb = nbformat.read(path, as_version=4)
    return nb.cells[0].source, nb


def _index_text(path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)


# ------------------------------------------------------------ navigation
def test_writes_navigation_lines(course):
    assert _run(course, "--check") == 1
    assert _run(course) == 0
    first, nb = _first_source(course / "00_ratings_data.ipynb")
    assert first == ("[Contents](index.ipynb) · [01 Low-rank model →](01_low_rank_model.ipynb)"
                     + _colab("00_ratings_data.ipynb"))
    assert nb.cells[0].metadata["tags"] == ["navigation"]
    assert nb.cells[1].metadata["tags"] == ["colab-setup"] and nb.cells[1].cell_type == "code"
    middle, _ = _first_source(course / "01_low_rank_model.ipynb")
    assert middle == ("[← 00 Ratings data](00_ratings_data.ipynb) · [Contents](index.ipynb) · "
                      "[02 Cost function →](02_cost_function.ipynb)" + _colab("01_low_rank_model.ipynb"))
    last, _ = _first_source(course / "02_cost_function.ipynb")
    assert last == ("[← 01 Low-rank model](01_low_rank_model.ipynb) · [Contents](index.ipynb)"
                    + _colab("02_cost_function.ipynb"))
    for p in notebook_files.course_notebooks(course):
        nbformat.validate(nbformat.read(p, as_version=4))


def test_other_cells_outputs_and_counts_untouched(course):
    before = nbformat.read(course / "01_low_rank_model.ipynb", as_version=4)
    _run(course)
    after = nbformat.read(course / "01_low_rank_model.ipynb", as_version=4)
    assert len(after.cells) == len(before.cells) + 2  # the navigation line and the Colab setup cell
    for b, a in zip(before.cells, after.cells[2:]):
        assert a == b
    assert after.cells[3].execution_count == 7
    assert after.cells[3].outputs[0].text == "2\n"
    assert after.metadata == before.metadata


def test_hand_written_minutes_are_removed_from_the_metadata(course):
    _run(course)
    meta = nbformat.read(course / "00_ratings_data.ipynb", as_version=4).metadata["cflib"]
    assert meta == {"summary": "Y and R"}
    assert "| 00 | [Explore the ratings](00_ratings_data.ipynb) | Y and R | 0 | 5 |" in _index_text(
        course / "index.ipynb")  # derived, not the 20 that was written by hand


def test_idempotent_and_check_passes(course):
    _run(course)
    snapshot = {p.name: p.read_bytes() for p in course.glob("*.ipynb")}
    assert _run(course, "--check") == 0
    assert _run(course) == 0
    assert {p.name: p.read_bytes() for p in course.glob("*.ipynb")} == snapshot
    nb = nbformat.read(course / "02_cost_function.ipynb", as_version=4)
    assert sum("navigation" in c.metadata.get("tags", []) for c in nb.cells) == 1  # never two


def test_survives_nbformat_rewrite(course):
    """Executing or saving with nbformat (source as a list of lines) must not look stale."""
    _run(course)
    for p in list(course.glob("*.ipynb")):
        if p.name != "notes.ipynb":
            nbformat.write(nbformat.read(p, as_version=4), p)
    assert _run(course, "--check") == 0


def test_new_notebook_makes_links_stale_and_is_linked(course):
    _run(course)
    _make(course, "03_gradient.ipynb", "Derive the gradient")
    assert _run(course, "--check") == 1
    _run(course)
    last, _ = _first_source(course / "02_cost_function.ipynb")
    assert last.endswith("[03 Gradient →](03_gradient.ipynb)" + _colab("02_cost_function.ipynb"))
    assert "[Derive the gradient](03_gradient.ipynb)" in _index_text(course / "index.ipynb")


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


def test_index_lists_titles_summaries_exercises_minutes(course):
    _make(course, "03_gradient.ipynb", "Derive the gradient", extra_cells=[
        nbformat.v4.new_markdown_cell("**Exercise 1.** Write `f`."),
        nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
        nbformat.v4.new_markdown_cell("**Exercise 2 (think).** Why?"),
    ])
    _run(course)
    nb = nbformat.read(course / "index.ipynb", as_version=4)
    nbformat.validate(nb)
    text = _index_text(course / "index.ipynb")
    assert "| 00 | [Explore the ratings](00_ratings_data.ipynb) | Y and R | 0 | 5 |" in text
    assert "| 02 | [Write the cost](02_cost_function.ipynb) | J three ways | 0 | 5 |" in text
    # 03: 7 + 5 + 4 words, 2 code cells, one function (6), one question (3): 11.1 minutes -> 10
    assert "| 03 | [Derive the gradient](03_gradient.ipynb) | what it teaches | 2 | 10 |" in text
    assert "| | **Total** | | **2** | **25** |" in text
    assert study_time.rule() in text
    assert "](exercises/index.ipynb)" in text
    assert "## How to use this course" in text
    assert "notes.ipynb" not in text


def test_pipe_in_summary_does_not_break_the_table(tmp_path):
    _make(tmp_path, "00_a.ipynb", "A | B", summary="x | y")
    _run(tmp_path)
    text = "".join(nbformat.read(tmp_path / "index.ipynb", as_version=4).cells[1].source)
    assert "| 00 | [A \\| B](00_a.ipynb) | x \\| y | 0 | 5 |" in text


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
    err = capsys.readouterr().err
    assert 'no "cflib" entry' in err and '"summary"' in err
    assert not (tmp_path / "index.ipynb").exists()


def test_missing_title_is_a_clear_error(tmp_path, capsys):
    path = _make(tmp_path, "00_a.ipynb", "A")
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = "No heading here."
    nbformat.write(nb, path)
    assert _run(tmp_path) == 2
    assert "no H1 title" in capsys.readouterr().err


def test_two_notebooks_with_one_number_are_a_clear_error(tmp_path, capsys):
    _make(tmp_path, "09_ranking.ipynb", "Rank")
    _make(tmp_path, "09_spark.ipynb", "Spark")
    assert _run(tmp_path) == 2
    assert "09_ranking.ipynb and 09_spark.ipynb share the number 09" in capsys.readouterr().err
    assert make_exercises.main(["--notebooks", str(tmp_path)]) == 2
    assert not (tmp_path / "index.ipynb").exists()


def test_readme_table_between_markers(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _make(folder, "00_a.ipynb", "Learn A", summary="about a")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- contents-table: generated by tools/navigation.py -->\nstale table\n"
                      "<!-- end contents-table -->\nafter\n")
    assert _run(folder) == 0
    text = readme.read_text()
    assert "| 00 | [Learn A](notebooks/00_a.ipynb) | about a | 0 | 5 |" in text
    assert study_time.rule() in text
    assert "stale table" not in text and text.startswith("intro\n") and text.endswith("after\n")
    assert _run(folder, "--check") == 0
    readme.write_text("no markers\n")
    assert _run(folder) == 2


# ------------------------------------------------------------ study time
def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.from_dict(c) for c in cells]
    return json.loads(nbformat.writes(nb))


md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
REGION = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"


def test_workload_counts_each_kind_of_work():
    nb = _notebook(
        md("[Contents](index.ipynb) · [next](01_a.ipynb)", metadata={"tags": ["navigation"]}),  # not read
        md("# Title\n\none two three four"),                        # 6 words
        code("x = 1"), code("   \n"),                               # one cell; an empty one is no work
        md("Write `f`.\n\n<!-- BEGIN SOLUTION -->\nthe answer is long and hidden\n<!-- END SOLUTION -->"),
        code(REGION),                                               # an in-text function: 6 min
        md("## Exercises\n\n**Exercise 1.** Write `g`."),          # followed by a prepared cell
        code(REGION.replace("f", "g")),
        md("**Exercise 2.** Train it.\n\n**Exercise 3 (think).** Why?\n\n*Try:* move k."),
        code("print('the answer, solution only')", metadata={"tags": ["solution"]}),  # not in the copy
        md("**Exercise 4.** Time it."),                            # last: a task
    )
    work = study_time.workload(nb)
    assert work == study_time.Workload(words=6 + 2 + 6 + 11 + 4, code_cells=3, functions=2, tasks=2,
                                       questions=1, experiments=1)
    assert work.exercises == 5
    expected = (29 / study_time.WORDS_PER_MINUTE + 3 * study_time.PER_CODE_CELL
                + 2 * study_time.PER_FUNCTION + 2 * study_time.PER_TASK + study_time.PER_QUESTION
                + study_time.PER_EXPERIMENT)
    assert work.exact_minutes == pytest.approx(expected)
    assert work.minutes == 5 * round(expected / 5) == 35


@pytest.mark.parametrize("extra, field, per", [
    (code("y = 2"), "code_cells", study_time.PER_CODE_CELL),
    (code(REGION), "functions", study_time.PER_FUNCTION + study_time.PER_CODE_CELL),  # a cell too
    (md("**Exercise 9.** Plot the curve."), "tasks", study_time.PER_TASK),
    (md("**Exercise 9 (think).** Why?"), "questions", study_time.PER_QUESTION),
    (md("*Try:* move the slider."), "experiments", study_time.PER_EXPERIMENT),
])
def test_each_kind_of_work_adds_its_minutes(extra, field, per):
    base = _notebook(md("# T\n\n" + "word " * 300), code("x = 1"))
    more = _notebook(*base["cells"], extra)
    before, after = study_time.workload(base), study_time.workload(more)
    assert getattr(after, field) == getattr(before, field) + 1
    words = after.words - before.words
    assert after.exact_minutes - before.exact_minutes == pytest.approx(per + words / study_time.WORDS_PER_MINUTE)


def test_minutes_round_to_five_and_never_zero():
    assert study_time.Workload(0, 0, 0, 0, 0, 0).minutes == 5
    assert study_time.Workload(0, 12, 0, 0, 0, 0).minutes == 10   # 12 -> 10
    assert study_time.Workload(0, 13, 0, 0, 0, 0).minutes == 15   # 13 -> 15
    assert study_time.Workload(1500, 0, 0, 0, 0, 0).minutes == 10  # 1500 words at 150 a minute


def test_repository_minutes_count_the_coding_exercises_of_05_06_07():
    """The hand-written 45, 45 and 40 minutes ignored that these notebooks hold four to six
    coding exercises each; the derived minutes include them."""
    old = {"05_training.ipynb": 45, "06_evaluation_and_tuning.ipynb": 45, "07_recommendations.ipynb": 40}
    for name, hand_written in old.items():
        work = study_time.workload(notebook_files.read_notebook(ROOT / "notebooks" / name))
        assert work.functions + work.tasks >= 4, name
        exercise_minutes = study_time.PER_FUNCTION * work.functions + study_time.PER_TASK * work.tasks
        assert work.minutes >= exercise_minutes + work.words / study_time.WORDS_PER_MINUTE - 2.5, name
        assert work.minutes > hand_written, name


def test_repository_contents_pages_show_the_derived_minutes():
    folder = ROOT / "notebooks"
    rows = {}
    for page in (folder / "index.ipynb", folder / "exercises" / "index.ipynb"):
        for number, exercises, minutes in re.findall(r"^\| (\d\d) \| .* \| (\d+) \| (\d+) \|$",
                                                     _index_text(page), re.MULTILINE):
            rows.setdefault(number, set()).add((int(exercises), int(minutes)))
    paths = notebook_files.course_notebooks(folder)
    assert sorted(rows) == [p.name[:2] for p in paths]
    for p in paths:
        work = study_time.workload(notebook_files.read_notebook(p))
        assert rows[p.name[:2]] == {(work.exercises, work.minutes)}, p.name


# ------------------------------------------------- the student copies' contents page
@pytest.fixture
def long_course(tmp_path):
    """Notebooks past 08, as the new chapters bring them: 07 to 12."""
    for number, topic in [("07", "recommendations"), ("08", "explorer"), ("09", "top_n_ranking"),
                          ("10", "implicit_feedback"), ("11", "bayesian_mf"), ("12", "spark")]:
        _make(tmp_path, f"{number}_{topic}.ipynb", f"Learn {topic}", extra_cells=[
            md("**Exercise 1.** Write `f`. See [the contents](index.ipynb) and [the next](12_spark.ipynb)."),
            code(REGION)])
    return tmp_path


def test_adding_notebooks_past_08_is_make_navigation_then_make_exercises(long_course):
    assert _run(long_course) == 0
    assert make_exercises.main(["--notebooks", str(long_course)]) == 0
    assert _run(long_course, "--check") == 0
    assert make_exercises.main(["--notebooks", str(long_course), "--check"]) == 0
    nav, _ = _first_source(long_course / "10_implicit_feedback.ipynb")
    assert nav == ("[← 09 Top n ranking](09_top_n_ranking.ipynb) · [Contents](index.ipynb) · "
                   "[11 Bayesian mf →](11_bayesian_mf.ipynb)" + _colab("10_implicit_feedback.ipynb"))
    text = _index_text(long_course / "index.ipynb")
    assert text.index("| 09 | [") < text.index("| 10 | [") < text.index("| 12 | [Learn spark](12_spark.ipynb)")
    student = long_course / "exercises"
    assert sorted(p.name for p in student.iterdir()) == ["07_recommendations.ipynb", "08_explorer.ipynb",
                                                         "09_top_n_ranking.ipynb", "10_implicit_feedback.ipynb",
                                                         "11_bayesian_mf.ipynb", "12_spark.ipynb", "index.ipynb"]
    # a thirteenth chapter: both tools report stale until both have run
    _make(long_course, "13_more.ipynb", "Learn more")
    assert _run(long_course, "--check") == 1
    assert make_exercises.main(["--notebooks", str(long_course), "--check"]) == 1
    _run(long_course)
    make_exercises.main(["--notebooks", str(long_course)])
    assert "[Learn more](13_more.ipynb)" in _index_text(student / "index.ipynb")


def test_student_copies_link_their_own_contents_page(long_course):
    _run(long_course)
    make_exercises.main(["--notebooks", str(long_course)])
    student = long_course / "exercises"
    nav, _ = _first_source(student / "09_top_n_ranking.ipynb")
    assert nav == ("[← 08 Explorer](08_explorer.ipynb) · [Contents](index.ipynb) · "
                   "[10 Implicit feedback →](10_implicit_feedback.ipynb)"
                   + _colab("09_top_n_ranking.ipynb", student=True))
    assert "[the contents](index.ipynb) and [the next](12_spark.ipynb)" in _index_text(student / "09_top_n_ranking.ipynb")
    page = nbformat.read(student / "index.ipynb", as_version=4)
    nbformat.validate(page)
    assert page.metadata["cflib"] == {"generated_by": "tools/make_exercises.py"}
    text = _index_text(student / "index.ipynb")
    assert text.startswith("# Exercises: ")
    assert "| 09 | [Learn top_n_ranking](09_top_n_ranking.ipynb) | what it teaches | 1 |" in text
    assert "[course contents page](../index.ipynb)" in text and "# YOUR CODE HERE" in text
    # the solutions' contents page points here
    assert "](exercises/index.ipynb)" in _index_text(long_course / "index.ipynb")


def test_student_contents_page_edited_by_hand_is_stale(long_course, capsys):
    _run(long_course)
    make_exercises.main(["--notebooks", str(long_course)])
    page = long_course / "exercises" / "index.ipynb"
    page.write_text(page.read_text(encoding="utf-8").replace("Learn spark", "Learn Spark"), encoding="utf-8")
    capsys.readouterr()
    assert make_exercises.main(["--notebooks", str(long_course), "--check"]) == 1
    assert "index.ipynb: differs" in capsys.readouterr().out


def test_without_a_generated_contents_page_copies_link_one_level_up(long_course):
    """No contents page of navigation.py next to the solutions: no student one, and the link goes up."""
    make_exercises.main(["--notebooks", str(long_course)])
    student = long_course / "exercises"
    assert not (student / "index.ipynb").exists()
    assert "[the contents](../index.ipynb)" in _index_text(student / "09_top_n_ranking.ipynb")


def test_one_notebook_at_a_time(long_course, capsys):
    _run(long_course)
    assert make_exercises.main(["--notebooks", str(long_course), "11_bayesian_mf.ipynb"]) == 0
    assert [p.name for p in (long_course / "exercises").iterdir()] == ["11_bayesian_mf.ipynb"]
    assert make_exercises.main(["--notebooks", str(long_course), "11_bayesian_mf.ipynb", "--check"]) == 0
    assert make_exercises.main(["--notebooks", str(long_course), "--check"]) == 1  # the others are missing
    capsys.readouterr()
    assert make_exercises.main(["--notebooks", str(long_course), "99_nothing.ipynb"]) == 2
    assert "not a solution notebook" in capsys.readouterr().err


def test_make_exercises_warns_when_navigation_is_stale(long_course, capsys):
    _run(long_course)
    _make(long_course, "13_more.ipynb", "Learn more")  # added, make navigation forgotten
    capsys.readouterr()
    assert make_exercises.main(["--notebooks", str(long_course)]) == 0
    err = capsys.readouterr().err
    assert "run `make navigation` first" in err and "13_more.ipynb" in err and "index.ipynb" in err


# ------------------------------------------------------------ the repository
def test_repository_is_up_to_date():
    folder = ROOT / "notebooks"
    if not notebook_files.course_notebooks(folder):
        pytest.skip("no course notebooks in the repository yet")
    assert navigation.main(["--check"]) == 0, "run: make navigation"
    assert make_exercises.main(["--check"]) == 0, "run: make exercises"


_LINK = re.compile(r"!?\[[^\]\n]*\]\((<[^>\n]*>|[^)\s]+)(?:\s+\"[^\"\n]*\")?\)")


def _relative_targets(text: str):
    for target in _LINK.findall(text):
        target = target.strip("<>")
        if target.startswith(("#", "/")) or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
            continue
        path = re.split(r"[#?]", target, maxsplit=1)[0]
        if path:
            yield path


def test_every_relative_link_in_the_course_resolves():
    """Navigation lines, contents pages, prose links of the solutions and the student copies,
    and the README: every relative link leads to a file or folder that exists."""
    folder = ROOT / "notebooks"
    pages = [*folder.glob("*.ipynb"), *(folder / "exercises").glob("*.ipynb")]
    assert (folder / "exercises" / "index.ipynb") in pages
    broken = []
    for page in pages:
        for cell in notebook_files.read_notebook(page)["cells"]:
            if cell["cell_type"] == "markdown":
                broken += [f"{page.relative_to(ROOT)}: {t}" for t in _relative_targets(notebook_files.cell_source(cell))
                           if not (page.parent / t).exists()]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    broken += [f"README.md: {t}" for t in _relative_targets(readme) if not (ROOT / t).exists()]
    assert broken == []
