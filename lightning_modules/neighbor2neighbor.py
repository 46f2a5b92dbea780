"""Neighbor2Neighbor (Huang, Li, Jin, Wang, Zhou, CVPR 2021): each noisy image is split by a random
neighbour sub-sampler into two half-resolution images whose noise is independent; the network maps
one to the other, with a regulariser for the sub-pixel shift between them (Eq. 7,
``core.losses.neighbor2neighbor_loss``)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.losses import neighbor2neighbor_loss
from lightning_modules.base import Batch, DenoisingModule


class Neighbor2Neighbor(DenoisingModule):
    """Neighbor2Neighbor's loss over a dataset; output f(y). As in the official code, gamma grows
    linearly from 0 to ``gamma`` over the training epochs (``ramp_gamma: false`` keeps it fixed).

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
        return neighbor2neighbor_loss(self.fit_network, batch["noisy"], self.current_gamma(), generator)
