"""Fetching, verifying and extracting a data archive, safely.

Three steps, each leaving nothing half-done at a final name:

1. :func:`download_file` streams a URL into ``<name>.<random>.part`` next to the
   destination, checks the byte count and the sha256, and only then renames
   the file to its final name. Any failure (no network, an HTTP error, a web
   page instead of the archive, a stalled or too slow server, wrong checksum,
   Ctrl-C, SIGTERM or SIGHUP) deletes the ``.part`` file.
   :func:`download_first` tries several URLs in turn and, when all fail, says
   what each one answered.
2. :func:`verify_file` checks an archive that is already there (for example
   one a user copied in by hand); a bad one is moved aside to ``<name>.part``.
3. :func:`extract_archive` unpacks a zip into a temporary folder beside the
   destination, lets the caller validate the content, and only then renames
   the folder into place.

Two limits bound a download: ``timeout`` (the stall timeout: seconds the
server may send nothing) and ``deadline`` (seconds the whole download may
take). A read never waits longer than ``timeout``, so a download ends at most
``timeout`` seconds after its deadline.

The network is reached through the module attribute :data:`urlopen`, looked
up at call time, or through the ``opener`` argument, so tests can serve bytes
without a network.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import signal
import ssl
import tempfile
import threading
import time
import urllib.error
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from urllib.request import urlopen  # noqa: F401  (replaced by tests)

from .errors import ArchiveError, ChecksumError, DataError, DataPermissionError, DownloadError

__all__ = [
    "DataError",
    "DownloadError",
    "ChecksumError",
    "ArchiveError",
    "sha256_file",
    "download_file",
    "download_first",
    "verify_file",
    "extract_archive",
    "TIMEOUT_SECONDS",
    "DEADLINE_SECONDS",
]

CHUNK_BYTES = 1 << 16
#: Stall timeout: seconds a server may send nothing before the download is given up.
TIMEOUT_SECONDS = 30.0
#: Seconds one download from one URL may take in all.
DEADLINE_SECONDS = 300.0
# Signals that end the process but can be caught: the .part file is removed first.
_CLEANUP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


class _Terminated(BaseException):
    """Raised by the signal handler inside :func:`download_file`."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


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


def _looks_like_a_page(head: bytes, content_type: str) -> bool:
    start = head.lstrip()[:15].lower()
    return content_type.startswith("text/html") or start.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body"))


def _why(exc: BaseException, timeout: float) -> str:
    """What a failed connection or read means, in words."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered HTTP {exc.code} {exc.reason}"
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (f"the server's TLS certificate was refused ({reason.verify_message}), so the "
                f"connection is not safe")
    if isinstance(reason, ssl.SSLError):
        return f"the TLS connection failed ({reason.reason or reason})"
    if isinstance(reason, TimeoutError):  # socket.timeout is TimeoutError
        return f"the server sent nothing for {timeout:g} s (the stall timeout)"
    return f"the connection failed ({reason})"


class _Guard:
    """Turn SIGTERM / SIGHUP into an exception while a download runs (main thread only)."""

    def __enter__(self):
        self.old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in _CLEANUP_SIGNALS:
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    self.old[sig] = signal.signal(sig, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise _Terminated(signum)

    def __exit__(self, *exc):
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        return False


def download_file(url: str, dest, *, size: int, sha256: str, progress: bool = True,
                  opener=None, timeout: float = TIMEOUT_SECONDS,
                  deadline: float = DEADLINE_SECONDS) -> Path:
    """Download ``url`` to ``dest``, verified, atomically.

    The bytes go to a fresh ``<dest name>.<random>.part`` file in the same
    folder (so two processes downloading at once do not mix their bytes);
    once the byte count equals ``size`` and the sha256 equals ``sha256`` the
    file is renamed to ``dest`` (``os.replace``, atomic on one file system).
    On any failure the ``.part`` file is deleted and ``dest`` is left untouched;
    this includes SIGTERM and SIGHUP, which are then passed on to the handler
    that was there before (by default: the process ends).

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
        ``.read(n)`` (and ideally ``.read1(n)`` and ``.headers``), like
        ``urllib.request.urlopen`` (the default).
    timeout : float, default 30
        Stall timeout: seconds the server may send nothing.
    deadline : float, default 300
        Seconds the whole download may take.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DownloadError
        No connection, an HTTP error, a refused TLS certificate, a web page
        instead of the file, a stall, the deadline, or a stream that ended early.
    ChecksumError
        The download is complete but its size or sha256 is wrong.
    """
    dest = Path(dest)
    from tqdm.auto import tqdm

    opener = opener if opener is not None else globals()["urlopen"]
    fix = f"Try again later, or another URL. {_manual_fix(url, dest, size, sha256)}"
    try:
        fd, name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise DownloadError(
            f"cannot write a temporary file in {dest.parent} ({exc.strerror or exc}).",
            f"Make the folder {dest.parent} writable or choose another folder. "
            f"{_manual_fix(url, dest, size, sha256)}",
        ) from exc
    part = Path(name)
    digest = hashlib.sha256()
    received = 0
    done = False
    start = time.monotonic()
    terminated = None
    try:
        with _Guard(), os.fdopen(fd, "wb") as out, tqdm(
                total=size, unit="B", unit_scale=True, unit_divisor=1000,
                desc=dest.name, disable=not progress) as bar:
            try:
                with opener(url, timeout=min(timeout, deadline)) as response:
                    headers = getattr(response, "headers", None) or {}
                    content_type = (headers.get("Content-Type") or "").lower()
                    length = headers.get("Content-Length")
                    read = getattr(response, "read1", response.read)
                    head = b""
                    while True:
                        chunk = read(CHUNK_BYTES)
                        if not chunk:
                            break
                        if received == 0:
                            head = chunk[:512]
                            if _looks_like_a_page(head, content_type):
                                raise DownloadError(
                                    f"{url}: the server answered with a web page, not the "
                                    f"archive (it starts {head[:60]!r}); the address may have "
                                    f"moved or need a log-in.", fix)
                            if length is not None and length.isdigit() and int(length) != size:
                                raise DownloadError(
                                    f"{url}: the server offers {int(length):,} bytes, not the "
                                    f"{size:,} of the archive; it is another file.", fix)
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                        if received > size:
                            break
                        if time.monotonic() - start > deadline:
                            raise DownloadError(
                                f"{url}: the download did not finish within the deadline of "
                                f"{deadline:g} s ({received:,} of {size:,} bytes): the server "
                                f"is too slow.", fix)
            except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
                if isinstance(exc, DownloadError):
                    raise
                raise DownloadError(
                    f"{url}: {_why(exc, timeout)}, after {received:,} of {size:,} bytes.", fix,
                ) from exc
        if received < size:
            if _looks_like_a_page(head, ""):
                raise DownloadError(f"{url}: the server answered with a web page, not the "
                                    f"archive ({received:,} bytes).", fix)
            raise DownloadError(
                f"{url}: the download ended after {received:,} of {size:,} bytes "
                f"(connection interrupted); nothing was saved.", fix)
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
    except _Terminated as exc:
        terminated = exc.signum
    finally:
        if not done:
            part.unlink(missing_ok=True)
    if terminated is not None:  # the .part file is gone: now act on the signal as before
        signal.raise_signal(terminated)
        raise DownloadError(f"the download of {url} was stopped by signal {terminated}; "
                            f"nothing was saved.", fix)
    return dest


def download_first(urls, dest, *, size: int, sha256: str, progress: bool = True,
                   opener=None, timeout: float = TIMEOUT_SECONDS,
                   deadline: float = DEADLINE_SECONDS) -> Path:
    """Try :func:`download_file` with each URL in turn; the first good copy wins.

    Parameters
    ----------
    urls : sequence of str
        Tried in order. Any copy is safe to use: it must match ``size`` and ``sha256``.
    dest, size, sha256, progress, opener, timeout, deadline :
        As for :func:`download_file` (``deadline`` applies to each URL).

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DownloadError
        Every URL failed; ``reason`` says what each one answered.
    """
    urls = list(urls)
    if not urls:
        raise ValueError("urls must hold at least one URL")
    answers = []
    for url in urls:
        try:
            return download_file(url, dest, size=size, sha256=sha256, progress=progress,
                                 opener=opener, timeout=timeout, deadline=deadline)
        except (DownloadError, ChecksumError) as exc:
            reason = exc.reason if isinstance(exc, DownloadError) else str(exc).split(". ")[0]
            answers.append(f"  {reason.removeprefix(url + ': ')}" if len(urls) == 1 else
                           f"  {url}: {reason.removeprefix(url + ': ')}")
            if isinstance(exc, DownloadError) and exc.reason.startswith("cannot write"):
                raise
    what = "the URL" if len(urls) == 1 else f"each of the {len(urls)} URLs"
    raise DownloadError(f"downloading failed from {what}:\n" + "\n".join(answers) + "\n",
                        _manual_fix(urls[0], Path(dest), size, sha256))


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
