"""Downloading a data archive, safely: verified, atomic, bounded in time.

:func:`download_file` streams a URL into ``<name>.<random>.part`` next to the
destination, checks the byte count and the sha256, and only then renames
the file to its final name. Any failure (no network, an HTTP error, a web
page instead of the archive, a stalled or too slow server, wrong checksum,
Ctrl-C, SIGTERM or SIGHUP) deletes the ``.part`` file.
:func:`download_first` tries several URLs in turn and, when all fail, says
what each one answered. Checking and unpacking an archive that is already on
disk is :mod:`cflib.datasets.archive`'s job.

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
import signal
import ssl
import tempfile
import threading
import time
import urllib.error
from pathlib import Path
from urllib.request import urlopen  # noqa: F401  (replaced by tests)

from ..arguments import check_scalar
from .errors import ChecksumError, DataError, DownloadError

__all__ = [
    "DataError",
    "DownloadError",
    "ChecksumError",
    "sha256_file",
    "download_file",
    "download_first",
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


def manual_fix(url: str, dest: Path, size: int, sha256: str) -> str:
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


def check_limits(timeout, deadline):
    """``timeout`` and ``deadline`` checked: finite numbers of seconds > 0 (not strings, not NaN)."""
    return (check_scalar(timeout, "timeout", min_val=0.0, include_boundaries="right"),
            check_scalar(deadline, "deadline", min_val=0.0, include_boundaries="right"))


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
    TypeError, ValueError
        ``timeout`` or ``deadline`` is not a number of seconds > 0.
    """
    timeout, deadline = check_limits(timeout, deadline)
    dest = Path(dest)
    from tqdm.auto import tqdm

    opener = opener if opener is not None else globals()["urlopen"]
    fix = f"Try again later, or another URL. {manual_fix(url, dest, size, sha256)}"
    try:
        fd, name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise DownloadError(
            f"cannot write a temporary file in {dest.parent} ({exc.strerror or exc}).",
            f"Make the folder {dest.parent} writable or choose another folder. "
            f"{manual_fix(url, dest, size, sha256)}",
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
                after = f", after {received:,} of {size:,} bytes" if received else ""
                raise DownloadError(f"{url}: {_why(exc, timeout)}{after}.", fix) from exc
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
                f"{manual_fix(url, dest, size, sha256)}"
            )
        got = digest.hexdigest()
        if got != sha256:
            raise ChecksumError(
                f"the download of {url} has the wrong sha256: expected {sha256}, got {got}. "
                f"The file was deleted. Try again; if this persists the file on the server "
                f"differs from the one this course was checked against. "
                f"{manual_fix(url, dest, size, sha256)}"
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
            if isinstance(exc, DownloadError):
                reason = exc.reason.removeprefix(f"{url}: ")
            else:  # the first sentence, about "the file" rather than the URL again
                reason = str(exc).split(". ")[0].replace(f"the download of {url}", "the file")
            answers.append(f"  {reason}" if len(urls) == 1 else f"  {url}: {reason}")
            if isinstance(exc, DownloadError) and exc.reason.startswith("cannot write"):
                raise
    what = "the URL" if len(urls) == 1 else f"each of the {len(urls)} URLs"
    raise DownloadError(f"downloading failed from {what}:\n" + "\n".join(answers) + "\n",
                        manual_fix(urls[0], Path(dest), size, sha256))
