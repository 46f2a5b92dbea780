"""A network run on standardised intensities: ``network((x - mean) / std) * std + mean``.

The official Noise2Void code (CSBDeep ``n2v``) and CAREamics standardise the data by its mean and
standard deviation before training and undo it on the output; a denoiser that starts near the zero
function then starts near the data's mean, and its weights see inputs of unit scale. The map is one
affine function per image channel with constants fixed after the first training batch, so it keeps every
blind-spot and J-invariance property of the wrapped network: an output pixel depends on exactly the
input pixels it did before.

``mean`` and ``std`` are given (one number each, or one per channel) or, left ``None``, measured on the
first training batch (per channel, over the batch and the pixels: ``measure_unset``, which every method's
first training step calls). Either way they are buffers: saved in checkpoints and exports, the same on
resume, broadcast from rank 0 under DDP. ``forward`` has no branch on them, so it scripts and exports.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from networks.channels import input_channels


def _per_channel(values: float | Sequence[float] | None, channels: int) -> Tensor:
    if values is None:
        return torch.zeros(1, channels, 1, 1)
    values = [float(values)] * channels if isinstance(values, (int, float)) else [float(v) for v in values]
    if len(values) != channels:
        raise ValueError(f"expected 1 or {channels} values (one per channel), got {len(values)}")
    return torch.tensor(values).reshape(1, channels, 1, 1)


class Standardized(nn.Module):
    """Args:
    network: the denoiser to wrap.
    channels: image channels (the statistics are per channel); by default the network's input channels.
    mean, std: the data's statistics on the [0, 1] scale; ``None`` (both): measured on the first training
        batch.
    """

    def __init__(
        self,
        network: nn.Module,
        channels: int | None = None,
        mean: float | Sequence[float] | None = None,
        std: float | Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std, or neither (measured on the first training batch)")
        self.network = network
        channels = channels or input_channels(network) or 1
        self.multiple = getattr(network, "multiple", 1)  # the input-size multiple export reads
        self.register_buffer("mean", _per_channel(mean, channels))
        self.register_buffer("std", _per_channel(std, channels) if std is not None else torch.ones(1, channels, 1, 1))
        if std is not None and bool((self.std <= 0).any()):
            raise ValueError(f"std must be positive, got {std}")
        self.register_buffer("measured", torch.tensor(mean is not None))

    @torch.no_grad()
    def measure(self, x: Tensor) -> None:
        """Set mean and std per channel from ``x`` [B, C, H, W]."""
        self.mean.copy_(x.mean(dim=(0, 2, 3), keepdim=True))
        self.std.copy_(x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6))
        self.measured.fill_(True)

    def forward(self, x: Tensor) -> Tensor:
        return self.network((x - self.mean) / self.std) * self.std + self.mean


def measure_unset(network: nn.Module, x: Tensor) -> None:
    """Give every ``Standardized`` inside ``network`` whose statistics are neither given nor measured
    (nor loaded) the statistics of ``x``, a training batch [B, C, H, W]."""
    for module in network.modules():
        if isinstance(module, Standardized) and not bool(module.measured):
            module.measure(x)
