r"""Checks of notebook 13 (factorization machines): the pairwise term, the gradient of one rating, one SGD step.

Each ``check_xxx(fn)`` runs ``fn`` on small seeded problems through the engine
(:func:`cflib.checks.engine.run`: copies, time limit, captured output), prints
one line (PASS, not implemented yet, or FAIL with a specific diagnosis and a
hint) and returns ``fn`` if it passed, else a :class:`~cflib.checks.guard.StandIn`
for the cflib reference.

The problems hold features that are off (:math:`x_i = 0`: a whole column of X, most
entries of x), rows with a single feature on (their pairwise term is 0), and weighted
features (:math:`x_i = 1/\sqrt 2`, as the genres), because several mistakes show only there.

The planted mistakes. Pairwise term: the 1/2 forgotten (every pair counted twice); the
squares not subtracted, or a loop over :math:`i \le j` (the terms i = j included); x
squared but not V, or V but not x; the sum over the rows instead of the factors, or none
(an (n, k) result). Gradient: the sign of e; the :math:`-v_{if} x_i^2` term forgotten;
the factor :math:`x_i` forgotten, or :math:`e\,x_i` alone (V's gradient taken as w's);
the gradient of :math:`\hat y` (no e); g0 forgotten; gV transposed. SGD step: w0
penalised; the inputs changed in place; V's gradient computed with the already updated
w0, w or V; the step taken uphill; lam forgotten, halved, not times lr, or on the
features of x only.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engine import Case, CheckSpec, Mistake, array, case_rng, lazy, run, scalar
from .guard import Invalid
from .results import refuse_odd_containers

__all__ = ["check_fm_pairwise", "check_fm_gradient", "check_sgd_step"]

_R2 = 2 ** -0.5


def _triple(out, names: tuple, labels: tuple | None = None) -> tuple:
    """Three results such as ``(g0, gw, gV)`` (their names in code; ``labels`` in sentences): one number, two arrays."""
    labels = labels or names
    what = f"the three values ({', '.join(labels)})"
    if out is None:
        raise Invalid(f"returned None instead of {what}: is the `return` statement missing?")
    refuse_odd_containers(out, what)
    if isinstance(out, np.ndarray) or not isinstance(out, (tuple, list)):
        raise Invalid(f"returned one value ({type(out).__name__}) instead of {what}: end with "
                      f"`return {', '.join(names)}`")
    if len(out) != 3:
        missing = f": is {labels[0]} missing? End with `return {', '.join(names)}`" if len(out) == 2 else ""
        raise Invalid(f"returned {len(out)} values instead of {what}{missing}")
    return (scalar(out[0], f"{labels[0]} (one number)"), *(array(o, n) for o, n in zip(out[1:], labels[1:])))


# --------------------------------------------------------------------------- the pairwise term
def _pairwise_cases(seed) -> list:
    rng = case_rng(seed)
    X = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 2.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    V = np.array([[1.0, 0.5], [-1.0, 2.0], [0.5, 1.0], [2.0, -1.0]])
    cases = [Case("the fixed X = [[1, 1, 0, 0], [0, 2, 1, 0], [0, 0, 0, 1]] with V = [[1, 0.5], [-1, 2], "
                  "[0.5, 1], [2, -1]]", (X, V))]
    for n, p, k in ((5, 7, 3), (9, 12, 4), (30, 25, 6)):
        X = np.where(rng.random((n, p)) < 0.4, rng.choice([1.0, _R2, 2.0, -0.5], size=(n, p)), 0.0)
        X[:, p // 2] = 0.0            # a feature nobody has
        X[0] = 0.0                    # a row with no feature on
        X[1] = 0.0
        X[1, 1] = 1.0                 # a row with one feature on: no pair
        cases.append(Case(f"a random {n} x {p} X (features off, a row with none and one with a single feature on, "
                          f"weights 1, 1/sqrt(2), 2, -0.5) with k={k}", (X, rng.standard_normal((p, k)))))
    return cases


def _pairwise(X, V, *, half=True, squares="both", diagonal=0.0):
    X, V = np.asarray(X, float), np.asarray(V, float)
    S = X @ V
    sub = {"both": (X * X) @ (V * V), "x only": (X * X) @ V, "V only": X @ (V * V), "none": 0.0}[squares]
    out = ((S * S - sub) * (0.5 if half else 1.0)).sum(axis=1)
    return out + diagonal * ((X * X) @ (V * V)).sum(axis=1)


def _pairwise_shape_hint(p, got, expected):
    g, e = got[0], expected[0]
    if len(g) == 2 and g[0] == e[0]:
        return "that is one term per factor f: sum them over the k factors, .sum(axis=1), for one number per row"
    if len(g) == 1:
        return ("the sum ran over the rows of X (axis=0); the pairwise term sums over the factors f "
                "(axis=1) and keeps one number per row of X")
    if len(g) == 0:
        return "the sum ran over everything: keep one number per row of X (sum over axis=1 only)"
    return "one number per row of X: shape (n,)"


def check_fm_pairwise(fn) -> Callable:
    r"""Check ``fn(X, V) -> (n,)``, the pairwise term of a factorization machine for each row of X.

    .. math::

        \sum_{i<j} \langle v_i, v_j \rangle x_i x_j
            = \tfrac12 \sum_{f=1}^k \Big[\Big(\sum_i v_{if} x_i\Big)^2 - \sum_i v_{if}^2 x_i^2\Big].

    Any right method passes (the identity, the double loop over i < j, einsum).
    Shapes: X (n, p) dense, V (p, k); the result (n,).

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.fm.pairwise`, else a StandIn that runs it and says so.
    """
    spec = CheckSpec(
        name="check_fm_pairwise", signature="X, V", ref_name="cflib.fm.pairwise",
        reference=lazy("fm", "pairwise"), cases=_pairwise_cases(61), parts=("the pairwise term",),
        split=lambda out, case: (array(out, "the pairwise term, an (n,) array"),),
        mistakes=[
            Mistake("is twice the sum over the pairs i < j: the 1/2 is missing (or every pair is counted twice, "
                    "i != j instead of i < j)",
                    "the square of a sum holds each pair twice: 0.5 * ((X @ V)**2 - X**2 @ V**2).sum(axis=1)",
                    lambda X, V: _pairwise(X, V, half=False)),
            Mistake("includes the terms i = j, half of each: the squares sum_i v_if^2 x_i^2 are not subtracted",
                    "(sum_i v_if x_i)^2 holds every pair twice AND each i with itself: subtract (X**2) @ (V**2)",
                    lambda X, V: _pairwise(X, V, squares="none")),
            Mistake("includes the terms i = j: the sum runs over i <= j, not i < j",
                    "a pair is two different features: for j in range(i + 1, p)",
                    lambda X, V: _pairwise(X, V, diagonal=1.0)),
            Mistake("counts every pair twice and includes the terms i = j: (X @ V)**2 summed without the 1/2 and "
                    "without subtracting the squares",
                    "0.5 * ((X @ V)**2 - (X**2) @ (V**2)).sum(axis=1)",
                    lambda X, V: _pairwise(X, V, half=False, squares="none")),
            Mistake("subtracts (X**2) @ V: x is squared but V is not",
                    "the diagonal term is sum_i v_if^2 x_i^2: square both, (X**2) @ (V**2)",
                    lambda X, V: _pairwise(X, V, squares="x only")),
            Mistake("subtracts X @ (V**2): V is squared but x is not",
                    "the diagonal term is sum_i v_if^2 x_i^2: square both, (X**2) @ (V**2) (it matters where "
                    "x_i is not 0 or 1)",
                    lambda X, V: _pairwise(X, V, squares="V only")),
        ],
        shape_hint=_pairwise_shape_hint,
        data_hint="0.5 * ((X @ V)**2 - (X**2) @ (V**2)).sum(axis=1)",
        error_hint="X is (n, p) and V is (p, k): X @ V is (n, k), one row per rating, one column per factor",
        later="later cells use cflib.fm.pairwise",
    )
    return run(spec, fn)


# --------------------------------------------------------------------------- one rating's gradient and step
def _rating_cases(seed, step=False) -> list:
    """One rating each: x with features off (zeros), a weighted pair (1/sqrt 2, a movie's two genres)."""
    rng = case_rng(seed)
    x = np.array([1.0, 0.0, 1.0, _R2, _R2, 0.0])
    w = np.array([0.1, -0.2, 0.3, 0.0, 0.2, 0.5])
    V = np.array([[0.5, -0.5], [1.0, 0.0], [0.5, 1.0], [-1.0, 0.5], [0.0, 0.5], [2.0, 1.0]])
    fixed = (x, 4.0, 3.5, w, V)
    label = "the fixed rating y = 4 of x = [1, 0, 1, 1/sqrt(2), 1/sqrt(2), 0] (user, movie, two genres)"
    problems = [(label, fixed)]
    for p, k, y in ((9, 3, 1.0), (14, 4, 5.0), (40, 5, 3.0)):
        x = np.zeros(p)
        on = rng.choice(p, size=4, replace=False)
        x[on[:2]] = 1.0                       # a user and a movie
        x[on[2:]] = rng.choice([_R2, 2.0, 0.5], size=2)
        problems.append((f"a random rating y = {y:g} with p={p} features (4 on) and k={k}",
                         (x, y, float(rng.normal(3.5, 0.3)), 0.3 * rng.standard_normal(p),
                          0.6 * rng.standard_normal((p, k)))))
    if not step:
        return [Case(lab, args) for lab, args in problems]
    settings = ((0.1, 0.0), (0.05, 0.5), (0.02, 2.0), (0.1, 0.1))
    return [Case(f"{lab}, lr={lr:g}, lam={lam:g}", (*args, lr, lam), lam=lam)
            for (lab, args), (lr, lam) in zip(problems, settings)]


def _gradient(x, y, w0, w, V, *, sign=1.0, square_term=True, times_x="x", times_e=True, g0=True):
    x, w, V = (np.asarray(a, float) for a in (x, w, V))
    s = x @ V
    e = sign * (w0 + w @ x + 0.5 * (s @ s - ((x * x) @ (V * V)).sum()) - y)
    c = e if times_e else 1.0
    inner = s[None, :] - (V * x[:, None] if square_term else 0.0)
    gV = {"x": c * x[:, None] * inner, "none": c * inner + 0 * x[:, None], "alone": c * x[:, None] + 0 * V}[times_x]
    return (c if g0 else 0.0), c * x, gV


def _gradient_shape_hint(p, got, expected):
    if p == 2 and tuple(got[2]) == tuple(expected[2])[::-1]:
        return "gV is transposed: it has V's shape (p, k), gV[i, f] for feature i and factor f"
    return "g0 is one number, gw has w's shape (p,), gV has V's shape (p, k)"


def check_fm_gradient(fn) -> Callable:
    r"""Check ``fn(x, y, w0, w, V) -> (g0, gw, gV)``, the gradient of :math:`\tfrac12 (\hat y(x) - y)^2`.

    With :math:`e = \hat y(x) - y` and :math:`s_f = \sum_j v_{jf} x_j`:
    :math:`g_0 = e`, :math:`g_{w_i} = e\,x_i`, :math:`g_{v_{if}} = e\,x_i (s_f - v_{if} x_i)`
    (no penalty). Shapes: x (p,) dense, y and w0 numbers, w (p,), V (p, k).

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.fm_sgd.rating_gradient`, else a StandIn that runs it and says so.
    """
    names = ("g0", "gw", "gV")
    spec = CheckSpec(
        name="check_fm_gradient", signature="x, y, w0, w, V", ref_name="cflib.fm_sgd.rating_gradient",
        reference=lazy("fm_sgd", "rating_gradient"), cases=_rating_cases(67), parts=names,
        split=lambda out, case: _triple(out, names),
        mistakes=[
            Mistake("has the wrong sign: e = y - yhat, where the derivative of 0.5 * (yhat - y)**2 is "
                    "(yhat - y) times that of yhat",
                    "e = yhat - y (prediction minus rating)",
                    lambda *a: _gradient(*a, sign=-1.0)),
            Mistake("leaves out the -v_if x_i^2 term: d yhat / d v_if = x_i (s_f - v_if x_i), not x_i s_f",
                    "s_f includes feature i itself; the pairwise term has no i = j term, so subtract V * x[:, None] "
                    "from s: gV = e * x[:, None] * (s - V * x[:, None])",
                    lambda *a: _gradient(*a, square_term=False)),
            Mistake("leaves out the factor x_i: features that are off (x_i = 0) get a gradient",
                    "d yhat / d v_if = x_i (s_f - v_if x_i): gV = e * x[:, None] * (s - V * x[:, None])",
                    lambda *a: _gradient(*a, times_x="none")),
            Mistake("is e * x_i in every column, the gradient of w, not of V",
                    "V enters yhat through the pairs: gV[i, f] = e * x_i * (s_f - v_if x_i), with s = x @ V",
                    lambda *a: _gradient(*a, times_x="alone")),
            Mistake("is the gradient of yhat, not of 0.5 * (yhat - y)**2: the factor e is missing",
                    "the chain rule multiplies by e = yhat - y: g0 = e, gw = e * x, gV = e * x[:, None] * (...)",
                    lambda *a: _gradient(*a, times_e=False)),
            Mistake("is 0: w0 is a parameter too, and d yhat / d w0 = 1", "g0 = e",
                    lambda *a: _gradient(*a, g0=False)),
        ],
        shape_hint=_gradient_shape_hint,
        data_hint="e = yhat - y; s = x @ V; g0 = e; gw = e * x; gV = e * x[:, None] * (s - V * x[:, None])",
        error_hint="x and w are (p,), V is (p, k): x @ V is (k,), x[:, None] * V is (p, k)",
        later="later cells use cflib.fm_sgd.rating_gradient",
    )
    return run(spec, fn)


def _step(x, y, w0, w, V, lr, lam, *, w0_penalty=False, sign=1.0, lam_scale=1.0, lam_lr=True, active_only=False,
          sequential=None):
    x, w, V = (np.array(a, float) for a in (x, w, V))
    from ..fm_sgd import rating_gradient
    g0, gw, gV = rating_gradient(x, y, w0, w, V)
    lam_w = lam * lam_scale * (x != 0 if active_only else 1.0)
    lam_V = lam_w[:, None] if active_only else lam * lam_scale
    shrink = (lambda t: t) if lam_lr else (lambda t: t / lr if lr else t)
    new_w0 = w0 - sign * lr * (g0 + (lam * w0 if w0_penalty else 0.0))
    new_w = w - sign * lr * (gw + shrink(lam_w * w))
    if sequential == "e":  # V's gradient from the new w0 and w
        gV = rating_gradient(x, y, new_w0, new_w, V)[2]
    new_V = V - sign * lr * (gV + shrink(lam_V * V))
    if sequential == "rows":  # rows of V updated one by one, each from the V already changed above it
        new_V = V.copy()
        for i in range(V.shape[0]):
            gVi = rating_gradient(x, y, w0, w, new_V)[2][i]
            new_V[i] = new_V[i] - lr * (gVi + lam * new_V[i])
    return float(new_w0), new_w, new_V


def _step_shape_hint(p, got, expected):
    if p == 2 and tuple(got[2]) == tuple(expected[2])[::-1]:
        return "the new V has V's shape (p, k): is it transposed?"
    return "return the new w0 (one number), w (p,) and V (p, k), in this order"


def check_sgd_step(fn) -> Callable:
    r"""Check ``fn(x, y, w0, w, V, lr, lam) -> (w0, w, V)``, one SGD step of an FM on one rating.

    The cost of the rating is :math:`\tfrac12 e^2 + \tfrac{\lambda}{2}(\|w\|^2 + \|V\|_F^2)` (w0 not
    penalised); with the gradients of :func:`check_fm_gradient` all taken at the OLD parameters:
    :math:`w_0 - \eta e`, :math:`w - \eta (e x + \lambda w)`, :math:`V - \eta (G_V + \lambda V)`.
    The inputs must not be changed: return new arrays.

    Returns
    -------
    callable
        ``fn`` if it agrees with :func:`cflib.fm_sgd.rating_step`, else a StandIn that runs it and says so.
    """
    names = ("w0", "w", "V")
    copy_hint = ("return new arrays: w - lr * (...) makes one, w -= ... changes the caller's array "
                 "(or start from w = w.copy())")
    spec = CheckSpec(
        name="check_sgd_step", signature="x, y, w0, w, V, lr, lam", ref_name="cflib.fm_sgd.rating_step",
        reference=lazy("fm_sgd", "rating_step"), cases=_rating_cases(71, step=True), parts=names,
        split=lambda out, case: _triple(out, names, ("the new w0", "the new w", "the new V")),
        mistakes=[
            Mistake("is penalised: the cost's penalty 0.5 * lam * (|w|^2 + |V|^2) leaves w0 out",
                    "w0 = w0 - lr * e, without lam",
                    lambda *a: _step(*a, w0_penalty=True)),
            Mistake("moves uphill: the step is + lr * gradient", "gradient DEscent subtracts: w - lr * (e * x + lam * w)",
                    lambda *a: _step(*a, sign=-1.0)),
            Mistake("ignores lam", "add lam * w to w's gradient and lam * V to V's",
                    lambda *a: _step(*a, lam_scale=0.0)),
            Mistake("uses lam / 2: the derivative of 0.5 * lam * |w|^2 is lam * w",
                    "w - lr * (e * x + lam * w)",
                    lambda *a: _step(*a, lam_scale=0.5)),
            Mistake("subtracts the penalty's gradient (lam * w, lam * V) without lr: it is part of the step",
                    "w - lr * (e * x + lam * w): lr multiplies the whole gradient",
                    lambda *a: _step(*a, lam_lr=False)),
            Mistake("shrinks only the features of x (x_i != 0), where the cost's penalty "
                    "0.5 * lam * (|w|^2 + |V|^2) reaches every feature",
                    "add lam * w and lam * V to the whole gradients, not only where x is on",
                    lambda *a: _step(*a, active_only=True)),
            Mistake("comes from a gradient taken after w0 and w were updated: e must be the OLD prediction's error",
                    "compute e, s and the three gradients first, then update all parameters",
                    lambda *a: _step(*a, sequential="e")),
            Mistake("comes from rows of V updated one after the other, each from a V already changed: every "
                    "gradient must be taken at the old V",
                    "compute s = x @ V and gV for all rows first, then V - lr * (gV + lam * V) at once",
                    lambda *a: _step(*a, sequential="rows")),
        ],
        shape_hint=_step_shape_hint,
        lam_hint="w - lr * (e * x + lam * w) and V - lr * (gV + lam * V); w0 gets no lam",
        data_hint="e, gw, gV at the old parameters; then w0 - lr * e, w - lr * (gw + lam * w), V - lr * (gV + lam * V)",
        error_hint="x and w are (p,), V is (p, k): x @ V is (k,), x[:, None] * V is (p, k)",
        changed_hints={"w": copy_hint, "V": copy_hint, "x": "x is the rating's features: read it, never change it"},
        later="later cells use cflib.fm_sgd.rating_step",
    )
    return run(spec, fn)
