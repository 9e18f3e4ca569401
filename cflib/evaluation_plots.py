"""Figures of evaluation and tuning: the k x lambda heatmap, the baseline ladder, predicted against actual.

Each function draws one message on one Axes, takes ``ax=None`` (a new figure is
made when it is None) and returns the Axes, as in :mod:`cflib.plots`, which also
exports them (``from cflib.plots import plot_baseline_ladder`` keeps working).
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from .figure_style import PALETTE, new_axes
from .ratings import check_scale

__all__ = ["plot_sweep_heatmap", "plot_baseline_ladder", "plot_predicted_vs_actual"]


# -------------------------------------------------------------------- sweeps
def plot_sweep_heatmap(values, ks, lams, *, ax=None, title=None, fmt=".3f", label="validation RMSE"):
    """Heatmap of validation RMSE over a grid of k (rows) and lam (columns).

    Every cell is annotated with its value; the best (lowest) cell is outlined.

    Parameters
    ----------
    values : array_like of shape (len(ks), len(lams))
        ``values[a, b]`` is the score for ``k = ks[a]`` and ``lam = lams[b]``.
    ks, lams : sequences
    ax : matplotlib Axes, optional
    title : str, optional
    fmt : str
        Format of the annotations.
    label : str
        Colour-bar label.

    Returns
    -------
    matplotlib Axes
    """
    values = np.asarray(values, dtype=float)
    if values.shape != (len(ks), len(lams)):
        raise ValueError(f"values must have shape (len(ks), len(lams)) = {(len(ks), len(lams))}, "
                         f"got {values.shape}")
    ax = new_axes(ax, (1.2 * len(lams) + 2.5, 0.7 * len(ks) + 2.0))
    finite = np.isfinite(values)
    if not finite.any():
        raise ValueError("values has no finite entry to plot")
    vmin, vmax = np.min(values[finite]), np.max(values[finite])
    im = ax.imshow(values, cmap="viridis_r", vmin=vmin, vmax=vmax, aspect="auto", origin="lower")
    ax.figure.colorbar(im, ax=ax, label=f"{label} (lower is better)")
    mid = 0.5 * (vmin + vmax)
    for a in range(values.shape[0]):
        for b in range(values.shape[1]):
            v = values[a, b]
            text = format(v, fmt) if np.isfinite(v) else "n/a"
            # viridis_r: low values are yellow (light), high values purple (dark).
            color = "black" if (np.isfinite(v) and v < mid) else "white"
            ax.text(b, a, text, ha="center", va="center", fontsize=9, color=color)
    best = np.unravel_index(np.nanargmin(np.where(finite, values, np.nan)), values.shape)
    ax.add_patch(Rectangle((best[1] - 0.5, best[0] - 0.5), 1, 1, fill=False, ec="red", lw=3))
    ax.set_xticks(range(len(lams)), [f"{v:g}" for v in lams])
    ax.set_yticks(range(len(ks)), [f"{v:g}" for v in ks])
    ax.set_xlabel("regularization lam")
    ax.set_ylabel("number of features k")
    ax.set_title(title or f"{label}: best k={ks[best[0]]:g}, lam={lams[best[1]]:g} "
                          f"({values[best]:{fmt}})")
    return ax


def plot_baseline_ladder(ladder, *, ax=None, title=None, highlight=None, xlim=None):
    """Dots of RMSE for a list of predictors, best at the bottom, each step's gain labelled.

    Dots, not bars: a bar is read by its length, which is only honest on an
    axis that starts at 0, where differences of a few hundredths vanish. A
    dot is read by its position on the shared RMSE axis, and the arrow from
    each rung to the next is labelled with what that step gains, in stars.

    Parameters
    ----------
    ladder : sequence of (str, float)
        ``(name, rmse)`` pairs, e.g. from :func:`cflib.evaluate.baseline_ladder`.
    highlight : str, optional
        Name of a predictor to draw in a contrasting colour (e.g. our model).
    xlim : (float, float), optional
        Range of the RMSE axis. Give two ladders the same range to compare them
        side by side; by default the axis spans the values with room for the labels.

    Returns
    -------
    matplotlib Axes
    """
    if not ladder:
        raise ValueError("ladder is empty: pass a list of (name, rmse) pairs")
    items = sorted(((str(n), float(v)) for n, v in ladder), key=lambda p: p[1])  # best at the bottom
    vals = np.array([v for _, v in items])
    if not np.all(np.isfinite(vals)):
        raise ValueError(f"every RMSE in ladder must be finite, got {[v for _, v in items]}")
    ax = new_axes(ax, (6.4, 0.55 * len(items) + 1.4))
    ys = np.arange(len(items))
    ax.scatter(vals, ys, s=70, zorder=3, color=[PALETTE[1] if n == highlight else PALETTE[0] for n, _ in items])
    for y, v in zip(ys, vals):
        ax.annotate(f"{v:.4f}", (v, y), xytext=(8, 0), textcoords="offset points", va="center", fontsize=9)
    for y in ys[:-1]:
        # From the rung above (worse) down to this one: the step's gain in stars.
        ax.annotate("", (vals[y], y), (vals[y + 1], y + 1),
                    arrowprops=dict(arrowstyle="->", color="0.45", lw=1.2, shrinkA=6, shrinkB=6))
        ax.annotate(f"-{vals[y + 1] - vals[y]:.3f}", (0.5 * (vals[y] + vals[y + 1]), y + 0.5),
                    xytext=(-6, 0), textcoords="offset points", ha="right", va="center", fontsize=8.5,
                    color="0.3")
    ax.set_yticks(ys, [n for n, _ in items])
    ax.set_ylim(-0.5, len(items) - 0.5)
    if xlim is None:
        span = max(vals.max() - vals.min(), 0.05)
        xlim = (vals.min() - 0.3 * span, vals.max() + 0.25 * span)
    ax.set_xlim(*xlim)
    ax.set_xlabel("RMSE (stars), lower is better; arrows: the gain of each step")
    ax.set_title(title or "Each step down the ladder must beat the one above")
    ax.grid(axis="x", alpha=0.3)
    return ax


# ---------------------------------------------------------- predicted vs true
def plot_predicted_vs_actual(predicted, actual, *, ax=None, title=None, levels=(1, 2, 3, 4, 5), clip=None):
    """Distribution of predictions for each true rating (violins), with the ideal.

    The message: a perfect model would put every violin on its red marker;
    real models pull extreme ratings towards the mean (1s are predicted too
    high, 5s too low).

    Every violin is drawn with the same width, whatever the number of
    ratings behind it; that number is written under each (``n=``), and the
    x label says so.

    Parameters
    ----------
    predicted, actual : array_like of shape (n,)
        Predicted and true ratings of the same entries.
    levels : sequence of int
        The possible true ratings.
    clip : (float, float), optional
        Clip the predictions to this range before drawing (``(1, 5)``, as
        :func:`cflib.evaluate.rmse` scores them). Pass the unclipped
        predictions: the clip bounds are drawn as dotted lines and the legend
        says how many predictions each bound moved, which a violin cut off at
        the bound cannot show.

    Returns
    -------
    matplotlib Axes
    """
    predicted = np.asarray(predicted, dtype=float).ravel()
    actual = np.asarray(actual, dtype=float).ravel()
    if predicted.shape != actual.shape:
        raise ValueError(f"predicted and actual must have the same length, got {predicted.size} and {actual.size}")
    if clip is not None:
        lo, hi = check_scale(clip, "clip")
        n_low, n_high = int(np.sum(predicted < lo)), int(np.sum(predicted > hi))
        predicted = np.clip(predicted, lo, hi)
    ax = new_axes(ax, (6.4, 4.4))
    present = [lv for lv in levels if np.any(actual == lv)]
    if not present:
        raise ValueError(f"no actual rating equals one of {tuple(levels)}")
    groups = [predicted[actual == lv] for lv in present]
    parts = ax.violinplot(groups, positions=present, widths=0.8, showextrema=False)
    for body in parts["bodies"]:
        body.set_facecolor(PALETTE[0])
        body.set_alpha(0.45)
    means = [g.mean() for g in groups]
    ax.plot(present, means, "o-", color=PALETTE[0], lw=1.5, label="mean prediction")
    ax.plot(present, present, "_", color="red", ms=28, mew=2.5, label="perfect prediction")
    if clip is not None:
        for bound in (lo, hi):
            ax.axhline(bound, color="0.35", ls=":", lw=1.2, zorder=0)
        ax.plot([], [], color="0.35", ls=":", lw=1.2,
                label=f"predictions clipped to {lo:g}..{hi:g}:\n{n_low:,} raised to {lo:g}, {n_high:,} lowered to {hi:g}")
    ax.set_xticks(present, [f"{lv:g}\n(n={g.size})" for lv, g in zip(present, groups)])
    ax.set_xlabel("true rating (stars); every violin has the same width, whatever its n")
    ax.set_ylabel("predicted rating (stars)")
    ax.set_title(title or "Predictions for each true rating")
    ax.grid(axis="y", alpha=0.3)
    # Outside the axes: the violins fill the whole height, a legend inside covers one.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax
