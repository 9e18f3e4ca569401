"""Reading MovieLens text files into checked text, lines, fields and numbers.

The building blocks of the readers in :mod:`cflib.datasets.formats`: the whole
text of a file in the right encoding (:func:`read_text`), lines split into a
fixed number of fields, whole-number ids, and numeric tables. Each one raises a
:class:`~cflib.datasets.errors.DataFormatError` (or the not-found or permission
error) naming the file, the line and the fix; none of them knows a release.
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np

from .errors import DataFormatError, DataNotFoundError, DataPermissionError

__all__ = ["fields_text", "numeric_table", "parse_ids", "read_text", "repair_hint", "split_lines"]

_MOJIBAKE = re.compile("[\u00c2-\u00c3][\u0080-\u00bf]")


def repair_hint(folder: Path) -> str:
    name = folder.name.removeprefix("ml-")
    return (
        f"Delete the folder {folder} and run `python -m cflib.datasets --name {name}` to "
        f"download it again, or put a good {folder.name}.zip in {folder.parent}."
    )


def _open_error(path: Path, exc: OSError):
    if isinstance(exc, FileNotFoundError):
        return DataNotFoundError(
            f"{path} is missing: the folder is incomplete. {repair_hint(path.parent)}")
    if isinstance(exc, PermissionError):
        return DataPermissionError(
            f"{path} cannot be read: permission denied. Make it readable "
            f"(chmod a+r {path}), or copy the folder {path.parent} somewhere you can read "
            f"and set CFLIB_DATA_DIR to the folder holding the copy.")
    if isinstance(exc, IsADirectoryError):
        return DataFormatError(f"{path} is a folder, not a file. {repair_hint(path.parent)}")
    return DataFormatError(f"{path} cannot be read ({exc.strerror or exc}). "
                           f"{repair_hint(path.parent)}")


def read_text(path: Path, encoding: str) -> str:
    """The whole text of a data file; ``encoding="latin-1"`` also accepts UTF-8.

    GroupLens ships u.item and movies.dat in Latin-1. A copy re-encoded as
    UTF-8 (an editor or a conversion tool may do this) is valid UTF-8, which
    Latin-1 text with accents almost never is: such a file is read as UTF-8,
    so "Misérables" stays "Misérables" instead of becoming "MisÃ©rables".
    Text converted twice (the garbled form stored as UTF-8) is refused, naming
    the line.

    Raises
    ------
    DataNotFoundError, DataPermissionError, DataFormatError
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode) and not Path(path).is_dir():
            raise DataFormatError(  # a FIFO or a device would be read forever
                f"{path} is not a regular file (a pipe, socket or device): cflib reads data files "
                f"only. {repair_hint(Path(path).parent)}")
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _open_error(path, exc) from None
    if encoding == "latin-1":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
            if re.search("[\u0080-\u009f]", text):  # control codes in Latin-1: Windows-1252 bytes
                try:
                    text = raw.decode("cp1252")  # e.g. 0x92 is a right quote, not U+0092
                except UnicodeDecodeError as exc:
                    raise DataFormatError(
                        f"{path} holds byte 0x{raw[exc.start]:02x} at byte {exc.start:,}, which is "
                        f"neither Latin-1 text nor Windows-1252. {repair_hint(Path(path).parent)}"
                    ) from None
    else:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise DataFormatError(
                f"{path} is not valid {encoding} text ({exc.reason} at byte {exc.start:,}). "
                f"{repair_hint(path.parent)}"
            ) from None
    bad = _MOJIBAKE.search(text)
    if bad:
        lineno = text.count("\n", 0, bad.start()) + 1
        line = text.split("\n")[lineno - 1]
        raise DataFormatError(
            f"{path}, line {lineno:,} holds garbled text ({line[:80]!r}: {bad.group()!r} is an "
            f"accented letter converted to UTF-8 twice). Restore the original file. "
            f"{repair_hint(path.parent)}"
        )
    return text


def fields_text(n: int) -> str:
    return f"{n} field" + ("" if n == 1 else "s")


def _bad_line(text: str, n_cols: int, path: Path, sep, dtype, first_line: int):
    """Raise a DataFormatError naming the first line that does not parse."""
    convert = int if np.issubdtype(dtype, np.integer) else float
    for lineno, line in enumerate(text.split("\n"), start=first_line):
        line = line.rstrip("\r")
        fields = line.split(sep) if sep else line.split()
        problem = None
        if len(fields) != n_cols:
            problem = f"has {fields_text(len(fields))}, expected {n_cols}"
        else:
            try:
                [convert(f) for f in fields]
            except ValueError:
                problem = f"has a field that is not a {'whole ' if convert is int else ''}number"
        if problem:
            raise DataFormatError(
                f"{path}, line {lineno:,} {problem} ({line[:80]!r}); the file is truncated "
                f"or damaged. {repair_hint(path.parent)}"
            )
    raise DataFormatError(f"{path} could not be parsed. {repair_hint(path.parent)}")


def numeric_table(text: str, n_cols: int, path: Path, *, sep=None, dtype=np.int64,
                   first_line: int = 1) -> np.ndarray:
    """Parse lines of ``n_cols`` numbers into an array of shape (n_lines, n_cols).

    ``np.fromstring`` does the work (about 10 times faster than splitting in
    Python); only when it fails is the text walked line by line to name the
    bad line.
    """
    body = text.strip()
    n_lines = body.count("\n") + 1 if body else 0
    flat = body.replace(sep, " ") if sep else body
    values = None
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            values = np.fromstring(flat, dtype=dtype, sep=" ")
        except (ValueError, DeprecationWarning):
            values = None
    if values is None or values.size != n_lines * n_cols or not _same_field_counts(flat, n_lines, n_cols):
        _bad_line(body, n_cols, path, sep, dtype, first_line)
    return values.reshape(n_lines, n_cols)


def _same_field_counts(flat: str, n_lines: int, n_cols: int) -> bool:
    """Every line of ``flat`` (whitespace-separated) has ``n_cols`` fields: a line with
    one field too few and another with one too many have the right total, not the right rows."""
    if n_lines == 0:
        return True
    b = np.frombuffer(flat.encode("utf-8", "replace"), dtype=np.uint8)
    space = (b == 32) | (b == 9) | (b == 13) | (b == 10)
    starts = np.flatnonzero(~space & np.concatenate(([True], space[:-1])))  # first byte of each field
    ends = np.append(np.flatnonzero(b == 10), b.size)  # one per line
    return ends.size == n_lines and bool(np.all(np.diff(np.searchsorted(starts, ends), prepend=0) == n_cols))


def split_lines(text: str, sep: str, n_fields: int, path: Path, *, maxsplit=-1,
                 first_line: int = 1):
    rows = []
    for lineno, line in enumerate(text.strip("\r\n").split("\n"), start=first_line):
        parts = line.rstrip("\r").split(sep, maxsplit)
        if len(parts) != n_fields:
            raise DataFormatError(
                f"{path}, line {lineno:,} has {fields_text(len(parts))}, expected {n_fields} "
                f"({line[:80]!r}); the file is truncated or damaged. {repair_hint(path.parent)}"
            )
        rows.append(parts)
    return rows


def parse_ids(column, path: Path, what: str) -> np.ndarray:
    try:
        return np.array([int(v) for v in column], dtype=np.int64)
    except ValueError as exc:
        raise DataFormatError(f"{path} has a {what} id that is not a whole number ({exc}). "
                              f"{repair_hint(path.parent)}") from None
