"""Shared test fixtures.

``movielens`` gives the real MovieLens 100K copy. Where it is absent the tests
that need it skip with a visible reason, except in CI (``CI`` set), where a
missing copy is an error.
"""

import os

import pytest

import cflib
from cflib.data import ENV_VAR


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
