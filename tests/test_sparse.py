"""Internals of cflib.sparse.SparseProblem: chunking, index types, ordering, edge cases, memory.

The agreement of loop, vectorized and sparse on random problems is tested in
test_cost.py; here each test aims at one internal path of SparseProblem.
"""

import tracemalloc

import numpy as np
import pytest

import cflib
import cflib.sparse as sparse
from cflib import SparseProblem

LAM = 0.7


@pytest.fixture(autouse=True, params=["movies", "users", "auto"])
def kernel_order(request, monkeypatch):
    """Run every test with the entries grouped by movie, by user, and by the automatic choice."""
    monkeypatch.setattr(sparse, "KERNEL_ORDER", request.param)
    return request.param


def random_problem(n_movies=23, n_users=17, k=4, density=0.3, seed=0):
    """Distinct random coordinates, dense Y and R holding the same ratings, and factors."""
    rng = np.random.default_rng(seed)
    R = rng.random((n_movies, n_users)) < density
    movies, users = np.nonzero(R)
    ratings = rng.integers(1, 6, size=movies.size).astype(float)
    Y = np.zeros((n_movies, n_users))
    Y[movies, users] = ratings
    perm = rng.permutation(movies.size)  # unsorted, as a loader could give them
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))
    return (movies[perm], users[perm], ratings[perm]), (Y, R), (X, Theta)


def assert_matches_dense(prob, X, Theta, Y, R, lam=LAM):
    J, (Xg, Tg) = prob.cost_and_gradient(X, Theta, lam)
    J_ref, (Xg_ref, Tg_ref) = cflib.cost_and_gradient(X, Theta, Y, R, lam)
    assert J == pytest.approx(J_ref, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(Xg, Xg_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Tg, Tg_ref, rtol=1e-10, atol=1e-12)
    assert prob.cost(X, Theta, lam) == J
    Xg2, Tg2 = prob.gradient(X, Theta, lam)
    np.testing.assert_array_equal(Xg2, Xg)
    np.testing.assert_array_equal(Tg2, Tg)


@pytest.mark.parametrize("chunk", [1, 2, 7, 63, 64, 65, 1000])
def test_chunk_boundaries(monkeypatch, chunk):
    coords, (Y, R), (X, Theta) = random_problem(seed=chunk)
    nnz = coords[0].size
    assert 64 < nnz < 1000  # chunks of 63, 64, 65 cut inside; 1000 is one chunk
    monkeypatch.setattr(sparse, "MIN_CHUNK", 1)
    monkeypatch.setattr(sparse, "CHUNK_BYTES", 8 * X.shape[1] * chunk)
    assert sparse._chunk_rows(X.shape[1]) == chunk
    prob = SparseProblem(*coords, *Y.shape)
    assert_matches_dense(prob, X, Theta, Y, R)


def test_chunk_rows_has_a_floor_and_shrinks_with_k():
    assert sparse._chunk_rows(1) > sparse._chunk_rows(50) >= sparse.MIN_CHUNK
    assert sparse._chunk_rows(10**6) == sparse.MIN_CHUNK
    assert sparse._chunk_rows(0) >= 1


def test_empty_rows_and_columns_get_only_the_penalty():
    coords, (Y, R), (X, Theta) = random_problem(n_movies=12, n_users=9, density=0.5, seed=3)
    m, u, r = coords
    keep = (m != 0) & (m != 5) & (u != 0) & (u != 8)  # movies 0 and 5, users 0 and 8 without ratings
    m, u, r = m[keep], u[keep], r[keep]
    R = np.zeros_like(R)
    R[m, u] = True
    prob = SparseProblem(m, u, r, 12, 9)
    assert_matches_dense(prob, X, Theta, Y, R)
    Xg, Tg = prob.gradient(X, Theta, LAM)
    np.testing.assert_array_equal(Xg[[0, 5]], LAM * X[[0, 5]])
    np.testing.assert_array_equal(Tg[[0, 8]], LAM * Theta[[0, 8]])
    ptr = prob._kernel.ptr
    assert ptr[1] == ptr[0] == 0  # empty first row of the kernel (movie 0 or user 0)
    if prob._by_users:
        assert ptr[-1] == ptr[-2] == prob.nnz  # empty last row: user 8


def test_no_ratings_at_all():
    rng = np.random.default_rng(1)
    X, Theta = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    prob = SparseProblem(np.array([], dtype=int), np.array([], dtype=int), np.array([]), 5, 4)
    assert prob.nnz == 0
    assert prob.predict(X, Theta).shape == (0,)
    J, (Xg, Tg) = prob.cost_and_gradient(X, Theta, LAM)
    assert J == pytest.approx(0.5 * LAM * (np.sum(X**2) + np.sum(Theta**2)), rel=1e-14)
    np.testing.assert_allclose(Xg, LAM * X, rtol=1e-15)
    np.testing.assert_allclose(Tg, LAM * Theta, rtol=1e-15)


def test_single_rating():
    X, Theta = np.array([[1.0, 2.0], [0.5, 0.0]]), np.array([[3.0, -1.0]])
    prob = SparseProblem([1], [0], [4.0], 2, 1)
    e = 0.5 * 3.0 - 4.0
    J, (Xg, Tg) = prob.cost_and_gradient(X, Theta, 0.0)
    assert J == pytest.approx(0.5 * e * e)
    np.testing.assert_allclose(Xg, [[0.0, 0.0], [e * 3.0, -e]])
    np.testing.assert_allclose(Tg, [[e * 0.5, 0.0]])


@pytest.mark.parametrize("index_dtype", [np.int8, np.int32, np.int64, np.uint16])
def test_input_index_dtypes(index_dtype):
    coords, (Y, R), (X, Theta) = random_problem()
    m, u, r = coords
    prob = SparseProblem(m.astype(index_dtype), u.astype(index_dtype), r, *Y.shape)
    assert prob.movies.dtype == prob.users.dtype == np.int64
    assert_matches_dense(prob, X, Theta, Y, R)


def test_int32_and_int64_internal_indices_agree(monkeypatch):
    coords, (Y, R), (X, Theta) = random_problem(seed=5)
    small = SparseProblem(*coords, *Y.shape)
    kernel = small._kernel
    assert kernel.rows.dtype == kernel.cols.dtype == kernel.ptr.dtype == np.int32
    monkeypatch.setattr(sparse, "INT32_MAX", 10)  # pretend the problem is too big for int32
    big = SparseProblem(*coords, *Y.shape)
    kernel = big._kernel
    assert kernel.rows.dtype == kernel.cols.dtype == kernel.ptr.dtype == np.int64
    assert_matches_dense(big, X, Theta, Y, R)
    J1, (X1, T1) = small.cost_and_gradient(X, Theta, LAM)
    J2, (X2, T2) = big.cost_and_gradient(X, Theta, LAM)
    assert J1 == J2
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(T1, T2)


@pytest.mark.parametrize("k", [0, 1, 300, 1000])
def test_small_and_large_k(k):
    coords, (Y, R), (X, Theta) = random_problem(k=max(k, 1), seed=k)
    X, Theta = X[:, :k], Theta[:, :k]
    prob = SparseProblem(*coords, *Y.shape)
    assert_matches_dense(prob, X, Theta, Y, R)


def test_order_of_the_input_does_not_matter():
    coords, (Y, R), (X, Theta) = random_problem(seed=7)
    m, u, r = coords
    by_key = np.lexsort((u, m))
    sorted_prob = SparseProblem(m[by_key], u[by_key], r[by_key], *Y.shape)
    shuffled = SparseProblem(m, u, r, *Y.shape)
    rev = by_key[::-1]
    reversed_prob = SparseProblem(m[rev], u[rev], r[rev], *Y.shape)
    for prob in (sorted_prob, shuffled, reversed_prob):
        np.testing.assert_array_equal(prob.movies, m[by_key])
        np.testing.assert_array_equal(prob.users, u[by_key])
        np.testing.assert_array_equal(prob.ratings, r[by_key])
        assert_matches_dense(prob, X, Theta, Y, R)


def test_sorted_by_movie_but_not_by_user_is_resorted():
    m = np.array([0, 0, 1, 1, 1])
    u = np.array([2, 0, 1, 2, 0])
    r = np.arange(1.0, 6.0)
    prob = SparseProblem(m, u, r, 2, 3)
    np.testing.assert_array_equal(prob.users, [0, 2, 0, 1, 2])
    np.testing.assert_array_equal(prob.ratings, [2.0, 1.0, 5.0, 3.0, 4.0])
    assert sparse._sort_order(prob.movies, prob.users, 3) is None
    assert sparse._sort_order(m, u, 3) is not None


def test_repeated_pairs_are_refused_naming_the_first():
    # (0, 0) is given twice: the dense Y, R could hold only one of the ratings.
    with pytest.raises(ValueError, match=r"pair \(movie 0, user 0\) is rated more than once "
                                         r"\(entries 0 and 2\)"):
        SparseProblem([0, 1, 0], [0, 0, 0], [1.0, 3.0, 5.0], 2, 1)
    # Several repeats: the one whose second entry comes first is named, whatever the order.
    with pytest.raises(ValueError, match=r"\(movie 2, user 1\) .* \(entries 1 and 3\)"):
        SparseProblem([0, 2, 1, 2, 0], [0, 1, 1, 1, 0], np.ones(5), 3, 2)
    # Distinct pairs sharing a movie or a user are fine.
    prob = SparseProblem([0, 0, 1], [0, 1, 0], [1.0, 2.0, 3.0], 2, 2)
    assert prob.nnz == 3


def test_predict_and_residuals_follow_the_stored_order():
    coords, (Y, R), (X, Theta) = random_problem(seed=9)
    prob = SparseProblem(*coords, *Y.shape)
    expected = np.sum(X[prob.movies] * Theta[prob.users], axis=1)
    np.testing.assert_allclose(prob.predict(X, Theta), expected, rtol=1e-14)
    np.testing.assert_allclose(prob.residuals(X, Theta), expected - prob.ratings, rtol=1e-14)


def test_non_contiguous_and_integer_factors():
    coords, (Y, R), (X, Theta) = random_problem(seed=11)
    prob = SparseProblem(*coords, *Y.shape)
    assert_matches_dense(prob, np.asfortranarray(X), Theta[:, ::-1][:, ::-1], Y, R)
    Xi, Ti = np.rint(3 * X).astype(int), np.rint(3 * Theta).astype(int)
    assert_matches_dense(prob, Xi, Ti, Y, R)


def test_inputs_are_not_modified():
    coords, (Y, R), (X, Theta) = random_problem(seed=13)
    copies = [a.copy() for a in (*coords, X, Theta)]
    prob = SparseProblem(*coords, *Y.shape)
    prob.cost_and_gradient(X, Theta, LAM)
    for a, b in zip((*coords, X, Theta), copies):
        np.testing.assert_array_equal(a, b)


def test_wrong_factor_shapes_are_refused_by_every_method():
    coords, (Y, R), (X, Theta) = random_problem()
    prob = SparseProblem(*coords, *Y.shape)
    for method in (prob.cost, prob.gradient, prob.cost_and_gradient, prob.predict, prob.residuals):
        with pytest.raises(ValueError, match="expected X"):
            method(X[:-1], Theta)
        with pytest.raises(ValueError, match="expected X"):
            method(X, Theta[:-1])


def test_terabyte_dense_shape_needs_only_megabytes():
    """10^6 movies x 10^6 users: a dense Y would take 8 TB; nothing that size may be built."""
    n = 10**6
    rng = np.random.default_rng(0)
    m = rng.integers(0, n, 5000)
    u = rng.integers(0, n, 5000)
    r = rng.integers(1, 6, 5000).astype(float)
    k = 2
    X = rng.standard_normal((n, k))
    Theta = rng.standard_normal((n, k))
    tracemalloc.start()
    try:
        prob = SparseProblem(m, u, r, n, n)
        J, (Xg, Tg) = prob.cost_and_gradient(X, Theta, LAM)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The gradients (16 MB each) and the row pointers (4 MB) dominate.
    assert peak < 100 * 1024**2
    assert np.isfinite(J)
    e = np.sum(X[m] * Theta[u], axis=1) - r
    assert J == pytest.approx(0.5 * e @ e + 0.5 * LAM * (np.sum(X**2) + np.sum(Theta**2)), rel=1e-12)
    np.testing.assert_allclose(Xg[m[0]], LAM * X[m[0]] + sum(e[t] * Theta[u[t]] for t in np.flatnonzero(m == m[0])),
                               rtol=1e-10)


@pytest.mark.parametrize("shape, by_users", [((30, 20), False), ((20, 30), True), ((25, 25), False)])
def test_auto_groups_entries_by_the_larger_side(monkeypatch, shape, by_users):
    monkeypatch.setattr(sparse, "KERNEL_ORDER", "auto")
    coords, (Y, R), (X, Theta) = random_problem(*shape, seed=17)
    prob = SparseProblem(*coords, *Y.shape)
    assert prob._by_users is by_users
    assert prob._kernel.ptr.size == max(shape) + 1
    assert prob.nbytes >= prob.movies.nbytes + prob.users.nbytes + prob.ratings.nbytes


def test_unknown_kernel_order_is_refused(monkeypatch):
    monkeypatch.setattr(sparse, "KERNEL_ORDER", "diagonal")
    with pytest.raises(ValueError, match="KERNEL_ORDER"):
        SparseProblem([0], [0], [1.0], 1, 1)


@pytest.mark.parametrize("n", [0, 1, 2, 50, 1000])
def test_stable_order_matches_lexsort_with_repeats(n):
    rng = np.random.default_rng(n)
    rows = rng.integers(0, 7, n)
    cols = rng.integers(0, 5, n)  # many repeated (row, col) pairs: stability matters
    expected = np.lexsort((cols, rows))
    np.testing.assert_array_equal(sparse._stable_order(rows, cols, 5), expected)
    np.testing.assert_array_equal(sparse._stable_order(rows), np.argsort(rows, kind="stable"))


def test_stable_order_falls_back_when_the_packed_key_would_overflow():
    rows = np.array([2**40, 5, 2**40, 0])
    cols = np.array([1, 2**30, 0, 3])
    np.testing.assert_array_equal(sparse._stable_order(rows, cols, 2**31), np.lexsort((cols, rows)))


def test_row_dots_refuses_indices_outside_the_factors():
    from cflib.sparse import row_dots

    A, B = np.ones((3, 2)), np.ones((4, 2))
    np.testing.assert_allclose(row_dots(A, B, np.array([0, 2]), np.array([3, 1])), [2.0, 2.0])
    for rows, cols, name in (([0, 3], [0, 0], "rows"), ([0, -1], [0, 0], "rows"), ([0, 0], [4, 0], "cols")):
        with pytest.raises(IndexError, match=f"row_dots: {name} must lie in"):
            row_dots(A, B, np.array(rows), np.array(cols))
