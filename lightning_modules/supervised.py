"""Supervised baseline: train the network on (noisy, clean) pairs, the upper bound for the
self-supervised methods with the same network and data (as in Lehtinen et al. 2018, Table 1)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lightning_modules.base import Batch, DenoisingModule
from lightning_modules.functional import check_loss_name, pixel_loss


class Supervised(DenoisingModule):
    """Loss ``|| f(y) - x ||`` between the network's output on the noisy input and the clean image.

    Args:
        loss: ``l2`` (estimates the posterior mean) or ``l1`` (the median).
        **kwargs: the ``DenoisingModule`` arguments (optimizer, scheduler, ...).
    """

    required_keys = ("clean",)

    def __init__(self, network: nn.Module, loss: str = "l2", **kwargs) -> None:
        super().__init__(network, **kwargs)
        self.loss = check_loss_name(loss)

    def training_loss(self, batch: Batch, generator: torch.Generator | None = None) -> Tensor:
        return pixel_loss(self.fit_network(batch["noisy"]), batch["clean"], self.loss)
