"""A learner's pass over the exercises of notebooks 00-12: typical beginner mistakes and right alternatives.

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


def sample_no_alpha(F, t, alpha, mu, lam, rng):
    return sample_ok(F, t, 1.0, mu, lam, rng)


def sample_column(F, t, alpha, mu, lam, rng):
    return sample_ok(F, t, alpha, mu, lam, rng)[:, None]


def sample_mu_in_place(F, t, alpha, mu, lam, rng):
    mu *= lam
    A = alpha * F.T @ F + np.diag(lam)
    L = np.linalg.cholesky(A)
    return np.linalg.solve(A, alpha * F.T @ t + mu) + np.linalg.solve(L.T, rng.standard_normal(mu.size))


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
    ("check_to_dense", dense_r_from_y, "R is computed from Y as Y > 0: a centred rating of 0.0 or below is a rating"),
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
    ("check_buggy_gradient", bug_only_x, "X_grad is right, but Theta_grad still has the + sign"),
    ("check_buggy_gradient", bug_none_planted, "each still has the + sign on its penalty"),
    ("check_buggy_gradient", bug_and_no_mask, "the data part must stay right"),
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
    ("check_sample_row", sample_no_prior_mean, "ignores the prior mean mu"),
    ("check_sample_row", sample_no_alpha, "the noise precision alpha is missing"),
    ("check_sample_row", sample_column, "shape (3, 1) instead of one draw w of shape (3,)"),
    ("check_sample_row", sample_mu_in_place, "changed its argument mu in place"),
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
