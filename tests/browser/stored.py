"""What a stored (executed) notebook says the browser should show.

The notebooks in the repository are stored with their outputs. A notebook
whose stored cells hold ``image/png`` outputs plots; one whose stored cells
hold widget views shows widgets. Plots drawn into an ``Output`` widget, or
written as an ``<img>`` into an ``HTML`` widget (the training explorer's SVG
curves), are stored inside the widget state (``metadata.widgets``), not in
the cells, so that state is read too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

PNG = "image/png"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@dataclass(frozen=True)
class StoredOutputs:
    """Counts taken from a stored notebook.

    Attributes
    ----------
    cell_images : int
        ``image/png`` outputs of code cells (plots shown by the cells), not counting a
        picture stored beside a widget view (drawn only where widgets cannot be).
    widget_views : int
        Widget-view outputs of code cells (each is a widget on screen).
    widget_images : int
        Images inside the saved widget state: ``image/png`` outputs of ``Output``
        widgets and ``<img>`` tags with a ``data:`` URL in ``HTML`` widgets.
    """

    cell_images: int
    widget_views: int
    widget_images: int

    @property
    def plots(self) -> bool:
        return self.cell_images > 0 or self.widget_images > 0


def _count_images(state) -> int:
    """Number of ``image/png`` bundles and of HTML widget values with a ``data:`` image anywhere inside a JSON value."""
    if isinstance(state, dict):
        own = 1 if isinstance(state.get("data"), dict) and PNG in state["data"] else 0
        if state.get("_model_name") == "HTMLModel":
            own += str(state.get("value", "")).count('<img src="data:image/')
        return own + sum(_count_images(value) for value in state.values())
    if isinstance(state, list):
        return sum(_count_images(value) for value in state)
    return 0


def read_stored_outputs(path) -> StoredOutputs:
    """Count the plots and widgets stored in the notebook at ``path``."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    cell_images = widget_views = 0
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            # A PNG beside a widget view is the widget's picture for viewers without widgets
            # (TrainingExplorer.picture): JupyterLab draws the live widget instead.
            cell_images += PNG in data and WIDGET_VIEW not in data
            widget_views += WIDGET_VIEW in data
    widget_state = notebook.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {})
    return StoredOutputs(cell_images, widget_views, _count_images(widget_state))
