"""Figures for the course: each function draws one message on one Axes.

Every function takes ``ax=None`` (a new figure is made when it is None) and
returns the Axes, so a notebook decides the layout::

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    plot_cost_curves(histories, x="iteration", ax=left)
    plot_cost_curves(histories, x="time", ax=right)
    plt.show()

The functions work on plain arrays and on training histories. A *history* is
any object (or dict) with the per-iteration sequences ``cost``,
``train_rmse``, ``val_rmse`` and ``time`` (seconds since the start of
training), as returned by :func:`cflib.train.fit`; "diverged" is decided by
:func:`cflib.history.is_diverged`, the rule ``fit`` and the explorer use.

This module holds the figures of training and evaluation (curves, the k x
lambda heatmap, the baseline ladder, predicted against actual) and the shared
palette and legend helper; the movie map of notebook 07, with its label
placement, is :mod:`cflib.movie_map`.
"""

from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from .history import finite_prefix, is_diverged
from .ratings import check_scale

__all__ = [
    "plot_learning_curves",
    "place_legend",
    "plot_cost_curves",
    "plot_sweep_heatmap",
    "plot_predicted_vs_actual",
    "plot_baseline_ladder",
]

# Distinct colours that stay readable for the common colour-vision deficiencies
# (Okabe & Ito's palette without yellow, which vanishes on white).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000")


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _series(history, name):
    """``history.name`` (or ``history[name]``) as a float array, or None if absent/empty."""
    if isinstance(history, dict):
        values = history.get(name)
    else:
        values = getattr(history, name, None)
    if values is None:
        return None
    values = [np.nan if v is None else v for v in values]
    arr = np.asarray(values, dtype=float)
    if arr.size == 0 or np.all(np.isnan(arr)):
        return None
    return arr


# ------------------------------------------------------------ training curves
def plot_learning_curves(history, *, baselines=None, ax=None, title=None, start=1, legend="best"):
    """Training and validation RMSE against iteration, with baselines.

    The message: where validation RMSE stops falling (or turns up) while
    training RMSE keeps falling, the model is fitting noise.

    Parameters
    ----------
    history : object or dict
        With ``train_rmse`` and optionally ``val_rmse`` (one value per iteration).
    baselines : dict of str -> float, optional
        Validation RMSE of simple predictors (e.g. ``{"movie mean": 1.02}``),
        drawn as horizontal dashed lines named in the legend.
    ax : matplotlib Axes, optional
    title : str, optional
    start : int, default 1
        Number of the first iteration (x value of the first point).
    legend : {"best", "below"}
        Where the legend goes: inside the axes where it covers least, or
        under the axes (and its x label), where it never covers a curve or a
        baseline. Use ``"below"`` when the curves fill the axes.

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, (6.4, 4.0))
    train = _series(history, "train_rmse")
    val = _series(history, "val_rmse")
    if train is None and val is None:
        raise ValueError("history has neither train_rmse nor val_rmse values to plot")
    if train is not None:
        ax.plot(np.arange(start, start + train.size), train, color=PALETTE[0], lw=2, label="training RMSE")
    if val is not None:
        it = np.arange(start, start + val.size)
        best = int(np.nanargmin(val))
        ax.plot(it, val, color=PALETTE[1], lw=2,
                label=f"validation RMSE (lowest {val[best]:.4f} at iteration {it[best]})")
        ax.plot(it[best], val[best], "o", color=PALETTE[1], ms=7, zorder=3)
    for i, (name, value) in enumerate((baselines or {}).items()):
        # Labelled in the legend, not on the line: the curves often run along a baseline.
        color = PALETTE[2 + i % (len(PALETTE) - 2)]
        ax.axhline(value, color=color, ls="--", lw=1.2, label=f"{name}: {value:.4f}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("RMSE (stars)")
    ax.set_title(title or "Training and validation error")
    ax.grid(alpha=0.3)
    place_legend(ax, legend)
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


def plot_cost_curves(histories, *, x="iteration", ax=None, title=None, logy=True, relative=False, floor=None):
    """Cost J of several runs against iteration or wall time.

    Runs whose cost becomes infinite or NaN, or ends above where it started,
    are marked "diverged": drawn up to their last finite value with a cross, or,
    when they climb past the top of the scale, up to where they leave it, marked
    with a caret and a note of the value J reaches.

    Parameters
    ----------
    histories : dict of str -> history
        Label of each run (e.g. the optimizer) and its history: ``cost`` (J
        after each iteration), ``time`` when ``x="time"``, and optionally
        ``initial_cost`` (J before the first iteration, drawn at 0) and
        ``diverged`` (a flag set by the trainer).
    x : {"iteration", "time"}
        Horizontal axis: iteration number, or seconds since training started.
    ax : matplotlib Axes, optional
    title : str, optional
    logy : bool, default True
        Logarithmic cost axis (costs fall over orders of magnitude).
    relative : bool, default False
        Plot ``J - J_min`` where ``J_min`` is ``floor``, or by default the lowest
        cost reached by any run: shows how far each run is from the best, on a
        log axis. With the default, the run that reaches ``J_min`` dives towards
        0 at its last iterations only because it is measured against itself:
        pass a ``floor`` from a longer run to avoid that.
    floor : float, optional
        The reference cost subtracted when ``relative`` (e.g. J after many more
        iterations); must be finite and at most every cost drawn.

    Returns
    -------
    matplotlib Axes
    """
    if x not in ("iteration", "time"):
        raise ValueError(f"x must be 'iteration' or 'time', got {x!r}")
    if not histories:
        raise ValueError("histories is empty: pass a dict like {'ALS': history, ...}")
    ax = _axes(ax, (6.4, 4.0))
    runs = {}
    for name, h in histories.items():
        c = _series(h, "cost")
        if c is None:
            raise ValueError(f"history {name!r} has no cost values")
        if x == "iteration":
            xs = np.arange(1, c.size + 1, dtype=float)
        else:
            xs = _series(h, "time")
            if xs is None or xs.size != c.size:
                raise ValueError(f"history {name!r} needs one time value per cost value for x='time'")
        # J at the initialization, when the history records it, is drawn at iteration / time 0.
        initial = h.get("initial_cost") if isinstance(h, dict) else getattr(h, "initial_cost", None)
        if initial is not None and np.isfinite(initial):
            c, xs = np.r_[float(initial), c], np.r_[0.0, xs]
        flagged = h.get("diverged", False) if isinstance(h, dict) else getattr(h, "diverged", False)
        # The one divergence rule (cflib.history); c[0] is J at the start when recorded.
        runs[name] = (xs, c, is_diverged(c, c[0], bool(flagged)))
    lowest = min(np.nanmin(np.where(np.isfinite(c), c, np.nan)) for _, c, _ in runs.values())
    given = floor
    if floor is None:
        floor = lowest
    elif not (isinstance(floor, (int, float, np.floating, np.integer)) and np.isfinite(floor)) or floor > lowest:
        raise ValueError(f"floor must be a finite number at most the lowest cost drawn ({lowest:.6g}), got {floor!r}")
    tame = [c for (_, c, diverged) in runs.values() if not diverged]
    # Highest cost worth showing: above the tame runs (or every run's start) by a
    # margin. A diverging run climbs by hundreds of orders of magnitude (and a log
    # axis up to 1e275 cannot even be drawn): it leaves through this ceiling.
    ref = tame or [c[:1] for _, c, _ in runs.values()]
    ceiling = max(float(np.max(c)) for c in ref)
    ceiling = ceiling * (3.0 if logy else 1.0) + (0.0 if logy else 0.3 * abs(ceiling - floor) + 1.0)
    for i, (name, (xs, c, diverged)) in enumerate(runs.items()):
        color = PALETTE[i % len(PALETTE)]
        n_ok = finite_prefix(c)
        ys = c[:n_ok] - floor if relative else c[:n_ok].copy()
        if relative:
            ys[ys <= 0] = np.nan  # the run that reached the floor: log(0) is not drawn
        label = f"{name} (diverged)" if diverged else name
        above = np.flatnonzero(ys > ceiling) if diverged and not relative else np.zeros(0, int)
        # A run leaving the scale is drawn up to its first point above the ceiling (the axes cut
        # the segment at their top edge) and no further: never flat along the edge, as if it had
        # levelled off there.
        end = int(above[0]) + 1 if above.size else n_ok
        ax.plot(xs[:end], ys[:end], color=color, lw=2, label=label)
        if diverged and n_ok:
            if above.size:  # a caret where the curve leaves through the top of the axes
                exit_x = scale_exit(xs[:end], ys[:end], ceiling, logy)
                ax.plot(exit_x, ceiling, "^", color=color, ms=10, clip_on=False)
            else:
                ax.plot(xs[n_ok - 1], ys[n_ok - 1], "x", color=color, ms=10, mew=2.5)
            if not relative and (above.size or n_ok < c.size):
                last = "inf" if n_ok < c.size else f"{ys[n_ok - 1]:.1e}"
                anchor = exit_x if above.size else xs[n_ok - 1]
                # written towards the middle of the axes, so that it never runs past their edge
                span = [min(float(r[0][0]) for r in runs.values()), max(float(r[0][-1]) for r in runs.values())]
                left = anchor < (span[0] + span[1]) / 2
                ax.annotate(f"diverged: J reaches {last}" + (" (off the scale)" if above.size else ""),
                            (anchor, ceiling if above.size else ys[n_ok - 1]),
                            xytext=(6 if left else -6, -14), textcoords="offset points",
                            ha="left" if left else "right", va="top", color=color, fontsize=9)
    if logy:
        ax.set_yscale("log")
    if not relative and len(tame) < len(runs):
        lo = min(float(np.min(c[:finite_prefix(c)])) for _, c, _ in runs.values())
        hi = ceiling
        if logy:
            ax.set_ylim(max(lo, 1e-300) / 1.5, hi)
        else:
            pad = 0.05 * (hi - lo) or 0.1 * abs(hi) or 1.0
            ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("iteration" if x == "iteration" else "wall time (s)")
    ax.set_ylabel(("J - lowest J reached" if given is None else "J - reference J") if relative else "cost J")
    ax.set_title(title or ("Cost against iteration" if x == "iteration" else "Cost against wall time"))
    ax.grid(alpha=0.3, which="both" if logy else "major")
    if logy:
        lo, hi = ax.get_ylim()
        if 0 < lo and hi / lo < 10:
            # Less than a decade: the default labels read "3.7x10^4" on every minor tick.
            plain = FuncFormatter(lambda v, _: f"{v:,.6g}")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
    ax.legend()
    return ax


def scale_exit(xs, ys, level, logy):
    """The x where the polyline (xs, ys), whose last point alone lies above ``level``, crosses it."""
    if len(xs) < 2:
        return float(xs[-1])
    (x0, x1), (y0, y1) = xs[-2:], ys[-2:]
    if logy and y0 > 0:
        t = (np.log(level) - np.log(y0)) / (np.log(y1) - np.log(y0))
    else:
        t = (level - y0) / (y1 - y0)
    return float(x0 + np.clip(t, 0.0, 1.0) * (x1 - x0))


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
    ax = _axes(ax, (1.2 * len(lams) + 2.5, 0.7 * len(ks) + 2.0))
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
    ax = _axes(ax, (6.4, 0.55 * len(items) + 1.4))
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
    ax = _axes(ax, (6.4, 4.4))
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
