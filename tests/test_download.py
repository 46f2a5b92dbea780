"""Checked downloads against a local HTTP server: good file, wrong checksum, truncated, server down."""

import hashlib
from pathlib import Path

import pytest

from datamodules.download import DownloadError, download
from tests.http_server import closed_port_url, serve


@pytest.fixture
def served(tmp_path: Path) -> Path:
    folder = tmp_path / "server"
    folder.mkdir()
    (folder / "file.bin").write_bytes(bytes(range(256)) * 400)
    return folder


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_good_file_is_downloaded_and_verified(served: Path, tmp_path: Path):
    target = tmp_path / "out" / "file.bin"
    with serve(served) as url:
        download(f"{url}/file.bin", target, md5=_md5(served / "file.bin"))
    assert target.read_bytes() == (served / "file.bin").read_bytes()
    assert not target.with_name("file.bin.part").exists()


def test_wrong_checksum_leaves_no_file(served: Path, tmp_path: Path):
    target = tmp_path / "out" / "file.bin"
    with serve(served) as url, pytest.raises(DownloadError, match="does not match its checksum.*deleted"):
        download(f"{url}/file.bin", target, md5="0" * 32)
    assert not target.exists() and not target.with_name("file.bin.part").exists()


def test_truncated_transfer_leaves_no_file(served: Path, tmp_path: Path):
    target = tmp_path / "out" / "file.bin"
    with serve(served) as url, pytest.raises(DownloadError, match="Could not download"):
        download(f"{url}/truncated/file.bin", target, md5=_md5(served / "file.bin"))
    assert not target.exists() and not target.with_name("file.bin.part").exists()


def test_server_down_is_a_clear_error(tmp_path: Path):
    with pytest.raises(DownloadError, match="Could not download.*Check the network"):
        download(f"{closed_port_url()}/file.bin", tmp_path / "file.bin", md5="0" * 32)


def test_a_damaged_existing_file_is_not_trusted(served: Path, tmp_path: Path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"damaged")
    with serve(served) as url:
        download(f"{url}/file.bin", target, md5=_md5(served / "file.bin"))
    assert _md5(target) == _md5(served / "file.bin")


def test_checksum_is_required(tmp_path: Path):
    with pytest.raises(ValueError, match="checksum"):
        download("http://127.0.0.1:1/x", tmp_path / "x")
