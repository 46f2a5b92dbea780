"""Training batches made on the training device, a whole batch at a time.

The per-sample path (``TrainPatchDataset`` behind a DataLoader) crops, flips and corrupts one patch at
a time in worker processes; on a GPU its per-sample overhead, not the image work, caps the steps per
second. Here the training images are held once as one tensor on the device and every batch is a few
vectorised operations on it: a gather of patch rows that crops all patches at once, a gather within
each patch that orients it, then the noise for the whole batch. The draws are a function of (seed,
epoch, rank, step), so a resumed run draws what an uninterrupted one would have and DDP ranks draw
different batches.

Sampling follows the per-sample path: each epoch every image gives ``patches_per_image`` patches, in
an order shuffled by (seed, epoch) and sharded over the ranks like ``DistributedSampler``; the crop
position is uniform over the image (images smaller than the patch are reflect-padded to it first)
and the orientation uniform over the 8 flips / 90-degree rotations.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from core.seeding import TRAIN, derive_seed
from datamodules.datasets import NoiseDraws, fixed_noisy_image, warn_small_images
from noise.models import NoiseModel

# separates these draws from the method's (step_generator) and the per-sample path's streams
DEVICE_BATCH_STREAM = 11


def stack_images(images: Sequence[np.ndarray], patch_size: int) -> tuple[Tensor, Tensor]:
    """Images [H, W, C] as one zero-padded [N, H_max, W_max, C] float32 tensor and their [N, 2] sizes;
    a side shorter than the patch is reflect-padded (as ``cv2.BORDER_REFLECT_101``) to the patch first."""
    padded, small = [], []
    for index, image in enumerate(images):
        if not isinstance(image, np.ndarray) or image.ndim != 3:
            raise ValueError(
                f"batches_on_device needs plain images ([H, W, C] arrays); training item {index} is a "
                f"{type(image).__name__}. Groups of real captures (noisy/clean pairs) use the per-sample path: "
                "set data.init_args.batches_on_device: false."
            )
        grow = [(0, max(0, patch_size - image.shape[0])), (0, max(0, patch_size - image.shape[1])), (0, 0)]
        if grow[0][1] or grow[1][1]:
            small.append(image.shape[:2])
        padded.append(np.pad(image, grow, mode="reflect") if any(g[1] for g in grow) else image)
    if small:
        warn_small_images(min(small, key=min), len(small), patch_size)
    sizes = torch.tensor([image.shape[:2] for image in padded], dtype=torch.long)
    channels = {image.shape[2] for image in padded}
    if len(channels) != 1:
        raise ValueError(f"the training images have different channel counts {sorted(channels)}")
    stacked = torch.zeros(len(padded), int(sizes[:, 0].max()), int(sizes[:, 1].max()), channels.pop())
    for index, image in enumerate(padded):
        stacked[index, : image.shape[0], : image.shape[1]] = torch.from_numpy(image).float()
    return stacked, sizes


def orientation_offsets(patch_size: int, channels: int = 1, device: torch.device | str = "cpu") -> Tensor:
    """[8, p * p * C]: for each of the 8 orientations of a p x p patch (bit 0 flips rows, bit 1 flips
    columns, bit 2 transposes: the dihedral group of the square), the flat index, in the patch stored
    channels last, of the value each output position and channel reads."""
    span = torch.arange(patch_size, device=device)
    rows, cols = span.view(-1, 1).expand(patch_size, patch_size), span.view(1, -1).expand(patch_size, patch_size)
    maps = []
    for code in range(8):
        r, c = (cols, rows) if code & 4 else (rows, cols)
        r = patch_size - 1 - r if code & 1 else r
        c = patch_size - 1 - c if code & 2 else c
        maps.append((r * patch_size + c).reshape(-1, 1) * channels + torch.arange(channels, device=device))
    return torch.stack(maps).view(8, -1)


def crop_and_orient(
    images: Tensor, sizes: Tensor, which: Tensor, offsets: Tensor, generator: torch.Generator, augment: bool
) -> Tensor:
    """Patches [B, C, p, p] of ``images[which]`` ([N, H, W, C], channels last, contiguous) at uniform
    positions inside each image's true size, each in one of the 8 orientations (uniformly) when
    ``augment``; ``offsets`` from ``orientation_offsets(p, C)``.

    The crop copies whole patch rows (p * C contiguous values each, read through a view in which every
    flat position starts a row), then the orientation rearranges each patch while it is small and in
    cache; reading the oriented pixels straight from the images would scatter single-value reads over
    images that seldom fit in a CPU's cache.
    """
    count, device = len(which), images.device
    _, full_height, full_width, channels = images.shape
    patch_size = math.isqrt(offsets.shape[1] // channels)
    height, width = sizes[which, 0], sizes[which, 1]
    top = (torch.rand(count, generator=generator, device=device) * (height - patch_size + 1)).long()
    left = (torch.rand(count, generator=generator, device=device) * (width - patch_size + 1)).long()
    code = torch.randint(8, (count,), generator=generator, device=device) if augment else None
    origin = (which * full_height + top) * full_width + left  # flat pixel index of each crop's corner
    row_starts = origin.view(-1, 1) + torch.arange(patch_size, device=device) * full_width
    values, row_length = images.view(-1), patch_size * channels
    rows_view = values.as_strided((values.numel() - row_length + 1, row_length), (1, 1))
    patches = rows_view.index_select(0, row_starts.view(-1) * channels).view(count, -1)
    if code is not None:
        patches = patches.gather(1, offsets.index_select(0, code))
    return patches.view(count, patch_size, patch_size, channels).permute(0, 3, 1, 2).contiguous()


class DeviceBatches:
    """An iterable of training batches (the batch contract of ``make_sample``, batched) made on ``device``.

    Lightning treats it as a data loader: ``len`` is the number of batches per epoch and ``set_epoch``
    (reached through ``sampler``, where Lightning looks for it) selects the epoch's draws.
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        patch_size: int,
        patches_per_image: int,
        batch_size: int,
        noise: NoiseModel | None,
        seed: int,
        augment: bool = True,
        device: torch.device | str = "cpu",
        num_replicas: int = 1,
        rank: int = 0,
        noise_draws: NoiseDraws = "fresh",
    ) -> None:
        self.device = torch.device(device)
        self.fixed_params: dict[str, Tensor] = {}
        if noise_draws == "fixed" and noise is not None:
            # each image's one noisy version and second draw (the per-sample path's, from (seed, index)),
            # held beside the clean image as extra channels: one crop cuts all three alike
            draws = [fixed_noisy_image(image, noise, seed, i) for i, image in enumerate(images)]
            images = [np.concatenate([g["noisy"], g["noisy2"], g["clean"]], axis=2) for g, _ in draws]
            self.fixed_params = {key: torch.stack([p[key] for _, p in draws]).to(self.device) for key in draws[0][1]}
        stacked, sizes = stack_images(images, patch_size)
        self.images, self.sizes = stacked.to(self.device), sizes.to(self.device)
        self.patch_size = patch_size
        self.offsets = orientation_offsets(patch_size, self.images.shape[3], self.device)
        self.patches_per_image = patches_per_image
        self.batch_size = batch_size
        self.noise = noise
        self.seed = seed
        self.augment = augment
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self._skip = 0
        self.sampler = self  # Lightning calls ``loader.sampler.set_epoch(epoch)`` before each epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def skip_next(self, count: int) -> None:
        """The next iteration starts at batch ``count`` of the epoch (a run resumed mid-epoch)."""
        self._skip = count

    def __len__(self) -> int:
        per_rank = math.ceil(len(self.images) * self.patches_per_image / self.num_replicas)
        return math.ceil(per_rank / self.batch_size)

    def _generator(self, *keys: int) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(derive_seed(self.seed, TRAIN, *keys))

    def epoch_order(self, epoch: int) -> Tensor:
        """This rank's image index for every patch of the epoch, ``len(self) * batch_size`` of them:
        the same shuffle on every rank (seeded by the epoch), then every ``num_replicas``-th entry,
        wrapping around so every batch is full."""
        total = len(self.images) * self.patches_per_image
        shuffled = torch.randperm(total, generator=self._generator(epoch, DEVICE_BATCH_STREAM), device=self.device)
        wanted = len(self) * self.batch_size * self.num_replicas
        padded = shuffled.repeat(math.ceil(wanted / total))[:wanted]
        return padded[self.rank :: self.num_replicas] // self.patches_per_image

    def batch(self, epoch: int, step: int, order: Tensor | None = None) -> dict[str, Tensor]:
        """Batch ``step`` of ``epoch`` on this rank."""
        order = self.epoch_order(epoch) if order is None else order
        which = order[step * self.batch_size : (step + 1) * self.batch_size]
        generator = self._generator(epoch, self.rank, step, DEVICE_BATCH_STREAM, 0)
        clean = crop_and_orient(self.images, self.sizes, which, self.offsets, generator, self.augment)
        if self.fixed_params:
            noisy, noisy2, clean = clean.chunk(3, dim=1)
            params = {key: value[which] for key, value in self.fixed_params.items()}
            return {"noisy": noisy, "noisy2": noisy2, "clean": clean, **params}
        if self.noise is None:
            return {"noisy": clean}
        noisy, noisy2, params = self.noise.sample_batch(clean, generator)
        return {"noisy": noisy, "noisy2": noisy2, "clean": clean, **params}

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        epoch, skip, self._skip = self.epoch, self._skip, 0
        order = self.epoch_order(epoch)
        for step in range(skip, len(self)):
            yield self.batch(epoch, step, order)
