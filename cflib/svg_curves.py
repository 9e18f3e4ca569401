"""The training explorer's live figure as an SVG image, written without matplotlib.

One move of a :class:`cflib.widgets.TrainingExplorer` control redraws two
panels: training and validation RMSE per iteration with the baselines and the
previous run (left), and the cost J on a log scale (right). Building that
figure with matplotlib and encoding it as PNG cost 0.25 to 0.35 s of CPU per
move (``benchmarks/README.md``, widget section), more than the training
itself; writing the same panels as SVG markup takes a few milliseconds, and
the browser draws them. The explorer's stored picture for viewers without
widgets (:meth:`TrainingExplorer.picture`) is still a matplotlib PNG.

:func:`explorer_svg` returns the markup of the whole figure;
:func:`svg_img` wraps it in an ``<img>`` tag (a ``data:`` URL), so that the
figure is an image to the page: its styles cannot leak into the notebook, and
it is stored with the widget state like any other image.

Coordinates: every panel maps data ``(x, y)`` to pixels with
``px = left + (x - x0) / (x1 - x0) * width`` and
``py = top + (1 - (t(y) - t(y0)) / (t(y1) - t(y0))) * height``,
``t`` the identity or ``log10``.
"""

from __future__ import annotations

import base64
import html
import math

import numpy as np

from .history import finite_prefix, is_diverged
from .plots import PALETTE, scale_exit

__all__ = ["explorer_svg", "svg_img", "nice_ticks"]

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
#: Figure width and the two panels' axes (left x, top y, width, height), in pixels.
WIDTH = 1180
PANELS = ((72, 40, 480, 300), (672, 40, 480, 300))
LEGEND_ROW = 19


def nice_ticks(lo: float, hi: float, n: int = 6, integer: bool = False) -> np.ndarray:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering ``[lo, hi]``, about ``n`` of them.

    Returns
    -------
    ndarray of shape (m,)
        The ticks inside ``[lo, hi]``, ascending.
    """
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return np.array([lo]) if np.isfinite(lo) else np.array([])
    power = math.floor(math.log10((hi - lo) / max(n - 1, 1)))
    steps = [m * 10.0 ** e for e in (power - 1, power, power + 1) for m in (1, 2, 5)]
    if integer:
        steps = [round(v) for v in steps if v >= 1 - 1e-9] or [1]

    def count(step):
        return math.floor(hi / step + 1e-9) - math.ceil(lo / step - 1e-9) + 1

    step = min(steps, key=lambda v: (abs(count(v) - n), v))  # the count nearest n; the smaller step on a tie
    first = math.ceil(lo / step - 1e-9) * step
    ticks = first + step * np.arange(int(math.floor((hi - first) / step + 1e-9)) + 1)
    return ticks[(ticks >= lo - 1e-12 * abs(step)) & (ticks <= hi + 1e-12 * abs(step))]


def _decimals(ticks) -> int:
    """Decimals that tell the ticks apart (0.1 steps: 1, 0.05 steps: 2, integer steps: 0)."""
    if len(ticks) < 2:
        return 2
    step = float(np.min(np.diff(ticks)))
    return max(0, math.ceil(-math.log10(step) - 1e-9))


def _text(x, y, text, *, size=12, anchor="middle", color="#222", extra=""):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{color}"'
            f'{extra}>{html.escape(text)}</text>')


def _power_label(x, y, exponent, anchor="end"):
    """The tick label 10^exponent, with the exponent raised."""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="12" text-anchor="{anchor}" fill="#222">10'
            f'<tspan dy="-6" font-size="9">{exponent}</tspan></text>')


def _clipped_runs(xs, ys, lo, hi):
    """The polyline through the finite points, cut where a value is not finite and clipped to ``lo <= y <= hi``.

    Returns a list of runs, each a list of ``(x, y)`` with at least two points.
    """
    runs, current, prev = [], [], None

    def flush():
        if len(current) > 1:
            runs.append(list(current))
        current.clear()

    for x, y in zip(xs, ys):
        x, y = float(x), float(y)
        if not np.isfinite(y):
            flush()
            prev = None
            continue
        if prev is None:
            if lo <= y <= hi:
                current.append((x, y))
            prev = (x, y)
            continue
        (x0, y0), dx, dy = prev, x - prev[0], y - prev[1]
        t0, t1 = 0.0, 1.0
        for p, q in ((-dy, y0 - lo), (dy, hi - y0)):  # Liang-Barsky, y only
            if p == 0:
                if q < 0:
                    t0, t1 = 1.0, 0.0
            elif p < 0:
                t0 = max(t0, q / p)
            else:
                t1 = min(t1, q / p)
        prev = (x, y)
        if t0 > t1:  # the whole segment is outside
            flush()
            continue
        if t0 > 0 or not current:
            flush()
            current.append((x0 + t0 * dx, y0 + t0 * dy))
        current.append((x0 + t1 * dx, y0 + t1 * dy))
        if t1 < 1:
            flush()
    flush()
    return runs


class _Panel:
    """One pair of axes: a data-to-pixel map and the SVG elements drawn in it."""

    def __init__(self, index, box, xlim, ylim, log=False):
        self.id = f"cflib-panel-{index}"
        self.left, self.top, self.width, self.height = box
        self.x0, self.x1 = xlim
        self.log = log
        t = np.log10 if log else (lambda v: v)
        self.t0, self.t1 = float(t(ylim[0])), float(t(ylim[1]))
        self.y0, self.y1 = ylim
        self.parts = []

    def px(self, x):
        return self.left + (x - self.x0) / (self.x1 - self.x0) * self.width

    def py(self, y):
        t = math.log10(y) if self.log else y
        return self.top + (1.0 - (t - self.t0) / (self.t1 - self.t0)) * self.height

    def line(self, xs, ys, color, width=2.0, dash=None, opacity=1.0):
        ys = np.asarray(ys, dtype=float)
        if self.log:
            ys = np.where(ys > 0, ys, np.nan)
        # A run that leaves the axes is cut a little beyond them (the clip path does the rest):
        # a diverging curve reaches 1e190, which no renderer draws well.
        if self.log:
            span = self.t1 - self.t0
            lo, hi = 10.0 ** (self.t0 - span), 10.0 ** (self.t1 + span)
        else:
            span = self.y1 - self.y0
            lo, hi = self.y0 - span, self.y1 + span
        style = f' stroke-dasharray="{dash}"' if dash else ""
        for run in _clipped_runs(xs, ys, lo, hi):
            points = " ".join(f"{self.px(x):.1f},{self.py(y):.1f}" for x, y in run)
            self.parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="{width}"'
                              f' stroke-linejoin="round" opacity="{opacity}"{style}/>')

    def hline(self, y, color, dash="6,4", width=1.3):
        if self.y0 <= y <= self.y1:
            py = self.py(y)
            self.parts.append(f'<line x1="{self.left}" x2="{self.left + self.width}" y1="{py:.1f}" y2="{py:.1f}"'
                              f' stroke="{color}" stroke-width="{width}" stroke-dasharray="{dash}"/>')

    def dot(self, x, y, color, r=4.5):
        self.parts.append(f'<circle cx="{self.px(x):.1f}" cy="{self.py(y):.1f}" r="{r}" fill="{color}"/>')

    def cross(self, x, y, color, r=6):
        cx, cy = self.px(x), self.py(y)
        self.parts.append(f'<path d="M{cx - r:.1f},{cy - r:.1f}L{cx + r:.1f},{cy + r:.1f}M{cx - r:.1f},{cy + r:.1f}'
                          f'L{cx + r:.1f},{cy - r:.1f}" stroke="{color}" stroke-width="2.5"/>')

    def caret(self, x, color, r=7):
        """An upward triangle with its tip on the top edge at ``x``: where a curve leaves the axes."""
        cx, cy = self.px(x), self.top
        self.parts.append(f'<path d="M{cx:.1f},{cy:.1f}L{cx + r:.1f},{cy + 1.6 * r:.1f}L{cx - r:.1f},'
                          f'{cy + 1.6 * r:.1f}Z" fill="{color}"/>')

    def svg(self, title, xlabel, ylabel):
        """The panel's markup: grid, ticks, labels, title, then the clipped data."""
        L, T, W, H = self.left, self.top, self.width, self.height
        out = [f'<clipPath id="{self.id}"><rect x="{L}" y="{T}" width="{W}" height="{H}"/></clipPath>']
        grid = '<line x1="{0:.1f}" x2="{1:.1f}" y1="{2:.1f}" y2="{3:.1f}" stroke="#d9d9d9" stroke-width="{4}"/>'
        for x in nice_ticks(self.x0, self.x1, 7, integer=True):
            px = self.px(x)
            out.append(grid.format(px, px, T, T + H, 0.8))
            out.append(_text(px, T + H + 17, f"{x:g}"))
        for y, label, major in self._yticks():
            py = self.py(y)
            out.append(grid.format(L, L + W, py, py, 0.8 if major else 0.5))
            if label is not None:
                out.append(label(L - 6, py + 4) if callable(label) else _text(L - 6, py + 4, label, anchor="end"))
        out.append(f'<g clip-path="url(#{self.id})">' + "".join(self.parts) + "</g>")
        out.append(f'<rect x="{L}" y="{T}" width="{W}" height="{H}" fill="none" stroke="#333" stroke-width="1"/>')
        out.append(_text(L + W / 2, T - 12, title, size=15))
        out.append(_text(L + W / 2, T + H + 38, xlabel, size=13))
        out.append(_text(L - 54, T + H / 2, ylabel, size=13, extra=f' transform="rotate(-90 {L - 54} {T + H / 2})"'))
        return "".join(out)

    def _yticks(self):
        """(value, label or None, major) of the y axis: round values, or powers of ten on a log axis."""
        if not self.log:
            ticks = nice_ticks(self.y0, self.y1, 7)
            d = _decimals(ticks)
            return [(y, f"{y:.{d}f}", True) for y in ticks]
        if self.y1 / self.y0 < 10:  # less than a decade: round plain numbers, as matplotlib's explorer figure
            return [(y, f"{y:,.6g}", True) for y in nice_ticks(self.y0, self.y1, 6) if y > 0]
        e0, e1 = math.ceil(self.t0 - 1e-9), math.floor(self.t1 + 1e-9)
        every = max(1, math.ceil((e1 - e0 + 1) / 8))
        ticks = [(10.0 ** e, (lambda x, y, e=e: _power_label(x, y, e)) if (e - e0) % every == 0 else None, True)
                 for e in range(e0, e1 + 1)]
        if every == 1:  # minor grid at 2..9 times each power
            ticks += [(m * 10.0 ** e, None, False) for e in range(e0 - 1, e1 + 1) for m in range(2, 10)
                      if self.y0 <= m * 10.0 ** e <= self.y1]
        return ticks


def _legend(x, y, entries):
    """Legend rows under a panel: ``(label, color, width, dash, marker)`` each; returns markup and height."""
    parts = []
    for i, (label, color, width, dash, marker) in enumerate(entries):
        cy = y + i * LEGEND_ROW
        style = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{x}" x2="{x + 30}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="{color}"'
                     f' stroke-width="{width}"{style}/>')
        if marker:
            parts.append(f'<circle cx="{x + 15}" cy="{cy:.1f}" r="4" fill="{color}"/>')
        parts.append(_text(x + 38, cy + 4, label, size=12.5, anchor="start"))
    return "".join(parts), len(entries) * LEGEND_ROW


def _auto_limits(lo, hi, log=False, margin=0.05):
    """Data limits widened by ``margin`` of the span (in log10 on a log axis), as matplotlib's autoscale."""
    if log:
        a, b = math.log10(lo), math.log10(hi)
        pad = margin * (b - a) if b > a else 0.05
        return 10.0 ** (a - pad), 10.0 ** (b + pad)
    pad = margin * (hi - lo) if hi > lo else 0.5
    return lo - pad, hi + pad


def explorer_svg(history, *, baselines, previous=None, ylim, title, cost_label) -> str:
    """The explorer's two panels as one SVG document.

    Parameters
    ----------
    history : History
        The run shown: ``train_rmse``, ``val_rmse`` and ``cost``, each of shape (n_iters,),
        and ``initial_cost`` (J at the start, drawn at iteration 0) when recorded.
    baselines : dict of str -> float
        Validation RMSE of simple predictors: dashed horizontal lines.
    previous : sequence of float, optional
        Validation RMSE of the previous run, shape (m,): a dotted line (values >= 2 left out).
    ylim : (float, float)
        RMSE range of the left panel.
    title : str
        Left panel's title.
    cost_label : str
        Name of the run in the right panel's legend (the optimizer), shown when it diverged.

    Returns
    -------
    str
        ``<svg ...>...</svg>``, ``WIDTH`` pixels wide.
    """
    train = np.asarray(history.train_rmse, dtype=float)
    val = np.asarray(history.val_rmse, dtype=float)
    cost = np.asarray(history.cost, dtype=float)
    prev = np.asarray(previous if previous is not None else [], dtype=float)
    prev = np.where(prev < 2.0, prev, np.nan)
    n_x = max(train.size, val.size, prev.size, 1)
    left = _Panel(0, PANELS[0], _auto_limits(1.0, float(n_x)), ylim)
    entries = []
    if train.size:
        left.line(np.arange(1, train.size + 1), train, PALETTE[0])
        entries.append(("training RMSE", PALETTE[0], 2, None, False))
    if np.isfinite(val).any():
        best = int(np.nanargmin(np.where(np.isfinite(val), val, np.nan)))
        left.line(np.arange(1, val.size + 1), val, PALETTE[1])
        left.dot(best + 1, val[best], PALETTE[1])
        entries.append((f"validation RMSE (lowest {val[best]:.4f} at iteration {best + 1})", PALETTE[1], 2, None,
                        True))
    for i, (name, value) in enumerate(baselines.items()):
        color = PALETTE[2 + i % (len(PALETTE) - 2)]
        left.hline(value, color)
        entries.append((f"{name}: {value:.4f}", color, 1.3, "6,4", False))
    if prev.size:
        left.line(np.arange(1, prev.size + 1), prev, PALETTE[1], width=1.2, dash="1.5,3", opacity=0.85)
        entries.append(("validation, previous run", PALETTE[1], 1.2, "1.5,3", False))
    legend_y = PANELS[0][1] + PANELS[0][3] + 62
    left_legend, left_height = _legend(PANELS[0][0] + 90, legend_y, entries)
    right_svg, right_legend, right_height = _cost_panel(history, cost, cost_label, legend_y)
    height = legend_y + max(left_height, right_height)
    body = (left.svg(title, "iteration", "RMSE (stars)") + left_legend + right_svg + right_legend)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="{FONT}">'
            f'<rect width="{WIDTH}" height="{height}" fill="white"/>{body}</svg>')


def _cost_panel(history, cost, label, legend_y):
    """The right panel: J per iteration on a log axis, cut at a ceiling when the run diverges.

    The rules are those of :func:`cflib.plots.plot_cost_curves` for one run.
    """
    box = PANELS[1]
    if cost.size == 0:
        panel = _Panel(1, box, (0.0, 1.0), (1.0, 10.0), log=True)
        return panel.svg("Cost J: diverged at the first iteration", "iteration", "cost J"), "", 0
    initial = getattr(history, "initial_cost", None)
    xs = np.arange(1, cost.size + 1, dtype=float)
    if initial is not None and np.isfinite(initial):
        cost, xs = np.r_[float(initial), cost], np.r_[0.0, xs]
    diverged = is_diverged(cost, cost[0], bool(getattr(history, "diverged", False)))
    n_ok = finite_prefix(cost)
    ok = cost[:n_ok]
    positive = ok[ok > 0]
    lo = float(positive.min()) if positive.size else 1.0
    ceiling = 3.0 * float(np.max(cost[:1] if diverged else cost))
    above = np.flatnonzero(ok > ceiling) if diverged else np.zeros(0, int)
    end = int(above[0]) + 1 if above.size else n_ok  # through the first point off the scale, never along its edge
    if diverged:
        ylim = (max(lo, 1e-300) / 1.5, ceiling)
    else:
        ylim = _auto_limits(lo, float(positive.max()) if positive.size else 10.0, log=True)
    panel = _Panel(1, box, _auto_limits(float(xs[0]), float(xs[-1])), ylim, log=True)
    panel.line(xs[:end], ok[:end], PALETTE[0])
    legend, height = "", 0
    if diverged:
        if n_ok:
            if above.size:  # a caret where the curve leaves through the top
                x, y = scale_exit(xs[:end], ok[:end], ceiling, True), ceiling
                panel.caret(x, PALETTE[0])
            else:
                x, y = xs[n_ok - 1], ok[-1]
                panel.cross(x, y, PALETTE[0])
            if above.size or n_ok < cost.size:
                last = "inf" if n_ok < cost.size else f"{ok[-1]:.1e}"
                at_left = x < (xs[0] + xs[-1]) / 2
                note = f"diverged: J reaches {last}" + (" (off the scale)" if above.size else "")
                panel.parts.append(_text(panel.px(x) + (8 if at_left else -8), panel.py(y) + 20, note, size=12,
                                         anchor="start" if at_left else "end", color=PALETTE[0]))
        legend, height = _legend(box[0] + 90, legend_y, [(f"{label} (diverged)", PALETTE[0], 2, None, False)])
    return panel.svg("Cost J (log scale)", "iteration", "cost J"), legend, height


def svg_img(svg: str, alt: str) -> str:
    """An ``<img>`` tag showing the SVG document ``svg`` (a base64 ``data:`` URL), at most as wide as its cell."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(alt)}" '
            f'style="max-width:100%;height:auto">')
