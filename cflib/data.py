"""Loading MovieLens as a :class:`cflib.Ratings`.

Where the data comes from, in order: the ``data_dir`` argument, the
environment variable ``CFLIB_DATA_DIR``, ``data/`` at the repository root.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .ratings import Ratings

__all__ = ["load_movielens", "load_split", "data_dir_candidates", "ENV_VAR"]

ENV_VAR = "CFLIB_DATA_DIR"
REPO_DATA = Path(__file__).resolve().parent.parent / "data"

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)


def data_dir_candidates(data_dir=None) -> list[Path]:
    """Folders searched for ``ml-100k/``, in order."""
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    out = []
    env = os.environ.get(ENV_VAR)
    if env:
        out.append(Path(env).expanduser())
    out.append(REPO_DATA)
    return out


def _find_100k(data_dir=None) -> Path:
    for base in data_dir_candidates(data_dir):
        folder = base / "ml-100k"
        if (folder / "u.data").is_file():
            return folder
    tried = ", ".join(str(p / "ml-100k") for p in data_dir_candidates(data_dir))
    raise FileNotFoundError(f"MovieLens 100K not found (looked in {tried})")


def _read_100k_items(folder: Path):
    ids, titles, genres = [], [], []
    with open(folder / "u.item", encoding="latin-1") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("|")
            if len(parts) < 5 + len(ML100K_GENRES):
                continue
            ids.append(int(parts[0]))
            titles.append(parts[1])
            genres.append([p == "1" for p in parts[5:5 + len(ML100K_GENRES)]])
    return np.array(ids), np.array(titles, dtype=object), np.array(genres, dtype=bool)


def _read_100k_triples(path: Path):
    raw = np.loadtxt(path, dtype=np.int64, ndmin=2)
    return raw[:, 0], raw[:, 1], raw[:, 2].astype(float)


def load_movielens(name: str = "100k", data_dir=None) -> Ratings:
    """Load MovieLens as Y and R of shape (n_movies, n_users) plus coordinates.

    Parameters
    ----------
    name : {"100k"}
    data_dir : path, optional
        Folder holding ``ml-100k/``.

    Returns
    -------
    Ratings
    """
    folder = _find_100k(data_dir)
    movie_ids, titles, genres = _read_100k_items(folder)
    users, movies, ratings = _read_100k_triples(folder / "u.data")
    user_ids = np.unique(users)
    return Ratings(
        movies=np.searchsorted(movie_ids, movies),
        users=np.searchsorted(user_ids, users),
        ratings=ratings,
        n_movies=len(movie_ids),
        n_users=len(user_ids),
        titles=titles,
        genre_names=ML100K_GENRES,
        genres=genres,
        movie_ids=movie_ids,
        user_ids=user_ids,
        name="ml-100k",
    )


def load_split(split: str = "u1", data_dir=None):
    """The official ml-100k split ``u1``..``u5``, ``ua`` or ``ub`` as (train, test)."""
    full = load_movielens("100k", data_dir)
    folder = _find_100k(data_dir)
    out = []
    for part in ("base", "test"):
        u, m, r = _read_100k_triples(folder / f"{split}.{part}")
        sub = full.subset(np.zeros(0, dtype=np.int64))
        out.append(Ratings(
            movies=np.searchsorted(full.movie_ids, m), users=np.searchsorted(full.user_ids, u),
            ratings=r, n_movies=full.n_movies, n_users=full.n_users, titles=full.titles,
            genre_names=full.genre_names, genres=full.genres, movie_ids=full.movie_ids,
            user_ids=full.user_ids, name=f"ml-100k {split}.{part}",
        ))
        del sub
    return tuple(out)
