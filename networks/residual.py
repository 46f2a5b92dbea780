"""A network that predicts the noise, turned into one that returns the denoised image."""

from __future__ import annotations

from torch import Tensor, nn


class SubtractPredictedNoise(nn.Module):
    """``y - f(y)`` for a network ``f`` that predicts the noise of ``y`` (ZS-N2N's network)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network
        self.multiple = int(getattr(network, "multiple", 1))

    def forward(self, noisy: Tensor) -> Tensor:
        return noisy - self.network(noisy)
