"""Single-image Noise2Self, the recipe of the reference notebook (czbiohub-sf/noise2self,
"Single-Shot Denoising"): an 8-layer DnCNN (64 channels, batch norm, no biases, no residual) fitted
to one noisy image with the grid masker (width 4, interpolated replacement) and Adam at lr 0.01 for
500 iterations. Iteration i trains on phase ``i % 15``; phase 15 is held out, and every 10 iterations
the model with the lowest held-out masked loss is kept. The output is that model's single pass on
the whole noisy image (eval-mode batch norm), clipped to [0, 1].

Same arithmetic as the reference, less work: the masked inputs are built once, the best model's
weights are copied when it improves and the output pass runs once at the end (instead of a
full-image pass at every improvement), and tensors are channels-last for the CPU convolutions.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch
from torch import Tensor
from tqdm.auto import tqdm

from core.masking import grid_mask, mask_input, masked_mse
from networks import DnCNN


@dataclass
class FitResult:
    denoised: Tensor
    network: torch.nn.Module  # the selected model, in eval mode
    best_iteration: int
    best_validation_loss: float
    seconds: float
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (iteration, train, validation)


def fit_noise2self(
    noisy: Tensor,
    iterations: int = 500,
    lr: float = 0.01,
    mask_width: int = 4,
    layers: int = 8,
    validate_every: int = 10,
    seed: int = 0,
    progress: bool = True,
) -> FitResult:
    """Denoise one image ``noisy`` [C, H, W] (or [1, C, H, W]) in [0, 1] by fitting Noise2Self to it."""
    image = noisy[None] if noisy.dim() == 3 else noisy
    torch.manual_seed(seed)
    network = DnCNN(image.shape[1], depth=layers, width=64, residual=False, bias=False).to(image.device)
    # channels-last memory suits oneDNN's CPU convolutions; the arithmetic is the same
    network = network.to(memory_format=torch.channels_last)
    image = image.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    phases = mask_width**2
    height, width = image.shape[-2:]
    masks = [grid_mask(height, width, mask_width, phase, image.device) for phase in range(phases)]
    inputs = [mask_input(image, mask, "interpolate") for mask in masks]  # the image is fixed: mask once
    held_out = phases - 1

    best_loss, best_iteration, best_state = float("inf"), -1, None
    history: list[tuple[int, float, float]] = []
    started = time.perf_counter()
    for iteration in tqdm(range(iterations), desc="Noise2Self fit", disable=not progress, leave=False):
        network.train()
        phase = iteration % held_out
        loss = masked_mse(network(inputs[phase]), image, masks[phase])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if iteration % validate_every == 0:
            network.eval()
            with torch.no_grad():
                validation = masked_mse(network(inputs[held_out]), image, masks[held_out]).item()
            history.append((iteration, loss.item(), validation))
            if validation < best_loss:
                best_loss, best_iteration = validation, iteration
                best_state = copy.deepcopy(network.state_dict())
    network.load_state_dict(best_state)
    network.eval()
    with torch.no_grad():
        denoised = network(image).clamp(0, 1)
    seconds = time.perf_counter() - started
    denoised = denoised[0] if noisy.dim() == 3 else denoised
    return FitResult(denoised, network, best_iteration, best_loss, seconds, history)
