"""One Zero-Shot Noise2Noise iteration on one image, its work shared by two CPU threads.

Of the three network passes of the loss, f(D1(y)) and f(D2(y)) each see a quarter of the pixels and
f(y) all of them. Worker 0 (the calling thread) runs f(D1(y)) and f(y) on the top half of the rows,
worker 1 (a pool's thread) f(D2(y)) and the bottom half, each with single-threaded operations (this
tiny network's convolutions gain little from intra-op threads; two independent streams of work use
two cores better). Each half of f(y) is passed as ``STRIPS_PER_WORKER`` row strips, each with
``receptive_radius`` rows of real image around it and cropped back, so the strips equal the full pass
exactly: zero padding only ever meets the true image border. The loss is formed from detached copies
of the outputs (cheap), and each worker back-propagates its own outputs' gradients; the parameter
gradients are the sum of the two, as in one backward pass. With an ``InlineExecutor`` both workers'
passes run one after the other on the calling thread (``fit_many`` fits each image so, on its own
thread): the same strips, a smaller working set than whole-image passes. Inputs go through the
network's ``prepare`` once (the first layer's patches).
"""

from __future__ import annotations

from concurrent.futures import Executor, Future

import torch
from torch import Tensor

from core.losses import zsn2n_loss_from_outputs
from core.subsampling import pair_downsample
from zero_shot.fast_cpu.channels_last import ChannelsLastZSN2N


def row_strips(height: int, radius: int, count: int = 2) -> list[tuple[int, int, int, int]]:
    """``count`` strips (input_start, input_stop, keep_from, keep_to) covering rows 0..height: pass the
    rows input_start:input_stop and keep output rows keep_from:keep_to of that pass."""
    bounds = [height * k // count for k in range(count + 1)]
    strips = []
    for top, bottom in zip(bounds, bounds[1:], strict=False):
        start, stop = max(0, top - radius), min(height, bottom + radius)
        strips.append((start, stop, top - start, bottom - start))
    return strips


# strips of f(y) per worker: smaller strips keep each pass's activations in cache
STRIPS_PER_WORKER = 2


def can_split(noisy: Tensor) -> bool:
    """Whether one CPU image [1, C, H, W] has rows enough for the strips (each at least the network's
    receptive radius high)."""
    enough_rows = noisy.shape[2] >= 2 * max(2 * STRIPS_PER_WORKER, ChannelsLastZSN2N.receptive_radius)
    return noisy.device.type == "cpu" and noisy.shape[0] == 1 and enough_rows


class InlineExecutor(Executor):
    """Runs each submitted call at once in the calling thread: ``SplitStep`` on one thread."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


class SplitStep:
    """Call to compute the loss and set the parameters' ``.grad`` (the work of ``loss.backward()``)."""

    def __init__(self, network: ChannelsLastZSN2N, noisy: Tensor, pool: Executor,
                 strips_per_worker: int = STRIPS_PER_WORKER) -> None:  # fmt: skip
        self.network, self.noisy, self.pool = network, noisy, pool
        self.parameters = [p for p in network.parameters() if p.requires_grad]
        self.halves = [half.contiguous() for half in pair_downsample(noisy)]
        strips = row_strips(noisy.shape[2], network.receptive_radius, 2 * strips_per_worker)
        strips = [(self._fixed(noisy[:, :, start:stop].contiguous()), keep_from, keep_to)
                  for start, stop, keep_from, keep_to in strips]  # fmt: skip
        self.strips = [strips[:strips_per_worker], strips[strips_per_worker:]]
        self.half_inputs = [self._fixed(half) for half in self.halves]

    def _fixed(self, x: Tensor) -> tuple[Tensor, dict]:
        """An input passed at every iteration, with what the network computes of it once."""
        return x, self.network.prepare(x)

    def _forward(self, worker: int) -> list[Tensor]:
        """Worker 0: f(D1(y)) and the top strips of f(y); worker 1: f(D2(y)) and the bottom strips."""
        strips = [self.network(rows, **known)[:, :, keep_from:keep_to]
                  for (rows, known), keep_from, keep_to in self.strips[worker]]  # fmt: skip
        half, known = self.half_inputs[worker]
        return [self.network(half, **known), *strips]

    def _backward(self, outputs: list[Tensor], gradients: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        return torch.autograd.grad(outputs, self.parameters, gradients)

    def _on_both_workers(self, job, first: tuple, second: tuple) -> list:
        """[job(*first), job(*second)]: the second on the pool while the calling thread runs the first."""
        other = self.pool.submit(job, *second)
        try:
            mine = job(*first)
        finally:
            theirs = other.result()  # wait for the pool's half even when the calling thread's failed
        return [mine, theirs]

    def __call__(self) -> Tensor:
        outputs = self._on_both_workers(self._forward, (0,), (1,))
        detached = [[t.detach().requires_grad_() for t in worker] for worker in outputs]
        (noise1, *top), (noise2, *bottom) = detached
        loss = zsn2n_loss_from_outputs(self.noisy, self.halves, noise1, noise2, torch.cat(top + bottom, dim=2))
        gradients = torch.autograd.grad(loss, detached[0] + detached[1])
        n = len(detached[0])
        shares = [(outputs[w], gradients[w * n : (w + 1) * n]) for w in (0, 1)]  # each worker's outputs and grads
        for parameter, a, b in zip(self.parameters, *self._on_both_workers(self._backward, *shares), strict=True):
            parameter.grad = a + b
        return loss.detach()
