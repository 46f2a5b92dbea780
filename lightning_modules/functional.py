"""Pure maths shared by the methods: losses and per-image quality scores. No state, no Lightning."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

PIXEL_LOSSES = ("l2", "l1")


def check_loss_name(kind: str) -> str:
    if kind not in PIXEL_LOSSES:
        raise ValueError(f"unknown loss {kind!r}; choose one of {PIXEL_LOSSES}")
    return kind


def pixel_loss(prediction: Tensor, target: Tensor, kind: str = "l2") -> Tensor:
    """Mean squared (``l2``: estimates the mean) or absolute (``l1``: the median) error."""
    if check_loss_name(kind) == "l1":
        return F.l1_loss(prediction, target)
    return F.mse_loss(prediction, target)


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


def recorrupt(noisy: Tensor, std: Tensor | float, alpha: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """R2R recorruption (Pang et al. CVPR 2021, Eq. 7 with D = alpha * I).

    ``y_hat = y + alpha * std * z`` (network input) and ``y_tilde = y - std * z / alpha`` (target) with
    z ~ N(0, I); ``std`` is the noise standard deviation, a number, per image [B, 1, 1, 1] or per pixel.
    For Gaussian noise n of that std, the input noise n + alpha*std*z and the target noise
    n - std*z/alpha have covariance std^2 - std^2 = 0: they are independent, so the loss is unbiased.
    """
    z = torch.randn(noisy.shape, generator=generator, device=noisy.device, dtype=noisy.dtype)
    return noisy + alpha * std * z, noisy - std * z / alpha


def signal_dependent_std(noisy: Tensor, beta1: Tensor | float, beta2: Tensor | float) -> Tensor:
    """Per-pixel std of noise with variance ``beta1 * x + beta2``, the clean x estimated by y (E[y] = x)."""
    return (beta1 * noisy + beta2).clamp(min=0.0).sqrt()
