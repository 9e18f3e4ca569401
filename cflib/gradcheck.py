r"""Numerical gradient checking by central differences.

For a scalar function f and a step h, Taylor's expansion gives

.. math::

    \frac{f(p + h e_t) - f(p - h e_t)}{2h} = \frac{\partial f}{\partial p_t} + O(h^2),

while rounding adds an error of order :math:`\varepsilon_{mach} |f| / h`. The
two balance near :math:`h \approx \varepsilon_{mach}^{1/3} \approx 6\cdot10^{-6}`,
the default step here.

The agreement of an analytic gradient a with the numerical one n is measured by

.. math::

    \text{relative error} = \frac{\|a - n\|}{\|a + n\|},

computed over all parameters and separately for the X block and the Theta
block, so that a learner knows which half of the gradient is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .objective import cost as _reference_cost
from .objective import gradient as _reference_gradient

__all__ = ["numerical_gradient", "finite_differences", "relative_error", "check_gradient", "GradCheckResult", "DEFAULT_EPS", "TOLERANCE"]

DEFAULT_EPS = float(np.finfo(float).eps ** (1 / 3))
#: A gradient passes when its relative error is below this. A correct gradient
#: on the default problem gives about 1e-11; a block off by 1% gives about 5e-3.
TOLERANCE = 1e-7


def numerical_gradient(f, params, eps: float = DEFAULT_EPS):
    """Central-difference gradient of ``f`` at ``params``.

    Parameters
    ----------
    f : callable
        ``f(*params) -> float``.
    params : sequence of ndarray
        The point, one array per block (for cflib: ``(X, Theta)``).
    eps : float
        Step h of the central difference.

    Returns
    -------
    tuple of ndarray
        One array per block, each of the block's shape:
        ``(f(p + h e_t) - f(p - h e_t)) / (2 h)`` for every entry t.
    """
    return finite_differences(f, params, eps)


def finite_differences(f, params, eps: float = DEFAULT_EPS, *, scheme: str = "central", restore: bool = True):
    """Finite-difference gradient of ``f`` at ``params``, entry by entry.

    Parameters
    ----------
    f : callable
        ``f(*params) -> float``.
    params : sequence of ndarray
        The point, one array per block; the caller's arrays are never changed
        (the differences are taken on copies).
    eps : float
        Step h, > 0.
    scheme : {"central", "forward"}
        ``"central"``: :math:`(f(p + h e_t) - f(p - h e_t)) / 2h`, error
        :math:`O(h^2)`; ``"forward"``: :math:`(f(p + h e_t) - f(p)) / h`,
        error :math:`O(h)`.
    restore : bool
        Put each entry back before moving to the next one (True, the right
        way). ``False`` reproduces the classic mistake of leaving every entry
        at ``p_t - h`` (central) or ``p_t + h`` (forward); :mod:`cflib.checks`
        uses it to recognise that mistake.

    Returns
    -------
    tuple of ndarray
        One array per block, each of the block's shape.
    """
    if scheme not in ("central", "forward"):
        raise ValueError(f"scheme must be 'central' or 'forward', got {scheme!r}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    params = [np.array(p, dtype=np.float64, copy=True) for p in params]
    grads = []
    for p in params:
        g = np.zeros_like(p)
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for t in range(flat.size):
            old = flat[t]
            if scheme == "forward":
                f_base = float(f(*params))
            flat[t] = old + eps
            f_plus = float(f(*params))
            if scheme == "central":
                flat[t] = old - eps
                f_minus = float(f(*params))
                gflat[t] = (f_plus - f_minus) / (2 * eps)
            else:
                gflat[t] = (f_plus - f_base) / eps
            if restore:
                flat[t] = old
        grads.append(g)
    return tuple(grads)


def relative_error(a, n) -> float:
    """``norm(a - n) / norm(a + n)``; 0 when both are 0."""
    a = np.ravel(np.asarray(a, dtype=float))
    n = np.ravel(np.asarray(n, dtype=float))
    den = np.linalg.norm(a + n)
    num = np.linalg.norm(a - n)
    if den == 0:
        return 0.0 if num == 0 else float("inf")
    return float(num / den)


@dataclass
class GradCheckResult:
    """Outcome of :func:`check_gradient`.

    Attributes
    ----------
    relative_error : float
        Over all parameters.
    x_error, theta_error : float
        Relative error of the X block and of the Theta block.
    analytic, numeric : tuple of ndarray
        ``(X_grad, Theta_grad)`` from the function checked and from central differences.
    lam, tol : float
    """

    relative_error: float
    x_error: float
    theta_error: float
    analytic: tuple
    numeric: tuple
    lam: float
    tol: float = TOLERANCE

    @property
    def passed(self) -> bool:
        return bool(self.relative_error < self.tol and self.x_error < self.tol and self.theta_error < self.tol)

    @property
    def wrong_blocks(self) -> list[str]:
        """Names of the blocks that fail: a subset of ``["X", "Theta"]``."""
        return [name for name, e in (("X", self.x_error), ("Theta", self.theta_error)) if not e < self.tol]

    def report(self) -> str:
        """A readable summary, one line per block and a verdict."""
        lines = [
            f"gradient check (lam={self.lam:g}, tolerance {self.tol:.0e})",
            f"  X block     relative error {self.x_error:.2e}  {'ok' if self.x_error < self.tol else 'WRONG'}",
            f"  Theta block relative error {self.theta_error:.2e}  {'ok' if self.theta_error < self.tol else 'WRONG'}",
            f"  overall     relative error {self.relative_error:.2e}",
        ]
        if self.passed:
            lines.append("PASS: the analytic gradient matches the numerical one.")
        else:
            wrong = [f"{b}_grad" for b in self.wrong_blocks]
            verb = "do not match" if len(wrong) > 1 else "does not match"
            lines.append(f"FAIL: {' and '.join(wrong) or 'the gradient'} {verb} the numerical gradient.")
        return "\n".join(lines)

    def __str__(self):
        return self.report()

    def _repr_pretty_(self, p, cycle):  # IPython shows the report, not a dataclass dump
        p.text(self.report())


def small_problem(seed: int = 0, n_movies: int = 4, n_users: int = 5, k: int = 3):
    """A small random problem in the style of the classic ``checkCostFunction``.

    Returns
    -------
    X : (n_movies, k), Theta : (n_users, k), Y, R : (n_movies, n_users)
        Y comes from a random rank-k model with about half of the entries
        removed; X and Theta are a fresh random starting point.
    """
    rng = np.random.default_rng(seed)
    Y = rng.random((n_movies, k)) @ rng.random((n_users, k)).T
    R = rng.random(Y.shape) > 0.5
    R[0, 0] = True  # never an empty problem
    Y = np.where(R, Y, 0.0)
    X = rng.standard_normal((n_movies, k))
    Theta = rng.standard_normal((n_users, k))
    return X, Theta, Y, R


def check_gradient(lam: float = 0.0, *, gradient_fn=None, cost_fn=None, seed: int = 0,
                   eps: float = DEFAULT_EPS, tol: float = TOLERANCE) -> GradCheckResult:
    """Compare an analytic gradient with central differences of the cost.

    Parameters
    ----------
    lam : float
        Regularization strength used for both cost and gradient.
    gradient_fn : callable, optional
        ``gradient_fn(X, Theta, Y, R, lam) -> (X_grad, Theta_grad)``;
        default :func:`cflib.gradient`.
    cost_fn : callable, optional
        ``cost_fn(X, Theta, Y, R, lam) -> float`` differentiated numerically;
        default :func:`cflib.cost`.
    seed : int
        Seed of the small random problem (see :func:`small_problem`).
    eps : float
        Central-difference step.
    tol : float
        Relative error below which the gradient passes.

    Returns
    -------
    GradCheckResult
        With ``relative_error``, ``x_error``, ``theta_error``, ``passed`` and ``report()``.
    """
    gradient_fn = gradient_fn or _reference_gradient
    cost_fn = cost_fn or _reference_cost
    X, Theta, Y, R = small_problem(seed)
    analytic = gradient_fn(X.copy(), Theta.copy(), Y.copy(), R.copy(), lam)
    if not (isinstance(analytic, (tuple, list)) and len(analytic) == 2):
        raise TypeError("gradient_fn must return a pair (X_grad, Theta_grad)")
    analytic = tuple(np.asarray(a, dtype=float) for a in analytic)
    for a, ref, name in ((analytic[0], X, "X_grad"), (analytic[1], Theta, "Theta_grad")):
        if a.shape != ref.shape:
            raise ValueError(
                f"{name} has shape {a.shape}, expected {ref.shape} (the shape of "
                f"{'X' if name == 'X_grad' else 'Theta'})"
            )
    numeric = numerical_gradient(lambda X_, T_: cost_fn(X_, T_, Y, R, lam), (X, Theta), eps=eps)
    return GradCheckResult(
        relative_error=relative_error(np.concatenate([a.ravel() for a in analytic]),
                                      np.concatenate([n.ravel() for n in numeric])),
        x_error=relative_error(analytic[0], numeric[0]),
        theta_error=relative_error(analytic[1], numeric[1]),
        analytic=analytic,
        numeric=numeric,
        lam=float(lam),
        tol=tol,
    )
