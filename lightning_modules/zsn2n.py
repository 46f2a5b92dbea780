"""Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023) trained over a dataset: each noisy image is split
by the fixed pair downsampler into two half-resolution images with independent noise, and the
network learns to predict the noise of one from the other (Eq. 3-4, ``core.losses.zsn2n_loss``)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.losses import zsn2n_loss
from lightning_modules.base import Batch, DenoisingModule, Stage
from networks.residual import SubtractPredictedNoise


class ZeroShotN2N(DenoisingModule):
    """ZS-N2N's residual + consistency loss over a dataset; the network predicts the noise and the
    output is ``y - f(y)``."""

    def training_loss(self, batch: Batch, generator: torch.Generator | None = None) -> Tensor:
        return zsn2n_loss(self.fit_network, batch["noisy"])

    def denoise(
        self, noisy: Tensor, generator: torch.Generator | None = None, batch: Batch | None = None, stage: Stage = "test"
    ) -> Tensor:
        return noisy - self.network(noisy)

    def exported_network(self) -> tuple[nn.Module, str]:
        return SubtractPredictedNoise(self.network), "the denoised image y - f(y) (the network f predicts the noise)"
