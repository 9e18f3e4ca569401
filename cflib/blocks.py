r"""The cost J of a model over its parameter blocks, and the per-iteration recorder.

Both model kinds of :func:`cflib.train.fit` are the cost J of
:mod:`cflib.objective` with the ratings shifted by fixed offsets; the biased
kind adds two learned columns (``[X, b, 1] @ [Theta, 1, b_u].T`` equals
``X @ Theta.T + b + b_u``). The parameters travel as a list of *blocks*:
``[X, Theta]`` (normalized) or ``[X, Theta, movie_bias, user_bias]`` (biased),
with X (n_movies, k), Theta (n_users, k), movie_bias (n_movies,), user_bias (n_users,).

Every runner of :mod:`cflib.trainers` works on a :class:`BlockObjective` and
reports each iteration to a :class:`Recorder`, which applies the one
divergence rule (:mod:`cflib.history`): a non-finite cost or block raises
:class:`cflib.history.Diverged`, after remembering the last finite blocks.
"""

from __future__ import annotations

import time

import numpy as np

from .baselines import predict_at
from .history import Diverged
from .ratings import RATING_SCALE
from .sparse import SparseProblem, row_dots

__all__ = ["BlockObjective", "Recorder", "all_finite"]


def all_finite(arrays) -> bool:
    """True when every array of the list holds only finite values."""
    return all(bool(np.all(np.isfinite(a))) for a in arrays)


class BlockObjective:
    """J of the chosen model kind as a function of the parameter blocks, via one SparseProblem.

    Parameters
    ----------
    train : Ratings
    kind : {"normalized", "biased"}
    k : int
    lam, lam_bias : float
    mu : float
        Global mean of the training ratings.
    movie_offset : ndarray of shape (n_movies,)
        Fixed per-movie offset on top of mu (movie mean - mu for the normalized kind, else 0).
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
        """J and its gradient per block; :class:`~cflib.history.Diverged` when a block is not finite.

        Every runner evaluates through here (gradient descent, momentum, and
        L-BFGS, whose line search may try a point that overflows), so a
        non-finite point ends the run as a divergence, never as an input error.
        """
        if not all_finite(blocks):
            raise Diverged
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
        """``(movie_bias, user_bias)`` of the prediction rule, fixed offsets included."""
        if self.kind == "biased":
            return self.movie_offset + blocks[2], blocks[3]
        return self.movie_offset, np.zeros(self.n_users)


def _clipped_rmse(pred, actual):
    d = np.clip(pred, *RATING_SCALE) - actual
    return float(np.sqrt(d @ d / d.size)) if d.size else float("nan")


class Recorder:
    """Fills the History after each iteration; raises :class:`Diverged` on a non-finite cost or block.

    ``train_rmse`` comes from the data term of J (no pass over the ratings);
    the validation RMSE uses predictions at the validation coordinates only.
    ``last_finite`` holds the blocks of the last finite iteration (the
    initialization before the first one).
    """

    def __init__(self, objective, validation, history, start, bar, initial_blocks):
        self.obj, self.history, self.start, self.bar = objective, history, start, bar
        self.nnz = objective.nnz
        self.last_finite = initial_blocks
        if validation is not None:
            self.vm, self.vu, self.vy = validation.movies, validation.users, validation.ratings
        else:
            self.vm = None

    def __call__(self, blocks, J):
        with np.errstate(over="ignore", invalid="ignore"):
            if not np.isfinite(J) or not all_finite(blocks):
                raise Diverged
            self.last_finite = blocks
            h = self.history
            h.cost.append(float(J))
            sse = max(2.0 * (J - self.obj.penalty(blocks)), 0.0)  # sum of squared errors
            h.train_rmse.append(float(np.sqrt(sse / self.nnz)))
            if self.vm is not None:
                bm, bu = self.obj.biases(blocks)
                pred = predict_at(blocks[0], blocks[1], self.obj.mu, bm, bu, self.vm, self.vu)
                h.val_rmse.append(_clipped_rmse(pred, self.vy))
        h.time.append(time.perf_counter() - self.start)
        if self.bar is not None:
            self.bar.update(1)
            post = {"cost": f"{h.cost[-1]:.4g}", "train": f"{h.train_rmse[-1]:.4f}"}
            if h.val_rmse:
                post["val"] = f"{h.val_rmse[-1]:.4f}"
            self.bar.set_postfix(post, refresh=False)
