"""Real noisy images with clean references, in two folders matched by name (Nam et al. 2016's
``noisy/NN_noise.png`` and ``clean/NN_gt.png``; a folder of any camera's captures and their averages).

The self-supervised protocol on such a set: train on the noisy images alone, select checkpoints by the
self-supervised ``val/loss`` on those same noisy images (no clean image is read for training or
selection), and score the denoised images against the references only at test time. Captures are
matched by file stem after removing a trailing tag such as ``_noise``, ``_noisy``, ``_real``, ``_gt``,
``_clean`` or ``_mean``.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.image_io import list_images
from datamodules.base import DenoisingDataModule, Split
from datamodules.sources import ImageFiles

CAPTURE_TAG = re.compile(r"[_-](noise|noisy|real|gt|clean|mean|ref|reference)$", re.IGNORECASE)


def scene_name(path: Path) -> str:
    """The name two captures of a scene share: the stem without its capture tag."""
    return CAPTURE_TAG.sub("", path.stem)


def match_pairs(noisy_dir: str | Path, clean_dir: str | Path) -> list[tuple[str, Path, Path]]:
    """(scene, noisy file, clean file) for every scene, sorted; a scene missing on either side is an error
    that names it."""
    noisy = {scene_name(p): p for p in list_images(noisy_dir, "noisy image folder (data.noisy_dir)")}
    clean = {scene_name(p): p for p in list_images(clean_dir, "clean reference folder (data.clean_dir)")}
    unmatched = sorted(set(noisy) ^ set(clean))
    if unmatched:
        raise ValueError(
            f"{len(unmatched)} scene(s) have a noisy image or a clean reference but not both: {unmatched[:5]}. "
            f"Files are matched by name without a trailing capture tag (_noise, _gt, ...): check '{noisy_dir}' "
            f"and '{clean_dir}'."
        )
    return [(scene, noisy[scene], clean[scene]) for scene in sorted(noisy)]


class PairedFolder(DenoisingDataModule):
    """Args:
    noisy_dir: folder of noisy captures.
    clean_dir: folder of their clean references (matched by name).
    **kwargs: the ``DenoisingDataModule`` arguments; ``noise`` must be ``null`` (the noise is real).

    Training and validation read the noisy images only; test reads the pairs (PSNR/SSIM against the
    references, with ``quantize_8bit`` in the method for the real-noise protocol).
    """

    def __init__(self, noisy_dir: str, clean_dir: str, **kwargs) -> None:
        kwargs.setdefault("noise", None)
        super().__init__(**kwargs)
        if self.noise is not None:
            raise ValueError("PairedFolder holds real noisy captures: set data.init_args.noise: null")
        self.noisy_dir, self.clean_dir = noisy_dir, clean_dir

    def load_split(self, split: str) -> Split:
        pairs = match_pairs(self.noisy_dir, self.clean_dir)
        names = [scene for scene, _, _ in pairs]
        if split == "test":
            return ImageFiles([{"noisy": noisy, "clean": clean} for _, noisy, clean in pairs], self.channels), names
        return ImageFiles([{"noisy": noisy} for _, noisy, _ in pairs], self.channels), names
