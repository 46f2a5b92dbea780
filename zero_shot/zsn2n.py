"""Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023): fit a tiny noise predictor f to one image.

With D1, D2 the pair downsampler's halves of the noisy image y, the loss (Eq. 3-4 of the paper,
``core.losses.zsn2n_loss``) is
    residual:     0.5 * (mse(D1(y), D2(y) - f(D2(y))) + mse(D2(y), D1(y) - f(D1(y))))
    consistency:  0.5 * (mse(D1(y) - f(D1(y)), D1(y - f(y))) + mse(D2(y) - f(D2(y)), D2(y - f(y))))
Both halves of each pair see disjoint pixels, so their noise is independent and each is a noisy
target for the other (Noise2Noise within one image); the consistency term asks the full-resolution
output to agree with the halves' outputs. The denoised image is clamp(y - f(y), 0, 1). Defaults as in
the paper's code: Adam lr 1e-3, 2000 iterations, StepLR(1500, 0.5) (``zero_shot.zsn2n_loop``).

``fit_many`` fits independent models to several images, each exactly as ``fit`` would alone, from
the same initial weights. How the loop is computed (``cpu_path``):

* ``plain``: the paper's loop, one image after another, with PyTorch's own operations;
* ``fast``: the CPU fast path (``zero_shot.fast_cpu``: a channels-last pass, threads side by side,
  optional bfloat16 middle convolution), the same loss and updates up to float rounding;
* ``auto`` (default): ``fast`` where a short measurement on the image at hand finds it faster on this
  CPU, else ``plain``; measured once per image size and thread count in a process.

On a GPU the models are packed into grouped convolutions (one group per image; Adam is element-wise and
the loss a sum of per-image losses, so the updates are the same as one by one).
"""

from __future__ import annotations

import threading
import warnings
from typing import Literal

import torch
from torch import Tensor
from tqdm.auto import tqdm

from core.choices import check_choice
from networks.cpu_features import warn_if_bfloat16_is_emulated
from networks.zsn2n import ZSN2NNet
from zero_shot import fast_cpu
from zero_shot.zsn2n_loop import fit_one

CpuPath = Literal["auto", "plain", "fast"]
Precision = Literal["32", "bf16-mixed"]

# (image shape, intra-op threads, workers, bf16) -> the path measured faster, so a process measures once
_MEASURED: dict[tuple, str] = {}


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
    workers: int | None = None,
    seeds: list[int] | None = None,
    precision: Precision = "32",
    cpu_path: CpuPath = "auto",
) -> Tensor:
    """Denoise a batch [B, C, H, W] of same-sized images, one independent model each; returns [B, C, H, W].
    Model k starts from the weights ``ZSN2NNet`` gets after ``torch.manual_seed(seeds[k])`` (default
    ``seed + k``), so it denoises image k exactly as ``fit(image k, seed=seeds[k])`` does. ``workers``:
    images fitted side by side on the fast path (default: torch's intra-op threads, at most B).
    ``precision="bf16-mixed"`` runs the 48 -> 48 convolution in bfloat16 on the fast path (float32
    parameters, Adam, loss and every other layer); it implies ``cpu_path="fast"``."""
    check_choice("precision", precision, Precision)
    check_choice("cpu_path", cpu_path, CpuPath)
    bf16 = precision == "bf16-mixed"
    if bf16 and (images.device.type != "cpu" or cpu_path == "plain"):
        raise ValueError(
            f"precision={precision!r} is implemented on the CPU fast path only; use '32' on {images.device} "
            "or with cpu_path='plain'"
        )
    if bf16:
        warn_if_bfloat16_is_emulated("precision='bf16-mixed'")
    count, channels = images.shape[:2]
    seeds = [seed + k for k in range(count)] if seeds is None else list(seeds)
    if len(seeds) != count:
        raise ValueError(f"fit_many got {count} images but {len(seeds)} seeds: give one seed per image.")
    singles = [_initial_network(channels, seeds[k]).to(images.device) for k in range(count)]
    bar = tqdm(total=iterations * count, desc=f"ZS-N2N fit x{count}", disable=not progress, leave=False)
    lock = threading.Lock()

    def tick(done: int) -> None:
        with lock:
            bar.update(done)

    try:
        if images.is_cuda:
            return _fit_grouped(singles, images, iterations, lr, step_size, gamma, tick)
        path = "fast" if bf16 else _cpu_path(cpu_path, singles[0], images, workers)
        if path == "fast":
            return fast_cpu.fit_images(singles, images, iterations, lr, step_size, gamma, tick, workers, bf16)
        return torch.stack(
            [fit_one(single, images[k : k + 1], iterations, lr, step_size, gamma, tick)[0]
             for k, single in enumerate(singles)]
        )  # fmt: skip
    finally:
        bar.close()


def _cpu_path(requested: str, network: ZSN2NNet, images: Tensor, workers: int | None) -> str:
    if requested != "auto":
        if requested == "fast" and not fast_cpu.available(images):
            warnings.warn("cpu_path='fast' needs float32 images and oneDNN: fitting on the plain path", stacklevel=3)
            return "plain"
        return requested
    if not fast_cpu.available(images):
        return "plain"
    key = (tuple(images.shape), torch.get_num_threads(), workers)
    if key not in _MEASURED:
        seconds = fast_cpu.measure_paths(network, images, workers=workers)
        _MEASURED[key] = "fast" if seconds["fast"] < seconds["plain"] else "plain"
    return _MEASURED[key]


def _fit_grouped(singles, images, iterations, lr, step_size, gamma, tick) -> Tensor:
    count, channels = images.shape[:2]
    packed = ZSN2NNet(channels, models=count).to(images.device)
    with torch.no_grad():
        for name, parameter in packed.named_parameters():
            parameter.copy_(torch.cat([dict(single.named_parameters())[name] for single in singles]))
    stacked = images.reshape(1, count * channels, *images.shape[2:])
    denoised = fit_one(packed, stacked, iterations, lr, step_size, gamma, lambda n: tick(n * count), models=count)
    return denoised.reshape(images.shape)


def fit(noisy: Tensor, iterations: int = 2000, seed: int = 0, progress: bool = True, **kwargs) -> Tensor:
    """Denoise one image [C, H, W] or [1, C, H, W] (any size, odd too)."""
    image = noisy[None] if noisy.dim() == 3 else noisy
    denoised = fit_many(image, iterations=iterations, seed=seed, progress=progress, **kwargs)
    return denoised[0] if noisy.dim() == 3 else denoised
