"""cflib.checks.evaluation (notebook 14): right answers pass, planted mistakes get their own diagnosis.

As tests/test_checks.py: one printed line per check, the learner's function returned after a PASS,
cflib's reference standing in (and saying so) after a FAIL or "not implemented yet".
"""

import numpy as np
import pytest

from cflib import checks
from cflib.bpr import bpr_gradient, bpr_loss
from cflib.checks import evaluation
from cflib.ease import ease_weights
from cflib.gradcheck import numerical_gradient


def run(check, fn, capsys):
    got = check(fn)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    return lines[0], got


def stands_in(got, reference) -> bool:
    return isinstance(got, checks.StandIn) and got.reference is reference and "stands in" in str(got)


def todo(*args, **kwargs):
    raise NotImplementedError


# ------------------------------------------------------------------ right answers
def recall_ok(scores, relevant, negatives, k):
    candidates = np.union1d(relevant, negatives)
    top = candidates[np.argsort(-np.asarray(scores, float)[candidates], kind="stable")[:k]]
    return np.isin(top, relevant).sum() / len(relevant)


def recall_loop(scores, relevant, negatives, k):
    """A loop over candidates sorted by (-score, movie index): the rule written out."""
    candidates = sorted(set(int(m) for m in relevant) | set(int(m) for m in negatives),
                        key=lambda m: (-float(scores[m]), m))
    return sum(m in set(int(r) for r in relevant) for m in candidates[:k]) / len(relevant)


def ease_ok(G, lam):
    P = np.linalg.inv(G + lam * np.eye(len(G)))
    return np.eye(len(G)) - P / np.diag(P)


def ease_solve(G, lam):
    P = np.linalg.solve(G + lam * np.eye(len(G)), np.eye(len(G)))
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    return B


def bpr_ok(X, Theta, users, pos, neg, lam):
    T, d = Theta[users], X[pos] - X[neg]
    g = 1.0 / (1.0 + np.exp(np.sum(T * d, axis=1)))[:, None]
    Xg, Tg = np.zeros_like(X), np.zeros_like(Theta)
    np.add.at(Tg, users, -g * d + lam * T)
    np.add.at(Xg, pos, -g * T + lam * X[pos])
    np.add.at(Xg, neg, g * T + lam * X[neg])
    return Xg, Tg


def bpr_loop(X, Theta, users, pos, neg, lam):
    Xg, Tg = np.zeros_like(X), np.zeros_like(Theta)
    for u, i, j in zip(users, pos, neg):
        z = Theta[u] @ (X[i] - X[j])
        g = 1.0 / (1.0 + np.exp(z))
        Tg[u] += -g * (X[i] - X[j]) + lam * Theta[u]
        Xg[i] += -g * Theta[u] + lam * X[i]
        Xg[j] += g * Theta[u] + lam * X[j]
    return Xg, Tg


RIGHT = [
    (checks.check_sampled_recall, recall_ok, evaluation.sampled_recall),
    (checks.check_sampled_recall, recall_loop, evaluation.sampled_recall),
    (checks.check_ease, ease_ok, ease_weights),
    (checks.check_ease, ease_solve, ease_weights),
    (checks.check_bpr_gradient, bpr_ok, bpr_gradient),
    (checks.check_bpr_gradient, bpr_loop, bpr_gradient),
]
REF_NAMES = {checks.check_sampled_recall: "cflib.checks.evaluation.sampled_recall",
             checks.check_ease: "cflib.ease.ease_weights", checks.check_bpr_gradient: "cflib.bpr.bpr_gradient"}
REFERENCES = {check: reference for check, _, reference in RIGHT}


@pytest.mark.parametrize("check, fn, reference", RIGHT)
def test_right_answer_passes_and_is_returned(check, fn, reference, capsys):
    line, got = run(check, fn, capsys)
    assert line.startswith(f"{check.__name__}: PASS"), line
    assert got is fn


@pytest.mark.parametrize("check", list(REF_NAMES))
def test_not_implemented_returns_reference(check, capsys):
    line, got = run(check, todo, capsys)
    assert line == f"{check.__name__}: not implemented yet - later cells use {REF_NAMES[check]}.", line
    assert stands_in(got, REFERENCES[check])


@pytest.mark.parametrize("check", list(REF_NAMES))
def test_reference_passes_its_own_check(check, capsys):
    line, got = run(check, REFERENCES[check], capsys)
    assert "PASS" in line and got is REFERENCES[check], line


# ------------------------------------------------------------------ planted mistakes
def _cands(relevant, negatives):
    return np.union1d(relevant, negatives)


def recall_full_ranking(scores, relevant, negatives, k):
    return np.isin(np.argsort(-scores, kind="stable")[:k], relevant).sum() / len(relevant)


def recall_is_precision(scores, relevant, negatives, k):
    c = _cands(relevant, negatives)
    return np.isin(c[np.argsort(-scores[c], kind="stable")[:k]], relevant).sum() / k


def recall_min_normalizer(scores, relevant, negatives, k):
    c = _cands(relevant, negatives)
    return np.isin(c[np.argsort(-scores[c], kind="stable")[:k]], relevant).sum() / min(k, len(relevant))


def recall_is_hit_rate(scores, relevant, negatives, k):
    c = _cands(relevant, negatives)
    return float(np.isin(c[np.argsort(-scores[c], kind="stable")[:k]], relevant).any())


def recall_positions(scores, relevant, negatives, k):
    c = np.concatenate([relevant, negatives])
    return np.isin(np.argsort(-scores[c], kind="stable")[:k], relevant).sum() / len(relevant)


def recall_concatenated(scores, relevant, negatives, k):
    c = np.concatenate([relevant, negatives])  # relevant first: wins every tie
    return np.isin(c[np.argsort(-scores[c], kind="stable")[:k]], relevant).sum() / len(relevant)


def recall_reversed(scores, relevant, negatives, k):
    c = _cands(relevant, negatives)
    return np.isin(c[np.argsort(scores[c], kind="stable")[::-1][:k]], relevant).sum() / len(relevant)


def recall_k_plus_one(scores, relevant, negatives, k):
    c = _cands(relevant, negatives)
    return np.isin(c[np.argsort(-scores[c], kind="stable")[:k + 1]], relevant).sum() / len(relevant)


def recall_k_minus_one(scores, relevant, negatives, k):
    c = _cands(relevant, negatives)
    return np.isin(c[np.argsort(-scores[c], kind="stable")[:k - 1]], relevant).sum() / len(relevant)


def recall_ascending(scores, relevant, negatives, k):
    c = _cands(relevant, negatives)
    return np.isin(c[np.argsort(scores[c], kind="stable")[:k]], relevant).sum() / len(relevant)


def recall_as_list(scores, relevant, negatives, k):
    return [recall_ok(scores, relevant, negatives, k)]


def recall_complex(scores, relevant, negatives, k):
    return complex(recall_ok(scores, relevant, negatives, k), 0.0)


def recall_text(scores, relevant, negatives, k):
    return f"{recall_ok(scores, relevant, negatives, k):.2f}"


def _P(G, lam):
    return np.linalg.inv(G + lam * np.eye(len(G)))


def ease_no_lam(G, lam):
    P = np.linalg.inv(G)
    return np.eye(len(G)) - P / np.diag(P)


def ease_lam_everywhere(G, lam):
    P = np.linalg.inv(G + lam)
    return np.eye(len(G)) - P / np.diag(P)


def ease_rows(G, lam):
    P = _P(G, lam)
    return np.eye(len(G)) - P / np.diag(P)[:, None]


def ease_diagonal(G, lam):
    P = _P(G, lam)
    return -P / np.diag(P)


def ease_no_identity(G, lam):
    P = _P(G, lam)
    return P / np.diag(P)


def ease_sign(G, lam):
    P = _P(G, lam)
    return P / np.diag(P) - np.eye(len(G))


def ease_ridge(G, lam):
    return np.linalg.solve(G + lam * np.eye(len(G)), G)


def ease_diag_vector(G, lam):
    return np.diag(_P(G, lam))


def ease_complex(G, lam):
    return ease_ok(G, lam).astype(complex)


def _g(X, Theta, users, pos, neg, sign=-1.0):
    z = np.sum(Theta[users] * (X[pos] - X[neg]), axis=1)
    return (1.0 / (1.0 + np.exp(-sign * z)))[:, None]


def bpr_sigma_z(X, Theta, users, pos, neg, lam):
    g = _g(X, Theta, users, pos, neg, sign=1.0)
    Xg, Tg = np.zeros_like(X), np.zeros_like(Theta)
    np.add.at(Tg, users, -g * (X[pos] - X[neg]) + lam * Theta[users])
    np.add.at(Xg, pos, -g * Theta[users] + lam * X[pos])
    np.add.at(Xg, neg, g * Theta[users] + lam * X[neg])
    return Xg, Tg


def bpr_fancy_index(X, Theta, users, pos, neg, lam):
    g = _g(X, Theta, users, pos, neg)
    Xg, Tg = np.zeros_like(X), np.zeros_like(Theta)
    Tg[users] += -g * (X[pos] - X[neg]) + lam * Theta[users]
    Xg[pos] += -g * Theta[users] + lam * X[pos]
    Xg[neg] += g * Theta[users] + lam * X[neg]
    return Xg, Tg


def bpr_penalty_once(X, Theta, users, pos, neg, lam):
    Xg, Tg = bpr_ok(X, Theta, users, pos, neg, 0.0)
    return Xg + lam * X, Tg + lam * Theta


def bpr_half_lam(X, Theta, users, pos, neg, lam):
    return bpr_ok(X, Theta, users, pos, neg, lam / 2)


def bpr_no_lam(X, Theta, users, pos, neg, lam):
    return bpr_ok(X, Theta, users, pos, neg, 0.0)


def bpr_no_negative(X, Theta, users, pos, neg, lam):
    g = _g(X, Theta, users, pos, neg)
    Xg, Tg = np.zeros_like(X), np.zeros_like(Theta)
    np.add.at(Tg, users, -g * (X[pos] - X[neg]) + lam * Theta[users])
    np.add.at(Xg, pos, -g * Theta[users] + lam * X[pos])
    return Xg, Tg


def bpr_swapped(X, Theta, users, pos, neg, lam):
    g = _g(X, Theta, users, pos, neg)
    Xg, Tg = np.zeros_like(X), np.zeros_like(Theta)
    np.add.at(Tg, users, -g * (X[pos] - X[neg]) + lam * Theta[users])
    np.add.at(Xg, pos, g * Theta[users] + lam * X[pos])
    np.add.at(Xg, neg, -g * Theta[users] + lam * X[neg])
    return Xg, Tg


def bpr_theta_positive_only(X, Theta, users, pos, neg, lam):
    g = _g(X, Theta, users, pos, neg)
    Xg, Tg = bpr_ok(X, Theta, users, pos, neg, lam)
    Tg = np.zeros_like(Theta)
    np.add.at(Tg, users, -g * X[pos] + lam * Theta[users])
    return Xg, Tg


def bpr_ascent(X, Theta, users, pos, neg, lam):
    Xg, Tg = bpr_ok(X, Theta, users, pos, neg, 0.0)
    Xp, Tp = bpr_ok(X, Theta, users, pos, neg, lam)
    return Xp - 2 * Xg, Tp - 2 * Tg


def bpr_one_array(X, Theta, users, pos, neg, lam):
    return bpr_ok(X, Theta, users, pos, neg, lam)[0]


def bpr_text(X, Theta, users, pos, neg, lam):
    Xg, Tg = bpr_ok(X, Theta, users, pos, neg, lam)
    return Xg.astype(str), Tg


def m(check, phrases, fn):
    return pytest.param(check, phrases, fn, id=fn.__name__)


MISTAKES = [
    m(checks.check_sampled_recall, ["ranks every movie, not only the candidates"], recall_full_ranking),
    m(checks.check_sampled_recall, ["divides the hits by k", "precision@k"], recall_is_precision),
    m(checks.check_sampled_recall, ["min(k, |relevant|)"], recall_min_normalizer),
    m(checks.check_sampled_recall, ["hit rate, not recall"], recall_is_hit_rate),
    m(checks.check_sampled_recall, ["positions in the candidate array"], recall_positions),
    m(checks.check_sampled_recall, ["order of the candidate array", "lower movie index"], recall_concatenated),
    m(checks.check_sampled_recall, ["higher movie index"], recall_reversed),
    m(checks.check_sampled_recall, ["first k + 1"], recall_k_plus_one),
    m(checks.check_sampled_recall, ["first k - 1"], recall_k_minus_one),
    m(checks.check_sampled_recall, ["from the lowest score up"], recall_ascending),
    m(checks.check_sampled_recall, ["returned a list", "one number"], recall_as_list),
    m(checks.check_sampled_recall, ["complex"], recall_complex),
    m(checks.check_sampled_recall, ["str"], recall_text),
    m(checks.check_ease, ["ignores lam"], ease_no_lam),
    m(checks.check_ease, ["adds lam to every entry of G"], ease_lam_everywhere),
    m(checks.check_ease, ["transposed"], ease_rows),
    m(checks.check_ease, ["-1 on its diagonal"], ease_diagonal),
    m(checks.check_ease, ["without the I and the minus sign"], ease_no_identity),
    m(checks.check_ease, ["wrong sign"], ease_sign),
    m(checks.check_ease, ["unconstrained ridge solution"], ease_ridge),
    m(checks.check_ease, ["has shape", "square"], ease_diag_vector),
    m(checks.check_ease, ["complex"], ease_complex),
    m(checks.check_bpr_gradient, ["sigma(z) where"], bpr_sigma_z),
    m(checks.check_bpr_gradient, ["loses repeated rows", "np.add.at"], bpr_fancy_index),
    m(checks.check_bpr_gradient, ["every row once"], bpr_penalty_once),
    m(checks.check_bpr_gradient, ["lam / 2"], bpr_half_lam),
    m(checks.check_bpr_gradient, ["ignores lam"], bpr_no_lam),
    m(checks.check_bpr_gradient, ["Theta_grad is right", "negative movie's rows"], bpr_no_negative),
    m(checks.check_bpr_gradient, ["swaps the signs"], bpr_swapped),
    m(checks.check_bpr_gradient, ["X_grad is right", "x_i alone"], bpr_theta_positive_only),
    m(checks.check_bpr_gradient, ["log-likelihood"], bpr_ascent),
    m(checks.check_bpr_gradient, ["returned one value", "return X_grad, Theta_grad"], bpr_one_array),
    m(checks.check_bpr_gradient, ["str"], bpr_text),
]


@pytest.mark.parametrize("check, phrases, fn", MISTAKES)
def test_planted_mistake_is_diagnosed(check, phrases, fn, capsys):
    line, got = run(check, fn, capsys)
    assert line.startswith(f"{check.__name__}: FAIL - "), line
    for phrase in phrases:
        assert phrase in line, f"{phrase!r} not in {line!r}"
    assert "Traceback" not in line
    assert line.endswith(f"Until it passes, later cells use {REF_NAMES[check]}."), line
    assert stands_in(got, REFERENCES[check])


def test_each_mistake_has_its_own_diagnosis(capsys):
    seen = {}
    for param in MISTAKES:
        check, _, fn = param.values
        line, _ = run(check, fn, capsys)
        assert line not in seen, f"{fn.__name__} and {seen[line]} print the same diagnosis: {line}"
        seen[line] = fn.__name__


@pytest.mark.parametrize("check", list(REF_NAMES))
def test_each_spec_mistake_differs_from_the_reference(check):
    """Every known mistake is wrong on at least one case (else it could never be diagnosed)."""
    spec, _ = checks.engine.capture(check, todo)
    def flat(out):
        return np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in
                               (out if isinstance(out, tuple) else (out,))])

    for mistake in spec.mistakes:
        assert any(not np.allclose(flat(mistake.fn(*c.args)), flat(spec.reference(*c.args)))
                   for c in spec.cases), mistake.phrase


def test_recall_cases_cut_through_ties():
    """The tie rule decides the result on a case: the tie-breaking mistakes differ from the reference there."""
    spec, _ = checks.engine.capture(checks.check_sampled_recall, todo)
    labels = [c.label for c in spec.cases
              if recall_concatenated(*c.args) != evaluation.sampled_recall(*c.args)]
    assert any("tie" in label for label in labels)
    assert any(recall_reversed(*c.args) != evaluation.sampled_recall(*c.args) for c in spec.cases)


def test_sampled_recall_written_out():
    scores = np.array([0.2, 0.9, 0.7, 0.4, 0.1, 0.6, 0.8, 0.3, 0.95, 0.5])
    # candidates 0, 2, 3, 5, 7, 8 ranked: 8 (0.95), 2 (0.7), 5 (0.6), ... ; k=2 finds 2 of {2, 5}
    assert evaluation.sampled_recall(scores, [2, 5], [0, 3, 7, 8], 2) == 0.5
    assert evaluation.sampled_recall(scores, [2, 5], [0, 3, 7, 8], 3) == 1.0
    # a tie goes to the lower movie index: movie 1 (relevant) before movie 4, movie 6 (relevant) after
    tied = np.zeros(8)
    assert evaluation.sampled_recall(tied, [1, 6], [4, 5], 2) == 0.5


@pytest.mark.parametrize("args, words", [
    ((np.zeros(5), [], [1, 2], 1), "relevant is empty"),
    ((np.zeros(5), [1], [1, 2], 1), "must not contain a relevant movie"),
    ((np.zeros(5), [1], [2], 3), "k must be between 1 and the number of candidates (2)"),
])
def test_sampled_recall_refuses_bad_input(args, words):
    with pytest.raises(ValueError, match=None) as info:
        evaluation.sampled_recall(*args)
    assert words in str(info.value)


def test_bpr_reference_is_the_loss_gradient():
    """The reference the check compares with is the gradient of cflib.bpr.bpr_loss (central differences)."""
    spec, _ = checks.engine.capture(checks.check_bpr_gradient, todo)
    for case in spec.cases:
        X, Theta, users, pos, neg, lam = case.args
        num = numerical_gradient(lambda A, B: bpr_loss(A, B, users, pos, neg, lam), [X, Theta])
        for a, n in zip(bpr_gradient(*case.args), num):
            assert np.allclose(a, n, atol=1e-6)


def test_ease_reference_meets_the_constraint():
    spec, _ = checks.engine.capture(checks.check_ease, todo)
    for case in spec.cases:
        G, lam = case.args
        B = ease_weights(G, lam)
        assert np.allclose(np.diag(B), 0.0)
        # stationarity of the Lagrangian off the diagonal: (G + lam I) B - G is diagonal
        M = (G + lam * np.eye(len(G))) @ B - G
        assert np.allclose(M - np.diag(np.diag(M)), 0.0, atol=1e-9)


def recall_merged_assuming_sorted(scores, relevant, negatives, k):
    """Wrong: merges the candidates as if negatives came sorted (in notebook 14 they do not)."""
    import heapq
    c = np.array(list(heapq.merge(sorted(relevant), negatives)))
    return np.isin(c[np.argsort(-scores[c], kind="stable")[:k]], relevant).sum() / len(relevant)


def recall_without_relevant(scores, relevant, negatives, k):
    """Wrong: ranks the negatives only, so recall is 0 everywhere."""
    c = np.asarray(negatives)
    return np.isin(c[np.argsort(-scores[c], kind="stable")[:k]], relevant).sum() / len(relevant)


def test_sampled_recall_cases_catch_unsorted_candidates_and_a_recall_of_zero(capsys):
    """A learner's pass: unsorted negatives (as notebook 14 passes them) and one case with recall 1."""
    line, _ = run(checks.check_sampled_recall, recall_merged_assuming_sorted, capsys)
    assert ": FAIL - " in line
    line, _ = run(checks.check_sampled_recall, recall_without_relevant, capsys)
    assert ": FAIL - " in line and "integer arithmetic" not in line and "0 on every test case" in line
