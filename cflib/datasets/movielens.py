"""Loading MovieLens as a :class:`cflib.Ratings`.

Three GroupLens releases are supported: ``"100k"`` (the course's default),
``"1m"`` and ``"latest-small"``. The result is always the same container:
``Y`` and ``R`` of shape (n_movies, n_users) (movies are rows), the observed
entries as 0-based coordinates ``movies``, ``users``, ``ratings``, the titles,
the genres (a multi-hot matrix), and the original MovieLens ids of every row
(``movie_ids``) and column (``user_ids``). Rows are sorted by movie id and
columns by user id; every movie the release lists gets a row, rated or not.

Each release is one :class:`~cflib.datasets.releases.Release` record in
:data:`~cflib.datasets.releases.RELEASES`: its archive's URLs (official first), size,
sha256, the counts a complete copy has, and its reader (from
:mod:`cflib.datasets.formats`, which parses the files). This module finds, fetches and
checks the copy:

1. the ``data_dir`` argument (then only that folder is used),
2. the folder named by the environment variable ``CFLIB_DATA_DIR``,
3. ``data/`` at the repository root (git-ignored: MovieLens may not be
   redistributed, so it is never committed).

In each folder an extracted ``ml-100k/`` is used if it is complete; else an
``ml-100k.zip`` placed there (for instance by hand, offline) is verified and
extracted; else the archive is downloaded into the first writable folder,
trying the user's URLs (``CFLIB_MOVIELENS_URL``) and then the release's, each
verified (size and sha256) before it is used. See ``data/README.md``.

From a shell, ``python -m cflib.datasets [--name 100k]`` fetches a release once,
with a progress bar, and prints where it is, or one line saying what is wrong.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .archive import extract_archive, verify_file
from .download import DEADLINE_SECONDS, TIMEOUT_SECONDS, check_limits, download_first
from .errors import (
    ArchiveError,
    DataArgumentError,
    ChecksumError,
    DataError,
    DataFormatError,
    DataNotFoundError,
    DataPermissionError,
    DownloadError,
)
from ..ratings import Ratings
from .formats import read_ml100k_split
from .releases import RELEASES, URL_ENV_VAR, Release, release_for, release_urls

__all__ = ["load_movielens", "load_split", "fetch_movielens", "data_dir_candidates", "ENV_VAR", "SPLITS"]

ENV_VAR = "CFLIB_DATA_DIR"
REPO_DATA = Path(__file__).resolve().parents[2] / "data"
SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


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
        return [_as_path(data_dir)]
    out = []
    env = os.environ.get(ENV_VAR)
    if env:
        out.append(Path(env).expanduser())
    out.append(REPO_DATA)
    return out


def _as_path(data_dir) -> Path:
    """``data_dir`` as a Path; anything but a str or os.PathLike is a :class:`DataArgumentError`."""
    if isinstance(data_dir, bytes) or not isinstance(data_dir, (str, os.PathLike)):
        raise DataArgumentError(
            f"data_dir must be a folder path (a str or pathlib.Path), got {type(data_dir).__name__} "
            f"{data_dir!r}; e.g. data_dir='data', or leave it out to use {ENV_VAR} or {REPO_DATA}")
    return Path(data_dir).expanduser()


def _check_given_folder(data_dir):
    """A folder the user named (argument or env var) must exist and be readable: a typo is an error."""
    if data_dir is not None:
        path, how = _as_path(data_dir), "data_dir"
    elif os.environ.get(ENV_VAR):
        path, how = Path(os.environ[ENV_VAR]).expanduser(), ENV_VAR
    else:
        return
    unset = f" or unset {ENV_VAR} (then {REPO_DATA} is used)" if how == ENV_VAR else ""
    try:
        is_dir = path.is_dir()
    except PermissionError:
        is_dir = None
    if is_dir is None or (is_dir and not os.access(path, os.R_OK | os.X_OK)):
        raise DataPermissionError(
            f"{how} is {path}, which cannot be read: permission denied. Make it readable "
            f"(chmod u+rx {path}){unset}, or use another folder.")
    if is_dir:
        return
    if path.exists():
        raise DataNotFoundError(
            f"{how} is {path}, which is a file, not a folder. Give the folder that holds "
            f"(or is to receive) the data, e.g. {path.parent}{unset}."
        )
    raise DataNotFoundError(
        f"{how} is {path}, but that folder does not exist. Fix the path{unset}, "
        f"or create the folder (mkdir -p {path}) to have the data downloaded into it."
    )


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _check_kind(path: Path, want_dir: bool):
    """``path`` may be missing, or of the expected kind; else say what is in the way."""
    if path.exists() and path.is_dir() != want_dir:
        found, want = ("a folder", "a file") if path.is_dir() else ("a file", "a folder")
        raise DataFormatError(
            f"{path} is {found}, but cflib expects {want} of that name there. Move or "
            f"delete it, then run `python -m cflib.datasets` again."
        )


# ------------------------------------------------------------------ reading
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
                f"truncated or comes from another release. Delete the folder {folder} and run "
                f"`python -m cflib.datasets --name {release.name}` to download it again, or put a "
                f"good {release.archive} in {folder.parent}."
            )


def _read_checked(release: Release, folder: Path) -> Ratings:
    data = release.reader(folder)
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


def _extract(release: Release, archive: Path, candidates) -> Path:
    """Extract next to the archive, or into the first writable folder if that one is read-only."""
    target = archive.parent if _writable(archive.parent) else next(
        (c for c in candidates if _writable(c)), None)
    if target is None:
        raise DataPermissionError(
            f"{archive} is there, but {archive.parent} is read-only, so it cannot be extracted "
            f"there (and no other folder searched is writable). Fix: make the folder writable "
            f"(chmod u+w {archive.parent}), or extract it yourself "
            f"(cd {archive.parent} && unzip {release.archive}), or copy {release.archive} to a "
            f"writable folder and set {ENV_VAR} to it."
        )
    _check_kind(target / release.folder, want_dir=True)
    return extract_archive(archive, target / release.folder,
                           validate=lambda folder: _read_checked(release, folder))


def _locate(release: Release, data_dir, *, download: bool, progress: bool,
            validate_existing: bool, timeout: float = TIMEOUT_SECONDS,
            deadline: float = DEADLINE_SECONDS) -> Path:
    """Folder holding the extracted release, fetching and extracting it if needed."""
    timeout, deadline = check_limits(timeout, deadline)
    _check_given_folder(data_dir)
    candidates = data_dir_candidates(data_dir)
    for base in candidates:
        folder = base / release.folder
        _check_kind(folder, want_dir=True)
        if folder.is_dir():
            if validate_existing:
                _read_checked(release, folder)
            return folder

    for base in candidates:
        archive = base / release.archive
        _check_kind(archive, want_dir=False)
        if archive.is_file():
            verify_file(archive, size=release.size, sha256=release.sha256, url=release.url)
            return _extract(release, archive, candidates)

    target = next((c for c in candidates if _writable(c)), None)
    if not download:
        raise _not_found(release, candidates, "downloading was switched off (download=False).",
                         target)
    if target is None:
        raise _not_found(release, candidates, "none of the folders is writable, so it cannot "
                         "be downloaded.", None)
    archive = target / release.archive
    urls = release_urls(release)
    if progress:
        print(f"Downloading {release.title} ({release.size / 1e6:.1f} MB) from {urls[0]} "
              f"to {target}", file=sys.stderr)
    try:
        download_first(urls, archive, size=release.size, sha256=release.sha256,
                       progress=progress, timeout=timeout, deadline=deadline)
    except DownloadError as exc:
        raise _not_found(release, candidates, f"no local copy, and {exc.reason}",
                         target) from exc
    return extract_archive(archive, target / release.folder,
                           validate=lambda folder: _read_checked(release, folder))


def fetch_movielens(name: str = "100k", data_dir=None, progress: bool = True, *,
                    timeout: float = TIMEOUT_SECONDS, deadline: float = DEADLINE_SECONDS) -> Path:
    """Make sure a MovieLens release is on disk and complete; return its folder.

    Looks in ``data_dir`` (or ``CFLIB_DATA_DIR``, then the repository's
    ``data/``) for the extracted folder, then for the zip archive, and
    otherwise downloads the archive into the first writable folder, trying
    each URL of :func:`release_urls` in turn. Downloads and archives are
    checked against the expected size and sha256; the extracted files against
    the expected numbers of ratings, movies and users.

    Parameters
    ----------
    name : {"100k", "1m", "latest-small"}
    data_dir : path, optional
        The only folder to use (it must exist).
    progress : bool
        Show a download progress bar.
    timeout : float, default 30
        Stall timeout: seconds a server may send nothing before that URL is given up.
    deadline : float, default 300
        Seconds one download from one URL may take in all (a server trickling
        bytes is given up at this point).

    Returns
    -------
    Path
        The extracted folder, e.g. ``.../ml-100k``.

    Raises
    ------
    DataNotFoundError
        (a ``FileNotFoundError``) No copy, and none could be downloaded; the
        message says what each URL answered, lists the folders searched and how
        to install one by hand.
    DataFormatError
        A file of an existing copy is missing lines or damaged.
    DataPermissionError
        A folder that must be written (to extract the archive) is read-only.
    ChecksumError, ArchiveError
        A hand-placed archive is not the official one.
    """
    release = release_for(name)
    return _locate(release, data_dir, download=True, progress=progress, validate_existing=True,
                   timeout=timeout, deadline=deadline)


def load_movielens(name: str = "100k", data_dir=None, *, download: bool = True,
                   progress: bool = True, timeout: float = TIMEOUT_SECONDS,
                   deadline: float = DEADLINE_SECONDS) -> Ratings:
    """Load MovieLens as Y and R of shape (n_movies, n_users) plus coordinates.

    Parameters
    ----------
    name : {"100k", "1m", "latest-small"}
        The release (``"ml-100k"`` etc. also accepted).
    data_dir : path, optional
        The only folder to use; it holds (or receives) ``ml-100k/``.
        Default: ``CFLIB_DATA_DIR``, then ``data/`` in the repository.
    download : bool
        Download the archive when there is no local copy.
    progress : bool
        Show a progress bar while downloading.
    timeout, deadline : float
        Stall timeout and total time of a download from one URL, in seconds
        (see :func:`fetch_movielens`).

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
    DataPermissionError
        A folder that must be written is read-only.
    ChecksumError, ArchiveError
        The archive is not the official one.

    Examples
    --------
    >>> data = load_movielens("100k")            # doctest: +SKIP
    >>> data.Y.shape, data.nnz                   # doctest: +SKIP
    ((1682, 943), 100000)
    """
    release = release_for(name)
    folder = _locate(release, data_dir, download=download, progress=progress,
                     validate_existing=False, timeout=timeout, deadline=deadline)
    return _read_checked(release, folder)


def load_split(split: str = "u1", data_dir=None, *, download: bool = True,
               progress: bool = True):
    """An official ml-100k split as (train, test).

    ``u1``..``u5`` are the five folds of a 5-fold cross-validation (80,000
    training and 20,000 test ratings each, disjoint tests); ``ua`` and ``ub``
    hold out exactly 10 ratings per user (90,570 / 9,430). Both files are
    checked as ``u.data`` is (ratings 1..5, known ids, each pair once), no test
    pair may be in the training file, and together they hold u.data's count.

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

    Raises
    ------
    DataFormatError
        Naming the file and the line (a rating of 9, a repeated line, a test
        line also in the training file, a truncated file).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown ml-100k split {split!r}; choose one of {', '.join(SPLITS)}")
    release = RELEASES["100k"]
    folder = _locate(release, data_dir, download=download, progress=progress,
                     validate_existing=False)
    return read_ml100k_split(folder, split, _read_checked(release, folder))
