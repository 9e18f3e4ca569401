"""Checks of part 6 (notebook 09): one user's top-N metrics, precision@k and NDCG@k.

Each ``check_xxx(fn)`` runs ``fn`` on small seeded problems through the engine
(:func:`cflib.checks.engine.run`: copies, time limit, captured output), prints
one line (PASS, not implemented yet, or FAIL with a specific diagnosis and a
hint) and returns ``fn`` if it passed, else a :class:`~cflib.checks.guard.StandIn`
for the cflib reference.

The planted mistakes: the movies rated in train are left in the ranking (they
take list slots, and the user has seen them); ``log2(r)`` or ``log2(r + 2)``
instead of ``log2(r + 1)`` for the 1-based rank r; the ideal DCG over k items,
or over all |relevant| items, instead of min(k, |relevant|); the DCG left
unnormalized; precision divided by |relevant| (that is recall) or by
min(k, |relevant|); the list ranked from the lowest score up.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Mistake, case_rng, lazy, run, scalar

__all__ = ["check_precision_at_k", "check_ndcg_at_k"]


#: Where no later cell calls the learner's function (notebook 09).
_NOTHING_LATER = "no later cell uses it ({} stands in if you call it)"


def _ranking_cases(seed, short=False):
    """(scores, train_movies, relevant, k): train among the best, |relevant| < k and > k, random scores < 0.

    Then tied scores at the end of the list, where the documented rule decides (cflib.ranking: a tie goes
    to the lower movie index), and with ``short`` fewer candidates than k (precision still divides by k).
    """
    rng = case_rng(seed)
    S = np.array([0.9, 0.1, 0.8, 0.7, 0.3, 0.6, 0.2, 0.5])
    cases = [Case("8 movies, train movies 0 and 2 scored highest, 2 relevant, k=3",
                   (S, np.array([0, 2]), np.array([3, 4]), 3))]
    for n, n_train, n_rel, k in ((30, 6, 3, 5), (40, 8, 12, 10), (25, 5, 1, 4)):
        scores = rng.standard_normal(n)
        scores -= scores.max() + 1.0  # centred predictions, all below 0: a train score set to 0 tops the list
        order = np.argsort(-scores)
        train = rng.choice(order[: 2 * n_train], size=n_train, replace=False)  # train among the best
        rest = np.setdiff1d(order[: n // 2], train)
        relevant = rng.choice(rest, size=n_rel, replace=False)
        cases.append(Case(f"{n} random scores below 0, {n_train} train movies, {n_rel} relevant, k={k}",
                           (scores, np.sort(train), np.sort(relevant), k)))
    cases.append(Case("6 movies, three tied at 0.5 (a tie goes to the lower movie index), train movie 1, "
                      "relevant 0 and 3, k=2",
                      (np.array([0.5, 0.9, 0.5, 0.2, 0.5, 0.1]), np.array([1]), np.array([0, 3]), 2)))
    cases.append(_tie_case(case_rng(seed + 1)))
    if short:
        cases.append(Case("5 movies, 3 of them train movies, k=4: only 2 movies can be listed",
                          (np.array([0.3, 0.8, 0.1, 0.6, -0.2]), np.array([0, 1, 3]), np.array([2, 4]), 4)))
    return cases


def _tie_case(rng) -> Case:
    """60 movies scored on 4 levels (rounded predictions: many ties), k cutting the second level in two.

    Beyond 16 entries np.argsort's default sort (and np.argpartition) orders tied movies in no fixed
    way; the rule gives a tie to the lower movie index, so the relevant movies are put where that
    matters: the first of the list, and the tied movies the cut leaves out.
    """
    levels = rng.integers(0, 4, 60)
    scores = -(4 - levels) / 2.0  # -2, -1.5, -1 or -0.5
    train = np.sort(rng.choice(60, size=10, replace=False))
    kept = np.setdiff1d(np.arange(60), train)
    order = kept[np.argsort(-scores[kept], kind="stable")]
    second = np.flatnonzero(scores[order] != scores[order[0]])[0]
    level = order[scores[order] == scores[order[second]]]  # the second level's movies, by index
    k = second + max(1, level.size // 2)
    relevant = np.unique(np.concatenate([order[:1], np.setdiff1d(level, order[:k])]))
    return Case(f"60 movies scored on 4 levels (many ties: a tie goes to the lower movie index), 10 train movies, "
                f"{relevant.size} relevant, k={k}", (scores, train, relevant, k))


def _list(scores, train, k, exclude=True, removed=-np.inf, reverse=False, sort="stable"):
    scores = np.asarray(scores, float).copy()
    if exclude:
        scores[np.asarray(train)] = removed
    if reverse:  # the mistake: ascending order reversed puts the higher index first in a tie (stable or not)
        return np.argsort(scores, kind="stable" if reverse is True else None)[::-1][:k]
    if sort == "default":  # the mistake: np.argsort's default sort is not stable beyond 16 entries
        return np.argsort(-scores)[:k]
    if sort in ("partition", "partition sorted"):  # the mistake: np.argpartition, then maybe sorted by score
        top = np.argpartition(-scores, k - 1)[:k]
        return top[np.argsort(-scores[top], kind="stable")] if sort == "partition sorted" else top
    return np.argsort(-scores, kind="stable")[:k]


def _deleted_hits(scores, train, relevant, k):
    """The mistake: ranking ``np.delete(scores, train)``, whose positions are no longer movie ids."""
    kept = np.delete(np.asarray(scores, float), np.asarray(train, int))
    return np.isin(np.argsort(-kept, kind="stable")[:k], relevant)


def _hits(scores, train, relevant, k, exclude=True, removed=-np.inf, reverse=False, sort="stable"):
    return np.isin(_list(scores, train, k, exclude, removed, reverse, sort), relevant)


def _dcg(rel, shift):
    r = np.arange(1, rel.size + 1)
    with np.errstate(divide="ignore"):
        return np.sum(rel / np.log2(r + shift))


def _ndcg(scores, train, relevant, k, *, exclude=True, shift=1.0, ideal_n=None, removed=-np.inf, reverse=False,
          ideal_of_hits=False, sort="stable"):
    rel = _hits(scores, train, relevant, k, exclude, removed, reverse, sort).astype(float)
    n = min(k, len(relevant)) if ideal_n is None else ideal_n(k, len(relevant))
    if ideal_of_hits:  # the mistake: the ideal list sorted from the list's own hits
        n = int(rel.sum())
    return _dcg(rel, shift) / _dcg(np.ones(n), shift)


_TIE_PHRASE = ("breaks a tie by the higher movie index: np.argsort(scores)[::-1] reverses the order of tied "
               "movies too, where the rule is that a tie goes to the lower movie index")
_TIE_HINT = "rank with np.argsort(-scores, kind=\"stable\"): stable keeps tied movies in increasing index order"
_UNSTABLE = ("breaks ties in no fixed order: np.argsort's default sort is not stable beyond 16 movies, and "
             "np.argpartition keeps no order among tied movies either, where the rule is that a tie goes to the "
             "lower movie index")


def _tie_mistakes(metric) -> list:
    """The ranking's unstable tie-breaking, for ``metric(sort)``: a function of (s, t, r, k)."""
    return [Mistake(_UNSTABLE, _TIE_HINT, metric(sort)) for sort in ("default", "partition", "partition sorted")]


def check_precision_at_k(fn) -> Callable:
    r"""Check ``fn(scores, train_movies, relevant, k) -> float``, one user's precision@k.

    ``scores`` (n_movies,) ranks the movies not in ``train_movies``; ``L`` is the
    first k of them by decreasing score and
    :math:`P@k = |L \cap \text{relevant}| / k`.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.ranking.precision_at_k`, else a StandIn that runs that function
        and says so.
    """
    spec = CheckSpec(
        name="check_precision_at_k", signature="scores, train_movies, relevant, k",
        ref_name="cflib.ranking.precision_at_k", reference=lazy("ranking", "precision_at_k"),
        cases=_ranking_cases(31, short=True), parts=("precision@k",),
        split=lambda out, case: (scalar(out, "one number"),),
        mistakes=[
            *(Mistake(_TIE_PHRASE, _TIE_HINT, lambda s, t, r, k, how=how: _hits(s, t, r, k, reverse=how).sum() / k)
              for how in (True, "default")),
            *_tie_mistakes(lambda sort: lambda s, t, r, k: _hits(s, t, r, k, sort=sort).sum() / k),
            Mistake("divides the hits by the length of the list, not by k: when fewer than k movies can be listed, "
                     "the empty slots still count as misses",
                     "precision@k = hits / k, however many movies the list holds",
                     lambda s, t, r, k: _hits(s, t, r, k).sum() / min(k, np.size(s) - np.unique(t).size)),
            *(Mistake("counts the movies rated in train: they stay in the ranking and take list slots",
                      "set scores[train_movies] = -np.inf before ranking: the user has seen those movies",
                      lambda s, t, r, k, sort=sort: _hits(s, t, r, k, exclude=False, sort=sort).sum() / k)
              for sort in ("stable", "default")),
            Mistake("gives the train movies a score of 0 instead of -inf: scores can be negative (centred "
                     "predictions), and then the train movies still top the list",
                     "set scores[train_movies] = -np.inf, below every possible score",
                     lambda s, t, r, k: _hits(s, t, r, k, removed=0.0).sum() / k),
            Mistake("ranks np.delete(scores, train_movies): every movie after a deleted one moves down one "
                     "position, so the list holds wrong movie ids",
                     "keep the ids: set scores[train_movies] = -np.inf on a copy, or rank the ids "
                     "np.setdiff1d(np.arange(len(scores)), train_movies) by their scores",
                     lambda s, t, r, k: _deleted_hits(s, t, r, k).sum() / k),
            Mistake("gives the train movies the lowest score, scores.min(), instead of -inf: the movie that has it "
                     "ties with them, and a tie goes to the lower index, so it can lose its place in the list",
                     "set scores[train_movies] = -np.inf, below every possible score",
                     lambda s, t, r, k: _hits(s, t, r, k, removed=np.min(s)).sum() / k),
            Mistake("divides the hits by the number of relevant movies: that is recall@k",
                     "precision@k = hits / k",
                     lambda s, t, r, k: _hits(s, t, r, k).sum() / len(r)),
            Mistake("counts the hits among the first k + 1 movies, an off-by-one in the slice",
                     "the list is scores ranked, then [:k]: exactly k movies",
                     lambda s, t, r, k: _hits(s, t, r, k + 1).sum() / k),
            Mistake("divides the hits by min(k, |relevant|), the normalizer of AP and NDCG",
                     "precision@k = hits / k, whatever the number of relevant movies",
                     lambda s, t, r, k: _hits(s, t, r, k).sum() / min(k, len(r))),
            Mistake("ranks the movies from the lowest score up",
                     "the best movie has the highest score: np.argsort(-scores)[:k]",
                     lambda s, t, r, k: np.isin(np.argsort(np.where(np.isin(np.arange(len(s)), t), np.inf, s),
                                                           kind="stable")[:k], r).sum() / k),
        ],
        data_hint="rank the movies not in train_movies by score, keep the first k, count those in relevant, divide by k",
        error_hint="scores is a 1-D array over movies; train_movies and relevant are arrays of movie indices",
        later=_NOTHING_LATER.format("cflib.ranking.precision_at_k"),
    )
    return run(spec, fn)


def check_ndcg_at_k(fn) -> Callable:
    r"""Check ``fn(scores, train_movies, relevant, k) -> float``, one user's NDCG@k (binary gains).

    With :math:`g_r = 1` when the movie at rank r = 1..k of the list (train
    movies excluded) is relevant, :math:`DCG = \sum_r g_r / \log_2(r + 1)`,
    divided by the DCG of min(k, |relevant|) hits at the top.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.ranking.ndcg_at_k`, else a StandIn that runs that function
        and says so.
    """
    spec = CheckSpec(
        name="check_ndcg_at_k", signature="scores, train_movies, relevant, k",
        ref_name="cflib.ranking.ndcg_at_k", reference=lazy("ranking", "ndcg_at_k"),
        cases=_ranking_cases(37), parts=("NDCG@k",), split=lambda out, case: (scalar(out, "one number"),),
        mistakes=[
            *(Mistake(_TIE_PHRASE, _TIE_HINT, lambda s, t, r, k, how=how: _ndcg(s, t, r, k, reverse=how))
              for how in (True, "default")),
            *_tie_mistakes(lambda sort: lambda s, t, r, k: _ndcg(s, t, r, k, sort=sort)),
            Mistake("builds the ideal DCG from the hits of the list only, leaving out the relevant movies the list "
                     "missed: a list that finds 1 of 3 relevant movies at rank 1 is not perfect",
                     "the ideal list puts min(k, len(relevant)) ones at the top, whether the model found them or not",
                     lambda s, t, r, k: _ndcg(s, t, r, k, ideal_of_hits=True)),
            *(Mistake("counts the movies rated in train: they stay in the ranking and take list slots",
                      "set scores[train_movies] = -np.inf before ranking: the user has seen those movies",
                      lambda s, t, r, k, sort=sort: _ndcg(s, t, r, k, exclude=False, sort=sort))
              for sort in ("stable", "default")),
            Mistake("gives the train movies a score of 0 instead of -inf: scores can be negative (centred "
                     "predictions), and then the train movies still top the list",
                     "set scores[train_movies] = -np.inf, below every possible score",
                     lambda s, t, r, k: _ndcg(s, t, r, k, removed=0.0)),
            Mistake("ranks np.delete(scores, train_movies): every movie after a deleted one moves down one "
                     "position, so the list holds wrong movie ids",
                     "keep the ids: set scores[train_movies] = -np.inf on a copy, or rank the ids "
                     "np.setdiff1d(np.arange(len(scores)), train_movies) by their scores",
                     lambda s, t, r, k: _dcg(_deleted_hits(s, t, r, k).astype(float), 1.0)
                     / _dcg(np.ones(min(k, len(r))), 1.0)),
            Mistake("uses log2(r) for the 1-based rank r, an off-by-one (rank 1 divides by log2(1) = 0)",
                     "the discount of rank r = 1, 2, ... is 1 / log2(r + 1); with a 0-based index i it is 1 / log2(i + 2)",
                     lambda s, t, r, k: _ndcg(s, t, r, k, shift=0.0)),
            Mistake("uses log2(r + 2) for the 1-based rank r, an off-by-one (rank 1 must have discount 1)",
                     "the discount of rank r = 1, 2, ... is 1 / log2(r + 1); with a 0-based index i it is 1 / log2(i + 2)",
                     lambda s, t, r, k: _ndcg(s, t, r, k, shift=2.0)),
            Mistake("divides by the ideal DCG of k hits instead of min(k, |relevant|)",
                     "a user with 2 relevant movies can have at most 2 hits: the ideal list has min(k, len(relevant)) ones",
                     lambda s, t, r, k: _ndcg(s, t, r, k, ideal_n=lambda k, n: k)),
            Mistake("divides by the ideal DCG of all |relevant| hits, not capped at k",
                     "the ideal list is only k long: min(k, len(relevant)) ones",
                     lambda s, t, r, k: _ndcg(s, t, r, k, ideal_n=lambda k, n: n)),
            Mistake("is the DCG without the normalization by the ideal DCG",
                     "divide by the DCG of the ideal list, min(k, len(relevant)) hits at the top",
                     lambda s, t, r, k: _dcg(_hits(s, t, r, k).astype(float), 1.0)),
        ],
        nan_hint=("an off-by-one in the discount: log2(r) for the 1-based rank r is log2(1) = 0 at rank 1 "
                  "(inf / inf = NaN); the discount is 1 / log2(r + 1), or 1 / log2(i + 2) for a 0-based index i. "
                  "Or an ideal DCG of 0 (0 / 0 = NaN), built from the list's own hits when it has none: the ideal "
                  "list has min(k, len(relevant)) ones, found or not"),
        data_hint="DCG = sum over the list of rel_r / log2(r + 1) (r from 1), divided by the DCG of min(k, |relevant|) hits",
        error_hint="scores is a 1-D array over movies; train_movies and relevant are arrays of movie indices",
        later=_NOTHING_LATER.format("cflib.ranking.ndcg_at_k"),
    )
    return run(spec, fn)
