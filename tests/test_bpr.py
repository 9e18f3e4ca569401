"""BPR: the loss by hand, the gradient by check_gradient, seeded SGD through the one loop, errors."""

import numpy as np
import pytest

from cflib import check_gradient
from cflib.bpr import BPRModel, _negatives, bpr_gradient, bpr_loss, bpr_step, fit_bpr
from cflib.ranking import ranking_metrics
from cflib.synthetic import make_synthetic
from cflib.train import fit

# Triples on check_gradient's small problem (4 movies, 5 users); user 0 and movie 1 appear twice.
USERS, POS, NEG = np.array([0, 1, 2, 0, 4]), np.array([1, 2, 3, 0, 1]), np.array([0, 3, 1, 2, 2])


def _as_check_fn(fn):
    """BPR on check_gradient's (X, Theta, Y, R, lam) signature: Y and R are not used, the triples are fixed."""
    return lambda X, Theta, Y, R, lam: fn(X, Theta, USERS, POS, NEG, lam)


@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_gradient_passes_check_gradient(lam):
    result = check_gradient(lam, gradient_fn=_as_check_fn(bpr_gradient), cost_fn=_as_check_fn(bpr_loss))
    assert result.passed, result.report()


def test_a_wrong_gradient_fails_check_gradient():
    def wrong(X, Theta, users, pos, neg, lam):  # forgets that the negative's gradient has the opposite sign
        X_grad, Theta_grad = bpr_gradient(X, Theta, users, pos, neg, lam)
        T = Theta[users]
        g = 1.0 / (1.0 + np.exp(np.einsum("nk,nk->n", T, X[pos] - X[neg])))
        np.add.at(X_grad, neg, -2 * g[:, None] * T)
        return X_grad, Theta_grad

    result = check_gradient(0.1, gradient_fn=_as_check_fn(wrong), cost_fn=_as_check_fn(bpr_loss))
    assert not result.passed and result.wrong_blocks == ["X"]


def test_loss_and_step_by_hand():
    X = np.array([[1.0, 0.0], [0.0, 2.0]])
    Theta = np.array([[0.5, 0.5]])
    # z = theta . (x_0 - x_1) = 0.5 * 1 + 0.5 * (-2) = -0.5
    z = -0.5
    lam = 0.2
    expected = np.log1p(np.exp(-z)) + 0.5 * lam * (0.5 + 1.0 + 4.0)
    assert bpr_loss(X, Theta, [0], [0], [1], lam) == pytest.approx(expected)
    X_grad, Theta_grad = bpr_gradient(X, Theta, [0], [0], [1], lam)
    g = 1.0 / (1.0 + np.exp(z))  # sigma(-z)
    np.testing.assert_allclose(Theta_grad, [-g * np.array([1.0, -2.0]) + lam * Theta[0]])
    np.testing.assert_allclose(X_grad, [-g * Theta[0] + lam * X[0], g * Theta[0] + lam * X[1]])
    X_new, Theta_new = bpr_step(X, Theta, [0], [0], [1], lam, lr=0.1)
    np.testing.assert_allclose(X_new, X - 0.1 * X_grad)
    np.testing.assert_allclose(Theta_new, Theta - 0.1 * Theta_grad)
    assert X[0, 0] == 1.0  # inputs untouched
    # the step raised the positive's score above the negative's
    assert Theta_new[0] @ (X_new[0] - X_new[1]) > z


@pytest.fixture(scope="module")
def split():
    return make_synthetic(50, 70, 3, density=0.25, seed=2).random_split(0.25, seed=0)


def test_fit_is_seeded_and_goes_through_the_one_loop(split):
    train, val = split
    a, history = fit(train, method="bpr", k=8, n_iters=6, seed=3, validation=val)
    b, _ = fit_bpr(train, k=8, n_iters=6, seed=3)
    c, _ = fit_bpr(train, k=8, n_iters=6, seed=4)
    assert isinstance(a, BPRModel) and a.params["method"] == "bpr" and a.params["seed"] == 3
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.allclose(a.X, c.X)
    assert len(history.cost) == len(history.val_ndcg) == 6 and not history.diverged
    assert history.cost[-1] < history.cost[0]  # the epoch's loss falls
    again, _ = fit(train, **a.params)
    np.testing.assert_array_equal(again.predict_all(clip=False), a.predict_all(clip=False))
    m = ranking_metrics(a, train, val)
    assert history.val_ndcg[-1] == pytest.approx(m["ndcg"])


def _training_auc(model, train):
    """Fraction of (positive, non-positive) movie pairs of each user that the scores order correctly, averaged."""
    S = model.predict_all(clip=False)
    aucs = []
    for u in range(train.n_users):
        pos = train.movies[train.users == u]
        neg = np.setdiff1d(np.arange(train.n_movies), pos)
        if pos.size and neg.size:
            aucs.append(np.mean(S[pos, u][:, None] > S[neg, u][None, :]))
    return float(np.mean(aucs))


def test_sgd_learns_to_order_positives_first(split):
    train, _ = split
    start, _ = fit_bpr(train, k=8, n_iters=1, lr=1e-9, interactions="all")  # one negligible step: the start
    model, _ = fit_bpr(train, k=8, n_iters=20, interactions="all")
    assert _training_auc(start, train) < 0.6 < 0.8 < _training_auc(model, train)


def test_negatives_are_never_positives():
    from types import SimpleNamespace

    n_movies = 6
    users = np.array([0, 0, 0, 0, 0, 1, 1])
    movies = np.array([0, 1, 2, 3, 5, 2, 4])  # user 0's only non-positive is movie 4
    state = SimpleNamespace(train=SimpleNamespace(n_movies=n_movies), rng=np.random.default_rng(0),
                            keys=np.sort(users * n_movies + movies))
    draw = _negatives(state, np.array([0] * 50 + [1] * 50))
    assert np.all(draw[:50] == 4)
    assert not np.isin(draw[50:], [2, 4]).any() and np.unique(draw[50:]).size == 4


def test_bad_arguments_are_named(split):
    train, _ = split
    X, Theta = np.zeros((4, 2)), np.zeros((3, 2))
    with pytest.raises(ValueError, match="users, pos and neg must have the same length"):
        bpr_gradient(X, Theta, [0, 1], [0, 1], [2], 0.1)
    with pytest.raises(ValueError, match=r"pos holds indices in 0\.\.4, expected 0\.\.3"):
        bpr_loss(X, Theta, [0, 1], [0, 4], [2, 3], 0.1)
    with pytest.raises(ValueError, match="users holds indices"):
        bpr_loss(X, Theta, [3], [0], [1], 0.1)
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        bpr_loss(X, Theta, [0], [0], [1], -1.0)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        bpr_step(X, Theta, [0], [0], [1], 0.1, lr=0.0)
    with pytest.raises(ValueError, match="Did you pass Theta transposed"):
        bpr_gradient(X, Theta.T, [0], [0], [1], 0.1)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        fit(train, method="bpr", batch_size=0)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        fit(train, method="bpr", k=0)
    with pytest.raises(TypeError, match="method 'bpr' does not use alpha"):
        fit(train, method="bpr", alpha=1.0)
    with pytest.raises(ValueError, match="clip=False"):
        fit_bpr(train, k=2, n_iters=1)[0].predict_all(clip=True)
    with pytest.warns(RuntimeWarning, match=r"bpr diverged .* The step lr=1e\+200 is too large"):
        _, history = fit_bpr(train, k=2, n_iters=2, lr=1e200)
    assert history.diverged
