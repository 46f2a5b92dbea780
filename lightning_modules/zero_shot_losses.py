"""Dataset-level training with the sub-sampling losses of Zero-Shot Noise2Noise (Mansour & Heckel,
CVPR 2023) and Neighbor2Neighbor (Huang, Li, Jin, Wang, Zhou, CVPR 2021): both split each noisy
training image into two half-resolution sub-images whose noise is independent and train the network
to map one to the other."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lightning_modules.base import Batch, DenoisingModule
from lightning_modules.downsampling import neighbour_subsample, subsample_like
from networks.residual import SubtractPredictedNoise


class ZeroShotN2N(DenoisingModule):
    """ZS-N2N's residual + consistency loss (see ``zero_shot.zsn2n``) over a dataset; the network
    predicts the noise and the output is ``y - f(y)``."""

    def training_loss(self, batch: Batch, generator: torch.Generator | None = None) -> Tensor:
        # imported here: zero_shot imports lightning_modules.downsampling, which loads this package
        from zero_shot.zsn2n_loss import zsn2n_loss

        return zsn2n_loss(self.fit_network, batch["noisy"])

    def denoise(self, noisy: Tensor, generator: torch.Generator | None = None, batch: Batch | None = None) -> Tensor:
        return noisy - self.network(noisy)

    def exported_network(self) -> tuple[nn.Module, str]:
        return SubtractPredictedNoise(self.network), "the denoised image y - f(y) (the network f predicts the noise)"


class Neighbor2Neighbor(DenoisingModule):
    """Neighbor2Neighbor (Eq. 7 of the paper): with g1, g2 the random neighbour sub-sampler,
        ||f(g1(y)) - g2(y)||^2 + gamma * ||f(g1(y)) - g2(y) - (g1(f(y)) - g2(f(y)))||^2,
    f(y) computed without gradient. As in the official code gamma grows linearly from 0 to
    ``gamma`` over the training epochs (``ramp_gamma: false`` keeps it fixed). Output: f(y).

    Args:
        gamma: the regulariser's final weight (2 in the paper).
        ramp_gamma: ramp gamma with the epoch.
        **kwargs: the ``DenoisingModule`` arguments.
    """

    def __init__(self, network: nn.Module, gamma: float = 2.0, ramp_gamma: bool = True, **kwargs) -> None:
        super().__init__(network, **kwargs)
        self.gamma = gamma
        self.ramp_gamma = ramp_gamma

    def current_gamma(self) -> float:
        trainer = self._trainer
        if not self.ramp_gamma or trainer is None or not trainer.max_epochs or trainer.max_epochs < 1:
            return self.gamma
        return self.gamma * self.current_epoch / trainer.max_epochs

    def training_loss(self, batch: Batch, generator: torch.Generator) -> Tensor:
        noisy = batch["noisy"]
        sub1, sub2, choice = neighbour_subsample(noisy, generator)
        with torch.no_grad():
            full1, full2 = subsample_like(self.network(noisy), choice)
        difference = self.fit_network(sub1) - sub2
        regulariser = torch.mean((difference - (full1 - full2)) ** 2)
        return torch.mean(difference**2) + self.current_gamma() * regulariser
