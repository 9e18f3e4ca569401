r"""A bridge to Apache Spark MLlib's ALS: a local session, Ratings -> DataFrame, model -> X, Theta.

Spark is optional (``pip install "cflib[spark]"``) and needs Java 17 or newer.
Nothing here is imported by the rest of cflib.

* :func:`start_session`, :func:`stop_session`, :func:`local_session` and the
  errors :class:`SparkSessionError`, :class:`SparkJVMError` live in
  :mod:`cflib.spark_session` (the session's life and its errors) and are
  importable from here.
* :func:`to_spark` turns a :class:`cflib.Ratings` into a DataFrame with
  columns ``user``, ``item``, ``rating``; the ids are cflib's 0-based indices
  (``user = users[t]``, ``item = movies[t]``), so nothing needs re-mapping.
* :func:`fit_spark_als` trains ``pyspark.ml.recommendation.ALS``;
  :func:`from_spark` reads its factors back as X (n_movies, k) and Theta
  (n_users, k) aligned to cflib's indices, inside an :class:`cflib.train.MFModel`
  (``kind="plain"``: prediction ``X @ Theta.T``), so that
  :func:`cflib.evaluate.evaluate` scores Spark's model exactly as cflib's.
* :func:`drop_cold_start` keeps the test pairs whose movie and user both have
  training ratings: the pairs Spark scores with ``coldStartStrategy="drop"``.

After :func:`stop_session`, :func:`to_spark`, :func:`fit_spark_als` and
:func:`from_spark` raise :class:`SparkSessionError` saying the session is
stopped; an error raised in the JVM reaches Python as :class:`SparkJVMError`
with the Java exception's message.
"""

from __future__ import annotations

import warnings

import numpy as np

from .spark_session import (SESSION_CONF, SparkJVMError, SparkSessionError, SparkUnavailableError, check_running,
                            jvm_errors, local_session, require_spark, start_session, stop_session)
from .arguments import check_int, check_scalar
from .train import MFModel

__all__ = ["SparkUnavailableError", "SparkSessionError", "SparkJVMError", "require_spark", "start_session",
           "stop_session", "local_session", "to_spark", "fit_spark_als", "from_spark", "drop_cold_start",
           "SESSION_CONF"]


def _check_java_int(x, name: str, *, min_val: int | None = None, bits: int = 32) -> int:
    """``check_int``, and within a Java int (``bits=32``) or long (``bits=64``), which Spark stores it in."""
    value = check_int(x, name, min_val=min_val)
    low, top = -2 ** (bits - 1) if min_val is None else min_val, 2 ** (bits - 1) - 1
    if not low <= value <= top:
        raise ValueError(f"{name} must be an integer from {low} to {top} (Spark keeps it in a Java "
                         f"{'long' if bits == 64 else 'int'}), got {value}")
    return value


def to_spark(spark, ratings, *, num_partitions: int | None = None):
    """The ratings as a Spark DataFrame ``(user: int, item: int, rating: float)``, cached.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    ratings : Ratings
        ``user`` is ``ratings.users`` and ``item`` is ``ratings.movies``: cflib's
        0-based indices are Spark's ids.
    num_partitions : int, optional
        Default: the session's default parallelism.

    Returns
    -------
    pyspark.sql.DataFrame
        ``ratings.nnz`` rows.
    """
    if not hasattr(ratings, "movies") or not hasattr(ratings, "ratings"):
        raise TypeError(f"ratings must be a cflib.Ratings, got {type(ratings).__name__}")
    if not hasattr(spark, "createDataFrame") or not hasattr(spark, "sparkContext"):
        raise TypeError(f"spark must be a SparkSession (from cflib.spark.start_session()), got {type(spark).__name__}")
    check_running(spark, "spark, the session,")
    from pyspark.sql.types import FloatType, IntegerType, StructField, StructType

    n = spark.sparkContext.defaultParallelism if num_partitions is None else num_partitions
    n = _check_java_int(n, "num_partitions", min_val=1)
    schema = StructType([StructField("user", IntegerType(), False), StructField("item", IntegerType(), False),
                         StructField("rating", FloatType(), False)])
    rows = list(zip(ratings.users.tolist(), ratings.movies.tolist(), ratings.ratings.tolist()))
    with warnings.catch_warnings():  # pyspark 4.3 warns about pandas 3, which this path does not use
        warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*", category=FutureWarning)
        # The schema is right by construction: skip the per-row type check (a third of the time).
        with jvm_errors("to_spark"):
            return spark.createDataFrame(rows, schema, verifySchema=False).repartition(n).cache()


def _check_columns(df) -> None:
    """user and item: integer columns (cflib's 0-based indices); rating: numeric."""
    from pyspark.sql.types import IntegralType, NumericType

    types = {field.name: field.dataType for field in df.schema.fields}
    for column in ("user", "item"):
        if not isinstance(types[column], IntegralType):
            raise TypeError(
                f"df's column {column!r} has type {types[column].simpleString()}, but Spark's ALS needs integer "
                "ids, and from_spark reads them back as cflib's 0-based indices: build df with "
                "cflib.spark.to_spark(spark, ratings) (string ids such as raw MovieLens ids or names must first "
                "become a cflib.Ratings, whose indices are 0..n-1)")
    if not isinstance(types["rating"], NumericType):
        raise TypeError(f"df's column 'rating' has type {types['rating'].simpleString()}, expected a number "
                        "(build df with cflib.spark.to_spark)")


def fit_spark_als(df, *, k: int = 10, reg_param: float = 0.15, n_iters: int = 20, seed: int = 0,
                  blocks: int = 2):
    """Train ``pyspark.ml.recommendation.ALS`` (explicit ratings) on a DataFrame from :func:`to_spark`.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Integer columns ``user`` and ``item`` (cflib's 0-based indices) and a
        numeric ``rating``; string or fractional id columns are refused.
    k : int, default 10
        ``rank``.
    reg_param : float, default 0.15
        ``regParam``: row r is penalized by ``reg_param * n_r`` (:mod:`cflib.als_wr`).
    n_iters : int, default 20
        ``maxIter``.
    seed : int, default 0
        Spark's seed is a Java long: an integer in -2**63 .. 2**63 - 1.
    blocks : int, default 2
        ``numUserBlocks`` and ``numItemBlocks``. Set them to the number of
        cores: the default 10 makes small fits about 3 times slower.

    Returns
    -------
    pyspark.ml.recommendation.ALSModel
        With ``coldStartStrategy="drop"``: ``transform`` drops pairs it cannot score.

    Raises
    ------
    SparkSessionError
        ``df``'s session is stopped.
    SparkJVMError
        The fit failed in the JVM (the message is the Java exception's).
    """
    if not {"user", "item", "rating"} <= set(getattr(df, "columns", ())) or not hasattr(df, "sparkSession"):
        raise TypeError(f"df must be a Spark DataFrame with columns user, item, rating (from "
                        f"cflib.spark.to_spark), got {type(df).__name__}")
    params = dict(rank=_check_java_int(k, "k", min_val=1), maxIter=_check_java_int(n_iters, "n_iters", min_val=1),
                  regParam=check_scalar(reg_param, "reg_param", min_val=0.0),
                  seed=_check_java_int(seed, "seed", bits=64),
                  numUserBlocks=_check_java_int(blocks, "blocks", min_val=1))
    check_running(df.sparkSession, "df's session")
    _check_columns(df)
    from pyspark.ml.recommendation import ALS

    als = ALS(**params, numItemBlocks=params["numUserBlocks"], userCol="user", itemCol="item", ratingCol="rating",
              coldStartStrategy="drop")
    with jvm_errors("Spark's ALS fit"):
        return als.fit(df)


def _check_ratings(data, name):
    if not all(hasattr(data, a) for a in ("movies", "users", "n_movies", "n_users", "subset")):
        raise TypeError(f"{name} must be a cflib.Ratings, got {type(data).__name__}")


def _factors(frame, n: int, k: int, what: str) -> tuple:
    F = np.zeros((n, k))
    known = np.zeros(n, dtype=bool)
    with jvm_errors(f"reading Spark's {what} factors"):
        rows = frame.collect()
    for row in rows:
        if not 0 <= row.id < n:
            raise ValueError(f"Spark's {what} id {row.id} is outside 0..{n - 1}: was the model trained on "
                             "to_spark(...) of Ratings with this many rows?")
        F[row.id] = row.features
        known[row.id] = True
    return F, known


def _trained_reg_param(als_model):
    """The ``regParam`` of the estimator that trained ``als_model`` (Spark keeps it as the model's parent), or None."""
    try:
        parent = als_model._java_obj.parent()
        return None if parent is None else float(parent.getRegParam())
    except Exception:  # a model loaded from disk has no parent; a Python-only stand-in has no JVM side
        return None


def from_spark(als_model, train, *, reg_param: float | None = None) -> MFModel:
    """Spark's factors as a cflib model on the same 0-based indices.

    Parameters
    ----------
    als_model : pyspark.ml.recommendation.ALSModel
        Trained on ``to_spark(spark, train)``, in the session still running.
    train : Ratings
        The training ratings (gives n_movies, n_users and the counts).
    reg_param : float, optional
        The ``regParam`` it was trained with, kept as the model's ``lam``.
        Default: the one Spark recorded for this model (the ``regParam`` of the
        ``ALS`` estimator that fit it, which :func:`fit_spark_als` sets). A model
        without that record (loaded from disk) needs it given; a value that
        disagrees with the record is refused.

    Returns
    -------
    MFModel
        ``X`` (n_movies, k) from ``itemFactors``, ``Theta`` (n_users, k) from
        ``userFactors`` (float32 in Spark, float64 here); rows Spark never saw
        are 0. ``kind="plain"``, ``mu`` and biases 0, ``lam`` = ``regParam``.

    Raises
    ------
    SparkSessionError
        The session is stopped: the factors lived in it.
    """
    # On the class: on the instance these properties call the JVM, which fails once the session is stopped.
    if not all(hasattr(type(als_model), a) for a in ("rank", "itemFactors", "userFactors")):
        raise TypeError(f"als_model must be a trained pyspark ALSModel (from fit_spark_als), "
                        f"got {type(als_model).__name__}")
    _check_ratings(train, "train")
    from pyspark import SparkContext

    check_running(SparkContext._active_spark_context, "the session als_model was trained in")
    gateway = getattr(getattr(als_model, "_java_obj", None), "_gateway_client", None)
    if gateway is not None and gateway is not SparkContext._gateway._gateway_client:
        raise SparkSessionError("the session als_model was trained in is stopped (a new one runs now): its "
                                "factors went with it; train it again with fit_spark_als in this session")
    recorded = _trained_reg_param(als_model)
    if reg_param is None and recorded is None:
        raise ValueError("reg_param is needed: this ALSModel does not record the regParam it was trained with "
                         "(a model loaded from disk has no parent estimator); pass from_spark(..., reg_param=...)")
    reg = recorded if reg_param is None else check_scalar(reg_param, "reg_param", min_val=0.0)
    if recorded is not None and not np.isclose(reg, recorded, rtol=1e-12, atol=0):
        raise ValueError(f"reg_param={reg_param!r} but Spark recorded regParam {recorded!r} for this model: "
                         "leave reg_param out to use the recorded one")
    with jvm_errors("reading Spark's rank"):
        k = int(als_model.rank)
    X, _ = _factors(als_model.itemFactors, train.n_movies, k, "item")
    Theta, _ = _factors(als_model.userFactors, train.n_users, k, "user")
    return MFModel(X=X, Theta=Theta, mu=0.0, movie_bias=np.zeros(train.n_movies),
                   user_bias=np.zeros(train.n_users), kind="plain", lam=reg, lam_bias=0.0,
                   movie_counts=np.bincount(train.movies, minlength=train.n_movies),
                   user_counts=np.bincount(train.users, minlength=train.n_users),
                   params=dict(method="spark_als", k=k, reg_param=reg), train=train)


def drop_cold_start(test, train):
    """The test ratings whose movie and user both have training ratings (Spark's ``"drop"``).

    Parameters
    ----------
    test, train : Ratings
        Of the same shape.

    Returns
    -------
    Ratings
        ``test.subset(mask)``; ``test.nnz - result.nnz`` pairs were dropped.
    """
    _check_ratings(test, "test")
    _check_ratings(train, "train")
    if (test.n_movies, test.n_users) != (train.n_movies, train.n_users):
        raise ValueError(f"test has shape {(test.n_movies, test.n_users)} but train has "
                         f"{(train.n_movies, train.n_users)}: both must come from one split")
    seen_m = np.bincount(train.movies, minlength=train.n_movies) > 0
    seen_u = np.bincount(train.users, minlength=train.n_users) > 0
    return test.subset(seen_m[test.movies] & seen_u[test.users])
