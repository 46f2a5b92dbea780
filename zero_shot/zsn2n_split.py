"""One Zero-Shot Noise2Noise iteration on one image, its work shared by two CPU threads.

Of the three network passes of the loss, f(D1(y)) and f(D2(y)) each see a quarter of the pixels and
f(y) all of them. Worker 0 runs f(D1(y)) and f(y) on the top half of the rows, worker 1 f(D2(y)) and
the bottom half, each with single-threaded operations (this tiny network's convolutions gain little
from intra-op threads; two independent streams of work use two cores better). A row strip is passed
with ``receptive_radius`` rows of real image around it and cropped back, so the two strips equal the
full pass exactly: zero padding only ever meets the true image border. The loss is formed from
detached copies of the four outputs (cheap), and each worker back-propagates its own outputs'
gradients; the parameter gradients are the sum of the two, as in one backward pass.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import torch
from torch import Tensor, nn

from lightning_modules.downsampling import pair_downsample
from zero_shot.zsn2n_loss import zsn2n_loss_from_outputs


def row_strips(height: int, radius: int) -> list[tuple[int, int, int, int]]:
    """Two strips (input_start, input_stop, keep_from, keep_to) covering rows 0..height: pass the rows
    input_start:input_stop and keep output rows keep_from:keep_to of that pass."""
    middle = height // 2
    top = (0, min(height, middle + radius), 0, middle)
    bottom_start = max(0, middle - radius)
    bottom = (bottom_start, height, middle - bottom_start, height - bottom_start)
    return [top, bottom]


def can_split(noisy: Tensor, network: nn.Module) -> bool:
    radius = getattr(network, "receptive_radius", None)
    return noisy.device.type == "cpu" and noisy.shape[0] == 1 and radius is not None and noisy.shape[2] >= 4 * radius


class SplitStep:
    """Call to compute the loss and set the parameters' ``.grad`` (the work of ``loss.backward()``)."""

    def __init__(self, network: nn.Module, noisy: Tensor, pool: ThreadPoolExecutor) -> None:
        self.network, self.noisy, self.pool = network, noisy, pool
        self.parameters = [p for p in network.parameters() if p.requires_grad]
        self.halves = [half.contiguous() for half in pair_downsample(noisy)]
        strips = row_strips(noisy.shape[2], network.receptive_radius)
        self.strips = [(noisy[:, :, start:stop].contiguous(), keep_from, keep_to)
                       for start, stop, keep_from, keep_to in strips]  # fmt: skip

    def _forward(self, worker: int) -> tuple[Tensor, Tensor]:
        rows, keep_from, keep_to = self.strips[worker]
        return self.network(self.halves[worker]), self.network(rows)[:, :, keep_from:keep_to]

    def _backward(self, outputs: tuple[Tensor, Tensor], gradients: tuple[Tensor, Tensor]) -> tuple[Tensor, ...]:
        return torch.autograd.grad(outputs, self.parameters, gradients)

    def __call__(self) -> Tensor:
        first, second = (f.result() for f in [self.pool.submit(self._forward, w) for w in (0, 1)])
        noise1, top, noise2, bottom = (t.detach().requires_grad_() for t in (*first, *second))
        loss = zsn2n_loss_from_outputs(self.noisy, self.halves, noise1, noise2, torch.cat([top, bottom], dim=2))
        g1, g2, g_top, g_bottom = torch.autograd.grad(loss, [noise1, noise2, top, bottom])
        jobs = [self.pool.submit(self._backward, first, (g1, g_top)),
                self.pool.submit(self._backward, second, (g2, g_bottom))]  # fmt: skip
        for parameter, a, b in zip(self.parameters, *(job.result() for job in jobs), strict=True):
            parameter.grad = a + b
        return loss.detach()
