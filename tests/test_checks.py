"""cflib.checks: each exercise checker passes right answers and diagnoses planted mistakes.

Every planted mistake must get its own diagnosis (a phrase naming the mistake),
print exactly one line, and make the checker return the cflib reference.
"""

import numpy as np
import pytest

import cflib
from cflib import checks
from cflib.evaluate import rmse as ref_rmse
from cflib.recommend import fold_in as ref_fold_in
from cflib.train import gradient_descent_step as ref_step
from cflib.train import normalize_ratings as ref_normalize
from cflib.objective import user_gradient as ref_user_gradient
from cflib.lowrank import truncated_svd as ref_truncated_svd
from cflib.als_wr import row_penalty as ref_row_penalty
from cflib.gibbs import sample_row as ref_sample_row
from cflib.implicit_als import implicit_row as ref_implicit_row
from cflib.ranking import ndcg_at_k as ref_ndcg_at_k
from cflib.ranking import precision_at_k as ref_precision_at_k
from cflib.ratings import movie_means as ref_movie_means
from cflib.ratings import to_dense as ref_to_dense


def run(check, fn, capsys):
    """Run a check; return (printed line, returned function), asserting ONE line was printed."""
    got = check(fn)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 1, out
    return lines[0], got


def stands_in(got, reference) -> bool:
    """The check returned cflib's reference wrapped as a stand-in that says so."""
    return isinstance(got, checks.StandIn) and got.reference is reference and "stands in" in str(got)


# ----------------------------------------------------------------- helpers
def _pen(X, T):
    return 0.5 * (np.sum(X**2) + np.sum(T**2))


def cost_ok(X, Theta, Y, R, lam=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return 0.5 * np.sum(E**2) + lam * _pen(X, Theta)


def grad_ok(X, Theta, Y, R, lam=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return E @ Theta + lam * X, E.T @ X + lam * Theta


def sparse_cost_ok(X, Theta, movies, users, ratings, lam=0.0):
    e = np.sum(X[movies] * Theta[users], axis=1) - ratings
    return 0.5 * e @ e + lam * _pen(X, Theta)


def sparse_grad_ok(X, Theta, movies, users, ratings, lam=0.0):
    e = np.sum(X[movies] * Theta[users], axis=1) - ratings
    Xg, Tg = lam * X, lam * Theta
    np.add.at(Xg, movies, e[:, None] * Theta[users])
    np.add.at(Tg, users, e[:, None] * X[movies])
    return Xg, Tg


def numgrad_ok(f, params, eps):
    params = [np.array(p, dtype=float) for p in params]
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for t in np.ndindex(p.shape):
            old = p[t]
            p[t] = old + eps
            fp = f(*params)
            p[t] = old - eps
            fm = f(*params)
            p[t] = old
            g[t] = (fp - fm) / (2 * eps)
        grads.append(g)
    return grads


def dense_ok(movies, users, ratings, n_movies, n_users):
    Y = np.zeros((n_movies, n_users))
    R = np.zeros((n_movies, n_users), dtype=bool)
    Y[movies, users] = ratings
    R[movies, users] = True
    return Y, R


def movie_means_ok(Y, R):
    counts = R.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, np.where(R, Y, 0.0).sum(axis=1) / counts, np.nan)


def svd_ok(M, k):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, :k] * np.sqrt(s[:k]), Vt[:k].T * np.sqrt(s[:k])


def svd_ascending(M, k):
    """Columns in increasing order of singular value and with flipped signs, as scipy's svds gives: still right."""
    X, Theta = svd_ok(M, k)
    return -X[:, ::-1], -Theta[:, ::-1]


def user_grad_ok(j, X, Theta, Y, R, lam=0.0):
    rated = R[:, j]
    e = X[rated] @ Theta[j] - Y[rated, j]
    return e @ X[rated] + lam * Theta[j]


def buggy_ok(X, Theta, Y, R, lam):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return E @ Theta - lam * X, E.T @ X - lam * Theta


def top_ok(scores, train_movies, k):
    s = np.asarray(scores, dtype=float).copy()
    s[np.asarray(train_movies, dtype=int)] = -np.inf
    return np.argsort(-s, kind="stable")[:k]


def precision_ok(scores, train_movies, relevant, k):
    return np.isin(top_ok(scores, train_movies, k), relevant).sum() / k


def ndcg_ok(scores, train_movies, relevant, k, shift=1.0, n_ideal=None):
    rel = np.isin(top_ok(scores, train_movies, k), relevant)
    with np.errstate(divide="ignore"):
        discount = 1.0 / np.log2(np.arange(1, k + 1) + shift)
    n = min(k, len(relevant)) if n_ideal is None else n_ideal
    return (rel * discount).sum() / discount[:n].sum()


def implicit_row_ok(X, movies, c, lam, minus=1.0, lam_scale=1.0):
    XN = X[movies]
    A = X.T @ X + XN.T @ ((c - minus)[:, None] * XN) + lam_scale * lam * np.eye(X.shape[1])
    return np.linalg.solve(A, XN.T @ c)


def sample_row_ok(F, t, alpha, mu, lam, rng):
    A = alpha * F.T @ F + np.diag(lam)
    L = np.linalg.cholesky(A)
    return np.linalg.solve(A, alpha * F.T @ t + lam * mu) + np.linalg.solve(L.T, rng.standard_normal(mu.size))


def row_penalty_ok(rows, n_rows, reg_param, k):
    return np.repeat((reg_param * np.bincount(rows, minlength=n_rows))[:, None].astype(float), k, axis=1)


def todo(*args, **kwargs):
    raise NotImplementedError


# ------------------------------------------------------------ right answers
RIGHT = [
    (checks.check_predict, lambda X, Theta: X @ Theta.T, cflib.predict),
    (checks.check_cost, cost_ok, cflib.cost),
    (checks.check_cost, cflib.cost_loop, cflib.cost),
    # a 0-d array is a number: accepted as the cost (a (1,) array is not: f"{J:.4f}" fails on it)
    (checks.check_cost, lambda *a: np.array(cost_ok(*a)), cflib.cost),
    (checks.check_analytic_gradient, grad_ok, cflib.gradient),
    (checks.check_analytic_gradient, cflib.gradient_loop, cflib.gradient),
    (checks.check_cost_sparse, sparse_cost_ok, cflib.cost_sparse),
    (checks.check_gradient_sparse, sparse_grad_ok, cflib.gradient_sparse),
    (checks.check_numerical_gradient, numgrad_ok, cflib.numerical_gradient),
    (checks.check_normalize, ref_normalize, ref_normalize),
    (checks.check_gradient_descent_step,
     lambda X, T, Y, R, lam, lr: tuple(A - lr * G for A, G in zip((X, T), grad_ok(X, T, Y, R, lam))), ref_step),
    (checks.check_rmse, lambda p, a: np.sqrt(np.mean((p - a) ** 2)), ref_rmse),
    (checks.check_fold_in,
     lambda X, m, r, lam: np.linalg.solve(X[m].T @ X[m] + lam * np.eye(X.shape[1]), X[m].T @ r), ref_fold_in),
    (checks.check_to_dense, dense_ok, ref_to_dense),
    (checks.check_movie_means, movie_means_ok, ref_movie_means),
    (checks.check_truncated_svd, svd_ok, ref_truncated_svd),
    (checks.check_truncated_svd, svd_ascending, ref_truncated_svd),
    (checks.check_user_gradient, user_grad_ok, ref_user_gradient),
    (checks.check_buggy_gradient, buggy_ok, checks.penalty_sign_bug),
    (checks.check_precision_at_k, precision_ok, ref_precision_at_k),
    (checks.check_ndcg_at_k, ndcg_ok, ref_ndcg_at_k),
    (checks.check_implicit_row, implicit_row_ok, ref_implicit_row),
    (checks.check_sample_row, sample_row_ok, ref_sample_row),
    (checks.check_row_penalty, row_penalty_ok, ref_row_penalty),
]


@pytest.mark.parametrize("check, fn, reference", RIGHT)
def test_right_answer_passes_and_is_returned(check, fn, reference, capsys):
    line, got = run(check, fn, capsys)
    assert line.startswith(f"{check.__name__}: PASS"), line
    assert got is fn


@pytest.mark.parametrize("check, fn, reference", RIGHT)
def test_not_implemented_returns_reference(check, fn, reference, capsys):
    line, got = run(check, todo, capsys)
    spec, _ = checks.engine.capture(check, todo)
    later = spec.later or f"later cells will use {REF_NAMES[check]}"
    assert REF_NAMES[check] in later
    assert line == f"{check.__name__}: not implemented yet - {later}.", line
    assert "Traceback" not in line
    assert stands_in(got, reference)


def test_each_reference_passes_its_own_check(capsys):
    for check, _, reference in RIGHT:
        line, got = run(check, reference, capsys)
        assert "PASS" in line and got is reference, line


def test_output_is_deterministic(capsys):
    def wrong(X, Theta, Y, R, lam=0.0):
        return cost_ok(X, Theta, Y, R, lam) * 1.1 + 0.3

    first, _ = run(checks.check_cost, wrong, capsys)
    second, _ = run(checks.check_cost, wrong, capsys)
    assert first == second


def test_not_a_function(capsys):
    line, got = run(checks.check_cost, 3.0, capsys)
    assert "FAIL" in line and "expected a function" in line and stands_in(got, cflib.cost)


# ---------------------------------------------------------------- mistakes
def m(check, expected_phrases, fn):
    return pytest.param(check, expected_phrases, fn, id=f"{check.__name__}-{fn.__name__}")


# Dense cost mistakes.
def cost_no_mask(X, Theta, Y, R, lam=0.0):
    return 0.5 * np.sum((X @ Theta.T - Y) ** 2) + lam * _pen(X, Theta)


def cost_no_half(X, Theta, Y, R, lam=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return np.sum(E**2) + lam * (np.sum(X**2) + np.sum(Theta**2))


def cost_no_half_on_errors(X, Theta, Y, R, lam=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return np.sum(E**2) + lam * _pen(X, Theta)


def cost_no_lam(X, Theta, Y, R, lam=0.0):
    return cost_ok(X, Theta, Y, R, 0.0)


def cost_only_x(X, Theta, Y, R, lam=0.0):
    return cost_ok(X, Theta, Y, R, 0.0) + lam / 2 * np.sum(X**2)


def cost_only_theta(X, Theta, Y, R, lam=0.0):
    return cost_ok(X, Theta, Y, R, 0.0) + lam / 2 * np.sum(Theta**2)


def cost_lam_on_errors(X, Theta, Y, R, lam=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return lam / 2 * np.sum(E**2) + _pen(X, Theta)


def cost_reg_no_half(X, Theta, Y, R, lam=0.0):
    return cost_ok(X, Theta, Y, R, 0.0) + lam * (np.sum(X**2) + np.sum(Theta**2))


def cost_swapped(X, Theta, Y, R, lam=0.0):
    E = np.where(R, Theta @ X.T - Y, 0.0)
    return 0.5 * np.sum(E**2) + lam * _pen(X, Theta)


def cost_matrix(X, Theta, Y, R, lam=0.0):
    return 0.5 * (np.where(R, X @ Theta.T - Y, 0.0)) ** 2


def cost_nan(X, Theta, Y, R, lam=0.0):
    return cost_ok(X, Theta, Y, R, lam) * np.nan


def cost_none(X, Theta, Y, R, lam=0.0):
    cost_ok(X, Theta, Y, R, lam)


def cost_mean(X, Theta, Y, R, lam=0.0):
    E = (X @ Theta.T - Y)[R.astype(bool)]
    return 0.5 * np.mean(E**2) + lam * _pen(X, Theta)


def cost_reg_wrong_other(X, Theta, Y, R, lam=0.0):
    return cost_ok(X, Theta, Y, R, 0.0) + lam * 0.25


def cost_raises(X, Theta, Y, R, lam=0.0):
    return {}["J"]


def cost_without_lam_argument(X, Theta, Y, R):
    return cost_ok(X, Theta, Y, R)


# Dense gradient mistakes.
def grad_no_mask(X, Theta, Y, R, lam=0.0):
    E = X @ Theta.T - Y
    return E @ Theta + lam * X, E.T @ X + lam * Theta


def grad_no_lam_theta(X, Theta, Y, R, lam=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return E @ Theta + lam * X, E.T @ X


def grad_no_lam_x(X, Theta, Y, R, lam=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return E @ Theta, E.T @ X + lam * Theta


def grad_double(X, Theta, Y, R, lam=0.0):
    return tuple(2 * g for g in grad_ok(X, Theta, Y, R, lam))


def grad_sign(X, Theta, Y, R, lam=0.0):
    E = np.where(R, Y - X @ Theta.T, 0.0)
    return E @ Theta + lam * X, E.T @ X + lam * Theta


def grad_order_swapped(X, Theta, Y, R, lam=0.0):
    X_grad, Theta_grad = grad_ok(X, Theta, Y, R, lam)
    return Theta_grad, X_grad


def grad_x_transposed(X, Theta, Y, R, lam=0.0):
    X_grad, Theta_grad = grad_ok(X, Theta, Y, R, lam)
    return X_grad.T, Theta_grad


def grad_e_transposed(X, Theta, Y, R, lam=0.0):
    E = np.where(R, X @ Theta.T - Y, 0.0)
    return E.T @ Theta + lam * X, E @ X + lam * Theta


def grad_unrolled(X, Theta, Y, R, lam=0.0):
    return np.concatenate([g.ravel() for g in grad_ok(X, Theta, Y, R, lam)])


def grad_nan_theta(X, Theta, Y, R, lam=0.0):
    X_grad, Theta_grad = grad_ok(X, Theta, Y, R, lam)
    return X_grad, Theta_grad / 0.0 * 0.0


def grad_x_off(X, Theta, Y, R, lam=0.0):
    X_grad, Theta_grad = grad_ok(X, Theta, Y, R, lam)
    return X_grad + 0.01, Theta_grad


# Sparse mistakes.
def sparse_cost_swapped_indices(X, Theta, movies, users, ratings, lam=0.0):
    e = np.sum(X[users] * Theta[movies], axis=1) - ratings
    return 0.5 * e @ e + lam * _pen(X, Theta)


def sparse_cost_no_half(X, Theta, movies, users, ratings, lam=0.0):
    return 2 * sparse_cost_ok(X, Theta, movies, users, ratings, lam)


def sparse_cost_no_lam(X, Theta, movies, users, ratings, lam=0.0):
    return sparse_cost_ok(X, Theta, movies, users, ratings, 0.0)


def sparse_grad_fancy_index(X, Theta, movies, users, ratings, lam=0.0):
    e = np.sum(X[movies] * Theta[users], axis=1) - ratings
    Xg, Tg = np.zeros_like(X), np.zeros_like(Theta)
    Xg[movies] += e[:, None] * Theta[users]
    Tg[users] += e[:, None] * X[movies]
    return Xg + lam * X, Tg + lam * Theta


def sparse_grad_no_lam_x(X, Theta, movies, users, ratings, lam=0.0):
    Xg, Tg = sparse_grad_ok(X, Theta, movies, users, ratings, lam)
    return Xg - lam * X, Tg


# Predict mistakes.
def predict_transposed(X, Theta):
    return Theta @ X.T


def predict_kk(X, Theta):
    return X.T @ Theta


# Numerical gradient mistakes.
def numgrad_forward(f, params, eps):
    params = [np.array(p, dtype=float) for p in params]
    grads = []
    for p in params:
        g = np.zeros_like(p)
        f0 = f(*params)
        for t in np.ndindex(p.shape):
            old = p[t]
            p[t] = old + eps
            g[t] = (f(*params) - f0) / eps
            p[t] = old
        grads.append(g)
    return grads


def numgrad_no_two(f, params, eps):
    return [2 * g for g in numgrad_ok(f, params, eps)]


def numgrad_in_place(f, params, eps):
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for t in np.ndindex(p.shape):
            p[t] += eps
            fp = f(*params)
            p[t] -= 2 * eps
            fm = f(*params)
            g[t] = (fp - fm) / (2 * eps)
        grads.append(g)
    return grads


def numgrad_not_restored(f, params, eps):
    params = [np.array(p, dtype=float) for p in params]
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for t in np.ndindex(p.shape):
            old = p[t]
            p[t] = old + eps
            fp = f(*params)
            p[t] = old - eps
            fm = f(*params)
            g[t] = (fp - fm) / (2 * eps)
        grads.append(g)
    return grads


def numgrad_flat(f, params, eps):
    return np.concatenate([g.ravel() for g in numgrad_ok(f, params, eps)])


# Normalization mistakes.
def normalize_all_entries(Y, R):
    mean = Y.mean(axis=1)
    return np.where(R, Y - mean[:, None], 0.0), mean


def normalize_not_masked(Y, R):
    mean = ref_normalize(Y, R)[1]
    return Y - mean[:, None], mean


def normalize_nan_for_empty(Y, R):
    mean = np.where(R, Y, 0).sum(axis=1) / R.sum(axis=1)
    return np.where(R, Y - mean[:, None], 0.0), mean


def normalize_zero_for_empty(Y, R):
    counts = R.sum(axis=1)
    mean = np.where(counts > 0, np.where(R, Y, 0).sum(axis=1) / np.maximum(counts, 1), 0.0)
    return np.where(R, Y - mean[:, None], 0.0), mean


def normalize_keepdims(Y, R):
    Y_norm, mean = ref_normalize(Y, R)
    return Y_norm, mean[:, None]


# Gradient-descent step mistakes.
def step_uphill(X, Theta, Y, R, lam, lr):
    Xg, Tg = grad_ok(X, Theta, Y, R, lam)
    return X + lr * Xg, Theta + lr * Tg


def step_sequential(X, Theta, Y, R, lam, lr):
    Xg, _ = grad_ok(X, Theta, Y, R, lam)
    X_new = X - lr * Xg
    _, Tg = grad_ok(X_new, Theta, Y, R, lam)
    return X_new, Theta - lr * Tg


def step_in_place(X, Theta, Y, R, lam, lr):
    Xg, Tg = grad_ok(X, Theta, Y, R, lam)
    X -= lr * Xg
    Theta -= lr * Tg
    return X, Theta


def step_no_lr(X, Theta, Y, R, lam, lr):
    Xg, Tg = grad_ok(X, Theta, Y, R, lam)
    return X - Xg, Theta - Tg


def step_no_lam(X, Theta, Y, R, lam, lr):
    Xg, Tg = grad_ok(X, Theta, Y, R, 0.0)
    return X - lr * Xg, Theta - lr * Tg


def step_returns_gradient(X, Theta, Y, R, lam, lr):
    return grad_ok(X, Theta, Y, R, lam)


# RMSE mistakes.
def rmse_mse(p, a):
    return np.mean((p - a) ** 2)


def rmse_no_mean(p, a):
    return np.sqrt(np.sum((p - a) ** 2))


def rmse_mae(p, a):
    return np.mean(np.abs(p - a))


def rmse_std(p, a):
    return np.std(p - a)


# Fold-in mistakes.
def fold_in_no_lam(X, movies, ratings, lam):
    Xr = X[movies]
    return np.linalg.solve(Xr.T @ Xr, Xr.T @ ratings)


def fold_in_lam_everywhere(X, movies, ratings, lam):
    Xr = X[movies]
    return np.linalg.solve(Xr.T @ Xr + lam, Xr.T @ ratings)


def fold_in_column(X, movies, ratings, lam):
    Xr = X[movies]
    return np.linalg.solve(Xr.T @ Xr + lam * np.eye(X.shape[1]), Xr.T @ ratings[:, None])


def fold_in_all_rows(X, movies, ratings, lam):
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ ratings)


# Dense Y, R mistakes.
def dense_swapped(movies, users, ratings, n_movies, n_users):
    return dense_ok(users, movies, ratings, n_movies, n_users)


def dense_transposed(movies, users, ratings, n_movies, n_users):
    Y, R = dense_ok(movies, users, ratings, n_movies, n_users)
    return Y.T, R.T


def dense_int(movies, users, ratings, n_movies, n_users):
    Y, R = dense_ok(movies, users, ratings, n_movies, n_users)
    Y_int = np.zeros(Y.shape, dtype=int)
    Y_int[movies, users] = ratings
    return Y_int, R


def dense_float_r(movies, users, ratings, n_movies, n_users):
    Y, R = dense_ok(movies, users, ratings, n_movies, n_users)
    return Y, R.astype(float)


def dense_shape_from_max(movies, users, ratings, n_movies, n_users):
    return dense_ok(movies, users, ratings, movies.max() + 1, users.max() + 1)


def dense_nan(movies, users, ratings, n_movies, n_users):
    Y, R = dense_ok(movies, users, ratings, n_movies, n_users)
    return np.where(R, Y, np.nan), R


# Movie-mean mistakes.
def means_over_all(Y, R):
    return np.where(R, Y, 0.0).mean(axis=1)


def means_junk(Y, R):
    return Y.sum(axis=1) / np.maximum(R.sum(axis=1), 1)


def means_zero_for_empty(Y, R):
    return np.nan_to_num(movie_means_ok(Y, R), nan=0.0)


def means_global_for_empty(Y, R):
    return ref_normalize(Y, R)[1]


def means_keepdims(Y, R):
    return movie_means_ok(Y, R)[:, None]


def means_per_user(Y, R):
    return movie_means_ok(Y.T, R.T)


# Truncated SVD mistakes.
def svd_smallest(M, k):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, -k:] * np.sqrt(s[-k:]), Vt[-k:].T * np.sqrt(s[-k:])


def svd_all_in_x(M, k):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, :k] * s[:k], Vt[:k].T


def svd_all_in_theta(M, k):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, :k], Vt[:k].T * s[:k]


def svd_no_sigma(M, k):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, :k], Vt[:k].T


def svd_sigma_twice(M, k):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, :k] * s[:k], Vt[:k].T * s[:k]


def svd_theta_not_transposed(M, k):
    X, Theta = svd_ok(M, k)
    return X, Theta.T


def svd_vt_columns(M, k):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, :k] * np.sqrt(s[:k]), Vt[:, :k] * np.sqrt(s[:k])


# One-user gradient mistakes.
def user_grad_no_mask(j, X, Theta, Y, R, lam=0.0):
    return (X @ Theta[j] - Y[:, j]) @ X + lam * Theta[j]


def user_grad_no_lam(j, X, Theta, Y, R, lam=0.0):
    return user_grad_ok(j, X, Theta, Y, R, 0.0)


def user_grad_sign(j, X, Theta, Y, R, lam=0.0):
    rated = R[:, j]
    e = Y[rated, j] - X[rated] @ Theta[j]
    return e @ X[rated] + lam * Theta[j]


def user_grad_twice(j, X, Theta, Y, R, lam=0.0):
    return 2 * user_grad_ok(j, X, Theta, Y, R, lam)


def user_grad_movie(j, X, Theta, Y, R, lam=0.0):
    rated = R[j]
    e = Theta[rated] @ X[j] - Y[j, rated]
    return e @ Theta[rated] + lam * X[j]


def user_grad_all_users(j, X, Theta, Y, R, lam=0.0):
    return grad_ok(X, Theta, Y, R, lam)[1]


def user_grad_row(j, X, Theta, Y, R, lam=0.0):
    return grad_ok(X, Theta, Y, R, lam)[1][[j]]


# Planted bugs (notebook 04): any bug a gradient check finds passes; the correct gradient, a change below the
# check's tolerance and wrong shapes fail. The bugs below (each a real one) pass: test_any_found_planted_bug_passes.
def buggy_is_correct(X, Theta, Y, R, lam):
    return grad_ok(X, Theta, Y, R, lam)


def buggy_too_small(X, Theta, Y, R, lam):
    X_grad, Theta_grad = grad_ok(X, Theta, Y, R, lam)
    return X_grad * (1 + 1e-9), Theta_grad


def buggy_transposed(X, Theta, Y, R, lam):
    X_grad, Theta_grad = grad_ok(X, Theta, Y, R, lam)
    return X_grad.T, Theta_grad


def buggy_drops_penalty(X, Theta, Y, R, lam):
    return grad_ok(X, Theta, Y, R, 0.0)


def buggy_whole_sign(X, Theta, Y, R, lam):
    return tuple(-g for g in grad_ok(X, Theta, Y, R, lam))


def buggy_error_sign(X, Theta, Y, R, lam):
    return grad_sign(X, Theta, Y, R, lam)


def buggy_x_only(X, Theta, Y, R, lam):
    return buggy_ok(X, Theta, Y, R, lam)[0], grad_ok(X, Theta, Y, R, lam)[1]


# Top-N metric mistakes (notebook 09).
def precision_train_counted(s, t, r, k):
    return precision_ok(s, [], r, k)


def precision_is_recall(s, t, r, k):
    return precision_ok(s, t, r, k) * k / len(r)


def precision_over_min(s, t, r, k):
    return precision_ok(s, t, r, k) * k / min(k, len(r))


def precision_lowest_first(s, t, r, k):
    return precision_ok(-np.asarray(s), t, r, k)


def ndcg_train_counted(s, t, r, k):
    return ndcg_ok(s, [], r, k)


def ndcg_log2_r(s, t, r, k):
    return ndcg_ok(s, t, r, k, shift=0.0)


def ndcg_log2_r_plus_2(s, t, r, k):
    return ndcg_ok(s, t, r, k, shift=2.0)


def ndcg_ideal_k(s, t, r, k):
    return ndcg_ok(s, t, r, k, n_ideal=k)


def ndcg_ideal_all_relevant(s, t, r, k):
    rel = np.isin(top_ok(s, t, k), r)
    return (rel / np.log2(np.arange(2, k + 2))).sum() / (1 / np.log2(np.arange(2, len(r) + 2))).sum()


def ndcg_dcg_only(s, t, r, k):
    return (np.isin(top_ok(s, t, k), r) / np.log2(np.arange(2, k + 2))).sum()


# Implicit-ALS row mistakes (notebook 10).
def implicit_c_not_c_minus_i(X, m, c, lam):
    return implicit_row_ok(X, m, c, lam, minus=0.0)


def implicit_no_gram(X, m, c, lam):
    XN = X[m]
    return np.linalg.solve(XN.T @ (c[:, None] * XN) + lam * np.eye(X.shape[1]), XN.T @ c)


def implicit_no_lam(X, m, c, lam):
    return implicit_row_ok(X, m, c, lam, lam_scale=0.0)


def implicit_no_confidence(X, m, c, lam):
    XN = X[m]
    A = X.T @ X + XN.T @ ((c - 1)[:, None] * XN) + lam * np.eye(X.shape[1])
    return np.linalg.solve(A, XN.sum(axis=0))


# Gibbs row-draw mistakes (notebook 11).
def sample_precision_as_cov(F, t, alpha, mu, lam, rng):
    A = alpha * F.T @ F + np.diag(lam)
    return np.linalg.solve(A, alpha * F.T @ t + lam * mu) + np.linalg.cholesky(A) @ rng.standard_normal(mu.size)


def sample_no_alpha(F, t, alpha, mu, lam, rng):
    return sample_row_ok(F, t, 1.0, mu, lam, rng)


def sample_no_prior_mean(F, t, alpha, mu, lam, rng):
    A = alpha * F.T @ F + np.diag(lam)
    L = np.linalg.cholesky(A)
    return np.linalg.solve(A, alpha * F.T @ t) + np.linalg.solve(L.T, rng.standard_normal(mu.size))


def sample_cholesky_transposed(F, t, alpha, mu, lam, rng):
    A = alpha * F.T @ F + np.diag(lam)
    L = np.linalg.cholesky(A)
    return np.linalg.solve(A, alpha * F.T @ t + lam * mu) + np.linalg.solve(L, rng.standard_normal(mu.size))


def sample_no_noise(F, t, alpha, mu, lam, rng):
    return np.linalg.solve(alpha * F.T @ F + np.diag(lam), alpha * F.T @ t + lam * mu)


# Spark ALS-WR penalty mistakes (notebook 12).
def penalty_no_counts(rows, n_rows, reg_param, k):
    return np.full((n_rows, k), float(reg_param))


def penalty_half(rows, n_rows, reg_param, k):
    return row_penalty_ok(rows, n_rows, reg_param, k) / 2


def penalty_twice(rows, n_rows, reg_param, k):
    return 2 * row_penalty_ok(rows, n_rows, reg_param, k)


def penalty_divided(rows, n_rows, reg_param, k):
    counts = np.bincount(rows, minlength=n_rows)
    return np.repeat(np.where(counts > 0, reg_param / np.maximum(counts, 1), 0.0)[:, None], k, axis=1)


def penalty_total_count(rows, n_rows, reg_param, k):
    return np.full((n_rows, k), reg_param * float(len(rows)))


def penalty_one_column(rows, n_rows, reg_param, k):
    return reg_param * np.bincount(rows, minlength=n_rows).astype(float)


def penalty_no_minlength(rows, n_rows, reg_param, k):
    return row_penalty_ok(rows, 0, reg_param, k)


MISTAKES = [
    m(checks.check_cost, ["unrated entries", "mask R"], cost_no_mask),
    m(checks.check_cost, ["exactly twice", "1/2"], cost_no_half),
    m(checks.check_cost, ["1/2 in front of the squared errors"], cost_no_half_on_errors),
    m(checks.check_cost, ["ignores lam"], cost_no_lam),
    m(checks.check_cost, ["regularizes X only"], cost_only_x),
    m(checks.check_cost, ["regularizes Theta only"], cost_only_theta),
    m(checks.check_cost, ["multiplies the squared errors by lam"], cost_lam_on_errors),
    m(checks.check_cost, ["1/2 in front of the regularization"], cost_reg_no_half),
    m(checks.check_cost, ["Theta @ X.T", "X @ Theta.T"], cost_swapped),
    m(checks.check_cost, ["shape (3, 2)", "one number"], cost_matrix),
    m(checks.check_cost, ["contains NaN"], cost_nan),
    m(checks.check_cost, ["returned None", "return"], cost_none),
    m(checks.check_cost, ["averages the squared errors"], cost_mean),
    m(checks.check_cost, ["right for lam = 0 but wrong for lam > 0"], cost_reg_wrong_other),
    m(checks.check_cost, ["raised KeyError: 'J'"], cost_raises),
    m(checks.check_cost, ["raised TypeError", "must take the arguments (X, Theta, Y, R, lam=0.0)"],
      cost_without_lam_argument),
    m(checks.check_analytic_gradient, ["X_grad and Theta_grad each", "unrated entries"], grad_no_mask),
    m(checks.check_analytic_gradient, ["X_grad is right, but Theta_grad misses its regularization"], grad_no_lam_theta),
    m(checks.check_analytic_gradient, ["Theta_grad is right, but X_grad misses its regularization"], grad_no_lam_x),
    m(checks.check_analytic_gradient, ["exactly twice"], grad_double),
    m(checks.check_analytic_gradient, ["wrong sign", "X @ Theta.T - Y"], grad_sign),
    m(checks.check_analytic_gradient, ["swapped", "return (X_grad, Theta_grad) in this order"], grad_order_swapped),
    m(checks.check_analytic_gradient, ["X_grad has shape (2, 3), expected (3, 2)", "transposed"], grad_x_transposed),
    m(checks.check_analytic_gradient, ["E where E.T is needed"], grad_e_transposed),
    m(checks.check_analytic_gradient, ["instead of the pair (X_grad, Theta_grad)"], grad_unrolled),
    m(checks.check_analytic_gradient, ["Theta_grad contains NaN"], grad_nan_theta),
    m(checks.check_analytic_gradient, ["Theta_grad is right, but X_grad differs"], grad_x_off),
    m(checks.check_cost_sparse, ["indexes X with users and Theta with movies"], sparse_cost_swapped_indices),
    m(checks.check_cost_sparse, ["exactly twice"], sparse_cost_no_half),
    m(checks.check_cost_sparse, ["ignores lam"], sparse_cost_no_lam),
    m(checks.check_gradient_sparse, ["each loses repeated indices", "np.add.at"], sparse_grad_fancy_index),
    m(checks.check_gradient_sparse, ["Theta_grad is right, but X_grad misses its regularization"],
      sparse_grad_no_lam_x),
    m(checks.check_predict, ["transposed", "X @ Theta.T"], predict_transposed),
    m(checks.check_predict, ["X.T @ Theta", "(k, k)"], predict_kk),
    m(checks.check_numerical_gradient, ["one-sided difference"], numgrad_forward),
    m(checks.check_numerical_gradient, ["exactly twice", "2 * eps"], numgrad_no_two),
    m(checks.check_numerical_gradient, ["changed its argument params in place", "perturb copies"], numgrad_in_place),
    m(checks.check_numerical_gradient, ["leaves each entry perturbed"], numgrad_not_restored),
    m(checks.check_numerical_gradient, ["one array instead of a tuple"], numgrad_flat),
    m(checks.check_normalize, ["Y_norm and movie_mean each uses the mean over all entries"], normalize_all_entries),
    m(checks.check_normalize, ["movie_mean is right, but Y_norm is not 0 where R is 0"], normalize_not_masked),
    m(checks.check_normalize, ["contains NaN", "no ratings"], normalize_nan_for_empty),
    m(checks.check_normalize, ["no ratings 0 instead of the global mean"], normalize_zero_for_empty),
    m(checks.check_normalize, ["movie_mean has shape", "1-D"], normalize_keepdims),
    m(checks.check_gradient_descent_step, ["moves uphill"], step_uphill),
    m(checks.check_gradient_descent_step, ["X_new is right, but Theta_new is computed from the already updated"],
      step_sequential),
    m(checks.check_gradient_descent_step, ["changed its argument X in place", "X_new = X - lr * X_grad"], step_in_place),
    m(checks.check_gradient_descent_step, ["ignores lr"], step_no_lr),
    m(checks.check_gradient_descent_step, ["ignores lam"], step_no_lam),
    m(checks.check_gradient_descent_step, ["is the gradient, not the updated matrix"], step_returns_gradient),
    m(checks.check_rmse, ["mean squared error", "square root"], rmse_mse),
    m(checks.check_rmse, ["root of the sum"], rmse_no_mean),
    m(checks.check_rmse, ["mean absolute error"], rmse_mae),
    m(checks.check_rmse, ["np.std"], rmse_std),
    m(checks.check_fold_in, ["ignores lam"], fold_in_no_lam),
    m(checks.check_fold_in, ["every entry", "np.eye"], fold_in_lam_everywhere),
    m(checks.check_fold_in, ["theta has shape", "1-D"], fold_in_column),
    m(checks.check_fold_in, ["raised ValueError", "X_r = X[movies]"], fold_in_all_rows),
    m(checks.check_to_dense, ["indices are swapped", "Y[movies, users] = ratings"], dense_swapped),
    m(checks.check_to_dense, ["Y has shape (4, 3), expected (3, 4)", "(n_movies, n_users)"], dense_transposed),
    m(checks.check_to_dense, ["R is right, but Y loses the half stars", "integer dtype"], dense_int),
    m(checks.check_to_dense, ["R with dtype float64 instead of bool", "dtype=bool"], dense_float_r),
    m(checks.check_to_dense, ["Y has shape (6, 4), expected (7, 5)", "not movies.max() + 1"], dense_shape_from_max),
    m(checks.check_to_dense, ["Y contains NaN", "np.zeros"], dense_nan),
    m(checks.check_movie_means, ["counts the unrated entries", "R.sum(axis=1)"], means_over_all),
    m(checks.check_movie_means, ["adds up Y where R is 0 too", "junk"], means_junk),
    m(checks.check_movie_means, ["gives 0 to a movie with no ratings instead of nan"], means_zero_for_empty),
    m(checks.check_movie_means, ["gives the global mean to a movie with no ratings"], means_global_for_empty),
    m(checks.check_movie_means, ["has shape (3, 1), expected (3,)", "1-D"], means_keepdims),
    m(checks.check_movie_means, ["has shape (2,), expected (3,)", "axis=1"], means_per_user),
    m(checks.check_truncated_svd, ["k smallest singular values", "s[:k]"], svd_smallest),
    m(checks.check_truncated_svd, ["all of it is in X", "np.sqrt(s[:k])"], svd_all_in_x),
    m(checks.check_truncated_svd, ["all of it is in Theta"], svd_all_in_theta),
    m(checks.check_truncated_svd, ["leaves out the singular values"], svd_no_sigma),
    m(checks.check_truncated_svd, ["scales both factors by s instead of sqrt(s)"], svd_sigma_twice),
    m(checks.check_truncated_svd, ["Theta has shape (2, 5), expected (5, 2)", "Vt[:k].T"], svd_theta_not_transposed),
    m(checks.check_truncated_svd, ["Theta has shape (5, 2), expected (7, 2)", "ROWS of Vt"], svd_vt_columns),
    m(checks.check_user_gradient, ["movies user j did not rate", "R[:, j]"], user_grad_no_mask),
    m(checks.check_user_gradient, ["misses lam * Theta[j]"], user_grad_no_lam),
    m(checks.check_user_gradient, ["errors with the wrong sign"], user_grad_sign),
    m(checks.check_user_gradient, ["exactly twice"], user_grad_twice),
    m(checks.check_user_gradient, ["gradient of movie j", "column j"], user_grad_movie),
    m(checks.check_user_gradient, ["theta_grad has shape (2, 2), expected (2,)", "only user j's row"],
      user_grad_all_users),
    m(checks.check_user_gradient, ["theta_grad has shape (1, 2), expected (2,)", "1-D"], user_grad_row),
    m(checks.check_buggy_gradient, ["is the correct gradient", "no bug for a gradient check to find"],
      buggy_is_correct),
    m(checks.check_buggy_gradient, ["at most 5.0e-10", "below the gradient check's tolerance, 1e-07"],
      buggy_too_small),
    m(checks.check_buggy_gradient, ["X_grad of shape (2, 3), expected (3, 2)", "X_grad is transposed",
                                    "keeps the shapes"], buggy_transposed),
    m(checks.check_precision_at_k, ["counts the movies rated in train", "-np.inf"], precision_train_counted),
    m(checks.check_precision_at_k, ["that is recall@k", "hits / k"], precision_is_recall),
    m(checks.check_precision_at_k, ["min(k, |relevant|), the normalizer"], precision_over_min),
    m(checks.check_precision_at_k, ["from the lowest score up", "np.argsort(-scores)"], precision_lowest_first),
    m(checks.check_ndcg_at_k, ["counts the movies rated in train"], ndcg_train_counted),
    m(checks.check_ndcg_at_k, ["contains NaN", "off-by-one in the discount: log2(r)"], ndcg_log2_r),
    m(checks.check_ndcg_at_k, ["uses log2(r + 2)", "rank 1 must have discount 1"], ndcg_log2_r_plus_2),
    m(checks.check_ndcg_at_k, ["ideal DCG of k hits instead of min(k, |relevant|)"], ndcg_ideal_k),
    m(checks.check_ndcg_at_k, ["ideal DCG of all |relevant| hits, not capped at k"], ndcg_ideal_all_relevant),
    m(checks.check_ndcg_at_k, ["without the normalization by the ideal DCG"], ndcg_dcg_only),
    m(checks.check_implicit_row, ["uses C instead of C - I"], implicit_c_not_c_minus_i),
    m(checks.check_implicit_row, ["leaves out X^T X", "start from X.T @ X"], implicit_no_gram),
    m(checks.check_implicit_row, ["forgets lam on the diagonal"], implicit_no_lam),
    m(checks.check_implicit_row, ["no confidence on the right-hand side", "X_N.T @ c"], implicit_no_confidence),
    m(checks.check_sample_row, ["mean of your draws and the distribution of your draws are right", "is the precision A, not its inverse"],
      sample_precision_as_cov),
    m(checks.check_sample_row, ["each matches tau = 1", "tau scales both data terms"], sample_no_alpha),
    m(checks.check_sample_row, ["covariance of your draws and the distribution of your draws are right", "ignores the prior mean nu"],
      sample_no_prior_mean),
    m(checks.check_sample_row, ["the Cholesky factor is transposed"], sample_cholesky_transposed),
    m(checks.check_sample_row, ["without any noise", "rng.standard_normal(d)"], sample_no_noise),
    m(checks.check_row_penalty, ["the number of ratings n_r is missing"], penalty_no_counts),
    m(checks.check_row_penalty, ["is half the right value", "no 1/2"], penalty_half),
    m(checks.check_row_penalty, ["is twice the right value", "cancels"], penalty_twice),
    m(checks.check_row_penalty, ["divides reg_param by n_r instead of multiplying"], penalty_divided),
    m(checks.check_row_penalty, ["total number of ratings for every row"], penalty_total_count),
    m(checks.check_row_penalty, ["P has shape (3,), expected (3, 2)", "repeat"], penalty_one_column),
    m(checks.check_row_penalty, ["rows without ratings are missing", "minlength=n_rows"], penalty_no_minlength),
]

REFERENCES = {check: reference for check, _, reference in RIGHT}
REF_NAMES = {
    checks.check_predict: "cflib.predict",
    checks.check_cost: "cflib.cost",
    checks.check_analytic_gradient: "cflib.gradient",
    checks.check_cost_sparse: "cflib.cost_sparse",
    checks.check_gradient_sparse: "cflib.gradient_sparse",
    checks.check_numerical_gradient: "cflib.gradcheck.numerical_gradient",
    checks.check_normalize: "cflib.train.normalize_ratings",
    checks.check_gradient_descent_step: "cflib.train.gradient_descent_step",
    checks.check_rmse: "cflib.evaluate.rmse",
    checks.check_fold_in: "cflib.recommend.fold_in",
    checks.check_to_dense: "cflib.ratings.to_dense",
    checks.check_movie_means: "cflib.ratings.movie_means",
    checks.check_truncated_svd: "cflib.lowrank.truncated_svd",
    checks.check_user_gradient: "cflib.objective.user_gradient",
    checks.check_buggy_gradient: "cflib.checks.penalty_sign_bug",
    checks.check_precision_at_k: "cflib.ranking.precision_at_k",
    checks.check_ndcg_at_k: "cflib.ranking.ndcg_at_k",
    checks.check_implicit_row: "cflib.implicit_als.implicit_row",
    checks.check_sample_row: "cflib.gibbs.sample_row",
    checks.check_row_penalty: "cflib.als_wr.row_penalty",
}


@pytest.mark.parametrize("check, phrases, fn", MISTAKES)
def test_planted_mistake_is_diagnosed(check, phrases, fn, capsys):
    line, got = run(check, fn, capsys)
    assert line.startswith(f"{check.__name__}: FAIL - "), line
    for phrase in phrases:
        assert phrase in line, f"{phrase!r} not in {line!r}"
    assert "Traceback" not in line
    spec, _ = checks.engine.capture(check, fn)
    later = spec.later or f"later cells will use {REF_NAMES[check]}"
    assert REF_NAMES[check] in later and line.endswith(f"Until it passes, {later}.")
    assert stands_in(got, REFERENCES[check])


def test_each_mistake_has_its_own_diagnosis(capsys):
    """No two planted mistakes of the same check print the same line."""
    seen = {}
    for param in MISTAKES:
        check, _, fn = param.values
        line, _ = run(check, fn, capsys)
        assert line not in seen, f"{fn.__name__} and {seen[line]} print the same diagnosis: {line}"
        seen[line] = fn.__name__


def test_lam_zero_vs_positive_is_distinguished(capsys):
    """A cost that is right at lam = 0 only is told so, even when no known mistake matches."""
    line, _ = run(checks.check_cost, cost_reg_wrong_other, capsys)
    assert "right for lam = 0 but wrong for lam > 0" in line and "lam/2 * (sum(X**2) + sum(Theta**2))" in line


def test_function_that_scribbles_on_its_inputs_fails(capsys):
    """A right value computed by a function that then changes its inputs FAILs, naming the first argument changed."""
    def scribbles(X, Theta, Y, R, lam=0.0):
        J = cost_ok(X, Theta, Y, R, lam)
        X[:] = 0.0
        Y[:] = 99.0
        return J

    line, got = run(checks.check_cost, scribbles, capsys)
    assert line.startswith("check_cost: FAIL - it changed its argument X in place"), line
    assert "X = X.copy()" in line and stands_in(got, cflib.cost)


def test_nan_where_the_reference_has_nan_is_right(capsys):
    """A movie nobody rated has a NaN mean: NaN there passes, a number there fails with its own diagnosis."""
    line, got = run(checks.check_movie_means, movie_means_ok, capsys)
    assert "PASS" in line and got is movie_means_ok
    Y = np.array([[4.0, 0.0], [0.0, 0.0]])
    R = np.array([[True, False], [False, False]])
    assert np.isnan(ref_movie_means(Y, R)[1]) and ref_movie_means(Y, R)[0] == 4.0


def test_truncated_svd_is_compared_up_to_sign_and_order(capsys):
    """Singular vectors have no fixed sign or order; flipping one factor's column alone is wrong."""
    line, _ = run(checks.check_truncated_svd, svd_ascending, capsys)
    assert "PASS" in line

    def one_column_flipped(M, k):
        X, Theta = svd_ok(M, k)
        Theta[:, 0] *= -1
        return X, Theta

    line, got = run(checks.check_truncated_svd, one_column_flipped, capsys)
    assert "X is right, but Theta has column 0 with the opposite sign to X's" in line and stands_in(got, ref_truncated_svd)


@pytest.mark.parametrize("fn, wrong, found", [
    (buggy_ok, ["X", "Theta"], "X_grad and Theta_grad fail the check on 6 of the 10 problems tried; it hides on "
                               "the other 4 (every one with lam=0)"),
    (buggy_drops_penalty, ["X", "Theta"], "X_grad and Theta_grad fail the check on 6 of the 10"),
    (buggy_whole_sign, ["X", "Theta"], "X_grad and Theta_grad fail the check on 10 of the 10 problems tried."),
    (buggy_error_sign, ["X", "Theta"], "X_grad and Theta_grad fail the check on 10 of the 10 problems tried."),
    (buggy_x_only, ["X"], "only X_grad fails the check (Theta_grad passes everywhere), on 6 of the 10"),
])
def test_any_found_planted_bug_passes(fn, wrong, found, capsys):
    """Notebook 04, exercise 1: any bug a gradient check finds PASSes, and the line says where, as
    cflib.check_gradient on its small problem (one of the ten) does."""
    line, got = run(checks.check_buggy_gradient, fn, capsys)
    assert line == f"check_buggy_gradient: PASS - {fn.__name__} is a real bug, and a gradient check finds it: " \
                   + line.split("finds it: ", 1)[1] and found in line, line
    assert got is fn
    assert cflib.check_gradient(1.5, gradient_fn=fn).wrong_blocks == wrong


def test_planted_bug_reference_is_wrong_only_for_positive_lam():
    """penalty_sign_bug is the bug the exercise asks for: the gradient check flags both blocks for lam > 0 only."""
    assert cflib.check_gradient(1.5, gradient_fn=checks.penalty_sign_bug).wrong_blocks == ["X", "Theta"]
    assert cflib.check_gradient(0.0, gradient_fn=checks.penalty_sign_bug).passed
