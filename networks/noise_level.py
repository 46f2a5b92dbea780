"""A small CNN that estimates one noise level per image (Laine et al. 2019's per-image noise
parameter network, used when the level is unknown and varies between images)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class NoiseLevelNet(nn.Module):
    """Strided 3x3 convolutions, a global average and a softplus: a positive value per image [B]."""

    def __init__(self, in_channels: int = 1, width: int = 32, depth: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for _ in range(depth):
            layers += [nn.Conv2d(c_in, width, 3, stride=2, padding=1), nn.LeakyReLU(0.1)]
            c_in = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(self.head(self.features(x)).mean(dim=(1, 2, 3))) + 1e-4
