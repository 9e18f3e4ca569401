"""Paired comparisons: bootstrap interval, Wilcoxon and the across-fold t-test, against scipy on known data."""

import numpy as np
import pytest
from scipy import stats

from cflib import significance as sig


def _pairs(n=200, shift=0.02, seed=0):
    rng = np.random.default_rng(seed)
    b = rng.random(n)
    return b + shift + 0.1 * rng.standard_normal(n), b


def test_wilcoxon_is_scipys_and_known_values():
    a, b = _pairs()
    ref = stats.wilcoxon(a, b)
    assert sig.wilcoxon(a, b) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))
    # five positive differences: W- = 0 and the exact two-sided p-value is 2 / 2**5
    assert sig.wilcoxon([1, 2, 3, 4, 5], [0, 0, 0, 0, 0]) == (0.0, pytest.approx(0.0625))
    assert sig.wilcoxon([1, 2, 3, 4, 5], [0, 0, 0, 0, 0], alternative="greater")[1] == pytest.approx(1 / 32)
    # nothing differs: no evidence either way
    assert sig.wilcoxon([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]) == (0.0, 1.0)


def test_bootstrap_is_seeded_and_agrees_with_scipy():
    a, b = _pairs(shift=0.05)
    d, low, high = sig.paired_bootstrap(a, b, seed=1)
    assert (d, low, high) == sig.paired_bootstrap(a, b, seed=1)
    assert sig.paired_bootstrap(a, b, seed=2) != (d, low, high)
    assert d == pytest.approx(np.mean(a - b)) and low < d < high
    ref = stats.bootstrap((a - b,), np.mean, method="percentile", n_resamples=10_000,
                          random_state=np.random.default_rng(0)).confidence_interval
    assert low == pytest.approx(ref.low, abs=0.003) and high == pytest.approx(ref.high, abs=0.003)
    # about the normal-theory interval of a mean: 1.96 standard errors
    se = np.std(a - b, ddof=1) / np.sqrt(a.size)
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.1)
    # one model's mean: the same resampling with b = 0
    assert sig.mean_interval(a, seed=1) == sig.paired_bootstrap(a, np.zeros_like(a), seed=1)
    # the same difference for every user: no uncertainty left
    assert sig.paired_bootstrap([1.0, 2.0, 3.0], [0.5, 1.5, 2.5]) == pytest.approx((0.5, 0.5, 0.5))


def test_compare_users_collects_both_and_counts():
    a = np.array([0.3, 0.2, 0.1, 0.4, 0.0, 0.5])
    b = np.array([0.1, 0.2, 0.2, 0.1, 0.0, 0.1])
    c = sig.compare_users(a, b, seed=0)
    assert (c.n, c.wins, c.losses, c.ties) == (6, 3, 1, 2)
    assert c.difference == pytest.approx(np.mean(a - b)) and c.mean_a == pytest.approx(a.mean())
    assert c.p_value == pytest.approx(stats.wilcoxon(a, b).pvalue)
    assert "paired bootstrap interval" in str(c) and "Wilcoxon p" in str(c)


def test_compare_folds_is_the_paired_t_test_and_its_correction():
    a = np.array([0.38, 0.36, 0.35, 0.37, 0.39])
    b = np.array([0.37, 0.36, 0.33, 0.36, 0.37])
    c = sig.compare_folds(a, b)
    ref = stats.ttest_rel(a, b)
    ci = ref.confidence_interval(0.95)
    assert c.t_statistic == pytest.approx(ref.statistic) and c.p_value == pytest.approx(ref.pvalue)
    assert (c.low, c.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert c.wins == 4 and c.wilcoxon_p_value == pytest.approx(stats.wilcoxon(a, b).pvalue)
    # Nadeau-Bengio: the variance term 1/n becomes 1/n + n_test/n_train
    nb = sig.compare_folds(a, b, test_train_ratio=0.25)
    d = a - b
    scale = d.std(ddof=1) * np.sqrt(1 / 5 + 0.25)
    assert nb.t_statistic == pytest.approx(d.mean() / scale)
    assert nb.p_value == pytest.approx(2 * stats.t.sf(d.mean() / scale, 4))
    assert nb.high - nb.low == pytest.approx(2 * stats.t.ppf(0.975, 4) * scale)
    assert nb.p_value > c.p_value and "Nadeau-Bengio" in str(nb)


def test_per_user_lines_tables_up():
    ta = {"user": np.array([3, 1, 2]), "precision": np.array([0.3, 0.1, 0.2])}
    tb = {"user": np.array([1, 2, 3]), "precision": np.array([0.0, 0.5, 0.9])}
    a, b = sig.per_user(ta, tb)
    assert a.tolist() == [0.1, 0.2, 0.3] and b.tolist() == [0.0, 0.5, 0.9]
    with pytest.raises(ValueError, match="the tables evaluate different users"):
        sig.per_user(ta, {"user": np.array([1, 2, 4]), "precision": np.zeros(3)})
    with pytest.raises(ValueError, match="metric='ndcg' is not a column of table_a"):
        sig.per_user(ta, tb, "ndcg")
    with pytest.raises(TypeError, match="table_b must be a per-user table"):
        sig.per_user(ta, [0.1, 0.2])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="a and b must be paired, one value each per user"):
        sig.compare_users([0.1, 0.2, 0.3], [0.1, 0.2])
    with pytest.raises(ValueError, match="a holds NaN or inf at position 1"):
        sig.paired_bootstrap([0.1, np.nan], [0.1, 0.2])
    with pytest.raises(ValueError, match="b must be 1-D"):
        sig.wilcoxon([0.1, 0.2], [[0.1, 0.2]])
    with pytest.raises(ValueError, match="at least 2"):
        sig.compare_folds([0.1], [0.2])
    with pytest.raises(ValueError, match="confidence must be a finite number < 1"):
        sig.paired_bootstrap([0.1, 0.2], [0.2, 0.1], confidence=1.0)
    with pytest.raises(ValueError, match="n_resamples must be an integer >= 100"):
        sig.paired_bootstrap([0.1, 0.2], [0.2, 0.1], n_resamples=10)
    with pytest.raises(ValueError, match="zero_method must be"):
        sig.wilcoxon([0.1, 0.2], [0.2, 0.1], zero_method="drop")
    with pytest.raises(ValueError, match="test_train_ratio must be a finite number > 0"):
        sig.compare_folds([0.1, 0.2], [0.2, 0.1], test_train_ratio=0)
    with pytest.raises(ValueError, match="x must be 1-D"):
        sig.mean_interval([[0.1, 0.2]])
    with pytest.raises(TypeError, match="a must be a 1-D array of numbers"):
        sig.compare_users(["x", "y"], [0.1, 0.2])
