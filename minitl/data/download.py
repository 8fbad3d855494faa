"""Downloading a file safely: stream it, show progress, check its checksum, then move it into place.

The steps, in the order a student should notice them:
1. stream the response in chunks into a temporary file *in the destination folder*
   (``minitl.atomic.atomic_write``), hashing as it goes, with a timeout on every network wait;
2. check the byte count against ``Content-Length`` (a dropped connection is caught here) and the
   MD5 against the published one;
3. rename the temporary file onto the final name, with the permissions a plain ``open()`` gives.
   A rename within one folder is atomic: other programs see either no file or the whole, checked
   file, never half of one.
On any failure the temporary file is deleted, so a failed download leaves nothing behind.

Only the standard library (``urllib``) is used.
"""
import hashlib
import http.client
import os
import urllib.error
import urllib.request

from ..atomic import atomic_write
from ..progress import make_bar, progress_mode
from .errors import ChecksumError, DownloadError

CHUNK_BYTES = 1 << 16


def download_file(url: str, destination, md5: str | None = None, timeout: float = 30.0,
                  progress: bool = True) -> str:
    """Fetch ``url`` to the path ``destination`` and return that path.

    ``md5``: the expected hex digest (checked if given). ``timeout``: seconds to wait for the
    server at each step (connect, and every read), so a stalled server cannot hang the program.
    ``progress``: draw a progress bar on stderr. Raises ``ChecksumError`` for a wrong digest and
    ``DownloadError`` for anything else; in both cases ``destination`` is untouched.
    """
    destination = os.fspath(destination)
    os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
    # atomic_write: a temporary file beside the target, renamed over it only if the body succeeds
    with atomic_write(destination) as out:
        digest, _ = _stream(url, out, timeout, progress, os.path.basename(destination))
        if md5 is not None and digest != md5.lower():
            raise ChecksumError(
                f"{url}: MD5 of the downloaded file is {digest}, but the published checksum is "
                f"{md5}. The file was damaged on the way or the mirror serves a different "
                "file; it was deleted. Try again later, or get the files another way.")
    return destination


def _stream(url, out, timeout, progress, label):
    """Copy the response body into ``out``; return ``(md5 hex digest, bytes received)``."""
    md5 = hashlib.md5()
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = make_bar(progress_mode(bool(progress)), total, label, unit="B")
            while True:
                chunk = response.read(CHUNK_BYTES)
                if not chunk:
                    break
                out.write(chunk)
                md5.update(chunk)
                received += len(chunk)
                bar.update(received)
            bar.close()
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{url}: the server answered HTTP {error.code} ({error.reason}).") from error
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise DownloadError(f"{url}: download failed after {received} bytes: {reason!r}. Check the "
                            "network connection (or the mirror address) and try again.") from error
    if total is not None and received != total:
        raise DownloadError(f"{url}: the connection ended after {received} of {total} bytes. "
                            "Try again; nothing was kept.")
    return md5.hexdigest(), received
