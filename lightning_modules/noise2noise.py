"""Noise2Noise (Lehtinen, Munkberg, Hasselgren, Laine, Karras, Aittala, Aila, ICML 2018).

Eq. (2)-(3) of the paper: when the target is another noisy observation ``y2 = x + n2`` with
``E[y2 | y] = x``, minimising ``E || f(y) - y2 ||^2`` has the same minimiser as the supervised loss
``E || f(y) - x ||^2``: the target noise only adds a constant. L2 recovers the mean (zero-mean noise);
L1 recovers the median (Sec. 3.3, e.g. for outliers).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.choices import check_choice
from core.losses import PixelLoss, pixel_loss
from lightning_modules.base import Batch, DenoisingModule


class Noise2Noise(DenoisingModule):
    """Loss ``|| f(noisy) - noisy2 ||``: ``noisy2`` is an independent noisy observation of the same scene.

    Args:
        loss: ``l2`` for zero-mean noise, ``l1`` for median-preserving noise.
        **kwargs: the ``DenoisingModule`` arguments (optimizer, scheduler, ...).
    """

    target_key = "noisy2"
    required_keys = ("noisy2",)

    def __init__(self, network: nn.Module, loss: PixelLoss = "l2", **kwargs) -> None:
        super().__init__(network, **kwargs)
        self.loss = check_choice("loss", loss, PixelLoss)

    def training_loss(self, batch: Batch, generator: torch.Generator | None = None) -> Tensor:
        return pixel_loss(self.fit_network(batch["noisy"]), batch[self.target_key], self.loss)
