"""Noise2Void (Krull, Buchholz, Jug, CVPR 2019) and its N2V2 variant (Hoeck et al., ECCV-W 2022).

A blind-spot network trained by masking: in every training patch about 0.2% of the pixels are
picked (stratified over the patch) and replaced by a random neighbour from the 5x5 window without the
centre; the loss is the squared error between the network's output and the original noisy value at
the picked pixels only (Eq. 7-8 of the paper). The picked pixel's value never reaches the loss
target through the input, so for pixel-wise independent zero-mean noise the network learns the
clean signal. N2V2 replaces by the median of the window without the centre and uses a U-Net with
max-blur-pooling and no top skip connection (``networks.UNet(pooling="blur", top_skip=False)``),
which removes N2V's checkerboard artefacts. Inference is a single pass on the noisy image (the paper's);
``inference: j_invariant`` instead applies Noise2Self's construction of a J-invariant function from any
network (Batson & Royer, ICML 2019, Sec. 4): ``inference_grid``^2 passes, each with one grid phase of
pixels replaced by the mean of their 8 neighbours, every output pixel taken from the pass that hid it.
The output at a pixel then never reads that pixel's own noisy value, which the single pass does even
though training never asked it to; it is also what R3 (``r3_passes``) needs. As the
official code (and CAREamics) standardise the data by its mean and standard deviation, the shipped
configs wrap the U-Net in ``networks.Standardized``.

The mask stream comes from ``step_generator``: a function of (seed, rank, step), so each DDP rank
draws different masks, a resumed run draws the masks the uninterrupted one would have, and the
validation masks are fixed (``val/loss`` comparable across epochs).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.choices import check_choice
from core.masking import j_invariant_reconstruction, masked_mse
from core.n2v_manipulation import Replacement, StructAxis, n2v_manipulate
from lightning_modules.base import Batch, Stage
from lightning_modules.noise2self import Inference, j_invariant_export_note
from lightning_modules.pixel_shuffle import PixelShuffleDenoising


class Noise2Void(PixelShuffleDenoising):
    """Args:
    network: the denoiser (a U-Net of depth 2 with 96 channels in the BSD68 recipe).
    mask_fraction: fraction of pixels picked per patch (0.198% in the N2V code).
    radius: half-size of the replacement window (2: 5x5).
    replacement: ``uniform`` (N2V) or ``median`` (N2V2).
    struct_length: structN2V: the blind spot is a line of this many pixels (odd; 1: off), for noise
        correlated along one axis (``python -m noise.correlation`` measures it).
    struct_axis: the line's direction, ``horizontal`` (along rows) or ``vertical``.
    inference: ``single`` (one pass, the paper's) or ``j_invariant`` (blind: ``inference_grid``^2 passes).
    inference_grid: the grid period w of the ``j_invariant`` inference.
    **kwargs: ``pd_stride`` and the other pixel-shuffle options (``PixelShuffleDenoising``), and the
        ``DenoisingModule`` arguments.
    """

    def __init__(
        self,
        network: nn.Module,
        mask_fraction: float = 0.00198,
        radius: int = 2,
        replacement: Replacement = "uniform",
        struct_length: int = 1,
        struct_axis: StructAxis = "horizontal",
        inference: Inference = "single",
        inference_grid: int = 4,
        **kwargs,
    ) -> None:
        super().__init__(network, **kwargs)
        if not 0 < mask_fraction < 1:
            raise ValueError(f"mask_fraction must be in (0, 1), got {mask_fraction}")
        if radius < 1:
            raise ValueError(f"radius must be >= 1, got {radius}")
        self.mask_fraction = mask_fraction
        self.radius = radius
        self.replacement = check_choice("replacement", replacement, Replacement)
        if struct_length < 1 or struct_length % 2 == 0:
            raise ValueError(f"struct_length must be an odd number >= 1 (the line is centred), got {struct_length}")
        self.struct_length = struct_length
        self.struct_axis = check_choice("struct_axis", struct_axis, StructAxis)
        self.inference = check_choice("inference", inference, Inference)
        if inference_grid < 2:
            raise ValueError(f"inference_grid must be >= 2, got {inference_grid}")
        self.inference_grid = inference_grid

    @property
    def blind_inference(self) -> bool:
        return self.inference == "j_invariant"

    def training_loss(self, batch: Batch, generator: torch.Generator) -> Tensor:
        noisy = batch["noisy"]
        manipulated, mask = n2v_manipulate(
            noisy, self.mask_fraction, generator, self.radius, self.replacement, self.struct_length, self.struct_axis
        )
        return masked_mse(self.fit_network(manipulated), noisy, mask)

    def exported_network(self) -> tuple[nn.Module, str]:
        if self.blind_inference:
            return self.network, j_invariant_export_note(self.inference_grid**2)
        return super().exported_network()

    def denoise(
        self, noisy: Tensor, generator: torch.Generator | None = None, batch: Batch | None = None, stage: Stage = "test"
    ) -> Tensor:
        if self.blind_inference:
            return j_invariant_reconstruction(self.inference_network(), noisy, self.inference_grid)
        return super().denoise(noisy, generator, batch, stage)
