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

import ipywidgets as widgets

from .recommend import recommend, similar_movies
from .validation import check_int, check_scalar

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
    ratings : dict of int -> float, optional
        Starting ratings ``{movie index: stars}`` (for example
        ``cflib.ratings.ratings_by_title(data, EXAMPLE_RATINGS)``); this makes the stored
        notebook output reproducible.
    n : int
        Number of recommendations shown.
    min_ratings : int
        Recommend (and list as similar) only movies with at least this many
        training ratings: a movie seen by three people can be predicted 5
        stars by luck.
    similar_model : trained model or ndarray of shape (n_movies, k'), optional
        Whose movie features define "similar movies"; default ``model``. A
        model with more features than the RMSE-best one separates movies
        better (see notebook 07).
    max_matches : int
        Search results listed at most.

    Attributes
    ----------
    search : ipywidgets.Text
    matches : ipywidgets.Select
        Options ``(title, movie index)`` matching the search text.
    stars : ipywidgets.ToggleButtons
        1 to 5.
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
        self.model = model
        self.similar_model = model if similar_model is None else similar_model
        self.min_ratings = int(min_ratings)
        self.data = data
        self.n = int(n)
        self.max_matches = int(max_matches)
        self.default_ratings = dict(ratings or {})
        self.my_ratings = dict(self.default_ratings)
        self.recommended = []
        self.search = widgets.Text(placeholder="type part of a title, e.g. godfather",
                                   description="search", layout=widgets.Layout(width="380px"))
        self.matches = widgets.Select(options=[], rows=7, description="matches",
                                      layout=widgets.Layout(width="380px"))
        self.stars = widgets.ToggleButtons(options=[("1", 1), ("2", 2), ("3", 3), ("4", 4), ("5", 5)],
                                           value=4, description="stars",
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
        stars outside 1..5 raise a ValueError (a TypeError for a non-number)
        and leave the widget exactly as it was.
        """
        if movie is None:
            self.status.value = "pick a movie in the list first"
            return
        movie = check_int(movie, "movie", min_val=0, max_val=self.data.n_movies - 1)
        stars = check_scalar(stars, "stars", min_val=1.0, max_val=5.0)
        self.my_ratings[movie] = stars
        self.status.value = f"rated {html.escape(str(self.data.titles[movie]))}: {int(stars)} stars"
        self.refresh()

    def remove(self, movie):
        """Forget your rating of ``movie`` and refresh."""
        if movie is None or int(movie) not in self.my_ratings:
            self.status.value = "that movie is not among your ratings"
            return
        del self.my_ratings[int(movie)]
        self.status.value = f"removed {html.escape(str(self.data.titles[movie]))}"
        self.refresh()

    def reset(self):
        """Go back to the starting ratings."""
        self.my_ratings = dict(self.default_ratings)
        self.status.value = "back to the starting ratings"
        self.refresh()

    def refresh(self):
        """Recompute the recommendations from ``my_ratings`` and redraw the lists."""
        self._relabel_matches()
        rows = sorted(self.my_ratings.items(), key=lambda p: (-p[1], str(self.data.titles[p[0]])))
        self.mine.value = "<b>Your ratings</b>" + (
            "<ul>" + "".join(f"<li>{'★' * int(round(s))}{'☆' * (5 - int(round(s)))} "
                             f"{html.escape(str(self.data.titles[m]))}</li>" for m, s in rows) + "</ul>"
            if rows else "<p>none yet: search a title and rate it</p>")
        if not self.my_ratings:
            self.recommended = []
            self.recommendations.value = ("<b>Recommended for you</b><p>rate a few movies to get "
                                          "recommendations</p>")
            return
        self.recommended = [(int(m), float(p)) for m, p in recommend(self.model, self.my_ratings, n=self.n,
                                                                         min_ratings=self.min_ratings)]
        self.recommendations.value = f"<b>Recommended for you (top {self.n})</b><ol>" + "".join(
            f"<li>{html.escape(str(self.data.titles[m]))} <i>(predicted {p:.2f})</i></li>"
            for m, p in self.recommended) + "</ol>"

    def update_similar(self):
        """Show the movies closest to the selected one in feature space."""
        movie = self.matches.value
        if movie is None:
            self.similar.value = ""
            return
        near = similar_movies(self.similar_model, int(movie), n=5, min_ratings=self.min_ratings)
        self.similar.value = (f"<b>Closest to {html.escape(str(self.data.titles[movie]))}</b><ol>"
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
        mark = f"  [you: {int(self.my_ratings[i])}]" if i in self.my_ratings else ""
        return f"{self.data.titles[i]}{mark}"
