"""The one training loop (:mod:`cflib.loop`): results pinned to the code before the loop existed.

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

import numpy as np
import pytest

import cflib
from cflib.train import fit

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
SERIES = ("cost", "train_rmse", "val_rmse", "val_ndcg", "alpha")


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


if __name__ == "__main__":
    train, test = cflib.load_split("u1", download=False, progress=False)
    arrays = {f"{label}/{name}": value for label in RUNS for name, value in summary(*run(label, train, test)).items()}
    np.savez_compressed(REFERENCE, **arrays)
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size} bytes, {len(arrays)} arrays)")
