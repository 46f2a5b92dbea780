"""Per-image quality scores of a batch: PSNR and SSIM with data range 1, as the papers report them."""

from __future__ import annotations

from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure


def per_image_psnr(image: Tensor, reference: Tensor) -> Tensor:
    """PSNR in dB of each image of a [B, C, H, W] batch, data range 1 (images clamped to [0, 1])."""
    return peak_signal_noise_ratio(
        image.clamp(0, 1), reference, data_range=1.0, dim=(1, 2, 3), reduction="none"
    ).reshape(-1)


def per_image_ssim(image: Tensor, reference: Tensor) -> Tensor:
    """SSIM (Gaussian window 11, sigma 1.5, as Wang et al. 2004) of each image, data range 1."""
    return structural_similarity_index_measure(image.clamp(0, 1), reference, data_range=1.0, reduction="none").reshape(
        -1
    )


def quantize_8bit(image: Tensor) -> Tensor:
    """``image`` clamped to [0, 1] and rounded to the 256 levels of an 8-bit image (still in [0, 1]), as
    real-noise benchmarks score their uint8 outputs."""
    return (image.clamp(0, 1) * 255).round() / 255
