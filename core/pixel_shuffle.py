"""Pixel-shuffle downsampling (PD), from Zhou et al. 2020 and AP-BSN (Lee, Son, Lee, CVPR 2022).

PD_s splits an image into s x s sub-images: sub-image (i, j) holds the pixels (i + s r, j + s c), so
two neighbours inside a sub-image lie s pixels apart in the original. Camera noise is correlated over
a pixel or two (demosaicking, in-camera processing), so within a sub-image it is nearly independent,
which is what a blind-spot network needs; the signal, sampled s times more coarsely, stays predictable.
AP-BSN trains with a large stride (s = 5: the noise in a sub-image is independent) and denoises with a
small one (s = 2: fine structure is kept), and refines with R3 (random-replacing refinement): a random
fraction p of the denoised pixels is replaced by the noisy ones and the result denoised again without
PD, T times, averaged; the replaced pixels carry the original noise in only a sparse set, whose
correlation a blind-spot network cannot exploit.

The sub-images are stacked on the batch axis: [B, C, H, W] -> [B s^2, C, H/s, W/s], image b's
sub-images at b s^2 ... (b + 1) s^2 - 1. Sides that are not multiples of s are padded by reflection
first and cropped after.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def pd_split(image: Tensor, stride: int) -> Tensor:
    """[B, C, H, W] -> [B * stride^2, C, ceil(H / stride), ceil(W / stride)]: the PD sub-images."""
    if stride == 1:
        return image
    batch, channels, height, width = image.shape
    pad_h, pad_w = -height % stride, -width % stride
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        image = F.pad(image, (0, pad_w, 0, pad_h), mode=mode)
    h, w = image.shape[-2] // stride, image.shape[-1] // stride
    cells = image.reshape(batch, channels, h, stride, w, stride).permute(0, 3, 5, 1, 2, 4)
    return cells.reshape(batch * stride * stride, channels, h, w)


def pd_merge(sub_images: Tensor, stride: int, height: int, width: int) -> Tensor:
    """The inverse of ``pd_split`` for an image of ``height`` x ``width``."""
    if stride == 1:
        return sub_images
    count, channels, h, w = sub_images.shape
    batch = count // (stride * stride)
    cells = sub_images.reshape(batch, stride, stride, channels, h, w).permute(0, 3, 4, 1, 5, 2)
    return cells.reshape(batch, channels, h * stride, w * stride)[..., :height, :width]


def repeat_per_sub_image(value: Tensor, stride: int) -> Tensor:
    """A per-image tensor (first axis B) repeated for each of the image's stride^2 sub-images."""
    return value.repeat_interleave(stride * stride, dim=0)


def random_replacing_refinement(
    denoise: Callable[[Tensor], Tensor], noisy: Tensor, denoised: Tensor, passes: int, fraction: float,
    generator: torch.Generator,
) -> Tensor:  # fmt: skip
    """AP-BSN's R3: the mean over ``passes`` of ``denoise`` applied (without PD) to ``denoised`` with a
    random ``fraction`` of its values put back to their noisy ones (drawn per pixel and channel, as
    ``torch.rand_like`` in the official code)."""
    total = torch.zeros_like(noisy)
    for _ in range(passes):
        draw = torch.rand(noisy.shape, generator=generator, device=generator.device)
        mixed = torch.where(draw.to(noisy.device) < fraction, noisy, denoised)
        total += denoise(mixed)
    return total / passes
