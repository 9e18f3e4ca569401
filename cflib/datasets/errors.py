"""The errors of cflib's data layer: one base class, one subclass per kind of problem.

Each also derives from the built-in exception a caller would expect
(``FileNotFoundError``, ``ValueError``, ``OSError``, ``PermissionError``, ``TypeError``), so
``except FileNotFoundError`` keeps working. ``str(error)`` always names the file
or folder and the fix.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "DataArgumentError",
    "DataNotFoundError",
    "DataFormatError",
    "DataPermissionError",
    "DownloadError",
    "ChecksumError",
    "ArchiveError",
]


class DataError(Exception):
    """Base class of every cflib data problem (missing, damaged, not downloadable)."""


class DataArgumentError(DataError, TypeError):
    """An argument of a data function has the wrong type (e.g. ``data_dir=123``)."""


class DataNotFoundError(DataError, FileNotFoundError):
    """The data (a folder, or a file in it) is not there and cannot be fetched."""


class DataFormatError(DataError, ValueError):
    """A data file is truncated, damaged, or not in the expected format."""


class DataPermissionError(DataError, PermissionError):
    """A data folder or file cannot be written or read: the message names it and the fix."""


class DownloadError(DataError, OSError):
    """The download failed: no network, an HTTP error, a stall, or an interrupted stream.

    ``str(error)`` says what happened and how to install the file by hand;
    ``error.reason`` is only what happened.
    """

    def __init__(self, reason: str, fix: str = ""):
        super().__init__(f"{reason} {fix}".strip())
        self.reason = reason


class ChecksumError(DataError, ValueError):
    """A file does not have the expected size or sha256."""


class ArchiveError(DataError, ValueError):
    """An archive cannot be read or does not hold what it should."""
