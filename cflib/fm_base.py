"""What every model on the feature blocks of :mod:`cflib.features` shares: a trained FM
(:class:`cflib.fm.FMModel`) and the posterior samples of one (:class:`cflib.fm_mcmc.FMPosterior`).

:class:`OnFeatureBlocks` is a base class for such dataclasses, which have the fields ``space``
(a :class:`cflib.features.FeatureSpace`) and ``scale``: it checks the scale, squares the blocks
once (for the :math:`\\sum_i v_i^2 x_i^2` term of every prediction), and gives the sizes.
"""

from __future__ import annotations

from .ratings import check_scale

__all__ = ["OnFeatureBlocks"]


class OnFeatureBlocks:
    """Base of the FM models: ``scale`` checked, the blocks squared, ``n_movies`` and ``n_users``."""

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
