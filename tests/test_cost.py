"""The cost J and its gradient: three implementations, one answer."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cflib
from cflib.objective import (
    cost,
    cost_and_gradient,
    cost_and_gradient_sparse,
    cost_loop,
    cost_sparse,
    gradient,
    gradient_loop,
    gradient_sparse,
)


def random_problem(n_movies, n_users, k, density=0.4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))
    R = rng.random((n_movies, n_users)) < density
    # Garbage where R is 0: it must never matter.
    Y = np.where(R, rng.integers(1, 6, (n_movies, n_users)), rng.normal(0, 100, (n_movies, n_users)))
    return X, Theta, Y, R


def coords(Y, R):
    movies, users = np.nonzero(R)
    return movies, users, Y[movies, users]


DENSE_COSTS = [cost_loop, cost]
DENSE_GRADS = [gradient_loop, gradient]


@settings(max_examples=40, deadline=None)
@given(
    n_movies=st.integers(1, 9),
    n_users=st.integers(1, 9),
    k=st.integers(1, 5),
    density=st.sampled_from([0.0, 0.3, 1.0]),
    lam=st.sampled_from([0.0, 0.5, 3.0]),
    seed=st.integers(0, 2**16),
)
def test_all_implementations_agree(n_movies, n_users, k, density, lam, seed):
    X, Theta, Y, R = random_problem(n_movies, n_users, k, density, seed)
    m, u, r = coords(Y, R)
    J_loop = cost_loop(X, Theta, Y, R, lam)
    J_vec = cost(X, Theta, Y, R, lam)
    J_sp = cost_sparse(X, Theta, m, u, r, lam)
    assert J_vec == pytest.approx(J_loop, rel=1e-12, abs=1e-12)
    assert J_sp == pytest.approx(J_loop, rel=1e-12, abs=1e-12)
    gl = gradient_loop(X, Theta, Y, R, lam)
    gv = gradient(X, Theta, Y, R, lam)
    gs = gradient_sparse(X, Theta, m, u, r, lam)
    for a, b, c in zip(gl, gv, gs):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(c, a, rtol=1e-12, atol=1e-12)
    J_c, g_c = cost_and_gradient(X, Theta, Y, R, lam)
    J_cs, g_cs = cost_and_gradient_sparse(X, Theta, m, u, r, lam)
    assert J_c == pytest.approx(J_loop, rel=1e-12, abs=1e-12)
    assert J_cs == pytest.approx(J_loop, rel=1e-12, abs=1e-12)
    for a, b, c in zip(gl, g_c, g_cs):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(c, a, rtol=1e-12, atol=1e-12)


def test_agree_on_movielens(movielens):
    d = movielens
    rng = np.random.default_rng(1)
    X = rng.normal(0, 0.3, (d.n_movies, 10))
    Theta = rng.normal(0, 0.3, (d.n_users, 10))
    J = cost(X, Theta, d.Y, d.R, 1.5)
    assert cost_sparse(X, Theta, d.movies, d.users, d.ratings, 1.5) == pytest.approx(J, rel=1e-12)
    gv = gradient(X, Theta, d.Y, d.R, 1.5)
    gs = gradient_sparse(X, Theta, d.movies, d.users, d.ratings, 1.5)
    for a, b in zip(gv, gs):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)


def test_hand_computed_example():
    # 2 movies x 2 users, k = 1. Predictions X Theta^T = [[2, 4], [1, 2]].
    X = np.array([[2.0], [1.0]])
    Theta = np.array([[1.0], [2.0]])
    Y = np.array([[3.0, 4.0], [0.0, 5.0]])
    R = np.array([[1, 1], [0, 1]])
    # Rated errors: (2-3) = -1, (4-4) = 0, (2-5) = -3  ->  J = (1 + 0 + 9) / 2 = 5
    assert cost(X, Theta, Y, R) == 5.0
    assert cost_loop(X, Theta, Y, R) == 5.0
    # Regularization: lam/2 * (4 + 1 + 1 + 4) = 5 lam
    assert cost(X, Theta, Y, R, lam=2.0) == 15.0
    # E = [[-1, 0], [0, -3]];  X_grad = E Theta = [[-1], [-6]];  Theta_grad = E^T X = [[-2], [-3]]
    Xg, Tg = gradient(X, Theta, Y, R)
    np.testing.assert_array_equal(Xg, [[-1.0], [-6.0]])
    np.testing.assert_array_equal(Tg, [[-2.0], [-3.0]])
    Xg, Tg = gradient_loop(X, Theta, Y, R, lam=1.0)
    np.testing.assert_array_equal(Xg, [[1.0], [-5.0]])
    np.testing.assert_array_equal(Tg, [[-1.0], [-1.0]])


@pytest.mark.parametrize("fn", DENSE_COSTS)
def test_zero_cost_at_perfect_fit(fn):
    X, Theta, _, R = random_problem(6, 5, 2, 0.5, seed=3)
    Y = X @ Theta.T
    assert fn(X, Theta, Y, R) == pytest.approx(0.0, abs=1e-20)
    m, u, r = coords(Y, R)
    assert cost_sparse(X, Theta, m, u, r) == pytest.approx(0.0, abs=1e-20)


@pytest.mark.parametrize("fn", DENSE_GRADS)
def test_gradient_zero_at_perfect_fit_and_at_zero(fn):
    X, Theta, _, R = random_problem(6, 5, 2, 0.5, seed=4)
    for g in fn(X, Theta, X @ Theta.T, R, 0.0):
        np.testing.assert_allclose(g, 0.0, atol=1e-12)
    # X = Theta = 0 is a stationary point of J for any Y and lam.
    _, _, Y, R = random_problem(6, 5, 2, 0.5, seed=5)
    for g in fn(np.zeros((6, 2)), np.zeros((5, 2)), Y, R, 2.0):
        np.testing.assert_array_equal(g, 0.0)


def test_gradient_zero_at_regularized_minimum():
    # k = 1, one movie, one user, rating y: at the minimum x = theta = sqrt(y - lam).
    y, lam = 5.0, 1.0
    x = np.sqrt(y - lam)
    Xg, Tg = gradient(np.array([[x]]), np.array([[x]]), np.array([[y]]), np.array([[1]]), lam)
    assert abs(Xg[0, 0]) < 1e-12 and abs(Tg[0, 0]) < 1e-12


def test_unrated_values_never_matter():
    X, Theta, Y, R = random_problem(7, 6, 3, 0.5, seed=6)
    Y2 = np.where(R, Y, np.nan)
    for fn in (cost_loop, cost):
        assert fn(X, Theta, Y2, R, 1.0) == fn(X, Theta, Y, R, 1.0)
    for fn in (gradient_loop, gradient):
        for a, b in zip(fn(X, Theta, Y2, R, 1.0), fn(X, Theta, Y, R, 1.0)):
            np.testing.assert_array_equal(a, b)


def test_inputs_are_not_modified():
    X, Theta, Y, R = random_problem(5, 4, 2, 0.5, seed=7)
    copies = [a.copy() for a in (X, Theta, Y, R)]
    gradient(X, Theta, Y, R, 1.0)
    gradient_loop(X, Theta, Y, R, 1.0)
    m, u, r = coords(Y, R)
    gradient_sparse(X, Theta, m, u, r, 1.0)
    for a, b in zip((X, Theta, Y, R), copies):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------- bad input
ALL_DENSE = [cost_loop, cost, gradient_loop, gradient]


@pytest.mark.parametrize("fn", ALL_DENSE)
def test_wrong_shapes_say_what_was_expected(fn):
    X, Theta, Y, R = random_problem(5, 4, 2, seed=8)
    with pytest.raises(ValueError, match=r"Y has shape \(4, 5\), expected \(n_movies, n_users\) = \(5, 4\).*transposed"):
        fn(X, Theta, Y.T, R)
    with pytest.raises(ValueError, match=r"R has shape \(5, 3\)"):
        fn(X, Theta, Y, R[:, :3])
    with pytest.raises(ValueError, match=r"X has k=2 columns but Theta has k=3"):
        fn(X, np.ones((4, 3)), Y, R)
    with pytest.raises(ValueError, match=r"X must be 2-D"):
        fn(X[:, 0], Theta, Y, R)


@pytest.mark.parametrize("fn", ALL_DENSE)
def test_nan_and_inf_are_rejected(fn):
    X, Theta, Y, R = random_problem(5, 4, 2, 0.6, seed=9)
    Xn = X.copy()
    Xn[1, 1] = np.nan
    with pytest.raises(ValueError, match="X contains 1 NaN or inf"):
        fn(Xn, Theta, Y, R)
    Tn = Theta.copy()
    Tn[0, 0] = np.inf
    with pytest.raises(ValueError, match="Theta contains 1 NaN or inf"):
        fn(X, Tn, Y, R)
    i, j = np.argwhere(R)[0]
    Yn = Y.copy()
    Yn[i, j] = np.nan
    with pytest.raises(ValueError, match="Y contains NaN or inf at rated entries"):
        fn(X, Theta, Yn, R)
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        fn(X, Theta, Y, R, -1.0)
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        fn(X, Theta, Y, R, float("nan"))


def test_r_must_be_zero_one():
    X, Theta, Y, R = random_problem(5, 4, 2, seed=10)
    with pytest.raises(ValueError, match="R must contain only 0/1"):
        cost(X, Theta, Y, R * 2.5)
    # 0/1 integers are accepted like bools
    assert cost(X, Theta, Y, R.astype(int)) == cost(X, Theta, Y, R)


@pytest.mark.parametrize("fn", [cost_sparse, gradient_sparse])
def test_sparse_bad_input(fn):
    X, Theta, Y, R = random_problem(5, 4, 2, 0.6, seed=11)
    m, u, r = coords(Y, R)
    with pytest.raises(ValueError, match="movies holds indices in .* but X has 5 rows"):
        fn(X, Theta, m + 1, u, r)
    with pytest.raises(ValueError, match="users holds indices in .* but Theta has 4 rows"):
        fn(X, Theta, m, u - 1, r)
    with pytest.raises(ValueError, match="same length"):
        fn(X, Theta, m, u, r[:-1])
    with pytest.raises(TypeError, match="movies must hold integer indices"):
        fn(X, Theta, m.astype(float), u, r)
    rn = r.copy()
    rn[0] = np.nan
    with pytest.raises(ValueError, match="ratings contain NaN or inf"):
        fn(X, Theta, m, u, rn)


@pytest.mark.parametrize("fn", [cost_sparse, gradient_sparse, cflib.cost_and_gradient_sparse])
def test_sparse_refuses_a_repeated_pair(fn):
    # cost on to_dense([0, 0], [0, 0], [4, 4]) sees one rating; the sparse sum would see two.
    X, Theta = np.ones((2, 1)), np.ones((2, 1))
    with pytest.raises(ValueError, match=r"pair \(movie 0, user 0\) is rated more than once"):
        fn(X, Theta, [0, 0], [0, 0], [4.0, 4.0])
    with pytest.raises(ValueError, match=r"pair \(movie 1, user 0\) .*entries 1 and 2"):
        fn(X, Theta, [0, 1, 1], [1, 0, 0], [4.0, 3.0, 2.0])


def test_sparse_never_builds_the_dense_matrix():
    # A shape whose dense Y would need 8 * 10**6 * 10**6 bytes = 8 TB.
    n_movies, n_users, k = 1_000_000, 1_000_000, 2
    rng = np.random.default_rng(0)
    m = rng.integers(0, n_movies, 1000)
    u = rng.integers(0, n_users, 1000)
    r = rng.integers(1, 6, 1000).astype(float)
    X = np.zeros((n_movies, k))
    Theta = np.zeros((n_users, k))
    J = cost_sparse(X, Theta, m, u, r)
    assert J == pytest.approx(0.5 * np.sum(r**2))
    Xg, Tg = gradient_sparse(X, Theta, m, u, r)
    assert Xg.shape == (n_movies, k) and Tg.shape == (n_users, k)


def test_sparse_problem_reuse_matches_functions():
    data = cflib.make_synthetic(50, 40, 3, density=0.2, seed=2)
    prob = cflib.SparseProblem.from_ratings(data)
    rng = np.random.default_rng(0)
    X, Theta = rng.standard_normal((50, 4)), rng.standard_normal((40, 4))
    J, (Xg, Tg) = prob.cost_and_gradient(X, Theta, 0.7)
    assert J == pytest.approx(cost(X, Theta, data.Y, data.R, 0.7), rel=1e-12)
    g = gradient(X, Theta, data.Y, data.R, 0.7)
    np.testing.assert_allclose(Xg, g[0], atol=1e-11)
    np.testing.assert_allclose(Tg, g[1], atol=1e-11)
    with pytest.raises(ValueError, match=r"expected X \(50, k\) and Theta \(40, k\)"):
        prob.cost(X[:10], Theta)


@pytest.mark.parametrize("lam", [0.0, 1.3])
def test_user_gradient_is_one_row_of_theta_grad(lam):
    from cflib.objective import user_gradient

    rng = np.random.default_rng(4)
    X, Theta = rng.standard_normal((6, 3)), rng.standard_normal((5, 3))
    R = rng.random((6, 5)) < 0.5
    R[:, 4] = False  # a user with no ratings: only the penalty remains
    Y = np.where(R, rng.integers(1, 6, (6, 5)), 0.0)
    Theta_grad = gradient(X, Theta, Y, R, lam)[1]
    for j in range(5):
        g = user_gradient(j, X, Theta, Y, R, lam)
        assert g.shape == (3,)
        np.testing.assert_allclose(g, Theta_grad[j], atol=1e-12)
    np.testing.assert_allclose(user_gradient(4, X, Theta, Y, R, lam), lam * Theta[4])
