"""Loading MovieLens as a :class:`cflib.Ratings`.

Three GroupLens releases are supported: ``"100k"`` (the course's default),
``"1m"`` and ``"latest-small"``. The result is always the same container:
``Y`` and ``R`` of shape (n_movies, n_users) (movies are rows), the observed
entries as 0-based coordinates ``movies``, ``users``, ``ratings``, the titles,
the genres (a multi-hot matrix), and the original MovieLens ids of every row
(``movie_ids``) and column (``user_ids``). Rows are sorted by movie id and
columns by user id; every movie the release lists gets a row, rated or not.

Where the data comes from, in order:

1. the ``data_dir`` argument (then only that folder is used),
2. the folder named by the environment variable ``CFLIB_DATA_DIR``,
3. ``data/`` at the repository root (git-ignored: MovieLens may not be
   redistributed, so it is never committed).

In each folder an extracted ``ml-100k/`` is used if it is complete; else an
``ml-100k.zip`` placed there (for instance by hand, offline) is verified and
extracted; else the official archive is downloaded into the first writable
folder, verified (size and sha256) and extracted. See ``data/README.md``.

From a shell, ``python -m cflib.data [--name 100k]`` fetches a release once,
with a progress bar, and prints where it is.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .download import (
    ArchiveError,
    ChecksumError,
    DataError,
    DownloadError,
    download_file,
    extract_archive,
    verify_file,
)
from .ratings import Ratings

__all__ = [
    "load_movielens",
    "load_split",
    "fetch_movielens",
    "data_dir_candidates",
    "ENV_VAR",
    "RELEASES",
    "Release",
    "SPLITS",
    "DataError",
    "DataNotFoundError",
    "DataFormatError",
    "DownloadError",
    "ChecksumError",
    "ArchiveError",
]

ENV_VAR = "CFLIB_DATA_DIR"
REPO_DATA = Path(__file__).resolve().parent.parent / "data"

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
NO_GENRES = "(no genres listed)"
SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


class DataNotFoundError(DataError, FileNotFoundError):
    """The data (a folder, or a file in it) is not there and cannot be fetched."""


class DataFormatError(DataError, ValueError):
    """A data file is truncated, damaged, or not in the expected format."""


@dataclass(frozen=True)
class Release:
    """One MovieLens release: where it comes from and what a good copy holds.

    Attributes
    ----------
    name : str
        Short name used by :func:`load_movielens`, e.g. ``"100k"``.
    title : str
        Human-readable name, e.g. ``"MovieLens 100K"``.
    folder : str
        Folder inside the archive and in the data folder, e.g. ``"ml-100k"``.
    url, size, sha256 :
        The official archive, its size in bytes and its hex sha256.
    n_ratings, n_movies, n_users : int
        Counts a complete copy has (checked on every load).
    ratings_file, movies_file, users_file : str
        The files those counts come from (``users_file`` may be the ratings
        file when the release has no user list).
    """

    name: str
    title: str
    folder: str
    url: str
    size: int
    sha256: str
    n_ratings: int
    n_movies: int
    n_users: int
    ratings_file: str
    movies_file: str
    users_file: str

    @property
    def archive(self) -> str:
        """File name of the archive, e.g. ``"ml-100k.zip"``."""
        return self.folder + ".zip"


_BASE_URL = "https://files.grouplens.org/datasets/movielens/"
RELEASES = {
    "100k": Release(
        "100k", "MovieLens 100K", "ml-100k", _BASE_URL + "ml-100k.zip", 4_924_029,
        "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        n_ratings=100_000, n_movies=1_682, n_users=943,
        ratings_file="u.data", movies_file="u.item", users_file="u.user",
    ),
    "1m": Release(
        "1m", "MovieLens 1M", "ml-1m", _BASE_URL + "ml-1m.zip", 5_917_549,
        "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        n_ratings=1_000_209, n_movies=3_883, n_users=6_040,
        ratings_file="ratings.dat", movies_file="movies.dat", users_file="users.dat",
    ),
    "latest-small": Release(
        "latest-small", "MovieLens latest-small", "ml-latest-small",
        _BASE_URL + "ml-latest-small.zip", 978_202,
        "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
        n_ratings=100_836, n_movies=9_742, n_users=610,
        ratings_file="ratings.csv", movies_file="movies.csv", users_file="ratings.csv",
    ),
}


def _release(name: str) -> Release:
    key = str(name).lower().removeprefix("ml-")
    if key not in RELEASES:
        raise ValueError(
            f"unknown MovieLens release {name!r}; choose one of "
            + ", ".join(repr(k) for k in RELEASES)
        )
    return RELEASES[key]


# ------------------------------------------------------------------ locations
def data_dir_candidates(data_dir=None) -> list[Path]:
    """Folders searched for the data, in order.

    Parameters
    ----------
    data_dir : path, optional
        If given, the only folder searched.

    Returns
    -------
    list of Path
        ``[data_dir]``, or the folder in ``CFLIB_DATA_DIR`` (if set) followed
        by ``data/`` at the repository root.
    """
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    out = []
    env = os.environ.get(ENV_VAR)
    if env:
        out.append(Path(env).expanduser())
    out.append(REPO_DATA)
    return out


def _check_given_folder(data_dir):
    """A folder the user named (argument or env var) must exist: a typo is an error."""
    if data_dir is not None:
        path, how = Path(data_dir).expanduser(), "data_dir"
    elif os.environ.get(ENV_VAR):
        path, how = Path(os.environ[ENV_VAR]).expanduser(), ENV_VAR
    else:
        return
    if not path.is_dir():
        unset = f" or unset {ENV_VAR} (then {REPO_DATA} is used)" if how == ENV_VAR else ""
        raise DataNotFoundError(
            f"{how} is {path}, but that folder does not exist. Fix the path{unset}, "
            f"or create the folder (mkdir -p {path}) to have the data downloaded into it."
        )


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _repair_hint(folder: Path) -> str:
    name = folder.name.removeprefix("ml-")
    return (
        f"Delete the folder {folder} and run `python -m cflib.data --name {name}` to "
        f"download it again, or put a good {folder.name}.zip in {folder.parent}."
    )


# -------------------------------------------------------------------- parsing
def _read_text(path: Path, encoding: str) -> str:
    try:
        with open(path, encoding=encoding, newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        raise DataNotFoundError(
            f"{path} is missing: the folder is incomplete. {_repair_hint(path.parent)}"
        ) from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"{path} is not valid {encoding} text ({exc.reason} at byte {exc.start:,}). "
            f"{_repair_hint(path.parent)}"
        ) from None


def _fields(n: int) -> str:
    return f"{n} field" + ("" if n == 1 else "s")


def _bad_line(text: str, n_cols: int, path: Path, sep, dtype, first_line: int):
    """Raise a DataFormatError naming the first line that does not parse."""
    convert = int if np.issubdtype(dtype, np.integer) else float
    for lineno, line in enumerate(text.split("\n"), start=first_line):
        line = line.rstrip("\r")
        fields = line.split(sep) if sep else line.split()
        problem = None
        if len(fields) != n_cols:
            problem = f"has {_fields(len(fields))}, expected {n_cols}"
        else:
            try:
                [convert(f) for f in fields]
            except ValueError:
                problem = f"has a field that is not a {'whole ' if convert is int else ''}number"
        if problem:
            raise DataFormatError(
                f"{path}, line {lineno:,} {problem} ({line[:80]!r}); the file is truncated "
                f"or damaged. {_repair_hint(path.parent)}"
            )
    raise DataFormatError(f"{path} could not be parsed. {_repair_hint(path.parent)}")


def _numeric_table(text: str, n_cols: int, path: Path, *, sep=None, dtype=np.int64,
                   first_line: int = 1) -> np.ndarray:
    """Parse lines of ``n_cols`` numbers into an array of shape (n_lines, n_cols).

    ``np.fromstring`` does the work (about 10 times faster than splitting in
    Python); only when it fails is the text walked line by line to name the
    bad line.
    """
    body = text.strip()
    n_lines = body.count("\n") + 1 if body else 0
    flat = body.replace(sep, " ") if sep else body
    values = None
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            values = np.fromstring(flat, dtype=dtype, sep=" ")
        except (ValueError, DeprecationWarning):
            values = None
    if values is None or values.size != n_lines * n_cols:
        _bad_line(body, n_cols, path, sep, dtype, first_line)
    return values.reshape(n_lines, n_cols)


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
            f"or are damaged. {_repair_hint(path.parent)}"
        )
    return pos


def _sorted_unique_ids(ids, path: Path, what: str) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.int64)
    s = np.sort(ids)
    dup = s[1:][s[1:] == s[:-1]]
    if dup.size:
        raise DataFormatError(
            f"{path} lists {what} id {dup[0]} more than once. {_repair_hint(path.parent)}"
        )
    return s


def _assemble(name, folder: Path, release_files, movie_ids, titles, genre_names, genres,
              user_ids, r_users, r_movies, r_values, r_times) -> Ratings:
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
    bad = ~((r_values >= 0.5) & (r_values <= 5.0))
    if np.any(bad):
        raise DataFormatError(
            f"{ratings_path} has a rating of {r_values[np.argmax(bad)]} (outside 0.5..5). "
            f"{_repair_hint(folder)}"
        )
    key = np.sort(movies * len(sorted_users) + users)
    n_dup = int(np.count_nonzero(key[1:] == key[:-1]))
    if n_dup:
        raise DataFormatError(
            f"{ratings_path} rates the same (user, movie) pair twice ({n_dup:,} times). "
            f"{_repair_hint(folder)}"
        )
    return Ratings(
        movies=movies, users=users, ratings=r_values,
        n_movies=len(sorted_movies), n_users=len(sorted_users),
        titles=titles, genre_names=tuple(genre_names), genres=genres,
        movie_ids=sorted_movies, user_ids=sorted_users, name=name,
        timestamps=np.asarray(r_times).astype(np.int64),
    )


def _split_lines(text: str, sep: str, n_fields: int, path: Path, *, maxsplit=-1,
                 first_line: int = 1):
    rows = []
    for lineno, line in enumerate(text.strip("\r\n").split("\n"), start=first_line):
        parts = line.rstrip("\r").split(sep, maxsplit)
        if len(parts) != n_fields:
            raise DataFormatError(
                f"{path}, line {lineno:,} has {_fields(len(parts))}, expected {n_fields} "
                f"({line[:80]!r}); the file is truncated or damaged. {_repair_hint(path.parent)}"
            )
        rows.append(parts)
    return rows


def _ids(column, path: Path, what: str) -> np.ndarray:
    try:
        return np.array([int(v) for v in column], dtype=np.int64)
    except ValueError as exc:
        raise DataFormatError(f"{path} has a {what} id that is not a whole number ({exc}). "
                              f"{_repair_hint(path.parent)}") from None


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


def _read_100k_ratings_file(path: Path) -> np.ndarray:
    """(n, 4) int64 table: user id, movie id, rating, timestamp."""
    return _numeric_table(_read_text(path, "ascii"), 4, path)


def _read_100k(folder: Path) -> Ratings:
    """Parse ml-100k: u.data (tab-separated), u.item (Latin-1, ``|``), u.user (``|``)."""
    item_path, user_path = folder / "u.item", folder / "u.user"
    n_item_fields = 5 + len(ML100K_GENRES)
    items = _split_lines(_read_text(item_path, "latin-1"), "|", n_item_fields, item_path)
    movie_ids = _ids([p[0] for p in items], item_path, "movie")
    titles = [p[1] for p in items]
    flags = np.array([p[5:] for p in items], dtype=str).reshape(len(items), -1)
    genres = flags == "1"
    bad = ~genres & (flags != "0")
    if bad.any():
        line = int(np.argmax(bad.any(axis=1))) + 1
        raise DataFormatError(f"{item_path}, line {line:,} has a genre flag other than 0 or 1. "
                              f"{_repair_hint(folder)}")
    users = _split_lines(_read_text(user_path, "latin-1"), "|", 5, user_path)
    user_ids = _ids([p[0] for p in users], user_path, "user")
    table = _read_100k_ratings_file(folder / "u.data")
    return _assemble("ml-100k", folder, ("u.data", "u.item", "u.user"), movie_ids, titles,
                     ML100K_GENRES, genres, user_ids, table[:, 0], table[:, 1], table[:, 2],
                     table[:, 3])


def _read_1m(folder: Path) -> Ratings:
    """Parse ml-1m: ``::``-separated ratings.dat, movies.dat (Latin-1), users.dat."""
    movies_path, users_path = folder / "movies.dat", folder / "users.dat"
    rows = _split_lines(_read_text(movies_path, "latin-1"), "::", 3, movies_path, maxsplit=2)
    movie_ids = _ids([p[0] for p in rows], movies_path, "movie")
    genre_names, genres = _genre_matrix([p[2].split("|") for p in rows], movies_path)
    users = _split_lines(_read_text(users_path, "latin-1"), "::", 5, users_path)
    user_ids = _ids([p[0] for p in users], users_path, "user")
    path = folder / "ratings.dat"
    table = _numeric_table(_read_text(path, "ascii"), 4, path, sep="::")
    return _assemble("ml-1m", folder, ("ratings.dat", "movies.dat", "users.dat"), movie_ids,
                     [p[1] for p in rows], genre_names, genres, user_ids,
                     table[:, 0], table[:, 1], table[:, 2], table[:, 3])


def _csv_header(text: str, expected: str, path: Path) -> str:
    text = text.removeprefix("\ufeff")
    first, _, rest = text.partition("\n")
    if first.rstrip("\r") != expected:
        raise DataFormatError(
            f"{path} starts with {first[:80]!r}, expected the header {expected!r}. "
            f"{_repair_hint(path.parent)}"
        )
    return rest


def _read_latest_small(folder: Path) -> Ratings:
    """Parse ml-latest-small: CSV with headers, UTF-8, half-star ratings."""
    movies_path, ratings_path = folder / "movies.csv", folder / "ratings.csv"
    body = _csv_header(_read_text(movies_path, "utf-8"), "movieId,title,genres", movies_path)
    rows = list(csv.reader(io.StringIO(body)))
    for lineno, row in enumerate(rows, start=2):
        if len(row) != 3:
            raise DataFormatError(
                f"{movies_path}, line {lineno:,} has {_fields(len(row))}, expected 3 ({row!r}); "
                f"the file is truncated or damaged. {_repair_hint(folder)}"
            )
    movie_ids = _ids([r[0] for r in rows], movies_path, "movie")
    genre_names, genres = _genre_matrix([r[2].split("|") for r in rows], movies_path)
    body = _csv_header(_read_text(ratings_path, "utf-8"), "userId,movieId,rating,timestamp",
                       ratings_path)
    table = _numeric_table(body, 4, ratings_path, sep=",", dtype=np.float64, first_line=2)
    ids = table[:, :2]
    if np.any(ids != np.round(ids)):
        raise DataFormatError(f"{ratings_path} has a user or movie id that is not a whole "
                              f"number. {_repair_hint(folder)}")
    r_users, r_movies = ids[:, 0].astype(np.int64), ids[:, 1].astype(np.int64)
    return _assemble("ml-latest-small", folder, ("ratings.csv", "movies.csv", "ratings.csv"),
                     movie_ids, [r[1] for r in rows], genre_names, genres,
                     np.unique(r_users), r_users, r_movies, table[:, 2],
                     table[:, 3].astype(np.int64))


_READERS = {"100k": _read_100k, "1m": _read_1m, "latest-small": _read_latest_small}


def _check_counts(release: Release, data: Ratings, folder: Path):
    """A complete copy has exactly the release's numbers of ratings, movies and users."""
    checks = (
        (data.nnz, release.n_ratings, "ratings", release.ratings_file),
        (data.n_movies, release.n_movies, "movies", release.movies_file),
        (data.n_users, release.n_users, "users", release.users_file),
    )
    for found, expected, what, file in checks:
        if found != expected:
            raise DataFormatError(
                f"{folder / file}: expected {expected:,} {what}, found {found:,}. The file is "
                f"truncated or comes from another release. {_repair_hint(folder)}"
            )


def _read_checked(release: Release, folder: Path) -> Ratings:
    data = _READERS[release.name](folder)
    _check_counts(release, data, folder)
    return data


# ------------------------------------------------------------------ fetching
def _not_found(release: Release, candidates, reason: str, target: Path | None) -> DataNotFoundError:
    searched = "\n".join(f"  {c / release.folder}/ or {c / release.archive}" for c in candidates)
    where = target or candidates[0]
    return DataNotFoundError(
        f"{release.title} is not available: {reason}\n"
        f"Searched:\n{searched}\n"
        f"Fix: download {release.archive} from {release.url} on another machine "
        f"({release.size:,} bytes, sha256 {release.sha256}) and put it in {where}, "
        f"or set {ENV_VAR} to a folder that holds {release.folder}/ or {release.archive}."
    )


def _locate(release: Release, data_dir, *, download: bool, progress: bool,
            validate_existing: bool) -> Path:
    """Folder holding the extracted release, fetching and extracting it if needed."""
    _check_given_folder(data_dir)
    candidates = data_dir_candidates(data_dir)
    for base in candidates:
        folder = base / release.folder
        if folder.is_dir():
            if validate_existing:
                _read_checked(release, folder)
            return folder

    def validate(folder):
        _read_checked(release, folder)

    for base in candidates:
        archive = base / release.archive
        if archive.is_file():
            verify_file(archive, size=release.size, sha256=release.sha256, url=release.url)
            return extract_archive(archive, base / release.folder, validate=validate)

    target = next((c for c in candidates if _writable(c)), None)
    if not download:
        raise _not_found(release, candidates, "downloading was switched off (download=False).",
                         target)
    if target is None:
        raise _not_found(release, candidates, "none of the folders is writable, so it cannot "
                         "be downloaded.", None)
    archive = target / release.archive
    if progress:
        print(f"Downloading {release.title} ({release.size / 1e6:.1f} MB) from {release.url} "
              f"to {target}", file=sys.stderr)
    try:
        download_file(release.url, archive, size=release.size, sha256=release.sha256,
                      progress=progress)
    except DownloadError as exc:
        raise _not_found(release, candidates, f"no local copy, and {exc.reason}",
                         target) from exc
    return extract_archive(archive, target / release.folder, validate=validate)


def fetch_movielens(name: str = "100k", data_dir=None, progress: bool = True) -> Path:
    """Make sure a MovieLens release is on disk and complete; return its folder.

    Looks in ``data_dir`` (or ``CFLIB_DATA_DIR``, then the repository's
    ``data/``) for the extracted folder, then for the zip archive, and
    otherwise downloads the official archive into the first writable folder.
    Downloads and archives are checked against the expected size and sha256;
    the extracted files against the expected numbers of ratings, movies and
    users.

    Parameters
    ----------
    name : {"100k", "1m", "latest-small"}
    data_dir : path, optional
        The only folder to use (it must exist).
    progress : bool
        Show a download progress bar.

    Returns
    -------
    Path
        The extracted folder, e.g. ``.../ml-100k``.

    Raises
    ------
    DataNotFoundError
        (a ``FileNotFoundError``) No copy, and none could be downloaded; the
        message lists the folders searched and how to install one by hand.
    DataFormatError
        A file of an existing copy is missing lines or damaged.
    ChecksumError, ArchiveError
        A downloaded or hand-placed archive is not the official one.
    """
    release = _release(name)
    return _locate(release, data_dir, download=True, progress=progress, validate_existing=True)


def load_movielens(name: str = "100k", data_dir=None, *, download: bool = True,
                   progress: bool = True) -> Ratings:
    """Load MovieLens as Y and R of shape (n_movies, n_users) plus coordinates.

    Parameters
    ----------
    name : {"100k", "1m", "latest-small"}
        The release (``"ml-100k"`` etc. also accepted).
    data_dir : path, optional
        The only folder to use; it holds (or receives) ``ml-100k/``.
        Default: ``CFLIB_DATA_DIR``, then ``data/`` in the repository.
    download : bool
        Download the official archive when there is no local copy.
    progress : bool
        Show a progress bar while downloading.

    Returns
    -------
    Ratings
        ``Y``, ``R`` of shape (n_movies, n_users); ``movies``, ``users``,
        ``ratings`` of shape (nnz,) with 0-based indices; ``titles``;
        ``genre_names`` and the multi-hot ``genres`` (n_movies, n_genres);
        ``movie_ids`` and ``user_ids``, the MovieLens id of each row and
        column (sorted). For ``"100k"``: 100,000 ratings, 1,682 movies,
        943 users, ratings 1..5. For ``"latest-small"`` ratings are in
        half stars (0.5..5) and movies listed without ratings still get a
        row; "(no genres listed)" gives a row of no genres.

    Raises
    ------
    DataNotFoundError
        (a ``FileNotFoundError``) No copy and no download possible.
    DataFormatError
        A file is truncated or damaged (the message names it and the fix).
    ChecksumError, ArchiveError
        The archive is not the official one.

    Examples
    --------
    >>> data = load_movielens("100k")            # doctest: +SKIP
    >>> data.Y.shape, data.nnz                   # doctest: +SKIP
    ((1682, 943), 100000)
    """
    release = _release(name)
    folder = _locate(release, data_dir, download=download, progress=progress,
                     validate_existing=False)
    return _read_checked(release, folder)


def load_split(split: str = "u1", data_dir=None, *, download: bool = True,
               progress: bool = True):
    """An official ml-100k split as (train, test).

    ``u1``..``u5`` are the five folds of a 5-fold cross-validation (80,000
    training and 20,000 test ratings each, disjoint tests); ``ua`` and ``ub``
    hold out exactly 10 ratings per user (90,570 / 9,430).

    Parameters
    ----------
    split : {"u1", "u2", "u3", "u4", "u5", "ua", "ub"}
    data_dir, download, progress :
        As for :func:`load_movielens`.

    Returns
    -------
    train, test : Ratings
        Both of the full shape (1682, 943), with the same titles, genres and
        ids as ``load_movielens("100k")``.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown ml-100k split {split!r}; choose one of {', '.join(SPLITS)}")
    release = RELEASES["100k"]
    folder = _locate(release, data_dir, download=download, progress=progress,
                     validate_existing=False)
    full = _read_checked(release, folder)
    out, total = [], 0
    for part in ("base", "test"):
        path = folder / f"{split}.{part}"
        table = _read_100k_ratings_file(path)
        total += len(table)
        users = _index(full.user_ids, table[:, 0], path, "user", folder / "u.user")
        movies = _index(full.movie_ids, table[:, 1], path, "movie", folder / "u.item")
        out.append(Ratings(
            movies=movies, users=users, ratings=table[:, 2].astype(np.float64),
            n_movies=full.n_movies, n_users=full.n_users, titles=full.titles,
            genre_names=full.genre_names, genres=full.genres, movie_ids=full.movie_ids,
            user_ids=full.user_ids, name=f"ml-100k {split}.{part}", timestamps=table[:, 3],
        ))
    if total != full.nnz:
        raise DataFormatError(
            f"{folder / (split + '.base')} and {split}.test: expected {full.nnz:,} ratings "
            f"together, found {total:,}. A file is truncated. {_repair_hint(folder)}"
        )
    return tuple(out)


# ----------------------------------------------------------------------- CLI
def main(argv=None) -> int:
    """``python -m cflib.data [--name 100k] [--data-dir DIR] [--no-progress]``."""
    parser = argparse.ArgumentParser(
        prog="python -m cflib.data",
        description="Fetch a MovieLens release once (download, verify, extract) and "
                    "print where it is.",
    )
    parser.add_argument("--name", default="100k", choices=list(RELEASES))
    parser.add_argument("--data-dir", default=None,
                        help=f"folder to use (default: ${ENV_VAR}, else {REPO_DATA})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        folder = fetch_movielens(args.name, args.data_dir, progress=not args.no_progress)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    release = RELEASES[args.name]
    print(f"{release.title} is ready in {folder} ({release.n_ratings:,} ratings, "
          f"{release.n_movies:,} movies, {release.n_users:,} users)")
    return 0


if __name__ == "__main__":
    from cflib.data import main as _main  # the package's copy, not this __main__ one

    sys.exit(_main())
