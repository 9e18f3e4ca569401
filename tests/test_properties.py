"""Property-based guard over the public API (hypothesis).

Every call below gets random shapes, dtypes, NaN or inf, negative and float
ids, duplicates, empty inputs and strings. It must either return a finite,
correct result, or raise a ``ValueError``/``TypeError`` (cflib's own errors
derive from them) whose message names the offending argument. A raw
``IndexError``, ``OverflowError``, ``LinAlgError``, ``ZeroDivisionError``,
``KeyError`` or ``AttributeError`` is a bug: the test fails with it.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import cflib
from cflib import checks
from cflib.evaluate import evaluate
from cflib.ratings import Ratings
from cflib.recommend import fold_in_user, recommend, similar_movies
from cflib.train import fit

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

#: What a caller may see: a clear error. Anything else escaping is a bug.
CLEAR = (ValueError, TypeError)


def _names_an_argument(exc, names):
    msg = str(exc)
    return any(n in msg for n in names)


@contextlib.contextmanager
def clear_error_or_result(*names):
    """Fail unless the body returns normally or raises a clear error naming one of ``names``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except CLEAR as exc:
        assert _names_an_argument(exc, names), f"{type(exc).__name__} names none of {names}: {exc}"


# ----------------------------------------------------------------- strategies
finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
weird_float = st.one_of(finite, st.just(np.nan), st.just(np.inf), st.just(-np.inf), st.just(1e308))
lam_values = st.one_of(st.floats(0, 100), st.just(-1.0), st.just(np.nan), st.just(np.inf),
                       st.just("0.1"), st.just(True), st.none())
index_like = st.one_of(st.integers(-3, 12), st.floats(-2, 12), st.just("3"), st.just(True))


@st.composite
def dense_problem(draw):
    n_m = draw(st.integers(0, 5))
    n_u = draw(st.integers(0, 5))
    k = draw(st.integers(0, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.standard_normal((n_m, k))
    T = rng.standard_normal((n_u, k))
    Y = rng.integers(1, 6, (n_m, n_u)).astype(float)
    R = rng.random((n_m, n_u)) < 0.6
    mutation = draw(st.sampled_from(["none", "nan_X", "inf_Y", "transpose_Y", "R_float", "R_two",
                                     "k_mismatch", "string_X", "1d_Y"]))
    if mutation == "nan_X" and X.size:
        X[0, 0] = np.nan
    elif mutation == "inf_Y" and R.any():
        Y[R] = np.inf
    elif mutation == "transpose_Y":
        Y = Y.T
    elif mutation == "R_float":
        R = R.astype(float) * 0.5
    elif mutation == "R_two":
        R = R.astype(int) * 2
    elif mutation == "k_mismatch":
        T = rng.standard_normal((n_u, k + 1))
    elif mutation == "string_X":
        X = [["a"] * k] * n_m
    elif mutation == "1d_Y":
        Y = Y.ravel()
    return X, T, Y, R, mutation


@st.composite
def coords(draw):
    n_m = draw(st.integers(1, 6))
    n_u = draw(st.integers(1, 6))
    k = draw(st.integers(0, 3))
    nnz = draw(st.integers(0, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    movies = rng.integers(0, n_m, nnz)
    users = rng.integers(0, n_u, nnz)
    ratings = rng.integers(1, 6, nnz).astype(float)
    mutation = draw(st.sampled_from(["none", "negative", "float_ids", "too_big", "nan_rating",
                                     "duplicates", "length", "string_ids"]))
    if mutation == "negative" and nnz:
        movies[0] = -1
    elif mutation == "float_ids":
        movies = movies.astype(float) + 0.5
    elif mutation == "too_big" and nnz:
        users[0] = n_u
    elif mutation == "nan_rating" and nnz:
        ratings[0] = np.nan
    elif mutation == "duplicates" and nnz:
        movies = np.r_[movies, movies[:1]]
        users = np.r_[users, users[:1]]
        ratings = np.r_[ratings, ratings[:1]]
    elif mutation == "length":
        ratings = np.r_[ratings, 3.0]
    elif mutation == "string_ids":
        movies = movies.astype(str)
    return rng.standard_normal((n_m, k)), rng.standard_normal((n_u, k)), movies, users, ratings, mutation


def _unique_pairs(movies, users):
    key = movies.astype(np.int64) * 1000 + users
    return np.unique(key).size == key.size


def _small_ratings(seed, n_movies=8, n_users=6, nnz=25):
    rng = np.random.default_rng(seed)
    keys = rng.choice(n_movies * n_users, size=nnz, replace=False)
    return Ratings(
        movies=keys // n_users, users=keys % n_users, ratings=rng.integers(1, 6, nnz).astype(float),
        n_movies=n_movies, n_users=n_users,
        titles=np.array([f"Movie {i}" for i in range(n_movies)], dtype=object), genre_names=(),
        genres=np.zeros((n_movies, 0), dtype=bool), movie_ids=np.arange(1, n_movies + 1),
        user_ids=np.arange(1, n_users + 1), name="tiny",
    )


@pytest.fixture(scope="module")
def tiny_model():
    train = _small_ratings(0)
    model, _ = fit(train, k=2, n_iters=3)
    return model


# ---------------------------------------------------------- cost and gradient
def _valid_lam(lam):
    return (isinstance(lam, (int, float, np.floating)) and not isinstance(lam, bool)
            and np.isfinite(lam) and lam >= 0)


def _valid_dense(X, T, Y, R, lam):
    """The documented domain of the dense functions, decided independently of cflib."""
    try:
        X, T, Y, R = (np.asarray(A, dtype=float) for A in (X, T, Y, R))
    except (TypeError, ValueError):
        return False
    if not (X.ndim == T.ndim == Y.ndim == R.ndim == 2) or X.shape[1] != T.shape[1]:
        return False
    if Y.shape != (X.shape[0], T.shape[0]) or R.shape != Y.shape or not np.all((R == 0) | (R == 1)):
        return False
    return bool(np.all(np.isfinite(X)) and np.all(np.isfinite(T)) and np.all(np.isfinite(Y[R == 1]))
                and _valid_lam(lam))


def _reference(X, T, Y, R, lam):
    """J and its gradient written out directly (no cflib), for valid input."""
    X, T, Y = (np.asarray(A, dtype=float) for A in (X, T, Y))
    R = np.asarray(R, dtype=float)
    E = np.where(R == 1, X @ T.T - np.where(R == 1, Y, 0.0), 0.0)
    J = 0.5 * np.sum(E**2) + 0.5 * lam * (np.sum(X**2) + np.sum(T**2))
    return J, (E @ T + lam * X, E.T @ X + lam * T)


def _agrees(out, J, grads):
    if not isinstance(out, tuple):
        return bool(np.isfinite(out) and np.isclose(out, J))
    return all(np.all(np.isfinite(a)) and np.allclose(a, b) for a, b in zip(out, grads))


DENSE_FUNCS = [cflib.cost_loop, cflib.cost, cflib.gradient_loop, cflib.gradient]


@pytest.mark.parametrize("fn", DENSE_FUNCS, ids=lambda f: f.__name__)
@SETTINGS
@given(problem=dense_problem(), lam=lam_values)
def test_dense_cost_and_gradient(fn, problem, lam):
    X, T, Y, R, mutation = problem
    lam = 0.0 if lam is None else lam
    valid = _valid_dense(X, T, Y, R, lam)
    try:
        out = fn(X, T, Y, R, lam)
    except CLEAR as exc:
        assert not valid, f"valid input ({mutation}) refused: {exc}"
        assert _names_an_argument(exc, ("X", "Theta", "Y", "R", "lam")), str(exc)
        return
    assert valid, f"invalid input ({mutation}, lam={lam!r}) accepted"
    assert _agrees(out, *_reference(X, T, Y, R, lam))


SPARSE_FUNCS = [cflib.cost_sparse, cflib.gradient_sparse]


def _valid_coords(X, T, movies, users, ratings, lam):
    movies, users, ratings = (np.asarray(a) for a in (movies, users, ratings))
    if not (movies.shape == users.shape == ratings.shape and movies.ndim == 1):
        return False
    if movies.size and not (np.issubdtype(movies.dtype, np.integer) and np.issubdtype(users.dtype, np.integer)):
        return False
    if movies.size and (movies.min() < 0 or movies.max() >= X.shape[0] or users.min() < 0
                        or users.max() >= T.shape[0]):
        return False
    if not np.all(np.isfinite(ratings.astype(float))):
        return False
    return _unique_pairs(movies.astype(np.int64), users.astype(np.int64)) and _valid_lam(lam)


@pytest.mark.parametrize("fn", SPARSE_FUNCS, ids=lambda f: f.__name__)
@SETTINGS
@given(problem=coords(), lam=lam_values)
def test_sparse_cost_and_gradient(fn, problem, lam):
    X, T, movies, users, ratings, mutation = problem
    lam = 0.0 if lam is None else lam
    valid = _valid_coords(X, T, movies, users, ratings, lam)
    try:
        out = fn(X, T, movies, users, ratings, lam)
    except CLEAR as exc:
        assert not valid, f"valid input ({mutation}) refused: {exc}"
        assert _names_an_argument(exc, ("movies", "users", "ratings", "X", "Theta", "lam", "pair")), str(exc)
        return
    assert valid, f"invalid input ({mutation}, lam={lam!r}) accepted"
    Y = np.zeros((X.shape[0], T.shape[0]))
    R = np.zeros_like(Y)
    m, u = np.asarray(movies, dtype=np.int64), np.asarray(users, dtype=np.int64)
    Y[m, u] = ratings
    R[m, u] = 1
    assert _agrees(out, *_reference(X, T, Y, R, lam))


# -------------------------------------------------------------------- Ratings
@SETTINGS
@given(problem=coords())
def test_ratings_container(problem):
    X, T, movies, users, ratings, mutation = problem
    with clear_error_or_result("movie", "user", "rating", "pair", "timestamps"):
        r = Ratings(movies=movies, users=users, ratings=ratings, n_movies=X.shape[0], n_users=T.shape[0],
                    titles=np.array(["t"] * X.shape[0], dtype=object), genre_names=(),
                    genres=np.zeros((X.shape[0], 0), dtype=bool), movie_ids=np.arange(X.shape[0]),
                    user_ids=np.arange(T.shape[0]))
        assert r.nnz == int(r.R.sum()), "nnz must count each (movie, user) pair once"


# ------------------------------------------------------------------------ fit
@SETTINGS
@given(seed=st.integers(0, 50), k=st.one_of(st.integers(-1, 4), st.just(2.5), st.just("3")),
       lam=lam_values, method=st.sampled_from(["als", "lbfgs", "gd", "momentum", "sgd"]),
       lr=st.one_of(st.none(), st.floats(1e-4, 1.0), st.just("0.1"), st.just(np.nan), st.just(0.0)),
       n_iters=st.one_of(st.integers(0, 4), st.just(2.0)),
       init_scale=st.one_of(st.just(0.1), st.just(1e200), st.just(-1.0)))
@example(seed=0, k=2, lam=1.0, method="als", lr=None, n_iters=3, init_scale=1e200)
@example(seed=0, k=2, lam=1.0, method="gd", lr="0.1", n_iters=3, init_scale=0.1)
@example(seed=0, k=2, lam=1.0, method="gd", lr=1.0, n_iters=4, init_scale=0.1)
def test_fit(seed, k, lam, method, lr, n_iters, init_scale):
    train = _small_ratings(seed)
    with clear_error_or_result("k", "lam", "method", "lr", "n_iters", "init_scale"):
        model, history = fit(train, k=k, lam=lam, method=method, lr=lr, n_iters=n_iters,
                             init_scale=init_scale, seed=seed)
        finite_factors = np.all(np.isfinite(model.X)) and np.all(np.isfinite(model.Theta))
        if not history.diverged:
            assert finite_factors and np.all(np.isfinite(history.cost))
            assert np.all(np.isfinite(model.predict_all()))


@SETTINGS
@given(seed=st.integers(0, 50), n_movies=st.integers(1, 10), n_users=st.integers(1, 8))
def test_evaluate_checks_shape(tiny_model, seed, n_movies, n_users):
    test = _small_ratings(seed, n_movies=n_movies, n_users=n_users, nnz=min(5, n_movies * n_users))
    with clear_error_or_result("test", "shape", "model"):
        out = evaluate(tiny_model, test)
        assert (n_movies, n_users) == (tiny_model.n_movies, tiny_model.n_users)
        assert np.isfinite(out["rmse"])


# ------------------------------------------------------------ recommendations
my_ratings = st.dictionaries(index_like, st.one_of(st.integers(-1, 7), st.floats(0, 6), st.just(np.nan),
                                                   st.just("5")), max_size=4)


@SETTINGS
@given(ratings=my_ratings, lam=st.one_of(st.none(), lam_values))
@example(ratings={3.7: 5}, lam=None)
@example(ratings={"12": 5}, lam=None)
@example(ratings={True: 5}, lam=None)
@example(ratings={"Movie 1": 5}, lam=None)
def test_fold_in_user(tiny_model, ratings, lam):
    with clear_error_or_result("my_ratings", "movie", "rating", "lam", "id"):
        out = fold_in_user(tiny_model, ratings, lam=lam)
        assert all(isinstance(m, (int, np.integer)) and not isinstance(m, bool) for m in ratings)
        assert np.all(np.isfinite(out.theta))


@SETTINGS
@given(ratings=my_ratings, n=st.one_of(st.integers(-1, 12), st.just(2.5), st.just("3")))
def test_recommend(tiny_model, ratings, n):
    with clear_error_or_result("my_ratings", "movie", "rating", "n", "id"):
        out = recommend(tiny_model, ratings, n=n)
        assert all(isinstance(m, (int, np.integer)) and not isinstance(m, bool) for m in ratings)
        assert len(out) <= n


@SETTINGS
@given(movie=index_like, n=st.one_of(st.integers(-1, 12), st.just(2.5)),
       min_ratings=st.one_of(st.integers(-1, 30), st.just(1.5)))
def test_similar_movies(tiny_model, movie, n, min_ratings):
    with clear_error_or_result("movie", "n", "min_ratings"):
        out = similar_movies(tiny_model, movie, n=n, min_ratings=min_ratings)
        assert len(out) <= n


# --------------------------------------------------------------------- checks
def _hostile_functions():
    def returns_string(*a, **k):
        return "not an array"

    def raises_index(*a, **k):
        raise IndexError("learner bug")

    def returns_nan(*a, **k):
        return np.nan

    class BadArray:
        def __array__(self, *a, **k):
            raise RuntimeError("no array here")

    def returns_bad_array(*a, **k):
        return BadArray()

    def mutates(*args, **kwargs):
        for a in args:
            if isinstance(a, np.ndarray) and a.size and a.flags.writeable:
                a[...] = 0
        return 0.0

    return [None, 3, returns_string, raises_index, returns_nan, returns_bad_array, mutates]


CHECKS = [getattr(checks, name) for name in checks.__all__ if name.startswith("check_")]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("fn", _hostile_functions(), ids=lambda f: getattr(f, "__name__", repr(f)))
def test_checks_never_pass_and_never_raise(check, fn):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        check(fn)
    line = out.getvalue().strip().splitlines()[-1]
    assert "PASS" not in line, f"{check.__name__} said PASS to {fn!r}: {line}"
    assert "Traceback" not in out.getvalue()
