"""Pure maths of Laine et al. 2019's Bayesian blind-spot denoising.

The blind-spot network predicts, for each pixel, a Gaussian prior N(mu_x, Sigma_x) of the clean
value from its surroundings. With Gaussian noise N(0, Sigma_n) the noisy pixel is distributed as
N(mu_x, Sigma_x + Sigma_n): training maximises that likelihood of the pixel the network could not
see (Sec. 3, Eq. 4-5 of the paper), and denoising combines the prior with the observed pixel into
the posterior mean (Eq. 6):

    E[x | y] = mu_x + Sigma_x (Sigma_x + Sigma_n)^{-1} (y - mu_x)
             = (y sigma_x^2 + mu_x sigma_n^2) / (sigma_x^2 + sigma_n^2)   (one channel).

Covariances are per pixel, shaped [B, H, W, C, C]. Gray images carry a variance a^2; colour images
an upper-triangular A with Sigma_x = A^T A (six parameters, full) or diag(a^2) (three, diagonal).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

Covariance = Literal["full", "diagonal"]


def prior_channels(channels: int, covariance: str = "full") -> int:
    """How many output channels the network needs: the mean plus the covariance parameters."""
    if channels == 1:
        return 2
    return channels + (channels * (channels + 1) // 2 if covariance == "full" else channels)


def split_prior(output: Tensor, channels: int, covariance: str = "full") -> tuple[Tensor, Tensor]:
    """Network output [B, K, H, W] -> (mu [B, C, H, W], Sigma_x [B, H, W, C, C])."""
    mean, params = output[:, :channels], output[:, channels:].permute(0, 2, 3, 1)
    if channels == 1 or covariance == "diagonal":
        return mean, torch.diag_embed(params**2)
    rows, cols = torch.triu_indices(channels, channels, device=output.device)
    factor = output.new_zeros(*params.shape[:-1], channels, channels)
    factor[..., rows, cols] = params
    return mean, factor.transpose(-1, -2) @ factor


def isotropic(variance: Tensor, channels: int) -> Tensor:
    """sigma^2 I per image ([B] or scalar) -> [B, 1, 1, C, C], broadcastable over pixels."""
    variance = torch.as_tensor(variance).reshape(-1, 1, 1, 1, 1)
    return variance * torch.eye(channels, dtype=variance.dtype, device=variance.device)


def per_pixel_diagonal(variance: Tensor) -> Tensor:
    """Variances [B, C, H, W] -> diagonal covariances [B, H, W, C, C]."""
    return torch.diag_embed(variance.permute(0, 2, 3, 1))


def gaussian_nll(y: Tensor, mean: Tensor, covariance: Tensor, eps: float = 1e-8) -> Tensor:
    """-log N(y; mean, covariance) per pixel, [B, H, W] (with the 2 pi constant)."""
    channels = y.shape[1]
    diff = (y - mean).permute(0, 2, 3, 1).unsqueeze(-1)  # [B, H, W, C, 1]
    covariance = covariance + eps * torch.eye(channels, dtype=y.dtype, device=y.device)
    chol = torch.linalg.cholesky(covariance)
    solved = torch.cholesky_solve(diff, chol)
    mahalanobis = (diff * solved).sum(dim=(-1, -2))
    log_det = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    return 0.5 * (mahalanobis + log_det + channels * math.log(2 * math.pi))


def posterior_mean(y: Tensor, mean: Tensor, prior_cov: Tensor, noise_cov: Tensor, eps: float = 1e-8) -> Tensor:
    """E[x | y] for prior N(mean, prior_cov) and noise N(0, noise_cov); [B, C, H, W]."""
    channels = y.shape[1]
    total = prior_cov + noise_cov + eps * torch.eye(channels, dtype=y.dtype, device=y.device)
    diff = (y - mean).permute(0, 2, 3, 1).unsqueeze(-1)
    gain = prior_cov @ torch.linalg.solve(total, diff)  # Sigma_x (Sigma_x + Sigma_n)^-1 (y - mu)
    return mean + gain.squeeze(-1).permute(0, 3, 1, 2)
