"""Downloads that are checked before they are trusted.

A file is streamed to ``<name>.part`` beside its destination, its checksum is verified, and only
then is it renamed into place (atomically), so an interrupted or corrupted download never leaves a
file that a later run would take for good. A file already in place is verified too.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm


class DownloadError(RuntimeError):
    """The file could not be fetched, or what arrived does not match its checksum."""


def file_digest(path: Path, algorithm: str = "md5") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(path: Path, md5: str | None = None, sha256: str | None = None) -> bool:
    if not path.is_file():
        return False
    if md5 is not None and file_digest(path, "md5") != md5.lower():
        return False
    return not (sha256 is not None and file_digest(path, "sha256") != sha256.lower())


def download(
    url: str, destination: Path, md5: str | None = None, sha256: str | None = None, timeout: float = 60
) -> Path:
    """Fetch ``url`` to ``destination`` unless a verified copy is already there."""
    if md5 is None and sha256 is None:
        raise ValueError("a download needs an md5 or sha256 checksum to verify against")
    destination = Path(destination)
    if verified(destination, md5, sha256):
        return destination
    partial = download_unverified(url, destination.with_name(destination.name + ".part"), timeout)
    if not verified(partial, md5, sha256):
        got = file_digest(partial, "md5" if md5 else "sha256")
        partial.unlink()
        raise DownloadError(
            f"The file from {url} does not match its checksum (expected {md5 or sha256}, got {got}); it was deleted. "
            "The mirror may serve a different or damaged file: try again or use another mirror."
        )
    os.replace(partial, destination)
    return destination


def download_unverified(url: str, destination: Path, timeout: float = 60) -> Path:
    """Stream ``url`` to ``destination`` with a progress bar, for a caller that verifies the content
    (``download`` above, or per file of an archive against a manifest). A broken transfer removes
    the file and raises ``DownloadError``."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(destination, "wb") as handle:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=f"Downloading {destination.name}", leave=False
            ) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    handle.write(block)
                    bar.update(len(block))
            if total is not None and handle.tell() != total:
                raise DownloadError(f"the transfer ended after {handle.tell()} of {total} bytes")
    except (urllib.error.URLError, OSError, DownloadError) as error:
        destination.unlink(missing_ok=True)
        raise DownloadError(
            f"Could not download {url} ({error}). Check the network (or the mirror), or download the file by hand."
        ) from error
    return destination
