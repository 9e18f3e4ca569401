"""The MovieLens releases cflib knows, as data: one :class:`Release` record each.

A record carries everything that differs between releases: the archive's
URLs (official first), its size and sha256, the numbers of ratings, movies
and users a complete copy has, and its reader. Adding a data set is adding a
record here (and its reader in :mod:`cflib.datasets.formats`); :mod:`cflib.datasets.movielens` finds,
fetches and checks any release the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from .formats import read_ml1m, read_ml100k, read_ml_latest_small
from ..ratings import Ratings

__all__ = ["Release", "RELEASES", "URL_ENV_VAR", "release_for", "release_urls"]

#: Environment variable with the user's own URLs, tried before the release's.
URL_ENV_VAR = "CFLIB_MOVIELENS_URL"


@dataclass(frozen=True)
class Release:
    """One MovieLens release: where it comes from, what a good copy holds, how to read it.

    Attributes
    ----------
    name : str
        Short name used by :func:`load_movielens`, e.g. ``"100k"``.
    title : str
        Human-readable name, e.g. ``"MovieLens 100K"``.
    folder : str
        Folder inside the archive and in the data folder, e.g. ``"ml-100k"``.
    urls : tuple of str
        Where the archive is served, tried in order; the official one first.
        A copy is used only if it has exactly ``size`` bytes and ``sha256``.
    size, sha256 :
        The official archive's size in bytes and its hex sha256.
    n_ratings, n_movies, n_users : int
        Counts a complete copy has (checked on every load).
    ratings_file, movies_file, users_file : str
        The files those counts come from (``users_file`` may be the ratings
        file when the release has no user list).
    reader : callable
        ``reader(folder) -> Ratings``, the parser of this release's files.
    """

    name: str
    title: str
    folder: str
    urls: tuple
    size: int
    sha256: str
    n_ratings: int
    n_movies: int
    n_users: int
    ratings_file: str
    movies_file: str
    users_file: str
    reader: Callable[[Path], Ratings]

    @property
    def url(self) -> str:
        """The official URL (the first of ``urls``)."""
        return self.urls[0]

    @property
    def archive(self) -> str:
        """File name of the archive, e.g. ``"ml-100k.zip"``."""
        return self.folder + ".zip"


# Only GroupLens' own server is listed. Other projects keep copies (the
# Recommenders project reports byte-identical ml-100k and ml-1m zips on a
# Hugging Face mirror, recommenders PR #2369), but the file address could not be
# verified from here; a user can add any copy with CFLIB_MOVIELENS_URL, since
# the size and sha256 are checked whatever the source.
_BASE_URL = "https://files.grouplens.org/datasets/movielens/"
RELEASES = {
    "100k": Release(
        "100k", "MovieLens 100K", "ml-100k", (_BASE_URL + "ml-100k.zip",), 4_924_029,
        "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        n_ratings=100_000, n_movies=1_682, n_users=943,
        ratings_file="u.data", movies_file="u.item", users_file="u.user", reader=read_ml100k,
    ),
    "1m": Release(
        "1m", "MovieLens 1M", "ml-1m", (_BASE_URL + "ml-1m.zip",), 5_917_549,
        "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        n_ratings=1_000_209, n_movies=3_883, n_users=6_040,
        ratings_file="ratings.dat", movies_file="movies.dat", users_file="users.dat",
        reader=read_ml1m,
    ),
    "latest-small": Release(
        "latest-small", "MovieLens latest-small", "ml-latest-small",
        (_BASE_URL + "ml-latest-small.zip",), 978_202,
        "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
        n_ratings=100_836, n_movies=9_742, n_users=610,
        ratings_file="ratings.csv", movies_file="movies.csv", users_file="ratings.csv",
        reader=read_ml_latest_small,
    ),
}


def release_for(name: str) -> Release:
    """The record of release ``name`` (``"100k"``, ``"ml-100k"``, ...); ValueError if unknown."""
    key = str(name).lower().removeprefix("ml-")
    if key not in RELEASES:
        raise ValueError(
            f"unknown MovieLens release {name!r}; choose one of "
            + ", ".join(repr(k) for k in RELEASES)
        )
    return RELEASES[key]


def release_urls(release: Release) -> list[str]:
    """The URLs to try for ``release``, in order: the user's, then the release's own.

    ``CFLIB_MOVIELENS_URL`` holds one or more URLs separated by spaces. One
    whose last part names no ``.zip`` file (``https://host/movielens`` or
    ``https://host/movielens/``) is a folder: the archive name (``ml-100k.zip``)
    is appended. Any other is the address of one archive and is used for the
    release whose archive name it contains. The size and sha256 are checked
    whatever the source.

    Raises
    ------
    ValueError
        A URL that is not http(s), ftp or file, naming the variable and the fix.

    Parameters
    ----------
    release : Release

    Returns
    -------
    list of str
        No URL twice.
    """
    own = []
    for url in os.environ.get(URL_ENV_VAR, "").split():
        scheme, _, rest = url.partition("://")
        if scheme.lower() not in ("http", "https", "ftp", "file") or not rest:
            raise ValueError(
                f"{URL_ENV_VAR} holds {url!r}, which is not a URL: give addresses such as "
                f"https://host/path/ (a folder holding {release.archive}) or "
                f"https://host/path/{release.archive}, separated by spaces, or unset it")
        last = urlsplit(url).path.rstrip("/").rpartition("/")[2]
        if not last.lower().endswith(".zip"):  # a folder, with or without its final /
            own.append(url.rstrip("/") + "/" + release.archive)
        elif release.archive in url:
            own.append(url)
    return list(dict.fromkeys(own + list(release.urls)))
