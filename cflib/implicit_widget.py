"""A thin widget for notebook 10: sliders for alpha and lambda, one user's top 10 updating.

Every change of a slider refits :func:`cflib.implicit_als.fit_implicit_als`
with the new values (the same seed, so the same values give the same list)
and rewrites an HTML table: the user's top-10 movies, marked where they are in
the user's test set as relevant, and the user's precision@10. The widget is an
``ipywidgets.VBox`` that keeps its controls as attributes, so tests set
``widget.alpha.value`` and read ``widget.top`` without a browser.

The widget keeps the models of the last ``CACHE_FITS`` settings it fitted, so
moving a slider back to a value shows its list again without refitting (the
same list a refit would give: every fit starts from the same seed).
"""

from __future__ import annotations

import html
from collections import OrderedDict

import ipywidgets as widgets
import numpy as np

from .arguments import check_int
from .implicit_als import DEFAULTS, fit_implicit_als
from .ranking import user_list

__all__ = ["ImplicitExplorer", "ALPHAS", "LAMS", "user_top"]

#: The values offered by the sliders (a log-like scale).
ALPHAS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
LAMS = (1.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0)
#: Fits kept, by (alpha, lambda): the most recently shown; one fit at k = 20 on ml-100k holds about 0.4 MB.
CACHE_FITS = 32


def user_top(model, train, user: int, n: int = 10) -> np.ndarray:
    """The ``n`` best-scored movies of one user among those not rated in train, shape (n,)."""
    user = check_int(user, "user", min_val=0, max_val=model.Theta.shape[0] - 1)
    n = check_int(n, "n", min_val=1)
    scores = model.X @ model.Theta[user]
    return user_list(scores, train.movies[train.users == user], n)


class ImplicitExplorer(widgets.VBox):
    """Choose alpha and lambda; see one user's top 10 from implicit ALS.

    Parameters
    ----------
    train, test : cflib.Ratings
        The model is fitted on ``train``; ``test`` only marks the hits (test
        ratings >= 4 of the user).
    user : int
        Column index of the user whose list is shown.
    k, n_iters : int
        Features and sweeps of every refit (kept small so a refit takes well under a second).
    alpha, lam : float
        Initial values; must be among ``ALPHAS`` and ``LAMS``.

    Attributes
    ----------
    alpha, lam : ipywidgets.SelectionSlider
    table : ipywidgets.HTML   the list
    top : ndarray of int   the last top 10 (movie indices)
    hits : int   how many of them are relevant test movies of the user
    model : the last ImplicitModel
    runs : int   lists shown so far (the first and one per slider move that could be fitted)
    fits : int   how many of them were fitted; the others were kept from an earlier visit
    """

    def __repr__(self):
        return "Implicit-ALS explorer: run the notebook (Run > Run All Cells) to use the sliders."

    def __init__(self, train, test, user: int, *, k: int = 20, n_iters: int = 10,
                 alpha: float = DEFAULTS["alpha"], lam: float = DEFAULTS["lam"]):
        for name, data in (("train", train), ("test", test)):
            if not all(hasattr(data, a) for a in ("movies", "users", "ratings", "n_users", "titles")):
                raise TypeError(f"{name} must be a cflib.Ratings, got {type(data).__name__}")
        if test.shape != train.shape:
            raise ValueError(f"test has shape {test.shape} but train has {train.shape}: "
                             "split one Ratings (e.g. cflib.load_split) so both keep all movies and users")
        user = check_int(user, "user", min_val=0, max_val=train.n_users - 1)
        if alpha not in ALPHAS or lam not in LAMS:
            raise ValueError(f"alpha must be one of {ALPHAS} and lam one of {LAMS}, got {alpha!r} and {lam!r}")
        self.train, self.user, self.k, self.n_iters = train, user, k, n_iters
        mine = (test.users == user) & (test.ratings >= 4.0)
        self.relevant = set(test.movies[mine].tolist())
        self.alpha = widgets.SelectionSlider(options=ALPHAS, value=alpha, description="alpha",
                                             continuous_update=False)
        self.lam = widgets.SelectionSlider(options=LAMS, value=lam, description="lambda",
                                           continuous_update=False)
        self.table = widgets.HTML()
        self.runs = self.fits = 0
        self._cache = OrderedDict()  # (alpha, lam) -> (model, history), least recently shown first
        super().__init__([widgets.HBox([self.alpha, self.lam]), self.table])
        self.alpha.observe(lambda change: self.refresh(), names="value")
        self.lam.observe(lambda change: self.refresh(), names="value")
        self.refresh()

    def refresh(self):
        """Refit with the slider values and rewrite the table.

        A fit that fails or diverges leaves the previous list and model in
        place and says so in the table; the sliders stay usable.
        """
        key = (float(self.alpha.value), float(self.lam.value))
        if key in self._cache:
            self._cache.move_to_end(key)
            model, history = self._cache[key]
        else:
            try:
                model, history = fit_implicit_als(self.train, k=self.k, alpha=key[0], lam=key[1],
                                                  n_iters=self.n_iters, record_cost=False)
            except ValueError as exc:
                if not hasattr(self, "model"):  # the first fit: bad constructor arguments
                    raise
                self.table.value = f"<b>Could not fit with these settings:</b> {html.escape(str(exc))}"
                return
            self.fits += 1
            self._cache[key] = (model, history)
            if len(self._cache) > CACHE_FITS:
                self._cache.popitem(last=False)
        if history.diverged:
            self.table.value = (f"<b>Diverged with alpha = {self.alpha.value:g}, lambda = {self.lam.value:g}</b>: "
                                "the factors became non-finite; choose a larger lambda or a smaller alpha")
            return
        self.model = model
        self.top = user_top(self.model, self.train, self.user, 10)
        self.hits = int(sum(int(i) in self.relevant for i in self.top))
        rows = "".join(
            f"<tr><td>{r}</td><td>{html.escape(str(self.train.titles[i]))}</td>"
            f"<td>{'&#10003; in test, liked' if int(i) in self.relevant else ''}</td></tr>"
            for r, i in enumerate(self.top, start=1))
        self.table.value = (f"<b>User {self.user}: top 10 with alpha = {self.alpha.value:g}, "
                            f"lambda = {self.lam.value:g}</b> (precision@10 = {self.hits / 10:.1f})"
                            f"<table>{rows}</table>")
        self.runs += 1
