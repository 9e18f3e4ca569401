r"""Implicit feedback: confidence-weighted ALS (Hu, Koren and Volinsky, ICDM 2008).

Who watched what, not how many stars. Every user-movie pair gets a
preference and a confidence:

.. math::

    p_{iu} = \begin{cases} 1 & \text{u interacted with i} \\ 0 & \text{otherwise} \end{cases},
    \qquad c_{iu} = 1 + \alpha\, w_{iu},

where :math:`w_{iu}` (0 off the interactions) says how strong an interaction
was. With movie factors X (n_movies, k) and user factors Theta (n_users, k),
the score is :math:`s_{iu} = x_i \cdot \theta_u` and the cost runs over **all**
n_movies x n_users pairs, watched or not:

.. math::

    J = \sum_{i, u} c_{iu} (p_{iu} - x_i \cdot \theta_u)^2
        + \lambda \big(\|X\|_F^2 + \|\Theta\|_F^2\big).

ALS step
--------
With X fixed, :math:`\partial J / \partial \theta_u = 0` gives, for every user,

.. math::

    \big(X^T C_u X + \lambda I\big)\, \theta_u = X^T C_u\, p_u ,
    \qquad C_u = \operatorname{diag}(c_{\cdot u}) \in \mathbb{R}^{n_{movies} \times n_{movies}}.

Built directly, :math:`X^T C_u X` costs n_movies * k^2 per user. But
:math:`C_u = I + (C_u - I)` and :math:`C_u - I` is zero off u's interactions N(u):

.. math::

    X^T C_u X = X^T X + \sum_{i \in N(u)} \alpha w_{iu}\, x_i x_i^T, \qquad
    X^T C_u p_u = \sum_{i \in N(u)} (1 + \alpha w_{iu})\, x_i ,

and :math:`X^T X` is shared by every user. One sweep then costs
O(nnz k^2 + (n_movies + n_users) k^3) instead of O(n_movies n_users k^2).
The movie step is the same with X and Theta swapped. The systems are built and
solved in batches by :meth:`cflib.als.RowSystems.solve_weighted`.

Defaults
--------
Tuned on u1.base only, split once more (80 % fit, 20 % validation, seeds 0 and 1, mean),
maximizing NDCG@10 on the validation ratings >= 4 (``benchmarks/bench_ranking.py
--tune``): interactions are the ratings >= 4, weighted by the rating (w = r), ``alpha`` and
``lam`` as in ``DEFAULTS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .als import RowSystems
from .arguments import check_factors, check_index_pair, check_indices, check_lam
from .history import Diverged, History
from .loop import Integer, Method, OneOf, Param, Real, State, run

__all__ = ["ImplicitModel", "ImplicitHistory", "METHOD", "fit_implicit_als", "implicit_row", "to_interactions", "implicit_cost", "DEFAULTS",
           "INTERACTIONS", "WEIGHTS", "SOLVERS"]

#: Which ratings count as interactions: all of them, or the liked ones (>= 4).
INTERACTIONS = ("liked", "all")
#: How w is built from a rating r: 1 ("binary") or r ("rating"); see ``to_interactions``.
WEIGHTS = ("binary", "rating")
#: Row solvers: conjugate gradient from the previous iterate, or the exact batched solve.
SOLVERS = ("cg", "exact")
#: The validation-tuned defaults (k=20; see the module docstring).
DEFAULTS = dict(alpha=2.0, lam=50.0, interactions="liked", weights="rating")


def to_interactions(train, *, interactions: str = "liked", weights: str = "binary"):
    """The interactions (movie, user) and their strength w from explicit ratings.

    Parameters
    ----------
    train : Ratings
    interactions : {"liked", "all"}
        ``"liked"``: ratings >= 4 are interactions; ``"all"``: every rating is.
    weights : {"binary", "rating"}
        ``w = 1`` for every interaction, or ``w = rating``.

    Returns
    -------
    movies, users : ndarray of int64, shape (n,)
    w : ndarray of float64, shape (n,)
    """
    if not all(hasattr(train, a) for a in ("movies", "users", "ratings", "nnz")):
        raise TypeError(f"train must be a cflib.Ratings, got {type(train).__name__}")
    if interactions not in INTERACTIONS:
        raise ValueError(f"interactions must be one of {INTERACTIONS}, got {interactions!r}")
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    keep = train.ratings >= 4.0 if interactions == "liked" else np.ones(train.nnz, dtype=bool)
    w = np.ones(int(keep.sum())) if weights == "binary" else train.ratings[keep].copy()
    return train.movies[keep], train.users[keep], w


def implicit_cost(X, Theta, movies, users, c, lam) -> float:
    r"""J over all n_movies x n_users pairs, computed from the interactions only.

    .. math::

        J = \|X \Theta^T\|_F^2 + \sum_{(i,u) \in N} \big[c_{iu} (1 - s_{iu})^2 - s_{iu}^2\big]
            + \lambda (\|X\|_F^2 + \|\Theta\|_F^2),

    where :math:`\|X \Theta^T\|_F^2 = \operatorname{tr}\big((X^T X)(\Theta^T \Theta)\big)`
    is the cost of predicting 0 everywhere with confidence 1.

    Parameters
    ----------
    X : ndarray (n_movies, k); Theta : ndarray (n_users, k)
    movies, users : ndarray of int, shape (n,)   the interactions
    c : ndarray of shape (n,)   their confidences 1 + alpha * w
    lam : float
    """
    X, Theta = check_factors(X, Theta)
    movies, users = check_index_pair(movies, users, X.shape[0], Theta.shape[0])
    c = np.asarray(c, dtype=np.float64)
    if c.shape != movies.shape:
        raise ValueError(f"c must hold one confidence per interaction: shape {movies.shape}, got {c.shape}")
    return _implicit_cost(X, Theta, movies, users, c, check_lam(lam))


def _implicit_cost(X, Theta, movies, users, c, lam) -> float:
    """:func:`implicit_cost` on checked arguments (the training loop's copy: no checks per sweep)."""
    s = np.einsum("nk,nk->n", X[movies], Theta[users])
    full = float(np.sum((X.T @ X) * (Theta.T @ Theta)))
    return full + float(np.sum(c * (1.0 - s) ** 2 - s * s)) + lam * float(np.sum(X * X) + np.sum(Theta * Theta))


def implicit_row(X, movies, c, lam) -> np.ndarray:
    r"""One user's ALS step, solved directly: the teaching version of the batched solve.

    .. math::

        \big(X^T X + X_N^T (C_N - I) X_N + \lambda I\big)\, \theta
            = X_N^T c_N ,

    where :math:`X_N` = ``X[movies]`` holds the rows of the movies the user
    interacted with and :math:`c_N` their confidences (p = 1 there; the other
    movies have p = 0 and add nothing to the right-hand side).

    Parameters
    ----------
    X : ndarray of shape (n_movies, k)
    movies : ndarray of int, shape (n,)
    c : ndarray of shape (n,)   confidences 1 + alpha * w
    lam : float

    Returns
    -------
    theta : ndarray of shape (k,)
    """
    try:
        X = np.asarray(X, dtype=np.float64)
        c = np.asarray(c, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"X and c must be numeric arrays; could not convert them: {exc}") from None
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D of shape (n_movies, k), got shape {X.shape}")
    movies = check_indices(movies, "movies", X.shape[0], what="rows of X")
    if c.shape != movies.shape:
        raise ValueError(f"c must hold one confidence per movie in movies: shape {movies.shape}, got {c.shape}")
    if not (np.isfinite(X).all() and np.isfinite(c).all()):
        raise ValueError("X and c must be finite (no NaN or inf)")
    lam = check_lam(lam)
    XN = X[movies]
    A = X.T @ X + (XN.T * (c - 1.0)) @ XN + lam * np.eye(X.shape[1])
    try:
        return np.linalg.solve(A, XN.T @ c)
    except np.linalg.LinAlgError:
        raise ValueError("the system X^T C_u X + lam I is singular (X has dependent columns and lam = 0): "
                         "use lam > 0") from None


@dataclass(eq=False)
class ImplicitModel:
    """Scores :math:`s_{iu} = x_i \\cdot \\theta_u`: how likely u is to watch i (not a rating).

    Attributes
    ----------
    X : ndarray of shape (n_movies, k)
    Theta : ndarray of shape (n_users, k)
    params : dict   the fit arguments
    """

    X: np.ndarray
    Theta: np.ndarray
    params: dict = field(default_factory=dict)
    #: Its scores are preferences, not ratings: no rating scale (cflib.ratings.rating_scale).
    rating_scale = None

    @property
    def k(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_movies(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_users(self) -> int:
        return int(self.Theta.shape[0])

    def _no_clip(self, clip):
        if clip:
            raise ValueError("implicit-ALS scores are preferences near 0..1, not ratings: call with "
                             "clip=False (judge the model with cflib.ranking.ranking_metrics, not RMSE)")

    def predict(self, movies, users, *, clip: bool = False) -> np.ndarray:
        """Scores at the coordinates ``(movies[t], users[t])``, shape (n,)."""
        self._no_clip(clip)
        movies, users = check_index_pair(movies, users, self.n_movies, self.n_users)
        return np.einsum("nk,nk->n", self.X[movies], self.Theta[users])

    def predict_all(self, *, clip: bool = False) -> np.ndarray:
        """All scores ``X @ Theta.T``, shape (n_movies, n_users)."""
        self._no_clip(clip)
        return self.X @ self.Theta.T

    def __repr__(self):
        return f"ImplicitModel(k={self.k}, n_movies={self.n_movies}, n_users={self.n_users})"


def fit_implicit_als(train, *, k: int = 20, alpha: float | None = None, lam: float | None = None,
                     interactions: str | None = None, weights: str | None = None, n_iters: int = 15,
                     seed: int = 0, init_scale: float = 0.01, validation=None, progress: bool = False,
                     solver: str = "cg", cg_steps: int = 3, cg_dtype=np.float32, use_gram: bool = True,
                     record_cost: bool = True):
    """Fit confidence-weighted ALS to the ratings read as implicit feedback.

    Parameters
    ----------
    train : Ratings
    k : int, default 20
    alpha : float >= 0, default ``DEFAULTS["alpha"]``
        Confidence slope: ``c = 1 + alpha * w`` on interactions, 1 elsewhere.
    lam : float >= 0, default ``DEFAULTS["lam"]``
    interactions : {"liked", "all"}, default ``DEFAULTS["interactions"]``
    weights : {"binary", "rating"}, default ``DEFAULTS["weights"]``
    n_iters : int, default 15
        Sweeps (a user step, then a movie step).
    seed : int, default 0
        Seed of ``np.random.default_rng`` for ``init_scale * standard_normal`` factors.
    init_scale : float, default 0.01
    validation : Ratings, optional
        If given, NDCG@10 on it (ratings >= 4 relevant) is recorded after every
        sweep in ``history.val_ndcg`` (``val_rmse`` stays empty: there are no ratings to predict).
    progress : bool, default False
        Show a ``tqdm.auto`` progress bar.
    solver : {"cg", "exact"}, default "cg"
        ``"exact"`` builds and solves every row's (k, k) system
        (:meth:`cflib.als.RowSystems.solve_weighted`); ``"cg"`` takes ``cg_steps``
        conjugate-gradient steps on it from the previous iterate, without
        building it (:meth:`cflib.als.RowSystems.solve_weighted_cg`): O(nnz k)
        instead of O(nnz k^2 + n k^3) per sweep, nearly the same factors.
    cg_steps : int, default 3
    cg_dtype : numpy float type, default np.float32
        Precision of the CG products (float32 halves their memory traffic and
        their time on ml-100k, with the same top-10 metrics to 3 decimals; the
        factors are kept in float64).
    record_cost : bool, default True
        Compute J after every sweep for ``history.cost`` (one pass over the
        interactions; False leaves it empty, as peers do when timing a fit).
    use_gram : bool, default True
        Use the shared :math:`X^T X` trick. False builds every :math:`X^T C_u X`
        over all movies (the same result, n_movies * n_users * k^2 work: for
        measuring what the trick saves, not for use).

    Returns
    -------
    model : ImplicitModel
    history : ImplicitHistory
        ``cost`` (J after each sweep), ``time``, ``val_ndcg``; ``diverged`` if the factors
        or J became non-finite (training then stops with a RuntimeWarning and the
        model keeps the last finite factors, the initialization if the first sweep failed).
    """
    return run(METHOD, train, validation=validation, seed=seed, progress=progress, k=k, alpha=alpha, lam=lam,
               interactions=interactions, weights=weights, n_iters=n_iters, init_scale=init_scale, solver=solver,
               cg_steps=cg_steps, cg_dtype=cg_dtype, use_gram=use_gram, record_cost=record_cost)


@dataclass
class ImplicitHistory(History):
    """:class:`cflib.history.History` plus ``val_ndcg``: NDCG@10 on the validation ratings >= 4 after each sweep."""

    val_ndcg: list = field(default_factory=list)


# ------------------------------------------------------------------ the entry of the one loop
def _init(train, validation, seed, o):
    if validation is not None and not np.any(validation.ratings >= 4.0):
        raise ValueError("validation has no rating >= 4, so NDCG@10 cannot be measured on it: "
                         "give a larger validation set or validation=None")
    movies, users, w = to_interactions(train, interactions=o["interactions"], weights=o["weights"])
    if movies.size == 0:
        raise ValueError(f"train has no interactions with interactions={o['interactions']!r}: use interactions='all'")
    rng = np.random.default_rng(seed)
    X = o["init_scale"] * rng.standard_normal((train.n_movies, o["k"]))
    Theta = o["init_scale"] * rng.standard_normal((train.n_users, o["k"]))
    if not np.isfinite(np.sum(X * X) + np.sum(Theta * Theta)):
        raise ValueError(f"init_scale={o['init_scale']:g} overflows the initial factors: use a small "
                         "init_scale such as the default 0.01")
    c = 1.0 + o["alpha"] * w
    if not np.isfinite(c).all():
        raise ValueError(f"alpha={o['alpha']:g} makes the confidences 1 + alpha * w infinite: "
                         "choose a smaller alpha (the default is 2)")
    user_side = RowSystems(users, movies, train.n_users, train.n_movies)
    movie_side = RowSystems(movies, users, train.n_movies, train.n_users)
    return State(train=train, options=o, seed=seed, params=[X, Theta], movies=movies, users=users, c=c,
                 user_side=user_side, movie_side=movie_side, cu=c[user_side.order], cm=c[movie_side.order])


def _cost(state):
    if not state.options["record_cost"]:
        return None
    X, Theta = state.params
    return _implicit_cost(X, Theta, state.movies, state.users, state.c, state.options["lam"])


def _step(state):
    """One sweep: every user's solve given the movies, then every movie's given the users."""
    o = state.options
    X, Theta = state.params
    step = {name: o[name] for name in ("lam", "use_gram", "solver", "cg_steps", "cg_dtype")}
    try:
        Theta_new = _half_step(state.user_side, X, state.cu, Theta, **step)
        X_new = _half_step(state.movie_side, Theta_new, state.cm, X, **step)
    except np.linalg.LinAlgError:  # overflowed systems (huge alpha or lam)
        raise Diverged from None
    state.params = [X_new, Theta_new]
    return _cost(state), None


def _record(state, history, validation):
    if validation is not None:
        from .ranking import ranking_metrics
        history.val_ndcg.append(ranking_metrics(ImplicitModel(*state.params), state.train, validation)["ndcg"])


def _finish(state, params, history):
    return ImplicitModel(X=state.params[0], Theta=state.params[1], params=params)


def _memory(train, o):
    k = o["k"]
    floats = k * k + (train.n_movies + train.n_users + 2 * train.nnz) * k
    if o["solver"] == "exact" or not o["use_gram"]:
        floats += max(train.n_movies, train.n_users) * k * k
    return floats, f"k={k}", "the factors and row systems", "choose a smaller k (the number of features; 20 is the default)"


def _cg_dtype(value, name, options):
    if value not in (np.float32, np.float64):
        raise TypeError(f"cg_dtype must be np.float32 or np.float64, got {value!r}")
    return value


#: The registry entry (:mod:`cflib.trainers`): ``fit(train, method="implicit_als", alpha=2.0)``.
METHOD = Method(
    "implicit_als", "implicit ALS (confidence-weighted)", step=_step, init=_init, cost=_cost, record=_record,
    finish=_finish, history=ImplicitHistory, memory=_memory, kinds=("implicit",), one_blas_thread=True,
    hint="try a larger lam (now {lam:g})",
    options=dict(k=Param(20, Integer(1)), alpha=Param(DEFAULTS["alpha"], Real(0.0)),
                 lam=Param(DEFAULTS["lam"], Real(0.0)), interactions=Param(DEFAULTS["interactions"], OneOf(*INTERACTIONS)),
                 weights=Param(DEFAULTS["weights"], OneOf(*WEIGHTS)), n_iters=Param(15, Integer(1)),
                 init_scale=Param(0.01, Real(0.0, closed="neither")), solver=Param("cg", OneOf(*SOLVERS)),
                 cg_steps=Param(3, Integer(1)), cg_dtype=Param(np.float32, _cg_dtype),
                 use_gram=Param(True, OneOf(True, False)), record_cost=Param(True, OneOf(True, False))))


def _half_step(side, F, c, W0, *, lam, use_gram, solver, cg_steps, cg_dtype):
    """Every row's solve (F^T C_r F + lam I) w_r = F^T C_r p_r, with c in the side's grouped order."""
    if use_gram and solver == "cg":
        return side.solve_weighted_cg(F, c - 1.0, c, lam, W0, base=F.T @ F, steps=cg_steps, dtype=cg_dtype)
    if use_gram:
        return side.solve_weighted(F, c - 1.0, c, lam, base=F.T @ F)
    # Without the trick: the dense confidence row of every entity, n_cols * k^2 per row.
    d = F.shape[1]
    W = np.empty((side.n_rows, d))
    for r in range(side.n_rows):
        conf = np.ones(side.n_cols)
        cols = side.indices[side.indptr[r]:side.indptr[r + 1]]
        conf[cols] = c[side.indptr[r]:side.indptr[r + 1]]
        A = (F.T * conf) @ F + lam * np.eye(d)
        W[r] = np.linalg.solve(A, F[cols].T @ conf[cols])
    return W
