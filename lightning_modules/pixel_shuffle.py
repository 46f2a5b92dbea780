"""Pixel-shuffle downsampling as an option of the blind-spot methods (Noise2Void, Noise2Self, Laine et
al.), after AP-BSN (Lee, Son, Lee, CVPR 2022); the maths is in ``core.pixel_shuffle``.

Training sees the PD_s sub-images of each batch instead of the images (the loss is the method's own,
on sub-images whose noise is nearly independent even where the camera's is not); inference denoises the
PD sub-images at ``pd_stride_inference`` and merges them back, then optionally refines with R3. R3
needs an inference that never reads the pixel it denoises (AP-BSN refines with its blind-spot
network): Noise2Void's and Noise2Self's single pass and the Laine posterior mean read it, and would
copy back the noise that R3 puts into a random fraction of the pixels, so R3 is refused with them
(their ``j_invariant`` inference and the Laine ``prior`` inference are blind).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.pixel_shuffle import pd_merge, pd_split, random_replacing_refinement, repeat_per_sub_image
from lightning_modules.base import Batch, DenoisingModule, Stage


def pd_batch(batch: Batch, stride: int) -> Batch:
    """The batch of the PD sub-images: images split, per-image values repeated per sub-image."""
    if stride == 1:
        return batch
    count = len(batch["noisy"])
    split: dict = {}
    for key, value in batch.items():
        if isinstance(value, Tensor) and value.dim() == 4:
            split[key] = pd_split(value, stride)
        elif isinstance(value, Tensor) and value.dim() >= 1 and len(value) == count:
            split[key] = repeat_per_sub_image(value, stride)
        elif isinstance(value, list) and len(value) == count:
            split[key] = [item for item in value for _ in range(stride * stride)]
        else:
            split[key] = value
    return split  # type: ignore[return-value]


class PixelShuffleDenoising(DenoisingModule):
    """Args:
    pd_stride: PD stride while training (1: off; AP-BSN uses 5 for sRGB camera noise).
    pd_stride_inference: PD stride for validation, test and predict (AP-BSN: 2); default ``pd_stride``.
    r3_passes: R3 refinement passes T at test and predict, not validation (AP-BSN: 8; 0: off); only
        with an inference that never reads the pixel it denoises (``blind_inference``).
    r3_fraction: the fraction p of values put back to noisy in each R3 pass (AP-BSN: 0.16).
    **kwargs: the ``DenoisingModule`` arguments.
    """

    def __init__(
        self,
        network: nn.Module,
        pd_stride: int = 1,
        pd_stride_inference: int | None = None,
        r3_passes: int = 0,
        r3_fraction: float = 0.16,
        **kwargs,
    ) -> None:
        super().__init__(network, **kwargs)
        pd_stride_inference = pd_stride if pd_stride_inference is None else pd_stride_inference
        if pd_stride < 1 or pd_stride_inference < 1:
            raise ValueError(f"pd_stride and pd_stride_inference must be >= 1, got {pd_stride}, {pd_stride_inference}")
        if r3_passes < 0 or not 0 < r3_fraction < 1:
            raise ValueError(f"r3_passes must be >= 0 and r3_fraction in (0, 1), got {r3_passes}, {r3_fraction}")
        self.pd_stride, self.pd_stride_inference = pd_stride, pd_stride_inference
        self.r3_passes, self.r3_fraction = r3_passes, r3_fraction

    @property
    def blind_inference(self) -> bool:
        """Whether inference never reads a pixel's own input value when it denoises that pixel, as AP-BSN's
        blind-spot network does: R3 relies on it (a method whose inference can be blind overrides this)."""
        return False

    def check_r3(self) -> None:
        """R3 re-denoises images in which a random fraction of the pixels is noisy again; an inference that
        reads each pixel's own value copies that noise back instead of predicting past it."""
        if self.r3_passes and not self.blind_inference:
            raise ValueError(
                f"r3_passes: {self.r3_passes} needs an inference that never reads the pixel it denoises (AP-BSN "
                f"refines with its blind-spot network), and {type(self).__name__}'s inference "
                f"({getattr(self, 'inference', 'one pass of the network')}) reads it, so the refinement would "
                "put the noise of the replaced pixels back. Set model.init_args.r3_passes: 0, or a blind "
                "inference where the method has one (Noise2Self, Noise2Void: inference j_invariant; BlindSpot: "
                "inference prior)."
            )

    def setup(self, stage: str) -> None:
        super().setup(stage)
        self.check_r3()  # before any training or testing starts

    @property
    def loss_view_note(self) -> str:
        return f" (the pixel-shuffle sub-images at pd_stride {self.pd_stride})" if self.pd_stride > 1 else ""

    def loss_view(self, batch: Batch) -> Batch:
        return pd_batch(super().loss_view(batch), self.pd_stride)

    def denoise_with_options(
        self, noisy: Tensor, generator: torch.Generator | None = None, batch: Batch | None = None, stage: Stage = "test"
    ) -> Tensor:
        stride = self.pd_stride_inference
        sub_batch = pd_batch(batch, stride) if batch is not None else None
        sub_images = self.denoise(pd_split(noisy, stride), generator, sub_batch, stage)
        denoised = pd_merge(sub_images, stride, *noisy.shape[-2:])
        if self.r3_passes == 0 or stage == "val":  # validation during fit stays one pass
            return denoised
        self.check_r3()
        if generator is None:
            generator = torch.Generator(device=noisy.device).manual_seed(self.seed)
        again = lambda image: self.denoise(image, generator, batch, stage)  # noqa: E731
        return random_replacing_refinement(again, noisy, denoised, self.r3_passes, self.r3_fraction, generator)
