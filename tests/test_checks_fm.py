"""cflib.checks.factorization (notebook 13): right answers of any method pass, planted mistakes get their own diagnosis.

As tests/test_checks_evaluation.py: one printed line per check, the learner's function returned after a PASS,
cflib's reference standing in (and saying so) after a FAIL or "not implemented yet".
"""

import numpy as np
import pytest

from cflib import checks
from cflib.checks.capture import capture
from cflib.fm import pairwise, pairwise_naive, predict_dense
from cflib.fm_sgd import rating_gradient, rating_step
from cflib.gradcheck import numerical_gradient
from test_checks_evaluation import run, stands_in, todo  # one line per check, the stand-in, a todo


# ------------------------------------------------------------------ right answers, several ways
def pw_ok(X, V):
    return 0.5 * ((X @ V) ** 2 - (X ** 2) @ (V ** 2)).sum(axis=1)


def pw_loop(X, V):
    """The definition, O(k n^2): a double loop over the pairs i < j."""
    n, p = X.shape
    out = np.zeros(n)
    for t in range(n):
        for i in range(p):
            for j in range(i + 1, p):
                out[t] += V[i] @ V[j] * X[t, i] * X[t, j]
    return out


def pw_einsum(X, V):
    G = V @ V.T
    return 0.5 * (np.einsum("ti,ij,tj->t", X, G, X) - np.einsum("ti,ii,ti->t", X, G, X))


def pw_per_factor(X, V):
    out = np.zeros(X.shape[0])
    for f in range(V.shape[1]):
        s = X @ V[:, f]
        out += 0.5 * (s * s - (X * X) @ (V[:, f] ** 2))
    return out


def pw_triu(X, V):
    G = np.triu(V @ V.T, k=1)
    return np.einsum("ti,ij,tj->t", X, G, X)


def grad_ok(x, y, w0, w, V):
    s = x @ V
    e = w0 + w @ x + 0.5 * (s @ s - ((x ** 2) @ (V ** 2)).sum()) - y
    return e, e * x, e * x[:, None] * (s - V * x[:, None])


def grad_loop(x, y, w0, w, V):
    p, k = V.shape
    yhat = w0 + sum(w[i] * x[i] for i in range(p)) + sum(V[i] @ V[j] * x[i] * x[j] for i in range(p)
                                                          for j in range(i + 1, p))
    e = yhat - y
    gV = np.zeros((p, k))
    for i in range(p):
        for f in range(k):
            gV[i, f] = e * x[i] * sum(V[j, f] * x[j] for j in range(p) if j != i)
    return e, e * x, gV


def grad_outer(x, y, w0, w, V):
    """s_f - v_if x_i written as the sum over j != i: (x x^T with a zero diagonal) @ V."""
    M = np.outer(x, x)
    np.fill_diagonal(M, 0.0)
    e = w0 + w @ x + 0.5 * np.sum(M * (V @ V.T)) - y
    return float(e), e * x, e * (M @ V)


def step_ok(x, y, w0, w, V, lr, lam):
    g0, gw, gV = grad_ok(x, y, w0, w, V)
    return w0 - lr * g0, w - lr * (gw + lam * w), V - lr * (gV + lam * V)


def step_copy_first(x, y, w0, w, V, lr, lam):
    """In place, but on copies: the caller's arrays are safe."""
    w, V = w.copy(), V.copy()
    g0, gw, gV = grad_loop(x, y, w0, w, V)
    w -= lr * (gw + lam * w)
    V *= 1 - lr * lam
    V -= lr * gV
    return w0 - lr * g0, w, V


def step_decay_form(x, y, w0, w, V, lr, lam):
    _, gw, gV = grad_outer(x, y, w0, w, V)
    e = gw[np.flatnonzero(x)[0]] / x[np.flatnonzero(x)[0]]
    return w0 - lr * e, (1 - lr * lam) * w - lr * gw, (1 - lr * lam) * V - lr * gV


RIGHT = [
    (checks.check_fm_pairwise, pw_ok, pairwise),
    (checks.check_fm_pairwise, pw_loop, pairwise),
    (checks.check_fm_pairwise, pw_einsum, pairwise),
    (checks.check_fm_pairwise, pw_per_factor, pairwise),
    (checks.check_fm_pairwise, pw_triu, pairwise),
    (checks.check_fm_pairwise, pairwise_naive, pairwise),
    (checks.check_fm_gradient, grad_ok, rating_gradient),
    (checks.check_fm_gradient, grad_loop, rating_gradient),
    (checks.check_fm_gradient, grad_outer, rating_gradient),
    (checks.check_sgd_step, step_ok, rating_step),
    (checks.check_sgd_step, step_copy_first, rating_step),
    (checks.check_sgd_step, step_decay_form, rating_step),
]


@pytest.mark.parametrize("check, fn, reference", RIGHT, ids=[f.__name__ for _, f, _ in RIGHT])
def test_right_answers_pass_and_come_back(check, fn, reference, capsys):
    line, got = run(check, fn, capsys)
    assert line.startswith(f"{check.__name__}: PASS - {fn.__name__} agrees with "), line
    assert got is fn


@pytest.mark.parametrize("check, reference", [(checks.check_fm_pairwise, pairwise),
                                              (checks.check_fm_gradient, rating_gradient),
                                              (checks.check_sgd_step, rating_step)])
def test_not_written_yet_stands_in(check, reference, capsys):
    line, got = run(check, todo, capsys)
    assert line.startswith(f"{check.__name__}: not implemented yet - later cells use cflib."), line
    assert stands_in(got, reference)


# ------------------------------------------------------------------ mistakes
def pw_no_half(X, V):
    return 2 * pw_ok(X, V)


def pw_all_pairs(X, V):  # i != j: every pair twice
    G = V @ V.T
    return np.einsum("ti,ij,tj->t", X, G, X) - np.einsum("ti,ii,ti->t", X, G, X)


def pw_no_squares(X, V):
    return 0.5 * ((X @ V) ** 2).sum(axis=1)


def pw_loop_i_le_j(X, V):
    n, p = X.shape
    out = np.zeros(n)
    for t in range(n):
        for i in range(p):
            for j in range(i, p):
                out[t] += V[i] @ V[j] * X[t, i] * X[t, j]
    return out


def pw_x_squared_only(X, V):
    return 0.5 * ((X @ V) ** 2 - (X ** 2) @ V).sum(axis=1)


def pw_v_squared_only(X, V):
    return 0.5 * ((X @ V) ** 2 - X @ (V ** 2)).sum(axis=1)


def pw_wrong_axis(X, V):
    return 0.5 * ((X @ V) ** 2 - (X ** 2) @ (V ** 2)).sum(axis=0)


def pw_per_factor_terms(X, V):
    return 0.5 * ((X @ V) ** 2 - (X ** 2) @ (V ** 2))


def pw_everything(X, V):
    return 0.5 * ((X @ V) ** 2 - (X ** 2) @ (V ** 2)).sum()


def pw_list(X, V):
    return pw_ok(X, V).tolist()


def pw_matrix(X, V):
    return np.asmatrix(pw_ok(X, V))


def pw_empty(X, V):
    out = np.empty(X.shape[0])
    rows = np.flatnonzero((X != 0).sum(axis=1) > 1)
    out[rows] = pw_ok(X[rows], V)
    return out


def grad_sign(x, y, w0, w, V):
    return tuple(-np.asarray(g) for g in grad_ok(x, y, w0, w, V))


def grad_no_square_term(x, y, w0, w, V):
    e, gw, _ = grad_ok(x, y, w0, w, V)
    return e, gw, e * x[:, None] * (x @ V)[None, :]


def grad_no_x_factor(x, y, w0, w, V):
    e, gw, _ = grad_ok(x, y, w0, w, V)
    return e, gw, e * ((x @ V)[None, :] - V * x[:, None])


def grad_x_alone(x, y, w0, w, V):
    e, gw, _ = grad_ok(x, y, w0, w, V)
    return e, gw, np.tile((e * x)[:, None], (1, V.shape[1]))


def grad_of_yhat(x, y, w0, w, V):
    e, gw, gV = grad_ok(x, y, w0, w, V)
    return 1.0, x, gV / e


def grad_no_g0(x, y, w0, w, V):
    return grad_ok(x, y, w0, w, V)[1:]


def grad_zero_g0(x, y, w0, w, V):
    return (0.0, *grad_ok(x, y, w0, w, V)[1:])


def grad_transposed(x, y, w0, w, V):
    e, gw, gV = grad_ok(x, y, w0, w, V)
    return e, gw, gV.T


def grad_text(x, y, w0, w, V):
    e, gw, gV = grad_ok(x, y, w0, w, V)
    return str(e), gw, gV


def grad_complex(x, y, w0, w, V):
    e, gw, gV = grad_ok(x, y, w0, w, V)
    return e, gw + 0j, gV


def step_w0_penalised(x, y, w0, w, V, lr, lam):
    w0n, wn, Vn = step_ok(x, y, w0, w, V, lr, lam)
    return w0n - lr * lam * w0, wn, Vn


def step_in_place(x, y, w0, w, V, lr, lam):
    g0, gw, gV = grad_ok(x, y, w0, w, V)
    w -= lr * (gw + lam * w)
    V -= lr * (gV + lam * V)
    return w0 - lr * g0, w, V


def step_sequential(x, y, w0, w, V, lr, lam):
    """w0 and w first, then V's gradient from the new prediction."""
    g0, gw, _ = grad_ok(x, y, w0, w, V)
    w0n, wn = w0 - lr * g0, w - lr * (gw + lam * w)
    _, _, gV = grad_ok(x, y, w0n, wn, V)
    return w0n, wn, V - lr * (gV + lam * V)


def step_rows_in_turn(x, y, w0, w, V, lr, lam):
    g0, gw, _ = grad_ok(x, y, w0, w, V)
    Vn = V.copy()
    for i in range(V.shape[0]):
        s = x @ Vn
        e = w0 + w @ x + 0.5 * (s @ s - ((x ** 2) @ (Vn ** 2)).sum()) - y
        Vn[i] = Vn[i] - lr * (e * x[i] * (s - Vn[i] * x[i]) + lam * Vn[i])
    return w0 - lr * g0, w - lr * (gw + lam * w), Vn


def step_uphill(x, y, w0, w, V, lr, lam):
    return step_ok(x, y, w0, w, V, -lr, lam)


def step_no_lam(x, y, w0, w, V, lr, lam):
    return step_ok(x, y, w0, w, V, lr, 0.0)


def step_half_lam(x, y, w0, w, V, lr, lam):
    return step_ok(x, y, w0, w, V, lr, lam / 2)


def step_lam_without_lr(x, y, w0, w, V, lr, lam):
    g0, gw, gV = grad_ok(x, y, w0, w, V)
    return w0 - lr * g0, w - lr * gw - lam * w, V - lr * gV - lam * V


def step_active_only(x, y, w0, w, V, lr, lam):
    g0, gw, gV = grad_ok(x, y, w0, w, V)
    on = (x != 0).astype(float)
    return w0 - lr * g0, w - lr * (gw + lam * on * w), V - lr * (gV + lam * on[:, None] * V)


def step_two_values(x, y, w0, w, V, lr, lam):
    return step_ok(x, y, w0, w, V, lr, lam)[1:]


def m(check, phrases, fn):
    return pytest.param(check, phrases, fn, id=fn.__name__)


MISTAKES = [
    m(checks.check_fm_pairwise, ["is twice the sum over the pairs i < j", "the 1/2 is missing"], pw_no_half),
    m(checks.check_fm_pairwise, ["is twice the sum", "i != j instead of i < j"], pw_all_pairs),
    m(checks.check_fm_pairwise, ["includes the terms i = j, half of each", "not subtracted"], pw_no_squares),
    m(checks.check_fm_pairwise, ["the sum runs over i <= j", "range(i + 1, p)"], pw_loop_i_le_j),
    m(checks.check_fm_pairwise, ["x is squared but V is not"], pw_x_squared_only),
    m(checks.check_fm_pairwise, ["V is squared but x is not"], pw_v_squared_only),
    m(checks.check_fm_pairwise, ["has shape (2,), expected (3,)", "the sum ran over the rows of X (axis=0)"],
      pw_wrong_axis),
    m(checks.check_fm_pairwise, ["has shape (3, 2), expected (3,)", "sum them over the k factors"],
      pw_per_factor_terms),
    m(checks.check_fm_pairwise, ["has shape (), expected (3,)", "the sum ran over everything"], pw_everything),
    m(checks.check_fm_pairwise, ["returned a Python list"], pw_list),
    m(checks.check_fm_pairwise, ["returned an np.matrix"], pw_matrix),
    m(checks.check_fm_pairwise, ["holds leftover memory", "np.zeros"], pw_empty),
    m(checks.check_fm_gradient, ["g0 and gw and gV each has the wrong sign", "e = yhat - y"], grad_sign),
    m(checks.check_fm_gradient, ["g0 and gw are right, but gV leaves out the -v_if x_i^2 term"],
      grad_no_square_term),
    m(checks.check_fm_gradient, ["gV leaves out the factor x_i"], grad_no_x_factor),
    m(checks.check_fm_gradient, ["gV is e * x_i in every column"], grad_x_alone),
    m(checks.check_fm_gradient, ["the factor e is missing"], grad_of_yhat),
    m(checks.check_fm_gradient, ["returned 2 values instead of the three values (g0, gw, gV): is g0 missing?"],
      grad_no_g0),
    m(checks.check_fm_gradient, ["gw and gV are right, but g0 is 0"], grad_zero_g0),
    m(checks.check_fm_gradient, ["gV has shape (2, 6), expected (6, 2)", "gV is transposed"], grad_transposed),
    m(checks.check_fm_gradient, ["returned text"], grad_text),
    m(checks.check_fm_gradient, ["complex"], grad_complex),
    m(checks.check_sgd_step, ["w and V are right, but w0 is penalised"], step_w0_penalised),
    m(checks.check_sgd_step, ["changed its argument w", "return new arrays"], step_in_place),
    m(checks.check_sgd_step, ["w0 and w are right, but V comes from a gradient taken after w0 and w were updated"],
      step_sequential),
    m(checks.check_sgd_step, ["V comes from rows of V updated one after the other"], step_rows_in_turn),
    m(checks.check_sgd_step, ["each moves uphill"], step_uphill),
    m(checks.check_sgd_step, ["w0 is right, but w and V each ignores lam"], step_no_lam),
    m(checks.check_sgd_step, ["lam / 2"], step_half_lam),
    m(checks.check_sgd_step, ["without lr"], step_lam_without_lr),
    m(checks.check_sgd_step, ["shrinks only the features of x"], step_active_only),
    m(checks.check_sgd_step, ["returned 2 values instead of the three values"], step_two_values),
]


@pytest.mark.parametrize("check, phrases, fn", MISTAKES)
def test_mistakes_get_their_diagnosis(check, phrases, fn, capsys):
    line, got = run(check, fn, capsys)
    assert line.startswith(f"{check.__name__}: FAIL - "), line
    for phrase in phrases:
        assert phrase in line, (phrase, line)
    assert isinstance(got, checks.StandIn)


# ------------------------------------------------------------------ the references
def test_references_are_the_gradient_and_the_step_of_the_fm():
    """rating_gradient is the numerical gradient of 0.5 * (yhat - y)^2; rating_step steps on the penalised cost."""
    spec, _ = capture(checks.check_sgd_step, todo)
    for case in spec.cases:
        x, y, w0, w, V, lr, lam = case.args

        def loss(a0, a, B):
            return 0.5 * (predict_dense(x[None, :], float(a0[0]), a, B)[0] - y) ** 2

        num = numerical_gradient(loss, [np.array([w0]), w, V])
        g0, gw, gV = rating_gradient(x, y, w0, w, V)
        np.testing.assert_allclose([g0], num[0], atol=1e-6)
        np.testing.assert_allclose(gw, num[1], atol=1e-6)
        np.testing.assert_allclose(gV, num[2], atol=1e-6)
        w_copy, V_copy = w.copy(), V.copy()
        n0, nw, nV = rating_step(x, y, w0, w, V, lr, lam)
        assert np.array_equal(w, w_copy) and np.array_equal(V, V_copy)
        np.testing.assert_allclose(nw, w - lr * (num[1] + lam * w), atol=1e-6)
        np.testing.assert_allclose(nV, V - lr * (num[2] + lam * V), atol=1e-6)
        assert n0 == pytest.approx(w0 - lr * num[0][0], abs=1e-6)


def test_the_cases_hold_features_that_are_off_and_weighted():
    spec, _ = capture(checks.check_fm_pairwise, todo)
    for case in spec.cases[1:]:
        X, V = case.args
        assert (X == 0).all(axis=0).any() and (X == 0).all(axis=1).any() and ((X != 0).sum(axis=1) == 1).any()
        assert X.shape[0] != V.shape[1] and V.shape[0] != V.shape[1]  # a wrong axis shows as a wrong shape
    spec, _ = capture(checks.check_fm_gradient, todo)
    for case in spec.cases:
        x, V = case.args[0], case.args[4]
        assert (x == 0).any() and ((x != 0) & (x != 1)).any() and V.shape[0] != V.shape[1]


def test_fresh_cases_differ_and_keep_the_fixed_one():
    for check in (checks.check_fm_pairwise, checks.check_fm_gradient, checks.check_sgd_step):
        spec, _ = capture(check, todo)
        fresh, _ = capture(check, todo, fresh=5)
        assert [c.label for c in spec.cases] == [c.label for c in fresh.cases]
        assert all(np.array_equal(a, b) for a, b in zip(spec.cases[0].args[:2], fresh.cases[0].args[:2]))
        assert not np.array_equal(spec.cases[-1].args[-1 if check is not checks.check_sgd_step else 4],
                                  fresh.cases[-1].args[-1 if check is not checks.check_sgd_step else 4])
