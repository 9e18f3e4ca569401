"""cflib.lowrank: the truncated SVD as factors (X, Theta)."""

import numpy as np
import pytest

from cflib.lowrank import truncated_svd


@pytest.mark.parametrize("shape, k", [((8, 5), 2), ((5, 9), 3), ((6, 6), 6), ((7, 4), 1)])
def test_shapes_and_eckart_young_error(shape, k):
    M = np.random.default_rng(0).standard_normal(shape)
    X, Theta = truncated_svd(M, k)
    assert X.shape == (shape[0], k) and Theta.shape == (shape[1], k)
    s = np.linalg.svd(M, compute_uv=False)
    assert np.linalg.norm(M - X @ Theta.T) == pytest.approx(np.sqrt(np.sum(s[k:] ** 2)), abs=1e-10)


def test_even_split_and_decreasing_order():
    M = np.random.default_rng(1).standard_normal((10, 6))
    X, Theta = truncated_svd(M, 4)
    s = np.linalg.svd(M, compute_uv=False)[:4]
    np.testing.assert_allclose(X.T @ X, np.diag(s), atol=1e-10)
    np.testing.assert_allclose(Theta.T @ Theta, np.diag(s), atol=1e-10)
    assert np.all(np.diff(np.linalg.norm(X, axis=0)) < 0)


def test_exact_for_a_rank_k_matrix():
    rng = np.random.default_rng(2)
    M = rng.standard_normal((9, 3)) @ rng.standard_normal((3, 7))
    X, Theta = truncated_svd(M, 3)
    np.testing.assert_allclose(X @ Theta.T, M, atol=1e-10)


def test_input_is_not_modified_and_lists_are_accepted():
    M = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    X, Theta = truncated_svd(M, 1)
    assert M == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]] and X.shape == (3, 1)


@pytest.mark.parametrize("M, k, match", [
    (np.ones(4), 1, "2-D"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), 1, "NaN"),
    (np.ones((3, 2)), 0, "1..2"),
    (np.ones((3, 2)), 3, "1..2"),
    (np.ones((3, 2)), 1.5, "integer"),
])
def test_bad_input_says_what_is_wrong(M, k, match):
    with pytest.raises(ValueError, match=match):
        truncated_svd(M, k)
