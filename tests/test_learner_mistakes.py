"""A learner's pass over the exercises of notebooks 00-14: typical beginner mistakes and right alternatives.

Each row of ``MISTAKES`` is (check, wrong function, phrase): the check must
print ONE line that starts with FAIL and contains the phrase (the specific
diagnosis, or for a mistake with no diagnosis of its own, the first differing
entry), and hand back a stand-in. Each row of ``RIGHT`` is a right answer
written another way than the solution: it must PASS and come back unchanged.
The functions are the ones tried by hand while working through the student
copies (see the learner report); several of the phrases were added to the
checks because of them (a list or a (1,) array accepted, train scores set to 0
passing, an in-place change in the sampler blamed on the generator,
``np.delete`` shifting the movie ids, integer arithmetic, off-by-ones).
"""

import sys
import warnings

import numpy as np
import pytest

import cflib
from cflib import checks


def _rated(Y, R):
    return np.where(R, Y, 0.0).sum(axis=1), np.asarray(R).sum(axis=1)


# ============================================================ 00: to_dense, movie_means
def dense_ok(m, u, r, nm, nu):
    Y = np.zeros((nm, nu))
    Y[m, u] = r
    R = np.zeros((nm, nu), dtype=bool)
    R[m, u] = True
    return Y, R


def dense_loop(m, u, r, nm, nu):
    Y, R = np.zeros((nm, nu)), np.zeros((nm, nu), dtype=bool)
    for a, b, c in zip(m, u, r):
        Y[a, b], R[a, b] = c, True
    return Y, R


def dense_users_by_movies(m, u, r, nm, nu):
    Y, R = dense_ok(u, m, r, nu, nm)
    return Y, R


def dense_one_based(m, u, r, nm, nu):
    Y = np.zeros((nm + 1, nu + 1))
    Y[m + 1, u + 1] = r
    return Y[1:], Y[1:] > 0


def dense_int_r(m, u, r, nm, nu):
    Y, R = dense_ok(m, u, r, nm, nu)
    return Y, R.astype(int)


def dense_lists(m, u, r, nm, nu):
    Y, R = dense_ok(m, u, r, nm, nu)
    return Y.tolist(), R.tolist()


def dense_r_from_y(m, u, r, nm, nu):
    Y, _ = dense_ok(m, u, r, nm, nu)
    return Y, Y > 0


def dense_r_not_zero(m, u, r, nm, nu):
    Y, _ = dense_ok(m, u, r, nm, nu)
    return Y, Y != 0


def means_y_positive(Y, R):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(Y > 0, Y, 0.0).sum(axis=1) / (Y > 0).sum(axis=1)


def means_median(Y, R):
    R = np.asarray(R, bool)
    return np.array([np.median(Y[i, R[i]]) if R[i].any() else np.nan for i in range(Y.shape[0])])


def means_ok(Y, R):
    s, c = _rated(Y, R)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / c, np.nan)


def means_nanmean(Y, R):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.nanmean(np.where(R, Y, np.nan), axis=1)


def means_axis0(Y, R):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(R, Y, 0.0).sum(axis=0) / R.sum(axis=0)


def means_unmasked(Y, R):
    return Y.mean(axis=1)


def means_zero_for_unrated(Y, R):
    s, c = _rated(Y, R)
    return s / np.maximum(c, 1)


def means_nan_in_place(Y, R):
    Y[~np.asarray(R, bool)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.nanmean(Y, axis=1)


def means_floor_division(Y, R):
    s, c = _rated(Y, R)
    return np.where(c > 0, s // np.maximum(c, 1), np.nan)


def means_column(Y, R):
    return means_ok(Y, R)[:, None]


# ============================================================ 01: predict, truncated_svd
def predict_transposed(X, T):
    return T @ X.T


def predict_list(X, T):
    return (X @ T.T).tolist()


def predict_einsum(X, T):
    return np.einsum("ik,jk->ij", X, T)


def _svd(M, k):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, :k], s[:k], Vt[:k]


def svd_ok(M, k):
    U, s, Vt = _svd(M, k)
    return U * np.sqrt(s), Vt.T * np.sqrt(s)


def svd_eigh(M, k):
    w, V = np.linalg.eigh(M.T @ M)
    top = np.argsort(w)[::-1][:k]
    V, s = V[:, top], np.sqrt(np.maximum(w[top], 0.0))
    return (M @ V / s) * np.sqrt(s), V * np.sqrt(s)


def svd_s_on_both(M, k):
    U, s, Vt = _svd(M, k)
    return U * s, Vt.T * s


def svd_vt_not_transposed(M, k):
    U, s, Vt = _svd(M, k)
    return U * np.sqrt(s), Vt * np.sqrt(s)[:, None]


def svd_k_plus_one(M, k):
    return svd_ok(M, k + 1)


def svd_smallest(M, k):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, -k:] * np.sqrt(s[-k:]), Vt[-k:].T * np.sqrt(s[-k:])


def svd_all_sigma_in_x(M, k):
    U, s, Vt = _svd(M, k)
    return U * s, Vt.T


# ============================================================ 02: cost, cost_sparse
def _pen(X, T, lam):
    return lam / 2 * (np.sum(X ** 2) + np.sum(T ** 2))


def cost_ok(X, T, Y, R, lam=0.0):
    E = np.where(R, X @ T.T - Y, 0.0)
    return 0.5 * np.sum(E ** 2) + _pen(X, T, lam)


def cost_times_r(X, T, Y, R, lam=0.0):
    E = (X @ T.T - Y) * R
    return 0.5 * np.sum(E ** 2) + _pen(X, T, lam)


def cost_boolean_index(X, T, Y, R, lam=0.0):
    e = (X @ T.T - Y)[np.asarray(R, bool)]
    return 0.5 * e @ e + _pen(X, T, lam)


def cost_loop_ok(X, T, Y, R, lam=0.0):
    J = 0.0
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if R[i, j]:
                J += 0.5 * (X[i] @ T[j] - Y[i, j]) ** 2
    return J + _pen(X, T, lam)


def cost_no_half(X, T, Y, R, lam=0.0):
    return 2 * cost_ok(X, T, Y, R, lam)


def cost_no_theta_penalty(X, T, Y, R, lam=0.0):
    return cost_ok(X, T, Y, R, 0.0) + lam / 2 * np.sum(X ** 2)


def cost_mean(X, T, Y, R, lam=0.0):
    return cost_ok(X, T, Y, R, 0.0) / np.sum(R) + _pen(X, T, lam)


def cost_loop_off_by_one(X, T, Y, R, lam=0.0):
    J = 0.0
    for i in range(Y.shape[0] - 1):
        for j in range(Y.shape[1]):
            if R[i, j]:
                J += 0.5 * (X[i] @ T[j] - Y[i, j]) ** 2
    return J + _pen(X, T, lam)


def cost_y_in_place(X, T, Y, R, lam=0.0):
    Y -= X @ T.T
    Y *= R
    return 0.5 * np.sum(Y ** 2) + _pen(X, T, lam)


def cost_square_of_sum(X, T, Y, R, lam=0.0):
    return cost_ok(X, T, Y, R, 0.0) + lam / 2 * (np.sum(X) ** 2 + np.sum(T) ** 2)


def cost_one_element_array(X, T, Y, R, lam=0.0):
    return np.array([cost_ok(X, T, Y, R, lam)])


def cost_zero_dim_array(X, T, Y, R, lam=0.0):
    return np.array(cost_ok(X, T, Y, R, lam))


def cost_k_hard_coded(X, T, Y, R, lam=0.0):  # right while k <= 3 only: the first three features
    E = np.where(R, X[:, :3] @ T[:, :3].T - Y, 0.0)
    return 0.5 * np.sum(E ** 2) + _pen(X, T, lam)


def cost_sparse_ok(X, T, m, u, r, lam=0.0):
    e = np.sum(X[m] * T[u], axis=1) - r
    return 0.5 * e @ e + _pen(X, T, lam)


def cost_sparse_dense(X, T, m, u, r, lam=0.0):
    e = (X @ T.T)[m, u] - r
    return 0.5 * np.sum(e ** 2) + _pen(X, T, lam)


def cost_sparse_swapped(X, T, m, u, r, lam=0.0):
    return cost_sparse_ok(X, T, u, m, r, lam)


def cost_sparse_gathered_penalty(X, T, m, u, r, lam=0.0):
    e = np.sum(X[m] * T[u], axis=1) - r
    return 0.5 * e @ e + lam / 2 * (np.sum(X[m] ** 2) + np.sum(T[u] ** 2))


def cost_sparse_diag(X, T, m, u, r, lam=0.0):  # right on small problems; (n_ratings, n_ratings) on MovieLens
    e = np.diag(X[m] @ T[u].T) - r
    return 0.5 * e @ e + _pen(X, T, lam)


def cost_sparse_no_half(X, T, m, u, r, lam=0.0):
    e = np.sum(X[m] * T[u], axis=1) - r
    return e @ e + _pen(X, T, lam)


# ============================================================ 03: gradients
def grad_ok(X, T, Y, R, lam=0.0):
    E = np.where(R, X @ T.T - Y, 0.0)
    return E @ T + lam * X, E.T @ X + lam * T


def grad_times_r(X, T, Y, R, lam=0.0):
    E = (X @ T.T - Y) * R
    return E @ T + lam * X, E.T @ X + lam * T


def grad_loop(X, T, Y, R, lam=0.0):
    Xg, Tg = np.zeros_like(X), np.zeros_like(T)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if R[i, j]:
                e = X[i] @ T[j] - Y[i, j]
                Xg[i] += e * T[j]
                Tg[j] += e * X[i]
    return Xg + lam * X, Tg + lam * T


def grad_list(X, T, Y, R, lam=0.0):
    return list(grad_ok(X, T, Y, R, lam))


def grad_swapped(X, T, Y, R, lam=0.0):
    return grad_ok(X, T, Y, R, lam)[::-1]


def grad_no_mask(X, T, Y, R, lam=0.0):
    E = X @ T.T - Y
    return E @ T + lam * X, E.T @ X + lam * T


def grad_half_lam(X, T, Y, R, lam=0.0):
    return grad_ok(X, T, Y, R, lam / 2)


def grad_no_theta_penalty(X, T, Y, R, lam=0.0):
    Xg, Tg = grad_ok(X, T, Y, R, lam)
    return Xg, Tg - lam * T


def grad_error_sign(X, T, Y, R, lam=0.0):
    E = np.where(R, Y - X @ T.T, 0.0)
    return E @ T + lam * X, E.T @ X + lam * T


def grad_flat(X, T, Y, R, lam=0.0):
    return np.concatenate([g.ravel() for g in grad_ok(X, T, Y, R, lam)])


def _sparse_e(X, T, m, u, r):
    return np.sum(X[m] * T[u], axis=1) - r


def grad_sparse_add_at(X, T, m, u, r, lam=0.0):
    e = _sparse_e(X, T, m, u, r)
    Xg, Tg = lam * X, lam * T
    np.add.at(Xg, m, e[:, None] * T[u])
    np.add.at(Tg, u, e[:, None] * X[m])
    return Xg, Tg


def grad_sparse_bincount(X, T, m, u, r, lam=0.0):
    e = _sparse_e(X, T, m, u, r)
    Xg = np.stack([np.bincount(m, e * T[u][:, c], minlength=X.shape[0]) for c in range(X.shape[1])], 1)
    Tg = np.stack([np.bincount(u, e * X[m][:, c], minlength=T.shape[0]) for c in range(X.shape[1])], 1)
    return Xg + lam * X, Tg + lam * T


def grad_sparse_diag(X, T, m, u, r, lam=0.0):
    e = np.diag(X[m] @ T[u].T) - r
    Xg, Tg = lam * X, lam * T
    np.add.at(Xg, m, e[:, None] * T[u])
    np.add.at(Tg, u, e[:, None] * X[m])
    return Xg, Tg


def grad_sparse_fancy_add(X, T, m, u, r, lam=0.0):
    e = _sparse_e(X, T, m, u, r)
    Xg, Tg = lam * X, lam * T
    Xg[m] += e[:, None] * T[u]
    Tg[u] += e[:, None] * X[m]
    return Xg, Tg


def grad_sparse_overwrites_x(X, T, m, u, r, lam=0.0):
    e = _sparse_e(X, T, m, u, r)
    Xg = X
    Xg *= lam
    Tg = lam * T
    np.add.at(Xg, m, e[:, None] * T[u])
    np.add.at(Tg, u, e[:, None] * X[m])
    return Xg, Tg


def user_grad_ok(j, X, T, Y, R, lam=0.0):
    rated = np.asarray(R[:, j], bool)
    e = X[rated] @ T[j] - Y[rated, j]
    return X[rated].T @ e + lam * T[j]


def user_grad_no_mask(j, X, T, Y, R, lam=0.0):
    return X.T @ (X @ T[j] - Y[:, j]) + lam * T[j]


def user_grad_x_penalty(j, X, T, Y, R, lam=0.0):
    return user_grad_ok(j, X, T, Y, R, 0.0) + lam * X[j % X.shape[0]]


def user_grad_row_vector(j, X, T, Y, R, lam=0.0):
    return user_grad_ok(j, X, T, Y, R, lam)[None, :]


def user_grad_j_minus_one(j, X, T, Y, R, lam=0.0):
    return user_grad_ok(j - 1, X, T, Y, R, lam)


# ============================================================ 04: numerical gradient, planted bug
def _numgrad(f, params, eps, *, shared=False, reset=True, denom=2.0, copy=True):
    params = [np.array(p, dtype=float) for p in params] if copy else list(params)
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for t in np.ndindex(p.shape):
            old = p[t]
            p[t] = old + eps
            f_plus = f(*params)
            p[t] = (p[t] - eps) if shared else (old - eps)
            f_minus = f(*params)
            if reset:
                p[t] = old
            g[t] = (f_plus - f_minus) / (denom * eps)
        grads.append(g)
    return tuple(grads)


def numgrad_ok(f, params, eps=1e-5):
    return _numgrad(f, params, eps)


def numgrad_list(f, params, eps=1e-5):
    return list(_numgrad(f, params, eps))


def numgrad_shared_array(f, params, eps=1e-5):
    return _numgrad(f, params, eps, shared=True)


def numgrad_no_reset(f, params, eps=1e-5):
    return _numgrad(f, params, eps, reset=False)


def numgrad_over_eps(f, params, eps=1e-5):
    return _numgrad(f, params, eps, denom=1.0)


def numgrad_in_place(f, params, eps=1e-5):
    return _numgrad(f, params, eps, reset=False, copy=False)


def numgrad_first_only(f, params, eps=1e-5):
    return _numgrad(f, params, eps)[:1]


def numgrad_forward(f, params, eps=1e-5):
    params = [np.array(p, dtype=float) for p in params]
    f0, grads = f(*params), []
    for p in params:
        g = np.zeros_like(p)
        for t in np.ndindex(p.shape):
            old = p[t]
            p[t] = old + eps
            g[t] = (f(*params) - f0) / eps
            p[t] = old
        grads.append(g)
    return tuple(grads)


def numgrad_flat(f, params, eps=1e-5):
    return np.concatenate([g.ravel() for g in _numgrad(f, params, eps)])


def bug_ok(X, T, Y, R, lam):
    E = np.where(R, X @ T.T - Y, 0.0)
    return E @ T - lam * X, E.T @ X - lam * T


def bug_only_x(X, T, Y, R, lam):
    E = np.where(R, X @ T.T - Y, 0.0)
    return E @ T - lam * X, E.T @ X + lam * T


def bug_none_planted(X, T, Y, R, lam):
    return grad_ok(X, T, Y, R, lam)


def bug_and_no_mask(X, T, Y, R, lam):
    E = X @ T.T - Y
    return E @ T - lam * X, E.T @ X - lam * T


# ============================================================ 05: gradient step, normalize
def step_ok(X, T, Y, R, lam, lr):
    Xg, Tg = cflib.gradient(X, T, Y, R, lam)
    return X - lr * Xg, T - lr * Tg


def step_written_out(X, T, Y, R, lam, lr):
    E = (X @ T.T - Y) * R
    return X - lr * (E @ T + lam * X), T - lr * (E.T @ X + lam * T)


def step_sequential(X, T, Y, R, lam, lr):
    X_new = X - lr * cflib.gradient(X, T, Y, R, lam)[0]
    return X_new, T - lr * cflib.gradient(X_new, T, Y, R, lam)[1]


def step_uphill(X, T, Y, R, lam, lr):
    Xg, Tg = cflib.gradient(X, T, Y, R, lam)
    return X + lr * Xg, T + lr * Tg


def step_in_place(X, T, Y, R, lam, lr):
    Xg, Tg = cflib.gradient(X, T, Y, R, lam)
    X -= lr * Xg
    T -= lr * Tg
    return X, T


def step_returns_steps(X, T, Y, R, lam, lr):
    Xg, Tg = cflib.gradient(X, T, Y, R, lam)
    return lr * Xg, lr * Tg


def step_no_lam(X, T, Y, R, lam, lr):
    return step_ok(X, T, Y, R, 0.0, lr)


def norm_ok(Y, R):
    R = np.asarray(R, bool)
    s, c = _rated(Y, R)
    mu = np.full(Y.shape[0], s.sum() / c.sum())
    np.divide(s, c, out=mu, where=c > 0)
    return np.where(R, Y - mu[:, None], 0.0), mu


def norm_times_r(Y, R):
    R = np.asarray(R, bool)
    s, c = _rated(Y, R)
    mu = np.where(c > 0, s / np.maximum(c, 1), Y[R].mean())
    return (Y - mu[:, None]) * R, mu


def norm_unrated_not_zero(Y, R):
    _, mu = norm_ok(Y, R)
    return Y - mu[:, None], mu


def norm_zero_fallback(Y, R):
    R = np.asarray(R, bool)
    s, c = _rated(Y, R)
    mu = s / np.maximum(c, 1)
    return np.where(R, Y - mu[:, None], 0.0), mu


def norm_mean_of_means_fallback(Y, R):
    R = np.asarray(R, bool)
    s, c = _rated(Y, R)
    mu = np.zeros(Y.shape[0])
    np.divide(s, c, out=mu, where=c > 0)
    mu[c == 0] = mu[c > 0].mean()
    return np.where(R, Y - mu[:, None], 0.0), mu


def norm_user_means(Y, R):
    Yn, mu = norm_ok(Y.T, np.asarray(R).T)
    return Yn.T, mu


def norm_in_place(Y, R):
    Yn, mu = norm_ok(Y, R)
    Y[:] = Yn
    return Y, mu


def norm_unmasked_mean(Y, R):
    mu = Y.mean(axis=1)
    return np.where(R, Y - mu[:, None], 0.0), mu


def norm_unmasked_numerator(Y, R):
    R = np.asarray(R, bool)
    c = R.sum(axis=1)
    mu = np.where(c > 0, Y.sum(axis=1) / np.maximum(c, 1), Y[R].mean())
    return np.where(R, Y - mu[:, None], 0.0), mu


def means_unmasked_numerator(Y, R):
    with np.errstate(invalid="ignore", divide="ignore"):
        return Y.sum(axis=1) / R.sum(axis=1)


def norm_swapped_outputs(Y, R):
    return norm_ok(Y, R)[::-1]


# ============================================================ 06: rmse
def _d(p, a):
    return np.asarray(p, float) - np.asarray(a, float)


def rmse_ok(p, a):
    return float(np.sqrt(np.mean(_d(p, a) ** 2)))


def rmse_numpy_float(p, a):
    return np.sqrt(np.mean(_d(p, a) ** 2))


def rmse_norm(p, a):
    return float(np.linalg.norm(_d(p, a)) / np.sqrt(np.size(p)))


def rmse_no_sqrt(p, a):
    return float(np.mean(_d(p, a) ** 2))


def rmse_mae(p, a):
    return float(np.mean(np.abs(_d(p, a))))


def rmse_sum(p, a):
    return float(np.sqrt(np.sum(_d(p, a) ** 2)))


def rmse_n_minus_one(p, a):
    return float(np.sqrt(np.sum(_d(p, a) ** 2) / (np.size(p) - 1)))


def rmse_difference_of_means(p, a):
    return float(abs(np.mean(p) - np.mean(a)))


# ============================================================ 07: fold-in
def _xr(X, m):
    return X[np.asarray(m)]


def fold_ok(X, m, r, lam):
    Xr = _xr(X, m)
    return np.linalg.solve(Xr.T @ Xr + lam * np.eye(X.shape[1]), Xr.T @ np.asarray(r, float))


def fold_inv(X, m, r, lam):
    Xr = _xr(X, m)
    return np.linalg.inv(Xr.T @ Xr + lam * np.eye(X.shape[1])) @ Xr.T @ np.asarray(r, float)


def fold_dual(X, m, r, lam):
    Xr = _xr(X, m)
    return Xr.T @ np.linalg.solve(Xr @ Xr.T + lam * np.eye(len(m)), np.asarray(r, float))


def fold_least_squares(X, m, r, lam):
    return np.linalg.lstsq(_xr(X, m), np.asarray(r, float), rcond=None)[0]


def fold_all_rows(X, m, r, lam):
    y = np.zeros(X.shape[0])
    y[m] = r
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)


def fold_half_lam(X, m, r, lam):
    return fold_ok(X, m, r, lam / 2)


def fold_column(X, m, r, lam):
    return fold_ok(X, m, r, lam)[:, None]


def fold_lam_everywhere(X, m, r, lam):
    Xr = _xr(X, m)
    k = X.shape[1]
    return np.linalg.solve(Xr.T @ Xr + lam * np.ones((k, k)), Xr.T @ np.asarray(r, float))


# ============================================================ 09: precision@k, NDCG@k
def _removed(s, tm, value=-np.inf):
    s = np.asarray(s, float).copy()
    s[np.asarray(tm, int)] = value
    return s


def _top(s, tm, k, value=-np.inf):
    return np.argsort(-_removed(s, tm, value), kind="stable")[:k]


def _disc(k):
    return 1.0 / np.log2(np.arange(1, k + 1) + 1)


def prec_ok(s, tm, rel, k):
    return np.isin(_top(s, tm, k), rel).sum() / k


def prec_reversed_argsort(s, tm, rel, k):
    return float(np.isin(np.argsort(_removed(s, tm))[::-1][:k], rel).mean())


def prec_list_length(s, tm, rel, k):
    ids = np.setdiff1d(np.arange(len(s)), tm)
    return float(np.isin(ids[np.argsort(-np.asarray(s)[ids], kind="stable")[:k]], rel).mean())


def ndcg_reversed_argsort(s, tm, rel, k):
    return _ndcg(np.isin(np.argsort(_removed(s, tm))[::-1][:k], rel), rel, k)


def ndcg_ideal_of_hits(s, tm, rel, k):
    hits = np.isin(_top(s, tm, k), rel)
    return (hits * _disc(k)).sum() / _disc(k)[:hits.sum()].sum()


def prec_setdiff(s, tm, rel, k):
    ids = np.setdiff1d(np.arange(len(s)), tm)
    return np.isin(ids[np.argsort(-np.asarray(s)[ids], kind="stable")[:k]], rel).sum() / k


def prec_train_kept(s, tm, rel, k):
    return np.isin(np.argsort(-np.asarray(s, float), kind="stable")[:k], rel).sum() / k


def prec_ascending(s, tm, rel, k):
    return np.isin(np.argsort(_removed(s, tm, np.inf), kind="stable")[:k], rel).sum() / k


def prec_recall(s, tm, rel, k):
    return np.isin(_top(s, tm, k), rel).sum() / len(rel)


def prec_k_plus_one(s, tm, rel, k):
    return np.isin(_top(s, tm, k + 1), rel).sum() / k


def prec_floor_division(s, tm, rel, k):
    return np.isin(_top(s, tm, k), rel).sum() // k


def prec_train_zero(s, tm, rel, k):
    return np.isin(_top(s, tm, k, 0.0), rel).sum() / k


def prec_in_place(s, tm, rel, k):
    s[np.asarray(tm, int)] = -np.inf
    return np.isin(np.argsort(-s, kind="stable")[:k], rel).sum() / k


def prec_np_delete(s, tm, rel, k):
    return np.isin(np.argsort(-np.delete(np.asarray(s), tm), kind="stable")[:k], rel).sum() / k


def _ndcg(hits, rel, k, disc=None):
    d = _disc(k) if disc is None else disc
    return (hits * d).sum() / d[:min(k, len(rel))].sum()


def ndcg_ok(s, tm, rel, k):
    return _ndcg(np.isin(_top(s, tm, k), rel), rel, k)


def ndcg_loop(s, tm, rel, k):
    rels = set(np.asarray(rel).tolist())
    dcg = sum(1 / np.log2(i + 2) for i, m in enumerate(_top(s, tm, k)) if m in rels)
    return dcg / sum(1 / np.log2(i + 2) for i in range(min(k, len(rels))))


def ndcg_natural_log(s, tm, rel, k):  # the base of the log cancels in DCG / IDCG
    return _ndcg(np.isin(_top(s, tm, k), rel), rel, k, 1.0 / np.log(np.arange(1, k + 1) + 1))


def ndcg_discount_off_by_one(s, tm, rel, k):
    return _ndcg(np.isin(_top(s, tm, k), rel), rel, k, 1.0 / np.log2(np.arange(2, k + 2) + 1))


def ndcg_no_idcg(s, tm, rel, k):
    return (np.isin(_top(s, tm, k), rel) * _disc(k)).sum()


def ndcg_idcg_of_k(s, tm, rel, k):
    return (np.isin(_top(s, tm, k), rel) * _disc(k)).sum() / _disc(k).sum()


def ndcg_train_kept(s, tm, rel, k):
    return _ndcg(np.isin(np.argsort(-np.asarray(s, float), kind="stable")[:k], rel), rel, k)


def ndcg_train_zero(s, tm, rel, k):
    return _ndcg(np.isin(_top(s, tm, k, 0.0), rel), rel, k)


def ndcg_np_delete(s, tm, rel, k):
    return _ndcg(np.isin(np.argsort(-np.delete(np.asarray(s), tm), kind="stable")[:k], rel), rel, k)


# ============================================================ 10: implicit row
def _implicit(X, m, c, lam, *, conf=None, gram=True, rhs=None, ridge=True):
    XN = X[m]
    A = (X.T @ X if gram else 0.0) + XN.T @ ((c - 1 if conf is None else conf)[:, None] * XN)
    A = A + (lam * np.eye(X.shape[1]) if ridge else 0.0)
    return np.linalg.solve(A, XN.T @ (c if rhs is None else rhs))


def implicit_ok(X, m, c, lam):
    return _implicit(X, m, c, lam)


def implicit_dense(X, m, c, lam):
    C, p = np.ones(X.shape[0]), np.zeros(X.shape[0])
    C[m], p[m] = c, 1.0
    return np.linalg.solve(X.T @ (C[:, None] * X) + lam * np.eye(X.shape[1]), X.T @ (C * p))


def implicit_inv(X, m, c, lam):
    XN = X[m]
    A = X.T @ X + XN.T @ ((c - 1)[:, None] * XN) + lam * np.eye(X.shape[1])
    return np.linalg.inv(A) @ (XN.T @ c)


def implicit_c_not_minus_one(X, m, c, lam):
    return _implicit(X, m, c, lam, conf=c)


def implicit_no_gram(X, m, c, lam):
    return _implicit(X, m, c, lam, conf=c, gram=False)


def implicit_rhs_ones(X, m, c, lam):
    return _implicit(X, m, c, lam, rhs=np.ones(len(m)))


def implicit_no_lam(X, m, c, lam):
    return _implicit(X, m, c, lam, ridge=False)


def implicit_c_in_place(X, m, c, lam):
    c -= 1
    return _implicit(X, m, c + 1, lam)


def implicit_list(X, m, c, lam):
    return _implicit(X, m, c, lam).tolist()


# ============================================================ 11: Gibbs row draw
def _ab(F, t, alpha, mu, lam):
    return alpha * F.T @ F + np.diag(lam), alpha * F.T @ t + lam * mu


def sample_ok(F, t, alpha, mu, lam, rng):
    A, b = _ab(F, t, alpha, mu, lam)
    L = np.linalg.cholesky(A)
    return np.linalg.solve(A, b) + np.linalg.solve(L.T, rng.standard_normal(mu.size))


def sample_multivariate_normal(F, t, alpha, mu, lam, rng):
    A, b = _ab(F, t, alpha, mu, lam)
    return rng.multivariate_normal(np.linalg.solve(A, b), np.linalg.inv(A))


def sample_scipy(F, t, alpha, mu, lam, rng):
    import scipy.linalg

    A, b = _ab(F, t, alpha, mu, lam)
    L = np.linalg.cholesky(A)
    z = rng.normal(size=mu.size)
    return scipy.linalg.cho_solve((L, True), b) + scipy.linalg.solve_triangular(L.T, z, lower=False)


def sample_times_l(F, t, alpha, mu, lam, rng):
    A, b = _ab(F, t, alpha, mu, lam)
    return np.linalg.solve(A, b) + np.linalg.cholesky(A) @ rng.standard_normal(mu.size)


def sample_l_not_transposed(F, t, alpha, mu, lam, rng):
    A, b = _ab(F, t, alpha, mu, lam)
    return np.linalg.solve(A, b) + np.linalg.solve(np.linalg.cholesky(A), rng.standard_normal(mu.size))


def sample_np_random(F, t, alpha, mu, lam, rng):
    A, b = _ab(F, t, alpha, mu, lam)
    L = np.linalg.cholesky(A)
    return np.linalg.solve(A, b) + np.linalg.solve(L.T, np.random.standard_normal(mu.size))


def sample_mean_only(F, t, alpha, mu, lam, rng):
    A, b = _ab(F, t, alpha, mu, lam)
    return np.linalg.solve(A, b)


def sample_no_prior_mean(F, t, alpha, mu, lam, rng):
    return sample_ok(F, t, alpha, np.zeros_like(mu), lam, rng)


def sample_no_tau(F, t, tau, nu, lam, rng):
    return sample_ok(F, t, 1.0, nu, lam, rng)


def sample_column(F, t, alpha, mu, lam, rng):
    return sample_ok(F, t, alpha, mu, lam, rng)[:, None]


def sample_nu_in_place(F, t, tau, nu, lam, rng):
    nu *= lam
    A = tau * F.T @ F + np.diag(lam)
    L = np.linalg.cholesky(A)
    return np.linalg.solve(A, tau * F.T @ t + nu) + np.linalg.solve(L.T, rng.standard_normal(nu.size))


def _noise_of_unit_variance(draw):
    def sample(F, t, alpha, mu, lam, rng):
        A, b = _ab(F, t, alpha, mu, lam)
        return np.linalg.solve(A, b) + np.linalg.solve(np.linalg.cholesky(A).T, draw(rng, mu.size))
    return sample


sample_uniform_noise = _noise_of_unit_variance(lambda rng, d: (rng.random(d) - 0.5) * np.sqrt(12.0))
sample_uniform_noise.__name__ = "sample_uniform_noise"
sample_rademacher_noise = _noise_of_unit_variance(lambda rng, d: rng.choice([-1.0, 1.0], size=d))
sample_rademacher_noise.__name__ = "sample_rademacher_noise"


def sample_complex(F, t, alpha, mu, lam, rng):
    return sample_ok(F, t, alpha, mu, lam, rng) + 0j


# ============================================================ 12: ALS-WR row penalty
def _counts(rows, n):
    return np.bincount(rows, minlength=n).astype(float)


def penalty_ok(rows, n, rp, k):
    return np.repeat(rp * _counts(rows, n)[:, None], k, axis=1)


def penalty_tile(rows, n, rp, k):
    return np.tile((rp * _counts(rows, n))[:, None], (1, k))


def penalty_unique(rows, n, rp, k):
    P = np.zeros((n, k))
    u, c = np.unique(rows, return_counts=True)
    P[u] = rp * c[:, None]
    return P


def penalty_constant(rows, n, rp, k):
    return np.full((n, k), float(rp))


def penalty_half(rows, n, rp, k):
    return penalty_ok(rows, n, rp / 2, k)


def penalty_doubled(rows, n, rp, k):
    return penalty_ok(rows, n, 2 * rp, k)


def penalty_one_d(rows, n, rp, k):
    return rp * _counts(rows, n)


def penalty_transposed(rows, n, rp, k):
    return penalty_ok(rows, n, rp, k).T


def penalty_at_least_one(rows, n, rp, k):
    return np.repeat(rp * np.maximum(_counts(rows, n), 1)[:, None], k, axis=1)


def penalty_int(rows, n, rp, k):
    return penalty_ok(rows, n, rp, k).astype(int)


# ============================================================ more tries, several with a generic diagnosis
def predict_rounded(X, T):
    return np.round(X @ T.T)


def svd_signs_flipped_together(M, k):  # right: a column of X and of Theta negated together
    X, T = svd_ok(M, k)
    X[:, 0] *= -1
    T[:, 0] *= -1
    return X, T


def svd_one_sign_flipped(M, k):
    X, T = svd_ok(M, k)
    X[:, 0] *= -1
    return X, T


def svd_rotated(M, k):  # same product, factors rotated by an orthogonal Q (01 section 5)
    X, T = svd_ok(M, k)
    Q = np.linalg.qr(np.arange(1.0, k * k + 1).reshape(k, k) ** 1.5 + np.eye(k))[0]
    return X @ Q, T @ Q


def svd_uneven_power(M, k):  # Sigma split 0.3 / 0.7: same product, a diagonal mix
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return U[:, :k] * s[:k] ** 0.3, Vt[:k].T * s[:k] ** 0.7


def cost_r_as_weights(X, T, Y, R, lam=0.0):  # wrong once Y holds NaN where R is 0: NaN * 0 is NaN
    return 0.5 * np.sum(R * (X @ T.T - Y) ** 2) + _pen(X, T, lam)


def cost_floor_half(X, T, Y, R, lam=0.0):
    E = np.where(R, X @ T.T - Y, 0.0)
    return 1 // 2 * np.sum(E ** 2) + _pen(X, T, lam)


def numgrad_fixed_eps(f, params, eps=1e-5):
    return _numgrad(f, params, 1e-2)


def step_lr_on_x_only(X, T, Y, R, lam, lr):
    Xg, Tg = cflib.gradient(X, T, Y, R, lam)
    return X - lr * Xg, T - Tg


def rmse_rounded(p, a):
    return round(rmse_ok(p, a), 4)


def fold_n_lam(X, m, r, lam):  # the ALS-WR penalty of notebook 12 in the fold-in of notebook 07
    return fold_ok(X, m, r, len(m) * lam)


def step_lr_lam_swapped(X, T, Y, R, lam, lr):
    return step_ok(X, T, Y, R, lr, lam)


def step_half_lam(X, T, Y, R, lam, lr):
    return step_ok(X, T, Y, R, lam / 2, lr)


def numgrad_eps_1e3(f, params, eps=1e-5):
    return _numgrad(f, params, 1e-3)


def numgrad_eps_1e5(f, params, eps=1e-5):
    return _numgrad(f, params, 1e-5)


def rmse_floor_division(p, a):
    e = _d(p, a)
    return float(np.sqrt(np.sum(e ** 2) // len(e)))


def fold_recentred(X, m, r, lam):
    r = np.asarray(r, float)
    return fold_ok(X, m, r - r.mean(), lam)


def ndcg_ideal_sliced(s, tm, rel, k):  # right: the discount has k entries, so [:len(rel)] is capped at k
    hits = np.isin(_top(s, tm, k), rel)
    return (hits * _disc(k)).sum() / _disc(k)[:len(rel)].sum()


def implicit_rhs_c_minus_one(X, m, c, lam):
    return _implicit(X, m, c, lam, rhs=c - 1)


def sample_als_matrix(F, t, alpha, mu, lam, rng):
    A = F.T @ F + np.diag(lam / alpha)
    L = np.linalg.cholesky(A)
    return np.linalg.solve(A, F.T @ t + lam / alpha * mu) + np.linalg.solve(L.T, rng.standard_normal(mu.size))


def penalty_total_count(rows, n, rp, k):
    return np.full((n, k), rp * len(rows), dtype=float)


def penalty_sqrt_count(rows, n, rp, k):
    return np.repeat(rp * np.sqrt(_counts(rows, n))[:, None], k, axis=1)


# ============================================================ complex and text results (refused, never read)
def _complex(fn):
    def f(*a):
        out = fn(*a)
        return tuple(np.asarray(o) + 0j for o in out) if isinstance(out, tuple) else np.asarray(out) + 0j
    f.__name__ = f"{fn.__name__}_complex"
    return f


def _text(fn):
    def f(*a):
        return str(fn(*a))
    f.__name__ = f"{fn.__name__}_text"
    return f


_COMPLEX, _TEXT = "returned a complex result instead of", "returned text ("
REFUSED = [
    ("check_cost", _complex(cost_ok), _COMPLEX), ("check_cost", _text(cost_ok), _TEXT),
    ("check_rmse", _complex(rmse_ok), _COMPLEX), ("check_rmse", _text(rmse_ok), _TEXT),
    ("check_analytic_gradient", _complex(grad_ok), _COMPLEX),
    ("check_ndcg_at_k", _complex(ndcg_ok), _COMPLEX), ("check_ndcg_at_k", _text(ndcg_ok), _TEXT),
    ("check_sample_row", sample_complex, _COMPLEX), ("check_sample_row", _text(sample_ok), _TEXT),
    ("check_row_penalty", _complex(penalty_ok), _COMPLEX),
    ("check_fold_in", _complex(fold_ok), _COMPLEX), ("check_fold_in", _text(fold_ok), _TEXT),
    ("check_to_dense", _complex(dense_ok), _COMPLEX),
    ("check_predict", _complex(predict_einsum), _COMPLEX),
    ("check_implicit_row", _complex(implicit_ok), _COMPLEX), ("check_implicit_row", _text(implicit_ok), _TEXT),
]


# ============================================================ the tables
MISTAKES = [
    # 00
    ("check_to_dense", dense_users_by_movies, "Y has shape (4, 3), expected (3, 4)"),
    ("check_to_dense", dense_one_based, "Y has shape (3, 5), expected (3, 4)"),
    ("check_to_dense", dense_int_r, "R with dtype int64 instead of bool"),
    ("check_to_dense", dense_lists, "returned a Python list, not a NumPy array, for Y:"),
    ("check_to_dense", dense_r_from_y, "R is computed from the values of Y (as Y > 0 or Y >= 1 would be): a centred rating of 0.0"),
    ("check_to_dense", dense_r_not_zero, "R is computed from Y as Y != 0: a centred rating of 0.0 is a rating too"),
    ("check_movie_means", means_y_positive, "averages the entries where Y > 0, not where R is 1"),
    ("check_movie_means", means_median, "is each movie's median rating, not its mean"),
    ("check_movie_means", means_axis0, "has shape (2,), expected (3,)"),
    ("check_movie_means", means_unmasked, "is Y.mean(axis=1)"),
    ("check_movie_means", means_zero_for_unrated, "gives 0 to a movie with no ratings instead of nan"),
    ("check_movie_means", means_nan_in_place, "changed its argument Y in place"),
    ("check_movie_means", means_floor_division, "has the fractions of the right values cut off"),
    ("check_movie_means", means_column, "has shape (3, 1), expected (3,)"),
    # 01
    ("check_predict", predict_transposed, "the result is transposed"),
    ("check_predict", predict_list, "returned a Python list, not a NumPy array, for the prediction matrix"),
    ("check_truncated_svd", svd_s_on_both, "by s instead of sqrt(s)"),
    ("check_truncated_svd", svd_vt_not_transposed, "Theta is transposed"),
    ("check_truncated_svd", svd_k_plus_one, "X has shape (8, 3), expected (8, 2)"),
    ("check_truncated_svd", svd_smallest, "keeps the k smallest singular values"),
    ("check_truncated_svd", svd_rotated, "X @ Theta.T is right (the best rank-k approximation, on a random 8x5 matrix "
                                         "with k=2), but the factors are a rotation (or reflection) A"),
    ("check_truncated_svd", svd_uneven_power, "but the factors are another mix A of the SVD's factors"),
    ("check_truncated_svd", svd_all_sigma_in_x, "splits Sigma_k unevenly: all of it is in X"),
    # 02
    ("check_cost", cost_no_half, "exactly twice the right value"),
    ("check_cost", cost_no_theta_penalty, "regularizes X only"),
    ("check_cost", cost_mean, "averages the squared errors instead of summing them"),
    ("check_cost", cost_loop_off_by_one, "expected 76.9822, got 62.4252"),
    ("check_cost", cost_y_in_place, "changed its argument Y in place"),
    ("check_cost", cost_square_of_sum, "right for lam = 0 but wrong for lam > 0"),
    ("check_cost", cost_one_element_array, "returned an array of shape (1,) instead of the cost (one number)"),
    ("check_cost_sparse", cost_sparse_swapped, "indexes X with users and Theta with movies"),
    ("check_cost_sparse", cost_sparse_gathered_penalty, "over all rows of X and Theta"),
    ("check_cost_sparse", cost_sparse_no_half, "misses the 1/2 in front of the squared errors"),
    ("check_cost", cost_times_r, "Y holds NaN where R is 0: NaN * 0 is NaN"),
    ("check_cost", cost_r_as_weights, "Y holds NaN where R is 0: NaN * 0 is NaN"),
    ("check_cost", cost_k_hard_coded, "differs from cflib.cost on a random 9x13 problem with k=5 and lam=0"),
    ("check_cost_sparse", cost_sparse_diag, "builds an n_ratings x n_ratings matrix, (100000, 100000) here"),
    # 03
    ("check_analytic_gradient", grad_swapped, "the two results are swapped"),
    ("check_analytic_gradient", grad_no_mask, "the mask R is not applied"),
    ("check_analytic_gradient", grad_half_lam, "uses lam/2 where the derivative"),
    ("check_analytic_gradient", grad_no_theta_penalty, "X_grad is right, but Theta_grad misses its regularization"),
    ("check_analytic_gradient", grad_error_sign, "errors with the wrong sign"),
    ("check_analytic_gradient", grad_flat, "returned one value (one array of shape (10,))"),
    ("check_gradient_sparse", grad_sparse_fancy_add, "loses repeated indices"),
    ("check_gradient_sparse", grad_sparse_diag, "builds an n_ratings x n_ratings matrix, (100000, 100000) here"),
    ("check_analytic_gradient", grad_times_r, "Y holds NaN where R is 0: NaN * 0 is NaN"),
    ("check_gradient_sparse", grad_sparse_overwrites_x, "changed its argument X in place"),
    ("check_user_gradient", user_grad_no_mask, "the mask R[:, j] is not applied"),
    ("check_user_gradient", user_grad_x_penalty, "right for lam = 0 but wrong for lam > 0"),
    ("check_user_gradient", user_grad_row_vector, "theta_grad has shape (1, 2), expected (2,)"),
    ("check_user_gradient", user_grad_j_minus_one, "gradient of user j - 1, an off-by-one"),
    # 04
    ("check_numerical_gradient", numgrad_shared_array, "half the right value (at X[3, 2]"),
    ("check_numerical_gradient", numgrad_no_reset, "leaves each entry perturbed"),
    ("check_numerical_gradient", numgrad_over_eps, "exactly twice the right value"),
    ("check_numerical_gradient", numgrad_in_place, "changed its argument params in place"),
    ("check_numerical_gradient", numgrad_first_only, "returned 1 arrays for 2 arrays in params"),
    ("check_numerical_gradient", numgrad_forward, "one-sided difference"),
    ("check_numerical_gradient", numgrad_flat, "returned one array instead of a tuple"),
    ("check_buggy_gradient", bug_none_planted, "your gradient is the correct gradient: it agrees with cflib.gradient"),
    # 05
    ("check_gradient_descent_step", step_sequential, "computed from the already updated other matrix"),
    ("check_gradient_descent_step", step_uphill, "moves uphill"),
    ("check_gradient_descent_step", step_in_place, "changed its argument X in place"),
    ("check_gradient_descent_step", step_returns_steps, "at X_new[0, 1] expected 2.1, got -0.1"),
    ("check_gradient_descent_step", step_no_lam, "each ignores lam"),
    ("check_normalize", norm_unrated_not_zero, "Y_norm is not 0 where R is 0"),
    ("check_normalize", norm_zero_fallback, "gives a movie with no ratings 0 instead of the global mean"),
    ("check_normalize", norm_mean_of_means_fallback, "the rule: a movie nobody rated gets the global mean"),
    ("check_normalize", norm_user_means, "movie_mean has shape (2,), expected (3,)"),
    ("check_normalize", norm_in_place, "changed its argument Y in place"),
    ("check_normalize", norm_unmasked_mean, "Y.mean(axis=1), the unrated ones included"),
    ("check_normalize", norm_swapped_outputs, "Y_norm has shape (3,), expected (3, 2)"),
    ("check_normalize", norm_unmasked_numerator, "Y_norm and movie_mean each adds up Y where R is 0 too"),
    ("check_movie_means", means_unmasked_numerator, "the numerator is not masked"),
    # 06
    ("check_rmse", rmse_no_sqrt, "the square root is missing"),
    ("check_rmse", rmse_mae, "is the mean absolute error"),
    ("check_rmse", rmse_sum, "takes the root of the sum, not of the mean"),
    ("check_rmse", rmse_n_minus_one, "divides by n - 1"),
    ("check_rmse", rmse_difference_of_means, "expected 0.612372, got 0.25"),
    # 07
    ("check_fold_in", fold_least_squares, "theta ignores lam"),
    ("check_fold_in", fold_all_rows, "use only the rated movies' rows"),
    ("check_fold_in", fold_half_lam, "uses lam/2 where the normal equations have lam"),
    ("check_fold_in", fold_column, "theta has shape (2, 1), expected (2,)"),
    ("check_fold_in", fold_lam_everywhere, "not only to its diagonal"),
    # 09
    ("check_precision_at_k", prec_train_kept, "counts the movies rated in train"),
    ("check_precision_at_k", prec_ascending, "from the lowest score up"),
    ("check_precision_at_k", prec_recall, "that is recall@k"),
    ("check_precision_at_k", prec_k_plus_one, "first k + 1 movies"),
    ("check_precision_at_k", prec_floor_division, "has the fractions of the right values cut off"),
    ("check_precision_at_k", prec_train_zero, "a score of 0 instead of -inf"),
    ("check_precision_at_k", prec_in_place, "changed its argument scores in place"),
    ("check_precision_at_k", prec_np_delete, "ranks np.delete(scores, train_movies)"),
    ("check_precision_at_k", prec_reversed_argsort, "breaks a tie by the higher movie index"),
    ("check_precision_at_k", prec_list_length, "divides the hits by the length of the list, not by k"),
    ("check_ndcg_at_k", ndcg_reversed_argsort, "breaks a tie by the higher movie index"),
    ("check_ndcg_at_k", ndcg_ideal_of_hits, "Or an ideal DCG of 0 (0 / 0 = NaN), built from the list's own hits"),
    ("check_ndcg_at_k", ndcg_discount_off_by_one, "uses log2(r + 2) for the 1-based rank r"),
    ("check_ndcg_at_k", ndcg_no_idcg, "without the normalization by the ideal DCG"),
    ("check_ndcg_at_k", ndcg_idcg_of_k, "ideal DCG of k hits instead of min(k, |relevant|)"),
    ("check_ndcg_at_k", ndcg_train_kept, "counts the movies rated in train"),
    ("check_ndcg_at_k", ndcg_train_zero, "a score of 0 instead of -inf"),
    ("check_ndcg_at_k", ndcg_np_delete, "ranks np.delete(scores, train_movies)"),
    # 10
    ("check_implicit_row", implicit_c_not_minus_one, "uses C instead of C - I"),
    ("check_implicit_row", implicit_no_gram, "leaves out X^T X"),
    ("check_implicit_row", implicit_rhs_ones, "no confidence on the right-hand side"),
    ("check_implicit_row", implicit_no_lam, "forgets lam on the diagonal"),
    ("check_implicit_row", implicit_c_in_place, "changed its argument c in place"),
    ("check_implicit_row", implicit_list, "returned a Python list, not a NumPy array, for theta"),
    # 11
    ("check_sample_row", sample_times_l, "is the precision A, not its inverse"),
    ("check_sample_row", sample_l_not_transposed, "the Cholesky factor is transposed"),
    ("check_sample_row", sample_np_random, "drew other numbers from a new generator with the same seed"),
    ("check_sample_row", sample_mean_only, "returns the mean without any noise"),
    ("check_sample_row", sample_no_prior_mean, "ignores the prior mean nu"),
    ("check_sample_row", sample_no_tau, "the noise precision tau is missing"),
    ("check_sample_row", sample_column, "shape (3, 1) instead of one draw w of shape (3,)"),
    ("check_sample_row", sample_nu_in_place, "changed its argument nu in place"),
    ("check_sample_row", sample_uniform_noise, "the distribution of your draws is not Gaussian"),
    ("check_sample_row", sample_rademacher_noise, "the distribution of your draws is not Gaussian"),
    # 12
    ("check_row_penalty", penalty_constant, "the number of ratings n_r is missing"),
    ("check_row_penalty", penalty_half, "P is half the right value"),
    ("check_row_penalty", penalty_doubled, "P is twice the right value"),
    ("check_row_penalty", penalty_one_d, "P has shape (3,), expected (3, 2)"),
    ("check_row_penalty", penalty_transposed, "P is transposed"),
    ("check_row_penalty", penalty_at_least_one, "at P[1, 0] expected 0, got 0.5"),
    ("check_row_penalty", penalty_int, "has the fractions of the right values cut off"),
    # more tries: a specific diagnosis where there is one, else the first differing entry
    ("check_predict", predict_rounded, "at entry [1, 1] expected -2.5, got -2"),
    ("check_truncated_svd", svd_one_sign_flipped, "X is right, but Theta has column 0 with the opposite sign to X's"),
    ("check_cost", cost_floor_half, "expected 30.125, got 0"),
    ("check_numerical_gradient", numgrad_fixed_eps, "ignores the eps it is given: it uses a step of its own, 0.01"),
    ("check_numerical_gradient", numgrad_eps_1e3, "ignores the eps it is given: it uses a step of its own, 0.001"),
    ("check_numerical_gradient", numgrad_eps_1e5, "ignores the eps it is given: it uses a step of its own, 1e-05"),
    ("check_rmse", rmse_rounded, "is rounded to 4 decimals"),
    ("check_fold_in", fold_n_lam, "multiplies lam by the number of ratings n_r"),
    ("check_gradient_descent_step", step_lr_lam_swapped, "swaps lr and lam"),
    ("check_gradient_descent_step", step_half_lam, "uses lam/2 where the gradient has lam * X"),
    ("check_gradient_descent_step", step_lr_on_x_only, "X_new is right, but Theta_new ignores lr"),
    ("check_rmse", rmse_floor_division, "expected 0.612372, got 0"),
    ("check_fold_in", fold_recentred, "at theta[0] expected -0.567654, got -0.113401"),
    ("check_implicit_row", implicit_rhs_c_minus_one, "at theta[1] expected 0.663522, got 0.609374"),
    ("check_sample_row", sample_als_matrix, "the covariance of your draws differs from cflib.gibbs.sample_row"),
    ("check_row_penalty", penalty_total_count, "the total number of ratings for every row"),
    ("check_row_penalty", penalty_sqrt_count, "at P[2, 0] expected 1.5, got 0.866025"),
    *REFUSED,
]

RIGHT = [
    ("check_to_dense", dense_ok), ("check_to_dense", dense_loop),
    ("check_movie_means", means_ok), ("check_movie_means", means_nanmean),
    ("check_predict", predict_einsum),
    ("check_truncated_svd", svd_ok), ("check_truncated_svd", svd_eigh),
    ("check_cost", cost_ok), ("check_cost", cost_boolean_index),
    ("check_cost", cost_loop_ok), ("check_cost", cost_zero_dim_array),
    ("check_cost_sparse", cost_sparse_ok), ("check_cost_sparse", cost_sparse_dense),
    ("check_analytic_gradient", grad_ok),
    ("check_analytic_gradient", grad_loop), ("check_analytic_gradient", grad_list),
    ("check_gradient_sparse", grad_sparse_add_at), ("check_gradient_sparse", grad_sparse_bincount),
    ("check_user_gradient", user_grad_ok),
    ("check_numerical_gradient", numgrad_ok), ("check_numerical_gradient", numgrad_list),
    ("check_buggy_gradient", bug_ok),
    ("check_gradient_descent_step", step_ok), ("check_gradient_descent_step", step_written_out),
    ("check_normalize", norm_ok), ("check_normalize", norm_times_r),
    ("check_rmse", rmse_ok), ("check_rmse", rmse_numpy_float), ("check_rmse", rmse_norm),
    ("check_fold_in", fold_ok), ("check_fold_in", fold_inv), ("check_fold_in", fold_dual),
    ("check_precision_at_k", prec_ok),
    ("check_precision_at_k", prec_setdiff),
    ("check_ndcg_at_k", ndcg_ok), ("check_ndcg_at_k", ndcg_loop), ("check_ndcg_at_k", ndcg_natural_log),
    ("check_implicit_row", implicit_ok), ("check_implicit_row", implicit_dense), ("check_implicit_row", implicit_inv),
    ("check_sample_row", sample_ok), ("check_sample_row", sample_multivariate_normal),
    ("check_sample_row", sample_scipy),
    ("check_row_penalty", penalty_ok), ("check_row_penalty", penalty_tile), ("check_row_penalty", penalty_unique),
    ("check_truncated_svd", svd_signs_flipped_together),
    ("check_ndcg_at_k", ndcg_ideal_sliced),
]


# ============================================================ a second learner's pass (2026-12), all notebooks
# Each wrong try either had a diagnosis already, or was added to the checks because it passed or was
# misdiagnosed: NaN placeholders in the user gradient, np.argsort's default sort and np.argpartition on tied
# scores, train movies given scores.min(), movies sorted apart from c in the implicit row, (R, Y) returned
# swapped, a Theta column flipped alone, Theta without its sqrt(s), NaN in Y_norm where R is 0. The phrase is
# the start of each line's diagnosis. float32 results are left out: they PASS with a note (the float32 policy).
def _n_svd(M): return np.linalg.svd(M, full_matrices=False)


def dense_swapped_outputs(m,u,rt,nm,nu):
    Y,R = dense_ok(m,u,rt,nm,nu); return R, Y


def dense_y_ones(m,u,rt,nm,nu):
    Y,R = dense_ok(m,u,rt,nm,nu); return R.astype(float), R


def dense_nan_unrated(m,u,rt,nm,nu):
    Y,R = dense_ok(m,u,rt,nm,nu); return np.where(R,Y,np.nan), R


def dense_shape_from_max(m,u,rt,nm,nu):
    return dense_ok(m,u,rt,m.max()+1,u.max()+1)


def dense_sorted_movies(m,u,rt,nm,nu):
    return dense_ok(np.sort(m),u,rt,nm,nu)


def dense_add_at(m,u,rt,nm,nu):
    Y=np.zeros((nm,nu)); np.add.at(Y,(m,u),rt); R=np.zeros((nm,nu),bool); R[m,u]=True; return Y,R


def dense_scipy(m,u,rt,nm,nu):
    import scipy.sparse as sp
    Y = sp.coo_matrix((rt,(m,u)),shape=(nm,nu)).toarray()
    R = sp.coo_matrix((np.ones(len(rt),bool),(m,u)),shape=(nm,nu)).toarray().astype(bool)
    return Y,R


def dense_flat_index(m,u,rt,nm,nu):
    Y=np.zeros(nm*nu); Y[np.ravel_multi_index((m,u),(nm,nu))]=rt
    R=np.zeros(nm*nu,bool); R[m*nu+u]=True
    return Y.reshape(nm,nu), R.reshape(nm,nu)


def means_masked_array_unfilled(Y,R):
    return np.ma.masked_array(Y, ~R.astype(bool)).mean(axis=1)


def means_count_y_nonzero(Y,R):
    with np.errstate(all="ignore"):
        return np.where(R,Y,0).sum(1)/(Y!=0).sum(1)


def means_global(Y,R):
    return np.full(Y.shape[0], np.where(R,Y,0).sum()/R.sum())


def means_list(Y,R):
    return list(means_ok(Y,R))


def means_drop_empty(Y,R):
    m = means_ok(Y,R); return m[~np.isnan(m)]


def means_nanmean_y_zero_nan(Y,R):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Z = np.where(Y==0, np.nan, Y); return np.nanmean(Z, axis=1)


def means_masked_filled(Y,R):
    return np.ma.masked_array(Y, ~np.asarray(R,bool)).mean(axis=1).filled(np.nan)


def means_einsum(Y,R):
    R=np.asarray(R,float); c=R.sum(1)
    with np.errstate(all="ignore"):
        return np.einsum("ij,ij->i", np.where(R>0,Y,0), R)/np.where(c>0,c,np.nan)


def means_loop(Y,R):
    out=np.full(Y.shape[0],np.nan)
    for i in range(Y.shape[0]):
        if R[i].any(): out[i]=Y[i][R[i]].mean()
    return out


def predict_clipped(X,T): return np.clip(X@T.T,1,5)


def predict_k2(X,T): return X[:, :2] @ T[:, :2].T


def predict_outer_sums(X,T): return np.outer(X.sum(1), T.sum(1))


def predict_abs(X,T): return np.abs(X@T.T)


def predict_theta_x(X,T): return (T@X.T).T if X.shape[0]!=T.shape[0] else T@X.T


def predict_broadcast(X,T): return (X[:,None,:]*T[None,:,:]).sum(-1)


def predict_dot_transposed(X,T): return np.dot(T, X.T).T


def svd_independent_signs(M,k):
    w1,U = np.linalg.eigh(M@M.T); w2,V = np.linalg.eigh(M.T@M)
    i1=np.argsort(w1)[::-1][:k]; i2=np.argsort(w2)[::-1][:k]
    s=np.sqrt(np.maximum(w1[i1],0)); return U[:,i1]*np.sqrt(s), V[:,i2]*np.sqrt(s)


def svd_half_on_x_only(M,k):
    U,s,Vt=_n_svd(M); return U[:,:k]*np.sqrt(s[:k]), Vt[:k].T


def svd_squared_root_twice(M,k):
    U,s,Vt=_n_svd(M); return U[:,:k]*s[:k]**0.25, Vt[:k].T*s[:k]**0.25


def svd_k_minus_one_padded(M,k):
    U,s,Vt=_n_svd(M); s=s.copy(); s[k-1]=0; return U[:,:k]*np.sqrt(s[:k]), Vt[:k].T*np.sqrt(s[:k])


def svd_sqrt_mismatched(M,k):
    U,s,Vt=_n_svd(M); return U[:,:k]*np.sqrt(s[:k]), Vt[:k].T*np.sqrt(s[:k][::-1])


def svd_full_matrices(M,k):
    U,s,Vt=np.linalg.svd(M); return U[:,:k]@np.diag(np.sqrt(s[:k])), (np.diag(np.sqrt(s[:k]))@Vt[:k]).T


def svd_scipy_svds(M,k):
    from scipy.sparse.linalg import svds
    if k >= min(M.shape):
        return svd_ok(M,k)
    U,s,Vt=svds(M,k=k); return U*np.sqrt(s), Vt.T*np.sqrt(s)


def svd_of_transpose(M,k):
    U,s,Vt=_n_svd(M.T); return Vt[:k].T*np.sqrt(s[:k]), U[:,:k]*np.sqrt(s[:k])  # right actually


def _n_err(X,Th,Y,R): return np.where(R, X@Th.T - Y, 0.0)


def _n_serr(X,Th,m,u,r): return np.sum(X[m]*Th[u],axis=1)-r


def _n_grad(X,Th,Y,R,lam):
    e=_n_err(X,Th,Y,R); return e@Th+lam*X, e.T@X+lam*Th


def cost_penalty_no_half(X,Th,Y,R,lam=0.0):
    return 0.5*np.sum(_n_err(X,Th,Y,R)**2) + lam*(np.sum(X**2)+np.sum(Th**2))


def cost_norm_not_squared(X,Th,Y,R,lam=0.0):
    return 0.5*np.sum(_n_err(X,Th,Y,R)**2) + 0.5*lam*(np.linalg.norm(X)+np.linalg.norm(Th))


def cost_nansum_unmasked(X,Th,Y,R,lam=0.0):
    return 0.5*np.nansum((X@Th.T-Y)**2) + 0.5*lam*(np.sum(X**2)+np.sum(Th**2))


def cost_loop_penalty_inside(X,Th,Y,R,lam=0.0):
    J=0.0
    for i in range(X.shape[0]):
        J += 0.5*lam*np.sum(X[i]**2)
        for j in range(Th.shape[0]):
            if R[i,j]: J += 0.5*(X[i]@Th[j]-Y[i,j])**2
            J += 0.5*lam*np.sum(Th[j]**2)
    return J


def cost_loop_shape_swapped(X,Th,Y,R,lam=0.0):
    J=0.0
    nm, nu = Y.shape
    for i in range(min(nm,nu)):
        for j in range(min(nm,nu)):
            if R[i,j]: J += 0.5*(X[i]@Th[j]-Y[i,j])**2
    return J + 0.5*lam*(np.sum(X**2)+np.sum(Th**2))


def cost_lam_default_one(X,Th,Y,R,lam=0.0):
    lam = 1.0
    return cost_ok(X,Th,Y,R,lam)


def cost_only_rated_rows_penalty(X,Th,Y,R,lam=0.0):
    R=np.asarray(R,bool)
    return 0.5*np.sum(_n_err(X,Th,Y,R)**2)+0.5*lam*(np.sum(X[R.any(1)]**2)+np.sum(Th[R.any(0)]**2))


def cost_1x1(X,Th,Y,R,lam=0.0):
    return np.array([[cost_ok(X,Th,Y,R,lam)]])


def cost_list(X,Th,Y,R,lam=0.0):
    return [cost_ok(X,Th,Y,R,lam)]


def cost_abs(X,Th,Y,R,lam=0.0):
    return 0.5*np.sum(np.abs(_n_err(X,Th,Y,R)))+0.5*lam*(np.sum(X**2)+np.sum(Th**2))


def cost_int_cast(X,Th,Y,R,lam=0.0):
    return int(cost_ok(X,Th,Y,R,lam))


def cost_nansum_masked(X,Th,Y,R,lam=0.0):
    return 0.5*np.nansum(np.where(R, X@Th.T-Y, np.nan)**2)+0.5*lam*(np.sum(X**2)+np.sum(Th**2))


def cost_frobenius(X,Th,Y,R,lam=0.0):
    return 0.5*np.linalg.norm(_n_err(X,Th,Y,R))**2+0.5*lam*(np.linalg.norm(X)**2+np.linalg.norm(Th)**2)


def cost_vdot(X,Th,Y,R,lam=0.0):
    e=_n_err(X,Th,Y,R); return float(0.5*np.vdot(e,e)+lam/2*(np.vdot(X,X)+np.vdot(Th,Th)))


def cost_sparse_unique_rows_penalty(X,Th,m,u,r,lam=0.0):
    return 0.5*np.sum(_n_serr(X,Th,m,u,r)**2)+0.5*lam*(np.sum(X[np.unique(m)]**2)+np.sum(Th[np.unique(u)]**2))


def cost_sparse_mean(X,Th,m,u,r,lam=0.0):
    return 0.5*np.mean(_n_serr(X,Th,m,u,r)**2)+0.5*lam*(np.sum(X**2)+np.sum(Th**2))


def cost_sparse_sum_then_square(X,Th,m,u,r,lam=0.0):
    return 0.5*(np.sum(X[m]*Th[u])-np.sum(r))**2+0.5*lam*(np.sum(X**2)+np.sum(Th**2))


def cost_sparse_first_k(X,Th,m,u,r,lam=0.0):
    e = X[m,0]*Th[u,0]+X[m,1]*Th[u,1]-r
    return 0.5*np.sum(e**2)+0.5*lam*(np.sum(X**2)+np.sum(Th**2))


def cost_sparse_sorted(X,Th,m,u,r,lam=0.0):
    return cost_sparse_ok(X,Th,np.sort(m),u,r,lam)


def cost_sparse_einsum(X,Th,m,u,r,lam=0.0):
    e=np.einsum("ij,ij->i",X[m],Th[u])-r; return 0.5*e@e+0.5*lam*(np.sum(X*X)+np.sum(Th*Th))


def cost_sparse_scipy(X,Th,m,u,r,lam=0.0):
    import scipy.sparse as sp
    e = (X[m]*Th[u]).sum(1)-r
    return float(0.5*np.dot(e,e)+0.5*lam*(np.square(X).sum()+np.square(Th).sum()))


def grad_penalty_rated_rows(X,Th,Y,R,lam=0.0):
    R=np.asarray(R,bool); e=_n_err(X,Th,Y,R)
    return e@Th+lam*X*R.any(1)[:,None], e.T@X+lam*Th*R.any(0)[:,None]


def grad_double_lam(X,Th,Y,R,lam=0.0):
    e=_n_err(X,Th,Y,R); return e@Th+2*lam*X, e.T@X+2*lam*Th


def grad_loop_penalty_inside(X,Th,Y,R,lam=0.0):
    Xg=np.zeros_like(X); Tg=np.zeros_like(Th)
    for i in range(X.shape[0]):
        for j in range(Th.shape[0]):
            if R[i,j]:
                e=X[i]@Th[j]-Y[i,j]; Xg[i]+=e*Th[j]+lam*X[i]; Tg[j]+=e*X[i]+lam*Th[j]
    return Xg,Tg


def grad_ignores_lam_default(X,Th,Y,R,lam=0.0):
    return _n_grad(X,Th,Y,R,0.0)


def grad_mean(X,Th,Y,R,lam=0.0):
    e=_n_err(X,Th,Y,R)/max(np.sum(R),1); return e@Th+lam*X, e.T@X+lam*Th


def grad_einsum(X,Th,Y,R,lam=0.0):
    e=np.where(R,np.einsum("ik,jk->ij",X,Th)-Y,0)
    return np.einsum("ij,jk->ik",e,Th)+lam*X, np.einsum("ij,ik->jk",e,X)+lam*Th


def grad_loop_rows(X,Th,Y,R,lam=0.0):
    Xg=lam*X.copy(); Tg=lam*Th.copy(); R=np.asarray(R,bool)
    for i in range(X.shape[0]):
        idx=np.flatnonzero(R[i]); e=Th[idx]@X[i]-Y[i,idx]
        Xg[i]+=e@Th[idx]; np.add.at(Tg, idx, e[:,None]*X[i])
    return Xg,Tg


def gsp_bincount_no_minlength(X,Th,m,u,r,lam=0.0):
    e=_n_serr(X,Th,m,u,r)
    Xg=np.stack([np.bincount(m,e*Th[u,f]) for f in range(X.shape[1])],1)
    Tg=np.stack([np.bincount(u,e*X[m,f]) for f in range(X.shape[1])],1)
    return Xg+lam*X[:len(Xg)] if len(Xg)==len(X) else Xg, Tg+lam*Th if len(Tg)==len(Th) else Tg


def gsp_penalty_rated_rows(X,Th,m,u,r,lam=0.0):
    e=_n_serr(X,Th,m,u,r); Xg=np.zeros_like(X); Tg=np.zeros_like(Th)
    np.add.at(Xg,m,e[:,None]*Th[u]); np.add.at(Tg,u,e[:,None]*X[m])
    np.add.at(Xg,m,0); 
    rm=np.zeros(len(X),bool); rm[m]=True; ru=np.zeros(len(Th),bool); ru[u]=True
    return Xg+lam*X*rm[:,None], Tg+lam*Th*ru[:,None]


def gsp_penalty_per_rating(X,Th,m,u,r,lam=0.0):
    e=_n_serr(X,Th,m,u,r); Xg=np.zeros_like(X); Tg=np.zeros_like(Th)
    np.add.at(Xg,m,e[:,None]*Th[u]+lam*X[m]); np.add.at(Tg,u,e[:,None]*X[m]+lam*Th[u])
    return Xg,Tg


def gsp_updated_x(X,Th,m,u,r,lam=0.0):
    e=_n_serr(X,Th,m,u,r); Xg=np.zeros_like(X); Tg=np.zeros_like(Th)
    np.add.at(Xg,m,e[:,None]*Th[u]); Xg+=lam*X
    Xn = X - Xg
    np.add.at(Tg,u,e[:,None]*Xn[m]); return Xg, Tg+lam*Th


def gsp_scipy(X,Th,m,u,r,lam=0.0):
    import scipy.sparse as sp
    e=_n_serr(X,Th,m,u,r); Es=sp.csr_matrix((e,(m,u)),shape=(len(X),len(Th)))
    return Es@Th+lam*X, Es.T@X+lam*Th


def gsp_loop(X,Th,m,u,r,lam=0.0):
    Xg=lam*X; Tg=lam*Th
    e=_n_serr(X,Th,m,u,r)
    for t in range(len(r)):
        Xg[m[t]]+=e[t]*Th[u[t]]; Tg[u[t]]+=e[t]*X[m[t]]
    return Xg,Tg


def ug_full_theta_penalty_sum(j,X,Th,Y,R,lam=0.0):
    e=np.where(R[:,j],X@Th[j]-Y[:,j],0); return X.T@e+lam*Th.sum(0)


def ug_list(j,X,Th,Y,R,lam=0.0):
    return list(user_grad_ok(j,X,Th,Y,R,lam))


def ug_times_r_nan(j,X,Th,Y,R,lam=0.0):
    e=(X@Th[j]-Y[:,j])*R[:,j]; return X.T@e+lam*Th[j]


def ug_ignore_j_zero(j,X,Th,Y,R,lam=0.0):
    return user_grad_ok(0,X,Th,Y,R,lam)


def ug_full_row(j,X,Th,Y,R,lam=0.0):
    return grad_ok(X,Th,Y,R,lam)[1][j]


def ug_boolean(j,X,Th,Y,R,lam=0.0):
    rated=np.asarray(R[:,j],bool); Xr=X[rated]
    return Xr.T@(Xr@Th[j]-Y[rated,j])+lam*Th[j]


def _n_means(Y,R):
    R=np.asarray(R,bool); c=R.sum(1); s=np.where(R,Y,0).sum(1)
    g=s.sum()/c.sum()
    with np.errstate(all="ignore"):
        m=np.where(c>0,s/np.maximum(c,1),g)
    return m


def ng_whole_row(f, params, eps=1e-5):
    out=[]
    for b,p in enumerate(params):
        g=np.zeros_like(p)
        for i in range(p.shape[0]):
            P=[q.copy() for q in params]; P[b][i]+=eps; up=f(*P); P[b][i]-=2*eps; dn=f(*P)
            g[i]=(up-dn)/(2*eps)
        out.append(g)
    return tuple(out)


def ng_calls_original(f, params, eps=1e-5):
    out=[]
    for b,p in enumerate(params):
        g=np.zeros_like(p); q=p.copy()
        for t in range(p.size):
            q.flat[t]+=eps; up=f(*params); q.flat[t]-=2*eps; dn=f(*params); q.flat[t]+=eps
            g.flat[t]=(up-dn)/(2*eps)
        out.append(g)
    return tuple(out)


def ng_int_eps(f, params, eps=1e-5):
    out=[]
    for b,p in enumerate(params):
        g=np.zeros(p.shape, dtype=int)
        for t in range(p.size):
            P=[q.copy() for q in params]; P[b].flat[t]+=eps; up=f(*P); P[b].flat[t]-=2*eps; dn=f(*P)
            g.flat[t]=(up-dn)/(2*eps)
        out.append(g)
    return tuple(out)


def ng_transposed_blocks(f, params, eps=1e-5):
    return tuple(g.T.copy().reshape(g.shape) for g in numgrad_ok(f, params, eps))


def ng_relative_step(f, params, eps=1e-5):
    out=[]
    for b,p in enumerate(params):
        g=np.zeros_like(p)
        for t in range(p.size):
            h = eps*max(1.0, abs(p.flat[t]))
            P=[q.copy() for q in params]; P[b].flat[t]+=h; up=f(*P); P[b].flat[t]-=2*h; dn=f(*P)
            g.flat[t]=(up-dn)/(2*eps)
        out.append(g)
    return tuple(out)


def ng_reversed_blocks(f, params, eps=1e-5):
    return tuple(numgrad_ok(f, params, eps))[::-1]


def ng_nditer(f, params, eps=1e-5):
    params=[np.array(p, dtype=float) for p in params]; out=[]
    for p in params:
        g=np.empty_like(p)
        for idx in np.ndindex(p.shape):
            old=p[idx]; p[idx]=old+eps; up=f(*params); p[idx]=old-eps; dn=f(*params); p[idx]=old
            g[idx]=(up-dn)/(2*eps)
        out.append(g)
    return tuple(out)


def ng_basis(f, params, eps=1e-5):
    out=[]
    for b,p in enumerate(params):
        g=np.zeros(p.size)
        for t in range(p.size):
            e=np.zeros(p.size); e[t]=eps; e=e.reshape(p.shape)
            P=list(params); P[b]=p+e; up=f(*P); P[b]=p-e; dn=f(*P)
            g[t]=(up-dn)/(2*eps)
        out.append(g.reshape(p.shape))
    return tuple(out)


def bug_no_penalty(X,T,Y,R,lam):
    e=_n_err(X,T,Y,R); return e@T, e.T@X


def bug_minus_2lam(X,T,Y,R,lam):
    e=_n_err(X,T,Y,R); return e@T-2*lam*X, e.T@X-2*lam*T


def bug_negated_all(X,T,Y,R,lam):
    e=_n_err(X,T,Y,R); return -(e@T+lam*X), -(e.T@X+lam*T)


def bug_half_minus(X,T,Y,R,lam):
    e=_n_err(X,T,Y,R); return e@T-0.5*lam*X, e.T@X-0.5*lam*T


def bug_sign_on_other(X,T,Y,R,lam):
    e=_n_err(X,T,Y,R); return e@T-lam*X, e.T@X+lam*T


def bug_cflib_minus(X,T,Y,R,lam):
    g=cflib.gradient(X,T,Y,R,-lam); return g


def bug_rounding_only(X,T,Y,R,lam):
    a,b=cflib.gradient(X,T,Y,R,lam); return a*(1+2e-10), b*(1+2e-10)


def bug_swapped_return(X,T,Y,R,lam):
    a,b=cflib.gradient(X,T,Y,R,lam); return b, a


def bug_scales_x_in_place(X,T,Y,R,lam):
    X *= 2; return cflib.gradient(X,T,Y,R,lam)


def bug_skips_last_movie(X,T,Y,R,lam):
    Xg=lam*X; Tg=lam*T
    for i,j in zip(*np.nonzero(R)):
        if i == X.shape[0]-1: continue
        e=X[i]@T[j]-Y[i,j]; Xg[i]=Xg[i]+e*T[j]; Tg[j]=Tg[j]+e*X[i]
    return Xg,Tg


def bug_theta_from_old_x_halved(X,T,Y,R,lam):
    a,b=cflib.gradient(X,T,Y,R,lam); return a, b/2


def bug_divides_by_lam(X,T,Y,R,lam):
    a,b=cflib.gradient(X,T,Y,R,lam); return a/lam, b


# Notebook 04, exercise 1: any bug a gradient check finds passes, and the line says which blocks fail and on how
# many of the check's problems; test_planted_bug_lines_are_honest recounts them with a gradient check of its own.
PLANTED_BUGS = [
    (bug_ok, "X_grad and Theta_grad fail the check on 6 of the 10 problems tried; it hides on the other 4 "
             "(every one with lam=0)"),
    (bug_only_x, "only X_grad fails the check (Theta_grad passes everywhere), on 6 of the 10"),
    (bug_and_no_mask, "X_grad and Theta_grad fail the check on 10 of the 10 problems tried."),
    (bug_no_penalty, "X_grad and Theta_grad fail the check on 6 of the 10"),
    (bug_minus_2lam, "X_grad and Theta_grad fail the check on 6 of the 10"),
    (bug_negated_all, "X_grad and Theta_grad fail the check on 10 of the 10"),
    (bug_half_minus, "X_grad and Theta_grad fail the check on 6 of the 10"),
    (bug_sign_on_other, "only X_grad fails the check (Theta_grad passes everywhere), on 6 of the 10"),
    (bug_skips_last_movie, "it hides on the other"),
    (bug_theta_from_old_x_halved, "only Theta_grad fails the check (X_grad passes everywhere), on 10 of the 10"),
    (bug_divides_by_lam, "only X_grad fails the check (Theta_grad passes everywhere), on 9 of the 10 problems "
                         "tried; it hides on the other one (the fixed 3x2 problem with lam=1)"),
]


def bug_from_cflib(X,T,Y,R,lam):
    a,b=cflib.gradient(X,T,Y,R,lam); return a-2*lam*X, b-2*lam*T


def bug_loop(X,T,Y,R,lam):
    Xg=-lam*X; Tg=-lam*T
    for i,j in zip(*np.nonzero(R)):
        e=X[i]@T[j]-Y[i,j]; Xg[i]=Xg[i]+e*T[j]; Tg[j]=Tg[j]+e*X[i]
    return Xg,Tg


def step_swapped_out(X,T,Y,R,lam,lr):
    a,b=cflib.gradient(X,T,Y,R,lam); return T-lr*b, X-lr*a


def step_no_mask(X,T,Y,R,lam,lr):
    a,b=cflib.gradient(X,T,Y,np.ones_like(R,dtype=bool),lam); return X-lr*a, T-lr*b


def step_two_steps(X,T,Y,R,lam,lr):
    a,b=step_ok(X,T,Y,R,lam,lr); return step_ok(a,b,Y,R,lam,lr)


def step_divide_lr(X,T,Y,R,lam,lr):
    a,b=cflib.gradient(X,T,Y,R,lam); return X-a/lr, T-b/lr


def step_theta_in_place(X,T,Y,R,lam,lr):
    a,b=cflib.gradient(X,T,Y,R,lam); T-=lr*b; return X-lr*a, T


def step_mean_grad(X,T,Y,R,lam,lr):
    a,b=cflib.gradient(X,T,Y,R,lam); n=max(np.sum(R),1); return X-lr*a/n, T-lr*b/n


def step_own_gradient(X,T,Y,R,lam,lr):
    E=np.where(R,X@T.T-Y,0.0); return X-lr*(E@T+lam*X), T-lr*(E.T@X+lam*T)


def step_shrink(X,T,Y,R,lam,lr):
    E=np.where(R,X@T.T-Y,0.0); return (1-lr*lam)*X-lr*E@T, (1-lr*lam)*T-lr*E.T@X


def norm_nan_fallback(Y,R):
    R=np.asarray(R,bool); c=R.sum(1); s=np.where(R,Y,0).sum(1)
    with np.errstate(all="ignore"): m=s/c
    return np.where(R,Y-m[:,None],0.0), m


def norm_fallback_unmasked_global(Y,R):
    R=np.asarray(R,bool); c=R.sum(1); s=np.where(R,Y,0).sum(1)
    m=np.where(c>0,s/np.maximum(c,1),Y.mean())
    return np.where(R,Y-m[:,None],0.0), m


def norm_fallback_3(Y,R):
    R=np.asarray(R,bool); c=R.sum(1); s=np.where(R,Y,0).sum(1)
    m=np.where(c>0,s/np.maximum(c,1),3.0)
    return np.where(R,Y-m[:,None],0.0), m


def norm_column_mean(Y,R):
    m=_n_means(Y,R); return np.where(R,Y-m[:,None],0.0), m[:,None]


def norm_fallback_y_positive(Y,R):
    R=np.asarray(R,bool); c=R.sum(1); s=np.where(R,Y,0).sum(1)
    m=np.where(c>0,s/np.maximum(c,1),Y[Y>0].mean())
    return np.where(R,Y-m[:,None],0.0), m


def norm_plus_mean(Y,R):
    m=_n_means(Y,R); return np.where(R,Y+m[:,None],0.0), m


def norm_fallback_median(Y,R):
    R=np.asarray(R,bool); c=R.sum(1); s=np.where(R,Y,0).sum(1)
    m=np.where(c>0,s/np.maximum(c,1),np.median(Y[R]))
    return np.where(R,Y-m[:,None],0.0), m


def norm_swapped_order(Y,R):
    a,b=norm_ok(Y,R); return b,a


def norm_nanmean(Y,R):
    R=np.asarray(R,bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore"); m=np.nanmean(np.where(R,Y,np.nan),axis=1)
    m[np.isnan(m)]=np.mean(Y[R])
    return np.where(R,Y-m[:,None],0.0), m


def norm_loop(Y,R):
    R=np.asarray(R,bool); g=Y[R].mean(); m=np.empty(Y.shape[0]); Yn=np.zeros(Y.shape)
    for i in range(Y.shape[0]):
        m[i]=Y[i,R[i]].mean() if R[i].any() else g
        Yn[i,R[i]]=Y[i,R[i]]-m[i]
    return Yn,m


def rmse_std(p,a): return float(np.std(p-a))


def rmse_norm_over_n(p,a): return float(np.linalg.norm(p-a)/len(p))


def rmse_rounded_predictions(p,a): return float(np.sqrt(np.mean((np.round(p)-a)**2)))


def rmse_one_element_array(p, a): return np.sqrt(np.mean((p - a) ** 2, keepdims=True))


def rmse_sq_diff(p,a): return float(np.sqrt(abs(np.mean(p**2-a**2))))


def rmse_mean_then_sqrt_abs(p,a): return float(np.mean(np.sqrt((p-a)**2)))


def rmse_first_n_minus1(p,a): return float(np.sqrt(np.mean((p[:-1]-a[:-1])**2)))


def rmse_clip_0_5(p,a): return float(np.sqrt(np.mean((np.clip(p,1,4.5)-a)**2)))


def rmse_sorted(p,a): return float(np.sqrt(np.mean((np.sort(p)-np.sort(a))**2)))


def rmse_loop(p,a):
    s=0.0
    for x,y in zip(p,a): s+=(x-y)**2
    return (s/len(p))**0.5


def rmse_dot(p,a):
    d=np.asarray(p,float)-a; return float(np.sqrt(d@d/d.size))


def fold_rhs_sum(X,m,r,lam):
    Xr=X[m]; return np.linalg.solve(Xr.T@Xr+lam*np.eye(X.shape[1]), Xr.sum(0)*r.mean())


def fold_gd_few_steps(X,m,r,lam):
    Xr=X[m]; th=np.zeros(X.shape[1])
    for _ in range(200): th-=0.01*(Xr.T@(Xr@th-r)+lam*th)
    return th


def fold_first_rows(X,m,r,lam):
    Xr=X[:len(m)]; return np.linalg.solve(Xr.T@Xr+lam*np.eye(X.shape[1]), Xr.T@r)


def fold_lam_squared(X,m,r,lam):
    Xr=X[m]; return np.linalg.solve(Xr.T@Xr+lam**2*np.eye(X.shape[1]), Xr.T@r)


def fold_sorted_movies(X,m,r,lam):
    Xr=X[np.sort(m)]; return np.linalg.solve(Xr.T@Xr+lam*np.eye(X.shape[1]), Xr.T@r)


def fold_ratings_centred_by_3(X,m,r,lam):
    Xr=X[m]; return np.linalg.solve(Xr.T@Xr+lam*np.eye(X.shape[1]), Xr.T@(r-3))


def fold_lstsq_augmented(X,m,r,lam):
    k=X.shape[1]; A=np.vstack([X[m], np.sqrt(lam)*np.eye(k)]); b=np.concatenate([r,np.zeros(k)])
    return np.linalg.lstsq(A,b,rcond=None)[0]


def fold_cholesky(X,m,r,lam):
    import scipy.linalg as sl
    Xr=X[m]; A=Xr.T@Xr+lam*np.eye(X.shape[1]); return sl.cho_solve(sl.cho_factor(A), Xr.T@r)


def _n_top(s,t,k,val=-np.inf,kind="stable"):
    s=np.asarray(s,float).copy(); s[t]=val; return np.argsort(-s,kind=kind)[:k]


def _n_dcg(h): return np.sum(h/np.log2(np.arange(2,len(h)+2)))


def _n_implicit(X,m,c,lam): XN=X[m]; return X.T@X+(XN.T*(c-1))@XN+lam*np.eye(X.shape[1]), XN.T@c


def _n_post(F,t,alpha,mu,lam):
    return alpha*F.T@F+np.diag(lam), alpha*F.T@t+lam*mu


def _n_draw(A,h,z):
    L=np.linalg.cholesky(A); return np.linalg.solve(A,h)+np.linalg.solve(L.T,z)


def p_argpartition(s,t,rel,k):
    s=np.asarray(s,float).copy(); s[t]=-np.inf; return np.isin(np.argpartition(-s,k-1)[:k],rel).sum()/k


def p_quicksort(s,t,rel,k):
    return np.isin(_n_top(s,t,k,kind="quicksort"),rel).sum()/k


def p_exclude_after_slice(s,t,rel,k):
    L=np.argsort(-np.asarray(s),kind="stable")[:k]; L=L[~np.isin(L,t)]; return np.isin(L,rel).sum()/k


def p_minus_one(s,t,rel,k):
    return np.isin(_n_top(s,t,k,-1.0),rel).sum()/k


def p_k_minus_one(s,t,rel,k):
    return np.isin(_n_top(s,t,k-1),rel).sum()/k


def p_hits_count(s,t,rel,k):
    return float(np.isin(_n_top(s,t,k),rel).sum())


def p_min_fill(s,t,rel,k):
    return np.isin(_n_top(s,t,k,np.min(s)),rel).sum()/k


def p_sorted_scores_values(s,t,rel,k):
    s=np.asarray(s,float).copy(); s[t]=-np.inf; return np.isin(np.sort(s)[::-1][:k], s[rel]).sum()/k


def p_nan_train_desc(s,t,rel,k):
    s=np.asarray(s,float).copy(); s[t]=np.nan; return np.isin(np.argsort(s, kind="stable")[::-1][:k],rel).sum()/k


def p_train_min_minus_eps(s,t,rel,k):
    return np.isin(_n_top(s,t,k,np.min(s)-1e-9),rel).sum()/k


def p_lexsort_wrong(s,t,rel,k):
    s=np.asarray(s,float).copy(); s[t]=-np.inf; order=np.lexsort((-np.arange(len(s)), -s)); return np.isin(order[:k],rel).sum()/k


def p_nan_train(s,t,rel,k):
    s=np.asarray(s,float).copy(); s[t]=np.nan; return np.isin(np.argsort(-s,kind="stable")[:k],rel).sum()/k


def p_sorted_pairs(s,t,rel,k):
    tr=set(np.asarray(t).tolist()); cand=[(-v,i) for i,v in enumerate(s) if i not in tr]; cand.sort()
    L=[i for _,i in cand[:k]]; return len(set(L)&set(np.asarray(rel).tolist()))/k


def p_lexsort(s,t,rel,k):
    s=np.asarray(s,float).copy(); s[t]=-np.inf; order=np.lexsort((np.arange(len(s)), -s)); return np.isin(order[:k],rel).mean()*1.0*len(order[:k])/k


def n_quicksort(s,t,rel,k):
    h=np.isin(_n_top(s,t,k,kind="quicksort"),rel).astype(float); return _n_dcg(h)/_n_dcg(np.ones(min(k,len(rel))))


def n_argpartition(s,t,rel,k):
    s=np.asarray(s,float).copy(); s[t]=-np.inf; L=np.argpartition(-s,k-1)[:k]
    h=np.isin(L,rel).astype(float); return _n_dcg(h)/_n_dcg(np.ones(min(k,len(rel))))


def n_rank_before_exclusion(s,t,rel,k):
    order=np.argsort(-np.asarray(s),kind="stable"); pos=np.arange(1,len(order)+1)
    keep=~np.isin(order,t); order=order[keep][:k]; pos=pos[keep][:k]
    g=np.isin(order,rel)/np.log2(pos+1); return g.sum()/_n_dcg(np.ones(min(k,len(rel))))


def n_log10_dcg(s,t,rel,k):
    h=np.isin(_n_top(s,t,k),rel).astype(float); d=np.sum(h/np.log10(np.arange(2,k+2)))
    return d/_n_dcg(np.ones(min(k,len(rel))))


def n_exclude_after_slice(s,t,rel,k):
    L=np.argsort(-np.asarray(s),kind="stable")[:k]; L=L[~np.isin(L,t)]
    h=np.isin(L,rel).astype(float); return _n_dcg(h)/_n_dcg(np.ones(min(k,len(rel))))


def n_discount_linear(s,t,rel,k):
    h=np.isin(_n_top(s,t,k),rel).astype(float); return np.sum(h/np.arange(1,k+1))/np.sum(1/np.arange(1,min(k,len(rel))+1))


def n_minus_one(s,t,rel,k):
    h=np.isin(_n_top(s,t,k,-1.0),rel).astype(float); return _n_dcg(h)/_n_dcg(np.ones(min(k,len(rel))))


def n_ideal_len_rel_plus(s,t,rel,k):
    h=np.isin(_n_top(s,t,k),rel).astype(float); return _n_dcg(h)/_n_dcg(np.ones(min(k,len(rel)+1)))


def n_ideal_sorted_scores(s,t,rel,k):
    h=np.isin(_n_top(s,t,k),rel).astype(float); return _n_dcg(h)/_n_dcg(np.sort(h)[::-1]) if h.sum() else 0.0


def n_nan_train(s,t,rel,k):
    s=np.asarray(s,float).copy(); s[t]=np.nan; L=np.argsort(-s,kind="stable")[:k]
    h=np.isin(L,rel).astype(float); return _n_dcg(h)/_n_dcg(np.ones(min(k,len(rel))))


def n_loop_set(s,t,rel,k):
    tr=set(np.asarray(t).tolist()); R=set(np.asarray(rel).tolist())
    cand=sorted((i for i in range(len(s)) if i not in tr), key=lambda i:(-s[i],i))[:k]
    d=sum(1/np.log2(r+2) for r,i in enumerate(cand) if i in R); idl=sum(1/np.log2(r+2) for r in range(min(k,len(R))))
    return d/idl


def i_sorted_x_rows(X,m,c,lam):
    return implicit_ok(X,np.sort(m),c,lam)


def i_gram_watched_only(X,m,c,lam):
    XN=X[m]; A=XN.T@XN+(XN.T*(c-1))@XN+lam*np.eye(X.shape[1]); return np.linalg.solve(A,XN.T@c)


def i_c_squared(X,m,c,lam):
    XN=X[m]; A=X.T@X+(XN.T*(c**2-1))@XN+lam*np.eye(X.shape[1]); return np.linalg.solve(A,XN.T@c)


def i_rhs_full(X,m,c,lam):
    A,_=_n_implicit(X,m,c,lam); p=np.zeros(len(X)); p[m]=1; C=np.ones(len(X)); C[m]=c; return np.linalg.solve(A,X.T@(C))


def i_lam_times_n(X,m,c,lam):
    A,b=_n_implicit(X,m,c,lam*len(m)); return np.linalg.solve(A,b)


def i_c_mean(X,m,c,lam):
    XN=X[m]; A=X.T@X+(c.mean()-1)*XN.T@XN+lam*np.eye(X.shape[1]); return np.linalg.solve(A,XN.T@c)


def i_unique(X,m,c,lam):
    u=np.unique(m); XN=X[u]; A=X.T@X+(XN.T*(c-1))@XN+lam*np.eye(X.shape[1]); return np.linalg.solve(A,XN.T@c)


def i_full_C(X,m,c,lam):
    C=np.ones(len(X)); C[m]=c; p=np.zeros(len(X)); p[m]=1
    return np.linalg.solve((X.T*C)@X+lam*np.eye(X.shape[1]), X.T@(C*p))


def i_cholesky(X,m,c,lam):
    A,b=_n_implicit(X,m,c,lam); L=np.linalg.cholesky(A); return np.linalg.solve(L.T,np.linalg.solve(L,b))


def s_h_mu_no_lam(F,t,alpha,mu,lam,rng):
    A,_=_n_post(F,t,alpha,mu,lam); h=alpha*F.T@t+mu; return _n_draw(A,h,rng.standard_normal(len(mu)))


def s_alpha_only_h(F,t,alpha,mu,lam,rng):
    A=F.T@F+np.diag(lam); h=alpha*F.T@t+lam*mu; return _n_draw(A,h,rng.standard_normal(len(mu)))


def s_noise_scaled_sqrt_alpha(F,t,alpha,mu,lam,rng):
    A,h=_n_post(F,t,alpha,mu,lam); L=np.linalg.cholesky(A); return np.linalg.solve(A,h)+np.linalg.solve(L.T,rng.standard_normal(len(mu)))/np.sqrt(alpha)


def s_lam_scalar_mean(F,t,alpha,mu,lam,rng):
    A=alpha*F.T@F+lam.mean()*np.eye(len(mu)); h=alpha*F.T@t+lam*mu; return _n_draw(A,h,rng.standard_normal(len(mu)))


def s_cov_chol_L(F,t,alpha,mu,lam,rng):
    A,h=_n_post(F,t,alpha,mu,lam); L=np.linalg.cholesky(np.linalg.inv(A)); return np.linalg.solve(A,h)+L.T@rng.standard_normal(len(mu))


def s_uses_global_rng(F,t,alpha,mu,lam,rng):
    A,h=_n_post(F,t,alpha,mu,lam); return _n_draw(A,h,np.random.standard_normal(len(mu)))


def s_same_z(F,t,alpha,mu,lam,rng):
    A,h=_n_post(F,t,alpha,mu,lam); z=np.random.default_rng(0).standard_normal(len(mu)); return _n_draw(A,h,z)


def s_one_noise_all(F,t,alpha,mu,lam,rng):
    A,h=_n_post(F,t,alpha,mu,lam); z=rng.standard_normal()*np.ones(len(mu)); return _n_draw(A,h,z)


def s_sqrt_diag_noise(F,t,alpha,mu,lam,rng):
    A,h=_n_post(F,t,alpha,mu,lam); return np.linalg.solve(A,h)+rng.standard_normal(len(mu))/np.sqrt(np.diag(A))


def s_neg_noise(F,t,alpha,mu,lam,rng):
    A,h=_n_post(F,t,alpha,mu,lam); return _n_draw(A,h,-rng.standard_normal(len(mu)))


def s_eigh(F,t,alpha,mu,lam,rng):
    A,h=_n_post(F,t,alpha,mu,lam); w_,V=np.linalg.eigh(A); m=V@((V.T@h)/w_)
    return m+V@(rng.standard_normal(len(mu))/np.sqrt(w_))


def s_normal(F,t,alpha,mu,lam,rng):
    A,h=_n_post(F,t,alpha,mu,lam); return _n_draw(A,h,rng.normal(0.0,1.0,size=len(mu)))


def pen_bincount_no_minlength(rows,n,rp,k):
    c=np.bincount(rows); c=np.pad(c,(0,max(0,n-len(c)))) if False else c; return np.repeat((rp*c)[:,None],k,1)


def pen_mean_count(rows,n,rp,k):
    return np.full((n,k), rp*len(rows)/n)


def pen_column(rows,n,rp,k):
    return rp*np.bincount(rows,minlength=n)[:,None].astype(float)


def pen_rp_squared(rows,n,rp,k):
    return np.repeat((rp**2*np.bincount(rows,minlength=n))[:,None],k,1).astype(float)


def pen_unique_no_place(rows,n,rp,k):
    u,c=np.unique(rows,return_counts=True); return np.repeat((rp*c)[:,None],k,1).astype(float)


def pen_count_distinct(rows,n,rp,k):
    c=np.zeros(n); c[rows]=1; return np.repeat((rp*c)[:,None],k,1)


def pen_fancy_increment(rows,n,rp,k):
    c=np.zeros(n); c[rows]+=1; return np.repeat((rp*c)[:,None],k,1)


def pen_loop(rows,n,rp,k):
    P=np.zeros((n,k))
    for r_ in rows: P[r_]+=rp
    return P


def pen_outer(rows,n,rp,k):
    return np.outer(rp*np.bincount(rows,minlength=n),np.ones(k))


def norm_nan_unrated(Y,R):
    Yn,m=norm_ok(Y,R); return np.where(R,Yn,np.nan), m


def norm_int_counts_floor(Y,R):
    R=np.asarray(R,bool); c=R.sum(1); s=np.where(R,Y,0).sum(1); g=s.sum()//c.sum()
    m=np.where(c>0,s/np.maximum(c,1),g); return np.where(R,Y-m[:,None],0.0), m


def ng_one_array(f, params, eps=1e-5):
    g=np.zeros_like(params[0]); out=[]
    for b,p in enumerate(params):
        g=np.zeros_like(p)
        for t in range(p.size):
            P=[q.copy() for q in params]; P[b].flat[t]+=eps; up=f(*P); P[b].flat[t]-=2*eps; dn=f(*P)
            g.flat[t]=(up-dn)/(2*eps)
        out.append(g)
    return out[0], out[0]


def cost_penalty_sum_squared(X,Th,Y,R,lam=0.0):
    e=np.where(R,X@Th.T-Y,0); return 0.5*np.sum(e**2)+0.5*lam*(np.sum(X)**2+np.sum(Th)**2)


def fold_all_X_gram(X,m,r,lam):
    Xr=X[m]; return np.linalg.solve(X.T@X+lam*np.eye(X.shape[1]), Xr.T@r)


def fold_one_elem(X,m,r,lam):
    return fold_ok(X,m,r,lam)[:, None].T


def rmse_list_out(p,a): return [rmse_ok(p,a)]


def pen_bool(rows,n,rp,k):
    return np.repeat((rp*(np.bincount(rows,minlength=n)>0))[:,None],k,1).astype(float)


def s_cov_full_inverse_chol(F,t,alpha,mu,lam,rng):
    A=alpha*F.T@F+np.diag(lam); h=alpha*F.T@t+lam*mu; L=np.linalg.cholesky(A)
    return np.linalg.solve(A,h)+np.linalg.solve(L,rng.standard_normal(len(mu)))


NEW_MISTAKES = [
    ('check_to_dense', dense_swapped_outputs, 'it returned (R, Y): the first result is the bool mask and the second holds the ratings;'),
    ('check_to_dense', dense_y_ones, 'R is right, but Y differs from cflib.ratings.to_dense on the fixed 3x4 example with half'),
    ('check_to_dense', dense_nan_unrated, 'Y contains NaN (on the fixed 3x4 example with half stars)'),
    ('check_to_dense', dense_shape_from_max, 'Y has shape (6, 4), expected (7, 5) (on 14 ratings in a 7x5 matrix whose last movie and'),
    ('check_to_dense', dense_sorted_movies, 'Y differs from cflib.ratings.to_dense on the fixed 3x4 example with half stars: at Y[0,'),
    ('check_movie_means', means_masked_array_unfilled, 'the mean vector gives 0 to a movie with no ratings instead of nan'),
    ('check_movie_means', means_count_y_nonzero, 'the mean vector differs from cflib.ratings.movie_means on the fixed 3x2 problem: at entry'),
    ('check_movie_means', means_global, 'the mean vector differs from cflib.ratings.movie_means on the fixed 3x2 problem: at entry'),
    ('check_movie_means', means_list, 'it returned a Python list, not a NumPy array, for the mean vector: build it with NumPy'),
    ('check_movie_means', means_drop_empty, 'the mean vector has shape (5,), expected (7,) (on a random 7x6 problem (movies 3 and 6'),
    ('check_movie_means', means_nanmean_y_zero_nan, 'the mean vector averages the entries where Y > 0, not where R is 1: Y holds placeholders'),
    ('check_predict', predict_clipped, 'the prediction matrix differs from cflib.predict on the fixed 3x2 problem: at entry [1,'),
    ('check_predict', predict_k2, 'the prediction matrix differs from cflib.predict on a random 4x6 problem with k=3: at'),
    ('check_predict', predict_outer_sums, 'the prediction matrix differs from cflib.predict on the fixed 3x2 problem: at entry [2,'),
    ('check_predict', predict_abs, 'the prediction matrix differs from cflib.predict on the fixed 3x2 problem: at entry [1,'),
    ('check_predict', predict_theta_x, 'the prediction matrix differs from cflib.predict on a random 5x5 problem with k=2: at'),
    ('check_truncated_svd', svd_independent_signs, "X is right, but Theta has column 1 with the opposite sign to X's (on a random 8x5 matrix"),
    ('check_truncated_svd', svd_half_on_x_only, 'X is right, but Theta has no singular values: X has its sqrt(s) but Theta was left without'),
    ('check_truncated_svd', svd_squared_root_twice, 'X differs from cflib.lowrank.truncated_svd on a random 8x5 matrix with k=2: at X[2, 0]'),
    ('check_truncated_svd', svd_k_minus_one_padded, 'X differs from cflib.lowrank.truncated_svd on a random 8x5 matrix with k=2: at X[5, 1]'),
    ('check_truncated_svd', svd_sqrt_mismatched, 'X differs from cflib.lowrank.truncated_svd on a random 8x5 matrix with k=2: at X[5, 0]'),
    ('check_cost', cost_penalty_no_half, 'the cost misses the 1/2 in front of the regularization term'),
    ('check_cost', cost_norm_not_squared, 'the cost is right for lam = 0 but wrong for lam > 0'),
    ('check_cost', cost_nansum_unmasked, 'the cost also counts the unrated entries (the mask R is not applied)'),
    ('check_cost', cost_loop_penalty_inside, 'the cost is right for lam = 0 but wrong for lam > 0'),
    ('check_cost', cost_loop_shape_swapped, 'the cost differs from cflib.cost on a random 4x5 problem with lam=0: expected 76.9822,'),
    ('check_cost', cost_lam_default_one, 'the cost differs from cflib.cost on the fixed 3x2 problem with lam=0: expected 30.125,'),
    ('check_cost', cost_only_rated_rows_penalty, 'the cost is right for lam = 0 but wrong for lam > 0'),
    ('check_cost', cost_1x1, 'it returned an array of shape (1, 1) instead of the cost (one number): return the number'),
    ('check_cost', cost_list, 'it returned a list of 1 items instead of the cost (one number): return the number itself'),
    ('check_cost', cost_abs, 'the cost differs from cflib.cost on the fixed 3x2 problem with lam=0: expected 30.125,'),
    ('check_cost', cost_int_cast, 'the cost has the fractions of the right values cut off (expected 30.125, got 30 on the'),
    ('check_cost_sparse', cost_sparse_unique_rows_penalty, 'the cost is right for lam = 0 but wrong for lam > 0'),
    ('check_cost_sparse', cost_sparse_mean, 'the cost averages the squared errors instead of summing them'),
    ('check_cost_sparse', cost_sparse_sum_then_square, 'the cost differs from cflib.cost_sparse on the fixed 3x2 problem with lam=0: expected'),
    ('check_cost_sparse', cost_sparse_first_k, 'the cost differs from cflib.cost_sparse on a random 4x5 problem with lam=0: expected'),
    ('check_cost_sparse', cost_sparse_sorted, 'the cost differs from cflib.cost_sparse on the fixed 3x2 problem with lam=0: expected'),
    ('check_analytic_gradient', grad_penalty_rated_rows, 'X_grad and Theta_grad each is right for lam = 0 but wrong for lam > 0'),
    ('check_analytic_gradient', grad_double_lam, 'X_grad and Theta_grad each is right for lam = 0 but wrong for lam > 0'),
    ('check_analytic_gradient', grad_loop_penalty_inside, 'X_grad and Theta_grad each is right for lam = 0 but wrong for lam > 0'),
    ('check_analytic_gradient', grad_ignores_lam_default, 'X_grad and Theta_grad each misses its regularization term'),
    ('check_analytic_gradient', grad_mean, 'X_grad differs from cflib.gradient on the fixed 3x2 problem with lam=0: at X_grad[1, 1]'),
    ('check_gradient_sparse', gsp_bincount_no_minlength, 'X_grad has shape (6, 2), expected (7, 2) (on a random 7x6 problem (movies 3 and 6 and users 3 and 5 unrated)'),
    ('check_gradient_sparse', gsp_penalty_rated_rows, 'X_grad and Theta_grad each is right for lam = 0 but wrong for lam > 0'),
    ('check_gradient_sparse', gsp_penalty_per_rating, 'X_grad and Theta_grad each is right for lam = 0 but wrong for lam > 0'),
    ('check_gradient_sparse', gsp_updated_x, 'X_grad is right, but Theta_grad differs from cflib.gradient_sparse on the fixed 3x2'),
    ('check_user_gradient', ug_full_theta_penalty_sum, 'theta_grad is right for lam = 0 but wrong for lam > 0'),
    ('check_user_gradient', ug_list, 'it returned a Python list, not a NumPy array, for theta_grad: build it with NumPy'),
    ('check_user_gradient', ug_times_r_nan, 'theta_grad is NaN on the problem whose Y holds NaN where R is 0: NaN * 0 is NaN, so'),
    ('check_user_gradient', ug_ignore_j_zero, 'theta_grad differs from cflib.objective.user_gradient on user j=1 of the fixed 3x2'),
    ('check_numerical_gradient', ng_whole_row, 'the numerical gradient differs from cflib.gradcheck.numerical_gradient on the cost of a'),
    ('check_numerical_gradient', ng_calls_original, 'the numerical gradient is 0 everywhere (at X[3, 2] expected -15.7975, got 0 on the cost'),
    ('check_numerical_gradient', ng_int_eps, 'the numerical gradient has the fractions of the right values cut off (at Theta[2, 0]'),
    ('check_numerical_gradient', ng_transposed_blocks, 'the numerical gradient differs from cflib.gradcheck.numerical_gradient on the cost of a'),
    ('check_numerical_gradient', ng_relative_step, 'the numerical gradient differs from cflib.gradcheck.numerical_gradient on the cost of a'),
    ('check_numerical_gradient', ng_reversed_blocks, 'it returned gradient block 0 with shape (5, 3), expected (4, 3) (each block has the shape'),
    ('check_buggy_gradient', bug_cflib_minus, "it raised ValueError: lam must be a finite number >= 0, got -1.0 (on the check's 10"),
    ('check_buggy_gradient', bug_rounding_only, "differs from cflib.gradient, but by a relative error of at most 1.0e-10"),
    ('check_buggy_gradient', bug_swapped_return, 'the two results are swapped: return (X_grad, Theta_grad) in this order'),
    ('check_buggy_gradient', bug_scales_x_in_place, 'it changed its argument X in place'),
    ('check_gradient_descent_step', step_swapped_out, 'X_new has shape (2, 2), expected (3, 2) (on the fixed 3x2 problem with lam=0, lr=0.1)'),
    ('check_gradient_descent_step', step_no_mask, 'X_new differs from cflib.train.gradient_descent_step on the fixed 3x2 problem with lam=0,'),
    ('check_gradient_descent_step', step_two_steps, 'X_new differs from cflib.train.gradient_descent_step on the fixed 3x2 problem with lam=0,'),
    ('check_gradient_descent_step', step_divide_lr, 'X_new differs from cflib.train.gradient_descent_step on the fixed 3x2 problem with lam=0,'),
    ('check_gradient_descent_step', step_theta_in_place, "it changed its argument Theta in place: Theta -= ... changes the caller's array: return"),
    ('check_gradient_descent_step', step_mean_grad, 'X_new differs from cflib.train.gradient_descent_step on the fixed 3x2 problem with lam=0,'),
    ('check_normalize', norm_nan_fallback, 'movie_mean contains NaN (on a random 7x6 problem (movies 3 and 6 and users 3 and 5 unrated))'),
    ('check_normalize', norm_fallback_unmasked_global, 'Y_norm is right, but movie_mean is wrong only for the movie'),
    ('check_normalize', norm_fallback_3, 'Y_norm is right, but movie_mean is wrong only for the movie'),
    ('check_normalize', norm_column_mean, 'movie_mean has shape (3, 1), expected (3,) (on the fixed 3x2 problem)'),
    ('check_normalize', norm_fallback_y_positive, 'Y_norm is right, but movie_mean is wrong only for the movie'),
    ('check_normalize', norm_plus_mean, 'movie_mean is right, but Y_norm differs from cflib.train.normalize_ratings on the fixed'),
    ('check_normalize', norm_fallback_median, 'Y_norm is right, but movie_mean is wrong only for the movie'),
    ('check_normalize', norm_swapped_order, 'Y_norm has shape (3,), expected (3, 2) (on the fixed 3x2 problem)'),
    ('check_rmse', rmse_std, 'the RMSE is np.std of the errors, which first subtracts their mean'),
    ('check_rmse', rmse_norm_over_n, 'the RMSE differs from cflib.evaluate.rmse on the fixed 4 predictions: expected 0.612372,'),
    ('check_rmse', rmse_rounded_predictions, 'the RMSE rounds the predictions to whole stars before comparing'),
    ('check_rmse', rmse_one_element_array, 'take out the one element (value[0])'),
    ('check_rmse', rmse_sq_diff, 'the RMSE differs from cflib.evaluate.rmse on the fixed 4 predictions: expected 0.612372,'),
    ('check_rmse', rmse_mean_then_sqrt_abs, 'the RMSE is the mean absolute error'),
    ('check_rmse', rmse_first_n_minus1, 'the RMSE differs from cflib.evaluate.rmse on the fixed 4 predictions: expected 0.612372,'),
    ('check_rmse', rmse_clip_0_5, 'the RMSE differs from cflib.evaluate.rmse on 50 random predictions: expected 1.76558, got'),
    ('check_rmse', rmse_sorted, 'the RMSE differs from cflib.evaluate.rmse on 7 random predictions: expected 1.52177, got'),
    ('check_fold_in', fold_rhs_sum, 'theta differs from cflib.recommend.fold_in on 5 ratings of 8 movies with k=2, lam=0.1: at'),
    ('check_fold_in', fold_gd_few_steps, 'theta differs from cflib.recommend.fold_in on 5 ratings of 8 movies with k=2, lam=0.1: at'),
    ('check_fold_in', fold_first_rows, 'theta differs from cflib.recommend.fold_in on 5 ratings of 8 movies with k=2, lam=0.1: at'),
    ('check_fold_in', fold_lam_squared, 'theta differs from cflib.recommend.fold_in on 5 ratings of 8 movies with k=2, lam=0.1: at'),
    ('check_fold_in', fold_sorted_movies, 'theta differs from cflib.recommend.fold_in on 5 ratings of 8 movies with k=2, lam=0.1: at'),
    ('check_fold_in', fold_ratings_centred_by_3, 'theta differs from cflib.recommend.fold_in on 5 ratings of 8 movies with k=2, lam=0.1: at'),
    ('check_precision_at_k', p_argpartition, "precision@k breaks ties in no fixed order: np.argsort's default sort is not stable beyond"),
    ('check_precision_at_k', p_quicksort, "precision@k breaks ties in no fixed order: np.argsort's default sort is not stable beyond"),
    ('check_precision_at_k', p_exclude_after_slice, 'precision@k counts the movies rated in train: they stay in the ranking and take list slots'),
    ('check_precision_at_k', p_minus_one, 'precision@k differs from cflib.ranking.precision_at_k on 30 random scores below 0, 6'),
    ('check_precision_at_k', p_k_minus_one, 'precision@k differs from cflib.ranking.precision_at_k on 30 random scores below 0, 6'),
    ('check_precision_at_k', p_hits_count, 'precision@k differs from cflib.ranking.precision_at_k on 8 movies, train movies 0 and 2'),
    ('check_precision_at_k', p_min_fill, 'precision@k gives the train movies the lowest score, scores.min(), instead of -inf: the'),
    ('check_precision_at_k', p_sorted_scores_values, 'precision@k differs from cflib.ranking.precision_at_k on 6 movies, three tied at 0.5 (a'),
    ('check_precision_at_k', p_nan_train_desc, 'precision@k differs from cflib.ranking.precision_at_k on 30 random scores below 0, 6'),
    ('check_precision_at_k', p_lexsort_wrong, 'precision@k breaks a tie by the higher movie index: np.argsort(scores)[::-1] reverses the'),
    ('check_ndcg_at_k', n_quicksort, "NDCG@k breaks ties in no fixed order: np.argsort's default sort is not stable beyond 16"),
    ('check_ndcg_at_k', n_argpartition, "NDCG@k breaks ties in no fixed order: np.argsort's default sort is not stable beyond 16"),
    ('check_ndcg_at_k', n_rank_before_exclusion, 'NDCG@k differs from cflib.ranking.ndcg_at_k on 8 movies, train movies 0 and 2 scored'),
    ('check_ndcg_at_k', n_log10_dcg, 'NDCG@k differs from cflib.ranking.ndcg_at_k on 8 movies, train movies 0 and 2 scored'),
    ('check_ndcg_at_k', n_exclude_after_slice, 'NDCG@k differs from cflib.ranking.ndcg_at_k on 30 random scores below 0, 6 train movies,'),
    ('check_ndcg_at_k', n_discount_linear, 'NDCG@k differs from cflib.ranking.ndcg_at_k on 8 movies, train movies 0 and 2 scored'),
    ('check_ndcg_at_k', n_minus_one, 'NDCG@k differs from cflib.ranking.ndcg_at_k on 30 random scores below 0, 6 train movies,'),
    ('check_ndcg_at_k', n_ideal_len_rel_plus, 'NDCG@k differs from cflib.ranking.ndcg_at_k on 8 movies, train movies 0 and 2 scored'),
    ('check_ndcg_at_k', n_ideal_sorted_scores, 'NDCG@k differs from cflib.ranking.ndcg_at_k on 8 movies, train movies 0 and 2 scored'),
    ('check_implicit_row', i_sorted_x_rows, 'theta is solved with the movies sorted (np.sort or np.unique) but not c with them:'),
    ('check_implicit_row', i_gram_watched_only, 'theta leaves out X^T X: only the watched movies enter, so the p = 0 of all the others is'),
    ('check_implicit_row', i_c_squared, 'theta differs from cflib.implicit_als.implicit_row on 4 interactions of 10 movies, k=2,'),
    ('check_implicit_row', i_rhs_full, 'theta differs from cflib.implicit_als.implicit_row on 4 interactions of 10 movies, k=2,'),
    ('check_implicit_row', i_lam_times_n, 'theta differs from cflib.implicit_als.implicit_row on 4 interactions of 10 movies, k=2,'),
    ('check_implicit_row', i_c_mean, 'theta differs from cflib.implicit_als.implicit_row on 4 interactions of 10 movies, k=2,'),
    ('check_implicit_row', i_unique, 'theta is solved with the movies sorted (np.sort or np.unique) but not c with them:'),
    ('check_sample_row', s_h_mu_no_lam, 'the covariance of your draws and the distribution of your draws are right, but the mean'),
    ('check_sample_row', s_alpha_only_h, 'each is what A = F.T @ F + np.diag(lam) gives: tau is missing in A (it is in h)'),
    ('check_sample_row', s_noise_scaled_sqrt_alpha, 'the mean of your draws and the distribution of your draws are right, but the covariance'),
    ('check_sample_row', s_lam_scalar_mean, 'the distribution of your draws is right, but the mean of your draws differs from'),
    ('check_sample_row', s_cov_chol_L, 'the mean of your draws and the distribution of your draws are right, but the covariance'),
    ('check_sample_row', s_uses_global_rng, 'it drew other numbers from a new generator with the same seed: draw the noise from the'),
    ('check_sample_row', s_same_z, 'it returned the same w on every call, and it is no mean either: the noise must change'),
    ('check_sample_row', s_one_noise_all, 'the mean of your draws is right, but the covariance of your draws differs from'),
    ('check_sample_row', s_sqrt_diag_noise, 'the mean of your draws and the distribution of your draws are right, but the covariance'),
    ('check_row_penalty', pen_bincount_no_minlength, 'P has shape (4, 3), expected (6, 3) (on 20 ratings of 6 rows (the last 2 unrated), k=3,'),
    ('check_row_penalty', pen_mean_count, 'P differs from cflib.als_wr.row_penalty on 3 rows rated 2, 0 and 3 times, k=2,'),
    ('check_row_penalty', pen_column, 'P has shape (3, 1), expected (3, 2) (on 3 rows rated 2, 0 and 3 times, k=2, reg_param=0.5)'),
    ('check_row_penalty', pen_rp_squared, 'P differs from cflib.als_wr.row_penalty on 3 rows rated 2, 0 and 3 times, k=2,'),
    ('check_row_penalty', pen_unique_no_place, 'P has shape (2, 2), expected (3, 2) (on 3 rows rated 2, 0 and 3 times, k=2, reg_param=0.5)'),
    ('check_row_penalty', pen_count_distinct, 'P differs from cflib.als_wr.row_penalty on 3 rows rated 2, 0 and 3 times, k=2,'),
    ('check_row_penalty', pen_fancy_increment, 'P differs from cflib.als_wr.row_penalty on 3 rows rated 2, 0 and 3 times, k=2,'),
    ('check_normalize', norm_nan_unrated, 'it returned a Y_norm with NaN where R is 0: Y_norm must be exactly 0 there, whatever Y'),
    ('check_normalize', norm_int_counts_floor, 'Y_norm is right, but movie_mean is wrong only for the movie'),
    ('check_numerical_gradient', ng_one_array, 'it returned gradient block 1 with shape (4, 3), expected (5, 3) (each block has the shape'),
    ('check_cost', cost_penalty_sum_squared, 'the cost is right for lam = 0 but wrong for lam > 0'),
    ('check_fold_in', fold_all_X_gram, 'theta differs from cflib.recommend.fold_in on 5 ratings of 8 movies with k=2, lam=0.1: at'),
    ('check_fold_in', fold_one_elem, 'theta has shape (1, 2), expected (2,) (on 5 ratings of 8 movies with k=2, lam=0.1)'),
    ('check_rmse', rmse_list_out, 'it returned a list of 1 items instead of the RMSE (one number): return the number itself'),
    ('check_row_penalty', pen_bool, 'P differs from cflib.als_wr.row_penalty on 3 rows rated 2, 0 and 3 times, k=2,'),
    ('check_sample_row', s_cov_full_inverse_chol, 'the mean of your draws and the distribution of your draws are right, but the covariance'),
]

NEW_RIGHT = [
    ('check_to_dense', dense_add_at),
    ('check_to_dense', dense_scipy),
    ('check_to_dense', dense_flat_index),
    ('check_movie_means', means_masked_filled),
    ('check_movie_means', means_einsum),
    ('check_movie_means', means_loop),
    ('check_predict', predict_broadcast),
    ('check_predict', predict_dot_transposed),
    ('check_truncated_svd', svd_full_matrices),
    ('check_truncated_svd', svd_scipy_svds),
    ('check_truncated_svd', svd_of_transpose),
    ('check_cost', cost_nansum_masked),
    ('check_cost', cost_frobenius),
    ('check_cost', cost_vdot),
    ('check_cost_sparse', cost_sparse_einsum),
    ('check_cost_sparse', cost_sparse_scipy),
    ('check_analytic_gradient', grad_einsum),
    ('check_analytic_gradient', grad_loop_rows),
    ('check_gradient_sparse', gsp_scipy),
    ('check_gradient_sparse', gsp_loop),
    ('check_user_gradient', ug_full_row),
    ('check_user_gradient', ug_boolean),
    ('check_numerical_gradient', ng_nditer),
    ('check_numerical_gradient', ng_basis),
    ('check_buggy_gradient', bug_from_cflib),
    ('check_buggy_gradient', bug_loop),
    *[('check_buggy_gradient', fn) for fn, _ in PLANTED_BUGS],
    ('check_gradient_descent_step', step_own_gradient),
    ('check_gradient_descent_step', step_shrink),
    ('check_normalize', norm_nanmean),
    ('check_normalize', norm_loop),
    ('check_rmse', rmse_loop),
    ('check_rmse', rmse_dot),
    ('check_fold_in', fold_lstsq_augmented),
    ('check_fold_in', fold_cholesky),
    ('check_precision_at_k', p_train_min_minus_eps),
    ('check_precision_at_k', p_nan_train),
    ('check_precision_at_k', p_sorted_pairs),
    ('check_precision_at_k', p_lexsort),
    ('check_ndcg_at_k', n_nan_train),
    ('check_ndcg_at_k', n_loop_set),
    ('check_implicit_row', i_full_C),
    ('check_implicit_row', i_cholesky),
    ('check_sample_row', s_neg_noise),
    ('check_sample_row', s_eigh),
    ('check_sample_row', s_normal),
    ('check_row_penalty', pen_loop),
    ('check_row_penalty', pen_outer),
]

MISTAKES += NEW_MISTAKES
RIGHT += NEW_RIGHT

# 14: a sampled recall@k, the EASE closed form, the BPR gradient (the functions: tests/test_checks_evaluation.py)
from test_checks_evaluation import (bpr_fancy_index, bpr_loop, bpr_ok, bpr_sigma_z, ease_no_lam, ease_ok,  # noqa: E402
                                    ease_rows, ease_solve, recall_concatenated, recall_is_precision, recall_loop,
                                    recall_ok)

MISTAKES += [
    ("check_sampled_recall", recall_is_precision, "divides the hits by k: that is precision@k"),
    ("check_sampled_recall", recall_concatenated, "by the order of the candidate array"),
    ("check_ease", ease_no_lam, "ignores lam"),
    ("check_ease", ease_rows, "B comes out transposed"),
    ("check_bpr_gradient", bpr_sigma_z, "uses sigma(z) where"),
    ("check_bpr_gradient", bpr_fancy_index, "loses repeated rows"),
]
RIGHT += [("check_sampled_recall", recall_ok), ("check_sampled_recall", recall_loop), ("check_ease", ease_ok),
          ("check_ease", ease_solve), ("check_bpr_gradient", bpr_ok), ("check_bpr_gradient", bpr_loop)]


# 13: the pairwise term, one rating's gradient, one SGD step (the functions: tests/test_checks_fm.py)
import test_checks_fm as fm_tries  # noqa: E402  (a module: its grad_ok, step_ok... are not 02-05's)

MISTAKES += [
    ("check_fm_pairwise", fm_tries.pw_no_half, "the 1/2 is missing"),
    ("check_fm_pairwise", fm_tries.pw_no_squares, "the squares sum_i v_if^2 x_i^2 are not subtracted"),
    ("check_fm_gradient", fm_tries.grad_sign, "each has the wrong sign"),
    ("check_fm_gradient", fm_tries.grad_no_square_term, "gV leaves out the -v_if x_i^2 term"),
    ("check_sgd_step", fm_tries.step_w0_penalised, "w0 is penalised"),
    ("check_sgd_step", fm_tries.step_in_place, "changed its argument w"),
    ("check_sgd_step", fm_tries.step_sequential, "after w0 and w were updated"),
]
RIGHT += [("check_fm_pairwise", fm_tries.pw_ok), ("check_fm_pairwise", fm_tries.pw_loop),
          ("check_fm_pairwise", fm_tries.pw_einsum), ("check_fm_gradient", fm_tries.grad_ok),
          ("check_fm_gradient", fm_tries.grad_loop), ("check_fm_gradient", fm_tries.grad_outer),
          ("check_sgd_step", fm_tries.step_ok), ("check_sgd_step", fm_tries.step_copy_first)]


# A fresh learner's pass (issue 19): an np.matrix behaves differently later (* is a matrix product), and a
# generator is used up by its first reader; both are refused with their own line.
def dense_matrix(m, u, r, nm, nu):
    Y, R = dense_ok(m, u, r, nm, nu)
    return np.asmatrix(Y), R


def predict_matrix(X, T):
    return np.asmatrix(X) @ np.asmatrix(T).T


def numgrad_generator(f, params, eps=1e-5):
    return (g for g in numgrad_ok(f, params, eps))


def dense_empty(m, u, r, nm, nu):  # np.empty: the entries nobody rated hold whatever was in memory
    Y = np.empty((nm, nu))
    R = np.zeros((nm, nu), dtype=bool)
    Y[m, u], R[m, u] = r, True
    return Y, R


def normalize_empty_like(Y, R):
    Yn = np.empty_like(Y)
    mean = np.array([Y[i, R[i]].mean() if R[i].any() else Y[R].mean() for i in range(Y.shape[0])])
    Yn[R] = (Y - mean[:, None])[R]
    return Yn, mean


def gs_packed_movies(X, T, m, u, r, lam=0.0):  # sums placed at rows 0..n_rated-1 instead of at the movies
    e = np.sum(X[m] * T[u], 1) - r
    um, inv = np.unique(m, return_inverse=True)
    acc = np.zeros((len(um), X.shape[1]))
    np.add.at(acc, inv, e[:, None] * T[u])
    Xg = lam * X.copy()
    Xg[:len(um)] += acc
    Tg = lam * T.copy()
    np.add.at(Tg, u, e[:, None] * X[m])
    return Xg, Tg


def means_packed(Y, R):  # the rated movies' means written to the first rows
    Rb = np.asarray(R, bool)
    keep = Rb.any(1)
    vals = np.where(Rb, Y, 0.0)[keep].sum(1) / Rb[keep].sum(1)
    out = np.full(Y.shape[0], np.nan)
    out[:len(vals)] = vals
    return out


def dense_packed_users(m, u, r, nm, nu):  # user ids packed to 0..n_rated-1
    _, inv = np.unique(u, return_inverse=True)
    Y, R = np.zeros((nm, nu)), np.zeros((nm, nu), dtype=bool)
    Y[m, inv], R[m, inv] = r, True
    return Y, R


MISTAKES += [
    ("check_gradient_sparse", gs_packed_movies, "but X_grad differs from cflib.gradient_sparse on a random 7x6 problem (movies 3 and 6"),
    ("check_movie_means", means_packed, "differs from cflib.ratings.movie_means"),
    ("check_to_dense", dense_packed_users, "differs from cflib.ratings.to_dense on 11 ratings in a 5x5 matrix "
                                           "whose movie 2 and user 2 have none"),
    ("check_to_dense", dense_empty, "Y holds leftover memory"),
    ("check_normalize", normalize_empty_like, "Y_norm holds leftover memory"),
    ("check_to_dense", dense_matrix, "returned an np.matrix instead of Y"),
    ("check_predict", predict_matrix, "returned an np.matrix instead of the prediction matrix"),
    ("check_numerical_gradient", numgrad_generator, "returned a generator (a one-pass iterator)"),
]


def _line(check: str, fn, capsys):
    got = getattr(checks, check)(fn)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0], got


@pytest.mark.parametrize("check, fn, phrase", MISTAKES, ids=[f"{c}-{f.__name__}" for c, f, _ in MISTAKES])
def test_mistake_fails_with_its_diagnosis(check, fn, phrase, capsys):
    line, got = _line(check, fn, capsys)
    assert line.startswith(f"{check}: FAIL - "), line
    assert phrase in line, line
    assert isinstance(got, checks.StandIn) and "stands in" in checks.who(got, fn.__name__)


@pytest.mark.parametrize("check, fn", RIGHT, ids=[f"{c}-{f.__name__}" for c, f in RIGHT])
def test_right_alternative_passes(check, fn, capsys):
    line, got = _line(check, fn, capsys)
    assert line.startswith(f"{check}: PASS - "), line
    assert got is fn and checks.who(got, "mine") == "mine"


@pytest.mark.parametrize("fn, phrase", PLANTED_BUGS, ids=[f.__name__ for f, _ in PLANTED_BUGS])
def test_planted_bug_lines_are_honest(fn, phrase, capsys):
    """04 exercise 1: the PASS line's blocks and counts are what a gradient check on each problem finds."""
    from cflib import gradcheck
    from cflib.checks.gradient_checking import _bug_problems

    line, got = _line("check_buggy_gradient", fn, capsys)
    assert line.startswith(f"check_buggy_gradient: PASS - {fn.__name__} is a real bug, and a gradient check "
                           "finds it: ") and phrase in line, line
    labels, problems = _bug_problems()
    flagged = []
    for X, T, Y, R, lam in problems:
        numeric = cflib.numerical_gradient(lambda X_, T_: cflib.cost(X_, T_, Y, R, lam), (X, T))
        with np.errstate(all="ignore"):
            errors = [gradcheck.relative_error(g, n) for g, n in zip(fn(X.copy(), T.copy(), Y, R, lam), numeric)]
        flagged.append([b for b, e in zip(("X_grad", "Theta_grad"), errors) if not e < gradcheck.TOLERANCE])
    found = sum(bool(f) for f in flagged)
    assert f"on {found} of the {len(problems)} problems tried" in line
    blocks = [b for b in ("X_grad", "Theta_grad") if any(b in f for f in flagged)]
    assert (f"only {blocks[0]} fails the check" in line) if len(blocks) == 1 else ("X_grad and Theta_grad fail" in line)
    assert ("hides on" in line) == (found < len(problems))
    assert got is fn


def test_every_check_of_the_course_is_tried():
    tried = {c for c, _, _ in MISTAKES} | {c for c, _ in RIGHT}
    assert tried == set(checks.CHECKS)
    for name in checks.CHECKS:
        assert sum(c == name for c, _, _ in MISTAKES) >= 2, name
        assert any(c == name for c, _ in RIGHT), name


def test_notes_on_habits_the_course_argues_against(capsys):
    line, _ = _line("check_fold_in", fold_inv, capsys)
    assert "Note: you invert the matrix with np.linalg.inv" in line


def endless(X, T):
    while True:
        pass


def exits(X, T):
    sys.exit(1)


def floods(X, T):
    for i in range(500):
        print("debug", i)
    return X @ T.T


def test_endless_loop_exit_and_flood_end_as_one_line(capsys):
    previous = checks.set_time_limit(0.5)
    try:
        line, got = _line("check_predict", endless, capsys)
        assert line.startswith("check_predict: FAIL - it took longer than 0.5 s: is there an endless loop?"), line
        assert isinstance(got, checks.StandIn)
    finally:
        checks.set_time_limit(previous)
    line, _ = _line("check_predict", exits, capsys)
    assert "it called sys.exit()" in line
    line, got = _line("check_predict", floods, capsys)
    assert line.startswith("check_predict: PASS") and "printed 500 lines" in line and "(and 497 more)" in line
    assert got is floods


def sample_slow(F, t, alpha, mu, lam, rng):
    import time

    time.sleep(0.002)  # right, but 2 ms a draw: 4000 draws do not fit in the limit below
    return sample_ok(F, t, alpha, mu, lam, rng)


def sample_endless(F, t, alpha, mu, lam, rng):
    while True:
        pass


def test_slow_sampler_is_told_apart_from_an_endless_loop(capsys):
    previous = checks.set_time_limit(0.5)
    try:
        line, _ = _line("check_sample_row", sample_slow, capsys)
        assert line.startswith("check_sample_row: FAIL - it took longer than 0.5 s for the 4000 draws of one case, "
                               "although the first draws came back: each draw is too slow"), line
        assert "endless loop" not in line
        line, _ = _line("check_sample_row", sample_endless, capsys)
        assert line.startswith("check_sample_row: FAIL - it took longer than 0.5 s: is there an endless loop?"), line
    finally:
        checks.set_time_limit(previous)


# ============================================================ a third learner's pass (2026-12), all notebooks
# Wrong tries of a third learner that the checks FAIL with a fitting line, and right answers written yet
# another way (np.ravel_multi_index, eigh of M M^T, scipy.sparse, cho_solve, Counter, lexsort, the unwatched
# plus watched Gram). The tries that PASS or get a misleading line are in the learner report, not here.
# The phrase is the start of each line's diagnosis.

def _l3_dense(m, u, r, nm, nu, ydt=float, rdt=bool):
    Y = np.zeros((nm, nu), dtype=ydt); Y[m, u] = r
    R = np.zeros((nm, nu), dtype=rdt); R[m, u] = True
    return Y, R


def _l3_s(M, k):
    U, s, Vt = np.linalg.svd(M, full_matrices=False); return U[:, :k], s[:k], Vt[:k]


def _l3_pen(X, T, lam): return lam / 2 * (np.sum(X**2) + np.sum(T**2))


def _l3_E(X, T, Y, R): return np.where(R, X @ T.T - Y, 0.0)


def _l3_ng(f, params, eps, plus_minus):
    ps = [np.array(p, dtype=float) for p in params]; out = []
    for b, p in enumerate(ps):
        g = np.zeros_like(p)
        for t in range(p.size):
            g.flat[t] = plus_minus(f, ps, p, t, eps)
        out.append(g)
    return tuple(out)


def _l3_cd(f, ps, p, t, eps):
    o = p.flat[t]; p.flat[t] = o + eps; a = f(*ps); p.flat[t] = o - eps; b = f(*ps); p.flat[t] = o
    return (a - b) / (2 * eps)


def _l3_mm(Y, R):
    Rb = np.asarray(R, bool); s = np.where(Rb, Y, 0).sum(1); c = Rb.sum(1); return Rb, s, c


def _l3_order(scores, train):
    s = np.asarray(scores, float).copy(); s[train] = -np.inf; return np.argsort(-s, kind="stable")


def _l3_dcg(top, rel): return float(np.sum(np.isin(top, rel) / np.log2(np.arange(2, len(top) + 2))))


def _l3_idcg(rel, k): return float(np.sum(1 / np.log2(np.arange(2, min(k, len(rel)) + 2))))


def _l3_imp(X, movies, c, lam, w=None, lamA=None, rhs=None):
    Xr = X[movies]; k = X.shape[1]; w = c - 1 if w is None else w
    A = X.T @ X + (Xr.T * w) @ Xr + (lam if lamA is None else lamA) * np.eye(k)
    return np.linalg.solve(A, Xr.T @ (c if rhs is None else rhs))


def _l3_Ah(F, t, tau, nu, lam):
    return tau * F.T @ F + np.diag(lam), tau * F.T @ t + lam * nu


def _l3_draw(A, h, z):
    L = np.linalg.cholesky(A)
    import scipy.linalg as sl
    return sl.solve_triangular(L.T, sl.solve_triangular(L, h, lower=True) + z, lower=False)


def _l3_cnt(rows, n): return np.bincount(rows, minlength=n).astype(float)


def l3_dense_y_int(m, u, r, nm, nu): return _l3_dense(m, u, r, nm, nu, ydt=int)


def l3_dense_r_geq_1(m, u, r, nm, nu):
    Y, _ = _l3_dense(m, u, r, nm, nu); return Y, Y >= 1


def l3_dense_r_all_true(m, u, r, nm, nu):
    Y, _ = _l3_dense(m, u, r, nm, nu); return Y, np.ones((nm, nu), bool)


def l3_dense_r_transposed_only(m, u, r, nm, nu):
    Y, R = _l3_dense(m, u, r, nm, nu); return Y, np.ascontiguousarray(R.T)


def l3_dense_ratings_in_place(m, u, r, nm, nu):
    m.sort()  # sorts the caller's movies: breaks the pairing
    return _l3_dense(m, u, r, nm, nu)


def l3_means_weights_average(Y, R):
    return np.average(Y, axis=1, weights=R)


def l3_means_over_n_users(Y, R):
    return np.where(R, Y, 0).sum(1) / Y.shape[1]


def l3_means_rounded(Y, R):
    s = np.where(R, Y, 0).sum(1); c = R.sum(1)
    with np.errstate(all="ignore"): return np.round(s / c, 2)


def l3_means_count_plus_one(Y, R):
    s = np.where(R, Y, 0).sum(1); c = R.sum(1)
    with np.errstate(all="ignore"): return np.where(c > 0, s / (c + 1), np.nan)


def l3_predict_no_transpose(X, T): return X @ T


def l3_predict_drop_last_feature(X, T): return X[:, :-1] @ T[:, :-1].T


def l3_predict_gram(X, T): return X.T @ T


def l3_predict_scales_x_in_place(X, T):
    X *= 1.0000001; return X @ T.T


def l3_svd_centred(M, k):
    U, s, Vt = _l3_s(M - M.mean(), k); return U * np.sqrt(s), Vt.T * np.sqrt(s)


def l3_svd_three_tuple(M, k):
    U, s, Vt = _l3_s(M, k); return U * np.sqrt(s), Vt.T * np.sqrt(s), s


def l3_svd_normalizes_m_in_place(M, k):
    n = np.linalg.norm(M); M /= n
    U, s, Vt = _l3_s(M, k); s = s * n
    return U * np.sqrt(s), Vt.T * np.sqrt(s)


def l3_cost_inverted_mask(X, T, Y, R, lam=0.0):
    E = np.where(~np.asarray(R, bool), X @ T.T - Y, 0.0); return 0.5 * np.sum(E**2) + _l3_pen(X, T, lam)


def l3_cost_theta_only_penalty(X, T, Y, R, lam=0.0):
    E = np.where(R, X @ T.T - Y, 0.0); return 0.5 * np.sum(E**2) + lam / 2 * np.sum(T**2)


def l3_cost_loop_mask_from_y(X, T, Y, R, lam=0.0):
    J = 0.0
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if Y[i, j] > 0: J += 0.5 * (X[i] @ T[j] - Y[i, j]) ** 2
    return J + _l3_pen(X, T, lam)


def l3_cost_returns_with_grad(X, T, Y, R, lam=0.0):
    E = np.where(R, X @ T.T - Y, 0.0)
    return 0.5 * np.sum(E**2) + _l3_pen(X, T, lam), (E @ T + lam * X, E.T @ X + lam * T)


def l3_cost_mean_penalty(X, T, Y, R, lam=0.0):
    E = np.where(R, X @ T.T - Y, 0.0); return 0.5 * np.sum(E**2) + lam / 2 * (np.mean(X**2) + np.mean(T**2))


def l3_cost_lam_squared(X, T, Y, R, lam=0.0):
    E = np.where(R, X @ T.T - Y, 0.0); return 0.5 * np.sum(E**2) + _l3_pen(X, T, lam**2)


def l3_cs_one_based(X, T, m, u, r, lam=0.0):
    e = np.sum(X[m - 1] * T[u - 1], axis=1) - r; return 0.5 * e @ e + _l3_pen(X, T, lam)


def l3_cs_no_lam(X, T, m, u, r, lam=0.0):
    e = np.sum(X[m] * T[u], axis=1) - r; return 0.5 * e @ e


def l3_cs_theta_by_movies(X, T, m, u, r, lam=0.0):
    e = np.sum(X[m] * T[m % T.shape[0]], axis=1) - r; return 0.5 * e @ e + _l3_pen(X, T, lam)


def l3_cs_centred_ratings(X, T, m, u, r, lam=0.0):
    e = np.sum(X[m] * T[u], axis=1) - (r - r.mean()); return 0.5 * e @ e + _l3_pen(X, T, lam)


def l3_cs_sum_over_features_first(X, T, m, u, r, lam=0.0):
    e = np.einsum("tk,tk->k", X[m], T[u]).sum() - r.sum(); return 0.5 * e * e / len(r) + _l3_pen(X, T, lam)


def l3_g_inverted_mask(X, T, Y, R, lam=0.0):
    E = np.where(~np.asarray(R, bool), X @ T.T - Y, 0.0); return E @ T + lam * X, E.T @ X + lam * T


def l3_g_penalty_swapped_vars(X, T, Y, R, lam=0.0):
    E = _l3_E(X, T, Y, R); return E @ T + lam * T, E.T @ X + lam * X


def l3_g_x_only(X, T, Y, R, lam=0.0):
    E = _l3_E(X, T, Y, R); return E @ T + lam * X


def l3_g_mask_from_y(X, T, Y, R, lam=0.0):
    E = np.where(Y > 0, X @ T.T - Y, 0.0); return E @ T + lam * X, E.T @ X + lam * T


def l3_g_lam_squared(X, T, Y, R, lam=0.0):
    E = _l3_E(X, T, Y, R); return E @ T + lam**2 * X, E.T @ X + lam**2 * T


def l3_g_x_in_place(X, T, Y, R, lam=0.0):
    E = _l3_E(X, T, Y, R); Xg = E @ T; Tg = E.T @ X
    X *= lam; Xg += X; Tg += lam * T
    return Xg, Tg


def l3_gs_no_error_factor(X, T, m, u, r, lam=0.0):
    Xg = lam * X; Tg = lam * T
    np.add.at(Xg, m, T[u]); np.add.at(Tg, u, X[m]); return Xg, Tg


def l3_gs_sign_flipped(X, T, m, u, r, lam=0.0):
    e = r - np.sum(X[m] * T[u], 1); Xg = lam * X; Tg = lam * T
    np.add.at(Xg, m, e[:, None] * T[u]); np.add.at(Tg, u, e[:, None] * X[m]); return Xg, Tg


def l3_gs_theta_no_lam(X, T, m, u, r, lam=0.0):
    e = np.sum(X[m] * T[u], 1) - r; Xg = lam * X; Tg = np.zeros_like(T)
    np.add.at(Xg, m, e[:, None] * T[u]); np.add.at(Tg, u, e[:, None] * X[m]); return Xg, Tg


def l3_ug_sign(j, X, T, Y, R, lam=0.0):
    r = np.asarray(R[:, j], bool); e = Y[r, j] - X[r] @ T[j]
    return X[r].T @ e + lam * T[j]


def l3_ug_mean(j, X, T, Y, R, lam=0.0):
    r = np.asarray(R[:, j], bool); e = X[r] @ T[j] - Y[r, j]
    return X[r].T @ e / max(r.sum(), 1) + lam * T[j]


def l3_ug_theta_in_place(j, X, T, Y, R, lam=0.0):
    r = np.asarray(R[:, j], bool); e = X[r] @ T[j] - Y[r, j]
    T[j] *= lam
    return X[r].T @ e + T[j]


def l3_ug_x_grad_row(j, X, T, Y, R, lam=0.0):
    r = np.asarray(R[j % R.shape[0]], bool); e = T[r] @ X[j % X.shape[0]] - Y[j % Y.shape[0], r]
    return T[r].T @ e + lam * X[j % X.shape[0]]


def l3_ng_over_eps_central(f, params, eps=1e-5):
    return tuple(2 * g for g in _l3_ng(f, params, eps, _l3_cd))


def l3_ng_negated(f, params, eps=1e-5):
    return tuple(-g for g in _l3_ng(f, params, eps, _l3_cd))


def l3_ng_list_call(f, params, eps=1e-5):
    ps = [np.array(p, float) for p in params]; out = []
    for p in ps:
        g = np.zeros_like(p)
        for t in range(p.size):
            o = p.flat[t]; p.flat[t] = o + eps; a = f(ps); p.flat[t] = o - eps; b = f(ps); p.flat[t] = o
            g.flat[t] = (a - b) / (2 * eps)
        out.append(g)
    return tuple(out)


def l3_ng_restore_by_arithmetic(f, params, eps=1e-5):
    out = []
    for p in params:
        g = np.zeros_like(p, dtype=float)
        for t in range(p.size):
            p.flat[t] += eps; a = f(*params); p.flat[t] -= 2 * eps; b = f(*params); p.flat[t] += eps
            g.flat[t] = (a - b) / (2 * eps)
        out.append(g)
    return tuple(out)


def l3_ng_float32_copies(f, params, eps=1e-5):
    ps = [np.array(p, dtype=np.float32) for p in params]; out = []
    for p in ps:
        g = np.zeros(p.shape)
        for t in range(p.size): g.flat[t] = _l3_cd(f, ps, p, t, eps)
        out.append(g)
    return tuple(out)


def l3_bug_tiny_relative(X, T, Y, R, lam):
    gx, gt = cflib.gradient(X, T, Y, R, lam); return gx * (1 + 1e-10), gt


def l3_bug_shapes_swapped(X, T, Y, R, lam):
    gx, gt = cflib.gradient(X, T, Y, R, lam); return gx.T, gt.T * 2


def l3_bug_returns_none(X, T, Y, R, lam):
    cflib.gradient(X, T, Y, R, lam)


def l3_bug_three_blocks(X, T, Y, R, lam):
    gx, gt = cflib.gradient(X, T, Y, R, lam); return gx, gt * 2, gx


def l3_st_normalized(X, T, Y, R, lam, lr):
    gx, gt = cflib.gradient(X, T, Y, R, lam)
    n = np.sqrt(np.sum(gx**2) + np.sum(gt**2)); return X - lr * gx / n, T - lr * gt / n


def l3_st_double_decay(X, T, Y, R, lam, lr):
    gx, gt = cflib.gradient(X, T, Y, R, lam); return X - lr * (gx + lam * X), T - lr * (gt + lam * T)


def l3_st_per_rating(X, T, Y, R, lam, lr):
    n = np.sum(R); gx, gt = cflib.gradient(X, T, Y, R, lam); return X - lr * gx / n, T - lr * gt / n


def l3_st_clipped(X, T, Y, R, lam, lr):
    gx, gt = cflib.gradient(X, T, Y, R, lam); return X - lr * np.clip(gx, -1, 1), T - lr * np.clip(gt, -1, 1)


def l3_st_lr_squared(X, T, Y, R, lam, lr):
    gx, gt = cflib.gradient(X, T, Y, R, lam); return X - lr**2 * gx, T - lr**2 * gt


def l3_nz_zscore(Y, R):
    Rb, s, c = _l3_mm(Y, R); g = s.sum() / c.sum()
    m = np.where(c > 0, s / np.maximum(c, 1), g)
    sd = np.array([Y[i, Rb[i]].std() if c[i] > 1 else 1.0 for i in range(len(c))]); sd[sd == 0] = 1
    return np.where(Rb, (Y - m[:, None]) / sd[:, None], 0.0), m


def l3_nz_broadcast_wrong_axis(Y, R):
    Rb, s, c = _l3_mm(Y, R); g = s.sum() / c.sum(); m = np.where(c > 0, s / np.maximum(c, 1), g)
    return np.where(Rb, Y - m if Y.shape[0] == Y.shape[1] else Y - m[:, None], 0.0), m


def l3_nz_fallback_median(Y, R):
    Rb, s, c = _l3_mm(Y, R); g = np.median(Y[Rb]); m = np.where(c > 0, s / np.maximum(c, 1), g)
    return np.where(Rb, Y - m[:, None], 0.0), m


def l3_nz_mean_column(Y, R):
    Rb, s, c = _l3_mm(Y, R); g = s.sum() / c.sum(); m = np.where(c > 0, s / np.maximum(c, 1), g)
    return np.where(Rb, Y - m[:, None], 0.0), m[:, None]


def l3_nz_fallback_rated_movie_count(Y, R):
    Rb, s, c = _l3_mm(Y, R); g = s.sum() / max((c > 0).sum(), 1); m = np.where(c > 0, s / np.maximum(c, 1), g)
    return np.where(Rb, Y - m[:, None], 0.0), m


def l3_nz_r_in_place(Y, R):
    Rb, s, c = _l3_mm(Y, R); g = s.sum() / c.sum(); m = np.where(c > 0, s / np.maximum(c, 1), g)
    R[c == 0] = True  # "every movie has a mean now"
    return np.where(Rb, Y - m[:, None], 0.0), m


def l3_rm_diff_of_squares(p, a): return float(np.sqrt(abs(np.mean(p**2 - a**2))))


def l3_rm_relative(p, a): return float(np.sqrt(np.mean(((p - a) / a) ** 2)))


def l3_rm_median(p, a): return float(np.sqrt(np.median((p - a) ** 2)))


def l3_rm_in_place(p, a):
    p -= a; return float(np.sqrt(np.mean(p**2)))


def l3_rm_tuple(p, a): return float(np.sqrt(np.mean((p - a) ** 2))), float(np.mean(abs(p - a)))


def l3_rm_n_plus_one(p, a): return float(np.sqrt(np.sum((p - a) ** 2) / (len(a) + 1)))


def l3_fi_marquardt(X, movies, ratings, lam):
    Xr = X[movies]; A = Xr.T @ Xr; return np.linalg.solve(A + lam * np.diag(np.diag(A)), Xr.T @ ratings)


def l3_fi_one_based(X, movies, ratings, lam):
    Xr = X[movies - 1]; return np.linalg.solve(Xr.T @ Xr + lam * np.eye(X.shape[1]), Xr.T @ ratings)


def l3_fi_sqrt_lam(X, movies, ratings, lam):
    Xr = X[movies]; return np.linalg.solve(Xr.T @ Xr + np.sqrt(lam) * np.eye(X.shape[1]), Xr.T @ ratings)


def l3_fi_rhs_uses_all_x(X, movies, ratings, lam):
    Xr = X[movies]; return np.linalg.solve(Xr.T @ Xr + lam * np.eye(X.shape[1]), Xr.T @ ratings + X.sum(0) * 0 + X.mean(0))


def l3_pk_excludes_relevant(scores, train, rel, k):
    s = np.asarray(scores, float).copy(); s[rel] = -np.inf
    return float(np.isin(np.argsort(-s, kind="stable")[:k], rel).sum() / k)


def l3_pk_skip_first(scores, train, rel, k):
    return float(np.isin(_l3_order(scores, train)[1:k + 1], rel).sum() / k)


def l3_pk_candidates_unmapped(scores, train, rel, k):
    cand = np.setdiff1d(np.arange(len(scores)), train)
    top = np.argsort(-scores[cand], kind="stable")[:k]
    return float(np.isin(top, rel).sum() / k)


def l3_pk_hits_over_relevant_in_candidates(scores, train, rel, k):
    return float(np.isin(_l3_order(scores, train)[:k], rel).sum() / min(k, len(rel)))


def l3_pk_scores_from_relevant_only(scores, train, rel, k):
    top = rel[np.argsort(-scores[rel], kind="stable")][:k]
    return float(len(top) / k)


def l3_nd_candidates_unmapped(scores, train, rel, k):
    cand = np.setdiff1d(np.arange(len(scores)), train)
    top = np.argsort(-scores[cand], kind="stable")[:k]; return _l3_dcg(top, rel) / _l3_idcg(rel, k)


def l3_nd_no_cutoff(scores, train, rel, k):
    o = _l3_order(scores, train)[: len(scores) - len(train)]; return _l3_dcg(o, rel) / _l3_idcg(rel, k)


def l3_nd_zero_based_log(scores, train, rel, k):
    top = _l3_order(scores, train)[:k]
    with np.errstate(divide="ignore"):
        d = np.sum(np.isin(top, rel) / np.log2(np.arange(1, k + 1) + 1e-300))
        i = np.sum(1 / np.log2(np.arange(1, min(k, len(rel)) + 1) + 1e-300))
    return float(d / i)


def l3_nd_over_len_relevant(scores, train, rel, k):
    return _l3_dcg(_l3_order(scores, train)[:k], rel) / len(rel)


def l3_nd_idcg_all_relevant(scores, train, rel, k):
    return _l3_dcg(_l3_order(scores, train)[:k], rel) / float(np.sum(1 / np.log2(np.arange(2, len(rel) + 2))))


def l3_im_sqrt_c(X, movies, c, lam): return _l3_imp(X, movies, c, lam, w=np.sqrt(c) - 1, rhs=np.sqrt(c))


def l3_im_x_in_place(X, movies, c, lam):
    X[movies] *= np.sqrt(c - 1)[:, None]
    A = X.T @ X  # wrong anyway, changes caller's X
    X[movies] /= np.sqrt(c - 1)[:, None]
    return _l3_imp(X, movies, c, lam)


def l3_im_double_lam(X, movies, c, lam): return _l3_imp(X, movies, c, lam, lamA=2 * lam)


def l3_im_c_normalized(X, movies, c, lam): return _l3_imp(X, movies, c, lam, rhs=c / c.sum())


def l3_im_rhs_all_x(X, movies, c, lam):
    Xr = X[movies]; k = X.shape[1]
    A = X.T @ X + (Xr.T * (c - 1)) @ Xr + lam * np.eye(k)
    return np.linalg.solve(A, Xr.T @ c + X.sum(0) - Xr.sum(0))


def l3_sr_tau_on_prior(F, t, tau, nu, lam, rng):
    A, _ = _l3_Ah(F, t, tau, nu, lam); h = tau * (F.T @ t + lam * nu); return _l3_draw(A, h, rng.standard_normal(len(lam)))


def l3_sr_lam_everywhere(F, t, tau, nu, lam, rng):
    A = tau * F.T @ F + lam; h = tau * F.T @ t + lam * nu; return _l3_draw(A, h, rng.standard_normal(len(lam)))


def l3_sr_reseeded(F, t, tau, nu, lam, rng):
    A, h = _l3_Ah(F, t, tau, nu, lam); return _l3_draw(A, h, np.random.default_rng(0).standard_normal(len(lam)))


def l3_sr_no_tau_in_a(F, t, tau, nu, lam, rng):
    A = F.T @ F + np.diag(lam); h = tau * F.T @ t + lam * nu; return _l3_draw(A, h, rng.standard_normal(len(lam)))


def l3_sr_two_z_averaged(F, t, tau, nu, lam, rng):
    A, h = _l3_Ah(F, t, tau, nu, lam); d = len(lam)
    return _l3_draw(A, h, (rng.standard_normal(d) + rng.standard_normal(d)) / 2)


def l3_sr_uniform_noise(F, t, tau, nu, lam, rng):
    A, h = _l3_Ah(F, t, tau, nu, lam); d = len(lam)
    return _l3_draw(A, h, (rng.random(d) - 0.5) * np.sqrt(12))


def l3_rp_squared_count(rows, n, rp, k): return np.repeat((rp * _l3_cnt(rows, n) ** 2)[:, None], k, 1)


def l3_rp_plus(rows, n, rp, k): return np.repeat(np.where(_l3_cnt(rows, n) > 0, rp + _l3_cnt(rows, n), 0.0)[:, None], k, 1)


def l3_rp_histogram(rows, n, rp, k):
    h, _ = np.histogram(rows, bins=n); return np.repeat((rp * h.astype(float))[:, None], k, 1)


def l3_rp_sorts_rows(rows, n, rp, k):
    rows.sort(); return np.repeat((rp * _l3_cnt(rows, n))[:, None], k, 1)


def l3_rp_over_k(rows, n, rp, k): return np.repeat((rp * _l3_cnt(rows, n) / k)[:, None], k, 1)


def l3_fi_zeroes_x_after(X, movies, ratings, lam):
    Xr = X[movies]; th = np.linalg.solve(Xr.T @ Xr + lam * np.eye(X.shape[1]), Xr.T @ ratings)
    X[movies] = 0.0  # "clean up"
    return th


def l3_fi_ratings_in_place(X, movies, ratings, lam):
    ratings -= ratings.mean(); Xr = X[movies]
    return np.linalg.solve(Xr.T @ Xr + lam * np.eye(X.shape[1]), Xr.T @ ratings)


def l3_cs_penalty_unique_compacted(X, T, m, u, r, lam=0.0):
    e = np.sum(X[m] * T[u], 1) - r
    nm = len(np.unique(m)); nu = len(np.unique(u))
    return 0.5 * e @ e + lam / 2 * (np.sum(X[:nm] ** 2) + np.sum(T[:nu] ** 2))


def l3_rp_unique_compacted(rows, n, rp, k):
    _, c = np.unique(rows, return_counts=True); P = np.zeros((n, k)); P[:len(c)] = rp * c[:, None]; return P


def l3_pk_ties_by_higher_index(scores, train, rel, k):
    s = np.asarray(scores, float).copy(); s[train] = -np.inf
    o = np.argsort(-s[::-1], kind="stable"); o = len(s) - 1 - o
    return float(np.isin(o[:k], rel).sum() / k)


def l3_nd_graded_gain(scores, train, rel, k):
    s = np.asarray(scores, float).copy(); s[train] = -np.inf; top = np.argsort(-s, kind="stable")[:k]
    g = (2.0 ** np.isin(top, rel) - 1) * 2
    disc = 1 / np.log2(np.arange(2, k + 2)); return float(g @ disc / disc[:min(k, len(rel))].sum())


def l3_dense_via_flat(m, u, r, nm, nu):
    Y = np.zeros(nm * nu); Y[np.ravel_multi_index((m, u), (nm, nu))] = r
    R = np.zeros(nm * nu, bool); R[np.ravel_multi_index((m, u), (nm, nu))] = True
    return Y.reshape(nm, nu), R.reshape(nm, nu)


def l3_means_via_matmul(Y, R):
    Rf = np.asarray(R, float)
    s = np.einsum("ij,ij->i", np.where(R, Y, 0.0), Rf); c = Rf @ np.ones(Rf.shape[1])
    out = np.full(len(c), np.nan); out[c > 0] = s[c > 0] / c[c > 0]; return out


def l3_predict_outer_loop(X, T):
    P = np.zeros((X.shape[0], T.shape[0]))
    for f in range(X.shape[1]): P += np.outer(X[:, f], T[:, f])
    return P


def l3_svd_via_eig_of_mmt(M, k):
    w, U = np.linalg.eigh(M @ M.T)
    top = np.argsort(w)[::-1][:k]; U = U[:, top]; s = np.sqrt(np.maximum(w[top], 0))
    V = M.T @ U / s
    return U * np.sqrt(s), V * np.sqrt(s)


def l3_cost_nan_to_num(X, T, Y, R, lam=0.0):
    E = (X @ T.T - np.nan_to_num(Y)) * R
    return float(0.5 * np.sum(E * E) + _l3_pen(X, T, lam))


def l3_cost_loop_zip(X, T, Y, R, lam=0.0):
    J = 0.0
    for i, (x, yrow, rrow) in enumerate(zip(X, Y, R)):
        for j, t in enumerate(T):
            if rrow[j]: J += (x @ t - yrow[j]) ** 2 / 2
    return J + lam / 2 * (sum(v * v for v in X.ravel()) + sum(v * v for v in T.ravel()))


def l3_cs_loop(X, T, m, u, r, lam=0.0):
    J = 0.0
    for a, b, c in zip(m, u, r): J += 0.5 * (float(np.dot(X[a], T[b])) - c) ** 2
    return J + 0.5 * lam * (np.vdot(X, X) + np.vdot(T, T))


def l3_g_einsum_loop_free(X, T, Y, R, lam=0.0):
    Rb = np.asarray(R, bool)
    E = np.zeros(Rb.shape); E[Rb] = (X @ T.T)[Rb] - np.asarray(Y)[Rb]
    return np.einsum("ij,jk->ik", E, T) + lam * X, np.einsum("ij,ik->jk", E, X) + lam * T


def l3_gs_sparse_matrix(X, T, m, u, r, lam=0.0):
    import scipy.sparse as sp
    e = np.sum(X[m] * T[u], 1) - r
    E = sp.coo_matrix((e, (m, u)), shape=(X.shape[0], T.shape[0])).tocsr()
    return E @ T + lam * X, E.T @ X + lam * T


def l3_ug_where_column(j, X, T, Y, R, lam=0.0):
    e = np.where(R[:, j], X @ T[j] - Y[:, j], 0.0)
    return e @ X + lam * T[j]


def l3_ng_ndindex(f, params, eps=1e-5):
    ps = [p.astype(float) for p in params]; out = []
    for p in ps:
        g = np.empty_like(p)
        for idx in np.ndindex(p.shape):
            hi = [q.copy() for q in ps]; lo = [q.copy() for q in ps]
            b = next(i for i, q in enumerate(ps) if q is p)
            hi[b][idx] += eps; lo[b][idx] -= eps
            g[idx] = (f(*hi) - f(*lo)) / (2 * eps)
        out.append(g)
    return tuple(out)


def l3_bug_transposed_e(X, T, Y, R, lam):
    E = np.where(R, X @ T.T - Y, 0.0)
    return E @ T + lam * X, E.T @ X * 1.5 + lam * T


def l3_bug_random_noise(X, T, Y, R, lam):
    gx, gt = cflib.gradient(X, T, Y, R, lam); return gx + np.random.default_rng(0).normal(size=gx.shape), gt


def l3_st_own_formula(X, T, Y, R, lam, lr):
    E = np.where(R, X @ T.T - Y, 0.0)
    return (1 - lr * lam) * X - lr * (E @ T), (1 - lr * lam) * T - lr * (E.T @ X)


def l3_nz_masked_array(Y, R):
    Rb = np.asarray(R, bool)
    ma = np.ma.masked_array(np.asarray(Y, float), mask=~Rb)
    m = ma.mean(axis=1).filled(ma.mean())
    return (ma - m[:, None]).filled(0.0), np.asarray(m)


def l3_rm_hypot(p, a):
    d = np.subtract(p, a, dtype=float); return float(np.linalg.norm(d) / np.sqrt(d.size))


def l3_fi_cho_solve(X, movies, ratings, lam):
    Xr = X[movies]; A = Xr.T @ Xr + lam * np.eye(X.shape[1]); b = Xr.T @ ratings
    import scipy.linalg as sl

    return sl.cho_solve(sl.cho_factor(A), b)


def l3_pk_sorted_tuples(scores, train, rel, k):
    tr = set(int(t) for t in train)
    ranked = sorted((i for i in range(len(scores)) if i not in tr), key=lambda i: (-scores[i], i))
    return len(set(ranked[:k]) & set(int(r) for r in rel)) / k


def l3_nd_lexsort(scores, train, rel, k):
    s = np.asarray(scores, float).copy(); s[train] = -np.inf
    o = np.lexsort((np.arange(len(s)), -s))[:k]
    gains = np.array([1.0 if m in set(rel.tolist()) else 0.0 for m in o])
    disc = 1 / np.log2(np.arange(k) + 2)
    ideal = np.sort(np.r_[np.ones(len(rel)), np.zeros(k)])[::-1][:k]
    return float(gains @ disc / (ideal @ disc))


def l3_im_unwatched_plus_watched(X, movies, c, lam):
    keep = np.ones(X.shape[0], bool); keep[movies] = False
    Xu, Xr = X[keep], X[movies]
    A = Xu.T @ Xu + Xr.T @ (c[:, None] * Xr) + lam * np.eye(X.shape[1])
    return np.linalg.solve(A, Xr.T @ c)


def l3_sr_wastes_a_draw(F, t, tau, nu, lam, rng):
    rng.random()
    A, h = _l3_Ah(F, t, tau, nu, lam)
    mean = np.linalg.solve(A, h)
    L = np.linalg.cholesky(A)
    return mean + np.linalg.solve(L.T, rng.standard_normal(len(lam)))


def l3_rp_counter(rows, n, rp, k):
    from collections import Counter
    cnt = Counter(rows.tolist()); P = np.zeros((n, k))
    for r, c in cnt.items(): P[r, :] = rp * c
    return P


THIRD_MISTAKES = [
    ('check_to_dense', l3_dense_y_int, 'R is right, but Y loses the half stars: Y has an integer dtype. Hint: create Y as floats, '),
    ('check_to_dense', l3_dense_r_geq_1, 'Y is right, but R is computed from the values of Y'),
    ('check_to_dense', l3_dense_r_all_true, 'Y is right, but R differs from cflib.ratings.to_dense on the fixed 3x4 example with half s'),
    ('check_to_dense', l3_dense_r_transposed_only, 'R has shape (4, 3), expected (3, 4) (on the fixed 3x4 example with half stars). Hint: movi'),
    ('check_to_dense', l3_dense_ratings_in_place, 'it changed its argument movies in place: work on a copy (movies = movies.copy()) or build '),
    ('check_movie_means', l3_means_weights_average, 'it raised ZeroDivisionError'),
    ('check_movie_means', l3_means_over_n_users, 'the mean vector counts the unrated entries: it divides by n_users, not by the number of ra'),
    ('check_movie_means', l3_means_rounded, 'the mean vector differs from cflib.ratings.movie_means on a random 4x5 problem: at entry ['),
    ('check_movie_means', l3_means_count_plus_one, 'the mean vector differs from cflib.ratings.movie_means on the fixed 3x2 problem: at entry '),
    ('check_predict', l3_predict_no_transpose, 'it raised ValueError'),
    ('check_predict', l3_predict_drop_last_feature, 'the prediction matrix differs from cflib.predict on the fixed 3x2 problem: at entry [0, 1]'),
    ('check_predict', l3_predict_gram, 'the prediction matrix is X.T @ Theta, a (k, k) matrix. Hint: X.T @ Theta sums over movies;'),
    ('check_predict', l3_predict_scales_x_in_place, 'it changed its argument X in place: work on a copy (X = X.copy()) or build new arrays, so '),
    ('check_truncated_svd', l3_svd_centred, 'X differs from cflib.lowrank.truncated_svd on a random 8x5 matrix with k=2: at X[7, 1] exp'),
    ('check_truncated_svd', l3_svd_three_tuple, 'it returned 3 values instead of the pair (X, Theta) (on a random 8x5 matrix with k=2). Unt'),
    ('check_truncated_svd', l3_svd_normalizes_m_in_place, 'it changed its argument M in place: work on a copy (M = M.copy()) or build new arrays, so '),
    ('check_cost', l3_cost_inverted_mask, 'the cost differs from cflib.cost on the fixed 3x2 problem with lam=0: expected 30.125, got'),
    ('check_cost', l3_cost_theta_only_penalty, 'the cost regularizes Theta only (the X term is missing). Hint: the penalty is lam/2 * (sum'),
    ('check_cost', l3_cost_loop_mask_from_y, 'the cost differs from cflib.cost on the fixed 3x2 problem with lam=0: expected 30.125, got'),
    ('check_cost', l3_cost_returns_with_grad, 'it returned a tuple of 2 items instead of the cost (one number): return the number itself '),
    ('check_cost', l3_cost_mean_penalty, 'the cost is right for lam = 0 but wrong for lam > 0. Hint: the penalty is lam/2 * (sum(X**'),
    ('check_cost', l3_cost_lam_squared, 'the cost is right for lam = 0 but wrong for lam > 0. Hint: the penalty is lam/2 * (sum(X**'),
    ('check_cost_sparse', l3_cs_one_based, 'the cost differs from cflib.cost_sparse on the fixed 3x2 problem with lam=0: expected 30.1'),
    ('check_cost_sparse', l3_cs_no_lam, 'the cost ignores lam (the regularization term is missing). Hint: add lam/2 * (sum(X**2) + '),
    ('check_cost_sparse', l3_cs_theta_by_movies, 'the cost differs from cflib.cost_sparse on the fixed 3x2 problem with lam=0: expected 30.1'),
    ('check_cost_sparse', l3_cs_centred_ratings, 'the cost differs from cflib.cost_sparse on the fixed 3x2 problem with lam=0: expected 30.1'),
    ('check_cost_sparse', l3_cs_sum_over_features_first, 'the cost differs from cflib.cost_sparse on the fixed 3x2 problem with lam=0: expected 30.1'),
    ('check_analytic_gradient', l3_g_inverted_mask, 'X_grad differs from cflib.gradient on the fixed 3x2 problem with lam=0: at X_grad[1, 1] ex'),
    ('check_analytic_gradient', l3_g_penalty_swapped_vars, 'X_grad and Theta_grad each is regularized with the other matrix. Hint: X_grad gets + lam *'),
    ('check_analytic_gradient', l3_g_x_only, 'it returned one value (one array of shape (3, 2)) instead of the pair (X_grad, Theta_grad)'),
    ('check_analytic_gradient', l3_g_mask_from_y, 'X_grad differs from cflib.gradient on the fixed 3x2 problem with lam=0: at X_grad[2, 1] ex'),
    ('check_analytic_gradient', l3_g_lam_squared, 'X_grad and Theta_grad each is right for lam = 0 but wrong for lam > 0. Hint: the penalty l'),
    ('check_analytic_gradient', l3_g_x_in_place, 'it changed its argument X in place: work on a copy (X = X.copy()) or build new arrays, so '),
    ('check_gradient_sparse', l3_gs_no_error_factor, 'X_grad differs from cflib.gradient_sparse on the fixed 3x2 problem with lam=0: at X_grad[1'),
    ('check_gradient_sparse', l3_gs_sign_flipped, 'X_grad and Theta_grad each has the errors with the wrong sign. Hint: the error is predicti'),
    ('check_gradient_sparse', l3_gs_theta_no_lam, 'X_grad is right, but Theta_grad misses its regularization term. Hint: add lam times the ma'),
    ('check_user_gradient', l3_ug_sign, 'theta_grad has the errors with the wrong sign. Hint: the error is prediction minus rating:'),
    ('check_user_gradient', l3_ug_mean, 'theta_grad differs from cflib.objective.user_gradient on user j=0 of the fixed 3x2 problem'),
    ('check_user_gradient', l3_ug_theta_in_place, 'it changed its argument Theta in place: work on a copy (Theta = Theta.copy()) or build new'),
    ('check_user_gradient', l3_ug_x_grad_row, 'theta_grad differs from cflib.objective.user_gradient on user j=0 of the fixed 3x2 problem'),
    ('check_numerical_gradient', l3_ng_over_eps_central, 'the numerical gradient is exactly twice the right value (at X[3, 2] expected -15.7975, got'),
    ('check_numerical_gradient', l3_ng_negated, 'the numerical gradient differs from cflib.gradcheck.numerical_gradient on the cost of a 4x'),
    ('check_numerical_gradient', l3_ng_list_call, 'it raised TypeError'),
    ('check_numerical_gradient', l3_ng_restore_by_arithmetic, 'it changed its argument params in place: put every entry back after perturbing it, or pert'),
    ('check_numerical_gradient', l3_ng_float32_copies, 'the numerical gradient differs from cflib.gradcheck.numerical_gradient on the cost of a 4x'),
    ('check_buggy_gradient', l3_bug_tiny_relative, 'your gradient differs from cflib.gradient, but by a relative error of at most 5.0e-11 on t'),
    ('check_buggy_gradient', l3_bug_shapes_swapped, 'it returned X_grad of shape (2, 3), expected (3, 2), the shape of X: a gradient check stop'),
    ('check_buggy_gradient', l3_bug_returns_none, 'it returned None instead of the pair (X_grad, Theta_grad): is the `return` statement missi'),
    ('check_buggy_gradient', l3_bug_three_blocks, "it returned 3 values instead of the pair (X_grad, Theta_grad) (on the check's 10 problems)"),
    ('check_gradient_descent_step', l3_st_normalized, 'X_new differs from cflib.train.gradient_descent_step on the fixed 3x2 problem with lam=0, '),
    ('check_gradient_descent_step', l3_st_double_decay, 'X_new and Theta_new each is right for lam = 0 but wrong for lam > 0. Hint: the gradient in'),
    ('check_gradient_descent_step', l3_st_per_rating, 'X_new differs from cflib.train.gradient_descent_step on the fixed 3x2 problem with lam=0, '),
    ('check_gradient_descent_step', l3_st_clipped, 'X_new differs from cflib.train.gradient_descent_step on the fixed 3x2 problem with lam=0, '),
    ('check_gradient_descent_step', l3_st_lr_squared, 'X_new differs from cflib.train.gradient_descent_step on the fixed 3x2 problem with lam=0, '),
    ('check_normalize', l3_nz_zscore, 'movie_mean is right, but Y_norm differs from cflib.train.normalize_ratings on the fixed 3x'),
    ('check_normalize', l3_nz_broadcast_wrong_axis, 'movie_mean is right, but Y_norm differs from cflib.train.normalize_ratings on a random squ'),
    ('check_normalize', l3_nz_fallback_median, 'Y_norm is right, but movie_mean is wrong only for the movie'),
    ('check_normalize', l3_nz_mean_column, 'movie_mean has shape (3, 1), expected (3,) (on the fixed 3x2 problem). Hint: movie_mean sh'),
    ('check_normalize', l3_nz_fallback_rated_movie_count, 'Y_norm is right, but movie_mean is wrong only for the movie'),
    ('check_normalize', l3_nz_r_in_place, 'it changed its argument R in place: work on a copy (R = R.copy()) or build new arrays, so '),
    ('check_rmse', l3_rm_diff_of_squares, 'the RMSE differs from cflib.evaluate.rmse on the fixed 4 predictions: expected 0.612372, g'),
    ('check_rmse', l3_rm_relative, 'the RMSE differs from cflib.evaluate.rmse on the fixed 4 predictions: expected 0.612372, g'),
    ('check_rmse', l3_rm_median, 'the RMSE differs from cflib.evaluate.rmse on the fixed 4 predictions: expected 0.612372, g'),
    ('check_rmse', l3_rm_in_place, 'it changed its argument predictions in place: work on a copy (predictions = predictions.co'),
    ('check_rmse', l3_rm_tuple, 'it returned a tuple of 2 items instead of the RMSE (one number): return the number itself '),
    ('check_rmse', l3_rm_n_plus_one, 'the RMSE differs from cflib.evaluate.rmse on the fixed 4 predictions: expected 0.612372, g'),
    ('check_fold_in', l3_fi_marquardt, 'theta differs from cflib.recommend.fold_in on 5 ratings of 8 movies with k=2, lam=0.1: at '),
    ('check_fold_in', l3_fi_one_based, 'theta differs from cflib.recommend.fold_in on 5 ratings of 8 movies with k=2, lam=0.1: at '),
    ('check_fold_in', l3_fi_sqrt_lam, 'theta differs from cflib.recommend.fold_in on 5 ratings of 8 movies with k=2, lam=0.1: at '),
    ('check_fold_in', l3_fi_rhs_uses_all_x, 'theta differs from cflib.recommend.fold_in on 5 ratings of 8 movies with k=2, lam=0.1: at '),
    ('check_precision_at_k', l3_pk_excludes_relevant, 'precision@k differs from cflib.ranking.precision_at_k on 8 movies, train movies 0 and 2 sc'),
    ('check_precision_at_k', l3_pk_skip_first, 'precision@k differs from cflib.ranking.precision_at_k on 6 movies, three tied at 0.5 (a ti'),
    ('check_precision_at_k', l3_pk_candidates_unmapped, 'so the list holds wrong movie ids'),
    ('check_precision_at_k', l3_pk_hits_over_relevant_in_candidates, 'precision@k divides the hits by min(k, |relevant|), the normalizer of AP and NDCG. Hint: p'),
    ('check_precision_at_k', l3_pk_scores_from_relevant_only, 'precision@k differs from cflib.ranking.precision_at_k on 8 movies, train movies 0 and 2 sc'),
    ('check_ndcg_at_k', l3_nd_candidates_unmapped, 'so the list holds wrong movie ids'),
    ('check_ndcg_at_k', l3_nd_no_cutoff, 'NDCG@k differs from cflib.ranking.ndcg_at_k on 8 movies, train movies 0 and 2 scored highe'),
    ('check_ndcg_at_k', l3_nd_zero_based_log, 'NDCG@k contains NaN (on 8 movies, train movies 0 and 2 scored highest, 2 relevant, k=3). H'),
    ('check_ndcg_at_k', l3_nd_over_len_relevant, 'NDCG@k differs from cflib.ranking.ndcg_at_k on 8 movies, train movies 0 and 2 scored highe'),
    ('check_ndcg_at_k', l3_nd_idcg_all_relevant, 'NDCG@k divides by the ideal DCG of all |relevant| hits, not capped at k. Hint: the ideal l'),
    ('check_implicit_row', l3_im_sqrt_c, 'theta differs from cflib.implicit_als.implicit_row on 4 interactions of 10 movies, k=2, la'),
    ('check_implicit_row', l3_im_x_in_place, 'it changed its argument X in place: work on a copy (X = X.copy()) or build new arrays, so '),
    ('check_implicit_row', l3_im_double_lam, 'theta differs from cflib.implicit_als.implicit_row on 4 interactions of 10 movies, k=2, la'),
    ('check_implicit_row', l3_im_c_normalized, 'theta differs from cflib.implicit_als.implicit_row on 4 interactions of 10 movies, k=2, la'),
    ('check_implicit_row', l3_im_rhs_all_x, 'theta differs from cflib.implicit_als.implicit_row on 4 interactions of 10 movies, k=2, la'),
    ('check_sample_row', l3_sr_tau_on_prior, 'the covariance of your draws and the distribution of your draws are right, but the mean of'),
    ('check_sample_row', l3_sr_lam_everywhere, 'the distribution of your draws is right, but the mean of your draws differs from cflib.gib'),
    ('check_sample_row', l3_sr_reseeded, 'it returned the same w on every call, and it is no mean either: the noise must change from'),
    ('check_sample_row', l3_sr_no_tau_in_a, 'the distribution of your draws is right, but the mean of your draws and the covariance of '),
    ('check_sample_row', l3_sr_two_z_averaged, 'the mean of your draws and the distribution of your draws are right, but the covariance of'),
    ('check_sample_row', l3_sr_uniform_noise, 'the mean of your draws and the covariance of your draws are right, but the distribution of'),
    ('check_row_penalty', l3_rp_squared_count, 'P differs from cflib.als_wr.row_penalty on 3 rows rated 2, 0 and 3 times, k=2, reg_param=0'),
    ('check_row_penalty', l3_rp_plus, 'P differs from cflib.als_wr.row_penalty on 3 rows rated 2, 0 and 3 times, k=2, reg_param=0'),
    ('check_row_penalty', l3_rp_histogram, 'P differs from cflib.als_wr.row_penalty on 20 ratings of 6 rows (the last 2 unrated), k=3,'),
    ('check_row_penalty', l3_rp_sorts_rows, 'it changed its argument rows in place: work on a copy (rows = rows.copy()) or build new ar'),
    ('check_row_penalty', l3_rp_over_k, 'P differs from cflib.als_wr.row_penalty on 3 rows rated 2, 0 and 3 times, k=2, reg_param=0'),
    ('check_fold_in', l3_fi_zeroes_x_after, 'it changed its argument X in place: work on a copy (X = X.copy()) or build new arrays, so '),
    ('check_fold_in', l3_fi_ratings_in_place, 'it changed its argument ratings in place: work on a copy (ratings = ratings.copy()) or bui'),
    ('check_cost_sparse', l3_cs_penalty_unique_compacted, 'the cost is right for lam = 0 but wrong for lam > 0. Hint: the penalty is lam/2 * (sum(X**'),
    ('check_row_penalty', l3_rp_unique_compacted, 'P differs from cflib.als_wr.row_penalty on 3 rows rated 2, 0 and 3 times, k=2, reg_param=0'),
    ('check_precision_at_k', l3_pk_ties_by_higher_index, 'precision@k breaks a tie by the higher movie index: np.argsort(scores)[::-1] reverses the '),
    ('check_ndcg_at_k', l3_nd_graded_gain, 'NDCG@k differs from cflib.ranking.ndcg_at_k on 8 movies, train movies 0 and 2 scored highe'),
]

THIRD_RIGHT = [
    ('check_to_dense', l3_dense_via_flat),
    ('check_movie_means', l3_means_via_matmul),
    ('check_predict', l3_predict_outer_loop),
    ('check_truncated_svd', l3_svd_via_eig_of_mmt),
    ('check_cost', l3_cost_nan_to_num),
    ('check_cost', l3_cost_loop_zip),
    ('check_cost_sparse', l3_cs_loop),
    ('check_analytic_gradient', l3_g_einsum_loop_free),
    ('check_gradient_sparse', l3_gs_sparse_matrix),
    ('check_user_gradient', l3_ug_where_column),
    ('check_numerical_gradient', l3_ng_ndindex),
    ('check_buggy_gradient', l3_bug_transposed_e),
    ('check_buggy_gradient', l3_bug_random_noise),
    ('check_gradient_descent_step', l3_st_own_formula),
    ('check_normalize', l3_nz_masked_array),
    ('check_rmse', l3_rm_hypot),
    ('check_fold_in', l3_fi_cho_solve),
    ('check_precision_at_k', l3_pk_sorted_tuples),
    ('check_ndcg_at_k', l3_nd_lexsort),
    ('check_implicit_row', l3_im_unwatched_plus_watched),
    ('check_sample_row', l3_sr_wastes_a_draw),
    ('check_row_penalty', l3_rp_counter),
]


@pytest.mark.parametrize("check, fn, phrase", THIRD_MISTAKES, ids=[f"{c}-{f.__name__}" for c, f, _ in THIRD_MISTAKES])
def test_third_pass_mistake_fails_with_its_diagnosis(check, fn, phrase, capsys):
    test_mistake_fails_with_its_diagnosis(check, fn, phrase, capsys)


@pytest.mark.parametrize("check, fn", THIRD_RIGHT, ids=[f"{c}-{f.__name__}" for c, f in THIRD_RIGHT])
def test_third_pass_right_alternative_passes(check, fn, capsys):
    test_right_alternative_passes(check, fn, capsys)


def test_sample_row_in_float32_gets_the_float32_note(capsys):
    """Every check says when a result is float32; the sampler's too (a fresh learner's pass found it silent)."""
    def sample_f32(F, t, tau, nu, lam, rng):
        A = tau * F.T @ F + np.diag(lam)
        L = np.linalg.cholesky(A)
        m = np.linalg.solve(A, tau * F.T @ t + lam * nu)
        return (m + np.linalg.solve(L.T, rng.standard_normal(nu.size))).astype(np.float32)

    line, _ = _line("check_sample_row", sample_f32, capsys)
    assert line.startswith("check_sample_row: PASS") and "your result is float32" in line
