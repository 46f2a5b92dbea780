"""Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023): fit a tiny noise predictor f to one image.

With D1, D2 the pair downsampler's halves of the noisy image y, the loss (Eq. 3-4 of the paper) is
    residual:     0.5 * (mse(D1(y), D2(y) - f(D2(y))) + mse(D2(y), D1(y) - f(D1(y))))
    consistency:  0.5 * (mse(D1(y) - f(D1(y)), D1(y - f(y))) + mse(D2(y) - f(D2(y)), D2(y - f(y))))
and the denoised image is clamp(y - f(y), 0, 1). Defaults: Adam lr 1e-3, 2000 iterations,
StepLR(1500, 0.5).

``fit_many`` fits independent models to several same-sized images at once with grouped convolutions
(one group per image): Adam is element-wise and the loss is a sum of per-image losses, so each image
gets exactly the updates it would get alone, from the same initial weights.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from lightning_modules.downsampling import pair_downsample
from networks.zsn2n import ZSN2NNet


def zsn2n_loss(network: nn.Module, noisy: Tensor, reduce_models: int = 1) -> Tensor:
    """The residual + consistency loss; with ``reduce_models`` > 1, the sum over the packed models of
    each model's own mean-squared errors (channels of ``noisy`` are grouped per model)."""

    def mse(a: Tensor, b: Tensor) -> Tensor:
        per_model = ((a - b) ** 2).reshape(a.shape[0], reduce_models, -1).mean(dim=(0, 2))
        return per_model.sum()

    half1, half2 = pair_downsample(noisy)
    prediction1, prediction2 = half1 - network(half1), half2 - network(half2)
    residual = 0.5 * (mse(half1, prediction2) + mse(half2, prediction1))
    denoised1, denoised2 = pair_downsample(noisy - network(noisy))
    consistency = 0.5 * (mse(prediction1, denoised1) + mse(prediction2, denoised2))
    return residual + consistency


def _initial_network(channels: int, seed: int) -> ZSN2NNet:
    torch.manual_seed(seed)
    return ZSN2NNet(channels)


def fit_many(
    images: Tensor,
    iterations: int = 2000,
    lr: float = 1e-3,
    step_size: int = 1500,
    gamma: float = 0.5,
    seed: int = 0,
    progress: bool = True,
) -> Tensor:
    """Denoise a batch [B, C, H, W] of same-sized images, one independent model each; returns [B, C, H, W].
    Model k starts from the weights ``ZSN2NNet`` gets after ``torch.manual_seed(seed + k)``."""
    count, channels = images.shape[:2]
    packed = ZSN2NNet(channels, models=count).to(images.device)
    singles = [_initial_network(channels, seed + k) for k in range(count)]
    with torch.no_grad():
        for name, parameter in packed.named_parameters():
            parameter.copy_(torch.cat([dict(single.named_parameters())[name] for single in singles]))
    # channels-last memory suits oneDNN's CPU convolutions
    packed = packed.to(memory_format=torch.channels_last)
    stacked = images.reshape(1, count * channels, *images.shape[2:]).contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(packed.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    for _ in tqdm(range(iterations), desc=f"ZS-N2N fit x{count}", disable=not progress, leave=False):
        loss = zsn2n_loss(packed, stacked, reduce_models=count)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    with torch.no_grad():
        denoised = (stacked - packed(stacked)).clamp(0, 1)
    return denoised.reshape(images.shape)


def fit(noisy: Tensor, iterations: int = 2000, seed: int = 0, progress: bool = True, **kwargs) -> Tensor:
    """Denoise one image [C, H, W] or [1, C, H, W] (any size, odd too)."""
    image = noisy[None] if noisy.dim() == 3 else noisy
    denoised = fit_many(image, iterations=iterations, seed=seed, progress=progress, **kwargs)
    return denoised[0] if noisy.dim() == 3 else denoised
