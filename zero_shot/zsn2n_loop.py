"""The optimisation loop of Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023), as in the paper's code:
Adam lr 1e-3, StepLR(1500, 0.5), 2000 iterations of the residual + consistency loss on one image, then
the denoised image clamp(y - f(y), 0, 1)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from core.losses import zsn2n_loss


def fit_one(network: nn.Module, noisy: Tensor, iterations: int, lr: float, step_size: int, gamma: float,
            tick: Callable[[int], None] = lambda n: None, gradients: Callable[[], Tensor] | None = None,
            models: int = 1) -> Tensor:  # fmt: skip
    """The paper's loop for one image [1, C, H, W], or ``models`` images packed into the channels of a
    grouped network. ``gradients()``, if given, replaces the loss and its backward pass (it sets the
    parameters' grads); ``tick(n)`` reports n more iterations done, every 10."""
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    for iteration in range(iterations):
        optimizer.zero_grad(set_to_none=True)
        if gradients is None:
            zsn2n_loss(network, noisy, reduce_models=models).backward()
        else:
            gradients()
        optimizer.step()
        scheduler.step()
        if (iteration + 1) % 10 == 0 or iteration + 1 == iterations:
            tick(iteration % 10 + 1)
    with torch.no_grad():
        return (noisy - network(noisy)).clamp(0, 1)
