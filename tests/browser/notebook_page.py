"""Driving one notebook in a JupyterLab page with Playwright.

Everything waits on conditions read from the page (kernel status, execution
prompts, rendered widgets, decoded images) with a timeout; nothing sleeps a
fixed time. JupyterLab must run with ``--LabApp.expose_app_in_browser=True``
so that ``window.jupyterapp`` is the application.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Finds the notebook panel showing `path` among the main-area widgets.
_PANEL = """
const panelFor = (path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.content.widgets) return w;
  }
  return null;
};
"""

_KERNEL_STATE = """
(path) => {
""" + _PANEL + """
  if (document.querySelector('.jp-Dialog')) {
    const d = document.querySelector('.jp-Dialog');
    return {dialog: d.innerText.slice(0, 300)};
  }
  const panel = panelFor(path);
  if (!panel || !panel.context.isReady) return null;
  const session = panel.sessionContext.session;
  const kernel = session && session.kernel;
  if (!kernel) return null;
  const status = kernel.status;
  return (status === 'idle' || status === 'busy') ? {status} : null;
}
"""

_RUN_ALL = """
async (path) => {
""" + _PANEL + """
  const app = window.jupyterapp;
  const panel = panelFor(path);
  app.shell.activateById(panel.id);
  // widgetId: the command acts on this notebook, whichever one has the focus.
  const target = {widgetId: panel.id};
  await app.commands.execute('notebook:clear-all-cell-outputs', target);
  window.__cflibRun = {done: false, result: null, error: null};
  app.commands.execute('notebook:run-all-cells', target).then(
    (result) => { window.__cflibRun = {done: true, result, error: null}; },
    (error) => { window.__cflibRun = {done: true, result: false, error: String(error)}; });
}
"""

_RUN_FINISHED = """
(path) => {
""" + _PANEL + """
  const run = window.__cflibRun;
  if (!run || !run.done) return null;
  const panel = panelFor(path);
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return null;
  const pending = panel.content.widgets.some(
    (c) => c.model.type === 'code' && c.promptNode && c.promptNode.innerText.includes('*'));
  return pending ? null : run;
}
"""

_RUNNING_CELL = """
(path) => {
""" + _PANEL + """
  const panel = panelFor(path);
  const cells = panel.content.widgets;
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    if (c.model.type === 'code' && c.promptNode && c.promptNode.innerText.includes('*')) {
      return {index: i, source: c.model.sharedModel.getSource().slice(0, 200)};
    }
  }
  return null;
}
"""

# Per code cell: the outputs of the model, and what each looks like on screen.
_OUTPUTS = """
(path) => {
""" + _PANEL + """
  const panel = panelFor(path);
  const cells = [];
  panel.content.widgets.forEach((c, index) => {
    if (c.model.type !== 'code') return;
    const model = c.model.outputs.toJSON();
    const children = Array.from(c.outputArea.node.querySelectorAll(
      ':scope > .jp-OutputArea-child > .jp-OutputArea-output'));
    cells.push({
      index,
      execution_count: c.model.executionCount,
      source: c.model.sharedModel.getSource().slice(0, 200),
      tags: (c.model.getMetadata && c.model.getMetadata('tags')) || [],
      outputs: model.map((o, i) => {
        const node = children[i];
        return {
          output_type: o.output_type,
          mimes: Object.keys(o.data || {}),
          name: o.name || null,
          ename: o.ename || null,
          evalue: o.evalue || null,
          traceback: (o.traceback || []).join('\\n').replace(/\\x1b\\[[0-9;]*m/g, ''),
          text: node ? node.innerText.slice(0, 2000) : null,
          rendered_widgets: node ? node.querySelectorAll('.jupyter-widgets').length : 0,
        };
      }),
    });
  });
  const root = panel.content.node;
  const images = Array.from(root.querySelectorAll('.jp-OutputArea-output img')).map((img) => ({
    complete: img.complete,
    width: img.naturalWidth,
    in_widget: !!img.closest('.jupyter-widgets'),
    src_tail: img.src.slice(-80),
  }));
  const stderr = Array.from(root.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
    .map((e) => e.innerText.slice(0, 3000));
  const text = root.innerText;
  return {cells, images, stderr,
          widget_errors: (text.match(/Error displaying widget[^\\n]*/g) || []),
          loading_widgets: (text.match(/Loading widget\\.\\.\\./g) || []).length};
}
"""

_WIDGETS_SETTLED = """
(path) => {
""" + _PANEL + """
  const panel = panelFor(path);
  for (const c of panel.content.widgets) {
    if (c.model.type !== 'code') continue;
    const model = c.model.outputs.toJSON();
    const children = Array.from(c.outputArea.node.querySelectorAll(
      ':scope > .jp-OutputArea-child > .jp-OutputArea-output'));
    for (let i = 0; i < model.length; i++) {
      const isView = model[i].data && model[i].data['application/vnd.jupyter.widget-view+json'];
      if (isView && !(children[i] && children[i].querySelector('.jupyter-widgets'))) return false;
    }
  }
  const imgs = Array.from(panel.content.node.querySelectorAll('.jp-OutputArea-output img'));
  return imgs.every((img) => img.complete);
}
"""

_PREPARE_SCREENSHOT = """
(path) => {
""" + _PANEL + """
  const app = window.jupyterapp;
  app.shell.collapseLeft();
  app.shell.collapseRight();
  const panel = panelFor(path);
  app.shell.activateById(panel.id);
  const scroller = panel.content.node.querySelector('.jp-WindowedPanel-outer') ||
                   panel.content.node;
  scroller.scrollTop = 0;
  // The end of the last cell, not scrollHeight: JupyterLab pads the end of
  // a notebook so that its last cell can scroll to the top.
  const cells = panel.content.node.querySelectorAll('.jp-Cell');
  const last = cells[cells.length - 1];
  const top = scroller.getBoundingClientRect().top;
  const end = last ? last.getBoundingClientRect().bottom - top + scroller.scrollTop
                   : scroller.scrollHeight;
  return {content: Math.ceil(end), visible: scroller.clientHeight};
}
"""

_OPEN = """
async ([path, activate]) => {
  await window.jupyterapp.commands.execute('docmanager:open', {path, options: {activate}});
}
"""

_ACTIVATE = """
(path) => {
""" + _PANEL + """
  const panel = panelFor(path);
  window.jupyterapp.shell.activateById(panel.id);
  return panel.id;
}
"""

_CLOSE = """
(path) => {
""" + _PANEL + """
  const panel = panelFor(path);
  if (panel) panel.dispose();  // no "unsaved changes" dialog: the copy is thrown away
}
"""

# Text a widget or a figure shows when it is printed instead of rendered.
WIDGET_REPR = re.compile(
    r"\b[A-Z][A-Za-z]*\((children|value|description|options|outputs|layout|style)="
    r"|\binteractive\(children=|\bOutput\(\)"
)
FIGURE_REPR = re.compile(
    r"<Figure size [\d.]+x[\d.]+ with \d+ Axes>|<matplotlib\.[\w.]+ (object )?at 0x"
)


@dataclass
class NotebookState:
    """What a run notebook shows, as read from the page (see ``_OUTPUTS``)."""

    cells: list
    images: list
    stderr: list
    widget_errors: list
    loading_widgets: int
    run_result: dict = field(default_factory=dict)
    # Widget views of the stored notebook that showed no widget when it was
    # opened, before running (see NotebookPage.stored_widgets_not_drawn).
    not_drawn_before_run: list = field(default_factory=list)

    def errors(self):
        """One line per error output: cell index, exception and message."""
        found = []
        for cell in self.cells:
            if _deliberate_error(cell):
                continue
            for out in cell["outputs"]:
                if out["output_type"] == "error":
                    found.append(
                        f"cell {cell['index']} ({_first_line(cell['source'])!r}): "
                        f"{out['ename']}: {out['evalue']}\n{out['traceback'][-1500:]}"
                    )
        # Tracebacks printed to stderr (for instance inside a widget's Output by
        # a failing callback); an error output above is drawn as stderr too.
        shown = [f"{o['ename']}: {o['evalue']}" for c in self.cells for o in c["outputs"]
                 if o["output_type"] == "error"]
        found.extend(f"stderr with a traceback:\n{text[-1500:]}" for text in self.stderr
                     if "Traceback" in text and not any(s in text for s in shown))
        return found

    def stderr_notes(self):
        """Other stderr text on screen (warnings): not errors, but worth a look."""
        return [text[:500] for text in self.stderr if "Traceback" not in text]

    def unexecuted_cells(self):
        """Indices of code cells with source that did not run."""
        return [c["index"] for c in self.cells
                if c["execution_count"] is None and c["source"].strip()]

    def widget_view_outputs(self):
        return [(c, o) for c in self.cells for o in c["outputs"]
                if "application/vnd.jupyter.widget-view+json" in o["mimes"]]

    def unrendered_widgets(self):
        """Widget views that show no widget on screen."""
        return [f"cell {c['index']} ({_first_line(c['source'])!r}): shows {o['text']!r}"
                for c, o in self.widget_view_outputs() if o["rendered_widgets"] == 0]

    def text_outputs(self):
        """(cell, text) for every plain-text output on screen."""
        return [(c, o["text"] or "") for c in self.cells for o in c["outputs"]
                if o["output_type"] in ("execute_result", "display_data", "stream")
                and "application/vnd.jupyter.widget-view+json" not in o["mimes"]
                and "image/png" not in o["mimes"]]

    def printed_widgets(self):
        """Text outputs that are the repr of a widget (a widget printed, not shown)."""
        return [f"cell {c['index']}: {text[:200]!r}"
                for c, text in self.text_outputs() if WIDGET_REPR.search(text)]

    def printed_figures(self):
        """Text outputs that are the repr of a matplotlib object."""
        return [f"cell {c['index']}: {text[:200]!r}"
                for c, text in self.text_outputs() if FIGURE_REPR.search(text)]

    def shown_images(self):
        """Images that are decoded and have a size."""
        return [img for img in self.images if img["complete"] and img["width"] > 0]


def _deliberate_error(cell) -> bool:
    """A cell marked as raising on purpose (a teaching error): its error is expected.

    JupyterLab's "run all" goes on past cells tagged ``raises-exception``.
    """
    return ("raises-exception" in cell.get("tags", [])
            or "NBVAL_RAISES_EXCEPTION" in cell["source"])


def _first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    return lines[0][:80] if lines else ""


class NotebookPage:
    """One notebook opened in a Playwright page of a JupyterLab server.

    Parameters
    ----------
    page : playwright.sync_api.Page
    url : str
        The JupyterLab address of the notebook (``LabServer.url(path)``).
    path : str
        The notebook's path relative to the server root.
    """

    def __init__(self, page, url, path, page_errors=None):
        self.page = page
        self.url = url
        self.path = path
        if page_errors is None:
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
        self.page_errors = page_errors
        self._first_error = 0

    def open(self, timeout=90.0):
        """Open the notebook and wait for its kernel.

        The first notebook of a page loads JupyterLab (``url``); later ones
        open in the same page through JupyterLab's document manager, which
        saves loading the application again.
        """
        self.start_opening(timeout=timeout)
        self.wait_for_kernel(timeout=timeout)

    def start_opening(self, timeout=90.0, activate=True):
        """Open the notebook without waiting for its kernel (which starts meanwhile)."""
        self._first_error = len(self.page_errors)
        loaded = self.page.url != "about:blank" and self.page.evaluate("() => !!window.jupyterapp")
        if loaded:
            self.page.evaluate(_OPEN, [self.path, activate])
        else:
            self.page.goto(self.url, timeout=timeout * 1000)

    def wait_for_kernel(self, timeout=90.0):
        """Wait until the notebook's kernel answers (idle or busy)."""
        handle = self.page.wait_for_function(
            _KERNEL_STATE, arg=self.path, timeout=timeout * 1000, polling=100)
        state = handle.json_value()
        if "dialog" in state:
            raise AssertionError(
                f"{self.path}: JupyterLab opened a dialog instead of starting the "
                f"kernel (does the notebook metadata name the python3 kernelspec?):\n"
                f"{state['dialog']}"
            )

    def close(self):
        """Close the notebook's panel (its kernel keeps running: shut it down on the server)."""
        self.page.evaluate(_CLOSE, self.path)

    @property
    def new_page_errors(self):
        """JavaScript errors raised in the page since this notebook was opened."""
        return self.page_errors[self._first_error:]

    def stored_widgets_not_drawn(self):
        """The stored widget views that show no widget now, as the notebook was opened.

        Read once the kernel is up and before anything runs: what a learner
        sees on opening the notebook. JupyterLab draws stored widgets only from
        widget state it restored; otherwise it shows the widget's text repr.
        """
        return self.state().unrendered_widgets()

    def run_all(self, timeout=180.0):
        """Clear the outputs, run all cells, wait until the kernel is idle."""
        self.page.evaluate(_RUN_ALL, self.path)
        try:
            handle = self.page.wait_for_function(
                _RUN_FINISHED, arg=self.path, timeout=timeout * 1000, polling=250)
        except Exception as exc:
            if type(exc).__name__ != "TimeoutError":
                raise
            running = self.page.evaluate(_RUNNING_CELL, self.path)
            where = (f"cell {running['index']} was still running:\n{running['source']}"
                     if running else "no cell shows [*]")
            raise AssertionError(
                f"{self.path}: run all cells did not finish within {timeout:.0f} s; "
                f"{where}") from None
        return handle.json_value()

    def wait_for_widgets(self, timeout=30.0):
        """Wait until every widget view is drawn and every image decoded.

        Returns False (rather than raising) on timeout: the caller's
        assertions then say what is missing.
        """
        try:
            self.page.wait_for_function(
                _WIDGETS_SETTLED, arg=self.path, timeout=timeout * 1000, polling=200)
            return True
        except Exception as exc:
            if type(exc).__name__ != "TimeoutError":
                raise
            return False

    def state(self, run_result=None) -> NotebookState:
        """Read the notebook's outputs from the page."""
        data = self.page.evaluate(_OUTPUTS, self.path)
        return NotebookState(run_result=run_result or {}, **data)

    def screenshot(self, path, max_height=16000):
        """A picture of the whole notebook (the viewport is grown to fit it).

        Side panels are collapsed first. JupyterLab only estimates the height
        of cells it has not drawn yet, so the viewport grows until the
        notebook fits; the picture is then cut at the end of the last cell.
        The viewport returns to its size after.
        """
        before = self.page.viewport_size
        try:
            height = before["height"]
            for _ in range(5):
                sizes = self.page.evaluate(_PREPARE_SCREENSHOT, self.path)
                chrome = height - sizes["visible"]
                wanted = min(max_height, sizes["content"] + chrome + 20)
                if wanted <= height:
                    break
                height = wanted
                self.page.set_viewport_size({"width": before["width"], "height": height})
                # Two animation frames: JupyterLab relays out, then paints.
                self.page.evaluate(
                    "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
            self.wait_for_widgets(timeout=10)
            sizes = self.page.evaluate(_PREPARE_SCREENSHOT, self.path)
            chrome = height - sizes["visible"]
            clip_height = max(before["height"], min(height, sizes["content"] + chrome + 20))
            self.page.screenshot(path=str(path), clip={
                "x": 0, "y": 0, "width": before["width"], "height": clip_height})
        finally:
            self.page.set_viewport_size(before)

    # -- interaction helpers -------------------------------------------------

    def activate(self):
        """Bring the notebook to the front; returns a CSS selector of its panel.

        Scope every query by this selector: other notebooks may be open in
        the same page (in hidden tabs).
        """
        panel_id = self.page.evaluate(_ACTIVATE, self.path)
        self.page.wait_for_selector(f'[id="{panel_id}"]', state="visible")
        return f'[id="{panel_id}"]'


    def eval(self, expression, arg=None):
        return self.page.evaluate(expression, arg)

    def wait_until_changed(self, expression, arg, old, timeout=30.0):
        """Wait until the JS function ``expression(arg)`` returns something other than ``old``.

        Returns the new value; raises AssertionError on timeout.
        """
        try:
            handle = self.page.wait_for_function(
                f"([arg, old]) => {{ const v = ({expression})(arg); "
                f"return JSON.stringify(v) !== JSON.stringify(old) ? {{v}} : null; }}",
                arg=[arg, old], timeout=timeout * 1000, polling=100)
        except Exception as exc:
            if type(exc).__name__ != "TimeoutError":
                raise
            raise AssertionError(
                f"{self.path}: still {old!r} after {timeout:.0f} s") from None
        return handle.json_value()["v"]
