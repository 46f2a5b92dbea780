"""Losses of the methods that need no mask: the pixel losses of Noise2Noise and the supervised
baseline, and the two sub-sampling losses (Zero-Shot Noise2Noise, Neighbor2Neighbor), each a pure
function of the network and the noisy batch."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.choices import check_choice
from core.subsampling import neighbour_subsample, pair_downsample, subsample_like

PixelLoss = Literal["l2", "l1"]


def pixel_loss(prediction: Tensor, target: Tensor, kind: PixelLoss = "l2") -> Tensor:
    """Mean squared (``l2``: estimates the mean) or absolute (``l1``: the median) error."""
    if check_choice("loss", kind, PixelLoss) == "l1":
        return F.l1_loss(prediction, target)
    return F.mse_loss(prediction, target)


def zsn2n_loss(network: nn.Module, noisy: Tensor, reduce_models: int = 1) -> Tensor:
    """Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023, Eq. 3-4): residual + consistency loss of a
    network f that predicts the noise. With ``reduce_models`` > 1, the sum over the packed models of
    each model's own mean-squared errors (channels of ``noisy`` are grouped per model)."""
    halves = pair_downsample(noisy)
    return zsn2n_loss_from_outputs(noisy, halves, network(halves[0]), network(halves[1]), network(noisy), reduce_models)


def zsn2n_loss_from_outputs(
    noisy: Tensor,
    halves: tuple[Tensor, Tensor],
    noise1: Tensor,
    noise2: Tensor,
    noise_full: Tensor,
    reduce_models: int = 1,
) -> Tensor:
    """The loss given the noisy image y, its halves (D1(y), D2(y)) and the network's outputs f(D1(y)),
    f(D2(y)) and f(y) (a pure function)."""

    def mse(a: Tensor, b: Tensor) -> Tensor:
        if reduce_models == 1:
            return F.mse_loss(a, b)  # one fused kernel each way
        per_model = ((a - b) ** 2).reshape(a.shape[0], reduce_models, -1).mean(dim=(0, 2))
        return per_model.sum()

    half1, half2 = halves
    prediction1, prediction2 = half1 - noise1, half2 - noise2
    residual = 0.5 * (mse(half1, prediction2) + mse(half2, prediction1))
    denoised1, denoised2 = pair_downsample(noisy - noise_full)
    consistency = 0.5 * (mse(prediction1, denoised1) + mse(prediction2, denoised2))
    return residual + consistency


def neighbor2neighbor_loss(network: nn.Module, noisy: Tensor, gamma: float, generator: torch.Generator) -> Tensor:
    """Neighbor2Neighbor (Huang, Li, Jin, Wang, Zhou, CVPR 2021, Eq. 7) with g1, g2 the random
    neighbour sub-sampler:
        ||f(g1(y)) - g2(y)||^2 + gamma * ||f(g1(y)) - g2(y) - (g1(f(y)) - g2(f(y)))||^2,
    with f(y) computed without gradient (the official code's ``torch.no_grad`` pass)."""
    sub1, sub2, choice = neighbour_subsample(noisy, generator)
    with torch.no_grad():
        full1, full2 = subsample_like(network(noisy), choice)
    difference = network(sub1) - sub2
    regulariser = torch.mean((difference - (full1 - full2)) ** 2)
    return torch.mean(difference**2) + gamma * regulariser
