r"""Measuring predictions: RMSE, MAE, and the ladder of baselines.

.. math::

    \mathrm{RMSE} = \sqrt{\frac1n \sum_{t=1}^{n} (\hat y_t - y_t)^2}, \qquad
    \mathrm{MAE} = \frac1n \sum_{t=1}^{n} |\hat y_t - y_t|

with the predictions :math:`\hat y_t` first clipped to the rating scale, 1..5 by
default (a prediction of 5.7 for a 5-star movie costs nothing: nobody can rate 5.7).
:func:`evaluate` clips to the model's own scale (0.5..5 for the half stars of
ml-latest-small). Pass ``clip=None`` to compare values that are not ratings
(e.g. normalized residuals).

The *baseline ladder* puts a model's test RMSE in context: the global mean,
each movie's mean, global mean + movie and user biases, then matrix
factorization. Each rung should beat the one below.
"""

from __future__ import annotations

import inspect

import numpy as np

from .baselines import fit_baseline
from .ratings import RATING_SCALE, check_scale, rating_scale

__all__ = ["rmse", "mae", "evaluate", "baseline_ladder"]


def _check_pair(predictions, actual, clip):
    try:
        p = np.asarray(predictions, dtype=np.float64)
        a = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"predictions and actual must be numeric arrays: {exc}") from None
    if p.shape != a.shape:
        raise ValueError(
            f"predictions has shape {p.shape} but actual has shape {a.shape}: they must match "
            "entry for entry (predict at the test coordinates, e.g. model.predict(test.movies, test.users))"
        )
    if p.size == 0:
        raise ValueError("predictions and actual are empty: an error needs at least one rating")
    for arr, name in ((p, "predictions"), (a, "actual")):
        if not np.all(np.isfinite(arr)):
            bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
            raise ValueError(f"{name} contains {bad} NaN or inf value(s); drop or fix them first")
    if clip is not None:
        lo, hi = check_scale(clip, "clip")
        if a.min() < lo or a.max() > hi:
            raise ValueError(
                f"actual holds ratings in {a.min():g}..{a.max():g}, outside clip=({lo:g}, {hi:g}): pass "
                "the data's scale, e.g. clip=test.scale ((0.5, 5) for half stars), or clip=None")
        p = np.clip(p, lo, hi)
    return p, a


def rmse(predictions, actual, *, clip=RATING_SCALE) -> float:
    """Root mean squared error.

    Parameters
    ----------
    predictions : array_like of shape (n,)
        Predicted ratings (any shape, equal to that of ``actual``).
    actual : array_like of shape (n,)
        True ratings.
    clip : (float, float) or None, default (1, 5)
        Clip the predictions to this range ``(lowest, highest)`` first (``test.scale``
        for a data set's own scale); None to leave them as they are.

    Returns
    -------
    float
        :math:`\\sqrt{\\mathrm{mean}((\\hat y - y)^2)}`.

    Raises
    ------
    ValueError
        On shapes that differ, empty input, NaN/inf values, a bad ``clip``, or
        ``actual`` ratings outside ``clip``.
    """
    p, a = _check_pair(predictions, actual, clip)
    d = (p - a).ravel()
    return float(np.sqrt(d @ d / d.size))


def mae(predictions, actual, *, clip=RATING_SCALE) -> float:
    """Mean absolute error, :math:`\\mathrm{mean}(|\\hat y - y|)`; arguments as :func:`rmse`."""
    p, a = _check_pair(predictions, actual, clip)
    return float(np.mean(np.abs(p - a)))


def evaluate(model, test) -> dict:
    """RMSE and MAE of a model on test ratings.

    Parameters
    ----------
    model : object with ``predict(movies, users)``
        An :class:`cflib.train.MFModel` or a :class:`cflib.baselines.BaselineModel`. When its
        ``predict`` takes ``timestamps`` (a factorization machine, :mod:`cflib.fm`) it is given
        ``test.timestamps``, so each test rating is predicted at its own date.
    test : Ratings
        Held-out ratings of the same shape (n_movies, n_users) as the training data.

    Returns
    -------
    dict
        ``{"rmse": float, "mae": float}`` (predictions clipped to the model's rating scale).

    Raises
    ------
    ValueError
        When ``test`` has another shape than the model, or no ratings, or the
        model's scores are not ratings (popularity counts, implicit preferences).
    """
    _check_rating_model(model, "model", "evaluate")
    if not hasattr(test, "movies") or not hasattr(test, "n_users"):
        raise TypeError(f"test must be a cflib.Ratings, got {type(test).__name__}")
    shape = (getattr(model, "n_movies", None), getattr(model, "n_users", None))
    if None not in shape and shape != (test.n_movies, test.n_users):
        raise ValueError(
            f"test has shape {(test.n_movies, test.n_users)} (n_movies, n_users) but the model was "
            f"trained on {shape}: evaluate on ratings split from the same data as the training set "
            "(e.g. load_split or Ratings.random_split)"
        )
    if test.nnz == 0:
        raise ValueError("test holds no ratings: nothing to evaluate on")
    pred = model.predict(test.movies, test.users, **_dates(model, test))
    scale = rating_scale(model)
    return {"rmse": rmse(pred, test.ratings, clip=scale), "mae": mae(pred, test.ratings, clip=scale)}


def _dates(model, test) -> dict:
    """``{"timestamps": test.timestamps}`` when the model's predict takes them (a factorization machine
    with the date group reads each test rating's date), else nothing."""
    if test.timestamps is None:
        return {}
    try:
        params = inspect.signature(model.predict).parameters
    except (TypeError, ValueError):  # a builtin or C callable: no keywords to offer
        return {}
    return {"timestamps": test.timestamps} if "timestamps" in params else {}


def _check_rating_model(model, name: str, caller: str):
    """Refuse a model without ``predict`` or whose scores are not ratings, naming what to use instead."""
    if not hasattr(model, "predict"):
        raise TypeError(f"{name} must have a predict(movies, users) method, got {type(model).__name__}")
    if rating_scale(model) is None:
        raise ValueError(
            f"{caller} measures the error of predicted ratings (RMSE, MAE), but {name} is a "
            f"{type(model).__name__}, whose scores are not ratings: judge it with "
            "cflib.ranking.ranking_metrics(model, train, test), or give a model from cflib.train.fit")


def baseline_ladder(train, test, fitted=None, **fit_kwargs) -> list:
    """Test RMSE of each rung: global mean, movie mean, biases, matrix factorization.

    Parameters
    ----------
    train, test : Ratings
    fitted : MFModel, optional
        A model trained on ``train``; if None, one is trained with
        ``cflib.train.fit(train, **fit_kwargs)`` (the tuned defaults when no
        keyword is given, so ``baseline_ladder(train, test, **BEST)`` works).

    Returns
    -------
    list of (str, float)
        ``[("global mean", r0), ("movie mean", r1), ("movie + user biases", r2),
        ("matrix factorization", r3)]``.
    """
    if fitted is not None:
        _check_rating_model(fitted, "fitted", "baseline_ladder")
    if fitted is None:
        from .train import fit  # local import: train builds on evaluate's neighbours
        fitted, _ = fit(train, **fit_kwargs)
    elif fit_kwargs:
        raise TypeError("give either a trained model or fit keywords, not both")
    out = []
    for name, baseline in (("global mean", "global"), ("movie mean", "movie"), ("movie + user biases", "biases")):
        out.append((name, evaluate(fit_baseline(train, baseline), test)["rmse"]))
    out.append(("matrix factorization", evaluate(fitted, test)["rmse"]))
    return out
