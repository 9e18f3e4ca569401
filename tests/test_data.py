"""Tests of cflib.datasets (MovieLens loading) and cflib.datasets.download (fetch, verify, extract).

Nothing here touches the network: downloads are served by fake ``urlopen``
functions from bytes built out of the hand-written files in tests/fixtures/.
The real copy (via the ``movielens`` fixture) is only read.
"""

import atexit
import hashlib
import io
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import cflib.datasets.archive
import cflib.datasets.download
import cflib.datasets.movielens as cdata
from cflib.datasets.cli import main as cli_main
from cflib.datasets import (
    ENV_VAR,
    RELEASES,
    ArchiveError,
    ChecksumError,
    DataError,
    DataFormatError,
    DataNotFoundError,
    data_dir_candidates,
    fetch_movielens,
    load_movielens,
    load_split,
)
from cflib.datasets.archive import extract_archive, verify_file
from cflib.datasets.download import DownloadError, download_file

def _materialize_fixtures() -> Path:
    """Copy the hand-written fixtures to a temporary folder under their real names.

    They are committed as ``NAME.fixture`` so that no file in the repository carries
    a MovieLens file name (those files are never committed; these are made up).
    """
    src = Path(__file__).parent / "fixtures"
    dest = Path(tempfile.mkdtemp(prefix="cflib-fixtures-"))
    atexit.register(shutil.rmtree, dest, ignore_errors=True)
    for f in src.glob("ml-*/*.fixture"):
        target = dest / f.relative_to(src).with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
    return dest


FIXTURES = _materialize_fixtures()
# (ratings, movies, users) of the hand-written fixture copies
FIXTURE_COUNTS = {"100k": (10, 5, 4), "1m": (5, 4, 3), "latest-small": (6, 6, 3)}
REAL = RELEASES["100k"]


# ---------------------------------------------------------------- helpers
def zip_folder(folder: Path, root: str) -> bytes:
    """Bytes of a zip holding ``folder``'s files under ``root/``, as GroupLens ships them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(root + "/", "")
        for f in sorted(folder.iterdir()):
            zf.write(f, f"{root}/{f.name}")
    return buf.getvalue()


class FakeResponse:
    """Stands in for ``urlopen``'s response: serves ``payload``, maybe failing midway."""

    def __init__(self, payload: bytes, fail_after=None, stop_after=None, packet=50):
        self.stream = io.BytesIO(payload)
        self.packet = packet  # bytes per read, like a network socket
        self.fail_after, self.stop_after = fail_after, stop_after

    def read(self, n):
        n = min(n, self.packet)
        pos = self.stream.tell()
        if self.fail_after is not None and pos >= self.fail_after:
            raise ConnectionResetError("connection reset by peer")
        if self.stop_after is not None:
            n = max(0, min(n, self.stop_after - pos))
        return self.stream.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class FakeNetwork:
    """A ``urlopen`` replacement recording calls."""

    def __init__(self, payload=b"", error=None, **kw):
        self.payload, self.error, self.kw, self.calls = payload, error, kw, []

    def __call__(self, url, timeout=None):
        self.calls.append(url)
        if self.error is not None:
            raise self.error
        return FakeResponse(self.payload, **self.kw)


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test reaches the network: by default every download fails as without internet.

    Tests that need a download replace ``cflib.datasets.download.urlopen`` with a FakeNetwork.
    """
    no_dns = urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    net = FakeNetwork(error=no_dns)
    monkeypatch.setattr(cflib.datasets.download, "urlopen", net)
    monkeypatch.delenv(cdata.URL_ENV_VAR, raising=False)  # only the release's own URLs
    return net


@pytest.fixture
def fake_release(monkeypatch):
    """Make a release describe the fixture copy: counts, and a zip of it as the archive.

    Returns a function ``use(name) -> zip bytes``.
    """

    def use(name):
        release = RELEASES[name]
        payload = zip_folder(FIXTURES / release.folder, release.folder)
        n_ratings, n_movies, n_users = FIXTURE_COUNTS[name]
        monkeypatch.setitem(RELEASES, name, replace(
            release, urls=(f"https://example.invalid/{release.archive}",), size=len(payload),
            sha256=hashlib.sha256(payload).hexdigest(),
            n_ratings=n_ratings, n_movies=n_movies, n_users=n_users,
        ))
        return payload

    return use


def copy_fixture(name: str, dest: Path) -> Path:
    folder = RELEASES[name].folder
    shutil.copytree(FIXTURES / folder, dest / folder)
    return dest / folder


def place_archive_of(src: Path, dest: Path, monkeypatch) -> Path:
    """Zip the (edited) ml-100k copy ``src`` into ``dest``, as the release's checksummed archive."""
    payload = zip_folder(src, "ml-100k")
    monkeypatch.setitem(RELEASES, "100k", replace(
        RELEASES["100k"], size=len(payload), sha256=hashlib.sha256(payload).hexdigest()))
    dest.mkdir()
    (dest / "ml-100k.zip").write_bytes(payload)
    return dest


def leftovers(folder: Path):
    """Names in ``folder`` other than the expected final ones."""
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------ parsers (fixtures)
def test_100k_fixture_parses(fake_release, no_env):
    fake_release("100k")
    d = load_movielens("100k", FIXTURES)
    assert d.shape == (5, 4) and d.Y.shape == (5, 4)  # movies x users
    assert d.nnz == 10 and d.name == "ml-100k"
    assert d.movie_ids.tolist() == [1, 2, 3, 4, 5] and d.user_ids.tolist() == [1, 2, 3, 4]
    assert d.Y[0, 0] == 5.0 and d.Y[4, 3] == 2.0 and d.Y[4, 0] == 0.0
    assert d.R.sum() == 10 and d.Y.dtype == np.float64 and d.R.dtype == bool
    assert d.titles[2] == "Misérables, Les (1995)"  # Latin-1 byte 0xE9
    assert len(d.genre_names) == 19 and d.genres.shape == (5, 19)
    assert [d.genre_names[j] for j in np.flatnonzero(d.genres[0])] == \
        ["Animation", "Children's", "Comedy"]
    assert [d.genre_names[j] for j in np.flatnonzero(d.genres[3])] == ["unknown"]


def test_1m_fixture_parses(fake_release, no_env):
    fake_release("1m")
    d = load_movielens("1m", FIXTURES)
    assert d.name == "ml-1m" and d.shape == (4, 3) and d.nnz == 5
    assert d.movie_ids.tolist() == [1, 3, 5, 73]  # sorted, not contiguous
    assert d.user_ids.tolist() == [1, 2, 10]
    assert d.titles.tolist() == ["Toy Story (1995)", "Grumpier Old Men (1995)",
                                 "Father of the Bride Part II (1995)", "Misérables, Les (1995)"]
    assert not d.R[2].any()  # movie 5 is listed but unrated: it keeps its row
    assert d.Y[3, 0] == 3.0 and d.Y[0, 2] == 4.0  # (movie 73, user 1), (movie 1, user 10)
    assert d.genre_names == ("Animation", "Children's", "Comedy", "Drama", "Musical", "Romance")
    assert d.genres[3].tolist() == [False, False, False, True, True, False]


def test_latest_small_fixture_parses(fake_release, no_env):
    fake_release("latest-small")
    d = load_movielens("latest-small", FIXTURES)
    assert d.name == "ml-latest-small" and d.shape == (6, 3) and d.nnz == 6
    assert d.scale == (0.5, 5.0)  # half stars: models trained on it clip to 0.5..5
    assert d.movie_ids.tolist() == [1, 2, 11, 293, 176601, 193609]
    assert d.user_ids.tolist() == [1, 5, 7]
    assert d.titles[2] == "American President, The (1995)"  # quoted comma
    assert d.titles[3].startswith("Léon: The Professional")  # UTF-8
    assert sorted(d.ratings.tolist()) == [0.5, 3.0, 3.5, 4.0, 4.5, 5.0]  # half stars
    assert d.Y[1, 1] == 0.5 and d.Y[3, 2] == 4.5
    assert not d.R[4].any()  # "Black Mirror" has no rating but has a row
    assert "(no genres listed)" not in d.genre_names and not d.genres[4].any()
    assert "Children" in d.genre_names and d.genres[2, d.genre_names.index("Comedy")]


def test_release_names(fake_release, no_env):
    fake_release("1m")
    assert load_movielens("ml-1m", FIXTURES).name == "ml-1m"
    with pytest.raises(ValueError, match=r"unknown MovieLens release '10m'; choose one of"):
        load_movielens("10m", FIXTURES)


def test_split_fixture(fake_release, no_env):
    fake_release("100k")
    full = load_movielens("100k", FIXTURES)
    train, test = load_split("u1", FIXTURES)
    assert train.shape == test.shape == full.shape
    assert (train.nnz, test.nnz) == (6, 4)
    assert not (train.R & test.R).any()
    np.testing.assert_array_equal(train.Y + test.Y, full.Y)
    assert train.titles is full.titles or list(train.titles) == list(full.titles)


def test_unknown_split_is_rejected():
    with pytest.raises(ValueError, match=r"unknown ml-100k split 'u6'; choose one of u1, u2"):
        load_split("u6")


def test_missing_split_file_is_named(fake_release, no_env):
    fake_release("100k")
    with pytest.raises(DataNotFoundError, match=r"u2\.base is missing"):
        load_split("u2", FIXTURES)


def test_truncated_split_file(fake_release, no_env, tmp_path):
    fake_release("100k")
    folder = copy_fixture("100k", tmp_path)
    lines = (folder / "u1.test").read_text().splitlines(keepends=True)
    (folder / "u1.test").write_text("".join(lines[:-1]))
    with pytest.raises(DataFormatError, match=r"expected 10 ratings together, found 9"):
        load_split("u1", tmp_path)


# ------------------------------------------------------------- real copy
def test_real_counts(movielens):
    d = movielens
    assert (d.nnz, d.n_users, d.n_movies) == (100_000, 943, 1682)
    assert d.Y.shape == (1682, 943) and d.R.sum() == 100_000
    assert np.bincount(d.ratings.astype(int), minlength=6)[1:].tolist() == \
        [6110, 11370, 27145, 34174, 21201]
    assert d.movie_ids.tolist() == list(range(1, 1683))
    assert d.user_ids.tolist() == list(range(1, 944))


def test_real_toy_story_and_latin1_titles(movielens):
    d = movielens
    assert d.titles[0] == "Toy Story (1995)"
    assert f"{d.Y[0, d.R[0]].mean():.4f}" == "3.8783"
    assert d.titles[542] == "Misérables, Les (1995)"  # movie id 543, Latin-1 in u.item
    assert d.find_title("Véronique") == [1004]
    assert d.genres.shape == (1682, 19) and d.genres[0, d.genre_names.index("Animation")]


def test_real_load_is_fast(movielens):
    import time

    start = time.perf_counter()
    load_movielens("100k", download=False)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("split", ["u1", "u2", "u3", "u4", "u5", "ua", "ub"])
def test_real_split_is_a_partition(movielens, split):
    train, test = load_split(split, download=False)
    assert train.shape == test.shape == (1682, 943)
    assert train.nnz + test.nnz == 100_000
    assert not (train.R & test.R).any()
    np.testing.assert_array_equal(train.Y + test.Y, movielens.Y)
    if split in ("ua", "ub"):
        assert np.all(test.R.sum(axis=0) == 10)  # ten test ratings per user


def test_real_truncated_u_data(movielens, tmp_path, monkeypatch):
    src = Path(fetch_movielens("100k", progress=False))
    monkeypatch.delenv(ENV_VAR, raising=False)
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    for name in ("u.item", "u.user"):
        shutil.copy(src / name, folder / name)
    lines = (src / "u.data").read_text().splitlines(keepends=True)
    (folder / "u.data").write_text("".join(lines[:99_000]))
    with pytest.raises(DataFormatError) as err:
        load_movielens("100k", tmp_path)
    msg = str(err.value)
    assert str(folder / "u.data") in msg
    assert "expected 100,000 ratings, found 99,000" in msg
    assert f"Delete the folder {folder}" in msg and "python -m cflib.datasets" in msg


# ---------------------------------------------------------- bad inputs
def test_missing_data_dir(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(DataNotFoundError, match=r"data_dir is .*nope, but that folder does not "
                                                r"exist.*mkdir -p") as err:
        load_movielens("100k", missing)
    assert isinstance(err.value, FileNotFoundError)  # conftest relies on this
    assert not missing.exists()


def test_missing_env_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "typo"))
    with pytest.raises(DataNotFoundError, match=rf"{ENV_VAR} is .*typo.*unset {ENV_VAR}"):
        load_movielens()


def test_missing_file(fake_release, tmp_path):
    fake_release("100k")
    folder = copy_fixture("100k", tmp_path)
    (folder / "u.item").unlink()
    with pytest.raises(FileNotFoundError) as err:
        load_movielens("100k", tmp_path)
    msg = str(err.value)
    assert f"{folder / 'u.item'} is missing" in msg and f"Delete the folder {folder}" in msg


def test_truncated_last_line(fake_release, tmp_path):
    fake_release("100k")
    folder = copy_fixture("100k", tmp_path)
    text = (folder / "u.data").read_text()
    (folder / "u.data").write_text(text[:-12])  # cut inside the last line: "4\t5"
    with pytest.raises(DataFormatError, match=r"u\.data, line 10 has 2 fields, expected 4"):
        load_movielens("100k", tmp_path)


@pytest.mark.parametrize("name,file,bad,pattern", [
    ("100k", "u.data", "1\t2\tthree\t876893171", r"u\.data, line 2 has a field that is not"),
    ("100k", "u.data", "1\t1\t4\t876893171", r"u\.data, line 2 rates the same \(user, movie\) pair as line 1"),
    ("100k", "u.data", "1\t9\t4\t876893171", r"rating for movie id 9, which u\.item does not"),
    ("100k", "u.data", "1\t2\t7\t876893171", r"u\.data, line 2 has a rating of 7 \(outside 1\.\.5\)"),
    ("100k", "u.item", "2|GoldenEye (1995)|01-Jan-1995||x" + "|0" * 18 + "|10",
     r"u\.item, line 2 has a genre flag other than 0 or 1"),
    ("1m", "movies.dat", "3::Grumpier Old Men (1995)", r"movies\.dat, line 2 has 2 fields"),
    ("latest-small", "ratings.csv", "5,2,0.5", r"ratings\.csv, line 3 has 3 fields"),
    ("latest-small", "movies.csv", "2,Jumanji (1995)", r"movies\.csv, line 3 has 2 fields"),
])
def test_damaged_line_is_named(fake_release, tmp_path, name, file, bad, pattern):
    fake_release(name)
    folder = copy_fixture(name, tmp_path)
    lines = (folder / file).read_text(encoding="latin-1").splitlines()
    header = 1 if file.endswith(".csv") else 0
    lines[1 + header] = bad  # the second data line: line 2, or 3 after a header
    (folder / file).write_text("\n".join(lines) + "\n", encoding="latin-1")
    with pytest.raises(DataFormatError, match=pattern) as err:
        load_movielens(name, tmp_path)
    assert str(folder) in str(err.value)


def test_csv_header_is_checked(fake_release, tmp_path):
    fake_release("latest-small")
    folder = copy_fixture("latest-small", tmp_path)
    text = (folder / "ratings.csv").read_text()
    (folder / "ratings.csv").write_text(text.split("\n", 1)[1])
    with pytest.raises(DataFormatError, match=r"expected the header 'userId,movieId"):
        load_movielens("latest-small", tmp_path)


def test_no_network_no_copy(offline, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(DataNotFoundError) as err:
        load_movielens("100k", progress=False)
    msg = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert str(tmp_path / "ml-100k") in msg and str(cdata.REPO_DATA / "ml-100k") in msg
    assert REAL.url in msg and "Temporary failure in name resolution" in msg
    assert f"on another machine" in msg and f"put it in {tmp_path}" in msg
    assert f"set {ENV_VAR}" in msg
    assert offline.calls == [REAL.url]
    assert leftovers(tmp_path) == []


def test_download_false_does_not_touch_network(offline, tmp_path):
    with pytest.raises(DataNotFoundError, match=r"download=False"):
        load_movielens("100k", tmp_path, download=False)
    assert offline.calls == []


@pytest.mark.parametrize("kw", [{"fail_after": 100}, {"stop_after": 100}])
def test_interrupted_download_leaves_nothing(fake_release, tmp_path, monkeypatch, kw):
    payload = fake_release("100k")
    monkeypatch.setattr(cflib.datasets.download, "urlopen", FakeNetwork(payload, **kw))
    with pytest.raises(DataNotFoundError, match=r"after 100 of [\d,]+ bytes"):
        load_movielens("100k", tmp_path, progress=False)
    assert leftovers(tmp_path) == []  # no ml-100k.zip, no .part, no folder


def test_partial_bytes_never_sit_at_the_final_name(fake_release, tmp_path, monkeypatch):
    payload = fake_release("100k")
    seen = []

    class Watching(FakeResponse):
        def read(self, n):
            seen.append((tmp_path / "ml-100k.zip").exists())
            seen.append(any(p.suffix == ".part" for p in tmp_path.iterdir()))
            return super().read(n)

    monkeypatch.setattr(cflib.datasets.download, "urlopen", lambda url, timeout: Watching(payload))
    load_movielens("100k", tmp_path, progress=False)
    assert len(seen) > 4 and not any(seen[0::2]) and all(seen[1::2])
    assert leftovers(tmp_path) == ["ml-100k", "ml-100k.zip"]


def test_download_checksum_mismatch(fake_release, tmp_path, monkeypatch):
    payload = fake_release("100k")
    damaged = payload[:50] + bytes([payload[50] ^ 0xFF]) + payload[51:]
    monkeypatch.setattr(cflib.datasets.download, "urlopen", FakeNetwork(damaged))
    # Every URL gave a wrong copy: not available, saying what the URL served.
    with pytest.raises(DataNotFoundError) as err:
        load_movielens("100k", tmp_path, progress=False)
    msg = str(err.value)
    assert "has the wrong sha256" in msg
    assert RELEASES["100k"].sha256 in msg and hashlib.sha256(damaged).hexdigest() in msg
    assert f"put it in {tmp_path}" in msg
    assert leftovers(tmp_path) == []


def test_download_too_long_is_refused(fake_release, tmp_path, monkeypatch):
    payload = fake_release("100k")
    monkeypatch.setattr(cflib.datasets.download, "urlopen", FakeNetwork(payload + b"x" * 10))
    with pytest.raises(DataNotFoundError, match=r"larger than the expected"):
        load_movielens("100k", tmp_path, progress=False)
    assert leftovers(tmp_path) == []


def test_successful_download_then_offline(fake_release, tmp_path, monkeypatch, capsys):
    payload = fake_release("100k")
    net = FakeNetwork(payload)
    monkeypatch.setattr(cflib.datasets.download, "urlopen", net)
    d = load_movielens("100k", tmp_path, progress=False)
    assert (d.nnz, d.n_movies, d.n_users) == (10, 5, 4)
    assert net.calls == [RELEASES["100k"].url]
    assert leftovers(tmp_path) == ["ml-100k", "ml-100k.zip"]
    assert (tmp_path / "ml-100k.zip").read_bytes() == payload
    net.error = urllib.error.URLError("offline now")
    again = load_movielens("100k", tmp_path, progress=False)
    np.testing.assert_array_equal(again.Y, d.Y)
    assert len(net.calls) == 1  # the cached copy was used


def test_download_goes_to_env_folder(fake_release, tmp_path, monkeypatch):
    payload = fake_release("1m")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    monkeypatch.setattr(cflib.datasets.download, "urlopen", FakeNetwork(payload))
    assert fetch_movielens("1m", progress=False) == tmp_path / "ml-1m"
    assert (tmp_path / "ml-1m" / "ratings.dat").is_file()


def test_progress_bar_and_message(fake_release, tmp_path, monkeypatch, capsys):
    payload = fake_release("latest-small")
    monkeypatch.setattr(cflib.datasets.download, "urlopen", FakeNetwork(payload))
    fetch_movielens("latest-small", tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "Downloading MovieLens latest-small" in err and "ml-latest-small.zip" in err


def test_placed_archive_is_extracted_offline(fake_release, offline, tmp_path):
    payload = fake_release("latest-small")
    (tmp_path / "ml-latest-small.zip").write_bytes(payload)
    d = load_movielens("latest-small", tmp_path)
    assert d.nnz == 6 and offline.calls == []
    assert leftovers(tmp_path) == ["ml-latest-small", "ml-latest-small.zip"]


def test_placed_archive_checksum_mismatch(offline, tmp_path):
    bad = tmp_path / "ml-100k.zip"
    bad.write_bytes(b"PK\x03\x04 not really the archive")
    with pytest.raises(ChecksumError) as err:
        load_movielens("100k", tmp_path)
    msg = str(err.value)
    assert "has 27 bytes, expected 4,924,029" in msg
    assert REAL.sha256 in msg and f"put it at {bad}" in msg
    assert not bad.exists() and (tmp_path / "ml-100k.zip.part").exists()
    assert offline.calls == []


def test_placed_archive_wrong_sha_same_size(tmp_path, monkeypatch):
    path = tmp_path / "a.zip"
    path.write_bytes(b"0123456789")
    with pytest.raises(ChecksumError) as err:
        verify_file(path, size=10, sha256="0" * 64, url="https://example.invalid/a.zip")
    got = hashlib.sha256(b"0123456789").hexdigest()
    assert f"expected {'0' * 64}, got {got}" in str(err.value)
    assert leftovers(tmp_path) == ["a.zip.part"]


def test_corrupt_archive(fake_release, tmp_path, monkeypatch):
    fake_release("100k")
    garbage = b"this is not a zip file at all" * 10
    monkeypatch.setitem(RELEASES, "100k", replace(
        RELEASES["100k"], size=len(garbage), sha256=hashlib.sha256(garbage).hexdigest()))
    (tmp_path / "ml-100k.zip").write_bytes(garbage)
    with pytest.raises(ArchiveError, match=r"ml-100k\.zip is not a valid zip archive.*Delete"):
        load_movielens("100k", tmp_path)
    assert leftovers(tmp_path) == ["ml-100k.zip"]  # no folder, no temporary folder


def test_archive_with_crc_error(tmp_path):
    payload = bytearray(zip_folder(FIXTURES / "ml-100k", "ml-100k"))
    with zipfile.ZipFile(io.BytesIO(bytes(payload))) as zf:
        info = zf.getinfo("ml-100k/u.item")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    payload[start + 5] ^= 0xFF  # damage the compressed bytes of u.item
    (tmp_path / "ml-100k.zip").write_bytes(bytes(payload))
    with pytest.raises(ArchiveError, match=r"ml-100k\.zip"):
        extract_archive(tmp_path / "ml-100k.zip", tmp_path / "ml-100k")
    assert leftovers(tmp_path) == ["ml-100k.zip"]


def test_archive_that_fails_validation_is_not_installed(fake_release, tmp_path, monkeypatch):
    fake_release("100k")
    src = copy_fixture("100k", tmp_path / "src")
    (src / "u.data").write_text("".join((src / "u.data").read_text().splitlines(True)[:7]))
    dest = place_archive_of(src, tmp_path / "dest", monkeypatch)
    with pytest.raises(ArchiveError, match=r"expected 10 ratings, found 7"):
        load_movielens("100k", dest)
    assert leftovers(dest) == ["ml-100k.zip"]


def test_archive_members_outside_root_are_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ml-100k/u.data", "1\t1\t5\t0\n")
        zf.writestr("../evil.txt", "x")
    (tmp_path / "ml-100k.zip").write_bytes(buf.getvalue())
    with pytest.raises(ArchiveError, match=r"'\.\./evil\.txt', outside the expected folder"):
        extract_archive(tmp_path / "ml-100k.zip", tmp_path / "ml-100k")
    assert leftovers(tmp_path) == ["ml-100k.zip"]


def test_download_file_unwritable_folder(tmp_path):
    with pytest.raises(DownloadError, match=r"cannot write a temporary file in .*missing"):
        download_file("https://example.invalid/a.zip", tmp_path / "missing" / "a.zip",
                      size=1, sha256="0" * 64, progress=False, opener=FakeNetwork(b"x"))


def test_keyboard_interrupt_during_download_leaves_nothing(tmp_path):
    class Interrupting(FakeResponse):
        def read(self, n):
            if self.stream.tell() > 0:
                raise KeyboardInterrupt
            return super().read(n)

    with pytest.raises(KeyboardInterrupt):
        download_file("https://example.invalid/a.zip", tmp_path / "a.zip", size=10**6,
                      sha256="0" * 64, progress=False,
                      opener=lambda url, timeout: Interrupting(b"x" * 10**6))
    assert leftovers(tmp_path) == []


def test_errors_share_a_base_class():
    for cls in (DataNotFoundError, DataFormatError, ChecksumError, ArchiveError, DownloadError):
        assert issubclass(cls, DataError)


# ------------------------------------------------------ locations and CLI
def test_candidates(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert data_dir_candidates() == [tmp_path, cdata.REPO_DATA]
    assert data_dir_candidates(tmp_path / "x") == [tmp_path / "x"]
    monkeypatch.delenv(ENV_VAR)
    assert data_dir_candidates() == [cdata.REPO_DATA]


def test_argument_overrides_env(fake_release, tmp_path, monkeypatch):
    fake_release("100k")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))  # empty folder: would fail
    assert load_movielens("100k", FIXTURES).nnz == 10


def test_cli_fetches_and_reports(fake_release, tmp_path, monkeypatch, capsys):
    payload = fake_release("100k")
    monkeypatch.setattr(cflib.datasets.download, "urlopen", FakeNetwork(payload))
    assert cli_main(["--data-dir", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"MovieLens 100K is ready in {tmp_path / 'ml-100k'}" in out


def test_cli_reports_errors(offline, tmp_path, capsys):
    assert cli_main(["--name", "1m", "--data-dir", str(tmp_path), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: MovieLens 1M is not available") and "ml-1m.zip" in err


def test_data_readme_documents_every_release():
    readme = (Path(__file__).parent.parent / "data" / "README.md").read_text()
    for release in RELEASES.values():
        for fact in (release.url, f"{release.size:,}", release.sha256, f"{release.n_ratings:,}"):
            assert fact in readme, f"data/README.md does not mention {fact} ({release.name})"
    assert ENV_VAR in readme


# --------------------------------------------- split files, checked like u.data
@pytest.mark.parametrize("edit,pattern", [
    # (line index in u1.test, new line), message
    ((1, "2\t3\t9\t888551150"), r"u1\.test, line 2 has a rating of 9 \(outside 1\.\.5\)"),
    ((1, "1\t2\t3\t876893171"), r"u1\.test, line 2 rates the same \(user, movie\) pair as line 1"),
    ((3, "1\t1\t5\t874965758"), r"u1\.test, line 4 rates the same \(user, movie\) pair as line 1 "
                                r"of u1\.base: a test rating must not be in the training file"),
    ((2, "3\t77\t5\t879372555"), r"u1\.test has a rating for movie id 77, which u\.item does not"),
])
def test_split_files_are_validated_naming_file_and_line(fake_release, no_env, tmp_path, edit,
                                                        pattern):
    fake_release("100k")
    folder = copy_fixture("100k", tmp_path)
    lines = (folder / "u1.test").read_text().splitlines()
    lines[edit[0]] = edit[1]
    (folder / "u1.test").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=pattern) as err:
        load_split("u1", tmp_path)
    assert str(folder / "u1.test") in str(err.value) and "python -m cflib.datasets" in str(err.value)


def test_a_rating_of_zero_in_the_base_file(fake_release, no_env, tmp_path):
    fake_release("100k")
    folder = copy_fixture("100k", tmp_path)
    text = (folder / "u1.base").read_text().replace("1\t1\t5\t", "1\t1\t0\t", 1)
    (folder / "u1.base").write_text(text)
    with pytest.raises(DataFormatError, match=r"u1\.base, line 1 has a rating of 0 \(outside"):
        load_split("u1", tmp_path)


# ------------------------------------------------------------ text encodings
@pytest.mark.parametrize("name,file,row", [("100k", "u.item", 2), ("1m", "movies.dat", 3)])
def test_latin1_file_re_encoded_as_utf8_reads_the_same_titles(fake_release, no_env, tmp_path,
                                                              name, file, row):
    fake_release(name)
    folder = copy_fixture(name, tmp_path)
    text = (folder / file).read_text(encoding="latin-1")
    (folder / file).write_text(text, encoding="utf-8")
    assert (folder / file).read_bytes().count("é".encode()) == 1  # really UTF-8 now
    d = load_movielens(name, tmp_path)
    assert d.titles[row] == "Misérables, Les (1995)"
    assert not any("Ã" in t for t in d.titles)


def test_garbled_titles_are_refused_naming_the_line(fake_release, no_env, tmp_path):
    fake_release("100k")
    folder = copy_fixture("100k", tmp_path)
    text = (folder / "u.item").read_text(encoding="latin-1")
    garbled = text.encode("utf-8").decode("latin-1")  # "MisÃ©rables", as after a bad conversion
    (folder / "u.item").write_text(garbled, encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"u\.item, line 3 holds garbled text "
                                              r"\('3\|MisÃ©rables.*converted to UTF-8 twice"):
        load_movielens("100k", tmp_path)


# ------------------------------------- folders: permissions, files in the way
def _deny_mkdtemp(monkeypatch):
    """What a read-only folder does to a non-root user (tests may run as root)."""
    def mkdtemp(*args, dir=None, **kw):
        raise PermissionError(13, "Permission denied", str(dir))

    monkeypatch.setattr(cflib.datasets.archive.tempfile, "mkdtemp", mkdtemp)


def test_read_only_folder_holding_the_zip(fake_release, no_env, tmp_path, monkeypatch, capsys):
    payload = fake_release("100k")
    (tmp_path / "ml-100k.zip").write_bytes(payload)
    _deny_mkdtemp(monkeypatch)
    with pytest.raises(cdata.DataPermissionError) as err:
        load_movielens("100k", tmp_path)
    msg = str(err.value)
    assert isinstance(err.value, PermissionError) and isinstance(err.value, DataError)
    assert f"cannot extract {tmp_path / 'ml-100k.zip'} into {tmp_path}" in msg
    assert f"chmod u+w {tmp_path}" in msg and "unzip ml-100k.zip" in msg
    assert cli_main(["--data-dir", str(tmp_path), "--no-progress"]) == 1
    err_text = capsys.readouterr().err
    assert err_text.startswith("error: cannot extract") and "Traceback" not in err_text
    assert leftovers(tmp_path) == ["ml-100k.zip"]


def test_zip_in_a_read_only_env_folder_is_extracted_into_a_writable_one(
        fake_release, tmp_path, monkeypatch):
    payload = fake_release("100k")
    ro, repo = tmp_path / "ro", tmp_path / "repo"
    ro.mkdir(), repo.mkdir()
    (ro / "ml-100k.zip").write_bytes(payload)
    monkeypatch.setenv(ENV_VAR, str(ro))
    monkeypatch.setattr(cdata, "REPO_DATA", repo)
    monkeypatch.setattr(cdata, "_writable", lambda folder: folder == repo)
    assert fetch_movielens("100k", progress=False) == repo / "ml-100k"
    assert leftovers(ro) == ["ml-100k.zip"] and leftovers(repo) == ["ml-100k"]
    # No writable folder at all: a permission error naming the folder and the fixes.
    monkeypatch.setattr(cdata, "_writable", lambda folder: False)
    (repo / "ml-100k").rename(tmp_path / "moved")
    with pytest.raises(cdata.DataPermissionError, match=rf"{ro} is read-only.*chmod u\+w {ro}.*"
                                                         rf"set {ENV_VAR}"):
        fetch_movielens("100k", progress=False)


def test_unreadable_file_is_a_cflib_error(fake_release, no_env, tmp_path, monkeypatch):
    fake_release("100k")
    folder = copy_fixture("100k", tmp_path)
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "u.user":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(cdata.DataPermissionError, match=rf"{folder / 'u.user'} cannot be read: "
                                                         r"permission denied.*chmod a\+r"):
        load_movielens("100k", tmp_path)


def test_a_file_where_the_folder_is_expected(fake_release, no_env, tmp_path):
    payload = fake_release("100k")
    (tmp_path / "ml-100k.zip").write_bytes(payload)
    (tmp_path / "ml-100k").write_text("not a folder")
    with pytest.raises(DataFormatError, match=rf"{tmp_path / 'ml-100k'} is a file, but cflib "
                                              r"expects a folder of that name there\. Move or "
                                              r"delete it"):
        load_movielens("100k", tmp_path)
    assert sorted(leftovers(tmp_path)) == ["ml-100k", "ml-100k.zip"]  # nothing half-written


def test_a_folder_where_the_zip_is_expected(fake_release, no_env, tmp_path):
    fake_release("100k")
    (tmp_path / "ml-100k.zip").mkdir()
    with pytest.raises(DataFormatError, match=r"ml-100k\.zip is a folder, but cflib expects a file"):
        load_movielens("100k", tmp_path)


def test_data_dir_that_is_a_file(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("x")
    with pytest.raises(DataNotFoundError) as err:
        load_movielens("100k", f)
    msg = str(err.value)
    assert f"data_dir is {f}, which is a file, not a folder" in msg and str(tmp_path) in msg
    assert "mkdir" not in msg


def test_zip_without_u_user_names_the_member_not_a_deleted_folder(fake_release, tmp_path,
                                                                  monkeypatch):
    fake_release("100k")
    src = copy_fixture("100k", tmp_path / "src")
    (src / "u.user").unlink()
    dest = place_archive_of(src, tmp_path / "dest", monkeypatch)
    with pytest.raises(ArchiveError) as err:
        load_movielens("100k", dest)
    msg = str(err.value)
    assert "ml-100k/ (in ml-100k.zip): u.user is missing" in msg
    assert ".tmp" not in msg and f"Delete {dest / 'ml-100k.zip'}" in msg
    assert leftovers(dest) == ["ml-100k.zip"]


CLI_CASES = {
    "no copy, no network": lambda tmp: ["--data-dir", str(tmp)],
    "data_dir is a file": lambda tmp: ["--data-dir", str(tmp / "file.txt")],
    "missing data_dir": lambda tmp: ["--data-dir", str(tmp / "nope")],
    "file where the folder goes": lambda tmp: ["--data-dir", str(tmp / "blocked")],
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_command_line_prints_one_message_never_a_traceback(tmp_path, case):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "blocked").mkdir()
    (tmp_path / "blocked" / "ml-100k").write_text("x")
    # The command line's own code in a fresh process, with urlopen failing as offline
    # (no test reaches the network, not even the official host's name).
    script = ("import sys, urllib.error, cflib.datasets.download as d\n"
              "def offline(url, timeout=None):\n"
              "    raise urllib.error.URLError('[Errno -3] Temporary failure in name resolution')\n"
              "d.urlopen = offline\n"
              "from cflib.datasets.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    env = {k: v for k, v in __import__("os").environ.items() if k != ENV_VAR}
    env.update(PYTHONPATH=str(cdata.REPO_DATA.parent))
    argv = [sys.executable, "-c", script, "--no-progress", "--timeout", "2", "--deadline", "2",
            *CLI_CASES[case](tmp_path)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr, out.stderr
    assert out.stdout == ""
    assert not any(p.name.endswith((".part", ".tmp")) for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("module", ["cflib.datasets", "cflib.data"])
def test_command_line_under_both_names(module):
    """``python -m cflib.datasets`` is the command; ``python -m cflib.data`` (the old name) still
    runs it, after a one-line note, and neither prints a double-import warning."""
    out = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", module, "--help"],
                         capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "PYTHONPATH": str(cdata.REPO_DATA.parent)})
    assert out.returncode == 0, out.stderr
    assert "usage: python -m cflib.datasets" in out.stdout
    moved = "has moved to `python -m cflib.datasets`"
    assert (moved in out.stderr) == (module == "cflib.data"), out.stderr
    assert "Traceback" not in out.stderr and "RuntimeWarning" not in out.stderr


def test_old_module_name_warns_and_keeps_the_names():
    script = ("import warnings\nwarnings.simplefilter('error')\nimport cflib\n"
              "assert 'cflib.data' not in __import__('sys').modules\n"
              "try:\n    import cflib.data\nexcept DeprecationWarning as w:\n    print(w)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "PYTHONPATH": str(cdata.REPO_DATA.parent)})
    assert out.returncode == 0, out.stderr
    assert "cflib.data has moved to cflib.datasets" in out.stdout
    with pytest.warns(DeprecationWarning):
        import importlib
        import cflib
        sys.modules.pop("cflib.data", None)
        old = importlib.import_module("cflib.data")
    assert old.load_movielens is cflib.load_movielens and old.DataError is DataError
