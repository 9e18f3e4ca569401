"""The side information of ml-100k (cflib.datasets.side): parsing, alignment, and malformed fields.

Hand-written files: the ml-100k fixture of tests/fixtures (u.data, u.item, u.user; made-up
ids and ratings) plus a u.occupation written here, copied to a temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from cflib.datasets import DataFormatError, load_side_info
from cflib.datasets.formats import read_ml100k
from cflib.datasets.side import SideInfo, read_ml100k_side

FIXTURE = Path(__file__).parent / "fixtures" / "ml-100k"
OCCUPATIONS = "administrator\nother\ntechnician\nwriter\n"


@pytest.fixture
def folder(tmp_path):
    dest = tmp_path / "ml-100k"
    dest.mkdir()
    for f in FIXTURE.glob("*.fixture"):
        shutil.copyfile(f, dest / f.stem)
    (dest / "u.occupation").write_text(OCCUPATIONS)
    return dest


def test_fixture_parses_and_aligns(folder):
    side = read_ml100k_side(folder)
    full = read_ml100k(folder)
    assert isinstance(side, SideInfo)
    assert side.age.tolist() == [24, 53, 23, 24]
    assert side.gender.tolist() == ["M", "F", "M", "M"]
    assert [side.occupations[o] for o in side.occupation] == ["technician", "other", "writer", "technician"]
    assert side.zip_code.tolist() == ["85711", "94043", "32067", "43537"]
    # movie 4 ("unknown") has no release date
    assert side.release_year[:3].tolist() == [1995.0, 1995.0, 1995.0]
    assert np.isnan(side.release_year[3]) and side.release_year[4] == 1990.0
    assert side.genres.shape == (5, 19) and side.genre_names[0] == "unknown"
    side.check_matches(full)
    times = side.rating_times(full.movies, full.users)
    assert np.array_equal(times, full.timestamps)
    # a pair nobody rated has no date
    assert side.rating_times(np.array([4]), np.array([0])).tolist() == [-1]
    assert "4 users" in repr(side)


def test_user_lines_out_of_order_are_aligned(folder):
    path = folder / "u.user"
    lines = path.read_text().strip().split("\n")
    path.write_text("\n".join(lines[::-1]) + "\n")
    assert read_ml100k_side(folder).age.tolist() == [24, 53, 23, 24]


def _replace_line(path: Path, lineno: int, new: str, encoding="latin-1"):
    lines = path.read_text(encoding=encoding).rstrip("\n").split("\n")
    lines[lineno - 1] = new
    path.write_text("\n".join(lines) + "\n", encoding=encoding)


@pytest.mark.parametrize("file, lineno, line, pattern", [
    ("u.user", 2, "2|fifty|F|other|94043", r"u\.user, line 2 has the age 'fifty'"),
    ("u.user", 2, "2|0|F|other|94043", r"line 2 has the age '0'.*between 1 and 120"),
    ("u.user", 3, "3|23|X|writer|32067", r"line 3 has the gender 'X', expected one of F, M"),
    ("u.user", 1, "1|24|M|astronaut|85711", r"line 1 has the occupation 'astronaut', which u\.occupation"),
    ("u.user", 4, "4|24|M|technician|43 537", r"line 4 has the zip code '43 537'"),
    ("u.user", 4, "4|24|M|technician", r"u\.user, line 4 has 4 fields, expected 5"),
    ("u.user", 4, "x|24|M|technician|43537", r"u\.user has a user id that is not a whole number"),
    ("u.item", 2, "2|GoldenEye (1995)|1995-01-01||x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0",
     r"u\.item, line 2 has the release date '1995-01-01', expected a date such as 01-Jan-1995"),
    ("u.item", 2, "2|GoldenEye (1995)|31-Feb-1995||x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0",
     r"line 2 has the release date '31-Feb-1995'"),
    ("u.item", 2, "2|GoldenEye (1995)|01-Jan-0195||x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0",
     r"line 2 has the release date '01-Jan-0195', whose year is not between 1870 and now"),
    ("u.occupation", 2, "", r"u\.occupation, line 2 is empty"),
    ("u.occupation", 3, "administrator", r"u\.occupation, line 3 lists the occupation 'administrator' a second time"),
])
def test_malformed_field_is_named_with_the_fix(folder, file, lineno, line, pattern):
    _replace_line(folder / file, lineno, line)
    with pytest.raises(DataFormatError, match=pattern) as info:
        read_ml100k_side(folder)
    assert "python -m cflib.datasets --name 100k" in str(info.value)  # the fix
    assert str(folder / file) in str(info.value)


def test_missing_occupation_file_is_named(folder):
    (folder / "u.occupation").unlink()
    with pytest.raises(FileNotFoundError, match=r"u\.occupation is missing"):
        read_ml100k_side(folder)


def test_user_listed_twice_is_an_error(folder):
    path = folder / "u.user"
    path.write_text(path.read_text() + "4|30|F|writer|10001\n")
    with pytest.raises(DataFormatError, match=r"u\.user lists user id 4 more than once"):
        read_ml100k_side(folder, full=None)


def test_check_matches_refuses_other_data(folder):
    import cflib

    side = read_ml100k_side(folder)
    with pytest.raises(ValueError, match="does not have the movies and users"):
        side.check_matches(cflib.make_synthetic(n_movies=6, n_users=4, density=0.5, seed=0))
    with pytest.raises(TypeError, match="must be a cflib.Ratings"):
        side.check_matches("ratings")


def test_real_side_info(movielens):
    side = load_side_info()
    assert (side.n_users, side.n_movies) == (943, 1682)
    assert len(side.occupations) == 21 and side.age.min() >= 1
    assert np.isnan(side.release_year).sum() == 1  # movie 267, "unknown"
    assert side.rated_times.size == 100_000
