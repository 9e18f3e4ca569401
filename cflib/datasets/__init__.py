"""The data sets of the course: where they are found, fetched, checked and parsed.

===========================  ===================================================
module                       responsibility
===========================  ===================================================
:mod:`.movielens`            where the data is looked for; ``load_movielens``,
                             ``load_split``, ``fetch_movielens``
:mod:`.releases`             one record per release (URLs, size, sha256, counts,
                             reader)
:mod:`.formats`              the readers of the three file layouts and the splits
:mod:`.text`                 files into checked text, fields and numbers
:mod:`.download`             downloads: URL list, stall timeout, deadline, messages
:mod:`.archive`              checking a zip on disk and extracting it atomically
:mod:`.errors`               the error classes, all :class:`DataError`
:mod:`.cli`                  ``python -m cflib.datasets``
===========================  ===================================================
"""

from .errors import (
    ArchiveError,
    ChecksumError,
    DataArgumentError,
    DataError,
    DataFormatError,
    DataNotFoundError,
    DataPermissionError,
    DownloadError,
)
from .movielens import ENV_VAR, SPLITS, data_dir_candidates, fetch_movielens, load_movielens, load_split
from .releases import RELEASES, URL_ENV_VAR, Release, release_urls
from .side import load_side_info

__all__ = [
    "load_movielens",
    "load_split",
    "load_side_info",
    "fetch_movielens",
    "data_dir_candidates",
    "release_urls",
    "ENV_VAR",
    "URL_ENV_VAR",
    "RELEASES",
    "Release",
    "SPLITS",
    "DataError",
    "DataArgumentError",
    "DataNotFoundError",
    "DataFormatError",
    "DataPermissionError",
    "DownloadError",
    "ChecksumError",
    "ArchiveError",
]
