"""The embedded default data: photographs bundled inside scikit-image's wheel (no download, works
offline), split by image into train / val / test."""

from __future__ import annotations

from pathlib import Path

import skimage

from datamodules.base import DenoisingDataModule, Split
from datamodules.sources import ImageFiles

# natural photographs and textures only (no binary masks, text pages or synthetic test charts)
SAMPLE_SPLITS: dict[str, tuple[str, ...]] = {
    "train": (
        "coffee.png",
        "rocket.jpg",
        "motorcycle_left.png",
        "hubble_deep_field.jpg",
        "brick.png",
        "grass.png",
        "gravel.png",
        "ihc.png",
    ),
    "val": ("chelsea.png", "coins.png"),
    "test": ("astronaut.png", "camera.png"),
}


def sample_image_dir() -> Path:
    return Path(skimage.__file__).parent / "data"


class SampleImages(DenoisingDataModule):
    """scikit-image's bundled photographs: 8 train, 2 val (chelsea, coins), 2 test (astronaut, camera).

    All other arguments are those of ``DenoisingDataModule`` (noise, channels, patch size, ...).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)

    def load_split(self, split: str) -> Split:
        folder = sample_image_dir()
        names = SAMPLE_SPLITS[split]
        return ImageFiles([folder / name for name in names], self.channels), [Path(n).stem for n in names]
