"""The rating data container shared by every part of cflib.

Glossary (used everywhere in the course)
----------------------------------------
n_movies, n_users : sizes of the rating matrix.
Y : ndarray of shape (n_movies, n_users)
    Ratings, 0 where a movie was not rated by a user.
R : ndarray of bool, shape (n_movies, n_users)
    R[i, j] is True where user j rated movie i.
movies, users, ratings : ndarrays of shape (nnz,)
    The observed entries as coordinates: user ``users[t]`` gave movie
    ``movies[t]`` the rating ``ratings[t]``. Indices are 0-based rows and
    columns of Y, not the original MovieLens ids.
X : ndarray of shape (n_movies, k)   movie features.
Theta : ndarray of shape (n_users, k)   user preferences.
lam : float   regularization strength (lambda).
k : int   number of latent features.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .arguments import check_index_pair, check_int, check_no_duplicates, check_scalar

__all__ = ["Ratings", "to_dense", "movie_means", "RATING_SCALE", "HALF_STAR_SCALE", "check_scale",
           "rating_scale"]

#: The rating scale of ml-100k and ml-1m (whole stars): predictions are clipped to it.
RATING_SCALE = (1.0, 5.0)
#: The rating scale of ml-latest-small (half stars, 0.5 to 5).
HALF_STAR_SCALE = (0.5, 5.0)


def check_scale(scale, name: str = "scale") -> tuple:
    """Check a rating scale ``(lo, hi)``: two finite numbers with ``lo < hi``; return it as floats."""
    if isinstance(scale, (str, bytes)) or not hasattr(scale, "__len__") or len(scale) != 2:
        raise TypeError(f"{name} must be a pair (lowest, highest) such as (1, 5), got {scale!r}")
    lo = check_scalar(scale[0], f"{name}[0] (the lowest rating)")
    hi = check_scalar(scale[1], f"{name}[1] (the highest rating)")
    if not lo < hi:
        raise ValueError(f"{name} must be (lowest, highest) with lowest < highest, got {scale!r}; "
                         f"write ({min(lo, hi):g}, {max(lo, hi):g})")
    return (lo, hi)


def rating_scale(obj):
    """The rating scale ``(lo, hi)`` that ``obj`` predicts on, or None when its scores are not ratings.

    A :class:`Ratings` gives its ``scale``; a model gives its own ``rating_scale`` when it
    has one (None for the popularity and implicit models, whose scores are counts or
    preferences), else the scale of its training ratings (``model.train``), else
    :data:`RATING_SCALE`.
    """
    if isinstance(obj, Ratings):
        return obj.scale
    if hasattr(obj, "rating_scale"):
        return obj.rating_scale
    train = getattr(obj, "train", None)
    if isinstance(train, Ratings):
        return train.scale
    return RATING_SCALE


def _frozen(a):
    """A read-only copy: a later edit of the caller's array cannot reach a Ratings."""
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a

# A dense float64 Y plus a bool R above this size is refused: use the sparse
# coordinates (movies, users, ratings) instead.
DENSE_LIMIT_BYTES = 2 * 1024**3


def to_dense(movies, users, ratings, n_movies: int, n_users: int):
    """The dense matrices Y and R built from coordinates.

    Parameters
    ----------
    movies, users : array_like of int, shape (nnz,)
        0-based row (movie) and column (user) of each rating, each pair once.
    ratings : array_like of float, shape (nnz,)
    n_movies, n_users : int
        The shape of the matrices (movies or users without ratings included).

    Returns
    -------
    Y : ndarray of float64, shape (n_movies, n_users)
        ``Y[movies[t], users[t]] = ratings[t]``, 0 where unrated.
    R : ndarray of bool, shape (n_movies, n_users)
        True exactly at the coordinates.
    """
    Y = np.zeros((n_movies, n_users))
    Y[movies, users] = ratings
    R = np.zeros((n_movies, n_users), dtype=bool)
    R[movies, users] = True
    return Y, R


def movie_means(Y, R):
    """Each movie's mean rating over its rated entries, NaN for a movie nobody rated.

    .. math::

        \\mu_i = \\frac{\\sum_j R_{ij} Y_{ij}}{\\sum_j R_{ij}}

    Parameters
    ----------
    Y : array_like of shape (n_movies, n_users)
        Ratings; values where R is 0 are ignored.
    R : array_like of bool, shape (n_movies, n_users)

    Returns
    -------
    ndarray of shape (n_movies,)
        ``mu[i]``, or NaN (without a warning) where row i of R is empty.
        :func:`cflib.train.normalize_ratings` gives such a movie the global
        mean instead, which is what a model needs; NaN is what the data says.
    """
    Y = np.asarray(Y, dtype=np.float64)
    R = np.asarray(R, dtype=bool)
    if Y.ndim != 2 or Y.shape != R.shape:
        raise ValueError(f"Y and R must be 2-D of the same shape (n_movies, n_users), got {Y.shape} and {R.shape}")
    counts = R.sum(axis=1)
    sums = np.where(R, Y, 0.0).sum(axis=1)
    means = np.full(Y.shape[0], np.nan)
    np.divide(sums, counts, out=means, where=counts > 0)
    return means


@dataclass(frozen=True, eq=False)
class Ratings:
    """Observed ratings of ``n_users`` users on ``n_movies`` movies.

    The coordinates (``movies``, ``users``, ``ratings``) are the primary
    storage; the dense ``Y`` and ``R`` of shape (n_movies, n_users) are built
    on first access and cached.

    Attributes
    ----------
    movies, users : ndarray of int64, shape (nnz,)
        0-based row (movie) and column (user) index of each rating; each
        (movie, user) pair at most once (a repeat is a ``ValueError`` naming
        the first one, since Y and R could hold only one of the two ratings).
    ratings : ndarray of float64, shape (nnz,)
    n_movies, n_users : int
    titles : ndarray of str, shape (n_movies,)
    genre_names : tuple of str, length n_genres
    genres : ndarray of bool, shape (n_movies, n_genres)
        One-hot (multi-hot) genre membership.
    movie_ids, user_ids : ndarray of int64
        The original data set's id of each row and column.
    name : str
        Where the data came from, e.g. ``"ml-100k"`` or ``"synthetic"``.
    timestamps : ndarray of int64, shape (nnz,), or None
        When each rating was given, in seconds since 1970-01-01 UTC (MovieLens
        keeps them); None where the source has no times (synthetic data).
    scale : (float, float), default (1, 5)
        The lowest and highest rating possible, e.g. ``(0.5, 5)`` for the half
        stars of ml-latest-small; models trained on the data clip to it.

    The coordinate arrays are copied and made read-only, so the cached Y and R
    always agree with them.
    """

    movies: np.ndarray
    users: np.ndarray
    ratings: np.ndarray
    n_movies: int
    n_users: int
    titles: np.ndarray
    genre_names: tuple
    genres: np.ndarray
    movie_ids: np.ndarray
    user_ids: np.ndarray
    name: str = "ratings"
    timestamps: np.ndarray | None = None
    scale: tuple = RATING_SCALE
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        n_movies = check_int(self.n_movies, "n_movies", min_val=0)
        n_users = check_int(self.n_users, "n_users", min_val=0)
        scale = check_scale(self.scale)
        movies, users = np.asarray(self.movies), np.asarray(self.users)
        raw = np.asarray(self.ratings)
        if raw.dtype == bool or raw.dtype.kind in "USb" or raw.dtype == object and any(
                isinstance(v, (bool, np.bool_, str, bytes)) for v in raw.ravel()):
            raise TypeError(
                f"ratings must be numbers (stars such as 4.0), got {raw.dtype} values such as "
                f"{raw.ravel()[:3].tolist()!r}: convert numeric strings first "
                "(np.asarray(ratings, dtype=float)); True/False is not a rating")
        try:
            ratings = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"ratings must be numbers, got {self.ratings!r:.80}") from None
        if not (movies.shape == users.shape == ratings.shape) or movies.ndim != 1:
            raise ValueError(
                "movies, users and ratings must be 1-D arrays of the same length; "
                f"got shapes {movies.shape}, {users.shape}, {ratings.shape}"
            )
        if movies.size == 0:  # [] is float64 in numpy: an empty list holds no bad index
            movies, users = movies.astype(np.int64), users.astype(np.int64)
        # Integer indices only: 1.7 is refused, not truncated to movie 1.
        movies, users = check_index_pair(movies, users, n_movies, n_users)
        if not np.all(np.isfinite(ratings)):
            raise ValueError("ratings contain NaN or inf; remove or fix those entries")
        check_no_duplicates(movies, users, n_users)
        if self.timestamps is not None:
            timestamps = np.asarray(self.timestamps)
            if timestamps.shape != movies.shape or not np.issubdtype(timestamps.dtype, np.integer):
                raise ValueError(
                    f"timestamps must be None or integers of shape {movies.shape} (one per rating), "
                    f"got dtype {timestamps.dtype} and shape {timestamps.shape}"
                )
            object.__setattr__(self, "timestamps", _frozen(timestamps.astype(np.int64, copy=False)))
        object.__setattr__(self, "n_movies", n_movies)
        object.__setattr__(self, "n_users", n_users)
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "movies", _frozen(movies))
        object.__setattr__(self, "users", _frozen(users))
        object.__setattr__(self, "ratings", _frozen(ratings))

    # ------------------------------------------------------------------ sizes
    @property
    def nnz(self) -> int:
        """Number of observed ratings."""
        return int(self.ratings.size)

    @property
    def shape(self) -> tuple[int, int]:
        """(n_movies, n_users), the shape of Y and R."""
        return (self.n_movies, self.n_users)

    @property
    def density(self) -> float:
        """Fraction of the n_movies x n_users entries that are rated (0.0 when there are no entries)."""
        cells = self.n_movies * self.n_users
        return self.nnz / cells if cells else 0.0

    def dense_bytes(self) -> int:
        """Bytes that dense Y (float64) and R (bool) would take together."""
        return self.n_movies * self.n_users * (8 + 1)

    # ------------------------------------------------------------ dense views
    def _check_dense_size(self):
        need = self.dense_bytes()
        if need > DENSE_LIMIT_BYTES:
            raise MemoryError(
                f"dense Y and R of shape {self.shape} would need {need / 1e9:.1f} GB; "
                "use the coordinates (movies, users, ratings) with cost_sparse / "
                "gradient_sparse instead"
            )

    def _dense(self):
        """Build Y and R once, with :func:`to_dense`, and cache both read-only."""
        if "Y" not in self._cache:
            self._check_dense_size()
            Y, R = to_dense(self.movies, self.users, self.ratings, self.n_movies, self.n_users)
            Y.flags.writeable = False
            R.flags.writeable = False
            self._cache["Y"], self._cache["R"] = Y, R
        return self._cache["Y"], self._cache["R"]

    @property
    def Y(self) -> np.ndarray:
        """Ratings matrix of shape (n_movies, n_users), 0 where unrated."""
        return self._dense()[0]

    @property
    def R(self) -> np.ndarray:
        """Indicator of shape (n_movies, n_users): True where rated."""
        return self._dense()[1]

    # ---------------------------------------------------------------- subsets
    def subset(self, mask_or_index, name: str | None = None) -> "Ratings":
        """The same movies and users with only some of the ratings.

        Parameters
        ----------
        mask_or_index : ndarray of bool, shape (nnz,), or ndarray of int
            Which ratings to keep.
        """
        sel = self._selection(mask_or_index)
        return replace(
            self,
            movies=self.movies[sel],
            users=self.users[sel],
            ratings=self.ratings[sel],
            timestamps=None if self.timestamps is None else self.timestamps[sel],
            name=name or self.name,
            _cache={},
        )

    def _selection(self, mask_or_index) -> np.ndarray:
        """``mask_or_index`` checked: a bool mask of shape (nnz,) or integer positions in 0..nnz-1."""
        sel = np.asarray(mask_or_index)
        if sel.dtype == bool:
            if sel.shape != (self.nnz,):
                raise ValueError(f"mask_or_index is a bool mask of shape {sel.shape}; it must have shape "
                                 f"(nnz,) = ({self.nnz},), one entry per rating (e.g. data.ratings >= 4)")
            return sel
        if sel.ndim != 1 or (sel.size and not np.issubdtype(sel.dtype, np.integer)):
            raise TypeError(f"mask_or_index must be a bool mask of shape ({self.nnz},) or a 1-D array of "
                            f"integer positions, got dtype {sel.dtype} and shape {sel.shape}")
        sel = sel.astype(np.int64)
        if sel.size and (sel.min() < -self.nnz or sel.max() >= self.nnz):
            raise ValueError(f"mask_or_index holds positions in {sel.min()}..{sel.max()}, expected "
                             f"0..{self.nnz - 1} (one per rating)")
        if np.unique(sel % max(self.nnz, 1)).size != sel.size:
            raise ValueError("mask_or_index names a rating more than once: each (movie, user) pair once")
        return sel

    def random_split(self, test_fraction: float = 0.2, *, seed: int = 0):
        """Split the ratings at random into (train, test).

        Both parts keep all movies and users (same shape), so a model
        trained on one can be evaluated on the other.

        Parameters
        ----------
        test_fraction : float in (0, 1)
            Both parts must get at least one rating.
        seed : int >= 0
            Seed of ``np.random.default_rng``; the same seed gives the same split.
        """
        test_fraction = check_scalar(test_fraction, "test_fraction", min_val=0.0, max_val=1.0,
                                     include_boundaries="neither")
        seed = check_int(seed, "seed", min_val=0)
        if self.nnz < 2:
            raise ValueError(f"random_split needs at least 2 ratings (one for each part), got {self.nnz}")
        n_test = int(round(test_fraction * self.nnz))
        if not 0 < n_test < self.nnz:
            raise ValueError(
                f"test_fraction={test_fraction:g} of {self.nnz} ratings gives {n_test} test ratings and "
                f"{self.nnz - n_test} training ratings; both need at least one: choose a test_fraction "
                f"between {1 / max(self.nnz, 1):.3g} and {1 - 1 / max(self.nnz, 1):.3g}")
        rng = np.random.default_rng(seed)
        order = rng.permutation(self.nnz)
        test = np.zeros(self.nnz, dtype=bool)
        test[order[:n_test]] = True
        return (
            self.subset(~test, name=f"{self.name} train"),
            self.subset(test, name=f"{self.name} test"),
        )

    def find_title(self, text: str) -> list[int]:
        """Row indices of movies whose title contains ``text`` (case-insensitive)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a string (part of a title, e.g. 'star wars'), "
                            f"got {type(text).__name__} {text!r}")
        text = text.lower()
        return [i for i, t in enumerate(self.titles) if text in str(t).lower()]

    def __repr__(self):
        return (
            f"Ratings(name={self.name!r}, n_movies={self.n_movies}, n_users={self.n_users}, "
            f"nnz={self.nnz}, density={self.density:.4f})"
        )


def ratings_by_title(data, titled) -> dict:
    """Turn ``{exact title: stars}`` into ``{movie index: stars}`` for ``data``.

    The movie indices are what :func:`cflib.recommend.recommend`, ``fold_in_user``
    and ``add_user`` take as keys (they refuse titles).

    Parameters
    ----------
    data : Ratings
        Gives the titles (``data.titles``, one per movie row).
    titled : dict of str -> float
        ``{"Star Wars (1977)": 5, ...}``, titles written exactly as in ``data.titles``.

    Returns
    -------
    dict of int -> float

    Raises
    ------
    KeyError
        When a title is not found exactly, with the closest matches by substring.
    TypeError
        When ``titled`` is not a dict or a key is not a string.
    """
    if not isinstance(titled, dict):
        raise TypeError(f"titled must be a dict {{title: stars}}, got {type(titled).__name__}")
    index = {str(t): i for i, t in enumerate(data.titles)}
    out = {}
    for title, stars in titled.items():
        if not isinstance(title, str):
            raise TypeError(f"titled keys must be titles (str), got {type(title).__name__} {title!r}")
        if title not in index:
            word = title.split("(")[0].strip().split(",")[0]
            near = [str(data.titles[i]) for i in data.find_title(word)][:5]
            raise KeyError(f"no movie titled {title!r} in {data.name}; titles containing "
                           f"{word!r}: {near}")
        out[index[title]] = float(stars)
    return out


__all__ += ["ratings_by_title"]
