"""The teacher's report.html as a teacher sees it: opened in headless Chromium.

The page is written to a temporary folder and opened as a ``file://`` URL with
every other request aborted: the test asserts that nothing else was asked for,
that the console stayed clean and that the class figure is drawn. A picture
goes to ``screenshots/grade_report.png`` (git-ignored) for a visual review.

Needs Playwright for Python and Chromium (``.ci/install-browser``); without
them the test skips with the reason, and fails instead when ``CI`` is set.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from browser.chromium import launch, require_chromium
from cflib.grade.report import render_report
from test_grade_report import INFO, fabricated_class

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture(scope="module")
def chromium():
    """Path of the Chromium binary; skips (fails in CI) when the browser test cannot run."""
    return require_chromium()


@pytest.mark.browser
def test_report_renders_offline_with_its_figure(chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    report = tmp_path / "report.html"
    report.write_text(render_report(fabricated_class(), INFO), encoding="utf-8")
    requested, errors = [], []

    def only_local(route):
        requested.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    def browse():
        # In a thread of its own: a test run earlier in this worker may leave an asyncio loop running
        # in the main thread, where Playwright's sync API refuses to start.
        with sync_playwright() as playwright:
            chrome = launch(playwright, chromium)
            try:
                page = chrome.new_page(viewport={"width": 1280, "height": 900})
                page.route("**/*", only_local)
                page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(report.as_uri(), wait_until="load")
                figure = page.locator("#class-figure")
                visible, box, title = figure.is_visible(), figure.bounding_box(), page.title()
                SCREENSHOTS.mkdir(exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "grade_report.png"), full_page=True)
            finally:
                chrome.close()
        return visible, box, title

    with ThreadPoolExecutor(max_workers=1) as pool:
        visible, box, title = pool.submit(browse).result(timeout=180)
    assert visible
    assert box["width"] > 300 and box["height"] > 200
    assert title == INFO["title"]
    assert errors == []
    assert requested == [report.as_uri()]
