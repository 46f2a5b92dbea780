"""MNIST digits (LeCun et al. 1998) from the four IDX files, with synthetic noise.

Layout: ``<root>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``. Missing files are downloaded
when ``download: true`` and every file is checked against the canonical MD5s. Training and
validation come from the 60,000 training images (the last ``val_count`` held out); the test set is
t10k. Labels are not used by denoising (they are read and checked for consistency only).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from datamodules.base import DenoisingDataModule, Split
from datamodules.download import download, file_digest
from datamodules.sources import ArrayImages

MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip-compressed or not) as a numpy array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"'{path}' is not an unsigned-byte IDX file (bad magic number)")
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"'{path}' is truncated: header says {shape}, found {body.size} values")
    return body.reshape(shape)


class MNIST(DenoisingDataModule):
    """Args:
    root: folder holding ``raw/`` with the four IDX .gz files.
    download: fetch missing or damaged files from ``mirror`` (checked against the canonical MD5s).
    mirror: base URL of the four files.
    val_count: training images held out for validation (the last ones).
    verify: check the MD5s of files already present.
    **kwargs: the ``DenoisingDataModule`` arguments (noise, patch size: 28 uses whole digits, ...).
    """

    def __init__(
        self,
        root: str = "data/MNIST",
        download: bool = False,
        mirror: str = MIRROR,
        val_count: int = 5000,
        verify: bool = True,
        **kwargs,
    ) -> None:
        kwargs.setdefault("patch_size", 28)
        kwargs.setdefault("patches_per_image", 1)
        kwargs.setdefault("eval_batch_size", 256)
        super().__init__(**kwargs)
        if self.channels != 1:
            raise ValueError("MNIST is gray: set data.channels to 1")
        self.root = Path(root)
        self.download = download
        self.mirror = mirror
        self.val_count = val_count
        self.verify = verify
        self._arrays: dict[str, np.ndarray] = {}

    def prepare_data(self) -> None:
        """Download (rank 0 only, under DDP) and verify the four files."""
        raw = self.root / "raw"
        for name, md5 in FILES.items():
            path = raw / name
            if self.download:
                download(self.mirror.rstrip("/") + "/" + name, path, md5=md5)
            self._check_present(path)
            if self.verify and file_digest(path) != md5:
                raise ValueError(
                    f"MNIST file '{path}' does not match its canonical MD5 {md5}: it is damaged or a different file. "
                    "Delete it and set data.init_args.download: true, or replace it with the original."
                )

    def _check_present(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(
                f"MNIST file '{path}' is missing. Put the four IDX .gz files in '{path.parent}' "
                "(http://yann.lecun.com/exdb/mnist/) or set data.init_args.download: true."
            )

    def _images(self, subset: str) -> np.ndarray:
        if subset not in self._arrays:
            raw = self.root / "raw"
            images = read_idx(raw / f"{subset}-images-idx3-ubyte.gz")
            labels = read_idx(raw / f"{subset}-labels-idx1-ubyte.gz")
            if len(images) != len(labels):
                raise ValueError(
                    f"MNIST {subset}: {len(images)} images but {len(labels)} labels; the files do not match"
                )
            self._arrays[subset] = images
        return self._arrays[subset]

    def load_split(self, split: str) -> Split:
        for name in FILES:
            self._check_present(self.root / "raw" / name)
        if split == "test":
            images, offset = self._images("t10k"), 0
        else:
            train = self._images("train")
            if not 0 < self.val_count < len(train):
                raise ValueError(
                    f"val_count={self.val_count} must be between 1 and {len(train) - 1} (the training images it splits)"
                )
            cut = len(train) - self.val_count
            images, offset = (train[:cut], 0) if split == "train" else (train[cut:], cut)
        return ArrayImages(images), [f"{split}_{offset + i:05d}" for i in range(len(images))]
