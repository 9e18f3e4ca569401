"""A Spark session's whole life in a process of its own, for tests/test_spark.py (run as a script).

Spark runs one session per process and the test process already holds one
(the ``spark`` fixture), so starting, refusing, restarting and stopping
sessions, and exiting without stopping one, are observed here and reported as
one JSON object on stdout. Temporary folders go to ``$TMPDIR``, which the test
sets to a folder of its own.
"""

import gc
import glob
import json
import os
import tempfile
import warnings

import cflib
from cflib import spark as cspark


def folders():
    return sorted(glob.glob(os.path.join(tempfile.gettempdir(), "cflib-spark-*")))


def outcome(call):
    """``[exception class name, message]``, or ``["ok", repr of the result]``."""
    try:
        return ["ok", repr(call())]
    except Exception as exc:
        return [type(exc).__name__, str(exc)]


def checkpoint_files(folder):
    return [os.path.join(d, f) for d, _, files in os.walk(os.path.join(folder, "checkpoints")) for f in files]


report = {}
data = cflib.make_synthetic(30, 20, 2, density=0.5, seed=0)

# Spark refuses a heap under 450 MiB once its JVM runs: the JVM's message must reach the error.
report["small_heap"] = outcome(lambda: cspark.start_session(driver_memory="100m"))
report["folders_after_failed_start"] = folders()

spark = cspark.start_session(cores=2, driver_memory="1g")  # a fresh JVM, not the 100 MiB one
report["heap_mib"] = spark._jvm.java.lang.Runtime.getRuntime().maxMemory() / 2 ** 20
first_folder = folders()
df = cspark.to_spark(spark, data)
model = cspark.fit_spark_als(df, k=2, reg_param=0.1, n_iters=11, seed=0)  # ALS checkpoints at iteration 10
report["checkpointed"] = len(checkpoint_files(first_folder[0])) > 0
report["lam_recorded"] = cspark.from_spark(model, data).lam

report["same_settings"] = cspark.start_session(cores=2, driver_memory="1g") is spark
report["other_settings"] = outcome(lambda: cspark.start_session(cores=1))
report["folders_after_refusal"] = folders() == first_folder

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    spark2 = cspark.start_session(cores=1, restart=True)
report["restart_warnings"] = [str(w.message) for w in caught]
report["restart_master"] = spark2.sparkContext.master
report["first_folder_removed"] = not os.path.exists(first_folder[0])
# restart=True stopped the first session through stop_session: everything of it now says so.
report["stopped"] = {"to_spark": outcome(lambda: cspark.to_spark(spark, data)),
                     "fit_spark_als": outcome(lambda: cspark.fit_spark_als(df)),
                     "from_spark": outcome(lambda: cspark.from_spark(model, data, reg_param=0.1))}

report["stop_session_again"] = outcome(lambda: cspark.stop_session(spark))
report["drop_cold_start_needs_no_session"] = outcome(lambda: cspark.drop_cold_start(data, data).nnz)

# Last: a session never stopped. The test checks that its folder is gone once this process has exited.
report["unstopped_folder"] = folders()
del model
gc.collect()
print(json.dumps(report))
