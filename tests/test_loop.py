"""The one training loop (:mod:`cflib.loop`): results pinned to the code before it, a new method in a few lines.

``tests/fixtures/loop_reference.npz`` holds, for a short fit of each of the
seven methods on ml-100k u1 with the course's settings, the History values and
a strided sample (plus sum and sum of squares) of every parameter array, as
computed by cflib before the loop was introduced. Regenerate (only when a change
of results is intended) with ``python tests/test_loop.py``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import cflib
from cflib import blocks
from cflib.loop import Method, Param, Real
from cflib.train import fit
from cflib.trainers import METHODS, register

REFERENCE = Path(__file__).parent / "fixtures" / "loop_reference.npz"
STRIDE = 397

#: (name, function, keyword arguments): the course's settings, few iterations.
RUNS = {
    "gd": ("fit", dict(method="gd", kind="normalized", k=10, lam=10.0, lr=0.005, n_iters=10)),
    "gd_biased": ("fit", dict(method="gd", kind="biased", k=10, lam=10.0, lr=0.002, n_iters=10)),
    "momentum": ("fit", dict(method="momentum", kind="normalized", k=10, lam=10.0, lr=0.005, n_iters=10)),
    "lbfgs": ("fit", dict(method="lbfgs", kind="biased", k=10, lam=10.0, n_iters=10)),
    "als_course": ("fit", dict(method="als", kind="normalized", k=5, lam=8.0, n_iters=5)),
    "als_best": ("fit", dict(method="als", kind="biased", k=5, lam=10.0, lam_bias=5.0, n_iters=5)),
    "implicit_als": ("fit_implicit_als", dict(k=20, n_iters=3)),
    "gibbs": ("fit_gibbs", dict(k=10, n_iters=12)),
    "als_wr": ("fit_als_wr", dict(k=10, reg_param=0.15, n_iters=5)),
}
ARRAYS = ("X", "Theta", "movie_bias", "user_bias")
SERIES = ("cost", "train_rmse", "val_rmse", "val_ndcg", "alpha", "tau")


def _function(name):
    if name == "fit":
        return fit
    module = {"fit_implicit_als": "implicit_als", "fit_gibbs": "gibbs", "fit_als_wr": "als_wr"}[name]
    return getattr(__import__(f"cflib.{module}", fromlist=[name]), name)


def summary(model, history) -> dict:
    """The numbers pinned for one run: History series and a sample of every parameter array."""
    out = {}
    for name in ARRAYS:
        if hasattr(model, name):
            a = np.asarray(getattr(model, name), dtype=float).ravel()
            out[name] = np.r_[a[::STRIDE], a.sum(), a @ a]
    for name in SERIES:
        if getattr(history, name, None) is not None:
            out[name] = np.asarray(getattr(history, name), dtype=float)
    out["initial_cost"] = np.array([history.initial_cost])
    out["diverged"] = np.array([float(history.diverged)])
    return out


def run(label, train, test):
    function, kwargs = RUNS[label]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _function(function)(train, validation=test, seed=0, **kwargs)


@pytest.fixture(scope="module")
def u1():
    try:
        return cflib.load_split("u1", download=False, progress=False)
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"MovieLens 100K not available: {exc}")


@pytest.mark.parametrize("label", list(RUNS))
def test_results_are_those_of_the_code_before_the_loop(u1, label):
    reference = np.load(REFERENCE)
    got = summary(*run(label, *u1))
    expected = {key.split("/", 1)[1]: reference[key] for key in reference.files if key.startswith(label + "/")}
    assert set(got) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-10, atol=1e-12, err_msg=f"{label}: {name}")


# ------------------------------------------------------------------ a new method: one step, one entry
def _biases_step(state):
    """Gradient descent on the biases only (X and Theta keep their initialization)."""
    J, grads = state.objective.cost_and_gradient(state.params)
    X, Theta, b, b_u = state.params
    lr = state.options["lr"]
    state.params = [X, Theta, b - lr * grads[2], b_u - lr * grads[3]]


BIASES = Method("biases", "biases only", step=_biases_step, kinds=("biased",), explorer=True, max_iters=30,
                start_iters=20, options=blocks.options(50, lr=Param(0.002, Real(0.0, closed="right"))),
                **blocks.PIECES)


@pytest.fixture
def biases_method():
    register(BIASES)
    yield BIASES
    del METHODS["biases"]


def test_a_toy_method_is_one_step_and_one_entry_for_fit_and_the_explorer(biases_method):
    from cflib.widgets import TrainingExplorer

    train, val = cflib.make_synthetic(60, 40, 3, density=0.3, noise=0.3, seed=1).random_split(0.2, seed=0)
    model, history = fit(train, method="biases", k=0, lr=0.01, n_iters=40, validation=val)
    assert len(history) == len(history.train_rmse) == len(history.val_rmse) == 40 and not history.diverged
    assert np.all(np.diff(history.cost) <= 0) and history.cost[-1] < history.initial_cost
    assert model.params == dict(method="biases", kind="biased", k=0, lam=15.0, lam_bias=5.0, n_iters=40,
                                init_scale=0.1, lr=0.01, seed=0)
    with pytest.raises(TypeError, match="method 'biases' does not use momentum"):
        fit(train, method="biases", momentum=0.5)
    explorer = TrainingExplorer(train, val, method="biases", kind="biased", k=2, lr=0.01)
    assert "biases" in [value for _, value in explorer.method.options]
    assert explorer.runs == 1 and len(explorer.history) == 20 and not explorer.lr.disabled
    explorer.n_iters.value = 25
    assert explorer.runs == 2 and len(explorer.history.val_rmse) == 25


def test_every_method_shares_the_checks_of_train_and_validation():
    data = cflib.make_synthetic(30, 20, 2, density=0.4, seed=1)
    other = cflib.make_synthetic(31, 20, 2, density=0.4, seed=1)
    for name in METHODS:
        with pytest.raises(TypeError, match="train must be a cflib.Ratings"):
            fit(np.zeros((3, 3)), method=name)
        with pytest.raises(TypeError, match="validation must be a cflib.Ratings"):
            fit(data, method=name, validation="val")
        with pytest.raises(ValueError, match=r"validation has shape \(31, 20\) but train has \(30, 20\)"):
            fit(data, method=name, validation=other)
        with pytest.raises(TypeError, match=f"method '{name}' does not use colour"):
            fit(data, method=name, colour="red")


def test_an_entry_must_declare_n_iters_with_params():
    with pytest.raises(ValueError, match="n_iters"):
        Method("bad", "bad", step=_biases_step, options={}, **blocks.PIECES)
    with pytest.raises(TypeError, match="Param"):
        Method("bad", "bad", step=_biases_step, options={"n_iters": 3}, **blocks.PIECES)
    with pytest.raises(TypeError, match="cflib.loop.Method"):
        register("als")


if __name__ == "__main__":
    train, test = cflib.load_split("u1", download=False, progress=False)
    arrays = {f"{label}/{name}": value for label in RUNS for name, value in summary(*run(label, train, test)).items()}
    np.savez_compressed(REFERENCE, **arrays)
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size} bytes, {len(arrays)} arrays)")


@pytest.mark.parametrize("method", ["gd", "momentum", "lbfgs", "als"])
def test_a_k_too_large_meets_the_memory_guard_before_any_allocation(method):
    data = cflib.make_synthetic(20, 15, 2, density=0.5, seed=0)
    with pytest.raises(ValueError, match=r"k=1000000000 would need about .* GB .*choose a smaller k"):
        fit(data, method=method, k=10**9)


def test_a_method_that_is_not_a_name_is_a_type_error():
    data = cflib.make_synthetic(20, 15, 2, density=0.5, seed=0)
    with pytest.raises(TypeError, match=r"method must be a method's name \(a str\)"):
        fit(data, method=["als"])


def test_blas_threads_are_pinned_during_a_step_and_restored_after():
    """The loop pins BLAS to one thread for a one-thread method (ALS) while it steps, and gives the
    setting back afterwards; threads=2 asks for two."""
    from threadpoolctl import threadpool_info

    from cflib.loop import Integer, run

    def blas_threads():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    before = blas_threads()
    seen = []
    data = cflib.make_synthetic(20, 15, 2, density=0.4, seed=0)

    def init(train, validation, seed, options):
        return SimpleNamespace(train=train, params=[np.zeros(1)], options=options)

    def step(state):
        seen.append(blas_threads())
        state.params = [state.params[0] + 1.0]
        return 0.0, 0.0

    entry = Method("pinned", "pinned", step=step, init=init, cost=lambda s: 0.0, sse=lambda s, c: 0.0,
                   predict=None, finish=lambda state, params, history: state, one_blas_thread=True,
                   kinds=("toy",), options=dict(n_iters=Param(2, Integer(1))))
    run(entry, data)
    assert seen and all(s == {1} for s in seen)
    run(entry, data, threads=2)
    assert seen[-1] == {2} or before == {1}
    assert blas_threads() == before
