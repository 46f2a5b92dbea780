"""Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023): fit a tiny noise predictor f to one image.

With D1, D2 the pair downsampler's halves of the noisy image y, the loss (Eq. 3-4 of the paper) is
    residual:     0.5 * (mse(D1(y), D2(y) - f(D2(y))) + mse(D2(y), D1(y) - f(D1(y))))
    consistency:  0.5 * (mse(D1(y) - f(D1(y)), D1(y - f(y))) + mse(D2(y) - f(D2(y)), D2(y - f(y))))
and the denoised image is clamp(y - f(y), 0, 1). Defaults: Adam lr 1e-3, 2000 iterations,
StepLR(1500, 0.5).

``fit_many`` fits independent models to several images at once, each image exactly the updates it
would get alone, from the same initial weights. On a CPU the images are fitted concurrently, one
Python thread each with single-threaded operations: this tiny network's convolutions scale poorly
over intra-op threads, so two images side by side on one thread each use the cores better. On a GPU
the models are packed into grouped convolutions (one group per image; Adam is element-wise and the
loss a sum of per-image losses, so the updates are the same).
A single image on a CPU with two or more threads is fitted by ``zsn2n_split``: each iteration's
network passes are shared between two threads (the same loss and gradients up to rounding).
On a CPU the network runs as one channels-last autograd function (``networks.zsn2n_channels_last``:
oneDNN convolutions and matrix products, the same layers up to float32 rounding).

Measured on this project's 2-core CPU, 24 CBSD68 crops of 256x256 at 100 iterations, the variants taking
turns (``python benchmarks/zsn2n_cbsd68.py --images 24 --iterations 100``). In float32, 6.7 s per image
for ``fit`` and 6.2 s for ``fit_many`` on pairs against 11.8 s for a plain per-image loop of the paper's
code, PSNR within 0.003 dB (commit e903bb4); on a slower day of the same machine 11.5 and 10.5 s
against 16.6 s. With ``precision="bf16-mixed"`` in that slower run: 7.9 s (``fit``, 2.10x) and 6.8 s
(``fit_many``, 2.46x), mean PSNR 0.008 dB below the plain loop (per image -0.18 to +0.13 dB at 100
iterations, where the fits are still far from converged; float32 per image -0.02 to +0.03). At the
paper's 2000 iterations on the first 2 crops: plain loop 345 s per image, ``fit`` 243 s, ``fit``
bf16-mixed 142 s (2.43x); PSNR 27.370, 27.373 and 27.342 dB.
Much of the plain loop's time is the kernel mapping fresh memory for its whole-image
activations (about 25k page faults per iteration); with glibc told to keep freed memory
(``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824``) the same loop took 72-76 ms per
iteration instead of 115-127 ms in a short run, ``fit`` 64-67 ms. The strips here reuse their memory.
What remains in float32 is mostly the 48 -> 48 convolution (forward, input and weight gradients: about
60% of an iteration's CPU time), already at oneDNN's AVX-512 kernels; in bfloat16 (AVX512_BF16) oneDNN
runs it about twice as fast (one thread, channels-last [1, 48, 128, 256], ``F.conv2d`` and
``torch.autograd.grad`` timed in a short loop, 2026-12-03: forward 6.2 vs 12.8-14.6 ms, weight gradient
8.0 vs 14.6-32 ms; float32 varied between repeats, bfloat16 did not).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch
from torch import Tensor
from tqdm.auto import tqdm

from core.losses import zsn2n_loss
from networks.cpu_features import warn_if_bfloat16_is_emulated
from networks.zsn2n import ZSN2NNet
from zero_shot.zsn2n_split import InlineExecutor, SplitStep, can_split

PRECISIONS = ("32", "bf16-mixed")


def _initial_network(channels: int, seed: int, precision: str = "32") -> ZSN2NNet:
    torch.manual_seed(seed)
    return ZSN2NNet(channels, fast_cpu=True, bf16=precision == "bf16-mixed")


def _fit_one(network: ZSN2NNet, noisy: Tensor, iterations: int, lr: float, step_size: int, gamma: float,
             tick: Callable[[int], None] = lambda n: None,
             gradients: Callable[[], Tensor] | None = None) -> Tensor:  # fmt: skip
    """The paper's loop for one image [1, C, H, W] (or packed images, with ``reduce_models``);
    ``gradients()``, if given, replaces the loss and its backward pass (it sets the parameters' grads)."""
    models = network.conv1.groups  # one image per group when packed
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
    precision: str = "32",
) -> Tensor:
    """Denoise a batch [B, C, H, W] of same-sized images, one independent model each; returns [B, C, H, W].
    Model k starts from the weights ``ZSN2NNet`` gets after ``torch.manual_seed(seeds[k])`` (default
    ``seed + k``), so it denoises image k exactly as ``fit(image k, seed=seeds[k])`` does. On a CPU,
    ``workers`` threads (default: as many as torch's intra-op threads, at most B) fit the images side
    by side; on a GPU one grouped model fits them all. ``precision="bf16-mixed"`` runs the 48 -> 48
    convolution in bfloat16 on a CPU (float32 parameters, Adam, loss and every other layer)."""
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision={precision!r} is not one of {PRECISIONS}: '32' (float32 throughout) or 'bf16-mixed' "
            "(the middle convolution in bfloat16, faster where the CPU has bfloat16 units)"
        )
    if precision != "32" and images.device.type != "cpu":
        raise ValueError(f"precision={precision!r} is implemented for the CPU fit only; on {images.device} use '32'")
    if precision == "bf16-mixed":
        warn_if_bfloat16_is_emulated("precision='bf16-mixed'")
    count, channels = images.shape[:2]
    seeds = [seed + k for k in range(count)] if seeds is None else list(seeds)
    if len(seeds) != count:
        raise ValueError(f"fit_many got {count} images but {len(seeds)} seeds: give one seed per image.")
    singles = [_initial_network(channels, seeds[k], precision).to(images.device) for k in range(count)]
    bar = tqdm(total=iterations * count, desc=f"ZS-N2N fit x{count}", disable=not progress, leave=False)
    lock = threading.Lock()

    def tick(done: int) -> None:
        with lock:
            bar.update(done)

    try:
        if images.is_cuda:
            return _fit_grouped(singles, images, iterations, lr, step_size, gamma, tick)
        return _fit_threaded(singles, images, iterations, lr, step_size, gamma, tick, workers)
    finally:
        bar.close()


def _fit_grouped(singles, images, iterations, lr, step_size, gamma, tick) -> Tensor:
    count, channels = images.shape[:2]
    packed = ZSN2NNet(channels, models=count).to(images.device)
    with torch.no_grad():
        for name, parameter in packed.named_parameters():
            parameter.copy_(torch.cat([dict(single.named_parameters())[name] for single in singles]))
    stacked = images.reshape(1, count * channels, *images.shape[2:])
    denoised = _fit_one(packed, stacked, iterations, lr, step_size, gamma, lambda n: tick(n * count))
    return denoised.reshape(images.shape)


def _fit_threaded(singles, images, iterations, lr, step_size, gamma, tick, workers) -> Tensor:
    threads = torch.get_num_threads()
    workers = max(1, min(workers or threads, len(images)))

    def fit_image(k: int) -> Tensor:
        image = images[k : k + 1]
        # on its own thread, an image's passes go in row strips too (smaller working set, fewer page faults)
        step = SplitStep(singles[k], image, InlineExecutor()) if can_split(image, singles[k]) else None
        return _fit_one(singles[k], image, iterations, lr, step_size, gamma, tick, gradients=step)[0]

    if workers == 1 and threads >= 2 and can_split(images[:1], singles[0]):
        return torch.stack([_fit_split(singles[k], images[k : k + 1], iterations, lr, step_size, gamma, tick)[0]
                            for k in range(len(images))])  # fmt: skip
    if workers == 1:
        return torch.stack([fit_image(k) for k in range(len(images))])
    # intra-op threads are shared out among the workers; a thread started now takes the new count
    with _intra_op_threads(max(1, threads // workers)), ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(fit_image, k) for k in range(len(images))]
        try:
            return torch.stack([future.result() for future in futures])
        except BaseException:
            pool.shutdown(cancel_futures=True)  # a failed fit stops the images not yet started
            raise


def _fit_split(network, image, iterations, lr, step_size, gamma, tick) -> Tensor:
    """One image on two threads (``zsn2n_split``: this one and a pool's), each with single-threaded operations."""
    with _intra_op_threads(1), ThreadPoolExecutor(1) as pool:
        step = SplitStep(network, image, pool)
        return _fit_one(network, image, iterations, lr, step_size, gamma, tick, gradients=step)


@contextmanager
def _intra_op_threads(count: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``count`` inside the block, restored after it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def fit(noisy: Tensor, iterations: int = 2000, seed: int = 0, progress: bool = True, **kwargs) -> Tensor:
    """Denoise one image [C, H, W] or [1, C, H, W] (any size, odd too)."""
    image = noisy[None] if noisy.dim() == 3 else noisy
    denoised = fit_many(image, iterations=iterations, seed=seed, progress=progress, **kwargs)
    return denoised[0] if noisy.dim() == 3 else denoised
