"""Checks of part 10 (notebook 14): a sampled recall@k, the EASE closed form and the BPR gradient.

Each ``check_xxx(fn)`` runs ``fn`` on small seeded problems through the engine
(:func:`cflib.checks.engine.run`: copies, time limit, captured output), prints
one line (PASS, not implemented yet, or FAIL with a specific diagnosis and a
hint) and returns ``fn`` if it passed, else a :class:`~cflib.checks.guard.StandIn`
for the cflib reference.

The planted mistakes. Sampled recall: all movies ranked instead of the
candidates only; divided by k (precision) or by min(k, |relevant|); the hit
rate (1 if any hit) instead of the share of relevant movies found; positions
in the candidate array taken for movie ids; ties broken by the order of the
candidate array or by the higher movie index; k + 1 or k - 1 movies listed; the lowest
score first. EASE: lam forgotten or added to every entry of G; the columns of P
divided by the wrong diagonal (B transposed); the diagonal left at -1; the
``I -`` or the sign forgotten; the unconstrained ridge solution P G. BPR:
sigma(z) for sigma(-z); repeated rows lost by fancy-index ``+=``; the penalty
on every row once, at lam / 2 or forgotten; the negative movie's gradient
forgotten or the signs of x_i and x_j swapped; the gradient of the
log-likelihood (ascent) instead of the loss.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Mistake, array, case_rng, lazy, pair, run, scalar

__all__ = ["check_sampled_recall", "check_ease", "check_bpr_gradient", "sampled_recall"]


def sampled_recall(scores, relevant, negatives, k) -> float:
    r"""One user's recall@k under the sampled protocol: only the candidates are ranked.

    The candidates are the relevant held-out movies and the other candidates
    (``negatives``); the list L is the first k candidates by decreasing score (a
    tie goes to the lower movie index, as in :func:`cflib.ranking.user_list`) and
    :math:`R@k = |L \cap \text{relevant}| / |\text{relevant}|`; ``k`` is the glossary's list length N.

    Parameters
    ----------
    scores : array_like of shape (n_movies,)
    relevant : array_like of int, shape (n_relevant,)   distinct movies, not empty
    negatives : array_like of int, shape (n_neg,)   distinct candidates that are not relevant
    k : int, 1 <= k <= n_relevant + n_neg

    Returns
    -------
    float
    """
    from cflib.ranking import user_list

    scores = np.asarray(scores, dtype=float)
    relevant, negatives = np.asarray(relevant, dtype=int), np.asarray(negatives, dtype=int)
    if relevant.size == 0:
        raise ValueError("relevant is empty: recall is defined for a user with at least one relevant movie")
    if np.intersect1d(relevant, negatives).size:
        raise ValueError("negatives must not contain a relevant movie: they are the candidates that are not relevant")
    candidates = np.union1d(relevant, negatives)
    if not 1 <= int(k) <= candidates.size:
        raise ValueError(f"k must be between 1 and the number of candidates ({candidates.size}), got {k}")
    others = np.setdiff1d(np.arange(scores.size), candidates)
    return float(np.isin(user_list(scores, others, int(k)), relevant).sum() / relevant.size)


# --------------------------------------------------------------------------- sampled recall
def _recall_cases(seed) -> list:
    rng = case_rng(seed)
    scores = np.array([0.2, 0.9, 0.7, 0.4, 0.1, 0.6, 0.8, 0.3, 0.95, 0.5])
    cases = [Case("10 movies, relevant 2 and 5, sampled 0, 3, 7 and 8, k=2 (movies 1 and 6 score high but are "
                  "not candidates)", (scores, np.array([2, 5]), np.array([0, 3, 7, 8]), 2))]
    for n, n_rel, n_neg, k in ((50, 1, 20, 5), (80, 4, 30, 10), (60, 3, 12, 2)):
        s = rng.standard_normal(n)
        perm = rng.permutation(n)
        relevant, negatives = perm[:n_rel], perm[n_rel:n_rel + n_neg]  # in no particular order, as in 14
        s[relevant] += 1.0  # the model does find some of them
        cases.append(Case(f"{n} random scores, {n_rel} relevant, {n_neg} sampled movies, k={k}",
                          (s, relevant, negatives, k)))
    # Ties at the cut: relevant movie 9 ties with sampled movies 4 and 12 (a tie goes to the lower index).
    s = np.zeros(40)
    s[[9, 4, 12]] = 0.5
    s[[3, 20]] = 0.8
    s[[25, 30]] = 2.0  # not candidates
    cases.append(Case("40 movies, relevant 3 and 9, movie 9 tied at 0.5 with sampled movies 4 and 12, k=3 "
                      "(a tie goes to the lower movie index)",
                      (s, np.array([9, 3]), np.array([20, 4, 33, 0, 12, 1, 15]), 3)))
    # Recall 1 (a zero is no cut-off fraction); nothing above the candidates (a list one short differs).
    cases.append(Case("6 movies, relevant 1 and 3 score highest, sampled 5, 2 and 0, k=2 (recall 1)",
                      (np.array([0.1, 0.9, 0.3, 0.8, 0.2, 0.4]), np.array([3, 1]), np.array([5, 2, 0]), 2)))
    # Many ties (rounded scores) over more than 16 candidates: np.argsort's default sort is not stable there.
    levels = rng.integers(0, 3, 70).astype(float)
    perm = rng.permutation(70)
    negatives = np.sort(perm[:30])
    level_one = np.sort(np.setdiff1d(np.flatnonzero(levels == 1), negatives))
    relevant = np.sort(np.concatenate([level_one[-2:], np.setdiff1d(np.flatnonzero(levels == 2), negatives)[:1]]))
    cand = np.union1d(relevant, negatives)
    order = cand[np.argsort(-levels[cand], kind="stable")]
    k = int(np.flatnonzero(order == relevant[0])[0]) if relevant[0] in order else 5
    k = max(2, min(k, cand.size - 1))
    cases.append(Case(f"70 movies scored on 3 levels (many ties: a tie goes to the lower movie index), "
                      f"{relevant.size} relevant, 30 sampled movies, k={k}", (levels, relevant, negatives, k)))
    return cases


def _rank(scores, candidates, k, how="stable"):
    """The first k of ``candidates`` (movie ids, in the given order) by decreasing score."""
    s = np.asarray(scores, float)[candidates]
    if how == "stable":
        return candidates[np.argsort(-s, kind="stable")[:k]]
    if how == "reverse":  # ascending order reversed: the higher index first in a tie
        return candidates[np.argsort(s, kind="stable")[::-1][:k]]
    if how == "ascending":
        return candidates[np.argsort(s, kind="stable")[:k]]
    return candidates[np.argsort(-s)[:k]]  # "default": np.argsort's default sort is not stable


def _candidates(relevant, negatives, by_index=True):
    r, n = np.asarray(relevant, int), np.asarray(negatives, int)
    return np.union1d(r, n) if by_index else np.concatenate([r, n])


def _found(s, r, n, k, *, how="stable", by_index=True, extra=0):
    return np.isin(_rank(s, _candidates(r, n, by_index), k + extra, how), r).sum()


def _positions(s, r, n, k):
    """The mistake: the positions in the candidate array taken for movie ids."""
    cand = _candidates(r, n, by_index=False)
    return np.isin(np.argsort(-np.asarray(s, float)[cand], kind="stable")[:k], r).sum() / len(r)


_TIE_HINT = ("rank the candidates in increasing movie index (np.union1d(relevant, negatives) is sorted) with "
             "np.argsort(-scores[candidates], kind=\"stable\"): stable keeps tied movies in that order")


def check_sampled_recall(fn) -> Callable:
    r"""Check ``fn(scores, relevant, negatives, k) -> float``, one user's recall@k among sampled candidates.

    The candidates are ``relevant`` (the user's relevant held-out movies) and
    ``negatives`` (the other candidates: sampled unrated movies, and any held-out
    movie that is not relevant); the list L is the first k (the glossary's N)
    candidates by decreasing score, a tie going to the lower movie index; :math:`R@k = |L \cap \text{relevant}| / |\text{relevant}|`.
    Domain: ``scores`` (n_movies,); ``relevant`` and ``negatives`` distinct,
    disjoint movie indices, ``relevant`` not empty; 1 <= k <= the number of candidates.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`sampled_recall`, else a StandIn that runs it and says so.
    """
    spec = CheckSpec(
        name="check_sampled_recall", signature="scores, relevant, negatives, k",
        ref_name="cflib.checks.evaluation.sampled_recall", reference=lazy("checks.evaluation", "sampled_recall"),
        cases=_recall_cases(41), parts=("the sampled recall@k",),
        split=lambda out, case: (scalar(out, "one number"),),
        mistakes=[
            Mistake("ranks every movie, not only the candidates: that is the full-ranking list, where movies "
                    "that were not sampled take list slots",
                    "rank only candidates = np.union1d(relevant, negatives): the other movies are not in the test",
                    lambda s, r, n, k: np.isin(np.argsort(-np.asarray(s, float), kind="stable")[:k], r).sum() / len(r)),
            Mistake("divides the hits by k: that is precision@k",
                    "recall@k = hits / len(relevant)",
                    lambda s, r, n, k: _found(s, r, n, k) / k),
            Mistake("divides the hits by min(k, |relevant|), the normalizer of AP and NDCG",
                    "recall@k = hits / len(relevant), whatever k",
                    lambda s, r, n, k: _found(s, r, n, k) / min(k, len(r))),
            Mistake("is 1 when the list holds any relevant movie: that is the hit rate, not recall",
                    "count the relevant movies in the list and divide by len(relevant)",
                    lambda s, r, n, k: float(_found(s, r, n, k) > 0)),
            Mistake("compares positions in the candidate array with movie ids: np.argsort(-scores[candidates]) "
                    "gives positions, not movies",
                    "map the positions back: top = candidates[np.argsort(-scores[candidates], kind=\"stable\")[:k]]",
                    _positions),
            # Before the unstable sort, whose order of ties differs by numpy version (1.24: the reversal).
            Mistake("lets the relevant movies lose their ties (the higher movie index first, as np.argsort(scores)"
                    "[::-1] does, or the sampled movies first); a tie goes to the lower movie index",
                    _TIE_HINT,
                    lambda s, r, n, k: _found(s, r, n, k, how="reverse") / len(r)),
            *(Mistake("breaks a tie by the order of the candidate array (relevant movies first), or in no fixed "
                      "order (np.argsort's default sort is not stable), where the rule is that a tie goes to the "
                      "lower movie index",
                      _TIE_HINT, fn)
              for fn in (lambda s, r, n, k: _found(s, r, n, k, by_index=False) / len(r),
                         lambda s, r, n, k: _found(s, r, n, k, how="default") / len(r))),
            Mistake("counts the hits among the first k + 1 candidates, an off-by-one in the slice",
                    "the list is the candidates ranked, then [:k]: exactly k movies",
                    lambda s, r, n, k: _found(s, r, n, k, extra=1) / len(r)),
            Mistake("counts the hits among the first k - 1 candidates, an off-by-one (or a 1-based rank < k)",
                    "the list is the candidates ranked, then [:k]: exactly k movies (ranks 1 to k)",
                    lambda s, r, n, k: _found(s, r, n, k, extra=-1) / len(r)),
            Mistake("ranks the candidates from the lowest score up",
                    "the best movie has the highest score: sort by -scores",
                    lambda s, r, n, k: _found(s, r, n, k, how="ascending") / len(r)),
        ],
        data_hint=("candidates = relevant and negatives; keep the k best-scored (a tie to the lower movie index); "
                   "recall = relevant movies among them / len(relevant)"),
        error_hint="scores is a 1-D array over movies; relevant and negatives are arrays of movie indices",
        later="later cells use cflib.checks.evaluation.sampled_recall",
    )
    return run(spec, fn)


# --------------------------------------------------------------------------- EASE
def _gram(rng, n_users, n_movies, p):
    return (X := (rng.random((n_users, n_movies)) < p).astype(float)).T @ X


def _ease_cases(seed) -> list:
    rng = case_rng(seed)
    G = np.array([[3.0, 2.0, 1.0], [2.0, 4.0, 0.0], [1.0, 0.0, 2.0]])
    cases = [Case("the 3 x 3 Gram matrix [[3, 2, 1], [2, 4, 0], [1, 0, 2]] with lam=0.5", (G, 0.5), lam=0.5)]
    for n_users, n_movies, p, lam in ((30, 5, 0.4, 1.0), (60, 8, 0.3, 10.0), (200, 20, 0.2, 50.0)):
        cases.append(Case(f"G of {n_users} random users x {n_movies} movies with lam={lam:g}",
                          (_gram(rng, n_users, n_movies, p), lam), lam=lam))
    return cases


def _ease(G, lam, *, how="right"):
    """EASE's B, right (``how="right"``) or with one of the planted mistakes."""
    G = np.asarray(G, float)
    eye = np.eye(G.shape[0])
    P = np.linalg.inv({"no lam": G, "lam everywhere": G + lam}.get(how, G + lam * eye))
    d = np.diag(P)
    return {"rows": lambda: eye - P / d[:, None], "diagonal -1": lambda: -P / d, "no I": lambda: P / d,
            "sign": lambda: P / d - eye, "ridge": lambda: P @ G}.get(how, lambda: eye - P / d)()


def check_ease(fn) -> Callable:
    r"""Check ``fn(G, lam) -> B``, the EASE closed form.

    .. math::

        P = (G + \lambda I)^{-1}, \qquad
        B = I - P \operatorname{diag}(1 / \operatorname{diag} P),

    that is :math:`B_{ij} = -P_{ij} / P_{jj}` off the diagonal and
    :math:`B_{jj} = 0`. Domain: ``G`` (n_movies, n_movies) symmetric positive
    semi-definite (:math:`X^T X` of binary interactions), ``lam`` > 0.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.ease.ease_weights`, else a StandIn that runs it and says so.
    """
    spec = CheckSpec(
        name="check_ease", signature="G, lam", ref_name="cflib.ease.ease_weights",
        reference=lazy("ease", "ease_weights"), cases=_ease_cases(43), parts=("B",),
        split=lambda out, case: (array(out, "B, an (n_movies, n_movies) array"),),
        mistakes=[
            Mistake("ignores lam: P = inv(G) instead of inv(G + lam I)",
                    "add lam to the diagonal of G before inverting: np.linalg.inv(G + lam * np.eye(len(G)))",
                    lambda G, lam: _ease(G, lam, how="no lam")),
            Mistake("adds lam to every entry of G (G + lam), not only to its diagonal",
                    "G + lam * np.eye(n_movies) adds lam on the diagonal only",
                    lambda G, lam: _ease(G, lam, how="lam everywhere")),
            Mistake("divides row i of P by P_ii, where column j is divided by P_jj: B comes out transposed",
                    "B_ij = -P_ij / P_jj: P / np.diag(P) divides each column j by P_jj (broadcasting over the "
                    "last axis)",
                    lambda G, lam: _ease(G, lam, how="rows")),
            Mistake("has -1 on its diagonal: -P diag(1/diag P) without the I, so the constraint diag(B) = 0 "
                    "is not met",
                    "B = I - P / np.diag(P): the I cancels the diagonal, or set np.fill_diagonal(B, 0)",
                    lambda G, lam: _ease(G, lam, how="diagonal -1")),
            Mistake("is P diag(1/diag P) without the I and the minus sign: 1 on the diagonal and every weight of "
                    "the wrong sign",
                    "B = I - P / np.diag(P)",
                    lambda G, lam: _ease(G, lam, how="no I")),
            Mistake("has the wrong sign: P diag(1/diag P) - I instead of I - P diag(1/diag P)",
                    "B_ij = -P_ij / P_jj off the diagonal: B = np.eye(n) - P / np.diag(P)",
                    lambda G, lam: _ease(G, lam, how="sign")),
            Mistake("is the unconstrained ridge solution (G + lam I)^-1 G: without diag(B) = 0 every movie mostly "
                    "predicts itself",
                    "the constraint diag(B) = 0 gives B = I - P diag(1/diag P) with P = inv(G + lam I)",
                    lambda G, lam: _ease(G, lam, how="ridge")),
        ],
        shape_hint=lambda p, got, expected: "B is square, (n_movies, n_movies), like G",
        lam_hint="P = inv(G + lam I)",
        data_hint="P = np.linalg.inv(G + lam * np.eye(n)); B = np.eye(n) - P / np.diag(P)",
        error_hint="G is (n_movies, n_movies); np.diag(P) is (n_movies,) and divides the columns of P",
        later="later cells use cflib.ease.ease_weights",
    )
    return run(spec, fn)


# --------------------------------------------------------------------------- BPR
def _bpr_cases(seed) -> list:
    rng = case_rng(seed)
    cases = []
    for n_movies, n_users, k, n, lam in ((6, 4, 3, 5, 0.0), (6, 4, 3, 8, 0.1), (12, 7, 4, 20, 0.5),
                                        (30, 10, 5, 60, 0.03)):
        X = 0.5 * rng.standard_normal((n_movies, k))
        Theta = 0.5 * rng.standard_normal((n_users, k))
        users = rng.integers(0, n_users, n)
        users[1] = users[0]  # a repeated user
        pos = rng.integers(0, n_movies, n)
        neg = (pos + rng.integers(1, n_movies, n)) % n_movies  # never the positive
        pos[1] = pos[0]  # a repeated positive
        neg[2] = pos[0]  # a movie positive in one triple and negative in another
        if neg[2] == pos[2]:
            pos[2] = (pos[2] + 1) % n_movies
        cases.append(Case(f"{n_movies} movies, {n_users} users, k={k}, {n} triples (repeated users and movies), "
                          f"lam={lam:g}", (X, Theta, users, pos, neg, lam), lam=lam))
    return cases


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))

def _bpr(X, Theta, u, i, j, lam, *, g_sign=-1.0, accumulate=True, penalty="triples", neg_term=True,
         swap=False, ascent=False, theta_pos_only=False):
    X, Theta = np.asarray(X, float), np.asarray(Theta, float)
    u, i, j = (np.asarray(a, int) for a in (u, i, j))
    T, Xi, Xj = Theta[u], X[i], X[j]
    z = np.sum(T * (Xi - Xj), axis=1)
    g = _sigmoid(g_sign * z)[:, None]
    s = -1.0 if ascent else 1.0
    lam_t = {"triples": lam, "half": lam / 2, "none": 0.0, "every row": 0.0}[penalty]
    t_rows = s * -g * (Xi if theta_pos_only else Xi - Xj) + lam_t * T
    i_rows = s * -g * T + lam_t * Xi
    j_rows = s * g * T + lam_t * Xj
    if swap:
        i_rows, j_rows = j_rows - lam_t * Xj + lam_t * Xi, i_rows - lam_t * Xi + lam_t * Xj
    Xg, Tg = (lam * X, lam * Theta) if penalty == "every row" else (np.zeros_like(X), np.zeros_like(Theta))
    if accumulate:
        np.add.at(Tg, u, t_rows)
        np.add.at(Xg, i, i_rows)
        if neg_term:
            np.add.at(Xg, j, j_rows)
    else:
        Tg[u] += t_rows
        Xg[i] += i_rows
        if neg_term:
            Xg[j] += j_rows
    return Xg, Tg


def check_bpr_gradient(fn) -> Callable:
    r"""Check ``fn(X, Theta, users, pos, neg, lam) -> (X_grad, Theta_grad)``, the gradient of the BPR loss.

    .. math::

        L = \sum_t \Big[-\ln \sigma(z_t) + \tfrac{\lambda}{2}\big(\|\theta_{u_t}\|^2 + \|x_{i_t}\|^2
            + \|x_{j_t}\|^2\big)\Big], \qquad z_t = \theta_{u_t} \cdot (x_{i_t} - x_{j_t}).

    With :math:`g_t = \sigma(-z_t)`, triple t adds :math:`-g_t (x_i - x_j) + \lambda \theta_u` to row
    u of ``Theta_grad``, :math:`-g_t \theta_u + \lambda x_i` to row i and
    :math:`g_t \theta_u + \lambda x_j` to row j of ``X_grad``; repeated rows add up.
    Shapes: X (n_movies, k), Theta (n_users, k), users/pos/neg (n,) of int, lam >= 0.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.bpr.bpr_gradient`, else a StandIn that runs it and says so.
    """
    names = ("X_grad", "Theta_grad")
    spec = CheckSpec(
        name="check_bpr_gradient", signature="X, Theta, users, pos, neg, lam", ref_name="cflib.bpr.bpr_gradient",
        reference=lazy("bpr", "bpr_gradient"), cases=_bpr_cases(47), parts=names,
        split=lambda out, case: pair(out, names),
        mistakes=[
            Mistake("uses sigma(z) where the derivative of -ln sigma(z) is -sigma(-z)",
                    "g = 1 / (1 + np.exp(z)) = sigma(-z): near 1 when the pair is in the wrong order, near 0 "
                    "when it is already right",
                    lambda *a: _bpr(*a, g_sign=1.0)),
            Mistake("loses repeated rows (X_grad[pos] += ... adds each row once)",
                    "fancy-index += keeps only one of the repeated rows; use np.add.at(X_grad, pos, ...)",
                    lambda *a: _bpr(*a, accumulate=False)),
            Mistake("adds lam times every row once, where the penalty is on the rows each triple touches "
                    "(once per triple)",
                    "add lam * Theta[users[t]] for each triple t (np.add.at), not lam * Theta",
                    lambda *a: _bpr(*a, penalty="every row")),
            Mistake("uses lam / 2 in the penalty's gradient: the derivative of lam/2 * |x|^2 is lam * x",
                    "add lam * x for each row a triple touches",
                    lambda *a: _bpr(*a, penalty="half")),
            Mistake("ignores lam", "add lam * theta_u, lam * x_i and lam * x_j for each triple",
                    lambda *a: _bpr(*a, penalty="none")),
            Mistake("leaves out the negative movie's rows: x_j gets +g * theta_u + lam * x_j",
                    "z depends on x_j too: add g * theta_u + lam * x_j to row neg[t] of X_grad",
                    lambda *a: _bpr(*a, neg_term=False)),
            Mistake("swaps the signs of the positive and the negative movie",
                    "x_i gets -g * theta_u (raising z lowers the loss), x_j gets +g * theta_u",
                    lambda *a: _bpr(*a, swap=True)),
            Mistake("uses x_i alone in Theta_grad, where z = theta_u . (x_i - x_j)",
                    "Theta_grad's row u gets -g * (x_i - x_j) + lam * theta_u",
                    lambda *a: _bpr(*a, theta_pos_only=True)),
            Mistake("is the gradient of the log-likelihood ln sigma(z) (ascent), not of the loss -ln sigma(z)",
                    "the loss is -ln sigma(z): its gradient in theta_u is -g * (x_i - x_j)",
                    lambda *a: _bpr(*a, ascent=True)),
        ],
        lam_hint="each triple adds lam * theta_u, lam * x_i and lam * x_j to the rows it touches",
        data_hint=("g = sigma(-z); np.add.at(Theta_grad, users, -g[:, None] * (X[pos] - X[neg]) + lam * Theta[users]),"
                   " and likewise rows pos and neg of X_grad"),
        error_hint="X is (n_movies, k), Theta is (n_users, k); users, pos and neg index their rows",
        later="later cells use cflib.bpr.bpr_gradient",
    )
    return run(spec, fn)
