r"""Cold start: movies (or users) nobody has seen in training; the protocol, the baselines, a brand-new one.

**The split.** :func:`cold_start_split` chooses ``n_movies`` movies at random (``seed``) among
those with at least ``min_ratings`` ratings in train, and moves *every* rating of them, train
and test, to the test set: the model never sees them, and they have enough test ratings for
their error to mean something. :func:`cold_start_user_split` does the same for users. The
shapes (n_movies, n_users) do not change; the chosen rows (or columns) are merely empty in
training. ``ColdStart.cold`` holds the ratings the comparison is made on: those of the chosen
movies (or users).

**The baselines** give a movie nobody rated what its description alone says:

* :func:`genre_mean`: with :math:`G_i` the genres of movie i and :math:`m_g` the mean training
  rating of the movies of genre g (ratings counted once per genre they belong to),

  .. math::

      \hat y_{ij} = \frac1{|G_i|} \sum_{g \in G_i} m_g ,

  with :math:`m_g = \mu` (the global mean) for a genre without training ratings, and
  :math:`\hat y_{ij} = \mu` for a movie without genres.
* :func:`attribute_mean`, its mirror for new users: the mean over the user's attributes a
  (age bucket, gender, occupation, zip region) of :math:`m_{a}`, the mean training rating
  given by the users who share the value of a, :math:`\mu` for a value without ratings.

Neither looks at the user (or the movie, for new users): they are what a description is worth
before any rating, beside the biases (which know only the other side) and a factorization
machine with the side features (:mod:`cflib.fm`).

**A brand-new movie or user** of a trained factorization machine: :func:`with_new_movie`
(genres and year only) and :func:`with_new_user` (age, gender, occupation, zip) return the
model with one more row, whose block row :mod:`cflib.features` builds, so that ``predict``,
``predict_all``, ``predict_std`` (posterior samples) and the ranking functions work with it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .arguments import check_index_pair, check_int
from .features import AGE_EDGES, _zip_codes
from .ratings import Ratings

__all__ = ["ColdStart", "cold_start_split", "cold_start_user_split", "GroupMeanModel", "genre_mean",
           "attribute_mean", "with_new_movie", "with_new_user", "MIN_RATINGS", "USER_ATTRIBUTES"]

#: Default least number of training ratings of a movie (or user) chosen as new.
MIN_RATINGS = 20
#: The attributes :func:`attribute_mean` averages over.
USER_ATTRIBUTES = ("age", "gender", "occupation", "zip")


@dataclass(frozen=True, eq=False)
class ColdStart:
    """The result of :func:`cold_start_split` or :func:`cold_start_user_split`.

    Attributes
    ----------
    train : Ratings
        The training ratings without any rating of the chosen movies (or users).
    test : Ratings
        The test ratings plus every training rating of the chosen ones.
    cold : Ratings
        The ratings of ``test`` of the chosen ones: where the cold-start comparison is made.
    chosen : ndarray of int64
        The chosen movie rows (or user columns), sorted.
    kind : {"movies", "users"}
    """

    train: Ratings
    test: Ratings
    cold: Ratings
    chosen: np.ndarray
    kind: str

    @property
    def movies(self) -> np.ndarray:
        """The chosen movies (rows); empty for a user split."""
        return self.chosen if self.kind == "movies" else np.zeros(0, dtype=np.int64)

    @property
    def users(self) -> np.ndarray:
        """The chosen users (columns); empty for a movie split."""
        return self.chosen if self.kind == "users" else np.zeros(0, dtype=np.int64)

    def __repr__(self):
        return (f"ColdStart({self.chosen.size} new {self.kind}: train {self.train.nnz:,} ratings, "
                f"test {self.test.nnz:,}, of which {self.cold.nnz:,} of the new {self.kind})")


def _check_split_args(train, test, n, seed, min_ratings, what):
    for name, d in (("train", train), ("test", test)):
        if not isinstance(d, Ratings):
            raise TypeError(f"{name} must be a cflib.Ratings (e.g. from load_split('u1')), got {type(d).__name__}")
    if test.shape != train.shape:
        raise ValueError(f"test has shape {test.shape} but train has {train.shape}: pass the two halves of one split")
    check_int(n, f"n_{what}", min_val=1)
    check_int(min_ratings, "min_ratings", min_val=1)
    check_int(seed, "seed", min_val=0)


def _split(train, test, n, seed, min_ratings, what):
    _check_split_args(train, test, n, seed, min_ratings, what)
    side = train.movies if what == "movies" else train.users
    size = train.n_movies if what == "movies" else train.n_users
    counts = np.bincount(side, minlength=size)
    eligible = np.flatnonzero(counts >= min_ratings)
    if n > eligible.size:
        raise ValueError(f"n_{what}={n} but only {eligible.size} {what} have at least min_ratings={min_ratings} "
                         f"training ratings: choose n_{what} <= {eligible.size} or a smaller min_ratings")
    chosen = np.sort(np.random.default_rng(seed).choice(eligible, size=n, replace=False))
    moved = np.isin(side, chosen)
    label = f"{n} new {what}"
    new_train = train.subset(~moved, name=f"{train.name} without {label}")
    new_test = Ratings(
        movies=np.concatenate([test.movies, train.movies[moved]]), users=np.concatenate([test.users, train.users[moved]]),
        ratings=np.concatenate([test.ratings, train.ratings[moved]]), n_movies=test.n_movies, n_users=test.n_users,
        titles=test.titles, genre_names=test.genre_names, genres=test.genres, movie_ids=test.movie_ids,
        user_ids=test.user_ids, name=f"{test.name} with {label}", scale=test.scale,
        timestamps=None if test.timestamps is None or train.timestamps is None
        else np.concatenate([test.timestamps, train.timestamps[moved]]))
    cold_side = new_test.movies if what == "movies" else new_test.users
    cold = new_test.subset(np.isin(cold_side, chosen), name=f"ratings of the {label}")
    return ColdStart(train=new_train, test=new_test, cold=cold, chosen=chosen.astype(np.int64), kind=what)


def cold_start_split(train, test, *, n_movies: int = 100, seed: int = 0, min_ratings: int = MIN_RATINGS) -> ColdStart:
    """Make ``n_movies`` movies new: every rating of them, in train and in test, goes to test.

    Parameters
    ----------
    train, test : Ratings
        The two halves of a split (e.g. ``load_split("u1")``), same shape.
    n_movies : int, default 100
    seed : int, default 0
        Chooses the movies (``numpy.random.default_rng(seed).choice``, without replacement).
    min_ratings : int, default :data:`MIN_RATINGS`
        Only movies with at least this many training ratings are chosen.

    Returns
    -------
    ColdStart
        ``train`` has no rating of ``movies``; ``test`` has all of them; nothing is lost
        (``train.nnz + test.nnz`` is unchanged).
    """
    return _split(train, test, n_movies, seed, min_ratings, "movies")


def cold_start_user_split(train, test, *, n_users: int = 100, seed: int = 0,
                          min_ratings: int = MIN_RATINGS) -> ColdStart:
    """Make ``n_users`` users new, as :func:`cold_start_split` does movies (``ColdStart.users``)."""
    return _split(train, test, n_users, seed, min_ratings, "users")


@dataclass(frozen=True, eq=False)
class GroupMeanModel:
    """A prediction per movie (``kind="movie"``) or per user (``kind="user"``), the same for every partner.

    Attributes
    ----------
    values : ndarray of shape (n_movies,) or (n_users,)
    kind : {"movie", "user"}
    n_movies, n_users : int
    scale : (float, float)
    """

    values: np.ndarray
    kind: str
    n_movies: int
    n_users: int
    scale: tuple

    @property
    def rating_scale(self) -> tuple:
        return self.scale

    def predict(self, movies, users, *, clip: bool = True) -> np.ndarray:
        """``values[movies]`` (or ``values[users]``), shape (n,)."""
        movies, users = check_index_pair(movies, users, self.n_movies, self.n_users)
        pred = self.values[movies if self.kind == "movie" else users]
        return np.clip(pred, *self.scale) if clip else pred

    def predict_all(self, *, clip: bool = True) -> np.ndarray:
        """Shape (n_movies, n_users)."""
        v = self.values[:, None] if self.kind == "movie" else self.values[None, :]
        Y = np.broadcast_to(v, (self.n_movies, self.n_users)).astype(np.float64)
        return np.clip(Y, *self.scale) if clip else Y


def _check_side(train, side):
    if not isinstance(train, Ratings):
        raise TypeError(f"train must be a cflib.Ratings, got {type(train).__name__}")
    if not hasattr(side, "check_matches"):
        raise TypeError(f"side must be a SideInfo (cflib.datasets.load_side_info()), got {type(side).__name__}")
    side.check_matches(train)
    if train.nnz == 0:
        raise ValueError("train holds no ratings: the group means need some")


def _group_means(codes, ratings, by, mu):
    """Mean of ``ratings`` per group, where ``codes`` (n_rows, n_groups) says which groups row ``by[t]`` is in."""
    C = np.asarray(codes, dtype=np.float64)
    total = C[by].T @ ratings
    count = C[by].sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), mu)


def genre_mean(train, side) -> GroupMeanModel:
    """Each movie's prediction is the mean over its genres of each genre's mean training rating (module docstring).

    Parameters
    ----------
    train : Ratings
        The training ratings (of ml-100k: ``side`` must match its ids).
    side : SideInfo

    Returns
    -------
    GroupMeanModel
        ``kind="movie"``; ``values`` shape (n_movies,).
    """
    _check_side(train, side)
    mu = float(train.ratings.mean())
    G = np.asarray(side.genres, dtype=np.float64)
    m = _group_means(G, train.ratings, train.movies, mu)
    n = G.sum(axis=1)
    values = np.where(n > 0, (G @ m) / np.maximum(n, 1), mu)
    return GroupMeanModel(values, "movie", train.n_movies, train.n_users, train.scale)


def attribute_mean(train, side, attributes=USER_ATTRIBUTES) -> GroupMeanModel:
    """Each user's prediction is the mean over ``attributes`` of the mean rating of the users sharing its value.

    Parameters
    ----------
    train : Ratings
    side : SideInfo
    attributes : sequence of str, default :data:`USER_ATTRIBUTES`
        Among ``"age"`` (the buckets of :data:`cflib.features.AGE_EDGES`), ``"gender"``,
        ``"occupation"`` and ``"zip"`` (first digit).

    Returns
    -------
    GroupMeanModel
        ``kind="user"``; ``values`` shape (n_users,).
    """
    _check_side(train, side)
    attributes = (attributes,) if isinstance(attributes, str) else tuple(attributes)
    bad = [a for a in attributes if a not in USER_ATTRIBUTES]
    if bad or not attributes:
        raise ValueError(f"attributes must name some of {USER_ATTRIBUTES}, got {attributes!r}")
    mu = float(train.ratings.mean())
    codes = dict(age=np.searchsorted(AGE_EDGES, side.age, "right"), gender=(side.gender == "M").astype(np.int64),
                 occupation=side.occupation, zip=_zip_codes(side.zip_code))
    values = np.zeros(train.n_users)
    for a in attributes:
        c = np.asarray(codes[a], dtype=np.int64)
        onehot = np.eye(c.max() + 1)[c]
        values += _group_means(onehot, train.ratings, train.users, mu)[c]
    return GroupMeanModel(values / len(attributes), "user", train.n_movies, train.n_users, train.scale)


# ------------------------------------------------------------------ a new movie or user in a factorization machine
def _ml100k_genres():
    from .datasets.formats import ML100K_GENRES  # u.genre's names, when the model has no side information
    return ML100K_GENRES


def _with_new(model, side, row, seed):
    """``model`` on ``space.with_new(side, row)``, the new id column's weight and factors set (:func:`with_new_movie`)."""
    space, c = model.space.with_new(side, row)
    if c is None:
        return replace(model, space=space)
    w, V = np.asarray(model.w, dtype=np.float64), np.asarray(model.V, dtype=np.float64)
    if w.ndim == 1:  # one point estimate: the prior mean
        theta = np.zeros(1 + V.shape[-1])
        return replace(model, space=space, w=np.insert(w, c, theta[0]), V=np.insert(V, c, theta[1:], axis=0))
    group = model.space.group_slices[side]  # samples (S, p), (S, p, k): a draw from each sample's group
    rows = np.concatenate([w[:, group, None], V[:, group, :]], axis=2)  # (S, n_group, k + 1)
    mean, std = rows.mean(axis=1), rows.std(axis=1)
    theta = mean + std * np.random.default_rng(seed).standard_normal(mean.shape)  # (S, k + 1)
    return replace(model, space=space, w=np.insert(w, c, theta[:, 0], axis=1),
                   V=np.concatenate([V[:, :c], theta[:, None, 1:], V[:, c:]], axis=1))


def with_new_movie(model, *, genres=(), year=None, seed: int = 0):
    r"""``model`` with one more movie (the last, index ``model.n_movies``) of which only genres and year are known.

    The movie's block row (:meth:`cflib.features.FeatureSpace.movie_row`) has its genres
    (:math:`1/\sqrt{n_\text{genres}}` each), its release-year bucket and, when the model uses the
    ``movie`` id group, a new id column ``movie:new`` (:meth:`cflib.features.FeatureSpace.with_new`);
    ``movie_raters`` is empty (nobody rated it). The new id was never seen in training, so

    * for one fitted model (:class:`FMModel`) its weight and factors are the prior mean, 0: the
      prediction is :math:`w_0` plus what the genres, year and user give;
    * for posterior samples (``w`` of shape (S, p), ``V`` (S, p, k), as
      :class:`cflib.fm_mcmc.FMPosterior`), sample s draws them from
      :math:`\mathcal N(\bar\theta_s, \operatorname{diag} \sigma_s^2)`, the mean and variance over
      the movie ids' rows :math:`\theta_i = (w_i, v_i)` of that sample: what the group's prior
      says of an id with no rating (the sampler draws an unrated id from that prior). So
      ``predict_std`` holds the uncertainty of a movie nobody has rated.

    ``predict``, ``predict_all`` and the ranking functions then see ``n_movies + 1`` movies.

    Parameters
    ----------
    model : FMModel or FMPosterior
        Any dataclass with fields ``space``, ``w`` and ``V``.
    genres : str or sequence of str
        Names of u.genre, e.g. ``("Comedy", "Romance")``; a ValueError lists the valid ones.
    year : int or None
        Release year (None: unknown).
    seed : int, default 0
        For the draws of posterior samples.

    Returns
    -------
    a model of the same type
    """
    space = model.space
    names = space.side.genre_names if space.side is not None else _ml100k_genres()
    genres = (genres,) if isinstance(genres, str) else tuple(genres)
    bad = [g for g in genres if g not in names]
    if bad:
        raise ValueError(f"genres names {bad[0]!r}, which is not a genre of u.genre: choose from {names}")
    year = check_int(year, "year", min_val=1870, max_val=2100, allow_none=True)  # a release year, or None
    row = space.movie_row(np.isin(names, genres), np.nan if year is None else float(year))
    return _with_new(model, "movie", row, seed)


def with_new_user(model, *, age, gender, occupation, zip, seed: int = 0):  # noqa: A002 (u.user's word)
    """``model`` with one more user (index ``model.n_users``) known by age, gender, occupation and zip only.

    As :func:`with_new_movie`, with :meth:`cflib.features.FeatureSpace.user_row` and a new ``user:new``
    id column; ``user_rated`` is empty.

    Parameters
    ----------
    model : FMModel or FMPosterior
    age : int
        Years, 1..120.
    gender : {"F", "M"}
    occupation : str
        A name of u.occupation (``side.occupations``); a ValueError lists them.
    zip : str
        A zip code as u.user writes it (letters and digits, e.g. ``"94110"``).
    seed : int, default 0

    Returns
    -------
    a model of the same type
    """
    occupations = model.space.side.occupations if model.space.side is not None else None
    age = check_int(age, "age", min_val=1, max_val=120)
    if gender not in ("F", "M"):
        raise ValueError(f"gender must be 'F' or 'M' (as u.user writes it), got {gender!r}")
    if not isinstance(occupation, str) or (occupations is not None and occupation not in occupations):
        raise ValueError(f"occupation {occupation!r} is not one of u.occupation's: choose from {occupations}")
    if not (isinstance(zip, str) and zip.isalnum() and zip.isascii()):
        raise ValueError(f"zip must be a zip code of letters and digits such as '94110', got {zip!r}")
    code = occupations.index(occupation) if occupations is not None else -1
    return _with_new(model, "user", model.space.user_row(age, gender, code, zip), seed)
