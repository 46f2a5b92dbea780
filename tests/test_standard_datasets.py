"""MNIST, BSD and SIDD in their standard layouts, from fixtures the tests write."""

import hashlib
import io
import tarfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

import datamodules.mnist as mnist_module
from datamodules import BSD, MNIST, SIDD
from datamodules.bsd import CBSD68_IDS
from datamodules.download import DownloadError
from tests.fixtures_data import write_bsds500 as _bsds500
from tests.fixtures_data import write_mnist as _write_mnist
from tests.fixtures_data import write_sidd as _sidd
from tests.http_server import closed_port_url, serve

# ---- MNIST -----------------------------------------------------------------------------------------


def test_mnist_reads_idx_files_and_splits(tmp_path: Path):
    _write_mnist(tmp_path / "raw")
    data = MNIST(str(tmp_path), val_count=5, verify=False, batch_size=4)
    data.setup("fit")
    data.setup("test")
    assert len(data.datasets["train"]) == 25 and len(data.datasets["val"]) == 5 and len(data.datasets["test"]) == 10
    batch = next(iter(data.train_dataloader()))
    assert batch["noisy"].shape == (4, 1, 28, 28) and batch["clean"].max() <= 1


def test_mnist_rejects_files_that_do_not_match_the_canonical_md5(tmp_path: Path):
    _write_mnist(tmp_path / "raw")
    with pytest.raises(ValueError, match="does not match its canonical MD5.*download: true"):
        MNIST(str(tmp_path)).prepare_data()


def test_mnist_missing_files_explain_what_to_do(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="missing.*download: true"):
        MNIST(str(tmp_path)).setup("fit")


def test_mnist_download_from_a_mirror(tmp_path: Path, monkeypatch):
    md5s = _write_mnist(tmp_path / "mirror")
    monkeypatch.setattr(mnist_module, "FILES", md5s)
    with serve(tmp_path / "mirror") as url:
        data = MNIST(str(tmp_path / "data"), download=True, mirror=url, val_count=5)
        data.prepare_data()
    data.setup("fit")
    assert len(data.datasets["train"]) == 25
    assert sorted(p.name for p in (tmp_path / "data" / "raw").iterdir()) == sorted(md5s)


def test_mnist_download_with_wrong_checksum_keeps_nothing(tmp_path: Path, monkeypatch):
    md5s = _write_mnist(tmp_path / "mirror")
    monkeypatch.setattr(mnist_module, "FILES", {**md5s, "t10k-images-idx3-ubyte.gz": "0" * 32})
    with serve(tmp_path / "mirror") as url, pytest.raises(DownloadError, match="checksum"):
        MNIST(str(tmp_path / "data"), download=True, mirror=url).prepare_data()
    assert not (tmp_path / "data" / "raw" / "t10k-images-idx3-ubyte.gz").exists()


def test_mnist_download_with_server_down(tmp_path: Path):
    with pytest.raises(DownloadError, match="Could not download"):
        MNIST(str(tmp_path), download=True, mirror=closed_port_url()).prepare_data()


# ---- BSD -------------------------------------------------------------------------------------------


def _png(path: Path, shape, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8))


def test_bsd_gray_standard_folders(tmp_path: Path):
    for i in range(3):
        _png(tmp_path / "Train400" / f"test_{i:03d}.png", (40, 40), i)
    _png(tmp_path / "BSD68" / "test001.png", (32, 48))
    _png(tmp_path / "Set12" / "01.png", (32, 32))
    data = BSD(str(tmp_path), patch_size=16)
    data.setup("fit")
    data.setup("test")
    assert len(data.datasets["train"]) == 3 * data.patches_per_image
    assert data.datasets["test"][0]["noisy"].shape == (1, 32, 48)
    assert data.datasets["val"][0]["name"] == "01"


@pytest.mark.parametrize("layout", ["BSDS500", "BSR/BSDS500/data/images"])
def test_bsd_sets_made_from_bsds500_in_both_layouts(tmp_path: Path, layout: str):
    _bsds500(tmp_path / layout)
    color = BSD(str(tmp_path), train_set="CBSD432", val_set="BSD300", test_set="CBSD68", channels=3)
    assert {f.stem for f in color.set_files("CBSD68")} == {CBSD68_IDS[0], CBSD68_IDS[1]}
    assert len(color.set_files("BSD300")) == 3 and len(color.set_files("BSD400")) == 4
    assert {f.stem for f in color.set_files("CBSD432")} == {"1001", "1002", "2001", "2002", "3001"}
    gray = BSD(str(tmp_path), train_set="BSD400", val_set="BSD300", test_set="BSD68", channels=1)
    gray.setup("test")
    assert gray.datasets["test"][0]["clean"].shape == (1, 24, 30)  # BSD68 = luma of CBSD68


def test_bsd_refuses_rgb_from_a_gray_set_and_names_missing_bsds500(tmp_path: Path):
    with pytest.raises(ValueError, match="gray set"):
        BSD(str(tmp_path), channels=3)
    with pytest.raises(FileNotFoundError, match="BSDS500 was not found.*download: true"):
        BSD(str(tmp_path), train_set="BSD400").setup("fit")


def _archive(tmp_path: Path, damage: str | None = None) -> tuple[Path, Path]:
    """A BSR_bsds500.tgz with the archive layout and a manifest of its images."""
    images = tmp_path / "src" / "BSR" / "BSDS500" / "data" / "images"
    _bsds500(images)
    manifest = tmp_path / "manifest.sha256"
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.parent.name}/{p.name}" for p in sorted(images.rglob("*.jpg"))
    ]
    if damage == "checksum":
        lines[0] = "0" * 64 + lines[0][64:]
    manifest.write_text("\n".join(lines) + "\n")
    server = tmp_path / "server"
    server.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "BSR", arcname="BSR")
    (server / "BSR_bsds500.tgz").write_bytes(buffer.getvalue())
    return server, manifest


def test_bsds500_download_good_archive(tmp_path: Path):
    server, manifest = _archive(tmp_path)
    root = tmp_path / "data"
    root.mkdir()
    with serve(server) as url:
        data = BSD(str(root), train_set="BSD400", val_set="BSD300", test_set="CBSD68", channels=3, download=True,
                   bsds500_url=f"{url}/BSR_bsds500.tgz", bsds500_manifest=str(manifest))  # fmt: skip
        data.prepare_data()
    assert len(list((root / "BSDS500").rglob("*.jpg"))) == 7
    data.setup("fit")
    assert len(data.datasets["val"]) == 3


@pytest.mark.parametrize("damage", ["checksum", "truncated", "down"])
def test_bsds500_download_failures_keep_nothing(tmp_path: Path, damage: str):
    server, manifest = _archive(tmp_path, damage if damage == "checksum" else None)
    root = tmp_path / "data"
    root.mkdir()
    with serve(server) as url:
        address = {"checksum": f"{url}/BSR_bsds500.tgz", "truncated": f"{url}/truncated/BSR_bsds500.tgz",
                   "down": f"{closed_port_url()}/BSR_bsds500.tgz"}[damage]  # fmt: skip
        data = BSD(str(root), train_set="BSD400", channels=1, download=True, bsds500_url=address,
                   bsds500_manifest=str(manifest))  # fmt: skip
        with pytest.raises(DownloadError):
            data.prepare_data()
    assert list(root.iterdir()) == []  # no images, no partial archive


# ---- SIDD ------------------------------------------------------------------------------------------


def test_sidd_training_pairs_are_aligned_crops_of_the_two_captures(tmp_path: Path):
    _sidd(tmp_path)
    data = SIDD(str(tmp_path), patch_size=16, patches_per_image=2, batch_size=4, val_blocks=4)
    data.setup("fit")
    assert len(data.datasets["train"]) == 2 * 2 * 2  # 2 scenes x 2 captures x 2 patches
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {"noisy", "noisy2", "clean"}
    difference = ((batch["noisy"] - batch["noisy2"]) * 255).round().abs().unique()
    assert difference.tolist() == [20.0]  # the same crop and flips in both captures
    assert len(data.datasets["val"]) == 4
    val = data.datasets["val"][1]
    assert torch.allclose(val["clean"], (val["noisy"] * 255 // 2) / 255, atol=1e-6)


def test_sidd_missing_data_gives_the_official_instructions(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="cannot be downloaded automatically.*abdokamel"):
        SIDD(str(tmp_path)).setup("fit")


def test_sidd_wrong_mat_key_is_named(tmp_path: Path):
    _sidd(tmp_path)
    with pytest.raises(KeyError, match="no array 'wrong'.*ValidationNoisyBlocksSrgb"):
        SIDD(str(tmp_path), val_noisy_key="wrong").setup("validate")
