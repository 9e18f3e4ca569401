"""The methods of notebooks 10-12 are registry entries: fit(method=...) is their own fit function."""

import numpy as np
import pytest

from cflib import make_synthetic
from cflib.als_wr import fit_als_wr
from cflib.gibbs import fit_gibbs
from cflib.implicit_als import fit_implicit_als
from cflib.train import fit
from cflib.trainers import METHODS, explorer_methods


@pytest.fixture(scope="module")
def data():
    return make_synthetic(60, 40, 3, nnz=900, seed=3)


@pytest.mark.parametrize("name, direct, kwargs, fit_kwargs", [
    ("implicit_als", fit_implicit_als, dict(k=4, n_iters=3, seed=1, alpha=2.0, lam=5.0),
     dict(k=4, n_iters=3, seed=1, alpha=2.0, lam=5.0)),
    ("gibbs", fit_gibbs, dict(k=3, n_iters=8, burn_in=2, seed=1), dict(k=3, n_iters=8, burn_in=2, seed=1)),
    ("als_wr", fit_als_wr, dict(k=3, n_iters=4, seed=1, reg_param=0.2), dict(k=3, n_iters=4, seed=1, reg_param=0.2)),
])
def test_fit_with_a_registered_method_is_its_own_fit(data, name, direct, kwargs, fit_kwargs):
    model, history = fit(data, method=name, **fit_kwargs)
    ref, ref_history = direct(data, **kwargs)
    assert type(model) is type(ref)
    np.testing.assert_allclose(model.predict_all(clip=False), ref.predict_all(clip=False))
    assert history.cost == pytest.approx(ref_history.cost)
    assert history.method == name and not history.diverged


def test_registered_methods_use_their_own_defaults(data):
    # k defaults to the entry's k (20 for implicit ALS), not fit's 10 for the rating models.
    model, _ = fit(data, method="implicit_als", n_iters=2)
    assert model.X.shape[1] == METHODS["implicit_als"].options["k"].default == 20
    model, _ = fit(data, method="als", n_iters=2)
    assert model.X.shape[1] == 10


def test_whole_model_methods_stay_out_of_the_explorer():
    assert {"implicit_als", "gibbs", "als_wr"} <= set(METHODS)
    assert not {"implicit_als", "gibbs", "als_wr"} & set(explorer_methods())


def test_a_kind_the_method_does_not_train_is_refused(data):
    with pytest.raises(ValueError, match=r"kind must be one of \('plain',\) for method 'als_wr'"):
        fit(data, method="als_wr", kind="biased")


@pytest.mark.parametrize("method, setting, named", [
    ("gibbs", dict(lam=1.0), "lam"),
    ("als_wr", dict(lr=0.1), "lr"),
    ("als_wr", dict(momentum=0.5), "momentum"),
    ("implicit_als", dict(lam_bias=2.0), "lam_bias"),
    ("gd", dict(momentum=0.5), "momentum"),
    ("als", dict(lr=0.01), "lr"),
    ("lbfgs", dict(momentum=0.5), "momentum"),
    ("als_wr", dict(lam=0.2), "lam"),
    ("gibbs", dict(init_scale=0.2), "init_scale"),
])
def test_an_argument_the_method_does_not_use_is_refused_not_dropped(data, method, setting, named):
    with pytest.raises(TypeError, match=rf"method '{method}' does not use {named}: leave it out"):
        fit(data, method=method, n_iters=2, **setting)


def test_a_normalized_model_has_no_lam_bias(data):
    with pytest.raises(TypeError, match="method 'als' does not use lam_bias"):
        fit(data, kind="normalized", lam_bias=1.0, n_iters=2)
    model, _ = fit(data, kind="normalized", n_iters=2)
    assert "lam_bias" not in model.params and model.lam_bias == 0.0


@pytest.mark.parametrize("method", [m for m in METHODS if "k" in METHODS[m].options])  # ease: tests/test_ease.py
def test_the_recorded_parameters_are_the_ones_used_and_retrain_the_same_model(data, method):
    model, _ = fit(data, method=method, n_iters=3, k=3)
    assert model.params["method"] == method and model.params["n_iters"] == 3 and model.params["k"] == 3
    assert set(model.params) == {"method", "seed", *METHODS[method].resolve({"n_iters": 3, "k": 3})}
    again, _ = fit(data, **model.params)
    np.testing.assert_array_equal(again.predict_all(clip=False), model.predict_all(clip=False))


def test_momentum_is_recorded_as_used(data):
    model, _ = fit(data, method="momentum", momentum=0.5, lr=1e-3, n_iters=3)
    assert model.params["momentum"] == 0.5
    assert "momentum" not in fit(data, method="gd", lr=1e-3, n_iters=3)[0].params


def test_gibbs_takes_its_init_std(data):
    a, _ = fit(data, method="gibbs", k=3, n_iters=4, burn_in=1, init_std=0.05, seed=2)
    b, _ = fit_gibbs(data, k=3, n_iters=4, burn_in=1, init_std=0.05, seed=2)
    c, _ = fit_gibbs(data, k=3, n_iters=4, burn_in=1, init_std=0.5, seed=2)
    np.testing.assert_allclose(a.predict_all(clip=False), b.predict_all(clip=False))
    assert not np.allclose(a.predict_all(clip=False), c.predict_all(clip=False))
