"""cflib.spark: the local session, the Ratings <-> Spark bridge, and Spark's objective reproduced by cflib.

The tests marked ``spark`` share one session and one ALS fit on u1 (maxIter 5).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cflib
from cflib import spark as cspark
from cflib import spark_session
from cflib.als import RowSystems
from cflib.als_wr import row_penalty
from cflib.evaluate import evaluate

K, REG, ITERS = 10, 0.15, 5


@pytest.fixture(scope="module")
def u1(movielens):
    return cflib.load_split("u1", download=False)


@pytest.fixture(scope="module")
def fitted(spark, u1):
    train, test = u1
    df = cspark.to_spark(spark, train)
    als_model = cspark.fit_spark_als(df, k=K, reg_param=REG, n_iters=ITERS, seed=0, blocks=2)
    return df, als_model, cspark.from_spark(als_model, train, reg_param=REG)


def test_require_spark_names_java_first(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(cspark.SparkUnavailableError, match="Java 17.*default-jre-headless.*openjdk"):
        cspark.require_spark()


def test_stop_session_removes_its_folder(tmp_path):
    class Context:
        _jsc = "running"

    class Fake:
        sparkContext = Context()
        stopped = False

        def stop(self):
            self.stopped = True
            self.sparkContext._jsc = None

    fake, folder = Fake(), tmp_path / "cflib-spark-x"
    (folder / "checkpoints").mkdir(parents=True)
    spark_session._STARTED[id(fake)] = (fake, str(folder), {})
    cspark.stop_session(fake)
    assert fake.stopped and not folder.exists() and id(fake) not in spark_session._STARTED
    cspark.stop_session(fake)  # a second stop is harmless
    with pytest.raises(TypeError, match="spark must be a SparkSession"):
        cspark.stop_session("spark")


def _spark_or_skip():
    try:
        cspark.require_spark()
    except cspark.SparkUnavailableError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Spark not available: {exc}")


@pytest.mark.spark
@pytest.mark.parametrize("memory", ["1 GB", "lots", "1024", "0g", 1024])
def test_start_session_names_a_wrong_driver_memory(memory):
    _spark_or_skip()
    with pytest.raises(ValueError, match="driver_memory must be a size with a unit"):
        cspark.start_session(driver_memory=memory)


def test_java_message_is_read_from_a_py4j_error_without_a_java_object():
    Py4JError = pytest.importorskip("py4j.protocol").Py4JError  # pyspark's bridge (the spark extra)

    exc = Py4JError('An error occurred while calling o197.w. Trace:\njava.lang.NumberFormatException: '
                    'For input string: "9223372036854775808"\n\tat java.base/java.lang.Long.parseLong(Long.java:715)')
    with pytest.raises(cspark.SparkJVMError) as info:
        with cspark.jvm_errors("setting the seed"):
            raise exc
    assert str(info.value) == ("setting the seed failed in Spark's JVM: java.lang.NumberFormatException: "
                               'For input string: "9223372036854775808"')
    assert info.value.__cause__ is exc


def test_jvm_that_does_not_start_is_quoted(tmp_path):
    """pyspark says only JAVA_GATEWAY_EXITED; the error must say what the JVM said (it went to the log file)."""
    pytest.importorskip("pyspark")
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text('#!/bin/sh\necho "Error: this java refuses to start (a test stand-in)" >&2\nexit 1\n')
    java.chmod(0o755)
    (tmp_path / "tmp").mkdir()
    code = ("from cflib import spark\ntry:\n    spark.start_session()\nexcept spark.SparkJVMError as exc:\n"
            "    print(exc)\n")
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "jdk"), "TMPDIR": str(tmp_path / "tmp")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert "Spark's JVM did not start" in out.stdout and "this java refuses to start" in out.stdout, out
    assert list((tmp_path / "tmp").iterdir()) == []  # its folder removed


def test_drop_cold_start_keeps_pairs_seen_in_training():
    data = cflib.make_synthetic(20, 15, 2, density=0.4, seed=5)
    train = data.subset((data.movies != 4) & (data.users != 7))
    test = data.subset((data.movies == 4) | (data.users == 7) | (data.movies == 0))
    kept = cspark.drop_cold_start(test, train)
    assert kept.nnz == int(np.sum((test.movies != 4) & (test.users != 7))) > 0
    assert not np.any(kept.movies == 4) and not np.any(kept.users == 7)
    with pytest.raises(ValueError, match="shape"):
        cspark.drop_cold_start(cflib.make_synthetic(5, 5, 2, seed=0), train)


@pytest.mark.spark
def test_session_settings(spark):
    conf = spark.sparkContext.getConf()
    assert spark.sparkContext.master == "local[2]"
    assert conf.get("spark.sql.shuffle.partitions") == "2"
    assert conf.get("spark.ui.enabled") == "false"
    assert conf.get("spark.cleaner.referenceTracking.cleanCheckpoints") == "true"
    _, folder, _ = spark_session._STARTED[id(spark)]
    assert os.path.isdir(folder) and spark.sparkContext.getCheckpointDir().startswith("file:" + folder)


@pytest.mark.spark
def test_to_spark_round_trip(fitted, u1):
    train, _ = u1
    df = fitted[0]
    assert df.columns == ["user", "item", "rating"] and df.rdd.getNumPartitions() == 2
    rows = np.array(df.orderBy("user", "item").collect(), dtype=float)
    order = np.lexsort((train.movies, train.users))
    np.testing.assert_array_equal(rows[:, 0], train.users[order])
    np.testing.assert_array_equal(rows[:, 1], train.movies[order])
    np.testing.assert_array_equal(rows[:, 2], train.ratings[order])


@pytest.mark.spark
def test_bridged_model_scores_the_pairs_spark_scores(spark, fitted, u1):
    train, test = u1
    _, als_model, model = fitted
    assert model.X.shape == (train.n_movies, K) and model.Theta.shape == (train.n_users, K)
    kept = cspark.drop_cold_start(test, train)
    assert 0 < test.nnz - kept.nnz < 100  # a few unseen movies in u1.test
    pred = als_model.transform(cspark.to_spark(spark, test)).orderBy("user", "item").collect()
    assert len(pred) == kept.nnz
    spark_pred = np.array([r.prediction for r in pred])
    order = np.lexsort((kept.movies, kept.users))
    ours = model.predict(kept.movies[order], kept.users[order], clip=False)
    np.testing.assert_allclose(ours, spark_pred, rtol=0, atol=1e-5)  # Spark computes in float32
    clipped = np.clip(spark_pred, 1, 5)
    spark_rmse = float(np.sqrt(np.mean((clipped - kept.ratings[order]) ** 2)))
    assert evaluate(model, kept)["rmse"] == pytest.approx(spark_rmse, abs=1e-6)
    assert 0.90 < spark_rmse < 1.0


@pytest.mark.spark
def test_spark_user_factors_are_one_cflib_row_solve(fitted, u1):
    """Theta_spark = argmin with penalty regParam * n_j (the user's rating count) from Spark's item factors."""
    train, _ = u1
    model = fitted[2]
    users = RowSystems(train.users, train.movies, train.n_users, train.n_movies)
    Theta = users.solve(model.X, train.ratings, row_penalty(train.users, train.n_users, REG, K))
    rel = np.linalg.norm(Theta - model.Theta) / np.linalg.norm(model.Theta)
    assert rel < 1e-5
    # cflib's single lam (any constant) does not reproduce it.
    flat = users.solve(model.X, train.ratings, REG * train.nnz / train.n_users)
    assert np.linalg.norm(flat - model.Theta) / np.linalg.norm(model.Theta) > 100 * rel


# ------------------------------------------- adversarial inputs (issue 12), no session needed
def test_bridge_functions_name_a_wrong_argument():
    from cflib.spark import drop_cold_start, fit_spark_als, from_spark, to_spark

    data = cflib.make_synthetic(10, 8, 2, density=0.5, seed=0)
    with pytest.raises(TypeError, match="spark must be a SparkSession"):
        to_spark(None, data)
    with pytest.raises(TypeError, match="df must be a Spark DataFrame"):
        fit_spark_als(data)
    with pytest.raises(TypeError, match="als_model must be a trained pyspark ALSModel"):
        from_spark(None, data)
    with pytest.raises(TypeError, match="test must be a cflib.Ratings"):
        drop_cold_start("test", data)
    with pytest.raises(TypeError, match="train must be a cflib.Ratings"):
        drop_cold_start(data, None)


# ------------------------------------------- trust round three (issue 19)
@pytest.fixture(scope="module")
def small(spark):
    data = cflib.make_synthetic(30, 20, 2, density=0.5, seed=0)
    return data, cspark.to_spark(spark, data)


@pytest.mark.spark
def test_second_start_same_settings_returns_it_other_settings_are_refused(spark):
    running = dict(spark_session._STARTED)
    assert cspark.start_session(cores=2, driver_memory="1g", app_name="cflib-tests") is spark
    with pytest.raises(cspark.SparkSessionError,
                       match=r"already running \(cores=2, driver_memory='1g', app_name='cflib-tests'\).*"
                             r"another with cores=1.*stop_session\(spark\).*restart=True"):
        cspark.start_session(cores=1, driver_memory="1g", app_name="cflib-tests")
    assert spark_session._STARTED == running and spark.sparkContext.master == "local[2]"  # no new folder


@pytest.mark.spark
@pytest.mark.parametrize("seed, error, message", [
    (2 ** 63, ValueError, "seed must be an integer from -9223372036854775808 to 9223372036854775807 "
                          r"\(Spark keeps it in a Java long\), got 9223372036854775808"),
    (-2 ** 63 - 1, ValueError, "seed must be an integer from -9223372036854775808"),
    (1.5, TypeError, "seed must be an integer, got float 1.5"),
    ("0", TypeError, "seed must be an integer, got str '0'"),
    (True, TypeError, "seed must be an integer, got bool"),
])
def test_seed_must_be_an_integer_in_a_java_long(small, seed, error, message):
    with pytest.raises(error, match=message):
        cspark.fit_spark_als(small[1], k=2, n_iters=1, seed=seed)


@pytest.mark.spark
def test_seed_takes_the_whole_java_long_range(small):
    for seed in (2 ** 63 - 1, np.int64(-2 ** 63)):
        assert cspark.fit_spark_als(small[1], k=2, n_iters=1, seed=seed).rank == 2


@pytest.mark.spark
@pytest.mark.parametrize("column, cast, kind", [("user", "string", "string"), ("item", "string", "string"),
                                                ("user", "double", "double"), ("rating", "string", "string")])
def test_string_or_fractional_columns_are_refused(small, column, cast, kind):
    df = small[1].withColumn(column, small[1][column].cast(cast))
    with pytest.raises(TypeError, match=f"df's column '{column}' has type {kind}.*to_spark"):
        cspark.fit_spark_als(df, k=2, n_iters=1)


@pytest.mark.spark
def test_long_id_columns_give_the_same_model(small):
    data, df = small
    wide = df.withColumn("user", df["user"].cast("long")).withColumn("item", df["item"].cast("long"))
    a = cspark.from_spark(cspark.fit_spark_als(df, k=2, n_iters=3, seed=1), data)
    b = cspark.from_spark(cspark.fit_spark_als(wide, k=2, n_iters=3, seed=1), data)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.Theta, b.Theta)


@pytest.mark.spark
def test_from_spark_reg_param_defaults_to_the_one_spark_recorded(fitted, u1, tmp_path):
    from pyspark.ml.recommendation import ALSModel

    train, _ = u1
    _, als_model, model = fitted
    default = cspark.from_spark(als_model, train)
    assert default.lam == REG == model.lam and default.params["reg_param"] == REG
    with pytest.raises(ValueError, match="reg_param=0.2 but Spark recorded regParam 0.15"):
        cspark.from_spark(als_model, train, reg_param=0.2)
    als_model.write().save(str(tmp_path / "als"))
    loaded = ALSModel.load(str(tmp_path / "als"))  # a model read from disk has no parent estimator
    with pytest.raises(ValueError, match=r"reg_param is needed.*from_spark\(\.\.\., reg_param=\.\.\.\)"):
        cspark.from_spark(loaded, train)
    again = cspark.from_spark(loaded, train, reg_param=REG)
    np.testing.assert_array_equal(again.X, model.X)
    assert again.lam == REG


@pytest.mark.spark
def test_a_jvm_error_in_a_bridge_function_carries_the_java_message(small, monkeypatch):
    """An exception pyspark does not translate reaches Python as SparkJVMError with the Java class and message."""
    from py4j.protocol import Py4JJavaError
    from pyspark.ml.recommendation import ALS

    def fit_that_fails_in_the_jvm(self, df):
        return df.sparkSession._jvm.java.lang.Class.forName("cflib.NoSuchClass")

    monkeypatch.setattr(ALS, "fit", fit_that_fails_in_the_jvm)
    with pytest.raises(cspark.SparkJVMError) as info:
        cspark.fit_spark_als(small[1], k=2, n_iters=1)
    assert str(info.value) == ("Spark's ALS fit failed in Spark's JVM: "
                               "java.lang.ClassNotFoundException: cflib.NoSuchClass")
    assert isinstance(info.value.__cause__, Py4JJavaError)


@pytest.mark.spark
def test_from_spark_without_a_running_session_says_so(fitted, u1, monkeypatch):
    from pyspark import SparkContext

    monkeypatch.setattr(SparkContext, "_active_spark_context", None)  # as after stop_session
    with pytest.raises(cspark.SparkSessionError, match="the session als_model was trained in is stopped"):
        cspark.from_spark(fitted[1], u1[0])


# A whole session life (failed start, refusal, restart, stop, exit) runs in a process of its own:
# this process already holds the `spark` fixture's session, and Spark runs one per process.
@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory):
    _spark_or_skip()
    tmp = tmp_path_factory.mktemp("spark-tmp")
    script = Path(__file__).with_name("spark_lifecycle.py")
    out = subprocess.run([sys.executable, str(script)], env={**os.environ, "TMPDIR": str(tmp)},
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), sorted(p.name for p in tmp.glob("cflib-spark-*"))


@pytest.mark.spark
def test_jvm_refusal_reaches_the_error_and_leaves_nothing(lifecycle):
    report, _ = lifecycle
    kind, message = report["small_heap"]
    assert kind == "SparkJVMError"
    assert message.startswith("starting a local session (cores=2, driver_memory='100m', app_name='cflib') failed "
                              "in Spark's JVM: org.apache.spark.SparkIllegalArgumentException:")
    assert "Insufficient driver memory" in message and "\tat " not in message
    assert report["folders_after_failed_start"] == []
    assert report["heap_mib"] == pytest.approx(1024, rel=0.05)  # the next session got a JVM of its own


@pytest.mark.spark
def test_a_second_start_is_refused_or_restarts_and_says_which(lifecycle):
    report, _ = lifecycle
    assert report["same_settings"] is True
    kind, message = report["other_settings"]
    assert kind == "SparkSessionError" and "already running (cores=2" in message and "restart=True" in message
    assert report["folders_after_refusal"] is True
    assert len(report["restart_warnings"]) == 1
    assert report["restart_warnings"][0].startswith("start_session(restart=True) stopped the running Spark session "
                                                    "(cores=2, driver_memory='1g', app_name='cflib') and starts "
                                                    "a new one (cores=1,")
    assert report["restart_master"] == "local[1]"


@pytest.mark.spark
def test_checkpoint_folders_are_removed(lifecycle):
    report, left = lifecycle
    assert report["checkpointed"] is True  # ALS wrote checkpoints (iteration 10 of 11)
    assert report["first_folder_removed"] is True  # by stop_session (through restart=True)
    assert len(report["unstopped_folder"]) == 1  # a session never stopped ...
    assert left == []  # ... has its folder removed when Python exits


@pytest.mark.spark
def test_every_bridge_function_after_stop_says_the_session_is_stopped(lifecycle):
    report, _ = lifecycle
    for name, (kind, message) in report["stopped"].items():
        assert kind == "SparkSessionError", (name, kind, message)
        assert "is stopped" in message and ("start_session()" in message or "train it again" in message), name
    assert report["stop_session_again"] == ["ok", "None"]
    assert report["drop_cold_start_needs_no_session"] == ["ok", "300"]
    assert report["lam_recorded"] == 0.1


@pytest.mark.spark
def test_a_session_stopped_without_stop_session_has_its_folder_removed_at_the_next_start(spark, tmp_path):
    """``spark.stop()`` leaves the folder; the next start_session (here: the running one, same settings) removes it."""
    class Stopped:
        class sparkContext:
            _jsc = None

    stopped, folder = Stopped(), tmp_path / "cflib-spark-stopped"
    (folder / "checkpoints").mkdir(parents=True)
    spark_session._STARTED[id(stopped)] = (stopped, str(folder), {})
    assert cspark.start_session(cores=2, driver_memory="1g", app_name="cflib-tests") is spark
    assert not folder.exists() and id(stopped) not in spark_session._STARTED


@pytest.mark.spark
def test_the_folder_of_a_killed_process_is_removed_at_the_next_start(spark, tmp_path, monkeypatch):
    """A process killed before its exit could clean up leaves its folder; start_session removes it, and only it."""
    monkeypatch.setattr(spark_session.tempfile, "gettempdir", lambda: str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owners = {"cflib-spark-killed": gone.stdout.strip(), "cflib-spark-alive": str(os.getpid()),
              "cflib-spark-unknown": None}
    for name, pid in owners.items():
        (tmp_path / name / "checkpoints").mkdir(parents=True)
        if pid is not None:
            (tmp_path / name / "owner.pid").write_text(pid)
    assert cspark.start_session(cores=2, driver_memory="1g", app_name="cflib-tests") is spark
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cflib-spark-alive", "cflib-spark-unknown"]
