"""cflib.datasets.download against a real HTTP server on 127.0.0.1 that plays each failure in turn.

The server (a thread of this process, bound to the loopback address only)
answers by path: ``/good/``, ``/trickle/`` (one byte every 0.25 s; ``/trickle-2s/``
every 2 s), ``/stall/``
(headers, then silence), ``/page/`` (a 27-byte HTML reply), ``/wrong/`` (the
right size, other bytes), anything else 404; a second server speaks TLS with a
self-signed certificate. Limits are small (about a second) so the whole file
runs in seconds. Nothing leaves the machine.
"""

import hashlib
import http.server
import os
import shutil
import signal
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

import cflib.datasets.download
import cflib.datasets.movielens as cdata
from cflib.datasets import RELEASES, URL_ENV_VAR, DataNotFoundError, load_movielens, release_urls
from cflib.datasets.download import DownloadError, download_file, download_first
from test_data import FIXTURE_COUNTS, FIXTURES, zip_folder

PAYLOAD = zip_folder(FIXTURES / "ml-100k", "ml-100k")
SHA = hashlib.sha256(PAYLOAD).hexdigest()
PAGE = b"<html><body>moved</body></html>"[:27]
TRICKLE_SECONDS = 0.25
MAX_SECONDS = 20  # every handler stops by itself after this


class Handler(http.server.BaseHTTPRequestHandler):
    log = []

    def log_message(self, *args):  # keep the test output clean
        pass

    def _head(self, code=200, length=len(PAYLOAD), ctype="application/zip"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self):
        Handler.log.append(self.path)
        kind = self.path.strip("/").split("/")[0]
        try:
            if kind == "good":
                self._head()
                self.wfile.write(PAYLOAD)
            elif kind == "wrong":
                self._head()
                self.wfile.write(bytes(b ^ 0x55 for b in PAYLOAD[:1]) + PAYLOAD[1:])
            elif kind in ("page", "page-plain"):
                self._head(length=len(PAGE), ctype="text/html" if kind == "page" else "text/plain")
                self.wfile.write(PAGE)
            elif kind in ("trickle", "trickle-2s"):
                self._head()
                start = time.monotonic()
                pause = TRICKLE_SECONDS if kind == "trickle" else 2.0
                for b in PAYLOAD:
                    if time.monotonic() - start > MAX_SECONDS:
                        break
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(pause)
            elif kind == "stall":
                self._head()
                self.wfile.write(PAYLOAD[:10])
                self.wfile.flush()
                time.sleep(3)
            else:
                self._head(404, length=9, ctype="text/plain")
                self.wfile.write(b"not found")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up, as it should


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    _serve(httpd)
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """HTTPS with a self-signed certificate: urllib must refuse it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    _serve(httpd)
    yield f"https://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def real_urlopen(monkeypatch):
    """These tests use the real urllib (test_data.py's offline fixture does not apply here)."""
    import urllib.request

    monkeypatch.setattr(cflib.datasets.download, "urlopen", urllib.request.urlopen)
    monkeypatch.delenv(URL_ENV_VAR, raising=False)
    monkeypatch.delenv(cdata.ENV_VAR, raising=False)


def fetch(url, dest, **kw):
    kw = {"timeout": 1.0, "deadline": 1.5, "progress": False, **kw}
    return download_file(url, dest, size=len(PAYLOAD), sha256=SHA, **kw)


def test_good_download(server, tmp_path):
    assert fetch(f"{server}/good/ml-100k.zip", tmp_path / "a.zip").read_bytes() == PAYLOAD
    assert os.listdir(tmp_path) == ["a.zip"]


def test_trickle_ends_at_the_deadline(server, tmp_path):
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"did not finish within the deadline of 1\.5 s "
                                            r"\(\d+ of [\d,]+ bytes\): the server is too slow"):
        fetch(f"{server}/trickle/ml-100k.zip", tmp_path / "a.zip")
    # Each read waits at most the stall timeout, so the overshoot is bounded by it.
    assert time.monotonic() - start < 1.5 + 1.0 + 1.0
    assert os.listdir(tmp_path) == []


def test_one_byte_every_two_seconds_never_stalls_but_meets_the_deadline(server, tmp_path):
    # With the default 30 s stall timeout each read succeeds: only the deadline can end it.
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"did not finish within the deadline of 3 s"):
        fetch(f"{server}/trickle-2s/ml-100k.zip", tmp_path / "a.zip", timeout=30, deadline=3)
    assert time.monotonic() - start < 3 + 2 + 1.5
    assert os.listdir(tmp_path) == []


def test_stall_ends_at_the_timeout(server, tmp_path):
    with pytest.raises(DownloadError, match=r"sent nothing for 0\.5 s \(the stall timeout\), "
                                            r"after 10 of"):
        fetch(f"{server}/stall/ml-100k.zip", tmp_path / "a.zip", timeout=0.5, deadline=5)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kind", ["page", "page-plain"])
def test_a_web_page_is_named_as_such(server, tmp_path, kind):
    assert len(PAGE) == 27
    with pytest.raises(DownloadError, match=r"the server answered with a web page, not the archive"):
        fetch(f"{server}/{kind}/ml-100k.zip", tmp_path / "a.zip")
    assert os.listdir(tmp_path) == []


def test_404(server, tmp_path):
    with pytest.raises(DownloadError, match=r"the server answered HTTP 404 Not Found"):
        fetch(f"{server}/missing/ml-100k.zip", tmp_path / "a.zip")
    assert os.listdir(tmp_path) == []


def test_self_signed_certificate_is_refused(tls_server, tmp_path):
    with pytest.raises(DownloadError, match=r"TLS certificate was refused \(self.signed "
                                            r"certificate\)"):
        fetch(f"{tls_server}/good/ml-100k.zip", tmp_path / "a.zip")
    assert os.listdir(tmp_path) == []


def test_wrong_checksum_then_the_next_url(server, tmp_path):
    Handler.log.clear()
    dest = download_first([f"{server}/wrong/ml-100k.zip", f"{server}/good/ml-100k.zip"],
                          tmp_path / "a.zip", size=len(PAYLOAD), sha256=SHA, progress=False,
                          timeout=1, deadline=2)
    assert dest.read_bytes() == PAYLOAD
    assert Handler.log == ["/wrong/ml-100k.zip", "/good/ml-100k.zip"]


def test_every_failure_in_turn_then_one_message(server, tls_server, tmp_path, monkeypatch):
    """Through load_movielens: each URL's answer is reported, and where to put the archive."""
    urls = (f"{server}/trickle/ml-100k.zip", f"{server}/page/ml-100k.zip",
            f"{tls_server}/good/ml-100k.zip", f"{server}/missing/ml-100k.zip",
            f"{server}/wrong/ml-100k.zip")
    n_ratings, n_movies, n_users = FIXTURE_COUNTS["100k"]
    monkeypatch.setitem(RELEASES, "100k", replace(
        RELEASES["100k"], urls=urls, size=len(PAYLOAD), sha256=SHA, n_ratings=n_ratings,
        n_movies=n_movies, n_users=n_users))
    start = time.monotonic()
    with pytest.raises(DataNotFoundError) as err:
        load_movielens("100k", tmp_path, progress=False, timeout=1.0, deadline=1.0)
    assert time.monotonic() - start < 10
    msg = str(err.value)
    expected = [
        (urls[0], "did not finish within the deadline of 1 s"),
        (urls[1], "answered with a web page, not the archive"),
        (urls[2], "TLS certificate was refused"),
        (urls[3], "HTTP 404 Not Found"),
        (urls[4], "has the wrong sha256"),
    ]
    lines = msg.splitlines()
    for url, answer in expected:
        assert any(line.strip().startswith(url) and answer in line for line in lines), (url, msg)
    assert "each of the 5 URLs" in msg
    assert f"put it in {tmp_path}" in msg and "on another machine" in msg
    assert os.listdir(tmp_path) == []
    # The first good URL in the list is used.
    monkeypatch.setitem(RELEASES, "100k", replace(
        RELEASES["100k"], urls=urls[3:] + (f"{server}/good/ml-100k.zip",)))
    assert load_movielens("100k", tmp_path, progress=False, timeout=1.0).nnz == n_ratings
    assert sorted(os.listdir(tmp_path)) == ["ml-100k", "ml-100k.zip"]


def test_the_users_url_comes_first(server, tmp_path, monkeypatch):
    release = replace(RELEASES["100k"], urls=(f"{server}/missing/ml-100k.zip",))
    monkeypatch.setenv(URL_ENV_VAR, f"{server}/good/ https://example.invalid/ml-1m.zip")
    # A folder URL gets the archive name; a full URL serves only its own release.
    assert release_urls(release) == [f"{server}/good/ml-100k.zip", release.urls[0]]
    monkeypatch.setenv(URL_ENV_VAR, f"{server}/missing/ml-100k.zip")
    assert release_urls(release) == [release.urls[0]]  # no URL twice
    monkeypatch.setenv(URL_ENV_VAR, f"{server}/good/")
    n_ratings, n_movies, n_users = FIXTURE_COUNTS["100k"]
    monkeypatch.setitem(RELEASES, "100k", replace(
        release, size=len(PAYLOAD), sha256=SHA, n_ratings=n_ratings, n_movies=n_movies,
        n_users=n_users))
    Handler.log.clear()
    assert load_movielens("100k", tmp_path, progress=False, timeout=1.0).nnz == n_ratings
    assert Handler.log == ["/good/ml-100k.zip"]


SIGTERM_SCRIPT = textwrap.dedent("""
    import sys
    from cflib.datasets.download import download_file
    url, dest, size, sha = sys.argv[1:5]
    download_file(url, dest, size=int(size), sha256=sha, progress=False, timeout=5, deadline=30)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_sigterm_removes_the_partial_file(server, tmp_path, sig):
    dest = tmp_path / "ml-100k.zip"
    env = {**os.environ, "PYTHONPATH": str(Path(cflib.datasets.download.__file__).parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", SIGTERM_SCRIPT, f"{server}/trickle/ml-100k.zip",
                             str(dest), str(len(PAYLOAD)), SHA], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while not any(p.suffix == ".part" for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline, "the download never started"
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        time.sleep(3 * TRICKLE_SECONDS)  # a few bytes in
        proc.send_signal(getattr(signal, sig))
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Killed by the signal itself, as without cflib's handler, and nothing left behind.
    assert proc.returncode == -getattr(signal, sig)
    assert os.listdir(tmp_path) == []
