"""Trust, round three: the data layer refuses what it cannot read, with cflib errors that name the fix."""

import os
import urllib.error

import numpy as np
import pytest

import cflib
import cflib.datasets.movielens as cdata
import cflib.datasets.download
from cflib.datasets.errors import DataArgumentError, DataError, DataFormatError, DataPermissionError
from cflib.datasets.formats import read_ml100k
from cflib.datasets.releases import RELEASES, URL_ENV_VAR, release_urls

FLAGS = "|".join(["0"] * 18 + ["1"])


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    def no_network(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(cflib.datasets.download, "urlopen", no_network)
    monkeypatch.delenv(URL_ENV_VAR, raising=False)


def ml100k(folder, data_lines, item_title=b"Toy Story (1995)"):
    """A tiny ml-100k folder: 2 movies, 2 users, ``data_lines`` as u.data."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.item").write_bytes(b"1|" + item_title + b"|01-Jan-1995||http://x|" + FLAGS.encode() + b"\n"
                                    + b"2|GoldenEye (1995)|01-Jan-1995||http://x|" + FLAGS.encode() + b"\n")
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    (folder / "u.data").write_text("\n".join(data_lines) + "\n")
    return folder


GOOD = ["1\t1\t5\t874965758", "2\t2\t3\t876893171"]


def test_the_tiny_folder_reads(tmp_path):
    d = read_ml100k(ml100k(tmp_path / "ml-100k", GOOD))
    assert d.nnz == 2 and d.scale == (1.0, 5.0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_u_data_is_refused_not_read_forever(tmp_path):
    folder = ml100k(tmp_path / "ml-100k", GOOD)
    (folder / "u.data").unlink()
    os.mkfifo(folder / "u.data")
    with pytest.raises(DataFormatError, match="u.data is not a regular file"):
        read_ml100k(folder)


def test_a_device_as_u_data_is_refused(tmp_path):
    folder = ml100k(tmp_path / "ml-100k", GOOD)
    (folder / "u.data").unlink()
    (folder / "u.data").symlink_to("/dev/zero")
    with pytest.raises(DataFormatError, match="not a regular file"):
        read_ml100k(folder)


def test_mixed_field_counts_with_the_right_total_are_refused(tmp_path):
    folder = ml100k(tmp_path / "ml-100k", ["1\t1\t5", "2\t2\t3\t876893171\t9"])  # 3 + 5 = 2 * 4
    with pytest.raises(DataFormatError, match=r"u\.data, line 1 has 3 fields, expected 4"):
        read_ml100k(folder)


@pytest.mark.parametrize("stamp", ["-5", "99999999999999"])
def test_absurd_timestamps_are_refused(tmp_path, stamp):
    folder = ml100k(tmp_path / "ml-100k", [GOOD[0], f"2\t2\t3\t{stamp}"])
    with pytest.raises(DataFormatError, match=r"u\.data, line 2 has the timestamp .* not a time between 1970"):
        read_ml100k(folder)


def test_cp1252_bytes_in_u_item_are_decoded(tmp_path):
    folder = ml100k(tmp_path / "ml-100k", GOOD, item_title=b"Schindler\x92s List (1993)")
    assert read_ml100k(folder).titles[0] == "Schindler\u2019s List (1993)"
    folder = ml100k(tmp_path / "b" / "ml-100k", GOOD, item_title=b"Mis\xe9rables, Les (1995)")
    assert read_ml100k(folder).titles[0] == "Mis\u00e9rables, Les (1995)"  # Latin-1 as shipped


def test_data_dir_of_the_wrong_type_is_a_cflib_error():
    with pytest.raises(DataArgumentError, match="data_dir must be a folder path.*got int 123"):
        cflib.load_movielens("100k", 123, download=False)
    assert issubclass(DataArgumentError, DataError) and issubclass(DataArgumentError, TypeError)


def test_an_unreadable_data_dir_is_a_cflib_error(tmp_path, monkeypatch):
    (tmp_path / "locked").mkdir()
    real_access = os.access
    monkeypatch.setattr(cdata.os, "access", lambda p, mode: False if str(p).endswith("locked")
                        else real_access(p, mode))  # mode 000, even for root
    with pytest.raises(DataPermissionError, match=r"locked, which cannot be read: permission denied.*chmod"):
        cflib.load_movielens("100k", tmp_path / "locked", download=False)


@pytest.mark.parametrize("kw, error, match", [
    (dict(timeout=0), ValueError, "timeout must be a finite number > 0"),
    (dict(timeout=-1), ValueError, "timeout must be a finite number > 0"),
    (dict(deadline=float("nan")), ValueError, "deadline must be a finite number"),
    (dict(timeout="30"), TypeError, "timeout must be a real number.*without quotes"),
])
def test_timeout_and_deadline_are_checked(tmp_path, kw, error, match):
    with pytest.raises(error, match=match):
        cflib.fetch_movielens("100k", tmp_path, progress=False, **kw)
    with pytest.raises(error, match=match):
        cflib.datasets.download.download_file("https://example.invalid/x.zip", tmp_path / "x.zip", size=1,
                                     sha256="0" * 64, progress=False, **kw)


def test_a_url_without_a_file_name_is_used_as_a_folder(monkeypatch):
    release = RELEASES["100k"]
    monkeypatch.setenv(URL_ENV_VAR, "https://mirror.example/movielens")
    assert release_urls(release)[0] == "https://mirror.example/movielens/ml-100k.zip"
    monkeypatch.setenv(URL_ENV_VAR, "https://mirror.example/movielens/ml-1m.zip")
    assert release_urls(release) == list(release.urls)  # another release's archive: not for 100k
    monkeypatch.setenv(URL_ENV_VAR, "mirror.example/movielens")
    with pytest.raises(ValueError, match="CFLIB_MOVIELENS_URL holds 'mirror.example/movielens', which is not a URL"):
        release_urls(release)


def test_readable_arrays_stay_fast_on_real_sized_text():
    """The per-line field count check is vectorised: 1M lines in well under a second."""
    import time
    from cflib.datasets.text import _same_field_counts
    text = "\n".join(["1 2 3 4"] * 1_000_000)
    start = time.perf_counter()
    assert _same_field_counts(text, 1_000_000, 4)
    assert time.perf_counter() - start < 2.0
    assert not _same_field_counts("1 2 3\n1 2 3 4 5", 2, 4)


def test_the_argument_checks_moved_to_cflib_arguments():
    """`validation` is fit's argument; the module of argument checks is cflib.arguments, and the old module
    name still imports for one release, with a DeprecationWarning."""
    import importlib
    import sys

    import cflib.arguments as arguments

    sys.modules.pop("cflib.validation", None)
    with pytest.warns(DeprecationWarning, match="cflib.arguments"):
        old = importlib.import_module("cflib.validation")
    assert old.check_scalar is arguments.check_scalar and old.__all__ == arguments.__all__
