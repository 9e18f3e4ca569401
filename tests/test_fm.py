"""Factorization machines (cflib.fm, cflib.fm_als): the identity, the relational blocks, the gradient,
the solvers through the one loop, MF as an FM, and evaluate on an FM."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import cflib
from cflib.datasets.formats import read_ml100k
from cflib.datasets.side import read_ml100k_side
from cflib.evaluate import evaluate, rmse
from cflib.features import build_features
from cflib.fm import (FMModel, cost, gradient, pairwise, pairwise_naive, predict_dense, predict_relational)
from cflib.fm_sgd import batch_gradient
from cflib.gradcheck import check_gradient, numerical_gradient, relative_error
from cflib.train import fit

FIXTURE = Path(__file__).parent / "fixtures" / "ml-100k"
IMPLICIT = ["user", "movie", "date", "movie_raters", "user_rated"]


@pytest.fixture(scope="module")
def small():
    data = cflib.make_synthetic(n_movies=12, n_users=9, density=0.4, seed=1)
    times = np.random.default_rng(0).integers(800_000_000, 800_000_000 + 60 * 86400, data.nnz)
    return replace(data, timestamps=times, _cache={})


@pytest.fixture(scope="module")
def synthetic():
    return cflib.make_synthetic(n_movies=40, n_users=30, k=2, density=0.3, seed=3)


def _random_point(p, k, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(p) * 0.1, rng.standard_normal((p, k)) * 0.3


# ------------------------------------------------------------------ the model
def test_the_identity_equals_the_definition():
    rng = np.random.default_rng(0)
    X = rng.random((7, 9)) * (rng.random((7, 9)) < 0.5)
    V = rng.standard_normal((9, 4))
    by_hand = np.array([sum(V[i] @ V[j] * x[i] * x[j] for i in range(9) for j in range(i + 1, 9)) for x in X])
    np.testing.assert_allclose(pairwise_naive(X, V), by_hand, atol=1e-12)
    np.testing.assert_allclose(pairwise(X, V), by_hand, atol=1e-12)
    np.testing.assert_allclose(pairwise(sp.csr_matrix(X), V), by_hand, atol=1e-12)


def test_sparse_blocks_predict_as_the_dense_design(small):
    space = build_features(small, IMPLICIT)
    X = space.dense(small.movies, small.users, small.timestamps)
    w, V = _random_point(space.n_features, 3)
    idx = space.indices(small.movies, small.users, small.timestamps)
    np.testing.assert_allclose(predict_relational(space, idx, 3.0, w, V), predict_dense(X, 3.0, w, V), atol=1e-12)


def test_gradient_passes_check_gradient_on_ids():
    """cflib.check_gradient's problem as an FM on ids: X is the movie group's V, Theta the user group's."""
    def as_fm(X, Theta, Y, R):
        movies, users = np.nonzero(R)
        data = cflib.Ratings(movies=movies, users=users, ratings=Y[R], n_movies=Y.shape[0], n_users=Y.shape[1],
                             titles=np.array([""] * Y.shape[0]), genre_names=(), genres=np.zeros((Y.shape[0], 0)),
                             movie_ids=np.arange(Y.shape[0]), user_ids=np.arange(Y.shape[1]))
        space = build_features(data, "ids")
        return space, space.indices(movies, users), data.ratings, np.vstack([Theta, X])

    def cost_fn(X, Theta, Y, R, lam):
        space, idx, y, V = as_fm(X, Theta, Y, R)
        return cost(space, idx, y, 0.0, np.zeros(V.shape[0]), V, lam, 0.0)

    def gradient_fn(X, Theta, Y, R, lam):
        space, idx, y, V = as_fm(X, Theta, Y, R)
        _, gV = gradient(space, idx, y, 0.0, np.zeros(V.shape[0]), V, lam, 0.0)
        return gV[Theta.shape[0]:], gV[:Theta.shape[0]]

    def sgd_gradient_fn(X, Theta, Y, R, lam):  # the gradient the SGD steps with, on one batch of every rating
        space, idx, y, V = as_fm(X, Theta, Y, R)
        squares = {b: B.multiply(B).tocsr() for b, B in space.blocks.items()}
        _, _, gV, _ = batch_gradient(space, squares, idx, y, 0.0, np.zeros(V.shape[0]), V)
        gV += lam * V
        return gV[Theta.shape[0]:], gV[:Theta.shape[0]]

    for lam in (0.0, 1.5):
        for fn in (gradient_fn, sgd_gradient_fn):
            result = check_gradient(lam, gradient_fn=fn, cost_fn=cost_fn)
            assert result.passed, result.report()
    # and it is the reference gradient of cflib's J
    assert check_gradient(1.5, gradient_fn=gradient_fn).passed


def test_gradient_of_every_block_against_central_differences(small):
    space = build_features(small, IMPLICIT)
    idx = space.indices(small.movies, small.users, small.timestamps)
    w, V = _random_point(space.n_features, 3, seed=2)
    gw, gV = gradient(space, idx, small.ratings, 3.0, w, V, 0.7, 0.3)
    nw, nV = numerical_gradient(lambda w_, V_: cost(space, idx, small.ratings, 3.0, w_, V_, 0.7, 0.3), (w, V))
    assert relative_error(gw, nw) < 1e-7 and relative_error(gV, nV) < 1e-7
    # the SGD's gradient of a batch (a third of the ratings) against central differences of its cost
    batch = np.arange(0, small.nnz, 3)
    squares = {b: B.multiply(B).tocsr() for b, B in space.blocks.items()}
    bidx = {b: r[batch] for b, r in idx.items()}
    _, bw, bV, c = batch_gradient(space, squares, bidx, small.ratings[batch], 3.0, w, V)
    nbw, nbV = numerical_gradient(lambda w_, V_: cost(space, bidx, small.ratings[batch], 3.0, w_, V_, 0, 0), (w, V))
    assert relative_error(bw, nbw) < 1e-7 and relative_error(bV, nbV) < 1e-7
    np.testing.assert_allclose(c, space.dense(small.movies[batch], small.users[batch], small.timestamps[batch]).sum(0))
    wrong = gV.copy()
    wrong[space.group_slices["movie_raters"]] *= 1.01  # a gradient 1% off in one group fails
    assert relative_error(wrong, nV) > 1e-5


# ------------------------------------------------------------------ the solvers
def test_mf_with_biases_is_an_fm_on_ids(synthetic):
    kw = dict(k=2, lam=2.0, lam_bias=1.0, n_iters=300)
    mf, h_mf = fit(synthetic, method="als", kind="biased", **kw)
    fm, h_fm = fit(synthetic, method="fm_als", features="ids", **kw)
    assert h_fm.cost[-1] == pytest.approx(h_mf.cost[-1], rel=1e-10)
    p_mf = mf.predict(synthetic.movies, synthetic.users, clip=False)
    p_fm = fm.predict(synthetic.movies, synthetic.users, clip=False)
    assert rmse(p_fm, synthetic.ratings, clip=None) == pytest.approx(rmse(p_mf, synthetic.ratings, clip=None),
                                                                     rel=1e-10)
    np.testing.assert_allclose(p_fm, p_mf, atol=1e-8)
    assert fm.w0 == mf.mu


def test_als_never_raises_j_with_weighted_groups(small):
    _, history = fit(small, method="fm_als", features=IMPLICIT, k=3, lam=1.0, lam_bias=1.0, n_iters=8)
    J = [history.initial_cost, *history.cost]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(J, J[1:])) and J[-1] < 0.7 * J[0]


def test_sgd_is_seeded(synthetic):
    kw = dict(method="fm_sgd", features="all", k=2, n_iters=3, lr=0.1, batch_size=16)
    with_ts = replace(synthetic, timestamps=np.arange(synthetic.nnz) * 3600 + 800_000_000, _cache={})
    a, _ = fit(with_ts, seed=4, **kw)
    b, _ = fit(with_ts, seed=4, **kw)
    c, _ = fit(with_ts, seed=5, **kw)
    np.testing.assert_array_equal(a.V, b.V)
    assert not np.allclose(a.V, c.V)
    assert a.space.groups == ("user", "movie", "date", "movie_raters", "user_rated")


def test_sgd_comes_near_the_minimum_als_finds(synthetic):
    kw = dict(k=2, lam=2.0, lam_bias=1.0)
    _, als = fit(synthetic, method="fm_als", n_iters=300, **kw)
    _, sgd = fit(synthetic, method="fm_sgd", n_iters=40, lr=0.15, lr_decay=0.93, batch_size=16, **kw)
    assert sgd.cost[-1] < 1.05 * als.cost[-1] and sgd.initial_cost > 1.5 * als.cost[-1]


def test_bad_arguments_are_named(synthetic):
    for kw, error, match in [
        (dict(features="everything"), ValueError, "features must be 'ids', 'all' or a list"),
        (dict(features=["user", "age"]), ValueError, r"need the side information|does not have the movies"),
        (dict(side="side"), TypeError, "side must be None or a SideInfo"),
        (dict(lr=0.0), ValueError, "lr must be"),
        (dict(batch_size=0), ValueError, "batch_size must be"),
        (dict(lr_decay=1.5), ValueError, "lr_decay must be"),
        (dict(k=-1), ValueError, "k must be"),
        (dict(burn_in=3), TypeError, "does not use burn_in"),
    ]:
        with pytest.raises(error, match=match):
            fit(synthetic, method="fm_sgd", n_iters=1, **kw)
    with pytest.raises(ValueError, match="has none: leave 'date' out"):
        fit(synthetic, method="fm_als", features=["user", "date"], n_iters=1)


# ------------------------------------------------------------------ evaluate and the model
def test_evaluate_reads_the_dates_of_the_test_ratings(tmp_path):
    dest = tmp_path / "ml-100k"
    dest.mkdir()
    for f in FIXTURE.glob("*.fixture"):
        shutil.copyfile(f, dest / f.stem)
    (dest / "u.occupation").write_text("administrator\nother\ntechnician\nwriter\n")
    full = read_ml100k(dest)
    side = read_ml100k_side(dest, full)
    train, test = full.subset(np.arange(7)), full.subset(np.arange(7, 10))
    model, _ = fit(train, method="fm_als", features="all", side=side, k=2, n_iters=3)
    assert isinstance(model, FMModel) and model.space.groups[-3:] == ("date", "movie_raters", "user_rated")
    explicit = model.predict(test.movies, test.users, timestamps=test.timestamps)
    assert evaluate(model, test)["rmse"] == pytest.approx(rmse(explicit, test.ratings))
    # a date far away changes the prediction: the date is read, not ignored
    later = model.predict(test.movies, test.users, timestamps=test.timestamps * 0 - 1, clip=False)
    assert not np.allclose(later, model.predict(test.movies, test.users, clip=False))


def test_predict_all_is_predict_at_the_latest_date(small):
    model, _ = fit(small, method="fm_sgd", features=IMPLICIT, k=2, n_iters=2)
    movies, users = np.meshgrid(np.arange(small.n_movies), np.arange(small.n_users), indexing="ij")
    latest = np.full(movies.size, small.timestamps.max())
    expect = model.predict(movies.ravel(), users.ravel(), timestamps=latest, clip=False).reshape(movies.shape)
    np.testing.assert_allclose(model.predict_all(clip=False), expect, atol=1e-12)
    assert "FMModel(k=2" in repr(model)


# ------------------------------------------------------------------ MCMC
@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "compiled"])
def test_mcmc_keeps_its_running_sums_exact_with_weighted_groups(synthetic, compiled, monkeypatch):
    """The groups are drawn from per-row sums updated in closed form: the ratings' sums and
    predictions must stay those a fresh pass over the ratings gives, in both paths."""
    from cflib import fm_draws
    from cflib.fm import terms
    from cflib.fm_mcmc import METHOD_MCMC, _init, _step

    if compiled:
        pytest.importorskip("numba", reason="the compiled draws need numba (optional)")
    monkeypatch.setattr(fm_draws, "compiled_available", lambda: compiled)

    options = METHOD_MCMC.resolve(dict(features=["user", "movie", "movie_raters", "user_rated"], k=3, n_iters=5))
    state = _init(synthetic, None, 0, options)
    for _ in range(3):
        _step(state)
        w, V = state.params
        lin, s, q = terms(state.space, state.idx, w, V)
        np.testing.assert_allclose(state.s, s, atol=1e-10)
        np.testing.assert_allclose(state.pred, state.w0 + lin + 0.5 * (s * s - q).sum(axis=1), atol=1e-10)


def test_mcmc_on_ids_predicts_as_well_as_gibbs_and_gives_a_std(synthetic):
    train, test = synthetic.random_split(0.2, seed=0)
    fm, history = fit(train, method="fm_mcmc", features="ids", k=2, n_iters=60, validation=test)
    mf, _ = fit(train, method="gibbs", k=2, n_iters=60)
    assert abs(evaluate(fm, test)["rmse"] - evaluate(mf, test)["rmse"]) < 0.02
    assert history.val_rmse[-1] == pytest.approx(rmse(fm.predict(test.movies, test.users, clip=False),
                                                      test.ratings))
    std = fm.predict_std(test.movies, test.users)
    assert std.shape == (test.nnz,) and (std > np.sqrt(np.mean(1 / fm.tau)) - 1e-12).all()
    assert fm.n_samples == 50 and len(history.tau) == 60 and history.burn_in == 10
    again, _ = fit(train, method="fm_mcmc", features="ids", k=2, n_iters=60)
    np.testing.assert_array_equal(again.V, fm.V)  # seeded


def test_mcmc_takes_nothing_to_tune(synthetic):
    with pytest.raises(TypeError, match="does not use lam"):
        fit(synthetic, method="fm_mcmc", lam=3.0, n_iters=2)
    with pytest.raises(ValueError, match="burn_in must be"):
        fit(synthetic, method="fm_mcmc", n_iters=5, burn_in=5)


def test_mcmc_predict_all_is_the_mean_of_its_predictions(small):
    model, _ = fit(small, method="fm_mcmc", features=IMPLICIT, k=2, n_iters=4, burn_in=1)
    movies, users = np.meshgrid(np.arange(small.n_movies), np.arange(small.n_users), indexing="ij")
    latest = np.full(movies.size, small.timestamps.max())
    expect = model.predict(movies.ravel(), users.ravel(), timestamps=latest, clip=False).reshape(movies.shape)
    np.testing.assert_allclose(model.predict_all(clip=False), expect, atol=1e-12)
    assert "FMPosterior(k=2, n_samples=3" in repr(model)


@pytest.mark.parametrize("features", [["user", "movie", "movie_raters", "user_rated"], IMPLICIT])
def test_mcmc_compiled_draws_equal_the_numpy_draws(small, features, monkeypatch):
    """cflib.fm_compiled (numba, optional) does the arithmetic of cflib.fm_draws with the same normals."""
    pytest.importorskip("numba", reason="the compiled draws need numba (optional)")
    from cflib import fm_draws

    models = []
    for compiled in (False, True):
        monkeypatch.setattr(fm_draws, "compiled_available", lambda c=compiled: c)
        models.append(fit(small, method="fm_mcmc", features=features, k=3, n_iters=12, burn_in=2)[0])
    numpy_path, compiled_path = models
    assert compiled_path.n_samples == numpy_path.n_samples == 10
    np.testing.assert_allclose(compiled_path.V, numpy_path.V, atol=1e-9)
    np.testing.assert_allclose(compiled_path.w, numpy_path.w, atol=1e-9)
    np.testing.assert_allclose(compiled_path.tau, numpy_path.tau, rtol=1e-9)


@pytest.mark.parametrize("group", ["movie", "date", "movie_raters", "user_rated"])
def test_mcmc_draws_from_the_conditional_of_the_dense_design(small, group):
    """With the normals at zero a draw is its conditional mean, P^-1 h: for the group's first feature
    (and, for a one-hot group, every feature) it must be the one the dense design gives directly,
    z_t = x_ti (1, s_t - v_i x_ti), P = tau sum z z^T + diag(lam), h = tau sum z (y_t - c_t) + lam nu."""
    from cflib import fm_draws
    from cflib.fm import terms
    from cflib.fm_mcmc import METHOD_MCMC, _init, _step

    options = METHOD_MCMC.resolve(dict(features=IMPLICIT, k=2, n_iters=5))
    state = _init(small, None, 0, options)
    _step(state)
    w, V = state.params
    side, r, N, groups = next(s for s in state.sides if any(g["name"] == group for g in s[3]))
    grp = next(g for g in groups if g["name"] == group)
    cols, Bc = grp["cols"], grp["Bc"]
    tau, nu, lam = 2.0, np.array([0.1, -0.2, 0.3]), np.array([3.0, 4.0, 5.0])
    e = state.pred - state.y
    sums = fm_draws.row_sums_numpy(r, N.size, e, state.s)
    shifts = np.zeros(N.size), np.zeros((N.size, 2)), np.zeros((N.size, 2))
    wg, Vg = w[cols].copy(), V[cols].copy()
    draw = fm_draws.draw_one_hot_numpy if grp["one_hot"] else fm_draws.draw_weighted_numpy
    draw(Bc.indptr, Bc.indices, Bc.data, N, *sums, *shifts, wg, Vg, tau, nu, lam, np.zeros((wg.size, 3)))

    X = state.space.dense(small.movies, small.users, small.timestamps)

    def conditional_mean(i, w, V):
        lin, s, q = terms(state.space, state.idx, w, V)
        pred = state.w0 + lin + 0.5 * (s * s - q).sum(axis=1)
        x = X[:, i]
        Zt = x[:, None] * np.column_stack([np.ones(x.size), s - np.outer(x, V[i])])
        c = pred - Zt @ np.r_[w[i], V[i]]  # the prediction without feature i's terms
        P = tau * Zt.T @ Zt + np.diag(lam)
        return np.linalg.solve(P, tau * Zt.T @ (state.y - c) + lam * nu)

    for j in range(wg.size) if grp["one_hot"] else [0]:
        np.testing.assert_allclose(np.r_[wg[j], Vg[j]], conditional_mean(cols.start + j, w, V), atol=1e-10)
    if not grp["one_hot"]:  # the last feature, given the others' new rows (the row sums kept up to date)
        j = wg.size - 1
        w_new, V_new = w.copy(), V.copy()
        w_new[cols.start:cols.start + j], V_new[cols.start:cols.start + j] = wg[:j], Vg[:j]
        np.testing.assert_allclose(np.r_[wg[j], Vg[j]], conditional_mean(cols.start + j, w_new, V_new), atol=1e-10)


def test_mcmc_compiled_draws_say_they_need_numba(monkeypatch):
    from cflib import fm_draws

    monkeypatch.setattr(fm_draws, "_COMPILED", False)  # as when numba is not installed
    assert not fm_draws.compiled_available()
    e, s = np.zeros(3), np.zeros((3, 2))
    with pytest.raises(ImportError, match="pip install numba"):
        fm_draws.row_sums(np.zeros(3, dtype=np.int64), 1, e, s, compiled=True)
    E, S1, ES, SS = fm_draws.row_sums(np.zeros(3, dtype=np.int64), 1, e + 1, s + 2)  # the numpy path
    assert E.tolist() == [3.0] and S1.tolist() == [[6.0, 6.0]] and SS[0].tolist() == [[12.0, 12.0], [12.0, 12.0]]
