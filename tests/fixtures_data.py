"""Tiny copies of the standard dataset layouts, written by the tests (IDX files, PNG folders, .mat)."""

import gzip
import hashlib
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from scipy.io import savemat

from datamodules.bsd import CBSD68_IDS


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def write_mnist(raw: Path, train: int = 30, test: int = 10) -> dict[str, str]:
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (train, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, train),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (test, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, test),
    }
    md5s = {}
    for name, array in arrays.items():
        (raw / name).write_bytes(_idx_bytes(array))
        md5s[name] = hashlib.md5((raw / name).read_bytes()).hexdigest()
    return md5s


def write_sidd(root: Path, scenes: int = 2) -> None:
    rng = np.random.default_rng(0)
    for s in range(scenes):
        scene = root / "Data" / f"{s:04d}_001_S6_00100_00060_3200_L"
        scene.mkdir(parents=True)
        clean = rng.integers(20, 200, (40, 52, 3)).astype(np.uint8)
        prefix = scene.name[:4]
        for index, offset in (("010", 10), ("011", 30)):
            iio.imwrite(scene / f"{prefix}_GT_SRGB_{index}.PNG", clean)
            iio.imwrite(scene / f"{prefix}_NOISY_SRGB_{index}.PNG", clean + offset)  # aligned, recognisable
    blocks = rng.integers(0, 256, (2, 3, 16, 16, 3)).astype(np.uint8)
    savemat(root / "ValidationNoisyBlocksSrgb.mat", {"ValidationNoisyBlocksSrgb": blocks})
    savemat(root / "ValidationGtBlocksSrgb.mat", {"ValidationGtBlocksSrgb": blocks // 2})


def write_bsds500(base: Path, per_split: int = 2) -> None:
    """A BSDS500-like tree: val holds two CBSD68 ids and one other image."""
    names = {"train": ["1001", "1002"][:per_split], "test": ["2001", "2002"][:per_split],
             "val": [CBSD68_IDS[0], CBSD68_IDS[1], "3001"]}  # fmt: skip
    for split, ids in names.items():
        for i, name in enumerate(ids):
            (base / split).mkdir(parents=True, exist_ok=True)
            iio.imwrite(base / split / f"{name}.jpg", np.full((24, 30, 3), 40 * i + 20, dtype=np.uint8))


def write_standard_root(root: Path) -> Path:
    """A data root with every layout the shipped configs read: BSD sets, MNIST and SIDD."""
    rng = np.random.default_rng(0)
    for folder, count, shape in (("Train400", 3, (40, 40)), ("Set12", 1, (32, 32)), ("BSD68", 1, (32, 48))):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            iio.imwrite(root / folder / f"img{i}.png", rng.integers(0, 256, shape).astype(np.uint8))
    write_bsds500(root / "BSDS500")
    write_mnist(root / "MNIST" / "raw")
    write_sidd(root / "SIDD")
    return root
