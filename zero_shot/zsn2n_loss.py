"""The Zero-Shot Noise2Noise loss (Mansour & Heckel, CVPR 2023, Eq. 3-4): residual + consistency."""

from __future__ import annotations

from torch import Tensor, nn

from lightning_modules.downsampling import pair_downsample


def zsn2n_loss(network: nn.Module, noisy: Tensor, reduce_models: int = 1) -> Tensor:
    """The residual + consistency loss; with ``reduce_models`` > 1, the sum over the packed models of
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
        per_model = ((a - b) ** 2).reshape(a.shape[0], reduce_models, -1).mean(dim=(0, 2))
        return per_model.sum()

    half1, half2 = halves
    prediction1, prediction2 = half1 - noise1, half2 - noise2
    residual = 0.5 * (mse(half1, prediction2) + mse(half2, prediction1))
    denoised1, denoised2 = pair_downsample(noisy - noise_full)
    consistency = 0.5 * (mse(prediction1, denoised1) + mse(prediction2, denoised2))
    return residual + consistency
