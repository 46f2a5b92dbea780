"""Noise2Noise (Lehtinen, Munkberg, Hasselgren, Laine, Karras, Aittala, Aila, ICML 2018).

Eq. (2)-(3) of the paper: when the target is another noisy observation ``y2 = x + n2`` with
``E[y2 | y] = x``, minimising ``E || f(y) - y2 ||^2`` has the same minimiser as the supervised loss
``E || f(y) - x ||^2``: the target noise only adds a constant. L2 recovers the mean (zero-mean noise);
L1 recovers the median (Sec. 3.3, e.g. for outliers).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lightning_modules.base import Batch, DenoisingModule
from lightning_modules.functional import check_loss_name, pixel_loss


class Noise2Noise(DenoisingModule):
    """Loss ``|| f(noisy) - noisy2 ||``: ``noisy2`` is an independent noisy observation of the same scene.

    Args:
        loss: ``l2`` for zero-mean noise, ``l1`` for median-preserving noise.
        **kwargs: the ``DenoisingModule`` arguments (optimizer, scheduler, ...).
    """

    required_keys = ("noisy2",)

    def __init__(self, network: nn.Module, loss: str = "l2", **kwargs) -> None:
        super().__init__(network, **kwargs)
        self.loss = check_loss_name(loss)

    def training_loss(self, batch: Batch, generator: torch.Generator | None = None) -> Tensor:
        return pixel_loss(self.fit_network(batch["noisy"]), batch["noisy2"], self.loss)
