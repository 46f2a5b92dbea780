"""Coordinate networks for implicit neural representations of an image: (x, y) in [-1, 1]^2 -> colour.

``Siren`` (Sitzmann et al., NeurIPS 2020): sine activations sin(omega_0 (W x + b)), omega_0 = 30, first
layer weights U(-1/n, 1/n), later ones U(-sqrt(6/n)/omega_0, sqrt(6/n)/omega_0), a linear last layer.
``FourierMLP`` (Tancik et al., NeurIPS 2020): random Fourier features [cos 2 pi B v, sin 2 pi B v] with
B ~ N(0, scale^2), then a ReLU MLP.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class SineLayer(nn.Module):
    def __init__(self, in_features: int, out_features: int, omega: float, first: bool) -> None:
        super().__init__()
        self.omega = omega
        self.linear = nn.Linear(in_features, out_features)
        bound = 1 / in_features if first else math.sqrt(6 / in_features) / omega
        nn.init.uniform_(self.linear.weight, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(self.omega * self.linear(x))


class Siren(nn.Module):
    def __init__(self, out_channels: int = 1, width: int = 256, layers: int = 3, omega: float = 30.0) -> None:
        super().__init__()
        blocks = [SineLayer(2, width, omega, first=True)]
        blocks += [SineLayer(width, width, omega, first=False) for _ in range(layers - 1)]
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(width, out_channels)
        bound = math.sqrt(6 / width) / omega
        nn.init.uniform_(self.head.weight, -bound, bound)

    def forward(self, coordinates: Tensor) -> Tensor:
        return self.head(self.body(coordinates))


class FourierMLP(nn.Module):
    def __init__(
        self, out_channels: int = 1, width: int = 256, layers: int = 3, features: int = 256, scale: float = 10.0
    ):
        super().__init__()
        self.register_buffer("frequencies", torch.randn(2, features) * scale)
        blocks: list[nn.Module] = []
        c_in = 2 * features
        for _ in range(layers):
            blocks += [nn.Linear(c_in, width), nn.ReLU(inplace=True)]
            c_in = width
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(width, out_channels)

    def forward(self, coordinates: Tensor) -> Tensor:
        projected = 2 * math.pi * coordinates @ self.frequencies
        return self.head(self.body(torch.cat([projected.cos(), projected.sin()], dim=-1)))
