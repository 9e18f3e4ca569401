"""Checking and unpacking an archive that is on disk, leaving nothing half-done.

* :func:`verify_file` checks an archive that is already there (for example
  one a user copied in by hand) against its size and sha256; a bad one is
  moved aside to ``<name>.part`` so that it is never used again.
* :func:`extract_archive` unpacks a zip into a temporary folder beside the
  destination (refusing members outside the expected folder and CRC errors),
  lets the caller validate the content, and only then renames the folder
  into place.

Both raise cflib errors that name the file and the fix: a read-only folder
is a :class:`DataPermissionError`, never a raw ``PermissionError``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from .download import manual_fix, sha256_file
from .errors import ArchiveError, ChecksumError, DataError, DataPermissionError

__all__ = ["verify_file", "extract_archive"]


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


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
        never used again under its final name (if its folder is read-only it
        stays, and the message says to remove it).
    DataPermissionError
        The file cannot be read.
    """
    path = Path(path)
    try:
        actual_size = path.stat().st_size
        got = sha256_file(path) if actual_size == size else None
    except PermissionError:
        raise DataPermissionError(
            f"{path} cannot be read: permission denied. Make it readable (chmod a+r {path}) "
            f"or put a readable copy there."
        ) from None
    if got == sha256:
        return path
    part = _part_path(path)
    found = (f"has {actual_size:,} bytes, expected {size:,}" if got is None
             else f"has the wrong sha256: expected {sha256}, got {got}")
    try:
        os.replace(path, part)
        moved = f"It was moved to {part} so it is not used again (delete it). "
    except OSError:
        moved = f"Its folder is read-only, so it is still there: remove it ({path}). "
    raise ChecksumError(
        f"{path} {found}. {moved}"
        + manual_fix(url or "the official archive", path, size, sha256)
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


def _inside_archive(message: str, extracted: Path, archive: Path, root: str) -> str:
    """A validation message about the temporary folder, told about the archive instead."""
    message = message.split(" Delete the folder ")[0]
    return message.replace(str(extracted), f"{root}/ (in {archive.name})").replace(
        f"(in {archive.name})/", f"(in {archive.name}): ")


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
        ``validate(folder)`` raising a :class:`DataError` if the content is wrong.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    ArchiveError
        The file is not a readable zip, a member fails its CRC check, a
        member lies outside ``root/``, or ``validate`` rejected the content
        (the message names the member, never the deleted temporary folder).
    DataPermissionError
        ``dest``'s folder is read-only.
    """
    archive, dest = Path(archive), Path(dest)
    root = root or dest.name
    fix = f"Delete {archive} and download it again (or copy a good one there)."
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f"{dest.name}-", suffix=".tmp", dir=dest.parent))
    except PermissionError:
        raise DataPermissionError(
            f"cannot extract {archive} into {dest.parent}: permission denied (the folder is "
            f"read-only). Fix: make it writable (chmod u+w {dest.parent}), or extract it "
            f"yourself (cd {dest.parent} && unzip {archive.name}), or copy {archive.name} to "
            f"a writable folder and use that one."
        ) from None
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
                    f"{archive} unpacked, but its content is not as expected: "
                    f"{_inside_archive(str(exc), extracted, archive, root)} {fix}"
                ) from exc
        try:
            os.rename(extracted, dest)
        except OSError:
            if not dest.is_dir():  # someone else extracting at the same time is fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
