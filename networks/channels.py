"""How many channels a network takes, read from its first convolution."""

from __future__ import annotations

from torch import nn


def input_channels(network: nn.Module) -> int | None:
    """The ``in_channels`` of the first ``nn.Conv2d`` in ``network`` (None when it has none)."""
    first = next((module for module in network.modules() if isinstance(module, nn.Conv2d)), None)
    return first.in_channels if first is not None else None
