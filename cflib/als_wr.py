r"""ALS-WR: cflib's alternating least squares on Spark MLlib's own objective.

Spark's ``pyspark.ml.recommendation.ALS`` (explicit ratings) minimizes, with
no offsets, no biases and no mean normalization,

.. math::

    J_{\text{WR}}(X, \Theta) = \sum_{R_{ij}=1} (x_i \cdot \theta_j - y_{ij})^2
        + \rho \Big(\sum_i n_i \|x_i\|^2 + \sum_j n_j \|\theta_j\|^2\Big),

where :math:`\rho` is ``regParam`` (here ``reg_param``), :math:`n_i` the number
of training ratings of movie i and :math:`n_j` that of user j: the penalty is
*weighted by each row's number of ratings* (ALS with weighted
lambda-regularization, Zhou et al. 2008). Its ``ALS.scala`` solves each row with
``solver.solve(ls, numExplicits * regParam)``. Setting the gradient in
:math:`\theta_j` to zero gives

.. math::

    (X_j^T X_j + \rho\, n_j I)\,\theta_j = X_j^T y_j ,

which is the ridge system that :meth:`cflib.als.RowSystems.solve` solves for
every row at once when given the per-row penalty ``rho * n_j`` of shape
(n_rows, k) (:func:`row_penalty`). cflib's own J has one ``lam`` for every row
(:math:`\tfrac12\sum e^2 + \tfrac{\lambda}{2}\|\cdot\|^2`, system
:math:`X_j^T X_j + \lambda I`): the two agree row by row when
:math:`\lambda_j = \rho\, n_j`; the factor 2 of Spark's un-halved squares
cancels against the 2 of its un-halved penalty.

Like Spark, each sweep first solves the movies (Spark's *items*) from the
users, then the users from the movies; the users start as random unit vectors
(Spark's initialization: Gaussian entries, each row scaled to norm 1).
"""

from __future__ import annotations

import numpy as np

from .als import RowSystems
from .arguments import check_factors, check_indices, check_int, check_scalar
from .blocks import MFModel
from .loop import Integer, Method, Param, Real, State, run
from .sparse import row_dots

__all__ = ["fit_als_wr", "METHOD", "row_penalty", "wr_cost"]


def row_penalty(rows, n_rows: int, reg_param: float, k: int) -> np.ndarray:
    r"""The per-row ridge penalty of ALS-WR: :math:`\rho\, n_r` in every coordinate.

    Parameters
    ----------
    rows : array_like of int, shape (nnz,)
        The row (movie or user) of each rating, 0-based.
    n_rows : int
        Number of rows (rows without ratings get penalty 0).
    reg_param : float
        Spark's ``regParam`` :math:`\rho \ge 0`.
    k : int
        Number of features.

    Returns
    -------
    ndarray of shape (n_rows, k)
        ``P[r, :] = reg_param * n_r`` with :math:`n_r` the number of ratings of
        row r: the ``penalty`` argument of :meth:`cflib.als.RowSystems.solve`.
    """
    n_rows = check_int(n_rows, "n_rows", min_val=0)
    k = check_int(k, "k", min_val=0)
    reg_param = check_scalar(reg_param, "reg_param", min_val=0.0)
    rows = check_indices(rows, "rows", n_rows)
    counts = np.bincount(rows, minlength=n_rows).astype(np.float64)
    return np.repeat(reg_param * counts[:, None], k, axis=1)


def wr_cost(X, Theta, train, reg_param: float) -> float:
    r"""Spark's objective :math:`J_{\text{WR}}` (module docstring) at (X, Theta).

    Parameters
    ----------
    X : ndarray of shape (n_movies, k)
    Theta : ndarray of shape (n_users, k)
    train : Ratings
    reg_param : float

    Returns
    -------
    float
        :math:`\sum (x_i\cdot\theta_j - y_{ij})^2 + \rho(\sum_i n_i\|x_i\|^2 + \sum_j n_j\|\theta_j\|^2)`.
    """
    reg_param = check_scalar(reg_param, "reg_param", min_val=0.0)
    if not all(hasattr(train, a) for a in ("movies", "users", "ratings", "n_movies", "n_users")):
        raise TypeError(f"train must be a cflib.Ratings, got {type(train).__name__}")
    X, Theta = check_factors(X, Theta)
    if (X.shape[0], Theta.shape[0]) != (train.n_movies, train.n_users):
        raise ValueError(f"X and Theta have {X.shape[0]} and {Theta.shape[0]} rows but train has shape "
                         f"{(train.n_movies, train.n_users)}: give X (n_movies, k) and Theta (n_users, k)")
    e = row_dots(X, Theta, train.movies, train.users) - train.ratings
    n_m = np.bincount(train.movies, minlength=train.n_movies)
    n_u = np.bincount(train.users, minlength=train.n_users)
    pen = n_m @ np.sum(X * X, axis=1) + n_u @ np.sum(Theta * Theta, axis=1)
    return float(e @ e + reg_param * pen)


def fit_als_wr(train, *, k: int = 10, reg_param: float = 0.15, n_iters: int = 20, seed: int = 0,
               validation=None, progress: bool = False):
    r"""Minimize Spark's ALS-WR objective with cflib's batched row solves.

    Parameters
    ----------
    train : Ratings
        Training ratings.
    k : int, default 10
        Number of features (Spark's ``rank``).
    reg_param : float, default 0.15
        Spark's ``regParam`` :math:`\rho`: row r's penalty is ``reg_param * n_r``.
    n_iters : int, default 20
        Sweeps (Spark's ``maxIter``): movies from users, then users from movies.
    seed : int, default 0
        Seed of ``np.random.default_rng`` for the initial unit-norm user rows.
    validation : Ratings, optional
        Ratings on which to record the clipped RMSE after every sweep.
    progress : bool, default False
        Show a ``tqdm.auto`` progress bar.

    Returns
    -------
    model : MFModel
        ``kind="plain"``: prediction ``X @ Theta.T`` clipped to 1..5 (``mu`` and
        the biases are 0); ``lam`` holds ``reg_param``.
    history : History
        ``cost`` is :math:`J_{\text{WR}}` (no 1/2), ``train_rmse`` the unclipped
        training RMSE, ``val_rmse`` the clipped validation RMSE, ``time`` in
        seconds; ``diverged`` is True if the factors became non-finite
        (training then stops with a RuntimeWarning).
    """
    return run(METHOD, train, validation=validation, seed=seed, progress=progress, k=k, reg_param=reg_param,
               n_iters=n_iters)


def _init(train, validation, seed, o):
    """Like Spark: the users start as random unit rows (0 for users without ratings), the movies at 0."""
    k, reg_param = o["k"], o["reg_param"]
    movie_side = RowSystems(train.movies, train.users, train.n_movies, train.n_users)
    user_side = RowSystems(train.users, train.movies, train.n_users, train.n_movies)
    rng = np.random.default_rng(seed)
    Theta = rng.standard_normal((train.n_users, k))
    Theta /= np.linalg.norm(Theta, axis=1, keepdims=True)
    Theta[user_side.counts == 0] = 0.0
    return State(train=train, options=o, seed=seed, params=[np.zeros((train.n_movies, k)), Theta],
                 movie_side=movie_side, user_side=user_side,
                 pen_m=row_penalty(train.movies, train.n_movies, reg_param, k),
                 pen_u=row_penalty(train.users, train.n_users, reg_param, k),
                 y_m=train.ratings[movie_side.order], y_u=train.ratings[user_side.order])


def _step(state):
    """One sweep: movies from users, then users from movies (Spark's order)."""
    X = state.movie_side.solve(state.params[1], state.y_m, state.pen_m, grouped=True)
    Theta, sse = state.user_side.solve(X, state.y_u, state.pen_u, grouped=True, return_sse=True)
    state.params = [X, Theta]
    sse = max(sse, 0.0)
    pen = np.sum(state.pen_m[:, :1] * X * X) + np.sum(state.pen_u[:, :1] * Theta * Theta)
    return float(sse + pen), sse


def _cost(state):
    return wr_cost(*state.params, state.train, state.options["reg_param"])


def _predict(state, movies, users):
    return row_dots(*state.params, movies, users)


def _finish(state, params, history):
    X, Theta = state.params
    train = state.train
    return MFModel(X=np.ascontiguousarray(X), Theta=np.ascontiguousarray(Theta), mu=0.0,
                   movie_bias=np.zeros(train.n_movies), user_bias=np.zeros(train.n_users), kind="plain",
                   lam=state.options["reg_param"], lam_bias=0.0, movie_counts=state.movie_side.counts.astype(np.int64),
                   user_counts=state.user_side.counts.astype(np.int64), params=params, train=train)


def _memory(train, o):
    return (max(train.n_movies, train.n_users) * o["k"] ** 2, f"k={o['k']}", "the (n_rows, k, k) row systems",
            "choose a smaller k (Spark's rank; 10 is the default)")


#: The registry entry (:mod:`cflib.trainers`): ``fit(train, method="als_wr", reg_param=0.1)``.
METHOD = Method("als_wr", "ALS-WR (Spark MLlib's objective)", step=_step, init=_init, cost=_cost, predict=_predict,
                finish=_finish, memory=_memory, kinds=("plain",), one_blas_thread=True,
                hint="try a larger reg_param (now {reg_param:g})",
                options=dict(k=Param(10, Integer(1)), reg_param=Param(0.15, Real(0.0)), n_iters=Param(20, Integer(1))))
