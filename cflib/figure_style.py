"""What every figure of the course shares: the palette, a new Axes when none is given, and the legend's place.

:mod:`cflib.plots` (training curves), :mod:`cflib.evaluation_plots` (the k x lambda
heatmap, the baseline ladder, predicted against actual), :mod:`cflib.movie_map`
and the explorer's pictures draw with these, so that one colour means one thing
across notebooks.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["PALETTE", "new_axes", "place_legend"]

# Distinct colours that stay readable for the common colour-vision deficiencies
# (Okabe & Ito's palette without yellow, which vanishes on white).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000")


def new_axes(ax, figsize):
    """``ax`` itself, or the Axes of a new figure of size ``figsize`` (inches) when ``ax`` is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def place_legend(ax, where="best", **kwargs):
    """Draw the legend of ``ax`` inside it (``"best"``) or under it (``"below"``).

    ``"below"`` centres the legend under the x label, clear of the data; it
    is counted by ``tight_layout`` and by ``bbox_inches="tight"``.
    """
    if where == "best":
        return ax.legend(loc="best", **kwargs)
    if where != "below":
        raise ValueError(f"legend must be 'best' or 'below', got {where!r}")
    # borderaxespad is in font sizes: clears the tick labels and the x label.
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=3.6, frameon=False,
                     **kwargs)
