"""The training explorer's still picture: its figure drawn with matplotlib and encoded as PNG.

:meth:`cflib.widgets.TrainingExplorer.picture` stores this image beside the live
widget, for viewers that cannot run widgets (GitHub, an export to Markdown or
PDF). It shows what the live SVG of :mod:`cflib.svg_curves` shows: training and
validation RMSE per iteration with the baselines and the previous run (left),
and the cost J on a log scale (right), under a title that says it is a picture.
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np

from .history import history_diverged
from .plots import PALETTE, place_legend, plot_cost_curves, plot_learning_curves

__all__ = ["explorer_figure", "picture_png"]


def explorer_figure(history, *, baselines, previous=None, ylim, title, method):
    """The explorer's two panels as a matplotlib figure (the caller closes it).

    Parameters
    ----------
    history : History
        The run shown: ``train_rmse``, ``val_rmse``, ``cost``, each of shape (n_iters,).
    baselines : dict of str -> float
        Validation RMSE of simple predictors: dashed horizontal lines.
    previous : sequence of float, optional
        Validation RMSE of the previous run, shape (m,): a dotted line (values >= 2 left out).
    ylim : (float, float)
        RMSE range of the left panel.
    title : str
        Left panel's title.
    method : str
        Name of the run in the right panel (the optimizer), shown when it diverged.

    Returns
    -------
    matplotlib Figure
    """
    cost = np.asarray(history.cost, dtype=float)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.2))
    if cost.size:
        plot_learning_curves(history, baselines=baselines, ax=left, legend="below", title=title)
    else:  # diverged at the first iteration: nothing to draw but the baselines
        for i, (name, value) in enumerate(baselines.items()):
            left.axhline(value, color=PALETTE[2 + i % (len(PALETTE) - 2)], ls="--", lw=1.2,
                         label=f"{name}: {value:.4f}")
        left.set_title(title)
    if previous is not None and len(previous):
        prev = np.asarray(previous, dtype=float)
        left.plot(np.arange(1, prev.size + 1), np.where(prev < 2.0, prev, np.nan), color=PALETTE[1],
                  lw=1, ls=":", alpha=0.8, label="validation, previous run")
    # Under the axes: inside, it covered the baselines or the curves.
    place_legend(left, "below", fontsize=9)
    left.set_ylim(*ylim)
    if cost.size:
        plot_cost_curves({method: history}, ax=right, title="Cost J (log scale)")
        if not history_diverged(history):  # one curve: the legend would only repeat the title
            right.get_legend().remove()
    else:
        right.set_title("Cost J: diverged at the first iteration")
    fig.tight_layout()
    return fig


def picture_png(fig, heading) -> bytes:
    """``fig`` with ``heading`` above it, as PNG data; the figure is closed."""
    fig.suptitle(heading, y=1.0, va="bottom", fontsize=11)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
