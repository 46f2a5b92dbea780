"""Noise2Self (Batson & Royer, ICML 2019).

For J-invariant f (the output at j ignores the input at j) and noise independent across pixels,
E||f(y) - y||^2 = E||f(y) - x||^2 + E||y - x||^2 (Eq. 2 of the paper): the self-supervised loss is the
supervised loss plus a constant. A network is made J-invariant by masking (Sec. 4): a grid phase hides
1 / w^2 of the pixels (interpolated from their neighbours, or zeroed), and the loss is taken on the
hidden pixels only. Training cycles through the w^2 phases step by step, as the reference code does;
validation uses a phase fixed by the batch index, so ``val/loss`` is comparable across epochs.

Inference: ``single`` applies the trained network to the whole noisy image (the reference notebook's
default, usually a little better); ``j_invariant`` sums ``network(mask_i(y)) * mask_i`` over all phases.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from core.choices import check_choice
from core.masking import Replacement, grid_mask, j_invariant_reconstruction, mask_input, masked_mse
from lightning_modules.base import Batch, Stage
from lightning_modules.pixel_shuffle import PixelShuffleDenoising

Inference = Literal["single", "j_invariant"]


def j_invariant_export_note(passes: int) -> str:
    """What an exported network is when the method's inference is the J-invariant reconstruction."""
    return (
        f"one pass of the network; this method's inference (j_invariant) reassembles {passes} passes, each on "
        "the image with one grid phase masked (core.masking.j_invariant_reconstruction)"
    )


class Noise2Self(PixelShuffleDenoising):
    """Args:
    network: any denoiser (the reference uses a DnCNN or a U-Net).
    mask_width: w, the grid period; w^2 phases (4 in the reference examples).
    replacement: ``interpolate`` (3x3 neighbour kernel, per channel) or ``zero``.
    inference: ``single`` or ``j_invariant``.
    **kwargs: ``pd_stride`` and the other pixel-shuffle options (``PixelShuffleDenoising``), and the
        ``DenoisingModule`` arguments.
    """

    def __init__(
        self,
        network: nn.Module,
        mask_width: int = 4,
        replacement: Replacement = "interpolate",
        inference: Inference = "single",
        **kwargs,
    ) -> None:
        super().__init__(network, **kwargs)
        if mask_width < 2:
            raise ValueError(f"mask_width must be >= 2, got {mask_width}")
        self.mask_width = mask_width
        self.replacement = check_choice("replacement", replacement, Replacement)
        self.inference = check_choice("inference", inference, Inference)

    @property
    def blind_inference(self) -> bool:
        return self.inference == "j_invariant"

    def masked_loss(self, noisy: Tensor, phase: int) -> Tensor:
        mask = grid_mask(*noisy.shape[-2:], self.mask_width, phase, noisy.device)
        return masked_mse(self.fit_network(mask_input(noisy, mask, self.replacement)), noisy, mask)

    def training_loss(self, batch: Batch, generator: torch.Generator | None = None) -> Tensor:
        return self.masked_loss(batch["noisy"], self.global_step % self.mask_width**2)

    def validation_loss(self, batch: Batch, generator: torch.Generator | None = None) -> Tensor:
        # a phase fixed per validation batch (the batch's position is folded into the generator seed)
        phase = int(torch.randint(self.mask_width**2, (), generator=generator, device=generator.device))
        return self.masked_loss(batch["noisy"], phase)

    def exported_network(self) -> tuple[nn.Module, str]:
        if self.inference == "j_invariant":
            return self.network, j_invariant_export_note(self.mask_width**2)
        return super().exported_network()

    def denoise(
        self, noisy: Tensor, generator: torch.Generator | None = None, batch: Batch | None = None, stage: Stage = "test"
    ) -> Tensor:
        if self.inference == "j_invariant":
            return j_invariant_reconstruction(self.inference_network(), noisy, self.mask_width, self.replacement)
        return self.inference_network()(noisy)
