"""The movie map of notebook 07: movies as points in 2-D, from their learned features.

:func:`embedding_2d` projects the rows of X (PCA, or the first two features);
:func:`plot_embedding` draws the well-rated movies coloured by genre, with a few
titles placed where they cover least (:func:`_unclutter`); :func:`genre_summary`
gives each genre's median and quartiles on the map, which the plot can mark.
"""

from __future__ import annotations

import numpy as np
from matplotlib import patheffects
from matplotlib.lines import Line2D

from .figure_style import PALETTE, new_axes

__all__ = ["embedding_2d", "plot_embedding", "genre_colours", "genre_summary", "dot_area"]


def _shown(data, min_ratings):
    """Indices of the movies with at least ``min_ratings`` ratings (at least 3 of them)."""
    shown = np.flatnonzero(np.bincount(data.movies, minlength=data.n_movies) >= min_ratings)
    if shown.size < 3:
        raise ValueError(f"only {shown.size} movies have >= {min_ratings} ratings; lower min_ratings")
    return shown


def genre_colours(data, genres) -> np.ndarray:
    """Which of ``genres`` colours each movie: the index of the first it belongs to, else -1.

    Parameters
    ----------
    data : cflib.Ratings
    genres : sequence of str
        Names from ``data.genre_names``.

    Returns
    -------
    ndarray of int, shape (n_movies,)
    """
    names = list(data.genre_names)
    missing = [g for g in genres if g not in names]
    if missing:
        raise ValueError(f"unknown genre(s) {missing}; choose from {names}")
    colour_of = np.full(data.n_movies, -1)
    for gi in reversed(range(len(genres))):  # the first listed genre wins
        colour_of[data.genres[:, names.index(genres[gi])]] = gi
    return colour_of


def genre_summary(X, data, *, genres, min_ratings=50, method="pca"):
    """Where each genre's movies sit on the map: their count, quartiles and median per axis.

    Parameters
    ----------
    X : ndarray of shape (n_movies, k)
    data : cflib.Ratings
    genres : sequence of str
        As for :func:`plot_embedding` (a movie counts for the first it belongs to).
    min_ratings : int
        The movies drawn on the map (and used to fit its projection).
    method : {"pca", "first2"}

    Returns
    -------
    stats : dict
        ``genre -> (n, q1, median, q3)``, each of q1, median, q3 of shape (2,)
        (NaN when the genre has no movie on the map).
    explained : ndarray of shape (2,)
        The share of the variance along each axis (:func:`embedding_2d`).
    """
    shown = _shown(data, min_ratings)
    coords, explained = embedding_2d(X, method=method, rows=shown)
    colour_of = genre_colours(data, genres)[shown]
    stats = {}
    for gi, g in enumerate(genres):
        points = coords[shown[colour_of == gi]]
        if len(points):
            q1, med, q3 = np.percentile(points, [25, 50, 75], axis=0)
        else:
            q1 = med = q3 = np.full(2, np.nan)
        stats[g] = (len(points), q1, med, q3)
    return stats, explained


def embedding_2d(X, *, method="pca", rows=None):
    """Two coordinates per movie from the feature matrix X.

    Parameters
    ----------
    X : ndarray of shape (n_movies, k)
    method : {"pca", "first2"}
        ``"pca"``: project the (centred) rows on the two directions of largest
        variance; ``"first2"``: the first two columns of X as they are.
    rows : array_like of int, optional
        Movies used to fit the PCA (e.g. the well-rated ones); all by default.
        The projection is applied to every row.

    Returns
    -------
    coords : ndarray of shape (n_movies, 2)
    explained : ndarray of shape (2,)
        Fraction of the variance (of the fitted rows) along each axis.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(f"X must have shape (n_movies, k) with k >= 2, got {X.shape}")
    fit = X if rows is None else X[np.asarray(rows)]
    total = float(np.sum((fit - fit.mean(axis=0)) ** 2)) or 1.0
    if method == "first2":
        coords = X[:, :2].copy()
        c = fit[:, :2] - fit[:, :2].mean(axis=0)
        return coords, np.sum(c**2, axis=0) / total
    if method != "pca":
        raise ValueError(f"method must be 'pca' or 'first2', got {method!r}")
    mean = fit.mean(axis=0)
    _, s, vt = np.linalg.svd(fit - mean, full_matrices=False)
    comps = vt[:2]
    # Fix the sign of each direction (SVD's is arbitrary): largest loading positive.
    signs = np.sign(comps[np.arange(2), np.argmax(np.abs(comps), axis=1)])
    comps = comps * signs[:, None]
    return (X - mean) @ comps.T, (s[:2] ** 2) / total


def plot_embedding(X, data, *, method="pca", genres=("Children's", "Horror", "Film-Noir", "Documentary"),
                   min_ratings=50, n_labels=10, label=None, ax=None, title=None, summary=False):
    """Movies as points in 2-D, coloured by genre, with a few titles written.

    Only movies with at least ``min_ratings`` ratings are drawn: the features
    of rarely rated movies are mostly regularization noise. A movie is coloured
    by the first of ``genres`` it belongs to (:func:`genre_colours`); the others
    are grey. A dot's area is proportional to the movie's number of ratings
    (:func:`dot_area`); a second legend shows the dots of three round counts.

    Parameters
    ----------
    X : ndarray of shape (n_movies, k)
        Learned movie features.
    data : cflib.Ratings
        Gives titles, genres and the number of ratings per movie.
    method : {"pca", "first2"}
        See :func:`embedding_2d`; the axis labels say which was used.
    genres : sequence of str
        Genres to colour (names from ``data.genre_names``).
    min_ratings : int
    n_labels : int
        Titles to write when ``label`` is None: the movies furthest from the
        centre, spread over directions so the labels do not pile up.
    label : sequence of int, optional
        Explicit movie indices to label instead.
    ax : matplotlib Axes, optional
    title : str, optional
    summary : bool, default False
        Also mark each genre's median (a cross) and quartiles (bars) along both
        axes, from :func:`genre_summary`: the coloured dots overlap, the crosses
        show where each colour sits.

    Returns
    -------
    matplotlib Axes
    """
    X = np.asarray(X, dtype=float)
    if X.shape[0] != data.n_movies:
        raise ValueError(f"X has {X.shape[0]} rows but data has {data.n_movies} movies")
    counts = np.bincount(data.movies, minlength=data.n_movies)
    shown = _shown(data, min_ratings)
    coords, explained = embedding_2d(X, method=method, rows=shown)
    ax = new_axes(ax, (9.0, 6.5))
    colour_of = genre_colours(data, genres)
    top = int(counts[shown].max())
    sizes = dot_area(counts, top)
    other = shown[colour_of[shown] < 0]
    ax.scatter(coords[other, 0], coords[other, 1], s=sizes[other], c="0.8", label="other genres",
               edgecolors="white", linewidths=0.3)
    for gi, g in enumerate(genres):
        sel = shown[colour_of[shown] == gi]
        ax.scatter(coords[sel, 0], coords[sel, 1], s=sizes[sel], color=PALETTE[gi % len(PALETTE)],
                   label=f"{g} ({sel.size})", edgecolors="white", linewidths=0.4, alpha=0.9)
    if label is None:
        label = _spread_labels(coords[shown], n_labels)
        label = shown[label]
    centre = np.median(coords[shown, 0])
    notes = []
    for i in label:
        right = coords[i, 0] > centre  # write towards the centre so labels stay inside the axes
        notes.append(ax.annotate(str(data.titles[i]), coords[i], xytext=(-4 if right else 4, 3),
                                 textcoords="offset points", ha="right" if right else "left",
                                 fontsize=8, color="0.15"))
    _unclutter(ax, notes, coords[shown], sizes[shown])
    axis = "PC" if method == "pca" else "feature "
    ax.set_xlabel(f"{axis}1 of X ({100 * explained[0]:.0f}% of variance)")
    ax.set_ylabel(f"{axis}2 of X ({100 * explained[1]:.0f}% of variance)")
    what = "PCA of the movie features X" if method == "pca" else "first two movie features"
    ax.set_title(title or f"Movies by their learned features ({what}; {shown.size} movies "
                          f"with >= {min_ratings} ratings)", fontsize=10)
    genre_legend = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                             title="first matching genre", title_fontsize=8, frameon=False)
    for handle in genre_legend.legend_handles:  # one size for the colour key: size is the other legend's
        handle.set_sizes([40.0])
    ax.add_artist(genre_legend)  # the size legend below would replace it otherwise
    examples = _round_counts(int(counts[shown].min()), top)
    handles = [Line2D([], [], ls="", marker="o", ms=np.sqrt(dot_area(n, top)), mfc="0.65", mec="white", mew=0.3)
               for n in examples]
    ax.legend(handles, [f"{n:,} ratings" for n in examples], loc="upper left", bbox_to_anchor=(1.01, 0.55),
              fontsize=8, title="dot area is proportional\nto the number of ratings", title_fontsize=8,
              frameon=False, labelspacing=1.3, borderpad=0.8)
    ax.grid(alpha=0.3)
    if summary:
        stats, _ = genre_summary(X, data, genres=genres, min_ratings=min_ratings, method=method)
        for gi, (n, q1, med, q3) in enumerate(stats.values()):
            if n == 0:
                continue
            colour = PALETTE[gi % len(PALETTE)]
            ax.errorbar(med[0], med[1], xerr=[[med[0] - q1[0]], [q3[0] - med[0]]],
                        yerr=[[med[1] - q1[1]], [q3[1] - med[1]]], fmt="P", ms=12, color=colour, mec="black",
                        mew=0.8, ecolor=colour, elinewidth=2, capsize=4, zorder=5)
        ax.text(0.99, 0.01, "crosses with bars: median and quartiles of each colour", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=8, color="0.3")
    return ax


#: Area in points^2 of the dot of the most rated movie on the map.
LARGEST_DOT = 180.0


def dot_area(counts, top):
    """A movie's dot area on the map, proportional to its number of ratings.

    Parameters
    ----------
    counts : int or ndarray of int, shape (n,)
        Numbers of ratings.
    top : int
        The largest number of ratings on the map: its dot gets ``LARGEST_DOT``.

    Returns
    -------
    float or ndarray of float, shape (n,)
        ``LARGEST_DOT * counts / top`` in points^2 (matplotlib's ``s``), at least 4
        so that a rarely rated movie stays visible.
    """
    return np.maximum(LARGEST_DOT * np.asarray(counts, dtype=float) / max(int(top), 1), 4.0)


def _round_counts(low, high):
    """Up to three round numbers (1, 2 or 5 times a power of 10) from ``low`` to ``high`` for the size legend."""
    nice = sorted({m * 10**e for e in range(7) for m in (1, 2, 5)})
    inside = [v for v in nice if low <= v <= high]
    if len(inside) <= 3:
        return inside or [high]
    middle = min(inside, key=lambda v: abs(np.log(v) - 0.5 * np.log(inside[0] * inside[-1])))
    return sorted({inside[0], middle, inside[-1]})


# Where a title may go relative to its point: (dx, dy) in points, ha, va.
# Tried in this order; the first with the least overlap wins. The far spots
# (joined to the point by a thin line) cost a little more than the near ones.
_LABEL_SPOTS = tuple(
    ((sx * dx, sy * dy), ha, "bottom" if sy > 0 else "top")
    for dx, dy in ((4, 3), (8, 12), (8, 22), (8, 34))
    for sx, ha in ((1, "left"), (-1, "right"))
    for sy in (1, -1)
) + (((0, 5), "center", "bottom"), ((0, -5), "center", "top"))


def _unclutter(ax, notes, points, sizes):
    """Redraw each annotation in ``notes`` at the spot beside its point that covers least.

    For every candidate spot of :data:`_LABEL_SPOTS` the text box is measured
    (in pixels) and scored: each scatter point (of area ``sizes`` in pt^2) it
    touches counts 1, each earlier label it overlaps counts 20, leaving the
    axes counts 100. Spots on the side facing the centre come first, so ties
    keep labels inside. A thin white outline keeps the text readable where a
    point still shows through.
    """
    canvas = ax.figure.canvas
    if not notes or not hasattr(canvas, "get_renderer"):
        return
    renderer = canvas.get_renderer()
    ax.autoscale_view()
    xy = ax.transData.transform(np.asarray(points, dtype=float))
    radius = np.sqrt(np.asarray(sizes, dtype=float)) / 2 * ax.figure.dpi / 72
    frame = ax.get_window_extent(renderer)
    placed, choices = [], []
    for note in notes:
        own = ax.transData.transform(np.asarray(note.xy, dtype=float))
        right = note.get_horizontalalignment() == "right"
        spots = sorted(_LABEL_SPOTS, key=lambda spot: (spot[1] == ("left" if right else "right")))
        best = None
        for offset, ha, va in spots:
            note.xyann = offset
            note.set_horizontalalignment(ha)
            note.set_verticalalignment(va)
            box = note.get_window_extent(renderer)
            near = ((xy[:, 0] + radius > box.x0) & (xy[:, 0] - radius < box.x1)
                    & (xy[:, 1] + radius > box.y0) & (xy[:, 1] - radius < box.y1))
            near &= np.hypot(*(xy - own).T) > 0.5  # its own point is meant to be next to it
            score = int(near.sum()) + 20 * sum(box.overlaps(other) for other in placed)
            score += 0.4 * (abs(offset[1]) > 5)
            score += 100 * (box.x0 < frame.x0 or box.x1 > frame.x1 or box.y0 < frame.y0 or box.y1 > frame.y1)
            if best is None or score < best[0]:
                best = (score, offset, ha, va, box)
        _, offset, ha, va, box = best
        choices.append((offset, ha, va))
        placed.append(box)
    # Drawn again in the same order, with a thin line to the point from the far spots.
    for note, (offset, ha, va) in zip(notes, choices):
        text, xy, style = note.get_text(), note.xy, dict(fontsize=note.get_fontsize(), color=note.get_color())
        note.remove()
        line = dict(arrowstyle="-", color="0.45", lw=0.6, shrinkA=0, shrinkB=2) if abs(offset[1]) > 5 else None
        ax.annotate(text, xy, xytext=offset, textcoords="offset points", ha=ha, va=va, arrowprops=line,
                    path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")], **style)


def _spread_labels(coords, n):
    """Indices of up to n points far from the centre whose labels do not collide.

    Greedy: take points from the outside in, skipping one whose label box
    (about two standard deviations wide, a third of one high, on the side of
    the point facing the centre) would overlap a label already chosen.
    """
    if n <= 0:
        return np.array([], dtype=int)
    c = coords - np.median(coords, axis=0)
    scale = c.std(axis=0)
    scale[scale == 0] = 1.0
    c = c / scale
    # Horizontal extent of each label: written rightwards from a point left of the
    # centre, leftwards from a point right of it (as plot_embedding does).
    width = 2.0
    left_end = np.where(c[:, 0] > 0, c[:, 0] - width, c[:, 0])
    picks = []
    for i in np.argsort(-np.hypot(c[:, 0], c[:, 1]), kind="stable"):
        if all(abs(c[i, 1] - c[j, 1]) > 0.35 or abs(left_end[i] - left_end[j]) > width for j in picks):
            picks.append(i)
            if len(picks) == n:
                break
    return np.array(picks, dtype=int)
