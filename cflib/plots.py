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

This module holds the figures of training (learning and cost curves) and
exports those of evaluation and tuning, written in :mod:`cflib.evaluation_plots`
(the k x lambda heatmap, the baseline ladder, predicted against actual); the
palette and the legend helper are :mod:`cflib.figure_style`'s, exported here
too; the movie map of notebook 07, with its label placement, is
:mod:`cflib.movie_map`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter

from .evaluation_plots import plot_baseline_ladder, plot_predicted_vs_actual, plot_sweep_heatmap
from .figure_style import PALETTE, new_axes, place_legend
from .history import finite_prefix, is_diverged

__all__ = [
    "plot_learning_curves",
    "place_legend",
    "plot_cost_curves",
    "plot_sweep_heatmap",
    "plot_predicted_vs_actual",
    "plot_baseline_ladder",
]


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
    ax = new_axes(ax, (6.4, 4.0))
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
    ax = new_axes(ax, (6.4, 4.0))
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
