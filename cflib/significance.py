r"""Is a difference between two models real? Paired comparisons per user and across folds.

Two models evaluated on the same users give two per-user arrays a and b
(for example the ``precision`` column of :func:`cflib.ranking.ranking_table`);
the comparison is *paired*: it looks at the differences
:math:`d_u = a_u - b_u`, which removes what the users have in common (some
users are easy for every model).

Which test answers which question
---------------------------------
* **How large is the difference on this split, and how sure are we?**
  :func:`paired_bootstrap`: a confidence interval for the mean difference
  :math:`\bar d`. It resamples the users with replacement, so it measures the
  uncertainty that comes from *which users* are in the test set; the
  trained models stay fixed. Report it with the difference.
* **Does one model do better for the typical user?** :func:`wilcoxon`, the
  Wilcoxon signed-rank test of scipy: are the differences symmetric around 0?
  It uses the signs and ranks of :math:`|d_u|`, so a few users with a large
  difference do not dominate it; it is not a test of the mean (a skewed
  :math:`d` can make it disagree with the bootstrap). Users with
  :math:`d_u = 0` (both models equally good, common for P@10) are dropped
  by ``zero_method="wilcox"``.
* **Would the difference hold with another training set?**
  :func:`compare_folds`, over the per-fold means of the five folds u1..u5,
  paired by fold. The per-user tests above never see another training set;
  the folds do. With only five pairs the exact Wilcoxon p-value cannot go
  below 2/32 = 0.0625, so :func:`compare_folds` reports a paired t-test and its
  interval, optionally with Nadeau and Bengio's (2003) correction for the
  overlap of the training sets (u1.base and u2.base share 75 % of their
  ratings, so the fold differences are not independent and the plain t-test
  is too confident).

:func:`compare_users` gives the first two at once; :func:`per_user` lines up
two per-user tables.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .arguments import check_int, check_scalar

__all__ = ["paired_bootstrap", "mean_interval", "wilcoxon", "compare_users", "compare_folds", "per_user",
           "PairedComparison", "FoldComparison"]


def _paired(a, b, min_n=2, names=("a", "b")):
    """``a`` and ``b`` as float arrays of the same 1-D shape, finite, with at least ``min_n`` pairs."""
    out = []
    for name, x in zip(names, (a, b)):
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a 1-D array of numbers (one per user or fold): {exc}") from None
        if x.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one value per user or fold), got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"{name} holds NaN or inf at position {int(np.argmin(np.isfinite(x)))}: "
                             "compare finite metric values only")
        out.append(x)
    a, b = out
    if a.size != b.size:
        raise ValueError(f"a and b must be paired, one value each per user (or fold), got {a.size} and {b.size} "
                         "values: evaluate both models on the same users (cflib.significance.per_user lines them up)")
    if a.size < min_n:
        raise ValueError(f"a and b hold {a.size} pair(s); a paired comparison needs at least {min_n}")
    return a, b


def _check_confidence(confidence):
    return check_scalar(confidence, "confidence", min_val=0.0, max_val=1.0, include_boundaries="neither")


def per_user(table_a, table_b, metric: str = "precision"):
    """The per-user values of ``metric`` of two tables, for the same users in the same order.

    Parameters
    ----------
    table_a, table_b : dict
        From :func:`cflib.ranking.ranking_table` or the tables of :mod:`cflib.protocols`
        (a ``user`` column and one column per metric).
    metric : str, default "precision"

    Returns
    -------
    a, b : ndarray of shape (n_users,)
    """
    for name, t in (("table_a", table_a), ("table_b", table_b)):
        if not isinstance(t, dict) or "user" not in t:
            raise TypeError(f"{name} must be a per-user table (a dict with a 'user' column, e.g. from "
                            f"cflib.ranking.ranking_table), got {type(t).__name__}")
        if metric not in t:
            raise ValueError(f"metric={metric!r} is not a column of {name}: choose one of "
                             f"{sorted(k for k in t if k not in ('user', 'top', 'relevant'))}")
    ua, ub = np.asarray(table_a["user"]), np.asarray(table_b["user"])
    if ua.shape != ub.shape or not np.array_equal(np.sort(ua), np.sort(ub)):
        only = np.setxor1d(ua, ub)
        raise ValueError(f"the tables evaluate different users ({ua.size} and {ub.size}; user {int(only[0])} is "
                         "in one only): evaluate both models on the same train and test")
    oa, ob = np.argsort(ua), np.argsort(ub)
    return np.asarray(table_a[metric], dtype=np.float64)[oa], np.asarray(table_b[metric], dtype=np.float64)[ob]


def paired_bootstrap(a, b, *, n_resamples: int = 10_000, confidence: float = 0.95, seed: int = 0):
    r"""Percentile bootstrap confidence interval of the mean paired difference :math:`\bar d = \overline{a - b}`.

    Each resample draws n users with replacement (``np.random.default_rng(seed)``)
    and takes the mean of their differences; the interval is given by the
    :math:`(1 - c)/2` and :math:`(1 + c)/2` quantiles of the ``n_resamples`` means.

    Parameters
    ----------
    a, b : array_like of shape (n,)
        One model's and the other's metric for the same n users, in the same order.
    n_resamples : int >= 100, default 10000
    confidence : float in (0, 1), default 0.95
    seed : int >= 0, default 0

    Returns
    -------
    difference, low, high : float
        :math:`\bar d` and the interval.
    """
    a, b = _paired(a, b)
    n_resamples = check_int(n_resamples, "n_resamples", min_val=100)
    confidence = _check_confidence(confidence)
    seed = check_int(seed, "seed", min_val=0)
    d = a - b
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    chunk = max(1, 2_000_000 // d.size)  # about 16 MB of indices at a time
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        means[start:start + size] = d[rng.integers(0, d.size, (size, d.size))].mean(axis=1)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(d.mean()), float(low), float(high)


def mean_interval(x, *, n_resamples: int = 10_000, confidence: float = 0.95, seed: int = 0):
    """Percentile bootstrap interval of one model's mean metric over its users: ``(mean, low, high)``.

    The users are resampled as in :func:`paired_bootstrap` (it is that function with b = 0).
    To compare two models use :func:`paired_bootstrap` on both: two overlapping
    intervals do not mean that the paired difference is uncertain.
    """
    x, _ = _paired(x, np.zeros(np.shape(x)), names=("x", "zeros"))
    return paired_bootstrap(x, np.zeros_like(x), n_resamples=n_resamples, confidence=confidence, seed=seed)


def wilcoxon(a, b, *, zero_method: str = "wilcox", alternative: str = "two-sided"):
    """The Wilcoxon signed-rank test of the paired differences ``a - b`` (``scipy.stats.wilcoxon``).

    Parameters
    ----------
    a, b : array_like of shape (n,)
    zero_method : {"wilcox", "pratt", "zsplit"}, default "wilcox"
        What to do with users whose difference is 0 (scipy's options; "wilcox" drops them).
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        "greater": the differences a - b tend to be positive.

    Returns
    -------
    statistic, p_value : float
        scipy's statistic and p-value; when every difference is 0 there is no
        evidence either way: statistic 0 and p-value 1.
    """
    a, b = _paired(a, b)
    if zero_method not in ("wilcox", "pratt", "zsplit"):
        raise ValueError(f"zero_method must be 'wilcox', 'pratt' or 'zsplit', got {zero_method!r}")
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}")
    if np.all(a == b):
        return 0.0, 1.0
    result = stats.wilcoxon(a, b, zero_method=zero_method, alternative=alternative)
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True, eq=False)
class PairedComparison:
    """Two models on the same users: :func:`compare_users`.

    Attributes
    ----------
    n : int   users
    mean_a, mean_b, difference : float   the means and ``mean_a - mean_b``
    low, high : float   the paired bootstrap interval of the difference
    confidence : float
    wilcoxon_statistic, p_value : float   the Wilcoxon signed-rank test (two-sided)
    wins, losses, ties : int   users for whom a > b, a < b, a = b
    """

    n: int
    mean_a: float
    mean_b: float
    difference: float
    low: float
    high: float
    confidence: float
    wilcoxon_statistic: float
    p_value: float
    wins: int
    losses: int
    ties: int

    def __str__(self):
        return (f"a - b = {self.difference:+.4f}, {self.confidence:.0%} paired bootstrap interval "
                f"[{self.low:+.4f}, {self.high:+.4f}] over {self.n} users; Wilcoxon p = {self.p_value:.3g} "
                f"(a better for {self.wins}, worse for {self.losses}, equal for {self.ties})")


def compare_users(a, b, *, n_resamples: int = 10_000, confidence: float = 0.95, seed: int = 0,
                  zero_method: str = "wilcox") -> PairedComparison:
    """Per-user paired comparison on one split: the bootstrap interval and the Wilcoxon test (module docstring).

    Parameters
    ----------
    a, b : array_like of shape (n_users,)
        Per-user metric of model a and model b on the same users (see :func:`per_user`).
    n_resamples, confidence, seed : see :func:`paired_bootstrap`
    zero_method : see :func:`wilcoxon`
    """
    a, b = _paired(a, b)
    diff, low, high = paired_bootstrap(a, b, n_resamples=n_resamples, confidence=confidence, seed=seed)
    statistic, p = wilcoxon(a, b, zero_method=zero_method)
    return PairedComparison(n=int(a.size), mean_a=float(a.mean()), mean_b=float(b.mean()), difference=diff,
                            low=low, high=high, confidence=float(confidence), wilcoxon_statistic=statistic,
                            p_value=p, wins=int((a > b).sum()), losses=int((a < b).sum()), ties=int((a == b).sum()))


@dataclass(frozen=True, eq=False)
class FoldComparison:
    """Two models on the same folds: :func:`compare_folds`.

    Attributes
    ----------
    n : int   folds
    differences : ndarray of shape (n,)   ``a - b`` per fold
    difference : float   their mean
    low, high : float   the t interval of the mean difference
    confidence : float
    t_statistic, p_value : float   the paired t-test (two-sided), corrected if asked
    wilcoxon_p_value : float   the exact Wilcoxon p-value (at least 2 / 2**n)
    wins : int   folds on which a > b
    test_train_ratio : float or None   the Nadeau-Bengio correction used
    """

    n: int
    differences: np.ndarray
    difference: float
    low: float
    high: float
    confidence: float
    t_statistic: float
    p_value: float
    wilcoxon_p_value: float
    wins: int
    test_train_ratio: float | None

    def __str__(self):
        how = ("" if self.test_train_ratio is None
               else f", Nadeau-Bengio corrected (n_test/n_train = {self.test_train_ratio:g})")
        return (f"a - b = {self.difference:+.4f} over {self.n} folds, {self.confidence:.0%} t interval "
                f"[{self.low:+.4f}, {self.high:+.4f}], paired t-test p = {self.p_value:.3g}{how}; a better on "
                f"{self.wins} of {self.n} folds (exact Wilcoxon p = {self.wilcoxon_p_value:.3g})")


def compare_folds(a, b, *, confidence: float = 0.95, test_train_ratio: float | None = None) -> FoldComparison:
    r"""Across-fold paired comparison: a paired t-test over the folds' means (module docstring).

    With :math:`d_f = a_f - b_f` over n folds, mean :math:`\bar d` and sample
    standard deviation :math:`s`,

    .. math::

        t = \frac{\bar d}{s \sqrt{1/n + \rho}}, \qquad
        \bar d \pm t_{n-1, (1+c)/2}\; s \sqrt{1/n + \rho},

    with :math:`\rho = 0` (the plain paired t-test, ``scipy.stats.ttest_rel``) or
    :math:`\rho` = ``test_train_ratio`` = n_test / n_train (Nadeau and Bengio's
    correction for overlapping training sets; 20,000 / 80,000 = 0.25 for u1..u5).

    Parameters
    ----------
    a, b : array_like of shape (n_folds,)
        Each model's mean metric per fold, folds in the same order (n_folds >= 2).
    confidence : float in (0, 1), default 0.95
    test_train_ratio : float > 0, optional
    """
    a, b = _paired(a, b)
    confidence = _check_confidence(confidence)
    rho = 0.0 if test_train_ratio is None else check_scalar(test_train_ratio, "test_train_ratio", numbers.Real,
                                                                min_val=0.0, include_boundaries="right")
    d = a - b
    n = d.size
    s = float(d.std(ddof=1))
    scale = s * np.sqrt(1.0 / n + rho)
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1) * scale)
    if scale > 0:
        t = float(d.mean() / scale)
        p = float(2 * stats.t.sf(abs(t), n - 1))
    else:  # every fold has the same difference
        t, p = (0.0, 1.0) if d.mean() == 0 else (float(np.sign(d.mean()) * np.inf), 0.0)
    _, wp = wilcoxon(a, b)
    return FoldComparison(n=n, differences=d, difference=float(d.mean()), low=float(d.mean() - half),
                          high=float(d.mean() + half), confidence=float(confidence), t_statistic=t, p_value=p,
                          wilcoxon_p_value=wp, wins=int((d > 0).sum()), test_train_ratio=test_train_ratio)
