"""Denoising images of any size in bounded memory: tiles, blended, and test-time augmentation.

A convolutional denoiser's output at a pixel depends only on the input within its receptive field.
Cutting the image into tiles that overlap by more than twice that radius therefore gives, inside each
tile's inner part, the same output as one pass over the whole image; where two inner parts meet, a
short cosine ramp blends them, so no seam can show even where a network is not exactly translation
equivariant (a U-Net padding odd sizes). Any ``denoise(noisy [B, C, H, W]) -> [B, C, H, W]`` works,
including a method's own inference (R2R's K recorrupted passes, Noise2Self's J-invariant passes, the
Laine posterior), which then runs per tile.

``with_flips_and_rotations`` averages a denoiser over the 8 flips / 90-degree rotations of its input
(each result mapped back): the geometric self-ensemble (Timofte, Rothe, Van Gool, CVPR 2016, "Seven
ways to improve example-based single image super resolution"; the "+" models of EDSR, Lim et al. 2017).
The mean is exactly equivariant to those transforms whatever the network learnt, and it assumes the
noise statistics do not change under them (white noise, the near-isotropic correlation of camera
noise; not noise correlated along one axis only). Every one of the 8 passes maps pixels to pixels, so
a blind-spot network stays blind: no output pixel depends on its own noisy input value in any pass,
nor in their mean.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch
from torch import Tensor

Denoiser = Callable[[Tensor], Tensor]


def receptive_radius(denoise: Denoiser, channels: int, limit: int = 1024, device: torch.device | str = "cpu") -> int:
    """How far (in pixels, Chebyshev distance) an input pixel can influence an output pixel, measured by
    autograd: the gradient of the centre output pixel is non-zero exactly on its receptive field.
    Grows the probe until the field fits inside it (up to ``limit``, which is returned past it)."""
    size = 65
    while True:
        probe = 0.5 + 0.1 * torch.randn(1, channels, size, size, generator=torch.Generator().manual_seed(0))
        probe = probe.to(device).requires_grad_(True)
        with torch.enable_grad():
            output = denoise(probe)
            output[0, :, size // 2, size // 2].sum().backward()
        support = probe.grad.abs().sum(dim=(0, 1)) > 0
        rows, cols = torch.nonzero(support, as_tuple=True)
        if len(rows) == 0:
            return 0
        radius = int(max((rows - size // 2).abs().max(), (cols - size // 2).abs().max()))
        if radius < size // 2 - 1:
            return radius
        if size >= limit:
            return limit
        size = 2 * size - 1


def warn_if_patches_inside_receptive_field(network: torch.nn.Module, patches: Tensor, what: str = "") -> None:
    """Warn when training ``patches`` [B, C, H, W] are narrower than ``network``'s receptive field: every
    output the loss sees then reads the zero padding beyond the patch border, a network can learn to
    rely on it, and inside larger images (at test time) it has none. The network is probed once in
    eval mode (no batch-norm statistics change)."""
    side = min(patches.shape[-2:])
    limit = 2 * side + 1  # a field this wide is past doubt; below it the radius is measured exactly
    was_training = network.training
    network.eval()
    try:
        radius = receptive_radius(network, patches.shape[1], limit=limit, device=patches.device)
    except RuntimeError:  # a network that takes more than the image (a noise-level map): no probe, no advice
        return
    finally:
        network.train(was_training)
    if 2 * radius + 1 > side:
        field = "over twice as wide" if radius >= limit else f"{2 * radius + 1}x{2 * radius + 1}"
        warnings.warn(
            f"The training patches the loss sees are {patches.shape[-2]}x{patches.shape[-1]}{what}, narrower than "
            f"the network's receptive field ({field}, measured by autograd): every training output reads the "
            "zero padding beyond the patch border. A network may learn to rely on it and then fail inside larger "
            "images at test time; if test scores are poor, train on larger patches (data.init_args.patch_size) "
            "or use a network with fewer levels.",
            stacklevel=2,
        )


def _ramp(length: int, margin_before: int, margin_after: int, band: int, device) -> Tensor:
    """1-D weights of one tile: 0 over a margin next to a neighbouring tile, then a cosine ramp up over
    ``band`` pixels, 1 inside (and right up to the image's own border, where there is no neighbour)."""
    weights = torch.ones(length, device=device)
    ramp = 0.5 - 0.5 * torch.cos(torch.linspace(0, math.pi, band + 2, device=device)[1:-1])
    for margin, flip in ((margin_before, False), (margin_after, True)):
        if margin == 0:
            continue
        edge = torch.cat([torch.zeros(margin, device=device), ramp])[:length]
        edge = edge.flip(0) if flip else edge
        if flip:
            weights[length - len(edge) :] = torch.minimum(weights[length - len(edge) :], edge)
        else:
            weights[: len(edge)] = torch.minimum(weights[: len(edge)], edge)
    return weights


def _starts(size: int, tile: int, step: int) -> list[int]:
    """Tile starts, all multiples of ``step``, until a tile reaches the end (the last may be shorter)."""
    starts = [0]
    while starts[-1] + tile < size:
        starts.append(starts[-1] + step)
    return starts


def denoise_tiled(
    denoise: Denoiser, noisy: Tensor, tile: int = 512, margin: int = 32, band: int = 16, align: int = 32
) -> Tensor:
    """``denoise(noisy)`` for ``noisy`` [B, C, H, W] computed tile by tile: tiles of ``tile`` pixels whose
    neighbours overlap by at least ``2 * margin + band``; each tile's output is trusted from ``margin``
    pixels away from a neighbouring tile, and blended over ``band`` pixels. ``margin`` should be at least
    the denoiser's ``receptive_radius``. Tiles start at multiples of ``align`` pixels, so a U-Net pools
    the same 2x2 blocks in a tile as in the whole image (32 covers 5 poolings). Memory: one tile's
    pass plus two image-sized accumulators."""
    batch, channels, height, width = noisy.shape
    step = (tile - 2 * margin - band) // align * align
    if step <= 0:
        raise ValueError(
            f"tile ({tile}) must exceed 2 * margin + band ({2 * margin + band}) by at least align ({align})"
        )
    if height <= tile and width <= tile:
        return denoise(noisy)
    total = torch.zeros_like(noisy)
    weight = torch.zeros(1, 1, height, width, dtype=noisy.dtype, device=noisy.device)
    for top in _starts(height, tile, step):
        for left in _starts(width, tile, step):
            bottom, right = min(top + tile, height), min(left + tile, width)
            output = denoise(noisy[:, :, top:bottom, left:right])
            rows = _ramp(bottom - top, margin if top > 0 else 0, margin if bottom < height else 0, band, noisy.device)
            cols = _ramp(right - left, margin if left > 0 else 0, margin if right < width else 0, band, noisy.device)
            window = (rows[:, None] * cols[None, :]).to(noisy.dtype)
            total[:, :, top:bottom, left:right] += output * window
            weight[:, :, top:bottom, left:right] += window
    return total / weight


def dihedral(image: Tensor, code: int) -> Tensor:
    """One of the 8 flips / 90-degree rotations of ``image`` [..., H, W]: ``code`` 0-3 rotate, 4-7 also transpose."""
    image = image.transpose(-1, -2) if code >= 4 else image
    return torch.rot90(image, code % 4, dims=(-2, -1))


def undo_dihedral(image: Tensor, code: int) -> Tensor:
    image = torch.rot90(image, -(code % 4), dims=(-2, -1))
    return image.transpose(-1, -2) if code >= 4 else image


def with_flips_and_rotations(denoise: Denoiser) -> Denoiser:
    """The mean of ``denoise`` over the 8 dihedral transforms of its input, each mapped back."""

    def averaged(noisy: Tensor) -> Tensor:
        return sum(undo_dihedral(denoise(dihedral(noisy, code)), code) for code in range(8)) / 8

    return averaged
