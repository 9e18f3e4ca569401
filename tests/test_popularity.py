"""The popularity baseline."""

import numpy as np
import pytest

from cflib.popularity import fit_popularity
from cflib.synthetic import make_synthetic


def test_counts_and_scores():
    data = make_synthetic(20, 15, 2, seed=3)
    pop = fit_popularity(data)
    expected = np.bincount(data.movies, minlength=data.n_movies)
    assert pop.counts.tolist() == expected.tolist()
    S = pop.predict_all(clip=False)
    assert S.shape == (20, 15)
    assert np.all(S == expected[:, None])
    assert pop.predict(np.array([0, 3]), np.array([1, 2])).tolist() == [expected[0], expected[3]]


def test_min_rating_counts_only_liked():
    data = make_synthetic(20, 15, 2, seed=3)
    pop = fit_popularity(data, min_rating=4)
    keep = data.ratings >= 4
    assert pop.counts.tolist() == np.bincount(data.movies[keep], minlength=20).tolist()
    assert pop.counts.sum() < data.nnz


def test_refuses_clipping_and_bad_input():
    pop = fit_popularity(make_synthetic(10, 8, 2, seed=1))
    with pytest.raises(ValueError, match="clip=False"):
        pop.predict_all(clip=True)
    with pytest.raises(ValueError, match="clip=False"):
        pop.predict(np.array([0]), np.array([0]), clip=True)
    with pytest.raises(TypeError, match="train must be"):
        fit_popularity(np.zeros(3))
    with pytest.raises(TypeError, match="min_rating"):
        fit_popularity(make_synthetic(10, 8, 2, seed=1), min_rating="4")
