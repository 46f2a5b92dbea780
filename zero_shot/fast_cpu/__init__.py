"""The CPU fast path of the Zero-Shot Noise2Noise fit, behind one entry point (``fit_images``) and one
test of whether it pays on the running CPU (``measure_paths``).

It changes how the paper's loop is computed, never what: the network's three layers run as one
channels-last autograd function (``channels_last``: oneDNN convolutions and matrix products); one
image's passes are cut into row strips, shared between two threads when the fit has two or more
(``split``); several images are fitted side by side, one thread each with single-threaded
operations. ``bf16`` runs the 48 -> 48 convolution in bfloat16 (mixed precision). Each of these was
faster on some CPUs and slower on others (benchmarks/results/zsn2n_cbsd68.json), so the fit uses the
path only where ``measure_paths`` finds it faster on the image at hand, or where the caller asks.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from zero_shot.fast_cpu.channels_last import ChannelsLastZSN2N, applies
from zero_shot.fast_cpu.split import InlineExecutor, SplitStep, can_split
from zero_shot.zsn2n_loop import fit_one


def fit_images(singles: list[nn.Module], images: Tensor, iterations: int, lr: float, step_size: int, gamma: float,
               tick: Callable[[int], None], workers: int | None = None, bf16: bool = False) -> Tensor:  # fmt: skip
    """Fit ``singles[k]`` (a ``ZSN2NNet``, trained in place) to ``images[k]`` on the fast path; [B, C, H, W]."""
    fast = [ChannelsLastZSN2N(single, bf16) for single in singles]
    threads = torch.get_num_threads()
    workers = max(1, min(workers or threads, len(images)))

    def fit_image(k: int) -> Tensor:
        image = images[k : k + 1]
        # on its own thread, an image's passes go in row strips too (smaller working set, fewer page faults)
        step = SplitStep(fast[k], image, InlineExecutor()) if can_split(image) else None
        return fit_one(fast[k], image, iterations, lr, step_size, gamma, tick, gradients=step)[0]

    if workers == 1 and threads >= 2 and can_split(images[:1]):
        return torch.stack([_fit_split(fast[k], images[k : k + 1], iterations, lr, step_size, gamma, tick)[0]
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
    """One image on two threads (``split``: this one and a pool's), each with single-threaded operations."""
    with _intra_op_threads(1), ThreadPoolExecutor(1) as pool:
        step = SplitStep(network, image, pool)
        return fit_one(network, image, iterations, lr, step_size, gamma, tick, gradients=step)


@contextmanager
def _intra_op_threads(count: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``count`` inside the block, restored after it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def available(images: Tensor) -> bool:
    """Whether the fast path can run these images (float32 on a CPU with oneDNN)."""
    return applies(images)


def measure_paths(network: nn.Module, images: Tensor, iterations: int = 4, rounds: int = 2,
                  workers: int | None = None, bf16: bool = False) -> dict[str, float]:  # fmt: skip
    """Seconds per iteration of the plain loop and of the fast path, fitting copies of ``network`` (the
    copies are thrown away) to ``images``: a few iterations each, the two taking turns ``rounds`` times
    after one untimed warm-up, the best round of each kept. {"plain": s, "fast": s}."""
    timings: dict[str, list[float]] = {"plain": [], "fast": []}

    def run(path: str, count: int) -> float:
        copies = [copy.deepcopy(network) for _ in range(len(images))]
        start = time.perf_counter()
        if path == "plain":
            for k, single in enumerate(copies):
                fit_one(single, images[k : k + 1], count, 1e-3, 1500, 0.5)
        else:
            fit_images(copies, images, count, 1e-3, 1500, 0.5, lambda n: None, workers, bf16)
        return (time.perf_counter() - start) / count

    for path in timings:
        run(path, 1)
    for _ in range(rounds):
        for path, seconds in timings.items():
            seconds.append(run(path, iterations))
    return {path: min(seconds) for path, seconds in timings.items()}
