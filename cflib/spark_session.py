r"""The local Spark session behind :mod:`cflib.spark`: start it, stop it, clean up after it, explain its errors.

Spark is optional (``pip install "cflib[spark]"``) and needs Java 17 or newer.
Everything here is importable from :mod:`cflib.spark`.

* :func:`start_session` builds a local session that works offline, with the
  settings this course verified (each one is explained in its docstring).
  Spark runs one session per Python process: a second call with the same
  settings returns the running session, with other settings it is refused
  (:class:`SparkSessionError`), or with ``restart=True`` the running session is
  stopped first and a warning says so.
* :func:`stop_session` stops it, ends its Java process and removes its
  temporary folder (checkpoints and the JVM's log); a session never stopped has
  its folder removed when Python exits, and the folder of a process that was
  killed is removed by the next :func:`start_session`.
* :func:`check_running` is the guard every bridge function calls first: after
  :func:`stop_session` it raises :class:`SparkSessionError` saying the session
  is stopped, instead of a Py4J traceback.
* :func:`jvm_errors` turns an error raised in the JVM (``Py4JJavaError``,
  ``Py4JError``) into :class:`SparkJVMError` whose message is the Java
  exception's own (class and message), not the wrapper's stack trace.
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import shutil
import sys
import tempfile
import warnings
from contextlib import contextmanager

from .arguments import check_int

__all__ = ["SparkUnavailableError", "SparkSessionError", "SparkJVMError", "require_spark", "start_session",
           "stop_session", "local_session", "check_running", "jvm_errors", "SESSION_CONF"]

#: The session settings, and what each is for (``start_session`` adds the
#: master ``local[cores]``, the two parallelism figures equal to ``cores`` and
#: ``spark.driver.memory``).
SESSION_CONF = {
    # Listen and advertise on the loopback interface only: no network lookup of
    # the host name, works offline and behind firewalls.
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    # No web UI (a server on port 4040) and no console progress bars (they
    # would be printed into notebook outputs).
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # Delete a checkpointed RDD's files once the JVM no longer references it
    # (Spark keeps them until the folder is removed otherwise).
    "spark.cleaner.referenceTracking.cleanCheckpoints": "true",
}
_STARTED: dict = {}  # id(session) -> (session, temporary folder, settings), for sessions start_session made
_MEMORY = re.compile(r"[1-9][0-9]*[kmgt]", re.IGNORECASE)


class SparkUnavailableError(RuntimeError):
    """pyspark or Java is missing; the message says what to install."""


class SparkSessionError(RuntimeError):
    """The session is stopped, or another one is running: the message says which and what to do."""


class SparkJVMError(RuntimeError):
    """An error raised in Spark's Java process; the message is the Java exception's own."""


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


def _first_lines(text: str, n: int = 3) -> str:
    """The first ``n`` lines of a Java message, without stack-trace lines (``at ...``), at most 600 characters."""
    lines = [line.strip() for line in str(text).splitlines()]
    kept = [line for line in lines if line and not line.startswith(("at ", "...", "Driver stacktrace"))][:n]
    text = " ".join(kept)
    return text if len(text) <= 600 else text[:597] + "..."


def _java_message(exc) -> str:
    """``Class: message`` of the Java exception behind a Py4J error, with its root cause if another."""
    java = getattr(exc, "java_exception", None)
    if java is not None:
        try:
            message, cause = _first_lines(java.toString()), java.getCause()
            while cause is not None and cause.getCause() is not None:
                cause = cause.getCause()
            return message if cause is None else f"{message}; caused by {_first_lines(cause.toString())}"
        except Exception:  # the JVM is gone: fall back on the text Py4J received
            pass
    text = exc.errmsg if java is not None else str(exc)
    return _first_lines(text.split("Trace:\n", 1)[-1])


@contextmanager
def jvm_errors(what: str):
    """``with jvm_errors("Spark's ALS fit"): ...``: a Py4J error becomes :class:`SparkJVMError`.

    The message reads ``"<what> failed in Spark's JVM: <Java class>: <Java message>"``
    (and the root cause, when another); the Py4J error is chained as ``__cause__``.
    Errors pyspark already translated into Python exceptions (with the Java
    message) pass through unchanged.
    """
    from py4j.protocol import Py4JError

    try:
        yield
    except Py4JError as exc:
        raise SparkJVMError(f"{what} failed in Spark's JVM: {_java_message(exc)}") from exc


def _describe(settings: dict) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in settings.items())


def _end_jvm() -> None:
    """End pyspark's Java process, so that the next session starts a fresh one with its own settings.

    pyspark keeps the JVM after ``stop()`` and reuses it, with the heap it was
    started with: ``spark.driver.memory`` would be ignored by the next session.
    """
    try:
        from pyspark import SparkContext
    except ImportError:  # no pyspark, no JVM
        return
    gateway = SparkContext._gateway
    if gateway is None or SparkContext._active_spark_context is not None:
        return
    SparkContext._gateway, SparkContext._jvm = None, None
    try:
        gateway.shutdown()
    except Exception:  # already gone
        pass
    proc = getattr(gateway, "proc", None)
    if proc is not None:
        try:
            proc.stdin.close()  # the JVM exits when its stdin closes
            proc.wait(timeout=30)
        except Exception:
            proc.kill()


def _running_context():
    from pyspark import SparkContext

    sc = SparkContext._active_spark_context
    return sc if sc is not None and getattr(sc, "_jsc", None) is not None else None


def _forget_stopped() -> None:
    """Remove the folders of sessions stopped without :func:`stop_session` (``spark.stop()``)."""
    for key, (session, folder, _) in list(_STARTED.items()):
        if getattr(session.sparkContext, "_jsc", None) is None:
            del _STARTED[key]
            shutil.rmtree(folder, ignore_errors=True)


def _remove_orphans() -> None:
    """Remove the folders of sessions whose Python process is gone (killed before its exit could clean up).

    Each folder names its owner in ``owner.pid``; a folder whose owner still
    runs, or that names none, is left alone.
    """
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), "cflib-spark-*")):
        try:
            with open(os.path.join(folder, "owner.pid")) as f:
                pid = int(f.read())
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):  # no owner file, not ours to judge, or the owner runs as another user
            continue


def start_session(*, cores: int = 2, driver_memory: str = "1g", app_name: str = "cflib", restart: bool = False):
    """A local SparkSession that works offline, with a checkpoint directory.

    Settings (see ``SESSION_CONF`` for the host, UI and cleaner ones):

    * ``SPARK_LOCAL_IP=127.0.0.1`` and ``PYSPARK_PYTHON=sys.executable`` in the
      environment: bind to loopback, and run Python workers with this
      interpreter (the one that has cflib and numpy);
    * ``master("local[cores]")``: driver and executor in one JVM, ``cores`` threads;
    * ``spark.sql.shuffle.partitions`` and ``spark.default.parallelism`` =
      ``cores``: one task per core instead of the default 200 shuffle partitions,
      which on small data costs more in scheduling than it computes;
    * ``spark.driver.memory``: the JVM heap (``"512m"``, ``"1g"``; Spark needs 450 MiB at least);
    * log level ERROR, and a temporary checkpoint directory: ALS checkpoints its
      factors at its first iteration and every 10th after that, to cut the lineage; without one, 20
      iterations end in ``StackOverflowError``. :func:`stop_session` removes it
      (Spark does not); so does Python's exit, for a session never stopped, and
      the next ``start_session`` for a process that was killed (``owner.pid``).

    The JVM's own stderr (start-up warnings, BLAS notices) goes to a log file
    in that directory, not to the notebook; if the JVM fails to start, the
    error quotes it.

    Spark runs one session per process. If a session is running: the same
    settings return it; other settings raise :class:`SparkSessionError` naming
    both, unless ``restart=True``, which stops it (as :func:`stop_session`),
    starts a new one and warns that it did.

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    SparkSessionError
        Another session is running and ``restart`` is False.
    SparkJVMError
        The JVM did not start or refused the settings (its message is quoted).
    """
    require_spark()
    cores = check_int(cores, "cores", min_val=1)
    if not isinstance(driver_memory, str) or not _MEMORY.fullmatch(driver_memory.strip()):
        raise ValueError(f"driver_memory must be a size with a unit, such as \"512m\" or \"2g\", got {driver_memory!r}")
    if not isinstance(app_name, str) or not app_name.strip():
        raise TypeError(f"app_name must be a non-empty string, got {app_name!r}")
    if not isinstance(restart, bool):
        raise TypeError(f"restart must be True or False, got {restart!r}")
    settings = dict(cores=cores, driver_memory=driver_memory.strip(), app_name=app_name)
    _forget_stopped()
    _remove_orphans()
    running = _running_context()
    if running is not None:
        ours = next((entry for entry in _STARTED.values() if entry[0].sparkContext is running), None)
        old = ours[2] if ours is not None else {"master": running.master, "app_name": running.appName}
        if old == settings:
            return ours[0]
        if not restart:
            origin = "started by cflib.spark.start_session" if ours else "not started by cflib"
            raise SparkSessionError(
                f"a Spark session {origin} is already running ({_describe(old)}) and Spark runs one per "
                f"process, so it cannot start another with {_describe(settings)}. Stop it first "
                "(cflib.spark.stop_session(spark)), or call start_session(..., restart=True) to stop it and "
                "start anew; DataFrames and models of the stopped session no longer work.")
        if ours is not None:
            stop_session(ours[0])
        else:
            from pyspark.sql import SparkSession
            (SparkSession.getActiveSession() or running).stop()
        warnings.warn(f"start_session(restart=True) stopped the running Spark session ({_describe(old)}) and "
                      f"starts a new one ({_describe(settings)}); DataFrames and models of the old one no "
                      "longer work", UserWarning, stacklevel=2)
    _end_jvm()  # a JVM left by spark.stop() or a failed start keeps its old heap: start afresh
    return _launch(settings)


def _launch(settings: dict):
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    cores = settings["cores"]
    tmp = tempfile.mkdtemp(prefix="cflib-spark-")
    with open(os.path.join(tmp, "owner.pid"), "w") as f:
        f.write(str(os.getpid()))
    log_path = os.path.join(tmp, "jvm-stderr.log")
    builder = SparkSession.builder.master(f"local[{cores}]").appName(settings["app_name"])
    for key, value in {**SESSION_CONF, "spark.sql.shuffle.partitions": str(cores),
                       "spark.default.parallelism": str(cores),
                       "spark.driver.memory": settings["driver_memory"]}.items():
        builder = builder.config(key, value)
    # The JVM inherits file descriptor 2 when it starts: point it at the log meanwhile.
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(log_path, "ab") as log:
            os.dup2(log.fileno(), 2)
            with warnings.catch_warnings():  # pyspark 4.3 warns about pandas 3, which cflib does not use
                warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*", category=FutureWarning)
                with jvm_errors(f"starting a local session ({_describe(settings)})"):
                    spark = builder.getOrCreate()
    except Exception as exc:
        with open(log_path, errors="replace") as log:
            said = [line.rstrip() for line in log if line.strip()][-8:]
        _end_jvm()
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, SparkJVMError) or not said:  # the JVM started and raised: its exception says why
            raise
        # The JVM did not start: pyspark says only JAVA_GATEWAY_EXITED, the JVM's stderr says why.
        raise SparkJVMError(f"Spark's JVM did not start ({exc}); it said:\n" + "\n".join(said)) from exc
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    _STARTED[id(spark)] = (spark, tmp, settings)
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(os.path.join(tmp, "checkpoints"))
    return spark


def stop_session(spark) -> None:
    """Stop the session, end its Java process and remove the temporary folder made by :func:`start_session`.

    A session already stopped is left as it is (calling this twice is harmless).
    """
    if not hasattr(spark, "sparkContext") or not hasattr(spark, "stop"):
        raise TypeError(f"spark must be a SparkSession (from cflib.spark.start_session()), got {type(spark).__name__}")
    if getattr(spark.sparkContext, "_jsc", None) is not None:
        spark.stop()
    _, folder, _ = _STARTED.pop(id(spark), (None, None, None))
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    _end_jvm()


@atexit.register
def _remove_folders_at_exit() -> None:
    """A session never stopped: stop it and remove its folder when Python exits."""
    for session, folder, _ in list(_STARTED.values()):
        try:
            if getattr(session.sparkContext, "_jsc", None) is not None:
                session.stop()
        except Exception:  # the JVM may already be gone at exit
            pass
        shutil.rmtree(folder, ignore_errors=True)
    _STARTED.clear()


@contextmanager
def local_session(**kwargs):
    """``with local_session() as spark: ...``: :func:`start_session`, then :func:`stop_session`."""
    spark = start_session(**kwargs)
    try:
        yield spark
    finally:
        stop_session(spark)


def check_running(spark, name: str = "spark") -> None:
    """Raise :class:`SparkSessionError` if ``spark`` (a SparkSession or SparkContext) is stopped.

    ``name`` says which argument's session it is (``"df's session"``).
    """
    sc = getattr(spark, "sparkContext", spark)
    if getattr(sc, "_jsc", None) is None:
        raise SparkSessionError(
            f"{name} is stopped (cflib.spark.stop_session or spark.stop() was called): start a new one with "
            "cflib.spark.start_session() and rebuild what belonged to the old one (to_spark, then fit_spark_als)")
