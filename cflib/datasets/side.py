"""The side information of ml-100k: user attributes, release dates, genres and rating dates.

ml-100k ships more than the ratings: ``u.user`` (age, gender, occupation, zip code of each
user), ``u.occupation`` (the list of occupations), ``u.item``'s release date and genres of each
movie, and the date of each rating in ``u.data``. :func:`read_ml100k_side` reads them and
:func:`load_side_info` finds the folder as :func:`cflib.datasets.load_movielens` does; both
return a :class:`SideInfo` whose arrays are aligned with a :class:`cflib.Ratings`' rows
(``movie_ids``) and columns (``user_ids``).

Every malformed field is a :class:`~cflib.datasets.errors.DataFormatError` naming the file,
the line and the fix, as for ``u.data`` (:mod:`cflib.datasets.formats`).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..ratings import Ratings
from .errors import DataFormatError
from .formats import ML100K_GENRES, read_ml100k
from .text import parse_ids, read_text, repair_hint, split_lines

__all__ = ["SideInfo", "read_ml100k_side", "load_side_info", "GENDERS"]

#: The genders u.user uses.
GENDERS = ("F", "M")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


@dataclass(frozen=True, eq=False)
class SideInfo:
    """What ml-100k knows about its users and movies besides the ratings, aligned with a Ratings.

    Attributes
    ----------
    user_ids : ndarray of int64, shape (n_users,)
        The MovieLens id of each user (the Ratings' ``user_ids``, sorted).
    age : ndarray of int64, shape (n_users,)
        Age in years.
    gender : ndarray of str, shape (n_users,)
        ``"F"`` or ``"M"``.
    occupation : ndarray of int64, shape (n_users,)
        Index into ``occupations``.
    occupations : tuple of str
        The occupations listed in u.occupation, in file order.
    zip_code : ndarray of str, shape (n_users,)
        As written in u.user (US zip codes, a few Canadian postal codes such as ``"T8H1N"``).
    movie_ids : ndarray of int64, shape (n_movies,)
    release_year : ndarray of float64, shape (n_movies,)
        Year of the release date, NaN where u.item has none.
    genre_names : tuple of str, length n_genres
    genres : ndarray of bool, shape (n_movies, n_genres)
    rated_movies, rated_users : ndarray of int64, shape (n_all,)
        Row and column of every rating of u.data (all of them, train and test), sorted by
        ``rated_movies * n_users + rated_users``.
    rated_times : ndarray of int64, shape (n_all,)
        When each of them was given, seconds since 1970-01-01 UTC.
    """

    user_ids: np.ndarray
    age: np.ndarray
    gender: np.ndarray
    occupation: np.ndarray
    occupations: tuple
    zip_code: np.ndarray
    movie_ids: np.ndarray
    release_year: np.ndarray
    genre_names: tuple
    genres: np.ndarray
    rated_movies: np.ndarray
    rated_users: np.ndarray
    rated_times: np.ndarray

    @property
    def n_users(self) -> int:
        return int(self.user_ids.size)

    @property
    def n_movies(self) -> int:
        return int(self.movie_ids.size)

    def check_matches(self, data, name: str = "train"):
        """ValueError unless ``data`` (a Ratings) has exactly these movie and user ids in this order."""
        if not isinstance(data, Ratings):
            raise TypeError(f"{name} must be a cflib.Ratings, got {type(data).__name__}")
        if not (np.array_equal(data.movie_ids, self.movie_ids) and np.array_equal(data.user_ids, self.user_ids)):
            raise ValueError(
                f"{name} ({data.name}, {data.n_movies} movies x {data.n_users} users) does not have the movies "
                f"and users of this side information ({self.n_movies} x {self.n_users} of ml-100k): "
                "use ratings from cflib.load_movielens('100k') or cflib.load_split, or pass side=None")

    def rating_times(self, movies, users) -> np.ndarray:
        """When user ``users[t]`` rated movie ``movies[t]`` (u.data), -1 where that pair was never rated.

        Parameters
        ----------
        movies, users : ndarray of int, shape (n,)
            0-based rows and columns of the Ratings.

        Returns
        -------
        ndarray of int64, shape (n,)
        """
        keys = np.asarray(movies, dtype=np.int64) * self.n_users + np.asarray(users, dtype=np.int64)
        table = self.rated_movies * self.n_users + self.rated_users
        pos = np.minimum(np.searchsorted(table, keys), max(table.size - 1, 0))
        found = table[pos] == keys if table.size else np.zeros(keys.shape, bool)
        return np.where(found, self.rated_times[pos] if table.size else -1, -1).astype(np.int64)

    def __repr__(self):
        return (f"SideInfo({self.n_users} users: age, gender, {len(self.occupations)} occupations, zip; "
                f"{self.n_movies} movies: release year, {len(self.genre_names)} genres; "
                f"{self.rated_times.size:,} rating dates)")


# ------------------------------------------------------------------ parsing
def _line_error(path: Path, lineno: int, what: str, fix: str = "") -> DataFormatError:
    return DataFormatError(f"{path}, line {lineno:,} {what}. {fix + ' ' if fix else ''}{repair_hint(path.parent)}")


def _read_occupations(path: Path) -> tuple:
    names = [line.strip() for line in read_text(path, "latin-1").strip("\r\n").split("\n")]
    for lineno, name in enumerate(names, start=1):
        if not name:
            raise _line_error(path, lineno, "is empty, expected an occupation's name")
        if name in names[:lineno - 1]:
            raise _line_error(path, lineno, f"lists the occupation {name!r} a second time "
                              f"(first on line {names.index(name) + 1})")
    return tuple(names)


def _read_users(path: Path, occupations: tuple):
    rows = split_lines(read_text(path, "latin-1"), "|", 5, path)
    ids = parse_ids([r[0] for r in rows], path, "user")
    age = np.empty(len(rows), dtype=np.int64)
    occupation = np.empty(len(rows), dtype=np.int64)
    index = {name: i for i, name in enumerate(occupations)}
    for lineno, (_, a, g, occ, zip_code) in enumerate(rows, start=1):
        if not (a.isdigit() and 1 <= int(a) <= 120):
            raise _line_error(path, lineno, f"has the age {a!r}, expected a whole number of years between 1 and 120")
        age[lineno - 1] = int(a)
        if g not in GENDERS:
            raise _line_error(path, lineno, f"has the gender {g!r}, expected one of {', '.join(GENDERS)}")
        if occ not in index:
            raise _line_error(path, lineno, f"has the occupation {occ!r}, which u.occupation does not list",
                              f"(it lists {len(occupations)}: {', '.join(occupations[:5])}, ...)")
        occupation[lineno - 1] = index[occ]
        if not (zip_code.isalnum() and zip_code.isascii()):
            raise _line_error(path, lineno, f"has the zip code {zip_code!r}, expected letters and digits only")
    return ids, age, np.array([r[2] for r in rows]), occupation, np.array([r[4] for r in rows])


def _release_year(text: str, path: Path, lineno: int) -> float:
    """The year of a u.item release date such as ``01-Jan-1995``; NaN for an empty field."""
    if text == "":
        return float("nan")
    parts = text.split("-")
    try:
        day, month, year = int(parts[0]), _MONTHS[parts[1]], int(parts[2])
        if len(parts) != 3:
            raise ValueError
        _dt.date(year, month, day)
    except (ValueError, KeyError, IndexError):
        raise _line_error(path, lineno, f"has the release date {text!r}, expected a date such as 01-Jan-1995 "
                          "or an empty field") from None
    if not 1870 <= year <= _dt.date.today().year + 1:
        raise _line_error(path, lineno, f"has the release date {text!r}, whose year is not between 1870 and now")
    return float(year)


def _read_release_years(path: Path):
    rows = split_lines(read_text(path, "latin-1"), "|", 5 + len(ML100K_GENRES), path)
    ids = parse_ids([r[0] for r in rows], path, "movie")
    years = np.array([_release_year(r[2], path, lineno) for lineno, r in enumerate(rows, start=1)])
    return ids, years


def _aligned(ids_in_file, values, wanted, path: Path, what: str):
    """``values`` reordered to the ids ``wanted`` (sorted); an id missing from the file is an error."""
    order = np.argsort(ids_in_file, kind="stable")
    s = ids_in_file[order]
    pos = np.minimum(np.searchsorted(s, wanted), max(s.size - 1, 0))
    missing = s[pos] != wanted if s.size else np.ones(wanted.shape, bool)
    if np.any(missing):
        raise DataFormatError(f"{path} does not list {what} id {wanted[np.argmax(missing)]}, which the ratings "
                              f"use. {repair_hint(path.parent)}")
    dup = s[1:][s[1:] == s[:-1]]
    if dup.size:
        raise DataFormatError(f"{path} lists {what} id {dup[0]} more than once. {repair_hint(path.parent)}")
    return [np.asarray(v)[order][pos] for v in values]


def read_ml100k_side(folder, full: Ratings | None = None) -> SideInfo:
    """Read the side information of an extracted ml-100k folder.

    Parameters
    ----------
    folder : path
        The ``ml-100k`` folder (u.user, u.occupation, u.item, u.data).
    full : Ratings, optional
        ``read_ml100k(folder)`` when already read (its ids, genres and timestamps are used);
        read here otherwise.

    Returns
    -------
    SideInfo
        Aligned with ``full``'s ``movie_ids`` and ``user_ids``.

    Raises
    ------
    DataFormatError
        Naming the file, the line and the fix: an age that is not a whole number of years in
        1..120, a gender other than F/M, an occupation u.occupation does not list, a zip code
        with other characters than letters and digits, a release date not like 01-Jan-1995,
        a missing or repeated id, an empty or repeated line of u.occupation.
    """
    folder = Path(folder)
    if full is None:
        full = read_ml100k(folder)
    occupations = _read_occupations(folder / "u.occupation")
    user_path, item_path = folder / "u.user", folder / "u.item"
    uid, age, gender, occupation, zip_code = _read_users(user_path, occupations)
    age, gender, occupation, zip_code = _aligned(uid, (age, gender, occupation, zip_code), full.user_ids,
                                                 user_path, "user")
    mid, years = _read_release_years(item_path)
    (years,) = _aligned(mid, (years,), full.movie_ids, item_path, "movie")
    if full.timestamps is None:
        raise ValueError(f"full ({full.name}) has no timestamps: pass read_ml100k(folder), which keeps them")
    order = np.argsort(full.movies * full.n_users + full.users, kind="stable")
    return SideInfo(user_ids=full.user_ids.copy(), age=age, gender=gender, occupation=occupation,
                    occupations=occupations, zip_code=zip_code, movie_ids=full.movie_ids.copy(),
                    release_year=years.astype(np.float64), genre_names=tuple(full.genre_names),
                    genres=np.asarray(full.genres, dtype=bool).copy(), rated_movies=full.movies[order].copy(),
                    rated_users=full.users[order].copy(), rated_times=full.timestamps[order].copy())


def load_side_info(data_dir=None, *, download: bool = True, progress: bool = True) -> SideInfo:
    """The side information of ml-100k, aligned with ``load_movielens("100k")`` and ``load_split``.

    Parameters
    ----------
    data_dir, download, progress :
        As for :func:`cflib.datasets.load_movielens` (the folder is found, or fetched, the same way).

    Returns
    -------
    SideInfo

    Examples
    --------
    >>> side = load_side_info()                       # doctest: +SKIP
    >>> side.age.shape, side.release_year.shape       # doctest: +SKIP
    ((943,), (1682,))
    """
    from .movielens import _locate, _read_checked  # the one place that finds and checks the folder
    from .releases import RELEASES

    release = RELEASES["100k"]
    folder = _locate(release, data_dir, download=download, progress=progress, validate_existing=False)
    return read_ml100k_side(folder, _read_checked(release, folder))
