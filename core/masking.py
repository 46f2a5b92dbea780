"""Pure functions of Noise2Self's grid masking (Batson & Royer, ICML 2019; czbiohub-sf/noise2self
``mask.py``): which pixels a phase hides, what replaces them, the masked loss, and the
J-invariant reconstruction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

Replacement = Literal["interpolate", "zero"]

# the reference code's interpolation: the 8 neighbours, edge ones weighted 1, corner ones 0.5, centre 0
_INTERPOLATION_KERNEL = torch.tensor([[0.5, 1.0, 0.5], [1.0, 0.0, 1.0], [0.5, 1.0, 0.5]]) / 6.0


def grid_mask(height: int, width: int, grid: int, phase: int, device=None) -> Tensor:
    """[1, 1, H, W] float mask of phase ``phase`` in [0, grid^2): pixels (r, c) with
    ``r % grid == phase % grid`` and ``c % grid == (phase // grid) % grid``."""
    rows = torch.arange(height, device=device)[:, None]
    cols = torch.arange(width, device=device)[None, :]
    hit = (rows % grid == phase % grid) & (cols % grid == (phase // grid) % grid)
    return hit.float()[None, None]


def interpolate(image: Tensor) -> Tensor:
    """Each pixel replaced by the weighted mean of its 8 neighbours, per channel (zero padding, as the
    reference code's ``conv2d(padding=1)``)."""
    channels = image.shape[1]
    kernel = _INTERPOLATION_KERNEL.to(image).expand(channels, 1, 3, 3)
    return F.conv2d(image, kernel, padding=1, groups=channels)


def mask_input(image: Tensor, mask: Tensor, replacement: str = "interpolate") -> Tensor:
    """Hide the masked pixels of [B, C, H, W] ``image``: replace them by ``interpolate`` or by zero."""
    if replacement == "interpolate":
        return interpolate(image) * mask + image * (1 - mask)
    if replacement == "zero":
        return image * (1 - mask)
    raise ValueError(f"replacement must be one of {get_args(Replacement)}, got {replacement!r}")


def masked_mse(prediction: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over the masked pixels only (all channels of each masked pixel)."""
    mask = mask.expand_as(prediction)
    return ((prediction - target) ** 2 * mask).sum() / mask.sum()


def j_invariant_reconstruction(
    network: Callable[[Tensor], Tensor], image: Tensor, grid: int, replacement: str = "interpolate"
) -> Tensor:
    """Sum over all grid^2 phases of ``network(mask_i(image)) * mask_i``: every output pixel comes from
    a pass in which its own input pixel was hidden, so the output at j never depends on the input at j."""
    height, width = image.shape[-2:]
    output = torch.zeros_like(image)
    for phase in range(grid * grid):
        mask = grid_mask(height, width, grid, phase, image.device)
        output = output + network(mask_input(image, mask, replacement)) * mask
    return output
