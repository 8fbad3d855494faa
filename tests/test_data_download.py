"""Downloads against a loopback HTTP server in a thread: success, checksum error, dropped connection."""
import gzip
import hashlib
import http.server
import socket
import threading

import numpy
import pytest

from minitl.data import FashionMNIST, fashion_mnist
from minitl.data.download import download_file
from minitl.data.errors import ChecksumError, DatasetNotFoundError, DownloadError
from minitl.data.idx import write_idx


class Handler(http.server.BaseHTTPRequestHandler):
    files = {}           # "/name" -> bytes served whole
    dropped = set()      # "/name" whose connection is cut halfway

    def do_GET(self):
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in self.dropped:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def server():
    Handler.files, Handler.dropped = {}, set()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", Handler
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def fake_mirror(server, monkeypatch, tmp_path):
    """Serve four tiny gzipped IDX files and make their MD5s the 'published' ones."""
    base, handler = server
    for split, count in (("train", 4), ("test", 2)):
        images_stem, labels_stem = fashion_mnist.FILES[split]
        for stem, array in ((images_stem, numpy.full((count, 28, 28), 9, numpy.uint8)),
                            (labels_stem, numpy.arange(count, dtype=numpy.uint8))):
            write_idx(tmp_path / "src.gz", array)
            body = (tmp_path / "src.gz").read_bytes()
            handler.files["/" + stem + ".gz"] = body
            monkeypatch.setitem(fashion_mnist.PUBLISHED_MD5, stem + ".gz", hashlib.md5(body).hexdigest())
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINITL_DATA", raising=False)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", str(tmp_path / "no-debian"))
    return base, handler


def test_download_file_writes_checked_file(server, tmp_path, capsys):
    base, handler = server
    handler.files["/blob"] = b"x" * 200_000
    target = download_file(base + "blob", tmp_path / "out" / "blob",
                           md5=hashlib.md5(b"x" * 200_000).hexdigest(), timeout=5)
    assert (tmp_path / "out" / "blob").read_bytes() == b"x" * 200_000
    assert target.endswith("blob") and "100%" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["blob"]


def test_checksum_error_leaves_nothing(server, tmp_path):
    base, handler = server
    handler.files["/blob"] = b"corrupted"
    with pytest.raises(ChecksumError, match="published checksum"):
        download_file(base + "blob", tmp_path / "blob", md5="0" * 32, timeout=5, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_dropped_connection_leaves_nothing(server, tmp_path):
    base, handler = server
    handler.files["/blob"] = bytes(100_000)
    handler.dropped.add("/blob")
    with pytest.raises(DownloadError, match="blob"):
        download_file(base + "blob", tmp_path / "blob", timeout=5, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_http_error_and_refused_connection(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(base + "missing", tmp_path / "x", timeout=5, progress=False)
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match="download failed"):
        download_file(f"http://127.0.0.1:{closed_port}/x", tmp_path / "x", timeout=5, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_fashion_mnist_download_from_mirror(fake_mirror, tmp_path):
    base, _ = fake_mirror
    data = FashionMNIST(download=True, mirror=base, progress=False)
    cache = tmp_path / "home" / ".cache" / "minitl" / "fashion-mnist"
    assert data.folder == cache and len(data) == 4
    assert sorted(p.name for p in cache.iterdir()) == sorted(fashion_mnist.PUBLISHED_MD5)
    assert len(FashionMNIST(train=False)) == 2  # found in the cache now, no download asked


def test_mirror_from_environment_and_root(fake_mirror, tmp_path, monkeypatch):
    base, _ = fake_mirror
    monkeypatch.setenv(fashion_mnist.MIRROR_ENV, base)
    data = FashionMNIST(root=tmp_path / "mine", download=True, progress=False)
    assert data.folder == tmp_path / "mine"


def test_corrupted_mirror_file(fake_mirror, tmp_path):
    base, handler = fake_mirror
    handler.files["/t10k-images-idx3-ubyte.gz"] = gzip.compress(b"tampered")
    with pytest.raises(DatasetNotFoundError, match=r"(?s)t10k-images.*published checksum.*apt-get") as caught:
        FashionMNIST(root=tmp_path / "dl", download=True, mirror=base, progress=False)
    assert isinstance(caught.value.__cause__, ChecksumError)
    left = sorted(p.name for p in (tmp_path / "dl").iterdir())
    assert "t10k-images-idx3-ubyte.gz" not in left and not [n for n in left if ".part" in n]


def test_mirror_dropping_connection(fake_mirror, tmp_path):
    base, handler = fake_mirror
    handler.dropped.add("/train-images-idx3-ubyte.gz")
    with pytest.raises(DatasetNotFoundError, match="Three ways") as caught:
        FashionMNIST(root=tmp_path / "dl", download=True, mirror=base, progress=False)
    assert isinstance(caught.value.__cause__, DownloadError)
    assert not (tmp_path / "dl" / "train-images-idx3-ubyte.gz").exists()
    handler.dropped.clear()  # the retry fetches only what is missing, and succeeds
    assert len(FashionMNIST(root=tmp_path / "dl", download=True, mirror=base, progress=False)) == 4


def test_downloaded_file_gets_the_usual_permissions(server, tmp_path):
    import os
    import stat

    base, handler = server
    handler.files["/blob"] = b"y" * 1000
    old = os.umask(0o027)
    try:
        download_file(base + "blob", tmp_path / "blob", timeout=5, progress=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "blob").stat().st_mode) == 0o640  # 0o666 & ~umask, like open()
