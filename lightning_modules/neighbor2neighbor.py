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
    """Neighbor2Neighbor's loss over a dataset; output f(y). As in the official code
    (``Lambda = epoch / n_epoch * increase_ratio``), gamma grows linearly from 0 to ``gamma`` over the
    training; a run bounded by ``max_steps`` rather than ``max_epochs`` ramps it over its steps, and one
    bounded by both over whichever ends it first. ``ramp_gamma: false`` keeps it fixed.

    Args:
        gamma: the regulariser's final weight (2 in the paper).
        ramp_gamma: ramp gamma with the training's progress.
        **kwargs: the ``DenoisingModule`` arguments.
    """

    def __init__(self, network: nn.Module, gamma: float = 2.0, ramp_gamma: bool = True, **kwargs) -> None:
        super().__init__(network, **kwargs)
        self.gamma = gamma
        self.ramp_gamma = ramp_gamma

    def current_gamma(self) -> float:
        trainer = self._trainer
        if not self.ramp_gamma or trainer is None:
            return self.gamma
        progress = [self.current_epoch / trainer.max_epochs] if (trainer.max_epochs or 0) > 0 else []
        if (trainer.max_steps or 0) > 0:
            progress.append(self.global_step / trainer.max_steps)
        return self.gamma * min(max(progress), 1.0) if progress else self.gamma

    def training_loss(self, batch: Batch, generator: torch.Generator) -> Tensor:
        return neighbor2neighbor_loss(self.fit_network, batch["noisy"], self.current_gamma(), generator)
