"""Numerical gradient checking: correct gradients pass, wrong ones are caught and located."""

import numpy as np
import pytest

from cflib.objective import gradient
from cflib.gradcheck import (
    DEFAULT_EPS,
    TOLERANCE,
    check_gradient,
    numerical_gradient,
    relative_error,
    small_problem,
)


def test_numerical_gradient_of_known_function():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([0.5, -1.0])

    def f(M, v):
        return float(np.sum(M**3) + v @ A @ v)

    gM, gv = numerical_gradient(f, (A.copy(), b.copy()))
    np.testing.assert_allclose(gM, 3 * A**2, rtol=1e-8)
    np.testing.assert_allclose(gv, (A + A.T) @ b, rtol=1e-8)


def test_numerical_gradient_leaves_params_untouched():
    p = np.arange(6.0).reshape(2, 3)
    before = p.copy()
    numerical_gradient(lambda q: float(np.sum(q**2)), (p,))
    np.testing.assert_array_equal(p, before)


def test_default_step_is_cube_root_of_machine_eps():
    assert DEFAULT_EPS == pytest.approx(np.finfo(float).eps ** (1 / 3))
    with pytest.raises(ValueError, match="eps must be > 0"):
        numerical_gradient(lambda q: 0.0, (np.ones(2),), eps=0.0)


def test_relative_error_definition():
    a, n = np.array([1.0, 2.0]), np.array([1.0, 2.2])
    assert relative_error(a, n) == pytest.approx(0.2 / np.linalg.norm([2.0, 4.2]))
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


@pytest.mark.parametrize("lam", [0.0, 1.5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_gradient_passes_below_1e9(lam, seed):
    res = check_gradient(lam, seed=seed)
    assert res.relative_error < 1e-9
    assert res.x_error < 1e-9 and res.theta_error < 1e-9
    assert res.passed and res.wrong_blocks == []
    assert "PASS" in res.report()


@pytest.mark.parametrize("block", [0, 1])
def test_one_block_off_by_one_percent_is_flagged_and_named(block):
    def off_by_one_percent(X, Theta, Y, R, lam=0.0):
        g = list(gradient(X, Theta, Y, R, lam))
        g[block] = g[block] * 1.01
        return tuple(g)

    res = check_gradient(1.0, gradient_fn=off_by_one_percent)
    name = ["X", "Theta"][block]
    other = ["Theta", "X"][block]
    assert not res.passed
    assert res.wrong_blocks == [name]
    assert res.relative_error > TOLERANCE
    report = res.report()
    assert f"FAIL: {name}_grad does not match" in report
    assert f"{other}_grad" not in report


def test_wrong_shapes_from_gradient_fn_are_explained():
    def transposed(X, Theta, Y, R, lam=0.0):
        gx, gt = gradient(X, Theta, Y, R, lam)
        return gx.T, gt

    with pytest.raises(ValueError, match=r"X_grad has shape \(3, 4\), expected \(4, 3\)"):
        check_gradient(gradient_fn=transposed)


def test_small_problem_is_seeded():
    a = small_problem(3)
    b = small_problem(3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    X, Theta, Y, R = a
    assert X.shape == (4, 3) and Theta.shape == (5, 3) and Y.shape == R.shape == (4, 5)
    assert np.all(Y[~R] == 0) and R.any()
