"""cflib.checks.top_n and cflib.checks.implicit_feedback: right answers pass, each planted mistake gets its own diagnosis."""

import numpy as np
import pytest

from cflib import checks
from cflib.implicit_als import implicit_row
from cflib.ranking import ndcg_at_k, precision_at_k


def run(check, fn, capsys):
    got = check(fn)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    return lines[0], got


def stands_in(got, reference) -> bool:
    """The check returned cflib's reference wrapped as a stand-in that says so."""
    return isinstance(got, checks.StandIn) and got.reference is reference and "stands in" in str(got)


def _top(scores, train, k):
    s = np.asarray(scores, float).copy()
    s[train] = -np.inf
    return np.argsort(-s, kind="stable")[:k]


def precision_ok(scores, train_movies, relevant, k):
    return np.isin(_top(scores, train_movies, k), relevant).sum() / k


def ndcg_ok(scores, train_movies, relevant, k):
    rel = np.isin(_top(scores, train_movies, k), relevant)
    disc = 1 / np.log2(np.arange(2, k + 2))
    return (rel * disc).sum() / disc[:min(k, len(relevant))].sum()


def row_ok(X, movies, c, lam):
    XN = X[movies]
    A = X.T @ X + XN.T @ np.diag(c - 1) @ XN + lam * np.eye(X.shape[1])
    return np.linalg.solve(A, XN.T @ c)


def test_references_agree_with_the_batched_code():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(20)
    assert precision_at_k(s, [0, 1], [2, 3, 4], 5) == pytest.approx(precision_ok(s, [0, 1], [2, 3, 4], 5))
    assert ndcg_at_k(s, [0, 1], [2, 3, 4], 5) == pytest.approx(ndcg_ok(s, [0, 1], [2, 3, 4], 5))
    X = rng.standard_normal((9, 3))
    np.testing.assert_allclose(implicit_row(X, np.array([1, 4]), np.array([3.0, 6.0]), 0.5),
                               row_ok(X, np.array([1, 4]), np.array([3.0, 6.0]), 0.5))


@pytest.mark.parametrize("check, fn", [(checks.check_precision_at_k, precision_ok),
                                       (checks.check_ndcg_at_k, ndcg_ok),
                                       (checks.check_implicit_row, row_ok)])
def test_right_answers_pass(check, fn, capsys):
    line, got = run(check, fn, capsys)
    assert "PASS" in line and got is fn


def _todo(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check", [checks.check_precision_at_k, checks.check_ndcg_at_k, checks.check_implicit_row])
def test_not_implemented_yet_returns_the_reference(check, capsys):
    line, got = run(check, _todo, capsys)
    assert "not implemented yet" in line and got is not _todo and isinstance(got, checks.StandIn)


def p_train_counted(s, t, r, k):
    return np.isin(np.argsort(-np.asarray(s))[:k], r).sum() / k


def p_recall(s, t, r, k):
    return np.isin(_top(s, t, k), r).sum() / len(r)


def p_min(s, t, r, k):
    return np.isin(_top(s, t, k), r).sum() / min(k, len(r))


@pytest.mark.parametrize("fn, phrase", [
    (p_train_counted, "counts the movies rated in train"),
    (p_recall, "that is recall@k"),
    (p_min, "min(k, |relevant|), the normalizer"),
])
def test_precision_mistakes(fn, phrase, capsys):
    line, got = run(checks.check_precision_at_k, fn, capsys)
    assert "FAIL" in line and phrase in line, line
    assert stands_in(got, precision_at_k)


def n_train_counted(s, t, r, k):
    rel = np.isin(np.argsort(-np.asarray(s))[:k], r)
    disc = 1 / np.log2(np.arange(2, k + 2))
    return (rel * disc).sum() / disc[:min(k, len(r))].sum()


def n_log2_r(s, t, r, k):
    rel = np.isin(_top(s, t, k), r)
    disc = 1 / np.log2(np.arange(1, k + 1))
    return (rel * disc).sum() / disc[:min(k, len(r))].sum()


def n_log2_r2(s, t, r, k):
    rel = np.isin(_top(s, t, k), r)
    disc = 1 / np.log2(np.arange(1, k + 1) + 2)
    return (rel * disc).sum() / disc[:min(k, len(r))].sum()


def n_ideal_k(s, t, r, k):
    rel = np.isin(_top(s, t, k), r)
    disc = 1 / np.log2(np.arange(2, k + 2))
    return (rel * disc).sum() / disc.sum()


def n_dcg_only(s, t, r, k):
    rel = np.isin(_top(s, t, k), r)
    return (rel / np.log2(np.arange(2, k + 2))).sum()


@pytest.mark.parametrize("fn, phrase", [
    (n_train_counted, "counts the movies rated in train"),
    (n_log2_r, "off-by-one in the discount: log2(r)"),
    (n_log2_r2, "uses log2(r + 2)"),
    (n_ideal_k, "ideal DCG of k hits instead of min(k, |relevant|)"),
    (n_dcg_only, "without the normalization"),
])
def test_ndcg_mistakes(fn, phrase, capsys):
    line, got = run(checks.check_ndcg_at_k, fn, capsys)
    assert "FAIL" in line and phrase in line, line
    assert stands_in(got, ndcg_at_k)


def r_c_not_c_minus_i(X, m, c, lam):
    XN = X[m]
    return np.linalg.solve(X.T @ X + XN.T @ np.diag(c) @ XN + lam * np.eye(X.shape[1]), XN.T @ c)


def r_no_gram(X, m, c, lam):
    XN = X[m]
    return np.linalg.solve(XN.T @ np.diag(c) @ XN + lam * np.eye(X.shape[1]), XN.T @ c)


def r_no_lam(X, m, c, lam):
    XN = X[m]
    return np.linalg.solve(X.T @ X + XN.T @ np.diag(c - 1) @ XN, XN.T @ c)


def r_no_conf(X, m, c, lam):
    XN = X[m]
    return np.linalg.solve(X.T @ X + XN.T @ np.diag(c - 1) @ XN + lam * np.eye(X.shape[1]), XN.sum(axis=0))


@pytest.mark.parametrize("fn, phrase", [
    (r_c_not_c_minus_i, "uses C instead of C - I"),
    (r_no_gram, "leaves out X^T X"),
    (r_no_lam, "forgets lam"),
    (r_no_conf, "no confidence on the right-hand side"),
])
def test_implicit_row_mistakes(fn, phrase, capsys):
    line, got = run(checks.check_implicit_row, fn, capsys)
    assert "FAIL" in line and phrase in line, line
    assert stands_in(got, implicit_row)


def test_wrong_shape_is_reported(capsys):
    line, _ = run(checks.check_implicit_row, lambda X, m, c, lam: np.zeros((X.shape[1], 1)), capsys)
    assert "FAIL" in line and "shape" in line


def test_a_column_theta_is_told_to_be_1d(capsys):
    line, got = run(checks.check_implicit_row, lambda X, m, c, lam: row_ok(X, m, c, lam)[:, None], capsys)
    assert "FAIL" in line and "shape (2, 1), expected (2,)" in line and "1-D" in line, line
    assert stands_in(got, implicit_row)
