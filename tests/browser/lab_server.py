"""A JupyterLab server for tests: temporary notebooks, no token, always stopped.

The server serves a *copy* of the notebooks folder, so running cells (and
JupyterLab's autosave) never touches the notebooks in the repository. It runs
from the same Python as the tests (``sys.executable -m jupyter lab``), in its
own process group, with its settings, workspaces and runtime files in the
temporary folder: a developer's own JupyterLab settings cannot change what the
test sees, and the test leaves nothing in ``~/.jupyter`` or ``~/.local``.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

# User settings written before the server starts. No "Jupyter news?" pop-up
# or update check (they would cover part of every screenshot and reach for
# the internet).
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Every cell drawn, not only those near the viewport: every output is in
    # the page to be checked, and a notebook's height is known at once for
    # its screenshot.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}


def _end_with_parent():
    """In the server's process, before exec: get SIGTERM when the test process dies.

    Covers the case where pytest itself is killed (a CI timeout) and no
    finalizer runs. Linux only (prctl); elsewhere a no-op. The kernels follow
    the server (ipykernel watches its parent).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """JupyterLab serving a temporary copy of ``notebooks_dir``.

    Parameters
    ----------
    notebooks_dir : Path
        The folder to copy (the repository's ``notebooks/``).
    work_dir : Path
        An empty temporary folder: receives the copy (``work_dir/notebooks``),
        the settings, workspaces, runtime files and the server log.
    env : dict, optional
        Environment of the server and so of its kernels (default: this
        process's environment, which passes ``CFLIB_DATA_DIR`` through).
    startup_timeout : float
        Seconds to wait for the server to answer before giving up.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, notebooks_dir, work_dir, env=None, startup_timeout=90.0):
        self.source = Path(notebooks_dir)
        self.work_dir = Path(work_dir)
        self.root = self.work_dir / "notebooks"
        self.log_path = self.work_dir / "jupyterlab.log"
        self.env = dict(os.environ if env is None else env)
        self.startup_timeout = startup_timeout
        self.port = None
        self.process = None
        self._log = None
        self._pending = []  # background kernel shutdowns

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        """Copy the notebooks, start ``jupyter lab`` and wait until it answers."""
        shutil.copytree(
            self.source, self.root,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
        settings_dir = self.work_dir / "lab-settings"
        for name, values in SETTINGS.items():
            path = settings_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        runtime_dir = self.work_dir / "runtime"
        runtime_dir.mkdir()
        env = dict(self.env)
        env["JUPYTER_RUNTIME_DIR"] = str(runtime_dir)
        env.pop("JUPYTER_TOKEN", None)

        self.port = free_port()
        command = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser", "--allow-root",
            f"--port={self.port}", "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={self.root}",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            "--LabApp.expose_app_in_browser=True",
            # No extension manager reaching for PyPI from the test.
            "--LabApp.extension_manager=readonly",
            f"--LabApp.user_settings_dir={settings_dir}",
            f"--LabApp.workspaces_dir={self.work_dir / 'lab-workspaces'}",
        ]
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            command, cwd=self.root, env=env,
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() kills it whole
            preexec_fn=_end_with_parent,
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self):
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with code {self.process.returncode} before "
                    f"answering; its log:\n{self.log_tail()}"
                )
            try:
                self.api("GET", "/api/status", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"jupyter lab did not answer on {self.base_url} within "
                    f"{self.startup_timeout:.0f} s; its log:\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def stop(self):
        """Shut the kernels down, then end the server's whole process group."""
        if self.process is None:
            return
        for thread in self._pending:
            thread.join(timeout=30)
        self._pending.clear()
        if self.process.poll() is None:
            try:
                self.shutdown_kernels()
            except Exception:  # the server may be hung: the signals below still work
                pass
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=15)
        # Left-over processes of the group (none expected) go too.
        self._signal_group(signal.SIGKILL)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _signal_group(self, sig):
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    # -- REST --------------------------------------------------------------

    def api(self, method, path, timeout=10):
        """Call the server's REST API; returns the decoded JSON (or None)."""
        request = urllib.request.Request(self.base_url + path, method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self, path=None):
        """Delete every session (of the notebook ``path`` if given), shutting its kernel down."""
        for session in self.api("GET", "/api/sessions"):
            if path is None or session.get("path") == path:
                self.api("DELETE", f"/api/sessions/{session['id']}")

    def shutdown_kernel(self, path, wait=True):
        """Shut down the kernel of the notebook ``path`` (a path in the copy).

        With ``wait=False`` the request runs in a background thread; :meth:`stop`
        waits for such requests before it stops the server.
        """
        if wait:
            self.shutdown_kernels(path)
            return
        thread = threading.Thread(target=self._quiet_shutdown, args=(path,), daemon=True)
        thread.start()
        self._pending.append(thread)

    def _quiet_shutdown(self, path):
        try:
            self.shutdown_kernels(path)
        except Exception:  # stop() shuts everything down anyway
            pass

    # -- helpers -----------------------------------------------------------

    def url(self, notebook: str) -> str:
        """The JupyterLab address that opens ``notebook`` (a path in the copy).

        Each notebook gets its own workspace, so a page restores no notebook
        that an earlier page opened (which would start its kernel again).
        """
        workspace = "".join(ch if ch.isalnum() else "-" for ch in notebook)
        return f"{self.base_url}/lab/workspaces/{workspace}/tree/{notebook}"

    def log_tail(self, n_lines: int = 40) -> str:
        """The last lines of the server log (for error messages)."""
        if self._log is not None:
            self._log.flush()
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(lines[-n_lines:])
