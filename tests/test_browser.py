"""The course as people use it: every notebook run in JupyterLab in a real browser.

A JupyterLab server (same Python as the tests) serves a temporary copy of
``notebooks/``; Playwright drives the system Chromium. For each notebook the
test clears the outputs, runs all cells, waits for the kernel to be idle and
checks what a learner would see:

* no error output and no traceback on stderr, and every code cell ran;
* widgets drawn as widgets, never printed as ``IntSlider(...)`` text;
* no stray ``<Figure size ...>`` or ``<matplotlib... at 0x...>`` text;
* plots drawn as decoded images, for the notebooks whose stored outputs
  (cells, or saved widget state) hold plots.

Then the interactive parts: moving a slider in ``08_explorer`` retrains and
redraws; rating a movie in ``07_recommendations`` changes the recommendations.

A picture of every notebook goes to ``screenshots/`` (git-ignored): look at
them to review the course visually. ``screenshots/timings.txt`` gets one line
per notebook run: where the time went (open, run, widgets, screenshot).

Needs Playwright for Python and Chromium at ``/usr/bin/chromium``
(``.ci/install-browser``; ``CFLIB_CHROMIUM`` names another binary). Without
them the tests skip, with the reason; with ``CI`` set they fail instead.
``pytest -m "not browser"`` leaves them out. ``CFLIB_BROWSER_RUN_TIMEOUT``
(seconds, default 180) bounds one notebook's run.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from pathlib import Path

import pytest

from browser.chromium import launch, require_chromium
from browser.lab_server import LabServer
from browser.notebook_page import FIGURE_REPR, WIDGET_REPR, NotebookPage, NotebookState
from browser.stored import read_stored_outputs

browser = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
SCREENSHOTS = REPO / "screenshots"

EXPLORER = "08_explorer.ipynb"
RECOMMENDATIONS = "07_recommendations.ipynb"
# These stay open (kernel running) after their run, for the interaction tests.
INTERACTIVE = {EXPLORER, RECOMMENDATIONS}

# Seconds. A notebook's whole run; a page load; one widget reaction.
RUN_TIMEOUT = float(os.environ.get("CFLIB_BROWSER_RUN_TIMEOUT", "180"))
OPEN_TIMEOUT = 90.0
REACT_TIMEOUT = 45.0


def course_notebooks():
    """``index.ipynb`` and every ``NN_*.ipynb`` of notebooks/, in course order."""
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")
                   if re.fullmatch(r"\d\d_\w+\.ipynb", p.name))
    if (NOTEBOOKS / "index.ipynb").exists():
        names.insert(0, "index.ipynb")
    return names


class _Clock:
    """Seconds spent in each phase of one notebook's run."""

    def __init__(self):
        self.laps = {}
        self._last = time.perf_counter()

    def lap(self, phase):
        now = time.perf_counter()
        self.laps[phase] = now - self._last
        self._last = now


def _record_timing(name, clock):
    """Append one line to screenshots/timings.txt (where the time goes, for the budget)."""
    laps = "  ".join(f"{phase} {seconds:5.1f} s" for phase, seconds in clock.laps.items())
    with open(SCREENSHOTS / "timings.txt", "a") as f:
        f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {name:32s} {laps}\n")


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def chromium():
    """Path of the Chromium binary; skips (fails in CI) when the browser test cannot run."""
    return require_chromium()


@pytest.fixture(scope="session")
def lab(chromium, movielens, tmp_path_factory):
    """JupyterLab on a temporary copy of notebooks/, stopped at the end."""
    with LabServer(NOTEBOOKS, tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.fixture(scope="session")
def chromium_browser(chromium):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chrome = launch(playwright, chromium)
        try:
            yield chrome
        finally:
            chrome.close()
    finally:
        playwright.stop()


class CourseRun:
    """Runs each notebook once per session, all in one page.

    JupyterLab loads once; the notebooks open one after the other in it. Each
    is closed and its kernel shut down after its run, except the interactive
    ones, which stay open (kernel running) for the interaction tests. While a
    notebook is checked and photographed, the next one planned is already
    opening, so its kernel starts meanwhile.

    Parameters
    ----------
    lab : LabServer
    browser : playwright Browser
    planned : list of str
        The notebooks the session will run, in order (for opening ahead).
    """

    def __init__(self, lab, browser, planned=()):
        self.lab = lab
        self.browser = browser
        self.planned = list(planned)
        self.done = {}  # name -> (NotebookPage, NotebookState)
        self.opening = {}  # name -> NotebookPage opened ahead
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = context.new_page()
        self.page_errors = []
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _notebook(self, name):
        return NotebookPage(self.page, self.lab.url(name), name, page_errors=self.page_errors)

    def _open_next(self, name):
        """Start opening the notebook planned after ``name`` (its kernel starts meanwhile)."""
        if name not in self.planned:
            return
        for following in self.planned[self.planned.index(name) + 1:]:
            if following in self.done or following in self.opening:
                continue
            if (self.lab.root / following).exists():
                ahead = self._notebook(following)
                ahead.start_opening(timeout=OPEN_TIMEOUT, activate=False)
                self.opening[following] = ahead
            return

    def run(self, name):
        if name in self.done:
            return self.done[name]
        notebook = self.opening.pop(name, None)
        clock = _Clock()
        try:
            if notebook is None:
                notebook = self._notebook(name)
                notebook.start_opening(timeout=OPEN_TIMEOUT)
            notebook.wait_for_kernel(timeout=OPEN_TIMEOUT)
            not_drawn = notebook.stored_widgets_not_drawn()
            clock.lap("open")
            result = notebook.run_all(timeout=RUN_TIMEOUT)
            clock.lap("run")
            self._open_next(name)
            notebook.wait_for_widgets()
            state = notebook.state(result)
            state.not_drawn_before_run = not_drawn
            clock.lap("widgets")
            SCREENSHOTS.mkdir(exist_ok=True)
            notebook.screenshot(SCREENSHOTS / f"{Path(name).stem}.png")
            (SCREENSHOTS / f"{Path(name).stem}-failed.png").unlink(missing_ok=True)
            clock.lap("screenshot")
            _record_timing(name, clock)
        except BaseException:
            self._save_failure(name)
            self.page.keyboard.press("Escape")  # a dialog, if one is open
            if notebook is not None:
                self._finish(notebook)
            raise
        if name not in INTERACTIVE:
            self._finish(notebook)
        self.done[name] = (notebook, state)
        return self.done[name]

    def _finish(self, notebook):
        try:
            notebook.close()
        finally:
            # In the background: the next notebook need not wait for it.
            self.lab.shutdown_kernel(notebook.path, wait=False)

    def _save_failure(self, name):
        try:
            SCREENSHOTS.mkdir(exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{Path(name).stem}-failed.png"))
        except Exception:
            pass


@pytest.fixture(scope="session")
def course(lab, chromium_browser, request):
    planned = [item.callspec.params["name"] for item in request.session.items
               if getattr(item, "originalname", None) == "test_notebook_runs_in_browser"]
    return CourseRun(lab, chromium_browser, planned)


# --------------------------------------------------------------------- tests
@browser
@pytest.mark.parametrize("name", course_notebooks())
def test_notebook_runs_in_browser(course, name):
    notebook, state = course.run(name)
    stored = read_stored_outputs(NOTEBOOKS / name)

    errors = state.errors()
    assert not errors, f"{name} shows errors in the browser:\n" + "\n\n".join(errors)
    run = state.run_result
    # (Its result is False also when a cell tagged raises-exception raised as planned:
    # errors and cells that did not run are checked here instead.)
    assert not run.get("error"), f"{name}: 'run all cells' failed in JupyterLab: {run['error']}"
    assert not state.unexecuted_cells(), (
        f"{name}: code cells {state.unexecuted_cells()} did not run (run all stops at the "
        f"first error; a deliberate error needs the cell tag raises-exception)")

    assert not state.printed_widgets(), (
        f"{name}: widgets printed as text instead of drawn:\n" + "\n".join(state.printed_widgets()))
    assert not state.widget_errors, f"{name}: {state.widget_errors}"
    assert state.loading_widgets == 0, f"{name}: widgets still 'Loading widget...'"
    assert not state.unrendered_widgets(), (
        f"{name}: widget views with no widget on screen:\n" + "\n".join(state.unrendered_widgets()))
    live_views = len(state.widget_view_outputs())
    assert live_views >= stored.widget_views, (
        f"{name}: {stored.widget_views} widgets stored, {live_views} shown in the browser")

    assert not state.printed_figures(), (
        f"{name}: matplotlib objects printed as text (end the cell with plt.show()):\n"
        + "\n".join(state.printed_figures()))

    shown = state.shown_images()
    broken = [img for img in state.images if img not in shown]
    assert not broken, f"{name}: images that did not decode: {broken}"
    if stored.plots:
        assert shown, f"{name} plots (stored image outputs) but the browser shows no image"
    in_cells = [img for img in shown if not img["in_widget"]]
    assert len(in_cells) >= stored.cell_images, (
        f"{name}: {stored.cell_images} plots stored in cells, {len(in_cells)} shown")
    if stored.widget_images:
        assert any(img["in_widget"] for img in shown), (
            f"{name}: plots stored in widget outputs, none drawn in the browser")

    assert not notebook.new_page_errors, (
        f"{name}: JavaScript errors in the page: {notebook.new_page_errors}")
    for note in state.stderr_notes():
        warnings.warn(f"{name} writes to stderr: {note}", stacklevel=1)
    # Not a failure (JupyterLab restores saved widget state only with the
    # widgets setting saveState): what a learner sees before running the cell.
    for text in state.not_drawn_before_run:
        warnings.warn(f"{name} as opened, before running: widget not drawn, {text}",
                      stacklevel=1)


def _needs(course, name):
    if not (course.lab.root / name).exists():
        pytest.skip(f"notebooks/{name} did not exist when the test session started")


# Widgets are found by their cflib-* CSS classes (``widget.add_class``) when
# cflib/widgets.py sets them, else by ipywidgets' own classes and labels (each
# of these notebooks shows a single cflib widget).
EXPLORER_SLIDER = (".cflib-explorer-k .noUi-handle", ".widget-slider .noUi-handle")
EXPLORER_READOUT = (".cflib-explorer-readout", ".widget-html")
EXPLORER_PLOT = (".cflib-explorer-plot img", ".widget-html img")
RATING_SEARCH = (".cflib-rating-search input", ".widget-text input")
RATING_MATCHES = (".cflib-rating-matches select", ".widget-select select")
RATING_STARS = (".cflib-rating-stars button", ".widget-toggle-buttons button")
RATING_RATE = ("button.cflib-rating-rate", "button:has-text('rate it')")
RATING_LIST = (".cflib-rating-recommendations", ".widget-html")

# ([root, selector, prefix]) -> texts under the notebook's panel starting with prefix.
_TEXTS = ("([root, sel, prefix]) => Array.from(document.querySelector(root).querySelectorAll(sel))"
          ".map((e) => e.innerText).filter((t) => t.startsWith(prefix))")
# ([root, selector]) -> the src of the images under the notebook's panel.
_SOURCES = ("([root, sel]) => Array.from(document.querySelector(root).querySelectorAll(sel))"
            ".map((e) => e.src)")


def _pick(page, root, candidates, what):
    """The first of ``candidates`` (CSS selectors) that matches inside ``root``."""
    for selector in candidates:
        if page.locator(f"{root} {selector}").count():
            return selector
    raise AssertionError(f"no {what} on screen (looked for {', '.join(candidates)})")


@browser
def test_explorer_slider_retrains_and_redraws(course):
    _needs(course, EXPLORER)
    notebook, _ = course.run(EXPLORER)
    page = notebook.page
    root = notebook.activate()
    slider = _pick(page, root, EXPLORER_SLIDER, "slider")
    plot = [root, _pick(page, root, EXPLORER_PLOT, "plot inside the explorer")]
    readout = [root, _pick(page, root, EXPLORER_READOUT, "RMSE readout"), ""]
    slider_readouts = [root, ".widget-slider .widget-readout", ""]

    values = notebook.eval(_TEXTS, slider_readouts)
    images = notebook.eval(_SOURCES, plot)
    texts = notebook.eval(_TEXTS, readout)

    handle = page.locator(f"{root} {slider}").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    page.keyboard.press("ArrowRight")

    new_values = notebook.wait_until_changed(_TEXTS, slider_readouts, values, timeout=REACT_TIMEOUT)
    new_images = notebook.wait_until_changed(_SOURCES, plot, images, timeout=REACT_TIMEOUT)
    assert new_values != values and new_images != images
    notebook.wait_for_widgets()
    after = notebook.state()
    assert not after.errors(), f"{EXPLORER} after moving the slider:\n" + "\n".join(after.errors())
    assert after.shown_images(), f"{EXPLORER}: no plot drawn after moving the slider"
    assert notebook.eval(_TEXTS, readout) != texts, f"{EXPLORER}: the RMSE readout did not change"
    notebook.screenshot(SCREENSHOTS / f"{Path(EXPLORER).stem}-after-slider.png")
    assert not notebook.new_page_errors, f"JavaScript errors: {notebook.new_page_errors}"


@browser
def test_rating_a_movie_changes_recommendations(course):
    _needs(course, RECOMMENDATIONS)
    notebook, _ = course.run(RECOMMENDATIONS)
    page = notebook.page
    root = notebook.activate()
    listing = _pick(page, root, RATING_LIST, "recommendation list")
    # Without the cflib class, the list is the HTML widget titled "Recommended ...".
    recommended = [root, listing, "" if listing.startswith(".cflib") else "Recommended"]

    before = notebook.eval(_TEXTS, recommended)
    assert before and before[0].count("\n") >= 3, (
        f"{RECOMMENDATIONS}: no recommendation list on screen: {before}")

    search = page.locator(f"{root} {_pick(page, root, RATING_SEARCH, 'search box')}").first
    search.scroll_into_view_if_needed()
    search.fill("godfather")
    matches = page.locator(f"{root} {_pick(page, root, RATING_MATCHES, 'list of matches')}").first
    page.wait_for_function(
        "(el) => el.options.length > 0", arg=matches.element_handle(), timeout=REACT_TIMEOUT * 1000)
    matches.select_option(index=0)
    stars = _pick(page, root, RATING_STARS, "star buttons")
    page.locator(f"{root} {stars}", has_text=re.compile(r"^\s*5\s*$")).first.click()
    page.locator(f"{root} {_pick(page, root, RATING_RATE, 'rate button')}").first.click()

    after = notebook.wait_until_changed(_TEXTS, recommended, before, timeout=REACT_TIMEOUT)
    assert after and after != before
    state_after = notebook.state()
    assert not state_after.errors(), (
        f"{RECOMMENDATIONS} after rating:\n" + "\n".join(state_after.errors()))
    notebook.screenshot(SCREENSHOTS / f"{Path(RECOMMENDATIONS).stem}-after-rating.png")
    assert not notebook.new_page_errors, f"JavaScript errors: {notebook.new_page_errors}"


# ------------------------------------------- the checks themselves (no browser)
def _cell(index, source, outputs, tags=()):
    return {"index": index, "execution_count": index + 1, "source": source,
            "tags": list(tags), "outputs": outputs}


def _output(output_type, text="", mimes=("text/plain",), **fields):
    out = {"output_type": output_type, "mimes": list(mimes), "name": None, "ename": None,
           "evalue": None, "traceback": "", "text": text, "rendered_widgets": 0}
    out.update(fields)
    return out


def test_widget_and_figure_reprs_are_recognised():
    for printed in ["IntSlider(value=3)", "HBox(children=(IntSlider(value=0), Output()))",
                    "interactive(children=(FloatSlider(value=1.0),))", "Output()"]:
        assert WIDGET_REPR.search(printed), printed
    for printed in ["<Figure size 640x480 with 1 Axes>",
                    "[<matplotlib.lines.Line2D at 0x7f04d9770c90>]"]:
        assert FIGURE_REPR.search(printed), printed
    for fine in ["Ratings(name='ml-100k', n_movies=1682, n_users=943, nnz=100000)",
                 "MFModel(kind='biased', k=10, lam=10)", "value = 3.5 stars",
                 "figure size 6 x 4 inches"]:
        assert not WIDGET_REPR.search(fine) and not FIGURE_REPR.search(fine), fine


def test_errors_are_reported_once_and_planned_errors_are_not():
    error = _output("error", ename="ValueError", evalue="bad k",
                    traceback="Traceback (most recent call last)\nValueError: bad k")
    planned = _output("error", ename="KeyError", evalue="'x'", traceback="KeyError: 'x'")
    state = NotebookState(
        cells=[_cell(0, "fit(k=-1)", [error]),
               _cell(1, "# NBVAL_RAISES_EXCEPTION\nd['x']", [planned]),
               _cell(2, "{}['y']", [planned], tags=["raises-exception"])],
        images=[],
        # an error output is drawn as stderr too; a failing widget callback only there
        stderr=["ValueError  Traceback (most recent call last)\nValueError: bad k",
                "Traceback (most recent call last):\nZeroDivisionError: division by zero",
                "UserWarning: something to look at"],
        widget_errors=[], loading_widgets=0)
    errors = state.errors()
    assert len(errors) == 2
    assert errors[0].startswith("cell 0") and "ValueError: bad k" in errors[0]
    assert "ZeroDivisionError" in errors[1]
    assert state.stderr_notes() == ["UserWarning: something to look at"]


def test_printed_widgets_and_unrendered_views_are_found():
    view = "application/vnd.jupyter.widget-view+json"
    state = NotebookState(
        cells=[_cell(0, "print(slider)", [_output("stream", "IntSlider(value=3)\n", mimes=())]),
               _cell(1, "slider", [_output("display_data", "Loading widget...",
                                            mimes=("text/plain", view))]),
               _cell(2, "box", [_output("display_data", "", mimes=("text/plain", view),
                                        rendered_widgets=3)])],
        images=[{"complete": True, "width": 0, "in_widget": False, "src_tail": "x"}],
        stderr=[], widget_errors=[], loading_widgets=1)
    assert state.printed_widgets() == ["cell 0: 'IntSlider(value=3)\\n'"]
    assert len(state.unrendered_widgets()) == 1 and state.unrendered_widgets()[0].startswith("cell 1")
    assert len(state.widget_view_outputs()) == 2
    assert state.shown_images() == []  # width 0: not decoded


def test_stored_outputs_are_counted(tmp_path):
    import json

    png = {"image/png": "iVBOR", "text/plain": "<Figure>"}
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": "x", "metadata": {}},
            {"cell_type": "code", "source": "plot", "metadata": {}, "outputs": [
                {"output_type": "display_data", "data": png, "metadata": {}},
                {"output_type": "display_data", "data": png, "metadata": {}}]},
            {"cell_type": "code", "source": "w", "metadata": {}, "outputs": [
                {"output_type": "execute_result", "metadata": {}, "execution_count": 1,
                 # with its picture for viewers without widgets: not a plot JupyterLab draws
                 "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "a"}, "image/png": "iVBOR"}}]},
        ],
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {
            "a": {"model_name": "OutputModel", "state": {"outputs": [
                {"output_type": "display_data", "data": png}]}}}}}},
    }
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook))
    stored = read_stored_outputs(path)
    assert (stored.cell_images, stored.widget_views, stored.widget_images) == (2, 1, 1)
    assert stored.plots
