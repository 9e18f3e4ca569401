"""Finding and launching the system Chromium with Playwright for Python.

Playwright drives Debian's ``/usr/bin/chromium`` (``apt-get install chromium``,
or ``.ci/install-browser``); Playwright's own browser download is never used.
Set ``CFLIB_CHROMIUM`` to use another Chromium binary.
"""

from __future__ import annotations

import os
import shutil

DEFAULT_CHROMIUM = "/usr/bin/chromium"

# No sandbox (the tests may run as root in a container), no GPU, and none of
# the background traffic a first run of a browser starts.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path():
    """The Chromium binary to drive, or None when there is none.

    ``CFLIB_CHROMIUM`` if set, else ``/usr/bin/chromium``, else ``chromium``
    found on ``PATH``.
    """
    wanted = os.environ.get("CFLIB_CHROMIUM")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    if os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM
    return shutil.which("chromium")


def missing_reason():
    """Why the browser test cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("Playwright for Python is not installed "
                "(pip install -e '.[dev]'; never `playwright install`)")
    if chromium_path() is None:
        if os.environ.get("CFLIB_CHROMIUM"):
            return f"CFLIB_CHROMIUM={os.environ['CFLIB_CHROMIUM']} is not an executable file"
        return ("Chromium not found at /usr/bin/chromium (run .ci/install-browser "
                "as root, or apt-get install chromium; or set CFLIB_CHROMIUM)")
    return None


def launch(playwright, executable_path):
    """Start a headless Chromium through a started ``sync_playwright()``."""
    return playwright.chromium.launch(
        executable_path=executable_path, headless=True, args=LAUNCH_ARGS,
    )


def require_chromium():
    """The Chromium binary for a browser test; skips with the reason, or fails when ``CI`` is set."""
    import pytest

    reason = missing_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {reason}")
        pytest.skip(reason)
    return chromium_path()
