"""Fetching, verifying and extracting a data archive, safely.

Three steps, each leaving nothing half-done at a final name:

1. :func:`download_file` streams a URL into ``<name>.<random>.part`` next to the
   destination, checks the byte count and the sha256, and only then renames
   the file to its final name. Any failure (no network, interrupted stream,
   wrong checksum, Ctrl-C) deletes the ``.part`` file.
2. :func:`verify_file` checks an archive that is already there (for example
   one a user copied in by hand); a bad one is moved aside to ``<name>.part``.
3. :func:`extract_archive` unpacks a zip into a temporary folder beside the
   destination, lets the caller validate the content, and only then renames
   the folder into place.

The network is reached through the module attribute :data:`urlopen`, looked
up at call time, or through the ``opener`` argument, so tests can serve bytes
without a network.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from urllib.request import urlopen  # noqa: F401  (replaced by tests)

__all__ = [
    "DataError",
    "DownloadError",
    "ChecksumError",
    "ArchiveError",
    "sha256_file",
    "download_file",
    "verify_file",
    "extract_archive",
]

CHUNK_BYTES = 1 << 16
TIMEOUT_SECONDS = 30


class DataError(Exception):
    """Base class of every cflib data problem (missing, damaged, not downloadable)."""


class DownloadError(DataError, OSError):
    """The download failed: no network, an HTTP error, or an interrupted stream.

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


def sha256_file(path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _manual_fix(url: str, dest: Path, size: int, sha256: str) -> str:
    return (
        f"To install it by hand: download {url} on a machine with internet access, "
        f"check that it has {size:,} bytes and sha256 {sha256}, and put it at {dest}."
    )


def download_file(url: str, dest, *, size: int, sha256: str, progress: bool = True,
                  opener=None, timeout: float = TIMEOUT_SECONDS) -> Path:
    """Download ``url`` to ``dest``, verified, atomically.

    The bytes go to a fresh ``<dest name>.<random>.part`` file in the same
    folder (so two processes downloading at once do not mix their bytes);
    once the byte count equals ``size`` and the sha256 equals ``sha256`` the
    file is renamed to ``dest`` (``os.replace``, atomic on one file system).
    On any failure the ``.part`` file is deleted and ``dest`` is left untouched.

    Parameters
    ----------
    url : str
    dest : path
        Final location of the file; its folder must exist and be writable.
    size : int
        Expected number of bytes.
    sha256 : str
        Expected hex sha256 of the whole file.
    progress : bool
        Show a progress bar (``tqdm.auto``: a widget in Jupyter, text elsewhere).
    opener : callable, optional
        ``opener(url, timeout=...)`` returning a context manager with
        ``.read(n)``, like ``urllib.request.urlopen`` (the default).
    timeout : float
        Seconds to wait for the server before giving up.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DownloadError
        No connection, an HTTP error, or the stream ended early.
    ChecksumError
        The download is complete but its size or sha256 is wrong.
    """
    dest = Path(dest)
    from tqdm.auto import tqdm

    opener = opener if opener is not None else globals()["urlopen"]
    try:
        fd, name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise DownloadError(
            f"cannot write a temporary file in {dest.parent} ({exc.strerror or exc}).",
            f"Make the folder {dest.parent} writable or choose another folder. "
            f"{_manual_fix(url, dest, size, sha256)}",
        ) from exc
    part = Path(name)
    out = os.fdopen(fd, "wb")
    digest = hashlib.sha256()
    received = 0
    done = False
    try:
        with out, tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1000,
                       desc=dest.name, disable=not progress) as bar:
            try:
                with opener(url, timeout=timeout) as response:
                    while True:
                        chunk = response.read(CHUNK_BYTES)
                        if not chunk:
                            break
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                        if received > size:
                            break
            except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
                reason = getattr(exc, "reason", None) or exc
                raise DownloadError(
                    f"downloading {url} failed after {received:,} of {size:,} bytes: {reason}.",
                    f"Check the internet connection and try again. "
                    f"{_manual_fix(url, dest, size, sha256)}",
                ) from exc
        if received < size:
            raise DownloadError(
                f"the download of {url} ended after {received:,} of {size:,} bytes "
                f"(connection interrupted); nothing was saved.",
                f"Try again. {_manual_fix(url, dest, size, sha256)}",
            )
        if received > size:
            raise ChecksumError(
                f"the download of {url} is larger than the expected {size:,} bytes; "
                f"the server sent a different file, nothing was saved. "
                f"{_manual_fix(url, dest, size, sha256)}"
            )
        got = digest.hexdigest()
        if got != sha256:
            raise ChecksumError(
                f"the download of {url} has the wrong sha256: expected {sha256}, got {got}. "
                f"The file was deleted. Try again; if this persists the file on the server "
                f"differs from the one this course was checked against. "
                f"{_manual_fix(url, dest, size, sha256)}"
            )
        os.chmod(part, 0o644)  # mkstemp made it private; it is an ordinary data file
        os.replace(part, dest)
        done = True
    finally:
        if not done:
            part.unlink(missing_ok=True)
    return dest


def verify_file(path, *, size: int, sha256: str, url: str = "") -> Path:
    """Check a file's size and sha256; move a bad file aside to ``.part``.

    Parameters
    ----------
    path : path
    size : int
        Expected number of bytes.
    sha256 : str
        Expected hex sha256.
    url : str
        Where a good copy comes from (used in the error message).

    Raises
    ------
    ChecksumError
        After renaming the bad file to ``path`` + ``".part"``, so that it is
        never used again under its final name.
    """
    path = Path(path)
    actual_size = path.stat().st_size
    got = sha256_file(path) if actual_size == size else None
    if got == sha256:
        return path
    part = _part_path(path)
    os.replace(path, part)
    found = (f"has {actual_size:,} bytes, expected {size:,}" if got is None
             else f"has the wrong sha256: expected {sha256}, got {got}")
    raise ChecksumError(
        f"{path} {found}. It was moved to {part} so it is not used again (delete it). "
        + _manual_fix(url or "the official archive", path, size, sha256)
        + " Or simply delete it: cflib then downloads the archive itself."
    )


def _check_members(zf: zipfile.ZipFile, root: str, archive: Path):
    for member in zf.namelist():
        p = PurePosixPath(member)
        if p.is_absolute() or ".." in p.parts or p.parts[:1] != (root,):
            raise ArchiveError(
                f"{archive} contains {member!r}, outside the expected folder {root}/; "
                "it is not the official archive. Delete it and download it again."
            )


def extract_archive(archive, dest, *, root: str | None = None, validate=None) -> Path:
    """Extract a zip whose files all lie under ``root/`` into the folder ``dest``.

    The zip is unpacked into a temporary folder beside ``dest``; ``validate``
    (if given) is called with the extracted folder; only then is it renamed
    to ``dest``. On any failure the temporary folder is removed and ``dest``
    does not appear.

    Parameters
    ----------
    archive : path
    dest : path
        Folder to create; must not exist yet.
    root : str, optional
        The single top-level folder inside the zip (default: ``dest``'s name).
    validate : callable, optional
        ``validate(folder)`` raising an exception if the content is wrong.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    ArchiveError
        The file is not a readable zip, a member fails its CRC check, a
        member lies outside ``root/``, or ``validate`` rejected the content.
    """
    archive, dest = Path(archive), Path(dest)
    root = root or dest.name
    fix = f"Delete {archive} and download it again (or copy a good one there)."
    tmp = Path(tempfile.mkdtemp(prefix=f"{dest.name}-", suffix=".tmp", dir=dest.parent))
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                _check_members(zf, root, archive)
                bad = zf.testzip()
                if bad is not None:
                    raise ArchiveError(f"{archive} is damaged: {bad} fails its CRC check. {fix}")
                zf.extractall(tmp)
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise ArchiveError(f"{archive} is not a valid zip archive ({exc}). {fix}") from exc
        extracted = tmp / root
        if not extracted.is_dir():
            raise ArchiveError(f"{archive} holds no {root}/ folder. {fix}")
        if validate is not None:
            try:
                validate(extracted)
            except DataError as exc:
                raise ArchiveError(
                    f"{archive} unpacked, but its content is not as expected: {exc}"
                ) from exc
        try:
            os.rename(extracted, dest)
        except OSError:
            if not dest.is_dir():  # someone else extracting at the same time is fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest

