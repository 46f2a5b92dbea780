"""A faster copy of a network for evaluation-only passes (test and predict).

Monte-Carlo inference (R2R's 50 recorrupted passes) and J-invariant inference run the network many
times per image, so on a CPU the network's layout matters: in evaluation mode batch norm is an affine
map that folds into the preceding convolution's weights, and oneDNN's convolutions are faster in
channels-last memory. The copy gives the same outputs up to float rounding and is never trained.
"""

from __future__ import annotations

import contextlib
import copy

import torch
from torch import nn
from torch.fx.experimental.optimization import fuse


def evaluation_copy(network: nn.Module) -> nn.Module:
    """An evaluation-mode copy of ``network`` with conv + batch-norm folded where ``torch.fx`` can
    trace the network (kept as is where it cannot) and parameters in channels-last memory."""
    frozen = copy.deepcopy(network).eval()
    for parameter in frozen.parameters():
        parameter.requires_grad_(False)
    # data-dependent control flow defeats symbolic tracing; folding is an optimisation, so go without it
    with contextlib.suppress(Exception):
        frozen = fuse(frozen)
    return frozen.to(memory_format=torch.channels_last)
