r"""Training X and Theta: gradient descent, momentum, L-BFGS and alternating least squares.

Two models
----------
``model="normalized"`` (the classic course exercise, *mean normalization*):
each movie's mean training rating :math:`m_i` is subtracted, the factors fit
the residuals, and the prediction adds the mean back:

.. math::

    \hat y_{ij} = m_i + x_i \cdot \theta_j, \qquad
    J = \tfrac12 \sum_{R_{ij}=1} (x_i \cdot \theta_j - (y_{ij} - m_i))^2
        + \tfrac{\lambda}{2}(\|X\|_F^2 + \|\Theta\|_F^2).

``model="biased"``: a global mean :math:`\mu` (the mean training rating, fixed)
plus a learned movie bias :math:`b_i` and user bias :math:`b_{u,j}`:

.. math::

    \hat y_{ij} = \mu + b_i + b_{u,j} + x_i \cdot \theta_j, \qquad
    J = \tfrac12 \sum_{R_{ij}=1} (\hat y_{ij} - y_{ij})^2
        + \tfrac{\lambda}{2}(\|X\|_F^2 + \|\Theta\|_F^2)
        + \tfrac{\lambda_b}{2}(\|b\|^2 + \|b_u\|^2).

Both are the cost J of :mod:`cflib.objective` with the ratings shifted by an offset
(and, for the biases, two extra columns: ``[X, b, 1] @ [Theta, 1, b_u].T``
equals ``X @ Theta.T + b + b_u``), so every trainer below minimizes exactly
that J with :class:`cflib.SparseProblem`, built once per fit.

Movies and users without training ratings
-----------------------------------------
Their factor rows start at 0 and stay 0 under every method (their gradient is
``lam * 0``; the ALS solve has a zero right-hand side), and their biases are 0.
So a movie nobody rated is predicted by the global mean (normalized model) or
by ``mu + b_u`` (biased model); a user with no ratings gets the movie's mean
(normalized) or ``mu + b_i`` (biased).

Four trainers
-------------
* ``"gd"``: gradient descent with a fixed step ``lr``: ``p <- p - lr * grad J(p)``.
* ``"momentum"``: heavy-ball momentum ``v <- momentum * v - lr * grad J(p)``, ``p <- p + v``.
* ``"lbfgs"``: ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` on the
  flattened parameters, with the combined cost and gradient.
* ``"als"``: alternating least squares, the exact minimization of J over the
  movie side (X and b) with the user side fixed, then the reverse; each half is
  a batch of small ridge regressions solved in closed form (:mod:`cflib.als`).

Predictions (``predict``, ``predict_all``) and the validation RMSE of the
history are clipped to the rating scale 1..5; the training RMSE of the history
is that of the unclipped model, read off the cost J.
"""

from __future__ import annotations

import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from .als import RowSystems
from .objective import gradient
from .ratings import RATING_SCALE, movie_means
from .sparse import SparseProblem, row_dots
from .validation import check_dense_args, check_index_pair, check_lam

__all__ = [
    "fit",
    "MFModel",
    "History",
    "normalize_ratings",
    "gradient_descent_step",
    "METHODS",
    "MODELS",
    "DEFAULT_LAM",
    "DEFAULT_N_ITERS",
    "DEFAULT_LR",
    "BEST",
    "COURSE",
]

METHODS = ("als", "lbfgs", "gd", "momentum")
MODELS = ("normalized", "biased")

# Defaults and presets were tuned with ALS on the ml-100k folds u1..u5, each
# base file split once more into 90 % fit / 10 % validation (the test files were
# not used for choosing); benchmarks/results_training.md has the figures.

#: ``lam`` used when not given (sum-form penalty of J), per model, tuned for the default k=10.
DEFAULT_LAM = {"normalized": 12.0, "biased": 15.0}
#: ``lam_bias`` used by the biased model when not given.
DEFAULT_LAM_BIAS = 5.0
#: Iterations when ``n_iters`` is not given, per method.
DEFAULT_N_ITERS = {"als": 15, "lbfgs": 200, "gd": 300, "momentum": 300}
#: Fixed step when ``lr`` is not given (gd and momentum), per method: the largest
#: round step that does not diverge for the biased model on ml-100k (4e-3 does);
#: the normalized model tolerates about 3 times larger steps.
DEFAULT_LR = {"gd": 2e-3, "momentum": 5e-4}
#: With ``threads=None``, ALS always runs with one BLAS thread (its BLAS calls are
#: many small products and solves: two OpenBLAS threads made it up to 10 times
#: slower at k=50 on ml-100k), and the gradient methods do when nnz * k is below
#: this (two threads made L-BFGS 1.3 to 5 times slower on ml-100k, k=5..50, on a
#: 2-core machine; see ``benchmarks/results_training.md``). Larger problems keep
#: the BLAS default; that threshold is a guess, not a measurement.
AUTO_ONE_THREAD_WORK = 50_000_000

#: The best trainer found on the ml-100k folds u1..u5: ``fit(train, **BEST)``
#: (mean test RMSE 0.910, about 0.15 s of CPU per fold).
BEST = dict(method="als", model="biased", k=5, lam=10.0, lam_bias=5.0, n_iters=15)
#: The course-faithful mean-normalized model: ``fit(train, **COURSE)`` (mean test RMSE 0.937).
COURSE = dict(method="als", model="normalized", k=5, lam=8.0, n_iters=15)


# ----------------------------------------------------------------- teaching
def normalize_ratings(Y, R):
    """Mean normalization: subtract each movie's mean rating over its rated entries.

    Parameters
    ----------
    Y : array_like of shape (n_movies, n_users)
        Ratings; values where R is 0 are ignored.
    R : array_like of shape (n_movies, n_users)
        1 (True) where rated.

    Returns
    -------
    Y_norm : ndarray of shape (n_movies, n_users)
        ``Y - movie_mean[:, None]`` where R is 1, exactly 0 where R is 0.
    movie_mean : ndarray of shape (n_movies,)
        :math:`m_i = \\frac{1}{n_i}\\sum_{j: R_{ij}=1} y_{ij}`. A movie with no
        ratings gets the global mean of all ratings (so predicting
        ``movie_mean + X @ Theta.T`` gives it the average rating, not 0); if
        nothing at all is rated, 0.
    """
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2:
        raise ValueError(f"Y must be 2-D (n_movies, n_users), got shape {Y.shape}")
    # Reuse the dense checks with zero-width factors of the right height.
    _, _, Y, R = check_dense_args(np.zeros((Y.shape[0], 0)), np.zeros((Y.shape[1], 0)), Y, R)
    movie_mean = movie_means(Y, R)  # NaN for a movie nobody rated
    global_mean = Y[R].mean() if R.any() else 0.0
    movie_mean[np.isnan(movie_mean)] = global_mean
    Y_norm = np.where(R, Y - movie_mean[:, None], 0.0)
    return Y_norm, movie_mean


def gradient_descent_step(X, Theta, Y, R, lam, lr):
    """One step of gradient descent on J, updating X and Theta simultaneously.

    .. math::

        X \\leftarrow X - \\alpha \\frac{\\partial J}{\\partial X}, \\qquad
        \\Theta \\leftarrow \\Theta - \\alpha \\frac{\\partial J}{\\partial \\Theta}

    Both gradients are computed at the *old* (X, Theta) with
    :func:`cflib.objective.gradient`.

    Parameters
    ----------
    X : ndarray of shape (n_movies, k)
    Theta : ndarray of shape (n_users, k)
    Y, R : ndarray of shape (n_movies, n_users)
    lam : float
        Regularization :math:`\\lambda \\ge 0`.
    lr : float
        Step size :math:`\\alpha > 0`.

    Returns
    -------
    X_new : ndarray of shape (n_movies, k)
    Theta_new : ndarray of shape (n_users, k)
        New arrays; the inputs are not modified.
    """
    lr = _check_positive(lr, "lr")
    X_grad, Theta_grad = gradient(X, Theta, Y, R, lam)
    return np.asarray(X, dtype=np.float64) - lr * X_grad, np.asarray(Theta, dtype=np.float64) - lr * Theta_grad


# ------------------------------------------------------------------ results
@dataclass
class History:
    r"""What happened during training, one entry per iteration.

    Attributes
    ----------
    cost : list of float
        J after each iteration (including the penalty terms).
    train_rmse : list of float
        RMSE at the training ratings after each iteration, of the unclipped
        predictions: :math:`\sqrt{2 (J - \text{penalty}) / n_{nz}}`, read off the
        cost (the quantity the trainer actually fits; no extra pass over the data).
    val_rmse : list of float
        RMSE of the clipped predictions (what :func:`cflib.evaluate.evaluate`
        reports) at the validation ratings; empty when no validation set is given.
    time : list of float
        Seconds since the start of ``fit`` at the end of each iteration.
    initial_cost : float
        J at the initialization, before the first iteration.
    method, model : str
    diverged : bool
        True if gradient descent stopped because the cost became non-finite
        (the step ``lr`` is too large).
    """

    cost: list = field(default_factory=list)
    train_rmse: list = field(default_factory=list)
    val_rmse: list = field(default_factory=list)
    time: list = field(default_factory=list)
    initial_cost: float = float("nan")
    method: str = ""
    model: str = ""
    diverged: bool = False

    def __len__(self) -> int:
        return len(self.cost)


@dataclass(eq=False)
class MFModel:
    r"""A trained matrix-factorization model.

    Predictions: :math:`\hat y_{ij} = \mu + b_i + b_{u,j} + x_i \cdot \theta_j`,
    clipped to 1..5. For ``kind="normalized"``, :math:`\mu + b_i` is the movie's
    mean training rating (``movie_mean``) and ``user_bias`` is 0.

    Attributes
    ----------
    X : ndarray of shape (n_movies, k)
    Theta : ndarray of shape (n_users, k)
    mu : float
        Global mean of the training ratings.
    movie_bias : ndarray of shape (n_movies,)
    user_bias : ndarray of shape (n_users,)
    kind : {"normalized", "biased"}
    lam, lam_bias : float
        Regularization of the factors and of the biases.
    movie_counts : ndarray of int, shape (n_movies,)
        Training ratings per movie.
    user_counts : ndarray of int, shape (n_users,)
    params : dict
        The ``fit`` arguments that produced the model (to retrain with).
    train : Ratings or None
        The training ratings (a reference, not a copy).
    """

    X: np.ndarray
    Theta: np.ndarray
    mu: float
    movie_bias: np.ndarray
    user_bias: np.ndarray
    kind: str
    lam: float
    lam_bias: float
    movie_counts: np.ndarray
    user_counts: np.ndarray
    params: dict = field(default_factory=dict)
    train: object = None

    @property
    def k(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_movies(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_users(self) -> int:
        return int(self.Theta.shape[0])

    @property
    def movie_mean(self) -> np.ndarray:
        """``mu + movie_bias``, shape (n_movies,): each movie's mean rating for a normalized model."""
        return self.mu + self.movie_bias

    def predict(self, movies, users, *, clip: bool = True) -> np.ndarray:
        """Predicted ratings at the coordinates ``(movies[t], users[t])``.

        Parameters
        ----------
        movies, users : array_like of int, shape (n,)
            0-based movie and user indices.
        clip : bool, default True
            Clip to the rating scale 1..5.

        Returns
        -------
        ndarray of shape (n,)
        """
        movies, users = check_index_pair(movies, users, self.n_movies, self.n_users)
        pred = _predict_at(self.X, self.Theta, self.mu, self.movie_bias, self.user_bias, movies, users)
        return np.clip(pred, *RATING_SCALE) if clip else pred

    def predict_all(self, *, clip: bool = True) -> np.ndarray:
        """All predictions ``mu + b[:, None] + b_u[None, :] + X @ Theta.T``, shape (n_movies, n_users)."""
        pred = self.X @ self.Theta.T
        pred += self.mu + self.movie_bias[:, None] + self.user_bias[None, :]
        return np.clip(pred, *RATING_SCALE, out=pred) if clip else pred

    def __repr__(self):
        return (f"MFModel(kind={self.kind!r}, k={self.k}, lam={self.lam:g}, n_movies={self.n_movies}, "
                f"n_users={self.n_users}, method={self.params.get('method')!r})")


def _predict_at(X, Theta, mu, movie_bias, user_bias, movies, users):
    out = row_dots(X, Theta, movies, users)
    out += movie_bias[movies]
    out += user_bias[users]
    out += mu
    return out


# --------------------------------------------------------------- internals
def _check_positive(value, name):
    if not np.isscalar(value) or isinstance(value, bool) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _clipped_rmse(pred, actual):
    d = np.clip(pred, *RATING_SCALE) - actual
    return float(np.sqrt(d @ d / d.size)) if d.size else float("nan")


class _Objective:
    """J of the chosen model as a function of the parameter blocks, via one SparseProblem.

    Blocks: ``[X, Theta]`` (normalized) or ``[X, Theta, movie_bias, user_bias]`` (biased).
    """

    def __init__(self, train, kind, k, lam, lam_bias, mu, movie_offset):
        self.kind, self.k, self.lam, self.lam_bias = kind, k, lam, lam_bias
        self.mu, self.movie_offset = mu, movie_offset  # fixed offsets: mu + movie_offset[i]
        self.n_movies, self.n_users = train.n_movies, train.n_users
        self.movies, self.users, self.nnz = train.movies, train.users, train.nnz
        # What X Theta^T (plus the learned biases) must explain.
        self.shifted = train.ratings - mu - movie_offset[train.movies]
        self._prob = None
        self._ones_m = np.ones((self.n_movies, 1))
        self._ones_u = np.ones((self.n_users, 1))

    @property
    def prob(self):
        """The SparseProblem of the shifted ratings, built on first use (not needed by ALS)."""
        if self._prob is None:
            self._prob = SparseProblem(self.movies, self.users, self.shifted, self.n_movies, self.n_users)
        return self._prob

    def augmented(self, blocks):
        if self.kind == "normalized":
            return blocks[0], blocks[1]
        X, Theta, bm, bu = blocks
        return (np.hstack([X, bm[:, None], self._ones_m]), np.hstack([Theta, self._ones_u, bu[:, None]]))

    def penalty(self, blocks):
        P = 0.5 * self.lam * (np.vdot(blocks[0], blocks[0]) + np.vdot(blocks[1], blocks[1]))
        if self.kind == "biased":
            P += 0.5 * self.lam_bias * (blocks[2] @ blocks[2] + blocks[3] @ blocks[3])
        return float(P)

    def cost_and_gradient(self, blocks):
        Xa, Ta = self.augmented(blocks)
        J, (gXa, gTa) = self.prob.cost_and_gradient(Xa, Ta, 0.0)
        k, lam = self.k, self.lam
        grads = [gXa[:, :k] + lam * blocks[0], gTa[:, :k] + lam * blocks[1]]
        if self.kind == "biased":
            grads += [gXa[:, k] + self.lam_bias * blocks[2], gTa[:, k + 1] + self.lam_bias * blocks[3]]
        return J + self.penalty(blocks), grads

    def cost(self, blocks):
        """J from one pass over the ratings."""
        e = row_dots(*self.augmented(blocks), self.movies, self.users) - self.shifted
        return 0.5 * float(e @ e) + self.penalty(blocks)

    def biases(self, blocks):
        if self.kind == "biased":
            return self.movie_offset + blocks[2], blocks[3]
        return self.movie_offset, np.zeros(self.n_users)


class _Recorder:
    """Fills the History after each iteration.

    ``train_rmse`` comes from the data term of J (no pass over the ratings);
    the validation RMSE uses predictions at the validation coordinates only.
    """

    def __init__(self, objective, validation, history, start, bar):
        self.obj, self.history, self.start, self.bar = objective, history, start, bar
        self.nnz = objective.nnz
        if validation is not None:
            self.vm, self.vu, self.vy = validation.movies, validation.users, validation.ratings
        else:
            self.vm = None

    def __call__(self, blocks, J):
        h = self.history
        h.cost.append(float(J))
        sse = max(2.0 * (J - self.obj.penalty(blocks)), 0.0)  # sum of squared errors
        h.train_rmse.append(float(np.sqrt(sse / self.nnz)))
        if self.vm is not None:
            bm, bu = self.obj.biases(blocks)
            pred = _predict_at(blocks[0], blocks[1], self.obj.mu, bm, bu, self.vm, self.vu)
            h.val_rmse.append(_clipped_rmse(pred, self.vy))
        h.time.append(time.perf_counter() - self.start)
        if self.bar is not None:
            self.bar.update(1)
            post = {"cost": f"{h.cost[-1]:.4g}", "train": f"{h.train_rmse[-1]:.4f}"}
            if h.val_rmse:
                post["val"] = f"{h.val_rmse[-1]:.4f}"
            self.bar.set_postfix(post, refresh=False)


def _blas_limit(threads, method, work):
    """Context manager pinning BLAS threads: ``threads`` if given, else 1 for ALS and small problems."""
    if threads is None:
        one = method == "als" or work < AUTO_ONE_THREAD_WORK
        return threadpool_limits(limits=1, user_api="blas") if one else nullcontext()
    if not isinstance(threads, (int, np.integer)) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be None (automatic) or an int >= 1, got {threads!r}")
    return threadpool_limits(limits=int(threads), user_api="blas")


# ----------------------------------------------------------------- trainers
def _run_gd(obj, blocks, record, n_iters, lr, momentum):
    velocity = [np.zeros_like(b) for b in blocks] if momentum else None
    J, grads = obj.cost_and_gradient(blocks)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_iters):
            if velocity is None:
                new = [b - lr * g for b, g in zip(blocks, grads)]
            else:
                velocity = [momentum * v - lr * g for v, g in zip(velocity, grads)]
                new = [b + v for b, v in zip(blocks, velocity)]
            if not all(np.all(np.isfinite(b)) for b in new):
                return blocks, True
            J_new, grads_new = obj.cost_and_gradient(new)
            if not np.isfinite(J_new) or not all(np.all(np.isfinite(g)) for g in grads_new):
                return blocks, True
            blocks, J, grads = new, J_new, grads_new
            record(blocks, J)
    return blocks, False


def _run_lbfgs(obj, blocks, record, n_iters):
    shapes = [b.shape for b in blocks]
    sizes = [b.size for b in blocks]
    splits = np.cumsum(sizes)[:-1]

    def unpack(p):
        return [part.reshape(s) for part, s in zip(np.split(p, splits), shapes)]

    def fun(p):
        J, grads = obj.cost_and_gradient(unpack(p))
        return J, np.concatenate([g.ravel() for g in grads])

    def callback(intermediate_result):
        record(unpack(intermediate_result.x), intermediate_result.fun)

    p0 = np.concatenate([b.ravel() for b in blocks])
    if p0.size == 0:  # normalized model with k = 0: nothing to fit, already optimal
        record(blocks, obj.cost(blocks))
        return blocks
    res = minimize(fun, p0, jac=True, method="L-BFGS-B", callback=callback,
                   options={"maxiter": n_iters, "maxfun": 4 * n_iters + 20, "ftol": 1e-13, "gtol": 1e-9})
    return unpack(res.x)


def _run_als(obj, blocks, record, n_iters, train):
    kind, k = obj.kind, obj.k
    movie_side = RowSystems(train.movies, train.users, train.n_movies, train.n_users)
    user_side = RowSystems(train.users, train.movies, train.n_users, train.n_movies)
    # The shifted ratings (and the partner of each) in each side's grouped order.
    y_m, u_m = obj.shifted[movie_side.order], train.users[movie_side.order]
    y_u, m_u = obj.shifted[user_side.order], train.movies[user_side.order]
    if kind == "normalized":
        X, Theta = blocks
        for _ in range(n_iters):
            X = movie_side.solve(Theta, y_m, obj.lam, grouped=True)
            Theta, sse = user_side.solve(X, y_u, obj.lam, grouped=True, return_sse=True)
            record([X, Theta], 0.5 * sse + obj.penalty([X, Theta]))
        return [X, Theta]
    # Features and bias solved together: [x_i, b_i] . [theta_j, 1] for the movie
    # side, [theta_j, b_u] . [x_i, 1] for the user side.
    X, Theta, bm, bu = blocks
    pen = np.r_[np.full(k, obj.lam), obj.lam_bias]
    F_u = np.ones((train.n_users, k + 1))
    F_m = np.ones((train.n_movies, k + 1))
    for _ in range(n_iters):
        F_u[:, :k] = Theta
        W = movie_side.solve(F_u, y_m - bu[u_m], pen, grouped=True)
        X, bm = W[:, :k], W[:, k]
        F_m[:, :k] = X
        W, sse = user_side.solve(F_m, y_u - bm[m_u], pen, grouped=True, return_sse=True)
        Theta, bu = W[:, :k], W[:, k]
        record([X, Theta, bm, bu], 0.5 * sse + obj.penalty([X, Theta, bm, bu]))
    return [X, Theta, bm, bu]


# ---------------------------------------------------------------------- fit
def fit(train, *, k: int = 10, lam: float | None = None, method: str = "als", model: str = "biased",
        n_iters: int | None = None, lr: float | None = None, momentum: float = 0.9,
        lam_bias: float | None = None, validation=None, seed: int = 0, init_scale: float = 0.1,
        threads: int | None = None, progress: bool = False):
    """Learn X and Theta (and biases) from training ratings.

    Parameters
    ----------
    train : Ratings
        Training ratings (coordinates are used; no dense Y is built).
    k : int, default 10
        Number of latent features (0 allowed: biases / movie means only).
    lam : float, optional
        Regularization of X and Theta in J. Default ``DEFAULT_LAM[model]``.
    method : {"als", "lbfgs", "gd", "momentum"}, default "als"
        The trainer (see the module docstring).
    model : {"biased", "normalized"}, default "biased"
        ``"normalized"`` is the course's mean-normalized model; ``"biased"``
        adds learned movie and user biases to the global mean.
    n_iters : int, optional
        Iterations (ALS sweeps, L-BFGS iterations, or gradient steps).
        Default ``DEFAULT_N_ITERS[method]``.
    lr : float, optional
        Step size for ``"gd"`` and ``"momentum"``. Default ``DEFAULT_LR[method]``.
        Too large a step makes the cost blow up: training then stops with a
        warning, ``history.diverged`` is True and the last finite parameters are returned.
    momentum : float, default 0.9
        Momentum coefficient in [0, 1) for ``"momentum"``.
    lam_bias : float, optional
        Regularization of the biases (biased model). Default ``DEFAULT_LAM_BIAS``.
    validation : Ratings, optional
        Ratings on which to record the RMSE after every iteration
        (computed at the validation coordinates only, cheap).
    seed : int, default 0
        Seed of ``np.random.default_rng`` for the initialization
        ``init_scale * standard_normal``; the same seed gives the same model.
    init_scale : float, default 0.1
    threads : int, optional
        BLAS threads during training. ``None`` (default): 1 thread for ALS,
        and for the other methods when ``nnz * k`` is below
        ``AUTO_ONE_THREAD_WORK``; otherwise the BLAS default.
    progress : bool, default False
        Show a ``tqdm.auto`` progress bar.

    Returns
    -------
    model : MFModel
        With ``X`` (n_movies, k), ``Theta`` (n_users, k), ``predict(movies, users)``
        and ``predict_all()``.
    history : History
        Per iteration: ``cost``, ``train_rmse``, ``val_rmse``, ``time``.

    Examples
    --------
    >>> train, test = cflib.load_split("u1")                     # doctest: +SKIP
    >>> model, history = fit(train, **BEST, validation=test)     # doctest: +SKIP
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    if not hasattr(train, "movies") or not hasattr(train, "n_users"):
        raise TypeError(f"train must be a cflib.Ratings, got {type(train).__name__}")
    if train.nnz == 0:
        raise ValueError("train holds no ratings; nothing to learn from")
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 0:
        raise ValueError(f"k must be an int >= 0, got {k!r}")
    k = int(k)
    lam = check_lam(DEFAULT_LAM[model] if lam is None else lam)
    lam_bias = check_lam(DEFAULT_LAM_BIAS if lam_bias is None else lam_bias)
    n_iters = DEFAULT_N_ITERS[method] if n_iters is None else n_iters
    if not isinstance(n_iters, (int, np.integer)) or isinstance(n_iters, bool) or n_iters < 1:
        raise ValueError(f"n_iters must be an int >= 1, got {n_iters!r}")
    n_iters = int(n_iters)
    if method in ("gd", "momentum"):
        lr = _check_positive(DEFAULT_LR[method] if lr is None else lr, "lr")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
    if validation is not None and (validation.n_movies, validation.n_users) != (train.n_movies, train.n_users):
        raise ValueError(
            f"validation has shape {(validation.n_movies, validation.n_users)} but train has "
            f"{(train.n_movies, train.n_users)}: split one Ratings so both keep all movies and users"
        )
    init_scale = _check_positive(init_scale, "init_scale")
    params = dict(k=k, lam=lam, method=method, model=model, n_iters=n_iters, lr=lr,
                  momentum=momentum, lam_bias=lam_bias, seed=seed, init_scale=init_scale)

    start = time.perf_counter()
    with _blas_limit(threads, method, train.nnz * max(k, 1)):
        movie_counts = np.bincount(train.movies, minlength=train.n_movies)
        user_counts = np.bincount(train.users, minlength=train.n_users)
        mu = float(train.ratings.mean())
        if model == "normalized":
            sums = np.bincount(train.movies, weights=train.ratings, minlength=train.n_movies)
            movie_offset = np.divide(sums, movie_counts, out=np.full(train.n_movies, mu),
                                     where=movie_counts > 0) - mu
        else:
            movie_offset = np.zeros(train.n_movies)
        obj = _Objective(train, model, k, lam, lam_bias, mu, movie_offset)

        rng = np.random.default_rng(seed)
        X = init_scale * rng.standard_normal((train.n_movies, k))
        Theta = init_scale * rng.standard_normal((train.n_users, k))
        X[movie_counts == 0] = 0.0
        Theta[user_counts == 0] = 0.0
        blocks = [X, Theta]
        if model == "biased":
            blocks += [np.zeros(train.n_movies), np.zeros(train.n_users)]

        history = History(method=method, model=model)
        history.initial_cost = obj.cost(blocks)
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=n_iters, desc=f"{method} ({model}, k={k})")
        record = _Recorder(obj, validation, history, start, bar)
        try:
            if method == "als":
                blocks = _run_als(obj, blocks, record, n_iters, train)
            elif method == "lbfgs":
                blocks = _run_lbfgs(obj, blocks, record, n_iters)
            else:
                blocks, diverged = _run_gd(obj, blocks, record, n_iters, lr,
                                           momentum if method == "momentum" else 0.0)
                if diverged:
                    history.diverged = True
                    warnings.warn(
                        f"{method} diverged after {len(history)} iteration(s): the cost became "
                        f"non-finite. The step lr={lr:g} is too large; try a smaller one "
                        f"(e.g. lr={lr / 10:g}).", RuntimeWarning, stacklevel=2)
        finally:
            if bar is not None:
                bar.close()
        movie_bias, user_bias = obj.biases(blocks)
        result = MFModel(
            X=np.ascontiguousarray(blocks[0]), Theta=np.ascontiguousarray(blocks[1]), mu=mu,
            movie_bias=np.array(movie_bias), user_bias=np.array(user_bias), kind=model, lam=lam,
            lam_bias=lam_bias if model == "biased" else 0.0, movie_counts=movie_counts,
            user_counts=user_counts, params=params, train=train,
        )
    return result, history
