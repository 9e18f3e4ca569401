"""Property-based guard over the public API (hypothesis): cost and gradient,
Ratings, training, evaluation, recommendations, checks, and the top-N,
temporal, implicit, Bayesian and ALS-WR API (Spark is left out: it needs a
JVM and seconds per session).

Every call below gets random shapes, dtypes, NaN or inf, negative and float
ids, duplicates, empty inputs and strings. It must either return a finite,
correct result, or raise a ``ValueError``/``TypeError`` (cflib's own errors
derive from them) whose message names the offending argument. A raw
``IndexError``, ``OverflowError``, ``LinAlgError``, ``ZeroDivisionError``,
``KeyError`` or ``AttributeError`` is a bug: the test fails with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import cflib
from cflib import checks
from cflib.evaluate import evaluate
from cflib.popularity import fit_popularity
from cflib.ranking import ndcg_at_k, precision_at_k, ranking_metrics, top_k, user_list
from cflib.ratings import Ratings
from cflib.recommend import fold_in_user, recommend, similar_movies
from cflib.temporal import future_share, time_split, unseen
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


# ---------------------------------------------------- fit and recommend (issue 12)
from hypothesis import strategies as st  # noqa: E402

_ANY_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
                        st.text(max_size=4), st.just([1.0]))


@pytest.fixture(scope="module")
def tiny():
    data = cflib.make_synthetic(12, 9, 2, density=0.5, seed=0)
    model, _ = fit(data, k=2, n_iters=2)
    return data, model


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["lr", "momentum", "seed", "lam", "lam_bias", "init_scale", "k", "n_iters"]),
       value=_ANY_SCALAR, method=st.sampled_from(["als", "gd", "momentum", "lbfgs"]))
def test_fit_either_trains_or_names_the_bad_argument(tiny, name, value, method):
    data, _ = tiny
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            model, h = fit(data, method=method, n_iters=2, **{name: value}) if name != "n_iters" else \
                fit(data, method=method, n_iters=value)
        except (TypeError, ValueError) as exc:
            assert name in str(exc)
            return
    assert np.all(np.isfinite(model.X)) and np.all(np.isfinite(model.Theta))
    assert np.all(np.isfinite(h.cost))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mine=st.dictionaries(st.one_of(st.integers(-3, 15), st.floats(0, 12), st.booleans(), st.text(max_size=3)),
                            st.one_of(st.floats(allow_nan=True), st.integers(-1, 7), st.text(max_size=2)),
                            max_size=4))
def test_recommend_either_answers_or_refuses_clearly(tiny, mine):
    data, model = tiny
    try:
        recs = recommend(model, mine, n=3)
    except (TypeError, ValueError) as exc:
        assert any(word in str(exc) for word in ("my_ratings", "movies", "ratings", "movie"))
        return
    assert all(isinstance(k, int) and not isinstance(k, bool) for k in mine)
    assert len(recs) <= 3 and all(0 <= m < data.n_movies and 1.0 <= p <= 5.0 for m, p in recs)


# ------------------------------------- top-N, temporal, implicit, Bayesian, ALS-WR
FIT_SETTINGS = settings(SETTINGS, max_examples=50)

def _valid_int(x, low):
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x >= low


def _valid_real(x, low=-np.inf, high=np.inf, open_low=False):
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)):
        return False
    x = float(x)
    return bool(np.isfinite(x) and (x > low if open_low else x >= low) and x <= high)


def _expect(call, valid, names):
    """Run ``call``; a valid input must succeed, an invalid one must raise a clear error naming one of ``names``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = call()
        except CLEAR as exc:
            assert not valid, f"valid input refused: {type(exc).__name__}: {exc}"
            assert any(n in str(exc) for n in names), f"{type(exc).__name__} names none of {names}: {exc}"
            return None
    assert valid, "invalid input accepted"
    return out


@st.composite
def one_broken(draw, **spec):
    """Arguments ``{name: value}`` from ``spec = {name: (good, bad)}``, at most one of them bad.

    Half of the examples break nothing (they test the result); the others break
    one argument (they test the error), so a bad value is never hidden behind another.
    """
    names = sorted(spec)
    broken = draw(st.sampled_from([None] * len(names) + names))
    return {name: draw(bad if name == broken else good) for name, (good, bad) in spec.items()}


bad_ints = st.one_of(st.integers(-2, 0), st.just(10**6), st.floats(0, 5), st.just("3"), st.just(True))
bad_reals = st.one_of(st.just(-1.0), st.just(np.nan), st.just(np.inf), st.just("1"), st.just(False))


# ------------------------------------------------------------ ranking_metrics
def _reference_metrics(S, train, test, k, relevant_min):
    """P, R, NDCG, MAP, hit rate at k, written out per user (no cflib), or None when no user counts."""
    per_user = []
    for u in range(train.n_users):
        relevant = set(test.movies[(test.users == u) & (test.ratings >= relevant_min)].tolist())
        if not relevant:
            continue
        seen = set(train.movies[train.users == u].tolist())
        candidates = sorted((i for i in range(train.n_movies) if i not in seen), key=lambda i: (-S[i, u], i))
        listed = candidates[:k]
        rel = [i in relevant for i in listed]
        hits = sum(rel)
        dcg = sum(r / np.log2(pos + 2) for pos, r in enumerate(rel))
        ideal = sum(1 / np.log2(pos + 2) for pos in range(min(k, len(relevant))))
        ap = sum(sum(rel[:pos + 1]) / (pos + 1) for pos, r in enumerate(rel) if r) / min(k, len(relevant))
        per_user.append((hits / k, hits / len(relevant), dcg / ideal, ap, float(hits > 0)))
    return None if not per_user else np.mean(per_user, axis=0)


class _RandomScores:
    """A model with predict(movies, users, clip) only: seeded random scores, with ties."""

    def __init__(self, n_movies, n_users, seed, ties):
        rng = np.random.default_rng(seed)
        self.S = rng.integers(0, 3, (n_movies, n_users)).astype(float) if ties else rng.random((n_movies, n_users))

    def predict(self, movies, users, clip=False):
        return self.S[movies, users]


@st.composite
def ranking_case(draw):
    n_m, n_u = draw(st.integers(2, 12)), draw(st.integers(1, 8))
    data = cflib.make_synthetic(n_m, n_u, 2, density=draw(st.floats(0.2, 0.9)), seed=draw(st.integers(0, 999)))
    fraction = draw(st.floats(0.2, 0.6))
    n_test = int(round(fraction * data.nnz))
    assume(0 < n_test < data.nnz)  # random_split refuses a split that leaves a part empty (tested elsewhere)
    train, test = data.random_split(fraction, seed=draw(st.integers(0, 99)))
    mutation = draw(st.sampled_from(["none"] * 8 + ["popularity"] * 4 + ["shape", "empty_test", "test_is_train",
                                                                        "not_ratings"]))
    return train, test, mutation, draw(st.integers(0, 99)), draw(st.booleans())


@SETTINGS
@given(case=ranking_case(),
       args=one_broken(k=(st.one_of(st.integers(1, 12), st.just(np.int64(2))), bad_ints),
                       relevant_min=(st.floats(1, 5), st.one_of(bad_reals, st.just(6.0)))))
def test_ranking_metrics(case, args):
    train, test, mutation, seed, ties = case
    k, relevant_min = args["k"], args["relevant_min"]
    model = fit_popularity(train) if mutation == "popularity" else _RandomScores(train.n_movies, train.n_users,
                                                                                  seed, ties)
    if mutation == "shape":
        test = cflib.make_synthetic(train.n_movies + 1, train.n_users, 2, density=0.5, seed=seed)
    elif mutation == "empty_test":
        test = test.subset(np.zeros(test.nnz, dtype=bool))
    elif mutation == "test_is_train":
        test = train
    elif mutation == "not_ratings":
        test = {"movies": test.movies}
    valid = (_valid_int(k, 1) and _valid_real(relevant_min) and mutation not in ("shape", "not_ratings"))
    S = model.predict_all() if mutation == "popularity" else model.S
    if valid:
        reference = _reference_metrics(S, train, test, k, relevant_min)
        valid = reference is not None  # no user with a relevant test movie is an error
    before = (train.movies.copy(), train.users.copy(), train.ratings.copy())
    out = _expect(lambda: ranking_metrics(model, train, test, k=k, relevant_min=relevant_min), valid,
                  ("k", "relevant_min", "test"))
    assert all(np.array_equal(a, b) for a, b in zip(before, (train.movies, train.users, train.ratings)))
    if out is None:
        return
    got = [out[m] for m in ("precision", "recall", "ndcg", "map", "hit_rate")]
    assert np.allclose(got, reference), (got, reference)
    if out["coverage"] == 0.0:  # every evaluated user rated every movie in train: empty lists
        assert mutation == "test_is_train" and np.isnan(out["novelty"])
    else:
        assert 0.0 < out["coverage"] <= 1.0 and np.isfinite(out["novelty"]) and out["novelty"] >= 0.0
    if mutation == "test_is_train":
        assert got == [0.0] * 5  # every relevant movie was rated in train: never listed


# ------------------------------------------------- one user's list, top_k
@st.composite
def one_user(draw):
    n = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    scores = rng.integers(0, 3, n).astype(float) if draw(st.booleans()) else rng.random(n)
    train_movies = np.flatnonzero(rng.random(n) < 0.3)
    relevant = np.flatnonzero(rng.random(n) < 0.4)
    broken = draw(st.sampled_from([None] * 6 + ["nan_score", "neg_inf_score", "train_negative", "train_too_big",
                                                 "train_float", "relevant_too_big", "relevant_string",
                                                 "scores_2d"]))
    if broken == "nan_score":
        scores[0] = np.nan
    elif broken == "neg_inf_score":
        scores[0] = -np.inf  # allowed: "never list this movie"
    elif broken == "train_negative":
        train_movies = np.r_[train_movies, -1]
    elif broken == "train_too_big":
        train_movies = np.r_[train_movies, n]
    elif broken == "train_float":
        train_movies = np.r_[train_movies, 0.5]
    elif broken == "relevant_too_big":
        relevant = np.r_[relevant, n + 3]
    elif broken == "relevant_string":
        relevant = relevant.astype(str) if relevant.size else np.array(["0"])
    elif broken == "scores_2d":
        scores = scores[None, :]
    return scores, train_movies, relevant, broken


@SETTINGS
@given(case=one_user(), k=st.one_of(st.integers(1, 10), st.integers(1, 10), st.integers(1, 10), bad_ints))
def test_one_user_list_and_metrics(case, k):
    scores, train_movies, relevant, broken = case
    valid_k = _valid_int(k, 1)
    valid_list = valid_k and broken in (None, "neg_inf_score", "relevant_too_big", "relevant_string")
    listed = _expect(lambda: user_list(scores, train_movies, k), valid_list, ("scores", "train_movies", "k"))
    if listed is not None:
        candidates = sorted((i for i in range(scores.size)
                             if i not in set(train_movies.tolist()) and scores[i] > -np.inf),
                            key=lambda i: (-scores[i], i))
        assert listed.tolist() == candidates[:k]  # a movie scored -inf is never listed
    valid = valid_list and broken in (None, "neg_inf_score")
    p = _expect(lambda: precision_at_k(scores, train_movies, relevant, k), valid,
                ("scores", "train_movies", "relevant", "k"))
    if p is not None:
        assert p == pytest.approx(np.isin(listed, relevant).sum() / k)
    n = _expect(lambda: ndcg_at_k(scores, train_movies, relevant, k), valid and relevant.size > 0,
                ("scores", "train_movies", "relevant", "k"))
    if n is not None:
        gains = np.isin(listed, relevant) / np.log2(np.arange(2, listed.size + 2))
        assert n == pytest.approx(gains.sum() / (1 / np.log2(np.arange(2, min(k, relevant.size) + 2))).sum())
        assert 0.0 <= n <= 1.0
    if broken is None and valid_k:  # the batched top_k agrees with the one-user list
        exclude = np.zeros((1, scores.size), dtype=bool)
        exclude[0, train_movies] = True
        top, ok = top_k(scores[None, :], k, exclude=exclude)
        assert top[0][ok[0]].tolist() == listed.tolist()


# ------------------------------------------------------------------ time_split
@st.composite
def timed_ratings(draw):
    n_m, n_u = draw(st.integers(3, 10)), draw(st.integers(2, 8))
    data = cflib.make_synthetic(n_m, n_u, 2, density=draw(st.floats(0.4, 1.0)), seed=draw(st.integers(0, 999)))
    if draw(st.integers(0, 9)) == 0:  # one or no rating: nothing to split
        data = data.subset(np.arange(draw(st.integers(0, 1))))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    spread = draw(st.sampled_from([1, 3] + [10**6] * 6))  # 1: every rating at one instant; 3: ties
    stamps = 10**9 + rng.integers(0, spread, data.nnz)
    mutation = draw(st.sampled_from(["none"] * 10 + ["no_timestamps", "not_ratings"]))
    if mutation == "no_timestamps":
        return data, mutation
    if mutation == "not_ratings":
        return {"movies": data.movies, "timestamps": stamps}, mutation
    return dataclasses.replace(data, timestamps=stamps, _cache={}), mutation


@SETTINGS
@given(case=timed_ratings(),
       test_fraction=st.one_of(st.floats(0.05, 0.9), st.floats(0.05, 0.9), st.floats(0.05, 0.9), st.floats(0.05, 0.9),
                               st.sampled_from([0.0, 1.0, np.nan, 1.5, -0.1, "0.2", True])))
def test_time_split(case, test_fraction):
    data, mutation = case
    valid = mutation == "none" and _valid_real(test_fraction, 0.0, 1.0, open_low=True) and test_fraction < 1
    if valid:
        ts = np.sort(data.timestamps)
        n_train = min(max(int(round((1.0 - test_fraction) * data.nnz)), 1), data.nnz - 1) if data.nnz >= 2 else 0
        valid = data.nnz >= 2 and bool(ts[-1] > ts[n_train - 1])  # some rating after the cut
    stamps = None if mutation != "none" else data.timestamps.copy()
    out = _expect(lambda: time_split(data, test_fraction=test_fraction), valid, ("test_fraction", "data"))
    if stamps is not None:
        assert np.array_equal(stamps, data.timestamps)  # the input is not mutated
    if out is None:
        return
    train, test = out
    assert train.shape == test.shape == data.shape
    assert train.nnz + test.nnz == data.nnz and train.nnz >= 1 and test.nnz >= 1
    assert train.timestamps.max() < test.timestamps.min()
    pairs = lambda r: set(zip(r.movies.tolist(), r.users.tolist()))  # noqa: E731
    assert pairs(train) | pairs(test) == pairs(data) and not pairs(train) & pairs(test)
    assert future_share(train, test) == 0.0
    again = time_split(data, test_fraction=test_fraction)  # calling twice gives the same split
    assert np.array_equal(again[0].movies, train.movies) and np.array_equal(again[1].users, test.users)
    counts = unseen(train, test)
    new_users = set(test.users.tolist()) - set(train.users.tolist())
    assert counts["users"] == len(new_users)


# ------------------------------------------------------ the new fit() methods
@st.composite
def tiny_train(draw):
    n_m, n_u = draw(st.integers(2, 9)), draw(st.integers(2, 7))
    data = cflib.make_synthetic(n_m, n_u, 2, density=draw(st.floats(0.3, 1.0)), seed=draw(st.integers(0, 999)))
    mutation = draw(st.sampled_from(["none"] * 10 + ["user_without_ratings"] * 3 + [
        "empty", "validation_shape", "validation_str", "no_liked"]))
    return data, mutation


def _prepare(data, mutation):
    validation = None
    if mutation == "empty":
        data = data.subset(np.zeros(data.nnz, dtype=bool))
    elif mutation == "validation_shape":
        validation = cflib.make_synthetic(data.n_movies + 1, data.n_users, 2, density=0.5, seed=0)
    elif mutation == "validation_str":
        validation = "validation"
    elif mutation == "no_liked":
        data = data.subset(data.ratings < 4)
    elif mutation == "user_without_ratings":
        data = data.subset(data.users != 0)
    return data, validation


@pytest.mark.parametrize("method", ["implicit_als", "gibbs", "als_wr"])
@FIT_SETTINGS
@given(case=tiny_train(),
       args=one_broken(k=(st.one_of(st.integers(1, 4), st.none()), bad_ints),
                       lam=(st.one_of(st.floats(0, 60), st.none()), bad_reals),
                       n_iters=(st.integers(1, 4), st.one_of(st.integers(-1, 0), st.just(2.0), st.just("2"),
                                                             st.just(True))),
                       seed=(st.integers(0, 50), st.one_of(st.just(-1), st.just(1.5), st.just("0"))),
                       extra=(st.sampled_from([{}, {"alpha": 50.0}, {"alpha": 0.0}, {"burn_in": 0}, {"burn_in": 1}]),
                              st.sampled_from([{"alpha": -1.0}, {"alpha": np.nan}, {"alpha": 1e308}, {"burn_in": 99},
                                               {"burn_in": "1"}, {"init_std": 1e200}]))))
def test_fit_new_methods(method, case, args):
    data, mutation = case
    k, lam, n_iters, seed, extra = (args[name] for name in ("k", "lam", "n_iters", "seed", "extra"))
    train, validation = _prepare(data, mutation)
    own = {"implicit_als": ("alpha",), "gibbs": ("burn_in", "init_std"), "als_wr": ()}[method]
    extra = {name: value for name, value in extra.items() if name in own}
    # Each method's name for its regularization (the sampler draws its own precisions: none).
    penalty = {"implicit_als": {"lam": lam}, "gibbs": {}, "als_wr": {"reg_param": lam}}[method]
    kw = dict(k=k, n_iters=n_iters, seed=seed, validation=validation, **penalty, **extra)
    names = ("k", "lam", "reg_param", "n_iters", "seed", "validation", "train", "alpha", "burn_in", "init_std",
             "interactions")
    n_iters_ok = _valid_int(n_iters, 1)
    valid = ((k is None or _valid_int(k, 1)) and k != 10**6
             and (lam is None or not penalty or _valid_real(lam, 0.0))  # the sampler is not given lam
             and n_iters_ok and _valid_int(seed, 0)
             and mutation not in ("empty", "validation_shape", "validation_str")
             and train.nnz > 0  # "no_liked" on data rated 4 or 5 only leaves nothing to learn from
             and not (method == "implicit_als" and not np.any(train.ratings >= 4))  # no interaction
             and _valid_real(extra.get("alpha", 1.0), 0.0, 1e300)  # 1e308 * w overflows the confidences
             and "init_std" not in extra)
    if "burn_in" in extra:
        valid = valid and _valid_int(extra["burn_in"], 0) and n_iters_ok and extra["burn_in"] < n_iters
    out = _expect(lambda: fit(train, method=method, **kw), valid, names)
    if out is None:
        return
    model, history = out
    if history.diverged:  # reported, with finite factors kept
        assert np.isfinite(model.X).all() and np.isfinite(model.Theta).all()
        return
    S = model.predict_all(clip=False)
    assert S.shape == (train.n_movies, train.n_users) and np.isfinite(S).all()
    again, _ = fit(train, method=method, **kw)  # deterministic for a given seed
    assert np.array_equal(again.predict_all(clip=False), S)
    if method != "implicit_als":  # rating models: clipped predictions stay on the scale
        P = model.predict_all()
        assert P.min() >= 1.0 and P.max() <= 5.0


# ------------------------------------------------------------- predict_std
@pytest.fixture(scope="module")
def gibbs_model():
    data = cflib.make_synthetic(12, 9, 2, density=0.5, seed=4)
    model, _ = fit(data.subset(data.users != 0), method="gibbs", k=2, n_iters=8, seed=1)  # user 0: no ratings
    return model


@st.composite
def index_pair(draw):
    n = draw(st.integers(0, 6))
    movies = np.array(draw(st.lists(st.integers(0, 11), min_size=n, max_size=n)), dtype=np.int64)
    users = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)), dtype=np.int64)
    mutation = draw(st.sampled_from(["none"] * 6 + ["negative", "too_big", "float", "string", "2d", "length",
                                                    "empty_list"]))
    if mutation == "negative" and n:
        movies[0] = -1
    elif mutation == "too_big" and n:
        users[-1] = 9
    elif mutation == "float":
        movies = movies + 0.5
    elif mutation == "string":
        users = users.astype(str)
    elif mutation == "2d":
        movies = np.zeros((2, 2), dtype=int)
    elif mutation == "length":
        users = np.r_[users, 0]
    elif mutation == "empty_list":
        movies, users = [], []
    return movies, users


@SETTINGS
@given(pair=index_pair())
def test_predict_std(gibbs_model, pair):
    movies, users = pair
    m, u = np.asarray(movies), np.asarray(users)
    valid = (m.ndim == 1 and m.shape == u.shape
             and (m.size == 0 or (np.issubdtype(m.dtype, np.integer) and np.issubdtype(u.dtype, np.integer)
                                  and m.min() >= 0 and m.max() < 12 and u.min() >= 0 and u.max() < 9)))
    out = _expect(lambda: gibbs_model.predict_std(movies, users), valid, ("movies", "users"))
    if out is None:
        return
    noise = np.sqrt(np.mean(1.0 / gibbs_model.tau))
    assert out.shape == m.shape and np.isfinite(out).all()
    assert np.all(out >= noise - 1e-12)  # the noise is a floor: samples only add spread
    samples = gibbs_model.sample_predictions(m, u)
    assert np.allclose(out, np.sqrt(noise ** 2 + samples.var(axis=0)))
    if m.size:
        assert np.allclose(gibbs_model.predict(m, u, clip=False), samples.mean(axis=0))
