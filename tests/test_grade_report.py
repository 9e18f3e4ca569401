"""cflib.grade.report: the teacher's report.html from a fabricated class.

Six students over two course notebooks plus one unrecognisable file, every
status, and hostile strings (a student name and a file name that try to run a
script) in the places a submission controls.
"""

from __future__ import annotations

import random
from html.parser import HTMLParser

from cflib.grade.report import normalise, render_report, split_detail

HOSTILE = '<script>alert(1)</script>"&'
HOSTILE_FILE = 'notes"<img src=x onerror=alert(2)>.ipynb'
MASK = ("the cost also counts the unrated entries (the mask R is not applied). "
        "Hint: only rated entries count: multiply the errors by R, or keep only Y[R].")
REG = ("X_grad is wrong: at X_grad[{}] expected {}, got {} on a random {} problem "
       "(the regularisation term is missing). Hint: add lam * X to X_grad.")
INFO = {
    "title": "Grades: matrix factorization, week 3",
    "generated": "2027-01-15 by cflib-grade",
    "sandbox": {"network": "off (a new network namespace)",
                "file system": "writes confined to the submission's own temporary folder (Landlock)",
                "memory": "2 GiB per submission",
                "time": "20 s per call, 300 s per notebook"},
    "n_submissions": 11,
}


def _row(student, notebook, exercise, status, detail, points=None, max_points=2.0):
    if points is None:
        points = max_points if status == "pass" else 0.0
    return {"student": student, "notebook": notebook, "exercise": exercise, "status": status,
            "points": points, "max_points": max_points, "detail": detail}


def fabricated_class():
    """Gradebook rows: 02_cost_function from 5 students, 03_gradient from 5, one unreadable file."""
    ok = "agrees with cflib.cost on 14 test cases"
    cost, grad = "02_cost_function", "03_gradient"
    return [
        _row("alice", cost, "my_cost", "pass", ok),
        _row("bob", cost, "my_cost", "fail", MASK),
        _row("carol", cost, "my_cost", "fail", MASK),
        _row(HOSTILE, cost, "my_cost", "fail", MASK),
        _row("dave", cost, "my_cost", "not_implemented", "my_cost still raises NotImplementedError"),
        _row("alice", cost, "my_cost_loop", "pass", ok),
        _row("bob", cost, "my_cost_loop", "pass", ok),
        _row(HOSTILE, cost, "my_cost_loop", "pass", ok),
        _row("carol", cost, "my_cost_loop", "timeout", "did not return within 20 s"),
        _row("dave", cost, "my_cost_loop", "error", "NameError: name 'np' is not defined"),
        _row("alice", grad, "my_gradient", "pass", "agrees with cflib.gradient on 9 test cases", max_points=3.0),
        _row("bob", grad, "my_gradient", "fail", REG.format("3, 1", "0.5", "0.7", "4x5"), max_points=3.0),
        _row("carol", grad, "my_gradient", "fail", REG.format("0, 2", "-1.25", "3e-05", "6x3"),
             points=1.0, max_points=3.0),
        _row("eve", grad, "my_gradient", "fail", REG.format("1, 0", "2", "nan", "3x3"), max_points=3.0),
        _row("alice", grad, "my_gradient_check", "pass", "finds the planted error"),
        _row("bob", grad, "my_gradient_check", "pass", "finds the planted error"),
        _row("carol", grad, "my_gradient_check", "not_implemented", "still raises NotImplementedError"),
        _row("eve", grad, "my_gradient_check", "error", "NameError: name 'np' is not defined"),
        _row("dave", grad, "", "error", "the file is not valid JSON (line 3, column 5)", max_points=5.0),
        _row("eve", HOSTILE_FILE, "", "error", f"not a notebook of this course: {HOSTILE_FILE}",
             max_points=0.0),
    ]


class _Page(HTMLParser):
    """Collects the visible text, table rows, and any unbalanced tag."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__()
        self.text, self.rows, self.open, self.problems = [], [], [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"unexpected </{tag}>")

    def handle_data(self, data):
        self.text.append(data)
        if "td" in self.open[-3:] and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data

    def lines(self):
        return " ".join("".join(self.text).split())


def parse(html):
    page = _Page()
    page.feed(html)
    page.close()
    return page


def test_same_rows_give_the_same_page_in_any_order():
    rows = fabricated_class()
    shuffled = rows[:]
    random.Random(0).shuffle(shuffled)
    assert render_report(rows, INFO) == render_report(rows, INFO) == render_report(shuffled, INFO)


def test_every_submitted_string_is_escaped():
    html = render_report(fabricated_class(), INFO)
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;" in html
    assert HOSTILE in parse(html).lines()  # shown to the teacher as text


def test_page_is_balanced_html5_and_fetches_nothing():
    html = render_report(fabricated_class(), INFO)
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    page = parse(html)
    assert page.problems == [] and page.open == []
    assert "http://" not in html and "https://" not in html
    assert "url(" not in html.replace("url(#p-", "")  # only the SVG's own patterns
    assert "@import" not in html and "<link" not in html


def test_header_says_what_was_graded_and_how_it_was_confined():
    text = parse(render_report(fabricated_class(), INFO)).lines()
    assert "Generated 2027-01-15 by cflib-grade. 11 submissions from 6 students." in text
    assert "network: off (a new network namespace); file system: writes confined" in text
    assert "memory: 2 GiB per submission; time: 20 s per call, 300 s per notebook." in text


def test_pass_counts_per_exercise():
    page = parse(render_report(fabricated_class(), INFO))
    counts = {(r[0], r[1]): r[2:] for r in page.rows if len(r) == 8}
    assert counts["02_cost_function", "my_cost"] == ["1 of 5", "1", "3", "1", "0", "0"]
    assert counts["02_cost_function", "my_cost_loop"] == ["3 of 5", "3", "0", "0", "1", "1"]
    # dave's unreadable 03 counts as an error for each of its exercises.
    assert counts["03_gradient", "my_gradient"] == ["1 of 5", "1", "3", "0", "1", "0"]
    assert counts["03_gradient", "my_gradient_check"] == ["2 of 5", "2", "0", "1", "2", "0"]
    assert counts[HOSTILE_FILE, "(whole submission)"] == ["0 of 1", "0", "0", "0", "1", "0"]


def test_diagnoses_are_grouped_and_ranked_by_students_hit():
    text = parse(render_report(fabricated_class(), INFO)).lines()
    mask = "3 of 5: the cost also counts the unrated entries (the mask R is not applied)."
    reg = "3 of 5: X_grad is wrong: at X_grad[…] expected …, got …."
    loop_error = "1 of 5: NameError: name 'np' is not defined"
    assert mask in text and reg in text and loop_error in text
    assert text.index(mask) < text.index(reg) < text.index(loop_error)
    assert "Hint: only rated entries count: multiply the errors by R, or keep only Y[R]." in text
    # One example per group, verbatim: the alphabetically first student.
    assert "For example, bob: X_grad is wrong: at X_grad[3, 1] expected 0.5, got 0.7" in text
    assert text.count("For example,") == 7


def test_headline_normalisation():
    headline, hint = split_detail(REG.format("3, 1", "0.5", "0.7", "4x5"))
    assert hint == "add lam * X to X_grad."
    assert normalise(headline) == normalise(split_detail(REG.format("10, 0", "-2e-3", "inf", "12x7"))[0])
    # words and numbers that are not the case or the values stay, so the line still reads
    assert normalise("notebook 02_cost_function, step 3.") == "notebook 02_cost_function, step 3."
    assert normalise("the cost is 0 on every test case (on the fixed 3x2 problem with lam=0).") == \
        "the cost is 0 on every test case."
    assert split_detail("no hint here") == ("no hint here", "")


def test_figure_and_student_lines():
    html = render_report(fabricated_class(), INFO)
    assert html.count('<svg id="class-figure"') == 1
    assert "<title>The class: results per exercise and total points per notebook</title>" in html
    page = parse(html)
    students = [(r[0], r[1], r[2]) for r in page.rows if len(r) >= 4 and " / " in r[2]]
    assert students == [
        (HOSTILE, "02_cost_function", "2 / 4"),
        ("alice", "02_cost_function", "4 / 4"), ("alice", "03_gradient", "5 / 5"),
        ("bob", "02_cost_function", "2 / 4"), ("bob", "03_gradient", "2 / 5"),
        ("carol", "02_cost_function", "0 / 4"), ("carol", "03_gradient", "1 / 5"),
        ("dave", "02_cost_function", "0 / 4"), ("dave", "03_gradient", "0 / 5"),
        ("eve", "03_gradient", "0 / 5"), ("eve", HOSTILE_FILE, "0 / 0"),
    ]
    assert 'title="agrees with cflib.cost on 14 test cases"' in html
    assert "✗ fail" in page.lines() and "◷ timeout" in page.lines()


def test_an_empty_gradebook_still_renders():
    html = render_report([], dict(INFO, n_submissions=0))
    assert "No mistakes." in html and 'id="class-figure"' in html


def test_exercises_appear_in_course_order_when_given_and_counts_read_in_the_singular():
    rows = [_row("zoe", "02_cost_function", "my_cost_loop", "pass", "ok"),
            _row("zoe", "02_cost_function", "my_cost", "pass", "ok")]
    by_name = parse(render_report(rows, {**INFO, "n_submissions": 1}))
    ordered = parse(render_report(rows, {**INFO, "n_submissions": 1,
                                         "order": {"02_cost_function": ["my_cost_loop", "my_cost"]}}))
    names = lambda page: [r[1] for r in page.rows if len(r) == 8 and r[0] == "02_cost_function"]  # noqa: E731
    assert names(by_name) == ["my_cost", "my_cost_loop"]
    assert names(ordered) == ["my_cost_loop", "my_cost"]
    assert "Generated 2027-01-15 by cflib-grade. 1 submission from 1 student." in ordered.lines()
