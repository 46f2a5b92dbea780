"""ZS-N2N's two-thread iteration: the same loss and gradients as one backward pass of the plain loss."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from core.losses import zsn2n_loss
from networks.zsn2n import ZSN2NNet
from zero_shot.fast_cpu.channels_last import ChannelsLastZSN2N
from zero_shot.fast_cpu.split import SplitStep, row_strips
from zero_shot.zsn2n import fit


@pytest.mark.parametrize("height", [8, 9, 23])
@pytest.mark.parametrize("count", [2, 4])
def test_row_strips_keep_every_row_once_with_real_context(height, count):
    radius = 2
    kept = []
    for start, stop, keep_from, keep_to in row_strips(height, radius, count):
        rows = list(range(start, stop))[keep_from:keep_to]
        for row in rows:  # every kept row has `radius` real rows (or the image border) on each side
            assert start <= max(0, row - radius) and min(height, row + radius + 1) <= stop
        kept += rows
    assert kept == list(range(height))


@pytest.mark.parametrize("shape", [(1, 3, 21, 17), (1, 1, 16, 16)])
@pytest.mark.parametrize("strips_per_worker", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])  # float64: the plain layers inside the strips
def test_split_step_gives_the_plain_loss_and_gradients(shape, strips_per_worker, dtype):
    torch.manual_seed(0)
    network = ChannelsLastZSN2N(ZSN2NNet(shape[1])).to(dtype)
    noisy = torch.rand(shape, dtype=dtype)
    loss = zsn2n_loss(network, noisy)
    expected = torch.autograd.grad(loss, list(network.parameters()))
    with ThreadPoolExecutor(2) as pool:
        split_loss = SplitStep(network, noisy, pool, strips_per_worker)()
    assert split_loss.item() == pytest.approx(loss.item(), rel=1e-6)
    for parameter, gradient in zip(network.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient, rtol=1e-5, atol=1e-7)


def test_fit_on_two_threads_matches_the_single_threaded_fit(monkeypatch):
    import zero_shot.fast_cpu as fast_cpu

    calls = []

    class CountingStep(SplitStep):
        def __call__(self):
            calls.append(type(self.pool).__name__)
            return super().__call__()

    monkeypatch.setattr(fast_cpu, "SplitStep", CountingStep)
    noisy = torch.rand(1, 3, 24, 20, generator=torch.Generator().manual_seed(5))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        split = fit(noisy, iterations=15, seed=3, progress=False, cpu_path="fast")
        torch.set_num_threads(1)
        plain = fit(noisy, iterations=15, seed=3, progress=False, cpu_path="fast")
    finally:
        torch.set_num_threads(threads)
    assert torch.get_num_threads() == threads
    # the two-thread fit shared each iteration between two threads; the one-thread fit ran the strips inline
    assert calls == ["ThreadPoolExecutor"] * 15 + ["InlineExecutor"] * 15
    torch.testing.assert_close(split, plain, rtol=0, atol=1e-5)
