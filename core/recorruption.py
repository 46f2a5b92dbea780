"""Recorrupted-to-Recorrupted (Pang, Zheng, Quan, Ji, CVPR 2021): two recorruptions of one noisy image
whose noises are independent, so a network trained to map one to the other learns the clean image."""

from __future__ import annotations

import torch
from torch import Tensor


def recorrupt(noisy: Tensor, std: Tensor | float, alpha: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """R2R recorruption (Pang et al. CVPR 2021, Eq. 7 with D = alpha * I).

    ``y_hat = y + alpha * std * z`` (network input) and ``y_tilde = y - std * z / alpha`` (target) with
    z ~ N(0, I); ``std`` is the noise standard deviation, a number, per image [B, 1, 1, 1] or per pixel.
    For Gaussian noise n of that std, the input noise n + alpha*std*z and the target noise
    n - std*z/alpha have covariance std^2 - std^2 = 0: they are independent, so the loss is unbiased.
    """
    z = torch.randn(noisy.shape, generator=generator, device=noisy.device, dtype=noisy.dtype)
    return recorrupt_with(noisy, std * z, alpha)


def recorrupt_with(noisy: Tensor, draw: Tensor, alpha: float) -> tuple[Tensor, Tensor]:
    """Eq. 7 with D = alpha * I for a ``draw`` of noise with the noisy image's own noise covariance Sigma
    (white or correlated): ``(y + alpha * draw, y - draw / alpha)``, whose noises have cross-covariance
    Sigma - Sigma = 0."""
    return noisy + alpha * draw, noisy - draw / alpha


def signal_dependent_std(noisy: Tensor, beta1: Tensor | float, beta2: Tensor | float) -> Tensor:
    """Per-pixel std of noise with variance ``beta1 * x + beta2``, the clean x estimated by y (E[y] = x)."""
    return (beta1 * noisy + beta2).clamp(min=0.0).sqrt()
