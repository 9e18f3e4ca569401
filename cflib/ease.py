r"""EASE: a closed-form item-item model for implicit feedback (Steck, WWW 2019).

"Embarrassingly Shallow Autoencoder". With the binary interactions of the
users as rows, :math:`X = R^T` (n_users, n_movies) (1 where user u rated movie
i: who watched what, not how many stars), EASE learns one movie-movie weight
matrix B (n_movies, n_movies) that predicts each movie's column of X from the
*other* movies:

.. math::

    \min_B \; \|X - X B\|_F^2 + \lambda \|B\|_F^2
    \quad \text{subject to} \quad \operatorname{diag}(B) = 0 .

Without the constraint the answer would be B = I (every movie predicts
itself). With it, setting the gradient of the Lagrangian to zero gives the
closed form

.. math::

    G = X^T X = R R^T, \qquad P = (G + \lambda I)^{-1}, \qquad
    B = I - P \operatorname{diag}(1 / \operatorname{diag} P),

that is :math:`B_{ij} = -P_{ij} / P_{jj}` for :math:`i \ne j` and
:math:`B_{jj} = 0`. G (n_movies, n_movies) counts how many users rated both
movies. The score of movie i for user u is
:math:`s_{iu} = \sum_j R_{ju} B_{ji}`, so in the course's orientation the
scores are :math:`S = B^T R` of shape (n_movies, n_users).

At the optimum the cost needs no product of n_movies x n_movies matrices:
with :math:`I - B = P D`, :math:`D = \operatorname{diag}(1 / \operatorname{diag} P)`,

.. math::

    J(B) = \sum_i \frac{1}{P_{ii}} - \lambda\, n_{movies} .

Training is one step (the closed form), through the one loop
(:func:`cflib.train.fit` with ``method="ease"``); the history records J before
(B = 0: J = the number of interactions) and after it. The work is one
Cholesky factorization and inverse of an (n_movies, n_movies) matrix: on
ml-100k (1,682 movies) the whole fit takes about 0.3 s of CPU on one core
(``benchmarks/bench_eval.py``).

Choosing lam
------------
:func:`choose_lam` splits the *training* ratings once more, fits EASE on one
part for each candidate lam and keeps the one with the best NDCG@10 on the
other part; the test ratings are never read for the choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from .arguments import check_index_pair, check_int, check_scalar
from .implicit_als import INTERACTIONS, ImplicitHistory, to_interactions
from .loop import Integer, Method, OneOf, Param, Real, State, blas_limit, check_ratings, run

__all__ = ["EASEModel", "METHOD", "fit_ease", "ease_weights", "ease_cost", "gram", "choose_lam", "DEFAULT_LAM",
           "LAM_GRID"]

#: lam when not given: the value :func:`choose_lam` picks most often on validation splits of
#: u1.base .. u5.base (``benchmarks/bench_eval.py``).
DEFAULT_LAM = 500.0
#: The candidates :func:`choose_lam` tries by default.
LAM_GRID = (50.0, 100.0, 200.0, 350.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0)


def _interaction_matrix(train, interactions: str) -> sp.csr_matrix:
    """R of shape (n_movies, n_users), float64, 1 at every interaction (binary)."""
    movies, users, _ = to_interactions(train, interactions=interactions, weights="binary")
    return sp.csr_matrix((np.ones(movies.size), (movies, users)), shape=(train.n_movies, train.n_users))


def gram(train, *, interactions: str = "all") -> np.ndarray:
    """G = R R^T: how many users interacted with both movies i and j.

    Parameters
    ----------
    train : Ratings
    interactions : {"all", "liked"}, default "all"
        Every rating is an interaction (binary "rated"), or only ratings >= 4.

    Returns
    -------
    G : ndarray of float64, shape (n_movies, n_movies)
        Symmetric; ``G[i, i]`` is the number of users who rated movie i.
    """
    check_ratings(train, "train")
    R = _interaction_matrix(train, interactions)
    return (R @ R.T).toarray()


def ease_weights(G, lam) -> np.ndarray:
    r"""The EASE closed form from a Gram matrix: :math:`B = I - P \operatorname{diag}(1/\operatorname{diag} P)`.

    Parameters
    ----------
    G : array_like of shape (n_movies, n_movies)
        :math:`X^T X` of the binary interactions (symmetric, positive semi-definite).
    lam : float > 0

    Returns
    -------
    B : ndarray of shape (n_movies, n_movies)
        :math:`B_{ij} = -P_{ij}/P_{jj}` off the diagonal, 0 on it, with :math:`P = (G + \lambda I)^{-1}`.
    """
    B, _ = _solve(_check_gram(G), check_scalar(lam, "lam", min_val=0.0, include_boundaries="right"))
    return B


def _check_gram(G) -> np.ndarray:
    try:
        G = np.array(G, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"G must be a numeric array; could not convert it: {exc}") from None
    if G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise ValueError(f"G must be square of shape (n_movies, n_movies), got shape {G.shape}")
    if not np.isfinite(G).all():
        raise ValueError("G must be finite (no NaN or inf)")
    if not np.allclose(G, G.T):
        raise ValueError("G must be symmetric (G = X^T X of the interactions)")
    return G


def _solve(G, lam):
    """``(B, 1 / diag P)`` for a checked G (overwritten) and lam > 0: Cholesky factor, then its inverse."""
    n = G.shape[0]
    G[np.diag_indices(n)] += lam
    try:
        c, lower = sla.cho_factor(G, lower=False, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise ValueError(f"G + lam I is not positive definite with lam={lam:g}: G must be X^T X of the "
                         "interactions (positive semi-definite)") from None
    P, info = sla.lapack.dpotri(c, lower=0, overwrite_c=True)
    if info != 0:
        raise ValueError(f"G + lam I could not be inverted (LAPACK dpotri info={info}); use a larger lam")
    P = np.triu(P)
    P += np.triu(P, 1).T  # dpotri fills the upper triangle only
    inv_diag = 1.0 / np.diag(P)
    B = P * -inv_diag[None, :]
    B[np.diag_indices(n)] = 0.0
    return B, inv_diag


def ease_cost(B, R, lam) -> float:
    r""":math:`J(B) = \|X - X B\|_F^2 + \lambda \|B\|_F^2` with :math:`X = R^T`, computed directly.

    Parameters
    ----------
    B : array_like of shape (n_movies, n_movies)
    R : array_like of shape (n_movies, n_users)
        The binary interactions (1 where user u interacted with movie i); a
        scipy.sparse matrix is accepted.
    lam : float >= 0
    """
    B = np.asarray(B, dtype=np.float64)
    R = R.toarray() if sp.issparse(R) else np.asarray(R, dtype=np.float64)
    if B.ndim != 2 or R.ndim != 2 or B.shape != (R.shape[0], R.shape[0]):
        raise ValueError(f"B must have shape (n_movies, n_movies) = ({R.shape[0]}, {R.shape[0]}) for R of shape "
                         f"(n_movies, n_users) = {R.shape}, got {B.shape}")
    lam = check_scalar(lam, "lam", min_val=0.0)
    X = R.T
    E = X - X @ B
    return float(np.sum(E * E) + lam * np.sum(B * B))


@dataclass(eq=False)
class EASEModel:
    """Scores :math:`S = B^T R` (n_movies, n_users): how likely user u is to watch movie i (not a rating).

    Attributes
    ----------
    B : ndarray of shape (n_movies, n_movies)
        Movie-movie weights, 0 on the diagonal.
    R : scipy.sparse.csr_matrix of shape (n_movies, n_users)
        The binary training interactions the scores are built from.
    params : dict   the fit arguments
    """

    B: np.ndarray
    R: sp.csr_matrix
    params: dict = field(default_factory=dict)
    #: Its scores are preferences, not ratings: no rating scale (cflib.ratings.rating_scale).
    rating_scale = None

    @property
    def n_movies(self) -> int:
        return int(self.B.shape[0])

    @property
    def n_users(self) -> int:
        return int(self.R.shape[1])

    @property
    def lam(self) -> float:
        return float(self.params.get("lam", float("nan")))

    def _no_clip(self, clip):
        if clip:
            raise ValueError("EASE scores are preferences, not ratings: call with clip=False "
                             "(judge the model with cflib.ranking.ranking_metrics, not RMSE)")

    def predict_all(self, *, clip: bool = False) -> np.ndarray:
        """All scores ``B.T @ R``, shape (n_movies, n_users)."""
        self._no_clip(clip)
        return np.ascontiguousarray((self.R.T @ self.B).T)

    def predict(self, movies, users, *, clip: bool = False) -> np.ndarray:
        """Scores at the coordinates ``(movies[t], users[t])``, shape (n,)."""
        self._no_clip(clip)
        movies, users = check_index_pair(movies, users, self.n_movies, self.n_users)
        RT = self.R.T.tocsr()
        out = np.empty(movies.size)
        for start in range(0, movies.size, 1024):  # bounded memory: 1024 x n_movies at a time
            part = slice(start, start + 1024)
            out[part] = np.asarray(RT[users[part]].multiply(self.B.T[movies[part]]).sum(axis=1)).ravel()
        return out

    def __repr__(self):
        return f"EASEModel(lam={self.lam:g}, n_movies={self.n_movies}, n_users={self.n_users})"


def fit_ease(train, *, lam: float | None = None, interactions: str | None = None, validation=None):
    """Fit EASE (module docstring) through the one loop: ``fit(train, method="ease", lam=...)``.

    Parameters
    ----------
    train : Ratings
    lam : float > 0, default :data:`DEFAULT_LAM`
        Choose it on a validation split of ``train`` with :func:`choose_lam`, never on the test ratings.
    interactions : {"all", "liked"}, default "all"
        Every training rating is an interaction ("rated"), or only ratings >= 4.
    validation : Ratings, optional
        If given, NDCG@10 on it (ratings >= 4 relevant) is recorded in ``history.val_ndcg``.

    Returns
    -------
    model : EASEModel
    history : cflib.implicit_als.ImplicitHistory
        One row: ``cost`` (J at the closed form; ``initial_cost`` is J at B = 0), ``time``, ``val_ndcg``.
    """
    return run(METHOD, train, validation=validation, lam=lam, interactions=interactions)


def choose_lam(train, lams=LAM_GRID, *, validation_fraction: float = 0.2, seed: int = 0, k: int = 10,
               relevant_min: float = 4.0, interactions: str = "all"):
    """Choose EASE's lam on a validation split carved from ``train`` (the test ratings are never read).

    ``train`` is split at random (:meth:`cflib.Ratings.random_split`, ``seed``) into
    a fit part and a validation part; EASE is fitted on the fit part for every lam
    (G is computed once) and scored by :func:`cflib.ranking.ranking_metrics` on the
    validation part (movies of the fit part excluded, ratings >= ``relevant_min``
    relevant).

    Parameters
    ----------
    train : Ratings
    lams : sequence of float > 0, default :data:`LAM_GRID`
    validation_fraction : float in (0, 1), default 0.2
    seed : int >= 0, default 0
    k : int >= 1, default 10
    relevant_min : float, default 4.0
    interactions : {"all", "liked"}, default "all"

    Returns
    -------
    lam : float
        The lam with the highest validation NDCG@k (the smaller lam on a tie).
    table : list of dict
        One row per lam, in the order given: ``lam``, ``ndcg``, ``precision``.
    """
    from .ranking import ranking_metrics

    check_ratings(train, "train")
    if isinstance(lams, (str, bytes)) or not hasattr(lams, "__iter__"):
        raise TypeError(f"lams must be a sequence of numbers > 0, got {type(lams).__name__} {lams!r}")
    lams = [check_scalar(v, f"lams[{i}]", min_val=0.0, include_boundaries="right") for i, v in enumerate(lams)]
    if not lams:
        raise ValueError("lams is empty: give at least one candidate lam, e.g. cflib.ease.LAM_GRID")
    if interactions not in INTERACTIONS:
        raise ValueError(f"interactions must be one of {INTERACTIONS}, got {interactions!r}")
    k = check_int(k, "k", min_val=1)
    fit_part, val = train.random_split(validation_fraction, seed=seed)
    if not np.any(val.ratings >= relevant_min):
        raise ValueError(f"the validation part holds no rating >= relevant_min={relevant_min:g}: "
                         "use a larger validation_fraction or a lower relevant_min")
    R = _interaction_matrix(fit_part, interactions)
    G0 = (R @ R.T).toarray()
    table = []
    with blas_limit(None, METHOD, fit_part.nnz):  # one BLAS thread, as fit does on problems of this size
        for lam in lams:
            B, _ = _solve(G0.copy(), lam)
            m = ranking_metrics(EASEModel(B, R), fit_part, val, k=k, relevant_min=relevant_min)
            table.append({"lam": lam, "ndcg": m["ndcg"], "precision": m["precision"]})
    best = max(table, key=lambda row: (row["ndcg"], -row["lam"]))
    return best["lam"], table


# ------------------------------------------------------------------ the entry of the one loop
def _init(train, validation, seed, o):
    if validation is not None and not np.any(validation.ratings >= 4.0):
        raise ValueError("validation has no rating >= 4, so NDCG@10 cannot be measured on it: "
                         "give a larger validation set or validation=None")
    R = _interaction_matrix(train, o["interactions"])
    if R.nnz == 0:
        raise ValueError(f"train has no interactions with interactions={o['interactions']!r}: use interactions='all'")
    G = (R @ R.T).toarray()
    return State(train=train, options=o, seed=seed, params=[np.zeros((train.n_movies, train.n_movies))], R=R, G=G,
                 inv_diag=None)


def _cost(state):
    """J at B: from 1/diag P after the closed form; at the start (B = 0), J = trace(G)."""
    if state.inv_diag is not None:
        return float(state.inv_diag.sum() - state.options["lam"] * state.G.shape[0])
    B = state.params[0]
    if not B.any():
        return float(np.trace(state.G))
    return ease_cost(B, state.R, state.options["lam"])


def _step(state):
    """The closed form: one step, after which training is done."""
    B, state.inv_diag = _solve(state.G.copy(), state.options["lam"])
    state.params = [B]
    return _cost(state), None


def _record(state, history, validation):
    if validation is not None:
        from .ranking import ranking_metrics
        history.val_ndcg.append(ranking_metrics(EASEModel(state.params[0], state.R), state.train, validation)["ndcg"])


def _finish(state, params, history):
    return EASEModel(B=state.params[0], R=state.R, params=params)


def _memory(train, o):
    n = train.n_movies
    return 4 * n * n, f"n_movies={n}", "the (n_movies, n_movies) matrices G, P and B", \
        "EASE needs dense movie-by-movie matrices: keep fewer movies (e.g. those with enough ratings)"


#: The registry entry (:mod:`cflib.trainers`): ``fit(train, method="ease", lam=500.0)``.
METHOD = Method(
    "ease", "EASE (closed form)", step=_step, init=_init, cost=_cost, record=_record, finish=_finish,
    history=ImplicitHistory, memory=_memory, kinds=("implicit",), hint="try a larger lam (now {lam:g})",
    options=dict(lam=Param(DEFAULT_LAM, Real(0.0, closed="right")),
                 interactions=Param("all", OneOf(*INTERACTIONS)),
                 n_iters=Param(1, Integer(1, 1))))
