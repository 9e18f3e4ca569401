"""Checks of part 9 (notebook 12)'s exercise: the per-row penalty that makes cflib's solve Spark's.

``check_row_penalty(fn)`` runs the learner's ``fn(rows, n_rows, reg_param, k)``
on a few fixed problems, compares it with :func:`cflib.als_wr.row_penalty`,
prints one line (PASS, not implemented yet, or FAIL with a specific hint)
and returns ``fn`` when it passed, otherwise a :class:`~cflib.checks.guard.StandIn`
for the reference. It runs through the engine (:func:`cflib.checks.engine.run`:
copies, time limit, captured output).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Mistake, array, case_rng, lazy, run

__all__ = ["check_row_penalty"]


def _cases() -> list:
    rng = case_rng(12)
    # no case passes lam: the engine's "right for lam = 0" would name the wrong argument, and every penalty is 0 there
    cases = [Case("3 rows rated 2, 0 and 3 times, k=2, reg_param=0.5", (np.array([0, 2, 0, 2, 2]), 3, 0.5, 2))]
    for n_rows, nnz, k, reg in ((6, 20, 3, 0.15), (8, 30, 4, 0.0), (10, 25, 2, 1.2)):
        rows = rng.integers(0, n_rows - 2, size=nnz)  # the last two rows have no ratings
        cases.append(Case(f"{nnz} ratings of {n_rows} rows (the last 2 unrated), k={k}, reg_param={reg:g}",
                           (rng.permutation(rows), n_rows, reg, k)))
    return cases


def _counts(rows, n_rows):
    return np.bincount(np.asarray(rows), minlength=n_rows).astype(float)


def _tile(v, k):
    return np.repeat(np.asarray(v, dtype=float)[:, None], k, axis=1)


def check_row_penalty(fn) -> Callable:
    r"""Check ``fn(rows, n_rows, reg_param, k) -> P`` of shape (n_rows, k).

    ``P[r, :] = reg_param * n_r`` where :math:`n_r` is the number of entries of
    ``rows`` equal to r: the ridge penalty for which cflib's row system
    :math:`(F_r^T F_r + P_r) w_r = F_r^T t_r` is Spark's ALS-WR row system.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.als_wr.row_penalty`, else a StandIn that runs that function
        and says so.
    """
    def shape_hint(p, got, exp):
        if len(got[0]) == 0:
            return "P is an array of shape (n_rows, k), one penalty per row and feature, not one number"
        if tuple(got[0][::-1]) == tuple(exp[0]):
            return "P is transposed: one row per movie (or user), one column per feature, shape (n_rows, k)"
        if len(got[0]) == 1:
            return "P has one column per feature: repeat the (n_rows,) penalties k times, shape (n_rows, k)"
        if got[0][0] < exp[0][0]:
            return ("rows without ratings are missing: count with np.bincount(rows, minlength=n_rows) "
                    "so every row gets an entry")
        return "P has shape (n_rows, k): one row per movie (or user), one column per feature"

    spec = CheckSpec(
        name="check_row_penalty", signature="rows, n_rows, reg_param, k", ref_name="cflib.als_wr.row_penalty",
        reference=lazy("als_wr", "row_penalty"), cases=_cases(), parts=("P",), split=lambda out, case: (array(out, "P"),),
        mistakes=[
            Mistake("is reg_param in every row: the number of ratings n_r is missing",
                     "Spark weights each row's penalty by its number of ratings: P[r] = reg_param * n_r",
                     lambda rows, n, reg, k: np.full((n, k), float(reg))),
            Mistake("is half the right value (reg_param * n_r / 2)",
                     "Spark's squares have no 1/2 and neither has its penalty: setting the gradient "
                     "2 X^T(X theta - y) + 2 reg_param n_r theta to 0 leaves reg_param * n_r",
                     lambda rows, n, reg, k: _tile(0.5 * reg * _counts(rows, n), k)),
            Mistake("is twice the right value (2 * reg_param * n_r)",
                     "both terms of Spark's gradient carry the factor 2, so it cancels: P[r] = reg_param * n_r",
                     lambda rows, n, reg, k: _tile(2.0 * reg * _counts(rows, n), k)),
            Mistake("divides reg_param by n_r instead of multiplying",
                     "rows with more ratings get a larger penalty: P[r] = reg_param * n_r",
                     lambda rows, n, reg, k: _tile(np.divide(reg, _counts(rows, n), out=np.zeros(n),
                                                             where=_counts(rows, n) > 0), k)),
            Mistake("uses the total number of ratings for every row, not each row's own count",
                     "count per row: n_r = np.bincount(rows, minlength=n_rows)",
                     lambda rows, n, reg, k: np.full((n, k), reg * float(len(rows)))),
        ],
        shape_hint=shape_hint,
        error_hint="rows holds one row index per rating: count them with np.bincount(rows, minlength=n_rows)",
        data_hint="P[r, :] = reg_param * n_r with n_r = np.bincount(rows, minlength=n_rows)[r]",
        later="no later cell uses it (cflib.als_wr.row_penalty stands in if you call it)",
    )
    return run(spec, fn)
