r"""Training X and Theta: gradient descent, momentum, L-BFGS and alternating least squares.

Two models
----------
``kind="normalized"`` (the classic course exercise, *mean normalization*):
each movie's mean training rating :math:`m_i` is subtracted, the factors fit
the residuals, and the prediction adds the mean back:

.. math::

    \hat y_{ij} = m_i + x_i \cdot \theta_j, \qquad
    J = \tfrac12 \sum_{R_{ij}=1} (x_i \cdot \theta_j - (y_{ij} - m_i))^2
        + \tfrac{\lambda}{2}(\|X\|_F^2 + \|\Theta\|_F^2).

``kind="biased"``: a global mean :math:`\mu` (the mean training rating, fixed)
plus a learned movie bias :math:`b_i` and user bias :math:`b_{u,j}`:

.. math::

    \hat y_{ij} = \mu + b_i + b_{u,j} + x_i \cdot \theta_j, \qquad
    J = \tfrac12 \sum_{R_{ij}=1} (\hat y_{ij} - y_{ij})^2
        + \tfrac{\lambda}{2}(\|X\|_F^2 + \|\Theta\|_F^2)
        + \tfrac{\lambda_b}{2}(\|b\|^2 + \|b_u\|^2).

Both are the cost J of :mod:`cflib.objective` with the ratings shifted by an offset
(and, for the biases, two extra columns: ``[X, b, 1] @ [Theta, 1, b_u].T``
equals ``X @ Theta.T + b + b_u``), so every trainer below minimizes exactly
that J with :class:`cflib.SparseProblem`, built once per fit
(:class:`cflib.blocks.BlockObjective`).

Movies and users without training ratings
-----------------------------------------
Their factor rows start at 0 and stay 0 under every method (their gradient is
``lam * 0``; the ALS solve has a zero right-hand side), and their biases are 0.
So a movie nobody rated is predicted by the global mean (normalized model) or
by ``mu + b_u`` (biased model); a user with no ratings gets the movie's mean
(normalized) or ``mu + b_i`` (biased).

Four trainers
-------------
``"gd"`` (gradient descent with a fixed step ``lr``), ``"momentum"`` (heavy ball),
``"lbfgs"`` (scipy's L-BFGS-B) and ``"als"`` (alternating least squares: exact ridge
solves of each side in turn, :mod:`cflib.als`). They are entries of the registry
:mod:`cflib.trainers`, which says how to add a method (one entry plus its runner).

Predictions (``predict``, ``predict_all``) and the validation RMSE of the
history are clipped to the rating scale 1..5; the training RMSE of the history
is that of the unclipped model, read off the cost J.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from .baselines import DEFAULT_LAM_BIAS, BiasedPredictor
from .blocks import BlockObjective, Recorder, all_finite
from .history import Diverged, History, history_diverged
from .objective import gradient
from .ratings import movie_means
from .trainers import METHODS as REGISTRY
from .trainers import AUTO_ONE_THREAD_WORK, Options, blas_limit, get_method, warn_diverged  # noqa: F401 (AUTO_ONE_THREAD_WORK: re-exported)
from .validation import check_dense_args, check_int, check_lam, check_scalar

__all__ = [
    "fit",
    "MFModel",
    "History",
    "normalize_ratings",
    "gradient_descent_step",
    "METHODS",
    "KINDS",
    "DEFAULT_LAM",
    "DEFAULT_LAM_BIAS",
    "DEFAULT_N_ITERS",
    "DEFAULT_LR",
    "BEST",
    "COURSE",
]

#: The methods that train an :class:`MFModel` on the course's J (block runners),
#: from the registry :data:`cflib.trainers.METHODS`; the registry also holds the
#: whole-model methods of notebooks 10-12 (``"implicit_als"``, ``"gibbs"``, ``"als_wr"``).
METHODS = tuple(name for name, entry in REGISTRY.items() if entry.runner is not None)
#: The model kinds of the built-in methods (``MFModel.kind``).
KINDS = ("normalized", "biased")

# Defaults and presets were tuned with ALS on the ml-100k folds u1..u5, each
# base file split once more into 90 % fit / 10 % validation (the test files were
# not used for choosing); benchmarks/results_training.md has the figures.

#: ``lam`` used when not given (sum-form penalty of J), per kind, tuned for the default k=10.
DEFAULT_LAM = {"normalized": 12.0, "biased": 15.0}
#: Iterations when ``n_iters`` is not given, per method (from the registry).
DEFAULT_N_ITERS = {name: REGISTRY[name].defaults["n_iters"] for name in METHODS}
#: Fixed step when ``lr`` is not given, per step method (from the registry).
DEFAULT_LR = {name: m.defaults["lr"] for name, m in REGISTRY.items() if m.uses_lr}
#: The best trainer found on the ml-100k folds u1..u5: ``fit(train, **BEST)``
#: (mean test RMSE 0.910, about 0.15 s of CPU per fold).
BEST = dict(method="als", kind="biased", k=5, lam=10.0, lam_bias=5.0, n_iters=15)
#: The course-faithful mean-normalized model: ``fit(train, **COURSE)`` (mean test RMSE 0.937).
COURSE = dict(method="als", kind="normalized", k=5, lam=8.0, n_iters=15)


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
    lr = check_scalar(lr, "lr", min_val=0.0, include_boundaries="right")
    X_grad, Theta_grad = gradient(X, Theta, Y, R, lam)
    return np.asarray(X, dtype=np.float64) - lr * X_grad, np.asarray(Theta, dtype=np.float64) - lr * Theta_grad


# ------------------------------------------------------------------ results
@dataclass(eq=False)
class MFModel(BiasedPredictor):
    r"""A trained matrix-factorization model (its predict and predict_all are :class:`cflib.baselines.BiasedPredictor`'s).

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
    def movie_mean(self) -> np.ndarray:
        """``mu + movie_bias``, shape (n_movies,): each movie's mean rating for a normalized model."""
        return self.mu + self.movie_bias

    def __repr__(self):
        return (f"MFModel(kind={self.kind!r}, k={self.k}, lam={self.lam:g}, n_movies={self.n_movies}, "
                f"n_users={self.n_users}, method={self.params.get('method')!r})")


# ---------------------------------------------------------------------- fit
def fit(train, *, k: int | None = None, lam: float | None = None, method: str = "als", kind: str | None = None,
        n_iters: int | None = None, lr: float | None = None, momentum: float | None = None,
        lam_bias: float | None = None, validation=None, seed: int = 0, init_scale: float | None = None,
        threads: int | None = None, progress: bool = False, **renamed):
    """Learn X and Theta (and biases) from training ratings.

    Parameters
    ----------
    train : Ratings
        Training ratings (coordinates are used; no dense Y is built).
    k : int, optional
        Number of latent features (0 allowed: biases / movie means only).
        Default: the method's ``defaults["k"]`` in the registry, else 10.
    lam : float, optional
        Regularization of X and Theta in J. Default ``DEFAULT_LAM[kind]``
        (a whole-model method such as ``"implicit_als"`` uses its own default).
    method : str, default "als"
        A name of the registry :data:`cflib.trainers.METHODS`: ``"als"``,
        ``"lbfgs"``, ``"gd"``, ``"momentum"`` (see the module docstring).
    kind : {"biased", "normalized"}, optional
        The model kind (``MFModel.kind``); default the method's first kind,
        ``"biased"`` for the built-in methods. ``"normalized"`` is the course's
        mean-normalized model; ``"biased"`` adds learned movie and user biases
        to the global mean. (Earlier versions called this argument ``model``.)
    n_iters : int, optional
        Iterations (ALS sweeps, L-BFGS iterations, or gradient steps).
        Default ``DEFAULT_N_ITERS[method]``.
    lr : float, optional
        Step size for ``"gd"`` and ``"momentum"``. Default ``DEFAULT_LR[method]``.
    momentum : float, optional
        Momentum coefficient in [0, 1) for ``"momentum"``; default 0.9.
    lam_bias : float, optional
        Regularization of the biases (biased kind). Default ``DEFAULT_LAM_BIAS``
        (the same name and default as :func:`cflib.baselines.fit_baseline`).
    validation : Ratings, optional
        Ratings on which to record the RMSE after every iteration
        (computed at the validation coordinates only, cheap).
    seed : int, default 0
        Seed (>= 0) of ``np.random.default_rng`` for the initialization
        ``init_scale * standard_normal``; the same seed gives the same model.
    init_scale : float, optional
        Default 0.1 (a whole-model method uses its own default).
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

    Notes
    -----
    Every method is checked for divergence the same way (:mod:`cflib.history`):
    when the cost or the parameters become NaN or infinite, training stops with a
    ``RuntimeWarning``, ``history.diverged`` is True and the last finite
    parameters are returned (the initialization if the first iteration failed).

    Examples
    --------
    >>> train, test = cflib.load_split("u1")                     # doctest: +SKIP
    >>> model, history = fit(train, **BEST, validation=test)     # doctest: +SKIP
    """
    if "model" in renamed:
        raise TypeError(f"fit() calls the model kind `kind` now (as MFModel.kind): write "
                        f"kind={renamed['model']!r} instead of model={renamed['model']!r}")
    entry = get_method(method)
    if renamed and (entry.fit_model is None or not entry.accepts(renamed)):
        raise TypeError(f"fit() got unexpected keyword argument(s) {sorted(renamed)} for method {method!r}")
    # What the caller set explicitly: a whole-model method must use it, never drop it silently.
    given = {name for name, value in (("lam", lam), ("lr", lr), ("momentum", momentum),
                                      ("lam_bias", lam_bias), ("init_scale", init_scale)) if value is not None}
    if entry.fit_model is not None:
        ignored = sorted(name for name in given if not entry.accepts([entry.aliases.get(name, name)]))
        if ignored:
            raise TypeError(f"method {method!r} does not use {', '.join(ignored)}: leave "
                            f"{'it' if len(ignored) == 1 else 'them'} out (see the docstring of "
                            f"{entry.function.__module__}.{entry.function.__name__} for its own options)")
    kind = entry.kinds[0] if kind is None else kind
    if kind not in entry.kinds:
        raise ValueError(f"kind must be one of {entry.kinds} for method {method!r}, got {kind!r}")
    if not hasattr(train, "movies") or not hasattr(train, "n_users"):
        raise TypeError(f"train must be a cflib.Ratings, got {type(train).__name__}")
    if train.nnz == 0:
        raise ValueError("train holds no ratings; nothing to learn from")
    k = entry.defaults.get("k", 10) if k is None else k
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
        raise ValueError(f"k must be an int >= 0, got {k!r}")
    k = int(k)
    if lam is None and entry.fit_model is None:
        lam = DEFAULT_LAM.get(kind, DEFAULT_LAM["biased"])
    lam = None if lam is None else check_lam(lam)
    if lam_bias is None and entry.fit_model is None:
        lam_bias = DEFAULT_LAM_BIAS
    lam_bias = None if lam_bias is None else check_lam(lam_bias, "lam_bias")
    n_iters = entry.defaults["n_iters"] if n_iters is None else n_iters
    if isinstance(n_iters, bool) or not isinstance(n_iters, numbers.Integral) or n_iters < 1:
        raise ValueError(f"n_iters must be an int >= 1, got {n_iters!r}")
    n_iters = int(n_iters)
    seed = check_int(seed, "seed", min_val=0)
    if entry.uses_lr and lr is None:
        lr = entry.defaults["lr"]
    lr = check_scalar(lr, "lr", min_val=0.0, include_boundaries="right", allow_none=True)
    if momentum is None and entry.fit_model is None:
        momentum = 0.9
    momentum = check_scalar(momentum, "momentum", min_val=0.0, max_val=1.0, include_boundaries="left",
                            allow_none=True)
    if validation is not None and not hasattr(validation, "movies"):
        raise TypeError(f"validation must be a cflib.Ratings or None, got {type(validation).__name__}")
    if validation is not None and (validation.n_movies, validation.n_users) != (train.n_movies, train.n_users):
        raise ValueError(
            f"validation has shape {(validation.n_movies, validation.n_users)} but train has "
            f"{(train.n_movies, train.n_users)}: split one Ratings so both keep all movies and users"
        )
    if init_scale is None and entry.fit_model is None:
        init_scale = 0.1
    init_scale = check_scalar(init_scale, "init_scale", min_val=0.0, include_boundaries="right", allow_none=True)
    params = dict(k=k, lam=lam, method=method, kind=kind, n_iters=n_iters, lr=lr,
                  momentum=momentum, lam_bias=lam_bias, seed=seed, init_scale=init_scale)

    if entry.fit_model is not None:  # a method with its own model class
        with blas_limit(threads, entry, train.nnz * max(k, 1)):
            offered = dict(k=k, lam=lam, n_iters=n_iters, validation=validation, seed=seed, kind=kind, lr=lr,
                           momentum=momentum, lam_bias=lam_bias, init_scale=init_scale, progress=progress)
            # Unset options keep the method's own defaults.
            offered = {name: value for name, value in offered.items()
                       if value is not None or name not in ("lam", "lr", "momentum", "lam_bias", "init_scale")}
            model, history = entry.call_fit_model(train, {**offered, **renamed})
        if history_diverged(history) or not all_finite([getattr(model, a) for a in ("X", "Theta")
                                                         if hasattr(model, a)]):
            history.diverged = True
            warn_diverged(entry, history, params)
        return model, history

    start = time.perf_counter()
    with blas_limit(threads, entry, train.nnz * max(k, 1)):
        movie_counts = np.bincount(train.movies, minlength=train.n_movies)
        user_counts = np.bincount(train.users, minlength=train.n_users)
        mu = float(train.ratings.mean())
        if kind == "normalized":
            sums = np.bincount(train.movies, weights=train.ratings, minlength=train.n_movies)
            movie_offset = np.divide(sums, movie_counts, out=np.full(train.n_movies, mu),
                                     where=movie_counts > 0) - mu
        else:
            movie_offset = np.zeros(train.n_movies)
        obj = BlockObjective(train, kind, k, lam, lam_bias, mu, movie_offset)

        rng = np.random.default_rng(seed)
        with np.errstate(over="ignore", invalid="ignore"):
            X = init_scale * rng.standard_normal((train.n_movies, k))
            Theta = init_scale * rng.standard_normal((train.n_users, k))
        X[movie_counts == 0] = 0.0
        Theta[user_counts == 0] = 0.0
        blocks = [X, Theta]
        if kind == "biased":
            blocks += [np.zeros(train.n_movies), np.zeros(train.n_users)]

        history = History(method=method, kind=kind)
        with np.errstate(over="ignore", invalid="ignore"):
            history.initial_cost = obj.cost(blocks)
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=n_iters, desc=f"{method} ({kind}, k={k})")
        record = Recorder(obj, validation, history, start, bar, blocks)
        options = Options(n_iters=n_iters, lr=lr, momentum=momentum if entry.uses_lr else 0.0, train=train)
        try:
            if not np.isfinite(history.initial_cost) or not all_finite(blocks):
                raise Diverged
            blocks = entry.runner(obj, blocks, record, options)
        except Diverged:
            blocks = record.last_finite
            if not all_finite(blocks):  # not even the initialization is finite
                blocks = [np.zeros_like(b) for b in blocks]
            history.diverged = True
            warn_diverged(entry, history, params)
        finally:
            if bar is not None:
                bar.close()
        movie_bias, user_bias = obj.biases(blocks)
        result = MFModel(
            X=np.ascontiguousarray(blocks[0]), Theta=np.ascontiguousarray(blocks[1]), mu=mu,
            movie_bias=np.array(movie_bias), user_bias=np.array(user_bias), kind=kind, lam=lam,
            lam_bias=lam_bias if kind == "biased" else 0.0, movie_counts=movie_counts,
            user_counts=user_counts, params=params, train=train,
        )
    return result, history
