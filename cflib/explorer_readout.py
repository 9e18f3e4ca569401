"""The training explorer's words: its readout line, the notes beside it, and how it writes settings and numbers.

:class:`cflib.widgets.TrainingExplorer` shows, under its controls, one line about the
run on display: its validation RMSE against the best baseline, or that it diverged, and
how many iterations ran (and, when fewer than asked for, why). :func:`readout_text` writes
that line (HTML) from the run's :class:`cflib.history.History`; :func:`budget_note` the
note added when the explorer's time budget held back the iterations chosen;
:func:`describe` the settings as the figure's title writes them; :func:`plain` turns
the HTML into the text of an image's ``alt`` and of the still picture's caption.
"""

from __future__ import annotations

import html
import re

import numpy as np

from .history import history_diverged

__all__ = ["readout_text", "budget_note", "describe", "plain", "fmt_rmse", "last_finite"]


def last_finite(values) -> float:
    """The last finite value of a series (None counts as missing), or NaN."""
    if values is None:
        return float("nan")
    arr = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr[-1]) if arr.size else float("nan")


def fmt_rmse(value) -> str:
    """An RMSE for the readout: 4 decimals when it is a sensible number, never 60 digits."""
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.4f}" if value < 100 else f"{value:.1e}"


def readout_text(history, n_iters: int, baselines: dict) -> str:
    """The readout of a run of ``n_iters`` iterations asked for, without its timing (HTML).

    Parameters
    ----------
    history : cflib.history.History
    n_iters : int
        The iterations the run was asked for; a run with fewer says it stopped early.
    baselines : dict of str -> float
        Validation RMSE of the baselines; the best one is the verdict's yardstick.
    """
    val = last_finite(history.val_rmse)
    n = len(history.cost)
    best = baselines and min(baselines.values())
    if history_diverged(history):
        finite = [v for v in history.val_rmse if np.isfinite(v)]
        lowest = min(finite) if finite else float("nan")
        return (f"<b style='color:#D55E00'>validation RMSE: diverged</b> after {n} iterations "
                f"(lowest before that {fmt_rmse(lowest)}): lower the step size")
    if best and val < best:
        verdict = f" &middot; beats the best baseline by {best - val:.4f}"
    elif best:
        verdict = f" &middot; worse than the best baseline ({best:.4f})"
    else:
        verdict = ""
    done = (f"{n} iterations" if n >= n_iters else
            f"{n} of {n_iters} iterations (the optimizer stopped early: its own stopping test was met)")
    return (f"<b>validation RMSE {fmt_rmse(val)}</b> (training {fmt_rmse(last_finite(history.train_rmse))})"
            f"{verdict} &middot; {done}")


def budget_note(history, settings: dict, wanted: int, seconds) -> str:
    """The note (HTML, with its separator) when the time budget at this k held back the iterations chosen, else "".

    Only for a run that used every iteration allowed: one that stopped early or diverged
    would not have used more.
    """
    n = settings["n_iters"]
    if wanted <= n or len(history.cost) != n or history_diverged(history):
        return ""
    return (f" &middot; the iterations slider stops at {n} at k = {settings['k']}, where a move trains for "
            f"about {seconds:g} s; your {wanted} come back at a smaller k")


def describe(settings: dict) -> str:
    """The settings of a run as the figure's title writes them: ``als (normalized), k=10, lam=10``."""
    text = f"{settings['method']} ({settings['kind']}), k={settings['k']}, lam={settings['lam']:.3g}"
    if "lr" in settings:
        text += f", lr={settings['lr']:.2g}"
    return text


def plain(text: str) -> str:
    """The readout's HTML as plain text."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))
