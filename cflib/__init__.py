"""cflib: low-rank matrix factorization for collaborative filtering, the course library.

Glossary: Y, R are (n_movies, n_users); X is (n_movies, k); Theta is (n_users, k);
``lam`` is the regularization strength; ``k`` the number of features.
"""

from .objective import (
    cost,
    cost_and_gradient,
    cost_and_gradient_sparse,
    cost_loop,
    cost_sparse,
    gradient,
    gradient_loop,
    gradient_sparse,
    predict,
)
from .datasets import fetch_movielens, load_movielens, load_split
from .gradcheck import check_gradient, numerical_gradient, relative_error
from .ranking import ranking_metrics
from .ratings import Ratings
from .sparse import SparseProblem
from .synthetic import make_synthetic

__version__ = "0.1.0"

__all__ = [
    "Ratings",
    "SparseProblem",
    "check_gradient",
    "cost",
    "cost_and_gradient",
    "cost_and_gradient_sparse",
    "cost_loop",
    "cost_sparse",
    "fetch_movielens",
    "gradient",
    "gradient_loop",
    "gradient_sparse",
    "load_movielens",
    "load_split",
    "make_synthetic",
    "numerical_gradient",
    "predict",
    "ranking_metrics",
    "relative_error",
]
