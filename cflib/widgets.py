"""The training explorer of notebook 08: thin wiring over :func:`cflib.train.fit`.

:class:`TrainingExplorer` is an ``ipywidgets.VBox`` (so a notebook cell ending
with one displays it) that keeps its controls as attributes, so tests can set
values and read results without a browser:

* sliders for ``k``, ``lam``, the step size ``lr``
  and the number of iterations, and a choice of optimizer. Every change
  retrains with :func:`cflib.train.fit` and redraws the curves and the
  validation RMSE readout. The optimizers, their labels, iteration limits and
  step sizes come from the registry :mod:`cflib.trainers`; the baselines
  from :func:`cflib.evaluate.evaluate`; "diverged" from :mod:`cflib.history`.

The live curves are an SVG image written by :mod:`cflib.svg_curves` (the
browser draws it in milliseconds; a matplotlib figure cost 0.25 to 0.35 s per
move). The explorer keeps its last ``CACHE_RUNS`` runs by setting, so going
back to a setting shows its run again without training: the same run a new
training would give, since every run starts from the same seeded point.
:meth:`TrainingExplorer.picture`, the still image stored for viewers without
widgets, is drawn with matplotlib (:mod:`cflib.plots`).

The rating widget of notebook 07 is :mod:`cflib.rating_widget` (re-exported
here, so ``from cflib.widgets import RatingWidget`` keeps working), the
implicit-feedback explorer of notebook 10 :mod:`cflib.implicit_widget`.

:func:`show_figure` puts a matplotlib figure into an ``Output`` as PNG (it renders in
JupyterLab, is stored in the saved widget state, and leaves nothing stray in the cell output).

Callbacks are wrapped with ``Output.capture()``: in a notebook an exception is
shown inside the widget's output area instead of vanishing in the browser
console; outside IPython (plain pytest) it propagates.

"""

from __future__ import annotations

import base64
import html
import io
import time
import warnings
from collections import OrderedDict

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image

from .arguments import check_int, check_scalar
from .baselines import fit_baseline
from .evaluate import evaluate
from .explorer_picture import explorer_figure, picture_png
from .explorer_readout import budget_note, describe, plain, readout_text
from .rating_widget import EXAMPLE_RATINGS, RatingWidget  # noqa: F401 (re-exported: its old home)
from .svg_curves import explorer_svg, svg_img
from .train import fit
from .trainers import LAM_RANGE, LR_VALUES, MOVE_SECONDS, explorer_iterations, explorer_methods
from .trainers import METHODS as REGISTRY

__all__ = ["TrainingExplorer", "RatingWidget", "EXAMPLE_RATINGS", "show_figure"]

#: The optimizers offered by the explorer (``method=`` of :func:`cflib.train.fit`), from the registry.
METHODS = explorer_methods()

#: Most iterations the explorer allows per optimizer (``Method.max_iters``), at any k;
#: at large k the slider stops earlier, where a move would train for longer than
#: ``move_seconds`` (:func:`cflib.trainers.explorer_iterations`).
MAX_ITERS = {m: REGISTRY[m].max_iters for m in METHODS}

#: Iterations the explorer starts each optimizer with (``Method.start_iters``);
#: after that it remembers the learner's last choice per optimizer (an ALS sweep
#: and a gradient step are not worth the same, so one shared number would suit none).
START_ITERS = {m: REGISTRY[m].start_iters for m in METHODS}

#: Runs the explorer keeps (the most recently shown settings); one run at k = 30 holds about 0.6 MB.
CACHE_RUNS = 32


def show_figure(out, fig):
    """Replace the contents of the Output ``out`` with the figure ``fig`` and close it.

    The figure is rendered to PNG here (not left to the notebook's display
    formatters), so the same image reaches JupyterLab, the saved widget state
    and plain Python (tests) alike.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    out.outputs = ()
    out.append_display_data(Image(data=buffer.getvalue(), format="png"))


# ------------------------------------------------------------------ explorer
def _nearest_lr(lr):
    """The step size of ``LR_VALUES`` closest to ``lr`` on a log scale."""
    lr = check_scalar(lr, "lr", min_val=0.0, include_boundaries="right")
    return min(LR_VALUES, key=lambda v: abs(np.log(v) - np.log(lr)))


class TrainingExplorer(widgets.VBox):
    """Retrain on every slider change and show the learning curves.

    Parameters
    ----------
    train, validation : cflib.Ratings
        Training ratings and held-out ratings scored after every iteration.
    k, lam, lr : initial values of the controls
        ``lr`` is moved to the nearest of ``cflib.trainers.LR_VALUES`` (the
        step sizes the control offers, 0.002, 0.005 and 0.03 among them).
    n_iters : int, optional
        Initial iterations for ``method``; default ``START_ITERS[method]``.
        Each optimizer keeps its own iteration count while you switch between them.
    method : str
        One of ``METHODS`` (the registry's methods offered by the explorer).
    kind : {"normalized", "biased"}
        Initial model kind (mean-normalized, or with learned biases); a toggle
        switches it.
    max_iters : dict of str -> int, optional
        Upper end of the iterations slider per optimizer (default
        ``MAX_ITERS``); keeps each retrain short. Optimizers left out keep
        their default.
    move_seconds : float or None, default ``cflib.trainers.MOVE_SECONDS`` (0.25)
        CPU seconds one move may train for: at large k (and on large data) the
        iterations slider stops where a retrain would take longer, by the cost of an
        iteration the registry records (:func:`cflib.trainers.explorer_iterations`).
        The iterations you chose are remembered: moving k back down restores them.
        None: no budget, only ``max_iters``.
    seed : int
        Initialisation seed: the same settings always give the same curves.
    baselines : dict of str -> float, optional
        Validation RMSE of simple predictors drawn as horizontal lines; by
        default the movie-mean and bias baselines fitted on ``train``
        (scored by :func:`cflib.evaluate.evaluate`).

    Attributes
    ----------
    k, lam, n_iters : ipywidgets sliders
    lr : ipywidgets.SelectionSlider
        The step size, over ``LR_VALUES``.
    method, kind : ipywidgets.ToggleButtons
    readout : ipywidgets.HTML
        The validation RMSE of the last run (and its time), or "diverged".
    plot : ipywidgets.HTML
        The figure, an SVG image (:mod:`cflib.svg_curves`): RMSE curves (left), cost J
        (right, clipped above when a run diverges).
    out : ipywidgets.Output
        Where an exception raised by a callback is shown (empty otherwise).
    history, result : the last :func:`cflib.train.fit` history and model
    runs : int
        Number of runs shown so far: the first one and one per accepted change.
    trained : int
        How many of them were trained; the others were settings shown before, kept
        (the last ``CACHE_RUNS``) and shown again without training.
    """

    def __repr__(self):
        # Shown where the widget cannot be drawn (a saved copy opened without a
        # kernel, a plain-text viewer): a hint, not a dump of the children.
        return "Training explorer: run the notebook (Run > Run All Cells) to use the controls."

    def __init__(self, train, validation, *, k=10, lam=10.0, lr=0.005, n_iters=None, method="als",
                 kind="normalized", max_iters=None, move_seconds=MOVE_SECONDS, seed=0, baselines=None,
                 **renamed):
        if "model" in renamed:
            raise TypeError(f"TrainingExplorer calls the model kind `kind` (as fit does): write "
                            f"kind={renamed['model']!r} instead of model={renamed['model']!r}")
        if renamed:
            raise TypeError(f"TrainingExplorer got unexpected keyword argument(s) {sorted(renamed)}")
        methods = explorer_methods()  # read now: a method registered after import is offered too
        if method not in methods:
            raise ValueError(f"method must be one of {methods}, got {method!r}")
        if validation is None or validation.nnz == 0:
            raise ValueError("the explorer needs validation ratings to score each run")
        kinds = REGISTRY[method].kinds
        if kind not in kinds:
            raise ValueError(f"kind must be one of {kinds}, got {kind!r}")
        k = check_int(k, "k", min_val=1, max_val=30)
        lam = check_scalar(lam, "lam", min_val=0.0)
        lr = _nearest_lr(lr)
        seed = check_int(seed, "seed", min_val=0)
        self.train_data = train
        self.validation = validation
        self.max_iters = {m: REGISTRY[m].max_iters for m in methods}
        if max_iters is not None:
            if not isinstance(max_iters, dict):
                raise TypeError(f"max_iters must be a dict from optimizer to iterations, e.g. {{'gd': 40}}, "
                                f"got {type(max_iters).__name__}")
            unknown = sorted(str(m) for m in max_iters if m not in methods)
            if unknown:
                raise ValueError(f"max_iters names optimizer(s) {unknown} the explorer does not offer; "
                                 f"choose from {list(methods)}")
            self.max_iters.update({m: check_int(n, f"max_iters[{m!r}]", min_val=1) for m, n in max_iters.items()})
        if move_seconds is not None:
            move_seconds = check_scalar(move_seconds, "move_seconds", min_val=0.0, include_boundaries="right")
        self.move_seconds = move_seconds
        # The iterations chosen per optimizer; the slider shows them, or the limit at this k if lower.
        self._iters = {m: min(REGISTRY[m].start_iters, self.max_iters[m]) for m in methods}
        if n_iters is not None:
            self._iters[method] = min(check_int(n_iters, "n_iters", min_val=1), self.max_iters[method])
        self.seed = seed
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="420px")
        common = dict(continuous_update=False, style=style, layout=layout)
        self.k = widgets.IntSlider(value=k, min=1, max=30, description="k (features)", **common)
        self.lam = widgets.FloatLogSlider(value=lam, base=10, description="lam", readout_format=".3g",
                                          **LAM_RANGE, **common)
        self.lr = widgets.SelectionSlider(options=[(f"{v:g}", v) for v in LR_VALUES], value=lr,
                                          description="step size lr", **common)
        limit = self.iteration_limit(method, k)
        self.n_iters = widgets.IntSlider(value=min(self._iters[method], limit), min=1, max=limit,
                                         description="iterations", **common)
        self.method = widgets.ToggleButtons(options=[(REGISTRY[m].label, m) for m in methods],
                                            value=method, description="optimizer", style=style)
        self.kind = widgets.ToggleButtons(options=[("mean-normalized", "normalized"),
                                                   ("with biases", "biased")],
                                          value=kind, description="model", style=style)
        self.readout = widgets.HTML()
        self.plot = widgets.HTML(layout=widgets.Layout(min_height="360px"))
        self.out = widgets.Output()
        for control, name in ((self.k, "k"), (self.readout, "readout"), (self.plot, "plot")):
            control.add_class(f"cflib-explorer-{name}")  # found by the browser test
        if baselines is None:
            baselines = {
                "movie mean": evaluate(fit_baseline(train, "movie"), validation)["rmse"],
                "movie + user biases": evaluate(fit_baseline(train, "biases"), validation)["rmse"],
            }
        self.baselines = dict(baselines)
        self.history = None
        self.result = None
        self._previous = None
        self.runs = self.trained = 0
        self._cache = OrderedDict()  # settings -> (model, history, seconds), least recently shown first
        self.retrain = self.out.capture()(self._retrain)
        # Changing the optimizer or k first adapts the iterations slider (which may
        # clamp its value) and then retrains exactly once.
        self._adapting = False
        self.method.observe(self.out.capture()(self._method_changed), names="value")
        self.k.observe(self.out.capture()(self._k_changed), names="value")
        self.n_iters.observe(self.out.capture()(self._iters_changed), names="value")
        for control in (self.lam, self.lr, self.kind):
            control.observe(lambda change: None if self._adapting else self.retrain(), names="value")
        super().__init__([
            widgets.HBox([widgets.VBox([self.k, self.lam]), widgets.VBox([self.lr, self.n_iters])]),
            self.method, self.kind, self.readout, self.plot, self.out,
        ])
        self.retrain()

    def iteration_limit(self, method=None, k=None) -> int:
        """The upper end of the iterations slider for ``method`` at ``k`` (default: the controls')."""
        method = self.method.value if method is None else method
        k = int(self.k.value) if k is None else int(k)
        return explorer_iterations(method, k, self.train_data.nnz, seconds=self.move_seconds,
                                   cap=self.max_iters[method])

    def _fit_iterations(self, method, k, value=None):
        """Set the iterations slider to its range for ``method`` at ``k``, showing ``value``
        (default: the iterations chosen for ``method``, or the limit if lower), without training."""
        limit = self.iteration_limit(method, k)
        value = min(self._iters[method] if value is None else value, limit)
        self._adapting = True
        try:
            if limit > self.n_iters.max:  # raise the limit before the value
                self.n_iters.max = limit
                self.n_iters.value = value
            else:
                self.n_iters.value = value
                self.n_iters.max = limit
        finally:
            self._adapting = False

    def _method_changed(self, change):
        """Switch the iterations slider to the new optimizer's range and last value, then retrain once."""
        if self._adapting:  # set back by _show_controls: nothing to train
            return
        if change["new"] not in self.max_iters:  # None, or a name the explorer does not offer
            self._refused(f"optimizer must be one of {list(self.max_iters)}, got {change['new']!r}")
            return
        self._fit_iterations(change["new"], self.k.value)
        self._retrain()

    def _k_changed(self, change):
        """Adapt the iterations slider to the limit at the new k (restoring the iterations chosen), then retrain."""
        if self._adapting:
            return
        self._fit_iterations(self.method.value, change["new"])
        self._retrain()

    def _iters_changed(self, change):
        """The learner chose a number of iterations: remember it for this optimizer, then retrain."""
        if self._adapting:
            return
        self._iters[self.method.value] = int(change["new"])
        self._retrain()

    def settings(self):
        """The current control values as keyword arguments of :func:`cflib.train.fit`."""
        kw = dict(k=int(self.k.value), lam=float(self.lam.value), method=self.method.value,
                  n_iters=int(self.n_iters.value), kind=self.kind.value, seed=self.seed)
        if REGISTRY[self.method.value].uses_lr:
            kw["lr"] = float(self.lr.value)
        return kw

    def _retrain(self):
        kw = self.settings()
        self.lr.disabled = not REGISTRY[kw["method"]].uses_lr
        key = tuple(sorted(kw.items()))  # settings() may be extended by a subclass: all of it is the key
        kept = self._cache.get(key)
        if kept is None:
            start = time.perf_counter()
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    # A too large step size diverges: the curves and the readout say so.
                    warnings.simplefilter("ignore", RuntimeWarning)
                    result, history = fit(self.train_data, validation=self.validation, progress=False, **kw)
            except (ValueError, TypeError, MemoryError, RuntimeError) as exc:  # a setting fit refuses or cannot run
                self._refused(f"{describe(kw)}: {type(exc).__name__}: {exc}")
                return
            kept = (result, history, time.perf_counter() - start)
            self._cache[key] = kept
            if len(self._cache) > CACHE_RUNS:
                self._cache.popitem(last=False)
            self.trained += 1
            when = f"trained in {kept[2]:.2f} s"
        else:
            self._cache.move_to_end(key)
            when = f"trained in {kept[2]:.2f} s when first chosen, shown again without training"
        result, history, _ = kept
        self._previous, self.history, self.result = self.history, history, result
        self._settings_shown = kw
        self.runs += 1
        # The readout without its timing (the picture keeps it), then the timing and any note of the budget.
        self._readout_shown = readout_text(history, kw["n_iters"], self.baselines)
        when += budget_note(history, kw, self._iters[kw["method"]], self.move_seconds)
        self.readout.value = f"{self._readout_shown} &middot; {when}"
        self.plot.value = svg_img(explorer_svg(
            history, baselines=self.baselines, ylim=self._rmse_limits(), title=self._title(),
            previous=None if self._previous is None else self._previous.val_rmse, cost_label=kw["method"]),
            alt=f"Training explorer: {self._title()}; {plain(self._readout_shown)}")

    def _title(self):
        """The title of the RMSE panel."""
        text = f"RMSE: {describe(self._settings_shown)}"
        return text if len(self.history.cost) else text + " (diverged at once)"

    def _rmse_limits(self):
        """The RMSE range shown: from below the best curve to above the baselines and the first iteration.

        A diverging run leaves through the top (values of 2 and more are not counted).
        """
        values = list(self.baselines.values())
        for series in (self.history.train_rmse, self.history.val_rmse):
            arr = np.asarray(series, dtype=float)
            values += list(arr[np.isfinite(arr) & (arr < 2.0)])
        if not values:
            return (0.0, 2.0)
        return (max(0.0, min(values) - 0.08), min(2.0, max(values) + 0.08))

    def _refused(self, why):
        """After a setting that could not be trained: controls and readout back to what the figure shows."""
        shown = getattr(self, "_settings_shown", None)
        note = f"<b style='color:#D55E00'>cannot train</b> {html.escape(why)}"
        if shown is None:
            self.readout.value = note + " &middot; nothing trained yet, so nothing is shown"
            return
        self._show_controls(shown)
        self.readout.value = (note + " &middot; the controls are back at the run shown below: "
                              + self._readout_shown)

    def _show_controls(self, kw):
        """Set every control to the settings ``kw`` without training."""
        self._adapting = True
        try:
            self.method.value = kw["method"]
            self.k.value, self.lam.value, self.kind.value = kw["k"], kw["lam"], kw["kind"]
            if "lr" in kw:
                self.lr.value = kw["lr"]
            self.lr.disabled = "lr" not in kw
        finally:
            self._adapting = False
        self._fit_iterations(kw["method"], kw["k"], kw["n_iters"])

    def _figure(self):
        """The matplotlib figure of the last run (:func:`cflib.explorer_picture.explorer_figure`)."""
        return explorer_figure(self.history, baselines=self.baselines, ylim=self._rmse_limits(), title=self._title(),
                               previous=None if self._previous is None else self._previous.val_rmse,
                               method=self._settings_shown["method"])

    def picture(self):
        """The explorer as one PNG image: its figure under its readout, labelled as a picture.

        A notebook stores it beside the live widget (:meth:`_repr_mimebundle_`), so that a
        viewer without a kernel or without widget support (GitHub, a plain HTML export) shows
        the curves and the readout instead of nothing. JupyterLab with a kernel prefers the
        live widget and never shows the picture, so a learner does not see the figure twice.

        Returns
        -------
        bytes or None
            PNG data; None before any successful training.
        """
        if self.history is None:
            return None
        when = ("its starting view" if self.runs == 1 else
                f"after {self.runs - 1} change{'s' if self.runs > 2 else ''} of the controls")
        readout = plain(self._readout_shown)  # without the timing of one machine
        return picture_png(self._figure(), f"A picture of the training explorer, {when}: {readout}\n"
                           "The live controls need a running notebook: open it in Jupyter and use Run > Run All Cells.")

    def _repr_mimebundle_(self, **kwargs):
        """The widget view, its one-line text, and :meth:`picture` as ``image/png`` for viewers without widgets."""
        bundle = super()._repr_mimebundle_(**kwargs)
        picture = self.picture()
        if bundle is not None and picture is not None:
            bundle["image/png"] = base64.b64encode(picture).decode("ascii")
        return bundle
