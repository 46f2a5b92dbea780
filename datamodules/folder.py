"""Any folder of images (PNG, JPEG, TIFF; 8- or 16-bit), with synthetic noise or already noisy."""

from __future__ import annotations

from pathlib import Path

from core.image_io import list_images
from datamodules.base import DenoisingDataModule, Split
from datamodules.sources import ImageFiles


class ImageFolder(DenoisingDataModule):
    """Images from ``train_dir`` (and optional ``val_dir`` / ``test_dir``).

    Args:
        train_dir: folder of training images.
        val_dir: folder of validation images; when omitted, the last ``val_count`` training images
            (sorted by name) are held out for validation.
        test_dir: folder of test images; when omitted, the validation images are used.
        val_count: how many training images to hold out when ``val_dir`` is omitted.

    Set ``noise: null`` when the images are already noisy (no clean reference: no PSNR, and select
    checkpoints by ``val/loss``).
    """

    def __init__(
        self,
        train_dir: str,
        val_dir: str | None = None,
        test_dir: str | None = None,
        val_count: int = 1,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.train_dir = train_dir
        self.val_dir = val_dir
        self.test_dir = test_dir
        self.val_count = val_count

    def _files(self, split: str) -> list[Path]:
        if split == "test" and self.test_dir is not None:
            return list_images(self.test_dir, "test image folder (data.test_dir)")
        if split in ("val", "test") and self.val_dir is not None:
            return list_images(self.val_dir, "validation image folder (data.val_dir)")
        train = list_images(self.train_dir, "training image folder (data.train_dir)")
        if self.val_dir is not None or self.val_count <= 0:
            return train
        if len(train) <= self.val_count:
            raise ValueError(
                f"The training image folder '{self.train_dir}' has {len(train)} image(s), too few to hold out "
                f"{self.val_count} for validation. Add images, set data.val_dir, or lower data.val_count."
            )
        return train[-self.val_count :] if split in ("val", "test") else train[: -self.val_count]

    def load_split(self, split: str) -> Split:
        files = self._files(split)
        return ImageFiles(files, self.channels), [f.stem for f in files]
