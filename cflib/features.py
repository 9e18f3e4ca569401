r"""Feature blocks of a factorization machine: one-hot and weighted groups in a relational design.

A factorization machine (:mod:`cflib.fm`) reads each rating as a sparse vector
:math:`x \in \mathbb R^p` of features. Its features come in **groups**:

=================  =====  =================================================================
group              side   columns (value)
=================  =====  =================================================================
``user``           user   one per user (1): the user id
``movie``          movie  one per movie (1): the movie id
``age``            user   age buckets :data:`AGE_EDGES` (1)
``gender``         user   F, M (1)
``occupation``     user   the 21 occupations (1)
``zip``            user   zip region: the first digit 0-9, or ``other`` (Canadian codes) (1)
``genres``         movie  the 19 genres, each :math:`1/\sqrt{n_\text{genres}}` of the movie
``year``           movie  release-year buckets :data:`YEAR_EDGES`, plus ``unknown`` (1)
``date``           date   rating-date buckets of :data:`DATE_DAYS` days (1)
``movie_raters``   movie  one per user who rated the movie in train, :math:`1/\sqrt{n_i}`
``user_rated``     user   one per movie the user rated in train, :math:`1/\sqrt{n_j}`
=================  =====  =================================================================

``movie_raters`` is the SVD++-style implicit signal "users who rated this movie" (myFM's
ml-100k example); ``user_rated`` is the symmetric "movies this user rated" of SVD++.

**The relational design** (Rendle 2013, "Scaling factorization machines to relational
data"). A rating's features are the sum of three rows that many ratings share: its user's
row of the user block :math:`B_u` (n_users, p), its movie's row of the movie block
:math:`B_m` (n_movies, p), and its date bucket's row of the date block :math:`B_d`
(n_dates, p), each block nonzero only in its own groups' columns:

.. math::

    x_t = B_u[u_t] + B_m[m_t] + B_d[d_t].

So nothing of size (n_ratings, p) is ever stored: the blocks hold
:math:`O(n_\text{users} + n_\text{movies} + \text{nnz})` numbers, and a rating is three indices.
:meth:`FeatureSpace.dense` builds the dense design only for small data (tests, teaching).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

__all__ = ["GROUPS", "GROUP_SIDE", "SIDE_GROUPS", "ID_GROUPS", "AGE_EDGES", "YEAR_EDGES", "DATE_DAYS",
           "FeatureSpace", "build_features", "resolve_groups", "DENSE_LIMIT"]

#: Every group, in the order of the design's columns.
GROUPS = ("user", "movie", "age", "gender", "occupation", "zip", "genres", "year", "date", "movie_raters",
          "user_rated")
#: Which block (relation) each group lives in.
GROUP_SIDE = dict(user="user", movie="movie", age="user", gender="user", occupation="user", zip="user",
                  genres="movie", year="movie", date="date", movie_raters="movie", user_rated="user")
#: The groups that need :class:`cflib.datasets.side.SideInfo` (the others come from the ratings).
SIDE_GROUPS = ("age", "gender", "occupation", "zip", "genres", "year")
#: ``features="ids"``: MF's two one-hot groups.
ID_GROUPS = ("user", "movie")
#: Age buckets: under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56 and over (the age groups of ml-1m).
AGE_EDGES = (18, 25, 35, 45, 50, 56)
#: Release-year buckets: before 1940, the decades to 1980, 1980-84, 1985-89, then finer in the 1990s,
#: where most of ml-100k's movies were released; movies without a date get a column of their own.
YEAR_EDGES = (1940, 1950, 1960, 1970, 1980, 1985, 1990, 1993, 1995, 1996, 1997, 1998)
#: Width of a rating-date bucket in days (ml-100k spans seven months: about 31 buckets).
DATE_DAYS = 7
#: :meth:`FeatureSpace.dense` refuses designs with more entries than this.
DENSE_LIMIT = 20_000_000
_SIDES = ("user", "movie", "date")


def resolve_groups(features, side=None) -> tuple:
    """The group names of ``features``: ``"ids"``, ``"all"`` or a list of names, in :data:`GROUPS` order.

    ``"all"`` is every group when ``side`` is given, else the groups the ratings alone give
    (ids, ``date``, ``movie_raters``, ``user_rated``).
    """
    if isinstance(features, str):
        if features == "ids":
            return ID_GROUPS
        if features == "all":
            return tuple(g for g in GROUPS if side is not None or g not in SIDE_GROUPS)
        raise ValueError(f"features must be 'ids', 'all' or a list of group names from {GROUPS}, got {features!r}")
    try:
        names = list(features)
    except TypeError:
        raise TypeError(f"features must be 'ids', 'all' or a list of group names, got {type(features).__name__}") from None
    unknown = [g for g in names if not isinstance(g, str) or g not in GROUPS]
    if unknown or not names:
        raise ValueError(f"features lists {unknown[0]!r}, which is not a group: choose from {GROUPS}" if unknown
                         else f"features is an empty list: name at least one group of {GROUPS}")
    if len(set(names)) != len(names):
        raise ValueError(f"features names a group twice: {names}")
    return tuple(g for g in GROUPS if g in names)


def _one_hot(codes, n_cols):
    """(n, n_cols) csr with a 1 at (r, codes[r]); a negative code gives an empty row."""
    codes = np.asarray(codes, dtype=np.int64)
    keep = codes >= 0
    rows = np.flatnonzero(keep)
    return sp.csr_matrix((np.ones(rows.size), (rows, codes[keep])), shape=(codes.size, n_cols))


def _implicit(rows, cols, n_rows, n_cols):
    """(n_rows, n_cols) csr: row r has 1/sqrt(n_r) at each of its n_r columns (the SVD++ weighting)."""
    m = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_rows, n_cols))
    m.data[:] = 1.0  # a repeated pair counts once
    counts = np.diff(m.indptr)
    m.data /= np.sqrt(np.repeat(np.maximum(counts, 1), counts))
    return m


def _year_codes(years):
    """Bucket of each release year (``len(YEAR_EDGES) + 1`` for an unknown year)."""
    years = np.asarray(years, dtype=np.float64)
    return np.where(np.isnan(years), len(YEAR_EDGES) + 1, np.searchsorted(YEAR_EDGES, np.nan_to_num(years), "right"))


def _zip_codes(zips):
    first = np.array([z[:1] for z in zips])
    return np.array([int(c) if c.isdigit() else 10 for c in first], dtype=np.int64)


def _bucket_labels(edges, fmt):
    lo = [None, *edges]
    hi = [*edges, None]
    return [fmt(a, b) for a, b in zip(lo, hi)]


def _user_attributes(g, age, gender, occupation, zip_code, n_occupations):
    """The rows of the user-side attribute group ``g`` (age, gender, occupation, zip), one per user."""
    if g == "age":
        return _one_hot(np.searchsorted(AGE_EDGES, age, "right"), len(AGE_EDGES) + 1)
    if g == "gender":
        return _one_hot(np.searchsorted(("F", "M"), gender), 2)
    if g == "occupation":
        return _one_hot(occupation, n_occupations)
    return _one_hot(_zip_codes(zip_code), 11)


def _movie_attributes(g, genres, years):
    """The rows of the movie-side attribute group ``g`` (genres, year), one per movie."""
    if g == "genres":
        G = np.asarray(genres, dtype=np.float64)
        n = G.sum(axis=1, keepdims=True)
        return sp.csr_matrix(np.divide(G, np.sqrt(n), out=np.zeros_like(G), where=n > 0))
    return _one_hot(_year_codes(years), len(YEAR_EDGES) + 2)


def _attribute_labels(g, side):
    if g == "age":
        return _bucket_labels(AGE_EDGES, lambda a, b: f"age:{a or 0}-{b - 1}" if b else f"age:{a}+")
    if g == "gender":
        return ["gender:F", "gender:M"]
    if g == "occupation":
        return [f"occupation:{o}" for o in side.occupations]
    if g == "zip":
        return [f"zip:{d}" for d in range(10)] + ["zip:other"]
    if g == "genres":
        return [f"genre:{name}" for name in side.genre_names]
    return _bucket_labels(YEAR_EDGES, lambda a, b: f"year:<{b}" if a is None else
                          (f"year:{a}" if b == a + 1 else f"year:{a}-{b - 1}" if b else f"year:{a}+")) + ["year:unknown"]


@dataclass(eq=False)
class FeatureSpace:
    """The relational design of one training set: three blocks and how to index them.

    Attributes
    ----------
    groups : tuple of str
        The groups used, in column order.
    blocks : dict of str -> scipy.sparse.csr_matrix
        ``"user"`` (n_users, p), ``"movie"`` (n_movies, p), ``"date"`` (n_dates, p); a block none of
        whose groups is used is all zero.
    group_slices : dict of str -> slice
        The columns of each group.
    feature_names : list of str, length p
    one_hot : dict of str -> bool
        True for a group of which each rating has at most one active feature, with value 1
        (every group except ``genres``, ``movie_raters`` and ``user_rated``).
    date_start : int
        Seconds since 1970 where date bucket 0 starts.
    n_dates : int
    side : SideInfo or None
        Read by :meth:`indices` for the dates of ratings (``SideInfo.rating_times``).
    """

    groups: tuple
    blocks: dict
    group_slices: dict
    feature_names: list
    one_hot: dict
    date_start: int
    n_dates: int
    side: object = None

    @property
    def n_features(self) -> int:
        """p, the length of a rating's feature vector."""
        return len(self.feature_names)

    def group_of_feature(self) -> np.ndarray:
        """Index into ``groups`` of each feature, shape (p,)."""
        out = np.empty(self.n_features, dtype=np.int64)
        for g, name in enumerate(self.groups):
            out[self.group_slices[name]] = g
        return out

    def date_index(self, times) -> np.ndarray:
        """Date bucket of each time (seconds since 1970), clipped to 0..n_dates-1; -1 (unknown) is the last."""
        times = np.asarray(times, dtype=np.int64)
        b = (times - self.date_start) // (DATE_DAYS * 86400)
        return np.where(times < 0, self.n_dates - 1, np.clip(b, 0, self.n_dates - 1))

    def indices(self, movies, users, timestamps=None) -> dict:
        """The block row of each rating: ``{"user": users, "movie": movies, "date": date buckets}``.

        Parameters
        ----------
        movies, users : ndarray of int, shape (n,)
        timestamps : ndarray of int, shape (n,), optional
            When each rating was given (seconds since 1970). Default: the date u.data records for
            the pair (``side.rating_times``); a pair never rated falls in the latest bucket.
        """
        movies = np.asarray(movies, dtype=np.int64)
        users = np.asarray(users, dtype=np.int64)
        out = {"user": users, "movie": movies}
        if "date" in self.groups:
            if timestamps is None:
                if self.side is None:
                    raise ValueError("the date group needs each rating's time: pass timestamps= (seconds since "
                                     "1970, e.g. test.timestamps), or build the features with side=load_side_info()")
                known = (movies < self.side.n_movies) & (users < self.side.n_users)  # rows added by with_rows: none
                timestamps = np.where(known, self.side.rating_times(np.where(known, movies, 0),
                                                                    np.where(known, users, 0)), -1)
            timestamps = np.asarray(timestamps)
            if timestamps.shape != movies.shape:
                raise ValueError(f"timestamps has shape {timestamps.shape}, expected {movies.shape} (one per rating)")
            out["date"] = self.date_index(timestamps)
        else:
            out["date"] = np.zeros(movies.size, dtype=np.int64)
        return out

    def dense(self, movies, users, timestamps=None) -> np.ndarray:
        """The dense design, shape (n, p): row t is :math:`B_u[u_t] + B_m[m_t] + B_d[d_t]` (small data only)."""
        idx = self.indices(movies, users, timestamps)
        n = idx["user"].size
        if n * self.n_features > DENSE_LIMIT:
            raise ValueError(f"the dense design would have {n:,} x {self.n_features:,} entries: it is for small "
                             "data; the FM never needs it (use the blocks)")
        return sum(self.blocks[s][idx[s]].toarray() for s in _SIDES)

    def movie_row(self, genres, year) -> sp.csr_matrix:
        """The movie-block row, shape (1, p), of a movie nobody has rated: its genres and release year only.

        Its ``movie`` id and ``movie_raters`` columns are empty (:meth:`with_new` adds the id).
        :func:`cflib.cold_start.with_new_movie` checks the names and the year first.

        Parameters
        ----------
        genres : ndarray of bool, shape (n_genres,)
            Which of u.genre's genres (``side.genre_names``) the movie has.
        year : float
            Release year; NaN for unknown (the ``year:unknown`` column).
        """
        G = np.asarray(genres, dtype=bool)[None, :]
        return self._side_row({g: _movie_attributes(g, G, [year]) for g in ("genres", "year")})

    def user_row(self, age, gender, occupation, zip_code) -> sp.csr_matrix:
        """The user-block row, shape (1, p), of a user with no ratings: age, gender, occupation and zip only.

        Its ``user`` id and ``user_rated`` columns are empty (as :meth:`movie_row`; the checks:
        :func:`cflib.cold_start.with_new_user`).

        Parameters
        ----------
        age : int
        gender : {"F", "M"}
        occupation : int
            Index into ``side.occupations`` (-1: no occupation column).
        zip_code : str
        """
        n_occ = len(self.side.occupations) if self.side is not None else 0
        return self._side_row({g: _user_attributes(g, [age], [gender], [occupation], [zip_code], n_occ)
                               for g in ("age", "gender", "occupation", "zip")})

    def _side_row(self, parts):
        row = np.zeros(self.n_features)
        for g, m in parts.items():
            if g in self.groups:
                row[self.group_slices[g]] = m.toarray().ravel()
        return sp.csr_matrix(row[None, :])

    def with_new(self, side: str, row) -> tuple:
        """A copy with one more movie (``side="movie"``, index n_movies) or user: block row ``row``, and an id.

        With the ``movie`` (``user``) id group, a column ``movie:new`` (``user:new``) is inserted at
        the end of that group, 1 in the new row only: an id never seen in training, whose weight and
        factors the model sets (:func:`cflib.cold_start.with_new_movie`). The new row's ratings fall
        in the latest date bucket unless ``indices`` is given their times.

        Parameters
        ----------
        side : {"movie", "user"}
        row : sparse or ndarray of shape (1, p)
            From :meth:`movie_row` or :meth:`user_row`.

        Returns
        -------
        space : FeatureSpace
            With p + 1 features when the id column was added, else p.
        column : int or None
            The new id column, None when the id group is not used.
        """
        if side not in ("movie", "user"):
            raise ValueError(f"side must be 'movie' or 'user', got {side!r}")
        row = sp.csr_matrix(row, dtype=np.float64)
        if row.shape != (1, self.n_features):
            raise ValueError(f"row must have shape (1, {self.n_features}) (one row of p columns), got {row.shape}")
        blocks = dict(self.blocks)
        blocks[side] = sp.vstack([self.blocks[side], row], format="csr")
        if side not in self.groups:
            return replace(self, blocks=blocks), None
        c = self.group_slices[side].stop
        for b, B in blocks.items():
            n = B.shape[0]
            col = sp.csr_matrix(([1.0], ([n - 1], [0])), shape=(n, 1)) if b == side else sp.csr_matrix((n, 1))
            blocks[b] = sp.hstack([B[:, :c], col, B[:, c:]], format="csr")
            blocks[b].sort_indices()
        slices = {g: slice(sl.start + (sl.start >= c), sl.stop + (sl.stop >= c)) for g, sl in self.group_slices.items()}
        names = [*self.feature_names[:c], f"{side}:new", *self.feature_names[c:]]
        return replace(self, blocks=blocks, group_slices=slices, feature_names=names), c

    def __repr__(self):
        sizes = ", ".join(f"{g} {self.group_slices[g].stop - self.group_slices[g].start}" for g in self.groups)
        return f"FeatureSpace(p={self.n_features}: {sizes})"


def build_features(train, features="ids", side=None) -> FeatureSpace:
    """The feature blocks of ``train`` for the groups ``features`` (module docstring).

    Parameters
    ----------
    train : Ratings
        The implicit groups (``movie_raters``, ``user_rated``) use who rated what in it; the
        date buckets span ``side``'s rating dates (all of u.data) or else ``train.timestamps``.
    features : "ids", "all" or list of str
        See :func:`resolve_groups`.
    side : SideInfo, optional
        Needed by the groups of :data:`SIDE_GROUPS`; must match ``train``'s ids.

    Returns
    -------
    FeatureSpace
    """
    groups = resolve_groups(features, side)
    if side is not None:
        side.check_matches(train)
    need = [g for g in groups if g in SIDE_GROUPS]
    if need and side is None:
        raise ValueError(f"the groups {need} need the side information: pass side=cflib.datasets.load_side_info() "
                         "(ml-100k), or leave them out")
    if "date" in groups and side is None and train.timestamps is None:
        raise ValueError(f"the date group needs rating times, and {train.name} has none: leave 'date' out")
    n_m, n_u = train.n_movies, train.n_users
    times = side.rated_times if side is not None else train.timestamps
    date_start, n_dates = 0, 1
    if "date" in groups:
        date_start = int(times.min())
        n_dates = int((times.max() - date_start) // (DATE_DAYS * 86400)) + 1
    parts = {s: [] for s in _SIDES}
    names, slices, one_hot = [], {}, {}
    for g in groups:
        if g == "user":
            m, labels = sp.identity(n_u, format="csr"), [f"user:{i}" for i in train.user_ids]
        elif g == "movie":
            m, labels = sp.identity(n_m, format="csr"), [f"movie:{i}" for i in train.movie_ids]
        elif g in ("age", "gender", "occupation", "zip"):
            m = _user_attributes(g, side.age, side.gender, side.occupation, side.zip_code, len(side.occupations))
            labels = _attribute_labels(g, side)
        elif g in ("genres", "year"):
            m, labels = _movie_attributes(g, side.genres, side.release_year), _attribute_labels(g, side)
        elif g == "date":
            m, labels = sp.identity(n_dates, format="csr"), [f"date:week {i}" for i in range(n_dates)]
        elif g == "movie_raters":
            m = _implicit(train.movies, train.users, n_m, n_u)
            labels = [f"rated by:{i}" for i in train.user_ids]
        else:  # user_rated
            m = _implicit(train.users, train.movies, n_u, n_m)
            labels = [f"rated:{i}" for i in train.movie_ids]
        slices[g] = slice(len(names), len(names) + m.shape[1])
        names.extend(labels)
        one_hot[g] = g not in ("genres", "movie_raters", "user_rated")
        parts[GROUP_SIDE[g]].append((slices[g].start, sp.csr_matrix(m)))
    p = len(names)
    n_rows = {"user": n_u, "movie": n_m, "date": n_dates}
    blocks = {}
    for s in _SIDES:
        cols = [sp.csr_matrix((n_rows[s], p))]
        for start, m in parts[s]:
            c = m.tocoo()
            cols.append(sp.csr_matrix((c.data, (c.row, c.col + start)), shape=(n_rows[s], p)))
        blocks[s] = sp.csr_matrix(sum(cols[1:], cols[0]))
        blocks[s].sort_indices()
    return FeatureSpace(groups=groups, blocks=blocks, group_slices=slices, feature_names=names, one_hot=one_hot,
                        date_start=date_start, n_dates=n_dates, side=side)
