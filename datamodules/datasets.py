"""Datasets that turn clean (or already noisy) images into batches of the batch contract:
``noisy`` [C, H, W], optional ``clean``, optional ``noisy2`` (an independent second noisy draw) and
the noise parameters (``sigma``, ``lam``) when the noise is synthetic."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import albumentations as A
import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from core.seeding import FIXED_TRAIN_NOISE, derive_generator, derive_seed
from noise.models import NoiseModel

NoiseDraws = Literal["fresh", "fixed"]


def to_tensor(image: np.ndarray) -> Tensor:
    """[H, W, C] numpy -> [C, H, W] float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()


def make_sample(
    item: np.ndarray | dict[str, np.ndarray], noise: NoiseModel | None, generator: torch.Generator
) -> dict[str, Tensor]:
    """Two independent noisy draws at the same noise level from a clean image; a noisy image as is;
    or a group of real captures (``noisy``, ``noisy2``, ``clean``) as they are."""
    if isinstance(item, dict):
        if noise is not None:
            raise ValueError("synthetic noise cannot be added to real captures: set data.noise to null")
        return {key: to_tensor(value) for key, value in item.items()}
    image = to_tensor(item)
    if noise is None:
        return {"noisy": image}
    noisy, params = noise.sample(image, generator)
    noisy2, _ = noise.sample(image, generator, params=params)
    return {"noisy": noisy, "noisy2": noisy2, "clean": image, **params}


def fixed_noisy_image(image: np.ndarray, noise: NoiseModel, seed: int, index: int) -> tuple[dict, dict]:
    """Training image ``index``'s one noisy version (and its one second draw, for Noise2Noise) under the
    fixed-noise protocol: drawn from (seed, index) alone, so every epoch, worker and rank sees the same
    noise on that image. Returns ({noisy, noisy2, clean} as [H, W, C] arrays, noise parameters)."""
    sample = make_sample(image, noise, derive_generator(seed, FIXED_TRAIN_NOISE, index))
    images = {key: sample.pop(key).permute(1, 2, 0).numpy() for key in ("noisy", "noisy2", "clean")}
    return images, sample


def warn_small_images(smallest: tuple[int, int], count: int, patch_size: int) -> None:
    """Training on images smaller than the patch trains mostly on mirrored padding: say so and how to fix it."""
    warnings.warn(
        f"{count} training image(s) are smaller than the {patch_size}x{patch_size} training patch (the smallest "
        f"is {smallest[0]}x{smallest[1]}): they are reflect-padded, so their patches are largely mirrored copies. "
        f"Set data.init_args.patch_size to at most {min(smallest)}, or train on larger images.",
        stacklevel=2,
    )


class TrainPatchDataset(Dataset):
    """Random patches with flips / 90-degree rotations and noise, indexed by ``(epoch, index)``.

    ``patches_per_image`` patches are cut from every image each epoch; images smaller than the patch
    are reflect-padded first. ``noise_draws``: ``fresh`` draws new noise for every patch; ``fixed`` gives
    each image one noisy version (``fixed_noisy_image``) that every patch of it is cut from.
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        patch_size: int,
        patches_per_image: int,
        noise: NoiseModel | None,
        seed: int,
        augment: bool = True,
        noise_draws: NoiseDraws = "fresh",
    ) -> None:
        self.images = images
        self.noise_draws = noise_draws
        self.patches_per_image = patches_per_image
        self.noise = noise
        self.seed = seed
        # real captures of one scene are cropped and flipped together
        self.targets = {"noisy2": "image", "clean": "image"}
        steps: list[A.BasicTransform] = [
            A.PadIfNeeded(patch_size, patch_size, border_mode=cv2.BORDER_REFLECT_101),
            A.RandomCrop(patch_size, patch_size),
        ]
        if augment:
            steps += [A.HorizontalFlip(), A.VerticalFlip(), A.RandomRotate90()]
        self.transform = A.Compose(steps, additional_targets=self.targets)
        self.patch_size = patch_size
        self._warned_small = False

    def __len__(self) -> int:
        return len(self.images) * self.patches_per_image

    def __getitem__(self, key: tuple[int, int] | int) -> dict[str, Tensor]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        # one stream per transform: seeding them alike would tie the flips and rotations together
        for position, transform in enumerate(self.transform.transforms):
            transform.set_random_seed(derive_seed(self.seed, epoch, index, 2 + position))
        item = self.images[index // self.patches_per_image]
        fixed = self.noise_draws == "fixed" and self.noise is not None and not isinstance(item, dict)
        params: dict[str, Tensor] = {}
        if fixed:
            item, params = fixed_noisy_image(item, self.noise, self.seed, index // self.patches_per_image)
        shape = next(iter(item.values())).shape if isinstance(item, dict) else item.shape
        if min(shape[:2]) < self.patch_size and not self._warned_small:
            self._warned_small = True  # once per process: images are read lazily, one at a time
            warn_small_images(shape[:2], 1, self.patch_size)
        if isinstance(item, dict):
            # the first key is the reference image, the others follow it
            keys = list(item)
            out = self.transform(image=item[keys[0]], **{k: item[k] for k in keys[1:]})
            patch: np.ndarray | dict[str, np.ndarray] = {keys[0]: out["image"], **{k: out[k] for k in keys[1:]}}
        else:
            patch = self.transform(image=item)["image"]
        if fixed:  # the image's fixed draw, cropped and oriented with its clean image
            return {**{key: to_tensor(value) for key, value in patch.items()}, **params}
        return make_sample(patch, self.noise, derive_generator(self.seed, epoch, index, 1))


class EvalImageDataset(Dataset):
    """Whole images with noise fixed by (seed, stage, index): identical in every validation epoch."""

    def __init__(
        self, images: Sequence[np.ndarray], names: Sequence[str], noise: NoiseModel | None, seed: int, stage: int
    ) -> None:
        if len(images) != len(names):
            raise ValueError("images and names must have the same length")
        self.images = images
        self.names = names
        self.noise = noise
        self.seed = seed
        self.stage = stage

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Tensor | str | int]:
        sample = make_sample(self.images[index], self.noise, derive_generator(self.seed, self.stage, index))
        return {**sample, "name": self.names[index], "index": index}
