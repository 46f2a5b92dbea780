"""Zero-shot denoising with an implicit neural representation (Kim, Lee, Shin 2022).

A coordinate network fitted to the noisy image reproduces the smooth, structured signal long before
it fits the noise (the spectral bias of coordinate networks). The fit is stopped when its mean
squared error to the noisy image falls to the noise variance: from then on the network could only be
fitting noise. No official code exists; the choices made here, each an argument:

* network: a SIREN (default: 3 sine layers, SIREN's omega_0 = 30) or a Fourier-feature MLP
  (``networks.inr``), either 128 wide unless ``network_options`` say otherwise. Width 128 rather
  than SIREN's 256: the fit only has to reach the noise level, not reproduce the image exactly, and a
  wider layer costs quadratically more per iteration. A smoother prior (omega_0 = 10, lr 1e-4) was
  tried first and stayed far above the noise variance where omega_0 = 30 reached it;
* optimiser: AdamW, lr 1e-3, full-image batches (on a CPU each iteration's passes run in chunks of
  ``CPU_CHUNK`` coordinates, which gives the same gradient with far fewer page faults);
* noise variance: ``sigma`` if given, else the Chen et al. 2015 estimate (``noise.estimation``);
* stopping: the first iteration whose full-image MSE is <= ``stop_factor`` x sigma^2 (checked every
  ``check_every`` iterations), or ``max_iterations``;
* regularisation: AdamW weight decay ``last_layers_decay`` on the last two layers (where high
  frequencies are assembled), ``decay`` on the others, so the late fit of noise is slowed;
* the returned image is the network's output at the stopping iteration, clipped to [0, 1].

How close the stop comes to the best point of each fit's own trajectory, per image, and where the
network's capacity keeps it from reaching the noise level (large textures), is measured by
``python benchmarks/inr_set12.py`` (``benchmarks/results/inr_set12.json``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor
from tqdm.auto import tqdm

from networks.inr import FourierMLP, Siren
from noise.estimation import estimate_sigma


def coordinate_grid(height: int, width: int, device=None) -> Tensor:
    """[H * W, 2] pixel-centre coordinates in [-1, 1], row-major."""
    ys = torch.linspace(-1, 1, height, device=device)
    xs = torch.linspace(-1, 1, width, device=device)
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1).reshape(-1, 2)


# coordinates per forward/backward pass on a CPU. The iteration's gradient is the sum of its chunks'
# (the loss is a sum over pixels), so the fit is the full-batch one. Chunk-sized activations (2 MB at
# width 128) are reused by the allocator, while whole-image ones (134 MB each at 512x512) are mapped
# afresh for every tensor: on this project's 2-core virtual machine a 512x512 iteration took 2.3-2.6 s
# whole (760k page faults) and 0.64-0.68 s in chunks of 4096 (0.72-0.82 s in chunks of 16384).
CPU_CHUNK = 4096


def loss_and_gradients(
    model: torch.nn.Module, coordinates: Tensor, target: Tensor, chunk: int
) -> tuple[Tensor, Tensor]:
    """The fit's loss mean((model(coordinates) - target)^2) with its gradients accumulated into the
    parameters' ``.grad``, ``chunk`` coordinates at a time; returns (output, loss), both detached."""
    outputs, loss = [], torch.zeros((), device=target.device)
    for start in range(0, len(coordinates), chunk):
        output = model(coordinates[start : start + chunk])
        part = torch.sum((output - target[start : start + chunk]) ** 2) / target.numel()
        part.backward()
        outputs.append(output.detach())
        loss += part.detach()
    return torch.cat(outputs), loss


@dataclass
class INRResult:
    denoised: Tensor
    stop_iteration: int
    sigma: float
    seconds: float
    trajectory: list[tuple[int, float, float | None]] = field(default_factory=list)  # (iteration, mse, psnr)


def fit_inr(
    noisy: Tensor,
    sigma: float | None = None,
    network: str = "siren",
    max_iterations: int = 3000,
    lr: float = 1e-3,
    decay: float = 0.0,
    last_layers_decay: float = 1e-3,
    stop_factor: float = 1.0,
    check_every: int = 10,
    clean: Tensor | None = None,
    seed: int = 0,
    progress: bool = True,
    after_stop: Callable[[list], bool] | None = None,
    network_options: dict | None = None,
) -> INRResult:
    """Denoise one image [C, H, W] in [0, 1]. ``clean`` only records PSNR along the trajectory. To study
    the trajectory, ``after_stop(trajectory)`` is asked at every check after the stop whether to keep
    fitting (up to ``max_iterations``); the returned image is still the stopped one. ``network_options``
    go to the network (e.g. ``width``, ``omega``)."""
    channels, height, width = noisy.shape
    sigma = estimate_sigma(noisy) if sigma is None else sigma
    torch.manual_seed(seed)
    options = dict(network_options or {})
    options.setdefault("width", 128)
    model = (Siren if network == "siren" else FourierMLP)(out_channels=channels, **options)
    model = model.to(noisy.device)
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    late = {id(p) for layer in layers[-2:] for p in layer.parameters()}
    groups = [
        {"params": [p for p in model.parameters() if id(p) not in late], "weight_decay": decay},
        {"params": [p for p in model.parameters() if id(p) in late], "weight_decay": last_layers_decay},
    ]
    optimizer = torch.optim.AdamW(groups, lr=lr)
    coordinates = coordinate_grid(height, width, noisy.device)
    target = noisy.permute(1, 2, 0).reshape(-1, channels)
    reference = clean.permute(1, 2, 0).reshape(-1, channels) if clean is not None else None
    chunk = CPU_CHUNK if coordinates.device.type == "cpu" else len(coordinates)
    stopped, stop_iteration, trajectory = None, max_iterations, []
    started = time.perf_counter()
    bar = tqdm(range(1, max_iterations + 1), desc="INR fit", disable=not progress, leave=False)
    for iteration in bar:
        optimizer.zero_grad(set_to_none=True)
        output, loss = loss_and_gradients(model, coordinates, target, chunk)
        optimizer.step()
        if iteration % check_every == 0 or iteration == max_iterations:
            psnr = None
            if reference is not None:
                mse_clean = torch.mean((output.clamp(0, 1) - reference) ** 2).item()
                psnr = 10 * torch.log10(torch.tensor(1.0 / max(mse_clean, 1e-12))).item()
            trajectory.append((iteration, loss.item(), psnr))
            # the stop comes when this ratio reaches stop_factor
            shown = {"mse_over_noise_variance": f"{loss.item() / sigma**2:.4f}"}
            bar.set_postfix(shown if psnr is None else {**shown, "psnr": f"{psnr:.2f}"}, refresh=False)
            if stopped is None and loss.item() <= stop_factor * sigma**2:
                stopped, stop_iteration = output, iteration
            if stopped is not None and (after_stop is None or not after_stop(trajectory)):
                break
    if stopped is None:
        with torch.no_grad():
            stopped = torch.cat([model(part) for part in coordinates.split(chunk)])
    denoised = stopped.clamp(0, 1).reshape(height, width, channels).permute(2, 0, 1)
    return INRResult(denoised, stop_iteration, sigma, time.perf_counter() - started, trajectory)
