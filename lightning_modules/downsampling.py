"""Sub-image samplers shared by Zero-Shot Noise2Noise and Neighbor2Neighbor."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_DIAGONAL = torch.tensor([[0.0, 0.5], [0.5, 0.0]])
_ANTI_DIAGONAL = torch.tensor([[0.5, 0.0], [0.0, 0.5]])


def pair_downsample(image: Tensor) -> tuple[Tensor, Tensor]:
    """ZS-N2N's fixed pair downsampler: two depthwise 2x2 stride-2 filters, [[0, .5], [.5, 0]] and
    [[.5, 0], [0, .5]]: each output pixel averages one diagonal of a 2x2 block, so the two halves
    share no input pixel and their noise is independent. Odd sizes drop the last row/column."""
    channels = image.shape[1]
    first = _DIAGONAL.to(image).expand(channels, 1, 2, 2)
    second = _ANTI_DIAGONAL.to(image).expand(channels, 1, 2, 2)
    return F.conv2d(image, first, stride=2, groups=channels), F.conv2d(image, second, stride=2, groups=channels)
