"""Helpers for the real-browser test (tests/test_browser.py).

``lab_server`` starts JupyterLab on a temporary copy of the notebooks,
``chromium`` finds and launches the system Chromium through Playwright,
``notebook_page`` drives one notebook in a page (run all, read outputs,
screenshot), ``stored`` reads what a stored .ipynb says it should show.
"""
