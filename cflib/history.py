r"""What a training run records, and the one rule that says a run diverged.

:class:`History` is filled by :func:`cflib.train.fit` (one entry per
iteration) and read by :mod:`cflib.plots` and :mod:`cflib.widgets`. All three
decide "diverged" with :func:`is_diverged`, so a run is called diverged in the
warning, the figure and the explorer's readout alike:

* the trainer flagged it (it stopped because the cost or the factors became
  NaN or infinite: :class:`Diverged` is raised by the recorder and caught by
  ``fit``), or
* a recorded cost is not finite, or
* the last finite cost is above the cost at the start
  :math:`J(\text{init})` (the iterations made things worse).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["History", "Diverged", "is_diverged", "history_diverged", "finite_prefix"]


class Diverged(ArithmeticError):
    """Raised inside training when the cost or the parameters stop being finite.

    ``fit`` catches it, keeps the last finite parameters, sets
    ``history.diverged`` and warns; it never reaches the caller.
    """


@dataclass
class History:
    r"""What happened during training, one entry per iteration.

    Attributes
    ----------
    cost : list of float
        J after each iteration (including the penalty terms).
    train_rmse : list of float
        RMSE at the training ratings after each iteration, of the unclipped
        predictions: :math:`\sqrt{2 (J - \text{penalty}) / n_{nz}}`, read off the
        cost (the quantity the trainer actually fits; no extra pass over the data).
    val_rmse : list of float
        RMSE of the clipped predictions (what :func:`cflib.evaluate.evaluate`
        reports) at the validation ratings; empty when no validation set is given.
    time : list of float
        Seconds since the start of ``fit`` at the end of each iteration.
    initial_cost : float
        J at the initialization, before the first iteration.
    method, kind : str
        The training method and the model kind (``"normalized"`` or ``"biased"``).
    diverged : bool
        True if training stopped because the cost or the parameters became
        non-finite (for gradient methods: the step ``lr`` is too large).
    """

    cost: list = field(default_factory=list)
    train_rmse: list = field(default_factory=list)
    val_rmse: list = field(default_factory=list)
    time: list = field(default_factory=list)
    initial_cost: float = float("nan")
    method: str = ""
    kind: str = ""
    diverged: bool = False

    def __len__(self) -> int:
        return len(self.cost)


def finite_prefix(values) -> int:
    """Number of leading finite entries of ``values`` (all of them if every one is finite)."""
    finite = np.isfinite(np.asarray(values, dtype=float))
    return int(finite.size if finite.all() else np.argmin(finite))


def is_diverged(cost, initial_cost=None, flagged=False) -> bool:
    """The divergence rule of cflib (see the module docstring).

    Parameters
    ----------
    cost : sequence of float, shape (n_iters,)
        J after each iteration.
    initial_cost : float, optional
        J before the first iteration; when missing or not finite, the first
        recorded cost stands in.
    flagged : bool, default False
        The trainer's own flag (``history.diverged``).

    Returns
    -------
    bool
    """
    if flagged:
        return True
    c = np.asarray(cost, dtype=float)
    if c.size == 0:
        return False
    n_ok = finite_prefix(c)
    if n_ok < c.size:
        return True
    start = initial_cost if initial_cost is not None and np.isfinite(initial_cost) else c[0]
    return bool(c[-1] > start)


def history_diverged(history) -> bool:
    """:func:`is_diverged` of a History (or a dict with the same keys)."""
    if isinstance(history, dict):
        get = history.get
    else:
        def get(name, default=None):
            return getattr(history, name, default)
    cost = get("cost", None)
    return is_diverged([] if cost is None else cost, get("initial_cost", None), bool(get("diverged", False)))
