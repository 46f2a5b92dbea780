"""SIDD, the Smartphone Image Denoising Dataset (Abdelhamed, Lin, Brown, CVPR 2018), sRGB.

Training: SIDD Medium or Small, ``<root>/Data/<scene>/<prefix>_{NOISY,GT}_SRGB_{010,011}.PNG``: two
noisy captures of each scene and their ground truth. Every capture is a training image (``noisy``),
the other capture of the scene is its ``noisy2`` (real Noise2Noise pairs) and the GT its ``clean``
(for the supervised baseline; self-supervised methods never read it). The 5328x3000 photographs are
decoded lazily and at most ``cache_size`` are kept per process.

Validation / test: the benchmark's validation blocks, ``ValidationNoisyBlocksSrgb.mat`` and
``ValidationGtBlocksSrgb.mat`` (40 images x 32 blocks of 256x256x3 uint8, keys as the file names);
any other block file works with its own keys (e.g. a single pair with ``im_noisy`` / ``im_gt``).
SIDD cannot be downloaded automatically (registration on the authors' site).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.io import loadmat

from datamodules.base import DenoisingDataModule, Split
from datamodules.sources import ImageFiles

INSTRUCTIONS = (
    "SIDD cannot be downloaded automatically. Get 'SIDD-Medium Dataset, sRGB images only' (or SIDD-Small) and the "
    "sRGB validation blocks (ValidationNoisyBlocksSrgb.mat, ValidationGtBlocksSrgb.mat) from the authors' page "
    "https://abdokamel.github.io/sidd/ (formerly https://www.eecs.yorku.ca/~kamel/sidd/dataset.php); unpack the "
    "images so that '{root}/Data/<scene>/' holds the *_NOISY_SRGB_010.PNG files, and put the two .mat files "
    "in '{root}'."
)


class BlockImages(Sequence):
    """Aligned noisy / ground-truth blocks from two arrays [..., H, W, 3] uint8, as dict items."""

    def __init__(self, noisy: np.ndarray, clean: np.ndarray | None, limit: int | None = None) -> None:
        self.noisy = noisy.reshape(-1, *noisy.shape[-3:])[:limit]
        self.clean = clean.reshape(-1, *clean.shape[-3:])[:limit] if clean is not None else None
        if self.clean is not None and self.clean.shape != self.noisy.shape:
            raise ValueError(f"noisy blocks {self.noisy.shape} and ground-truth blocks {self.clean.shape} differ")

    def __len__(self) -> int:
        return len(self.noisy)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        item = {"noisy": self.noisy[index].astype(np.float32) / np.float32(255.0)}
        if self.clean is not None:
            item["clean"] = self.clean[index].astype(np.float32) / np.float32(255.0)
        return item


def load_mat_array(path: Path, key: str) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"SIDD block file '{path}' does not exist.")
    try:
        content = loadmat(path)
    except NotImplementedError as error:  # MATLAB v7.3 (HDF5) files
        raise ValueError(f"'{path}' is a MATLAB v7.3 file; re-save it with `save -v7` or convert it to v7.") from error
    except Exception as error:
        raise ValueError(f"Could not read '{path}' ({type(error).__name__}: {error}); the file is damaged.") from error
    if key not in content:
        keys = [k for k in content if not k.startswith("__")]
        raise KeyError(f"'{path}' has no array '{key}' (it has {keys}); set the matching *_key option.")
    array = np.asarray(content[key])
    if array.dtype != np.uint8 or array.shape[-1] != 3:
        raise ValueError(f"'{path}' [{key}] should be uint8 RGB blocks [..., H, W, 3], got {array.dtype} {array.shape}")
    return array


class SIDD(DenoisingDataModule):
    """Args:
    root: SIDD folder (``Data/`` and the validation .mat files).
    val_noisy, val_clean: block files, relative to ``root`` or absolute; ``val_clean`` may be null.
    val_noisy_key, val_clean_key: the arrays' names in those files.
    val_blocks: validate on the first ``val_blocks`` blocks only (all are used for test).
    cache_size: decoded training photographs kept per process.
    **kwargs: the ``DenoisingDataModule`` arguments (noise must stay null: the noise is real).
    """

    def __init__(
        self,
        root: str = "data/SIDD",
        val_noisy: str = "ValidationNoisyBlocksSrgb.mat",
        val_clean: str | None = "ValidationGtBlocksSrgb.mat",
        val_noisy_key: str = "ValidationNoisyBlocksSrgb",
        val_clean_key: str = "ValidationGtBlocksSrgb",
        val_blocks: int | None = 128,
        cache_size: int = 4,
        **kwargs,
    ) -> None:
        kwargs.setdefault("noise", None)
        kwargs.setdefault("channels", 3)
        super().__init__(**kwargs)
        if self.noise is not None:
            raise ValueError("SIDD noise is real: set data.init_args.noise to null")
        if self.channels != 3:
            raise ValueError("SIDD sRGB images are colour: set data.init_args.channels to 3")
        self.root = Path(root)
        self.val_noisy = val_noisy
        self.val_clean = val_clean
        self.keys = (val_noisy_key, val_clean_key)
        self.val_blocks = val_blocks
        self.cache_size = cache_size

    def _missing(self, what: str) -> FileNotFoundError:
        return FileNotFoundError(f"{what} not found. " + INSTRUCTIONS.format(root=self.root))

    def scene_groups(self) -> list[dict[str, Path]]:
        """One training item per noisy capture: {noisy, noisy2 (the other capture), clean}."""
        data = self.root / "Data"
        if not data.is_dir():
            raise self._missing(f"SIDD training folder '{data}'")
        groups = []
        for scene in sorted(p for p in data.iterdir() if p.is_dir()):
            captures = {}
            for index in ("010", "011"):
                noisy = next(iter(scene.glob(f"*_NOISY_SRGB_{index}.PNG")), None)
                clean = next(iter(scene.glob(f"*_GT_SRGB_{index}.PNG")), None)
                if noisy is not None:
                    captures[index] = (noisy, clean)
            for index, (noisy, clean) in captures.items():
                group = {"noisy": noisy}
                other = captures.get("011" if index == "010" else "010")
                if other is not None:
                    group["noisy2"] = other[0]
                if clean is not None:
                    group["clean"] = clean
                groups.append(group)
        if not groups:
            raise self._missing(f"No *_NOISY_SRGB_010.PNG files under '{data}':")
        keys = {tuple(sorted(g)) for g in groups}
        if len(keys) > 1:  # batches need the same keys: keep what every scene has
            common = set.intersection(*(set(k) for k in keys))
            groups = [{k: v for k, v in g.items() if k in common} for g in groups]
        return groups

    def _blocks(self, limit: int | None) -> BlockImages:
        def resolve(name: str) -> Path:
            path = Path(name)
            return path if path.is_absolute() else self.root / path

        noisy_path = resolve(self.val_noisy)
        if not noisy_path.is_file():
            raise self._missing(f"SIDD validation blocks '{noisy_path}'")
        noisy = load_mat_array(noisy_path, self.keys[0])
        clean = load_mat_array(resolve(self.val_clean), self.keys[1]) if self.val_clean else None
        return BlockImages(noisy, clean, limit)

    def load_split(self, split: str) -> Split:
        if split == "train":
            groups = self.scene_groups()
            return ImageFiles(groups, 3, self.cache_size), [g["noisy"].stem for g in groups]
        blocks = self._blocks(None if split == "test" else self.val_blocks)
        return blocks, [f"block{i:04d}" for i in range(len(blocks))]
