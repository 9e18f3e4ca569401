"""The rating widget of notebook 07: rate movies, see your recommendations update by fold-in.

:class:`RatingWidget` is an ``ipywidgets.VBox`` that keeps its controls as
attributes, so tests can set values and read results without a browser: search
a title, give it 1 to 5 stars, and see your recommendations, computed by fold-in
(:func:`cflib.recommend.recommend`: a small ridge solve for your taste vector, no
retraining), and the movies most similar to the selected one
(:func:`cflib.recommend.similar_movies`). Callbacks are wrapped with
``Output.capture()``, so an exception shows inside the widget in a notebook and
propagates in plain pytest.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import ipywidgets as widgets
import numpy as np

from .arguments import check_int, check_scalar
from .ratings import ratings_by_title
from .recommend import _as_arrays, _check_fold_model, _features, recommend, similar_movies

__all__ = ["RatingWidget", "EXAMPLE_RATINGS"]

#: A reproducible starting profile for the rating widget on ml-100k: a viewer
#: who loves space opera and action and dislikes romantic comedies.
EXAMPLE_RATINGS = {
    "Star Wars (1977)": 5,
    "Empire Strikes Back, The (1980)": 5,
    "Terminator 2: Judgment Day (1991)": 5,
    "Alien (1979)": 4,
    "Raiders of the Lost Ark (1981)": 4,
    "Sleepless in Seattle (1993)": 1,
    "While You Were Sleeping (1995)": 2,
    "Pretty Woman (1990)": 1,
}


class RatingWidget(widgets.VBox):
    """Rate movies and see recommendations update by fold-in.

    Parameters
    ----------
    model : a trained model from :func:`cflib.train.fit`
    data : cflib.Ratings
        Gives the titles (and what the model was trained on).
    ratings : dict of int (or exact title) -> float, optional
        Starting ratings ``{movie index: stars}`` (for example
        ``cflib.ratings.ratings_by_title(data, EXAMPLE_RATINGS)``; exact titles are
        also accepted as keys); this makes the stored notebook output reproducible.
    n : int
        Number of recommendations shown.
    min_ratings : int
        Recommend (and list as similar) only movies with at least this many
        training ratings: a movie seen by three people can be predicted 5
        stars by luck.
    similar_model : trained model or ndarray of shape (n_movies, k'), optional
        Whose movie features define "similar movies"; default ``model``. A
        model with more features than the RMSE-best one separates movies
        better (see notebook 07). ``min_ratings`` counts ``model``'s training ratings.
    max_matches : int
        Search results listed at most.

    Attributes
    ----------
    search : ipywidgets.Text
    matches : ipywidgets.Select
        Options ``(title, movie index)`` matching the search text.
    stars : ipywidgets.ToggleButtons
        1 to 5 (0.5 to 5 in half stars for half-star data).
    rate_button, remove_button, reset_button : ipywidgets.Button
    my_ratings : dict of int -> float
    mine, recommendations, similar : ipywidgets.HTML
        Your ratings; your top-n list; movies similar to the selected one.
    recommended : list of (int, float)
        The last recommendations (movie index, predicted rating).
    """

    def __repr__(self):
        return "Rating widget: run the notebook (Run > Run All Cells) to rate movies and see recommendations."

    def __init__(self, model, data, *, ratings=None, n=10, min_ratings=20, max_matches=30,
                 similar_model=None):
        self.scale = _check_fold_model(model, "RatingWidget")
        if not hasattr(data, "titles") or not hasattr(data, "find_title"):
            raise TypeError(f"data must be a cflib.Ratings (it gives the titles), got {type(data).__name__}")
        if data.n_movies != model.n_movies:
            raise ValueError(f"data has {data.n_movies} movies but the model was trained on {model.n_movies}: "
                             "give the Ratings the model was trained on")
        self.model = model
        self.similar_model = model if similar_model is None else similar_model
        _features(self.similar_model)  # a Gibbs or popularity model is refused here, not on the first click
        self.min_ratings = check_int(min_ratings, "min_ratings", min_val=0)
        self.data = data
        self.n = check_int(n, "n", min_val=1)
        self.max_matches = check_int(max_matches, "max_matches", min_val=1)
        self.default_ratings = self._starting_ratings(ratings)
        self.my_ratings = dict(self.default_ratings)
        self.recommended = []
        self.search = widgets.Text(placeholder="type part of a title, e.g. godfather",
                                   description="search", layout=widgets.Layout(width="380px"))
        self.matches = widgets.Select(options=[], rows=7, description="matches",
                                      layout=widgets.Layout(width="380px"))
        lo, hi = self.scale
        step = 1.0 if float(lo).is_integer() else 0.5
        values = [float(v) for v in np.arange(lo, hi + step / 2, step)]
        self.stars = widgets.ToggleButtons(options=[(f"{v:g}", v) for v in values],
                                           value=4.0 if 4.0 in values else values[-1], description="stars",
                                           style={"button_width": "40px"})
        fit_text = widgets.Layout(width="auto")  # the default width cuts the labels short
        self.rate_button = widgets.Button(description="rate it", button_style="primary", icon="star",
                                          layout=fit_text)
        self.remove_button = widgets.Button(description="remove my rating", icon="times", layout=fit_text)
        self.reset_button = widgets.Button(description="back to the starting ratings", icon="undo",
                                           layout=fit_text)
        self.status = widgets.HTML()
        self.mine = widgets.HTML()
        self.recommendations = widgets.HTML()
        self.similar = widgets.HTML()
        self.out = widgets.Output()  # shows exceptions raised in callbacks
        capture = self.out.capture()
        self.search.observe(capture(lambda change: self.update_matches()), names="value")
        self.matches.observe(capture(lambda change: self.update_similar()), names="value")
        self.rate_button.on_click(capture(lambda button: self.rate(self.matches.value, self.stars.value)))
        self.remove_button.on_click(capture(lambda button: self.remove(self.matches.value)))
        self.reset_button.on_click(capture(lambda button: self.reset()))
        left = widgets.VBox([
            self.search, self.matches, self.stars,
            widgets.HBox([self.rate_button, self.remove_button]), self.status, self.similar,
        ], layout=widgets.Layout(width="430px"))
        right = widgets.VBox([self.recommendations, self.mine, self.reset_button],
                             layout=widgets.Layout(width="480px"))
        super().__init__([widgets.HBox([left, right]), self.out])
        self.refresh()

    def _starting_ratings(self, ratings):
        """``ratings`` checked: ``{movie index or exact title: stars}`` on the model's scale."""
        if ratings is None:
            return {}
        if not isinstance(ratings, Mapping):
            raise TypeError(f"ratings must be a dict {{movie index: stars}}, got {type(ratings).__name__}")
        titled = {k: v for k, v in ratings.items() if isinstance(k, str)}
        out = {k: v for k, v in ratings.items() if not isinstance(k, str)}
        out.update(ratings_by_title(self.data, titled))  # a title not found: KeyError with near matches
        try:
            movies, stars = _as_arrays(out, self.data.n_movies, self.scale)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"ratings: {exc}") from None
        return {int(m): float(s) for m, s in zip(movies, stars)}

    def _movie(self, movie):
        """``movie`` checked as a movie index (an int in 0..n_movies-1; never a bool or a title)."""
        if isinstance(movie, str):
            raise TypeError(f"movie must be a movie index, got the string {movie!r}; for a title use "
                            f"data.find_title({movie!r})")
        return check_int(movie, "movie", min_val=0, max_val=self.data.n_movies - 1)

    # ---- actions (plain methods: the buttons call them, and so can tests)
    def update_matches(self):
        """List the movies whose title contains the search text (2+ characters)."""
        text = self.search.value.strip()
        if len(text) < 2:
            self.matches.options = []
            return
        found = self.data.find_title(text)
        self.matches.options = [(self._label(i), i) for i in found[: self.max_matches]]
        self.status.value = "" if found else f"no title contains {html.escape(text)!r}"

    def rate(self, movie, stars):
        """Record ``stars`` for ``movie`` (an index) and refresh the recommendations.

        Both are checked first: a movie index outside ``0 .. n_movies - 1`` or
        stars outside the rating scale raise a ValueError (a TypeError for a
        non-number) and leave the widget exactly as it was; so does a failed update.
        """
        if movie is None:
            self.status.value = "pick a movie in the list first"
            return
        movie = self._movie(movie)
        lo, hi = self.scale
        stars = check_scalar(stars, "stars", min_val=lo, max_val=hi)
        self._apply({**self.my_ratings, movie: stars},
                    f"rated {html.escape(str(self.data.titles[movie]))}: {_stars_word(stars)}")

    def remove(self, movie):
        """Forget your rating of ``movie`` and refresh."""
        if movie is None:
            self.status.value = "pick a movie in the list first"
            return
        movie = self._movie(movie)
        if movie not in self.my_ratings:
            self.status.value = "that movie is not among your ratings"
            return
        kept = {m: s for m, s in self.my_ratings.items() if m != movie}
        self._apply(kept, f"removed {html.escape(str(self.data.titles[movie]))}")

    def reset(self):
        """Go back to the starting ratings."""
        self._apply(dict(self.default_ratings), "back to the starting ratings")

    def refresh(self):
        """Recompute the recommendations from ``my_ratings`` and redraw the lists."""
        self._apply(dict(self.my_ratings), self.status.value)

    def _apply(self, new_ratings, status):
        """Compute everything for ``new_ratings`` first, then show it all at once.

        If the recommendations cannot be computed, the exception propagates and
        the ratings, lists and labels stay as they were (the status says so).
        """
        try:
            recommended = [(int(m), float(p)) for m, p in recommend(
                self.model, new_ratings, n=self.n, min_ratings=self.min_ratings)] if new_ratings else []
        except Exception as exc:
            self.status.value = (f"could not update ({html.escape(type(exc).__name__)}); "
                                 "your ratings and the lists are unchanged")
            raise
        self.my_ratings = new_ratings
        self.recommended = recommended
        rows = sorted(new_ratings.items(), key=lambda p: (-p[1], str(self.data.titles[p[0]])))
        self.mine.value = "<b>Your ratings</b>" + (
            "<ul>" + "".join(f"<li>{_star_marks(s, self.scale[1])} {html.escape(str(self.data.titles[m]))}"
                             f"{'' if float(s).is_integer() else f' ({s:g})'}</li>" for m, s in rows) + "</ul>"
            if rows else "<p>none yet: search a title and rate it</p>")
        if recommended:
            self.recommendations.value = f"<b>Recommended for you (top {self.n})</b><ol>" + "".join(
                f"<li>{html.escape(str(self.data.titles[m]))} <i>(predicted {p:.2f})</i></li>"
                for m, p in recommended) + "</ol>"
        elif new_ratings:
            self.recommendations.value = ("<b>Recommended for you</b><p>no unseen movie has at least "
                                          f"{self.min_ratings} training ratings</p>")
        else:
            self.recommendations.value = ("<b>Recommended for you</b><p>rate a few movies to get "
                                          "recommendations</p>")
        self.status.value = status
        self._relabel_matches()

    def update_similar(self):
        """Show the movies closest to the selected one in feature space."""
        movie = self.matches.value
        if movie is None:
            self.similar.value = ""
            return
        title = html.escape(str(self.data.titles[movie]))
        try:
            near = similar_movies(self.similar_model, int(movie), n=5, min_ratings=self.min_ratings,
                                  movie_counts=self.model.movie_counts)
        except ValueError:  # an all-zero feature vector: the movie has no training ratings
            self.similar.value = (f"<b>Closest to {title}</b><p>no training ratings, so no features to "
                                  "compare</p>")
            return
        self.similar.value = (f"<b>Closest to {title}</b><ol>"
                              + "".join(f"<li>{html.escape(str(self.data.titles[m]))} "
                                        f"<i>(cosine {c:.2f})</i></li>" for m, c in near) + "</ol>")

    def _relabel_matches(self):
        """Update the "[you: n]" marks of the listed matches, keeping the selection."""
        options = [(self._label(i), i) for _, i in self.matches.options]
        if options == list(self.matches.options):
            return
        selected = self.matches.value
        self.matches.options = options  # selects the first option: put the selection back
        self.matches.value = selected

    def titles(self, indices):
        """Titles of movie indices (for reading results in tests and notebooks)."""
        return [str(self.data.titles[i]) for i in indices]

    def _label(self, i):
        mark = f"  [you: {self.my_ratings[i]:g}]" if i in self.my_ratings else ""
        return f"{self.data.titles[i]}{mark}"


def _stars_word(stars: float) -> str:
    """``4.5`` -> ``"4.5 stars"``, ``1`` -> ``"1 star"``: the value rated, never rounded."""
    return f"{stars:g} star" + ("" if stars == 1 else "s")


def _star_marks(stars: float, top: float) -> str:
    """Filled, half and empty stars: 4.5 of 5 is ``★★★★½☆``... without the rounding that hides the half."""
    full = int(np.floor(stars))
    half = "½" if stars - full >= 0.5 else ""
    return "★" * full + half + "☆" * (int(top) - full - len(half))
