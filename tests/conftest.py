"""Shared test fixtures.

``movielens`` gives the real MovieLens 100K copy. Where it is absent the tests
that need it skip with a visible reason, except in CI (``CI`` set), where a
missing copy is an error.
"""

import os

import pytest

import cflib
from cflib.datasets import ENV_VAR


def _real_data_or_skip():
    try:
        return cflib.load_movielens("100k", download=False)
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"MovieLens 100K not available (set {ENV_VAR}): {exc}")


@pytest.fixture(scope="session")
def movielens():
    """The real ml-100k data as a cflib.Ratings."""
    return _real_data_or_skip()


@pytest.fixture(scope="session")
def spark():
    """A local Spark session (2 cores, so 2 partitions; ALS fits use 2 blocks), stopped at the end.

    Its checkpoint directory is removed by ``cflib.spark.stop_session``. Without
    pyspark or Java the tests that use it skip with the reason, except in CI
    (``CI`` set), where that is an error.
    """
    from cflib import spark as cspark

    try:
        cspark.require_spark()
    except cspark.SparkUnavailableError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Spark not available: {exc}")
    session = cspark.start_session(cores=2, driver_memory="1g", app_name="cflib-tests")
    yield session
    cspark.stop_session(session)
