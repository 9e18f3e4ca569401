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
(:class:`cflib.blocks.BlockObjective`; the model is :class:`cflib.blocks.MFModel`).

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
:mod:`cflib.trainers`, trained by the one loop :mod:`cflib.loop`; a new method is
its step plus one entry (README, "Where to change what").

Predictions (``predict``, ``predict_all``) and the validation RMSE of the
history are clipped to the rating scale 1..5; the training RMSE of the history
is that of the unclipped model, read off the cost J.
"""

from __future__ import annotations

import numpy as np

from .arguments import check_dense_args, check_scalar
from .baselines import DEFAULT_LAM_BIAS
from .blocks import DEFAULT_LAM, KINDS, MFModel
from .history import History
from .loop import AUTO_ONE_THREAD_WORK, run  # noqa: F401 (AUTO_ONE_THREAD_WORK: re-exported)
from .objective import gradient
from .ratings import movie_means
from .trainers import METHODS as REGISTRY
from .trainers import get_method

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

#: The methods that train an :class:`MFModel` on the course's J (both kinds), from
#: the registry :data:`cflib.trainers.METHODS`; the registry also holds the
#: methods of the later notebooks (``"implicit_als"``, ``"gibbs"``, ``"als_wr"``,
#: ``"ease"``, ``"bpr"``, ...): ``list(cflib.trainers.METHODS)`` names them all.
METHODS = tuple(name for name, entry in REGISTRY.items() if set(entry.kinds) == set(KINDS))

# Defaults and presets were tuned with ALS on the ml-100k folds u1..u5, each
# base file split once more into 90 % fit / 10 % validation (the test files were
# not used for choosing); benchmarks/results_training.md has the figures.

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


# ---------------------------------------------------------------------- fit
def fit(train, *, method: str = "als", validation=None, seed: int = 0, threads: int | None = None,
        progress: bool = False, **options):
    """Learn a model from training ratings with a method of the registry, through the one loop.

    Parameters
    ----------
    train : Ratings
        Training ratings (coordinates are used; no dense Y is built).
    method : str, default "als"
        A name of the registry :data:`cflib.trainers.METHODS`: ``"als"``,
        ``"lbfgs"``, ``"gd"``, ``"momentum"`` (see the module docstring), or a
        method of the later notebooks: ``"implicit_als"``, ``"gibbs"``, ``"als_wr"``
        (10-12), ``"ease"``, ``"bpr"`` (14); ``list(cflib.trainers.METHODS)`` names
        every registered one.
    validation : Ratings, optional
        Ratings on which to record the RMSE after every iteration
        (computed at the validation coordinates only, cheap).
    seed : int, default 0
        Seed (>= 0) of ``np.random.default_rng`` for the initialization; the same seed gives the same model.
    threads : int, optional
        BLAS threads during training. ``None`` (default): 1 thread for ALS,
        and for the other methods when ``nnz * k`` is below
        ``AUTO_ONE_THREAD_WORK``; otherwise the BLAS default.
    progress : bool, default False
        Show a ``tqdm.auto`` progress bar.
    **options
        The method's own options, declared in its entry
        (``cflib.trainers.METHODS[method].options``, with defaults and limits);
        an option the method does not use is a ``TypeError`` naming it (None
        means "the default"). For the course's model (gd, momentum, lbfgs, als):

        * ``kind`` : {"biased", "normalized"}, default "biased": the model kind
          (``MFModel.kind``); "normalized" is the course's mean-normalized model,
          "biased" adds learned movie and user biases to the global mean;
        * ``k`` : int >= 0, default 10: latent features (0: biases / movie means only);
        * ``lam`` : float >= 0, default ``DEFAULT_LAM[kind]``: regularization of X and Theta in J;
        * ``lam_bias`` : float >= 0, default ``DEFAULT_LAM_BIAS``: regularization of
          the biases (``kind="biased"`` only);
        * ``n_iters`` : int >= 1, default ``DEFAULT_N_ITERS[method]``: ALS sweeps,
          L-BFGS iterations, or gradient steps;
        * ``init_scale`` : float > 0, default 0.1: the initialization ``init_scale * standard_normal``;
        * ``lr`` : float > 0 (``"gd"`` and ``"momentum"`` only), default ``DEFAULT_LR[method]``;
        * ``momentum`` : float in [0, 1) (``"momentum"`` only), default 0.9.

    Returns
    -------
    model : MFModel (or the method's own model)
        With ``X`` (n_movies, k), ``Theta`` (n_users, k), ``predict(movies, users)``
        and ``predict_all()``; ``model.params`` holds the arguments used.
    history : History
        Per iteration: ``cost``, ``train_rmse``, ``val_rmse``, ``time``.

    Notes
    -----
    Every method is checked for divergence the same way (:mod:`cflib.loop`):
    when the cost or the parameters become NaN or infinite, training stops with a
    ``RuntimeWarning``, ``history.diverged`` is True and the last finite
    parameters are returned (the initialization if the first iteration failed).

    Examples
    --------
    >>> train, test = cflib.load_split("u1")                     # doctest: +SKIP
    >>> model, history = fit(train, **BEST, validation=test)     # doctest: +SKIP
    """
    if "model" in options:
        raise TypeError(f"fit() calls the model kind `kind` now (as MFModel.kind): write "
                        f"kind={options['model']!r} instead of model={options['model']!r}")
    return run(get_method(method), train, validation=validation, seed=seed, threads=threads, progress=progress,
               **options)
