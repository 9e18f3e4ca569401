"""Parsers of the MovieLens file formats, each returning a :class:`cflib.Ratings`.

One reader per release layout (:func:`read_ml100k`, :func:`read_ml1m`,
:func:`read_ml_latest_small`) plus :func:`read_ml100k_split` for the official
ml-100k splits. They read an extracted folder and check what a reader can see
in the files themselves: field counts, numbers, ids listed in the movie and
user files, the rating scale, each (user, movie) pair rated once, and the text
encoding (Latin-1 as GroupLens ships it, or the same text re-encoded as UTF-8;
titles garbled by a double conversion such as "MisÃ©rables" are refused).
Every error is a :class:`DataFormatError` naming the file, the line and the fix.

Where the files come from (download, archive, folders searched) and the
counts a complete copy has are :mod:`cflib.datasets.movielens`'s business, not this module's.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np

from ..arguments import first_repeated_pair
from ..ratings import HALF_STAR_SCALE, RATING_SCALE, Ratings
from .errors import DataFormatError
from .text import fields_text, numeric_table, parse_ids, read_text, repair_hint, split_lines

__all__ = [
    "read_ml100k",
    "read_ml100k_split",
    "read_ml1m",
    "read_ml_latest_small",
    "ML100K_GENRES",
    "NO_GENRES",
]

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
NO_GENRES = "(no genres listed)"
# UTF-8 bytes of an accented letter read as Latin-1: "é" (C3 A9) becomes "Ã©".
# -------------------------------------------------------------------- parsing
def _index(ids: np.ndarray, values: np.ndarray, path: Path, what: str, listed_in: Path):
    """0-based positions of ``values`` in the sorted ``ids``; unknown ids are an error."""
    pos = np.searchsorted(ids, values)
    pos_c = np.minimum(pos, len(ids) - 1) if len(ids) else pos
    unknown = (pos >= len(ids)) | (ids[pos_c] != values) if len(ids) else np.ones_like(values, bool)
    if np.any(unknown):
        bad = values[np.argmax(unknown)]
        raise DataFormatError(
            f"{path} has a rating for {what} id {bad}, which {listed_in.name} does not list "
            f"({int(unknown.sum()):,} such ratings); the files come from different releases "
            f"or are damaged. {repair_hint(path.parent)}"
        )
    return pos


def _sorted_unique_ids(ids, path: Path, what: str) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.int64)
    s = np.sort(ids)
    dup = s[1:][s[1:] == s[:-1]]
    if dup.size:
        raise DataFormatError(
            f"{path} lists {what} id {dup[0]} more than once. {repair_hint(path.parent)}"
        )
    return s


def _check_values_and_pairs(values, movies, users, n_users, path: Path, *, scale,
                            first_line: int = 1):
    """Ratings within ``scale`` and every (user, movie) pair once, naming the line."""
    lo, hi = scale
    bad = ~((values >= lo) & (values <= hi))
    if np.any(bad):
        i = int(np.argmax(bad))
        raise DataFormatError(
            f"{path}, line {i + first_line:,} has a rating of {values[i]:g} (outside "
            f"{lo:g}..{hi:g}). {repair_hint(path.parent)}"
        )
    rep = first_repeated_pair(movies, users, n_users)
    if rep is not None:
        again, first = rep
        raise DataFormatError(
            f"{path}, line {again + first_line:,} rates the same (user, movie) pair as line "
            f"{first + first_line:,}: each pair is rated once. {repair_hint(path.parent)}"
        )


def _check_times(times, path: Path, first_line: int) -> np.ndarray:
    """Timestamps as int64 seconds since 1970, each a whole number between 1970 and next year."""
    times = np.asarray(times)
    latest = time.time() + 366 * 86400
    bad = ~((times >= 0) & (times <= latest) & (times == np.floor(times)))
    if np.any(bad):
        i = int(np.argmax(bad))
        raise DataFormatError(
            f"{path}, line {i + first_line:,} has the timestamp {times[i]!r}, which is not a time "
            f"between 1970 and now (seconds since 1970-01-01). {repair_hint(path.parent)}")
    return times.astype(np.int64)


def _assemble(name, folder: Path, release_files, movie_ids, titles, genre_names, genres,
              user_ids, r_users, r_movies, r_values, r_times, first_line: int = 1,
              scale=RATING_SCALE) -> Ratings:
    """Map original ids to sorted 0-based rows/columns and check the ratings."""
    ratings_path, movies_path, users_path = (folder / f for f in release_files)
    movie_ids = np.asarray(movie_ids, dtype=np.int64)
    order = np.argsort(movie_ids, kind="stable")
    sorted_movies = _sorted_unique_ids(movie_ids, movies_path, "movie")
    titles = np.asarray(titles, dtype=object)[order]
    genres = np.asarray(genres, dtype=bool).reshape(len(movie_ids), len(genre_names))[order]
    sorted_users = _sorted_unique_ids(user_ids, users_path, "user")
    movies = _index(sorted_movies, r_movies, ratings_path, "movie", movies_path)
    users = _index(sorted_users, r_users, ratings_path, "user", users_path)
    r_values = np.asarray(r_values, dtype=np.float64)
    _check_values_and_pairs(r_values, movies, users, len(sorted_users), ratings_path,
                            scale=scale, first_line=first_line)
    r_times = _check_times(r_times, ratings_path, first_line)
    return Ratings(
        movies=movies, users=users, ratings=r_values,
        n_movies=len(sorted_movies), n_users=len(sorted_users),
        titles=titles, genre_names=tuple(genre_names), genres=genres,
        movie_ids=sorted_movies, user_ids=sorted_users, name=name,
        timestamps=r_times, scale=scale,
    )


def _genre_matrix(genre_lists, path: Path):
    """Multi-hot matrix for lists of genre names; names sorted, NO_GENRES dropped."""
    names = sorted({g for gs in genre_lists for g in gs} - {NO_GENRES, ""})
    col = {g: j for j, g in enumerate(names)}
    genres = np.zeros((len(genre_lists), len(names)), dtype=bool)
    for i, gs in enumerate(genre_lists):
        for g in gs:
            if g in col:
                genres[i, col[g]] = True
    return tuple(names), genres


def _read_ml100k_table(path: Path) -> np.ndarray:
    """(n, 4) int64 table: user id, movie id, rating, timestamp."""
    return numeric_table(read_text(path, "ascii"), 4, path)


def read_ml100k(folder: Path) -> Ratings:
    """Parse ml-100k: u.data (tab-separated), u.item (Latin-1, ``|``), u.user (``|``)."""
    item_path, user_path = folder / "u.item", folder / "u.user"
    n_item_fields = 5 + len(ML100K_GENRES)
    items = split_lines(read_text(item_path, "latin-1"), "|", n_item_fields, item_path)
    movie_ids = parse_ids([p[0] for p in items], item_path, "movie")
    titles = [p[1] for p in items]
    flags = np.array([p[5:] for p in items], dtype=str).reshape(len(items), -1)
    genres = flags == "1"
    bad = ~genres & (flags != "0")
    if bad.any():
        line = int(np.argmax(bad.any(axis=1))) + 1
        raise DataFormatError(f"{item_path}, line {line:,} has a genre flag other than 0 or 1. "
                              f"{repair_hint(folder)}")
    users = split_lines(read_text(user_path, "latin-1"), "|", 5, user_path)
    user_ids = parse_ids([p[0] for p in users], user_path, "user")
    table = _read_ml100k_table(folder / "u.data")
    return _assemble("ml-100k", folder, ("u.data", "u.item", "u.user"), movie_ids, titles,
                     ML100K_GENRES, genres, user_ids, table[:, 0], table[:, 1], table[:, 2],
                     table[:, 3])


def read_ml1m(folder: Path) -> Ratings:
    """Parse ml-1m: ``::``-separated ratings.dat, movies.dat (Latin-1), users.dat."""
    movies_path, users_path = folder / "movies.dat", folder / "users.dat"
    rows = split_lines(read_text(movies_path, "latin-1"), "::", 3, movies_path, maxsplit=2)
    movie_ids = parse_ids([p[0] for p in rows], movies_path, "movie")
    genre_names, genres = _genre_matrix([p[2].split("|") for p in rows], movies_path)
    users = split_lines(read_text(users_path, "latin-1"), "::", 5, users_path)
    user_ids = parse_ids([p[0] for p in users], users_path, "user")
    path = folder / "ratings.dat"
    table = numeric_table(read_text(path, "ascii"), 4, path, sep="::")
    return _assemble("ml-1m", folder, ("ratings.dat", "movies.dat", "users.dat"), movie_ids,
                     [p[1] for p in rows], genre_names, genres, user_ids,
                     table[:, 0], table[:, 1], table[:, 2], table[:, 3])


def _csv_header(text: str, expected: str, path: Path) -> str:
    text = text.removeprefix("\ufeff")
    first, _, rest = text.partition("\n")
    if first.rstrip("\r") != expected:
        raise DataFormatError(
            f"{path} starts with {first[:80]!r}, expected the header {expected!r}. "
            f"{repair_hint(path.parent)}"
        )
    return rest


def read_ml_latest_small(folder: Path) -> Ratings:
    """Parse ml-latest-small: CSV with headers, UTF-8, half-star ratings."""
    movies_path, ratings_path = folder / "movies.csv", folder / "ratings.csv"
    body = _csv_header(read_text(movies_path, "utf-8"), "movieId,title,genres", movies_path)
    rows = list(csv.reader(io.StringIO(body)))
    for lineno, row in enumerate(rows, start=2):
        if len(row) != 3:
            raise DataFormatError(
                f"{movies_path}, line {lineno:,} has {fields_text(len(row))}, expected 3 ({row!r}); "
                f"the file is truncated or damaged. {repair_hint(folder)}"
            )
    movie_ids = parse_ids([r[0] for r in rows], movies_path, "movie")
    genre_names, genres = _genre_matrix([r[2].split("|") for r in rows], movies_path)
    body = _csv_header(read_text(ratings_path, "utf-8"), "userId,movieId,rating,timestamp",
                       ratings_path)
    table = numeric_table(body, 4, ratings_path, sep=",", dtype=np.float64, first_line=2)
    ids = table[:, :2]
    if np.any(ids != np.round(ids)):
        raise DataFormatError(f"{ratings_path} has a user or movie id that is not a whole "
                              f"number. {repair_hint(folder)}")
    r_users, r_movies = ids[:, 0].astype(np.int64), ids[:, 1].astype(np.int64)
    return _assemble("ml-latest-small", folder, ("ratings.csv", "movies.csv", "ratings.csv"),
                     movie_ids, [r[1] for r in rows], genre_names, genres,
                     np.unique(r_users), r_users, r_movies, table[:, 2],
                     table[:, 3], first_line=2, scale=HALF_STAR_SCALE)


def read_ml100k_split(folder: Path, split: str, full: Ratings):
    """The official split ``split`` (e.g. ``"u1"``) of ml-100k as (train, test).

    ``uN.base`` and ``uN.test`` are checked as ``u.data`` is: fields, ratings
    1..5, ids listed in u.item and u.user, each (user, movie) pair once per
    file; and no pair of the test file may also be in the training file.
    Together they must hold exactly ``full.nnz`` ratings.

    Parameters
    ----------
    folder : Path
        The extracted ``ml-100k`` folder.
    split : str
    full : Ratings
        ``read_ml100k(folder)``: its ids, titles and genres are shared.

    Returns
    -------
    train, test : Ratings
        Of the full shape (n_movies, n_users).
    """
    out, tables = [], []
    for part in ("base", "test"):
        path = folder / f"{split}.{part}"
        table = _read_ml100k_table(path)
        users = _index(full.user_ids, table[:, 0], path, "user", folder / "u.user")
        movies = _index(full.movie_ids, table[:, 1], path, "movie", folder / "u.item")
        ratings = table[:, 2].astype(np.float64)
        _check_values_and_pairs(ratings, movies, users, full.n_users, path, scale=(1.0, 5.0))
        tables.append((path, movies, users))
        out.append(Ratings(
            movies=movies, users=users, ratings=ratings,
            n_movies=full.n_movies, n_users=full.n_users, titles=full.titles,
            genre_names=full.genre_names, genres=full.genres, movie_ids=full.movie_ids,
            user_ids=full.user_ids, name=f"ml-100k {split}.{part}", timestamps=_check_times(table[:, 3], path, 1),
        ))
    (base_path, bm, bu), (test_path, tm, tu) = tables
    n_base = bm.size
    rep = first_repeated_pair(np.concatenate([bm, tm]), np.concatenate([bu, tu]), full.n_users)
    if rep is not None:
        again, first = rep  # both files are free of repeats: one is in each
        raise DataFormatError(
            f"{test_path}, line {again - n_base + 1:,} rates the same (user, movie) pair as "
            f"line {first + 1:,} of {base_path.name}: a test rating must not be in the "
            f"training file. {repair_hint(folder)}"
        )
    total = n_base + tm.size
    if total != full.nnz:
        raise DataFormatError(
            f"{base_path} and {split}.test: expected {full.nnz:,} ratings "
            f"together, found {total:,}. A file is truncated. {repair_hint(folder)}"
        )
    return tuple(out)
