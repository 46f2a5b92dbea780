"""Noise-level estimation from a single noisy image.

``estimate_heteroscedastic`` fits the signal-dependent model ``Var[y | x] = beta1 * x + beta2``
(Poisson-Gaussian, and the usual first approximation of raw and sRGB camera noise; Foi et al. 2008):
per 8x8 block it takes the mean as the signal level and measures the noise variance with the
Laplacian-like high-pass ``[[1,-2,1],[-2,4,-2],[1,-2,1]]`` (Immerkaer 1996), whose response to white
noise of variance v has variance 36 v and which cancels locally linear signal. Textured blocks
inflate the variance, so in each signal-level bin the lower quartile of the block variances is
kept (corrected to the median of a chi-square) and a line is fitted through the bins. Patches too
small for that (fewer than 4 blocks per bin) get a signal-independent level from the median of the
squared high-pass response.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_HIGH_PASS = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]]) / 6.0  # unit noise gain


def block_statistics(image: Tensor, block: int = 8) -> tuple[Tensor, Tensor]:
    """(mean, noise variance) of every ``block`` x ``block`` tile of each channel of [C, H, W]."""
    channels = image.shape[0]
    kernel = _HIGH_PASS.to(image).expand(channels, 1, 3, 3)
    residual = F.conv2d(image[None], kernel, groups=channels)[0]  # valid part: [C, H-2, W-2]
    signal = image[:, 1:-1, 1:-1]
    means = F.avg_pool2d(signal[None], block)[0].flatten()
    variances = F.avg_pool2d(residual[None] ** 2, block)[0].flatten()
    return means, variances


def estimate_heteroscedastic(image: Tensor, bins: int = 16, quantile: float = 0.25) -> tuple[float, float]:
    """Estimate ``(beta1, beta2)`` of ``Var[y] = beta1 * x + beta2`` from one noisy image [C, H, W] in [0, 1]."""
    means, variances = block_statistics(image.float())
    if len(means) < 4 * bins:  # too few blocks for a line: fall back to a signal-independent level
        residual_variance = block_statistics(image.float(), block=1)[1]
        return 0.0, float(residual_variance.median() / _chi_square_quantile_ratio(0.5, dof=1))
    edges = torch.quantile(means, torch.linspace(0, 1, bins + 1, dtype=means.dtype))
    centres, levels = [], []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (means >= low) & (means <= high)
        if inside.sum() < 4:
            continue
        centres.append(means[inside].median())
        levels.append(torch.quantile(variances[inside], quantile))
    if len(centres) < 2:  # a flat image: one signal level only
        return 0.0, float(torch.stack(levels).median() / _chi_square_quantile_ratio(quantile))
    x, v = torch.stack(centres), torch.stack(levels)
    # the lower quartile of a mean of 64 squared Gaussians sits below its mean; undo that bias
    v = v / _chi_square_quantile_ratio(quantile)
    design = torch.stack([x, torch.ones_like(x)], dim=1)
    beta1, beta2 = torch.linalg.lstsq(design, v[:, None]).solution.flatten().tolist()
    if beta1 < 0:  # signal-independent noise: the slope is estimation noise
        beta1, beta2 = 0.0, float(v.median())
    return max(beta1, 0.0), max(beta2, 0.0)


def _chi_square_quantile_ratio(quantile: float, dof: int = 64, draws: int = 20000) -> float:
    """q-quantile / mean of a chi-square(dof) / dof variable (by a fixed Monte-Carlo draw)."""
    generator = torch.Generator().manual_seed(0)
    samples = (torch.randn(draws, dof, generator=generator) ** 2).mean(dim=1)
    return float(torch.quantile(samples, quantile))


def image_patches(image: Tensor, size: int = 8, stride: int = 3) -> Tensor:
    """All ``size`` x ``size`` patches (every channel) of [C, H, W] at ``stride``: [N, C * size * size]."""
    patches = F.unfold(image[None].double(), size, stride=stride)[0]  # [C*size*size, N]
    return patches.T


def estimate_sigma(image: Tensor, patch: int = 8, stride: int = 3) -> float:
    """Gaussian noise level of one image (Chen, Zhu, Heng, ICCV 2015).

    The eigenvalues of the covariance of the image's patches split into a few large ones (the image's
    structure lives in a low-dimensional subspace) and the rest, which for white Gaussian noise all
    equal sigma^2. The largest eigenvalues are dropped one at a time until the mean of those left
    equals their median (as many above as below it); sigma is the square root of that mean. Works on
    [C, H, W] in any intensity scale; the answer is in the same scale.
    """
    patches = image_patches(image, patch, stride)
    centred = patches - patches.mean(dim=0, keepdim=True)
    covariance = centred.T @ centred / len(centred)
    eigenvalues = torch.linalg.eigvalsh(covariance).clamp(min=0)  # ascending
    for keep in range(len(eigenvalues), 0, -1):
        kept = eigenvalues[:keep]
        tau = kept.mean()
        if int((kept > tau).sum()) == int((kept < tau).sum()):
            return float(tau.sqrt())
    return float(eigenvalues[0].sqrt())
