"""Lazy image sources: what a split of a dataset is, without holding every decoded image in memory.

A source is a sequence whose items are [H, W, C] float32 arrays in [0, 1] (one image) or dicts of
aligned arrays (real captures: ``noisy``, ``noisy2``, ``clean``). Files are decoded on first access
and kept in a cache private to the process: each data-loader worker decodes an image at most once
while it stays cached, and ``cache_size`` bounds the memory for sets of large photographs (SIDD).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from core.image_io import ImageReadError, read_image

Item = np.ndarray | dict[str, np.ndarray]


class ImageFiles(Sequence):
    """Image files (or aligned groups of files, one dict per item) read on demand, LRU-cached."""

    def __init__(
        self, files: Sequence[Path | Mapping[str, Path]], channels: int, cache_size: int | None = None
    ) -> None:
        self.files = list(files)
        self.channels = channels
        self.cache_size = cache_size
        self._cache: OrderedDict[int, Item] = OrderedDict()

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Item:
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        entry = self.files[index]
        if isinstance(entry, Mapping):
            item: Item = {key: read_image(path, self.channels) for key, path in entry.items()}
        else:
            item = read_image(entry, self.channels)
        self._cache[index] = item
        if self.cache_size is not None and len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return item

    def __getstate__(self) -> dict:
        # workers start with an empty cache of their own, not a pickled copy of the parent's
        return {**self.__dict__, "_cache": OrderedDict()}

    def check(self) -> None:
        """Read every file's header now, so a corrupt file fails at setup with its name, not mid-training."""
        for entry in self.files:
            for path in entry.values() if isinstance(entry, Mapping) else [entry]:
                try:
                    iio.improps(path)
                except Exception as error:
                    raise ImageReadError.of(path, error) from error


class ArrayImages(Sequence):
    """Images held in one uint8 array [N, H, W] or [N, H, W, C] (MNIST), converted per item."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: int) -> np.ndarray:
        image = self.array[index]
        image = image[..., None] if image.ndim == 2 else image
        return image.astype(np.float32) / np.float32(255.0)
