r"""A bridge to Apache Spark MLlib's ALS: a local session, Ratings -> DataFrame, model -> X, Theta.

Spark is optional (``pip install "cflib[spark]"``) and needs Java 17 or newer.
Nothing here is imported by the rest of cflib.

* :func:`start_session` builds a local session that works offline, with the
  settings this course verified (each one is explained in its docstring);
  :func:`stop_session` stops it and removes its checkpoint directory.
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
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
from contextlib import contextmanager

import numpy as np

from .train import MFModel
from .validation import check_int, check_scalar

__all__ = ["SparkUnavailableError", "require_spark", "start_session", "stop_session", "local_session",
           "to_spark", "fit_spark_als", "from_spark", "drop_cold_start", "SESSION_CONF"]

#: The session settings, and what each is for (``start_session`` adds the
#: master ``local[cores]`` and the two parallelism figures equal to ``cores``).
SESSION_CONF = {
    # Listen and advertise on the loopback interface only: no network lookup of
    # the host name, works offline and behind firewalls.
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    # No web UI (a server on port 4040) and no console progress bars (they
    # would be printed into notebook outputs).
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
_CHECKPOINTS: dict = {}  # id(session) -> (checkpoint dir, JVM log path)


class SparkUnavailableError(RuntimeError):
    """pyspark or Java is missing; the message says what to install."""


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def require_spark() -> None:
    """Raise :class:`SparkUnavailableError` unless Java and pyspark are both present.

    Java is checked first: without it pyspark only says ``JAVA_GATEWAY_EXITED``.
    """
    if _java() is None:
        raise SparkUnavailableError(
            "Spark needs Java 17 or newer and no `java` was found (neither on PATH nor in $JAVA_HOME/bin). "
            "Install it: Debian/Ubuntu `sudo apt-get install default-jre-headless`, "
            "conda `conda install -c conda-forge openjdk`, macOS `brew install openjdk@17`.")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailableError(
            "pyspark is not installed: `pip install \"cflib[spark]\"` (or `pip install \"pyspark>=4,<5\"`); "
            "it also needs Java 17+") from None


def start_session(*, cores: int = 2, driver_memory: str = "1g", app_name: str = "cflib"):
    """A local SparkSession that works offline, with a checkpoint directory.

    Settings (see ``SESSION_CONF`` for the host and UI ones):

    * ``SPARK_LOCAL_IP=127.0.0.1`` and ``PYSPARK_PYTHON=sys.executable`` in the
      environment: bind to loopback, and run Python workers with this
      interpreter (the one that has cflib and numpy);
    * ``master("local[cores]")``: driver and executor in one JVM, ``cores`` threads;
    * ``spark.sql.shuffle.partitions`` and ``spark.default.parallelism`` =
      ``cores``: one task per core instead of the default 200 shuffle partitions,
      which on small data costs more in scheduling than it computes;
    * ``spark.driver.memory``: the JVM heap;
    * log level ERROR, and a temporary checkpoint directory: ALS checkpoints its
      factors every 10 iterations to cut the lineage; without one, 20
      iterations end in ``StackOverflowError``. :func:`stop_session` removes it
      (Spark does not).

    The JVM's own stderr (start-up warnings, BLAS notices) goes to a log file
    in that directory, not to the notebook.

    Returns
    -------
    pyspark.sql.SparkSession
    """
    require_spark()
    cores = check_int(cores, "cores", min_val=1)
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    tmp = tempfile.mkdtemp(prefix="cflib-spark-")
    log_path = os.path.join(tmp, "jvm-stderr.log")
    builder = SparkSession.builder.master(f"local[{cores}]").appName(app_name)
    for key, value in {**SESSION_CONF, "spark.sql.shuffle.partitions": str(cores),
                       "spark.default.parallelism": str(cores), "spark.driver.memory": driver_memory}.items():
        builder = builder.config(key, value)
    # The JVM inherits file descriptor 2 when it starts: point it at the log meanwhile.
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(log_path, "ab") as log:
            os.dup2(log.fileno(), 2)
            with warnings.catch_warnings():  # pyspark 4.3 warns about pandas 3, which cflib does not use
                warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*", category=FutureWarning)
                spark = builder.getOrCreate()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    spark.sparkContext.setLogLevel("ERROR")
    checkpoints = os.path.join(tmp, "checkpoints")
    spark.sparkContext.setCheckpointDir(checkpoints)
    _CHECKPOINTS[id(spark)] = tmp
    return spark


def stop_session(spark) -> None:
    """Stop the session and remove the temporary folder made by :func:`start_session`."""
    spark.stop()
    tmp = _CHECKPOINTS.pop(id(spark), None)
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def local_session(**kwargs):
    """``with local_session() as spark: ...``: :func:`start_session`, then :func:`stop_session`."""
    spark = start_session(**kwargs)
    try:
        yield spark
    finally:
        stop_session(spark)


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
    from pyspark.sql.types import FloatType, IntegerType, StructField, StructType

    n = spark.sparkContext.defaultParallelism if num_partitions is None else num_partitions
    n = check_int(n, "num_partitions", min_val=1)
    schema = StructType([StructField("user", IntegerType(), False), StructField("item", IntegerType(), False),
                         StructField("rating", FloatType(), False)])
    rows = list(zip(ratings.users.tolist(), ratings.movies.tolist(), ratings.ratings.tolist()))
    with warnings.catch_warnings():  # pyspark 4.3 warns about pandas 3, which this path does not use
        warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*", category=FutureWarning)
        # The schema is right by construction: skip the per-row type check (a third of the time).
        return spark.createDataFrame(rows, schema, verifySchema=False).repartition(n).cache()


def fit_spark_als(df, *, k: int = 10, reg_param: float = 0.15, n_iters: int = 20, seed: int = 0,
                  blocks: int = 2):
    """Train ``pyspark.ml.recommendation.ALS`` (explicit ratings) on a DataFrame from :func:`to_spark`.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
    k : int, default 10
        ``rank``.
    reg_param : float, default 0.15
        ``regParam``: row r is penalized by ``reg_param * n_r`` (:mod:`cflib.als_wr`).
    n_iters : int, default 20
        ``maxIter``.
    seed : int, default 0
    blocks : int, default 2
        ``numUserBlocks`` and ``numItemBlocks``. Set them to the number of
        cores: the default 10 makes small fits about 3 times slower.

    Returns
    -------
    pyspark.ml.recommendation.ALSModel
        With ``coldStartStrategy="drop"``: ``transform`` drops pairs it cannot score.
    """
    if not {"user", "item", "rating"} <= set(getattr(df, "columns", ())):
        raise TypeError(f"df must be a Spark DataFrame with columns user, item, rating (from "
                        f"cflib.spark.to_spark), got {type(df).__name__}")
    from pyspark.ml.recommendation import ALS

    als = ALS(rank=check_int(k, "k", min_val=1), maxIter=check_int(n_iters, "n_iters", min_val=1),
              regParam=check_scalar(reg_param, "reg_param", min_val=0.0), seed=check_int(seed, "seed"),
              numUserBlocks=check_int(blocks, "blocks", min_val=1), numItemBlocks=blocks,
              userCol="user", itemCol="item", ratingCol="rating", coldStartStrategy="drop")
    return als.fit(df)


def _check_ratings(data, name):
    if not all(hasattr(data, a) for a in ("movies", "users", "n_movies", "n_users", "subset")):
        raise TypeError(f"{name} must be a cflib.Ratings, got {type(data).__name__}")


def _factors(frame, n: int, k: int, what: str) -> tuple:
    F = np.zeros((n, k))
    known = np.zeros(n, dtype=bool)
    for row in frame.collect():
        if not 0 <= row.id < n:
            raise ValueError(f"Spark's {what} id {row.id} is outside 0..{n - 1}: was the model trained on "
                             "to_spark(...) of Ratings with this many rows?")
        F[row.id] = row.features
        known[row.id] = True
    return F, known


def from_spark(als_model, train, *, reg_param: float | None = None) -> MFModel:
    """Spark's factors as a cflib model on the same 0-based indices.

    Parameters
    ----------
    als_model : pyspark.ml.recommendation.ALSModel
        Trained on ``to_spark(spark, train)``.
    train : Ratings
        The training ratings (gives n_movies, n_users and the counts).
    reg_param : float, optional
        The ``regParam`` it was trained with, kept as the model's ``lam``
        (an ``ALSModel`` does not keep it); NaN when not given.

    Returns
    -------
    MFModel
        ``X`` (n_movies, k) from ``itemFactors``, ``Theta`` (n_users, k) from
        ``userFactors`` (float32 in Spark, float64 here); rows Spark never saw
        are 0. ``kind="plain"``, ``mu`` and biases 0, ``lam`` = ``regParam``.
    """
    if not all(hasattr(als_model, a) for a in ("rank", "itemFactors", "userFactors")):
        raise TypeError(f"als_model must be a trained pyspark ALSModel (from fit_spark_als), "
                        f"got {type(als_model).__name__}")
    _check_ratings(train, "train")
    k = int(als_model.rank)
    X, _ = _factors(als_model.itemFactors, train.n_movies, k, "item")
    Theta, _ = _factors(als_model.userFactors, train.n_users, k, "user")
    reg = float("nan") if reg_param is None else check_scalar(reg_param, "reg_param", min_val=0.0)
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
