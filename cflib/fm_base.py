"""What every model on the feature blocks of :mod:`cflib.features` shares: a trained FM
(:class:`cflib.fm.FMModel`) and the posterior samples of one (:class:`cflib.fm_mcmc.FMPosterior`).

:class:`OnFeatureBlocks` is a base class for such dataclasses, which have the fields ``space``
(a :class:`cflib.features.FeatureSpace`) and ``scale``: it checks the scale, squares the blocks
once (for the :math:`\\sum_i v_i^2 x_i^2` term of every prediction), gives the sizes, and adds
a brand-new movie or user known by its description only (:mod:`cflib.cold_start`).
"""

from __future__ import annotations

from .cold_start import with_new_movie, with_new_user
from .ratings import check_scale

__all__ = ["OnFeatureBlocks"]


class OnFeatureBlocks:
    """Base of the FM models: ``scale`` checked, the blocks squared, ``n_movies``, ``n_users``, new rows."""

    def __post_init__(self):
        self.scale = check_scale(self.scale)
        self._squares = {b: B.multiply(B).tocsr() for b, B in self.space.blocks.items()}

    @property
    def rating_scale(self) -> tuple:
        """``(lo, hi)`` that predictions are clipped to: the training data's scale."""
        return self.scale

    @property
    def n_movies(self) -> int:
        return int(self.space.blocks["movie"].shape[0])

    @property
    def n_users(self) -> int:
        return int(self.space.blocks["user"].shape[0])

    def with_new_movie(self, *, genres=(), year=None, seed: int = 0):
        """This model with one more movie, index ``n_movies``, known by genres and year only
        (:func:`cflib.cold_start.with_new_movie`; ``seed`` for the new id's draws of posterior samples)."""
        return with_new_movie(self, genres=genres, year=year, seed=seed)

    def with_new_user(self, *, age, gender, occupation, zip, seed: int = 0):  # noqa: A002
        """This model with one more user, index ``n_users``, known by attributes only
        (:func:`cflib.cold_start.with_new_user`; ``seed`` as for :meth:`with_new_movie`)."""
        return with_new_user(self, age=age, gender=gender, occupation=occupation, zip=zip, seed=seed)
