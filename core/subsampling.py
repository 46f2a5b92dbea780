"""Sub-image samplers shared by Zero-Shot Noise2Noise and Neighbor2Neighbor."""

from __future__ import annotations

import torch
from torch import Tensor


def pair_downsample(image: Tensor) -> tuple[Tensor, Tensor]:
    """ZS-N2N's fixed pair downsampler: two depthwise 2x2 stride-2 filters, [[0, .5], [.5, 0]] and
    [[.5, 0], [0, .5]]: each output pixel averages one diagonal of a 2x2 block, so the two halves
    share no input pixel and their noise is independent. Odd sizes drop the last row/column. Computed
    by slicing, which gives exactly the filters' result (halving is exact in floating point) and is
    cheaper than a depthwise convolution."""
    h, w = 2 * (image.shape[-2] // 2), 2 * (image.shape[-1] // 2)
    top_left, top_right = image[..., 0:h:2, 0:w:2], image[..., 0:h:2, 1:w:2]
    bottom_left, bottom_right = image[..., 1:h:2, 0:w:2], image[..., 1:h:2, 1:w:2]
    return 0.5 * (top_right + bottom_left), 0.5 * (top_left + bottom_right)


# the 8 ordered pairs of edge-adjacent pixels in a 2x2 cell; cell positions 0 (0,0), 1 (0,1), 2 (1,0), 3 (1,1)
NEIGHBOUR_PAIRS = torch.tensor([[0, 1], [0, 2], [1, 3], [2, 3], [1, 0], [2, 0], [3, 1], [3, 2]])


def neighbour_subsample(image: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """Neighbor2Neighbor's random neighbour sub-sampler (Huang et al. CVPR 2021, Sec. 3.2): in every
    2x2 cell one of the 8 ordered pairs of adjacent pixels is drawn; the first pixel goes to sub-image
    g1, the second to g2 (all channels alike). Returns (g1, g2, pair index per cell [B, H/2, W/2])."""
    batch, _, height, width = image.shape
    choice = torch.randint(8, (batch, height // 2, width // 2), generator=generator, device=generator.device)
    first, second = subsample_like(image, choice.to(image.device))
    return first, second, choice


def subsample_like(image: Tensor, choice: Tensor) -> tuple[Tensor, Tensor]:
    """Apply the same cell-pair choice to another image (Neighbor2Neighbor's g1(f(y)), g2(f(y)))."""
    batch, channels, height, width = image.shape
    h, w = choice.shape[-2:]
    cells = image[..., : 2 * h, : 2 * w].reshape(batch, channels, h, 2, w, 2).permute(0, 1, 2, 4, 3, 5)
    cells = cells.reshape(batch, channels, h, w, 4)
    pairs = NEIGHBOUR_PAIRS.to(image.device)[choice]
    index = [pairs[..., k][:, None, ..., None].expand(batch, channels, h, w, 1) for k in (0, 1)]
    return torch.gather(cells, -1, index[0])[..., 0], torch.gather(cells, -1, index[1])[..., 0]
