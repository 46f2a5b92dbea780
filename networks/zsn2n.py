"""The two-layer network of Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023): it predicts the noise.

conv3x3(C -> 48), LeakyReLU 0.2, conv3x3(48 -> 48), LeakyReLU 0.2, conv1x1(48 -> C). ``models > 1``
packs that many independent networks into one module with grouped convolutions: input [1, models*C,
H, W] holds one image per group, and group k's weights only ever see image k.

``fast_cpu=True`` (single model) runs the same layers on a CPU as one channels-last autograd function
(``networks.zsn2n_channels_last``: oneDNN convolutions and matrix products); the zero-shot fit uses it,
the results equal the plain layers up to float32 rounding. ``bf16=True`` (with ``fast_cpu``) runs its
48 -> 48 convolution in bfloat16 (float32 accumulation, float32 parameters): mixed precision, about
twice as fast on CPUs with AVX512_BF16 or AMX, see ``networks.zsn2n_channels_last``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from networks import zsn2n_channels_last


class ZSN2NNet(nn.Module):
    # an output pixel sees the input within this many pixels (two 3x3 convolutions, one 1x1)
    receptive_radius = 2

    def __init__(self, channels: int = 1, width: int = 48, models: int = 1, fast_cpu: bool = False,
                 bf16: bool = False) -> None:  # fmt: skip
        super().__init__()
        if fast_cpu and models != 1:
            raise ValueError("ZSN2NNet(fast_cpu=True) is for one model: its convolutions have no groups.")
        if bf16 and not fast_cpu:
            raise ValueError("ZSN2NNet(bf16=True) needs fast_cpu=True (the channels-last CPU path).")
        self.fast_cpu, self.bf16 = fast_cpu, bf16
        self.conv1 = nn.Conv2d(channels * models, width * models, 3, padding=1, groups=models)
        self.conv2 = nn.Conv2d(width * models, width * models, 3, padding=1, groups=models)
        self.conv3 = nn.Conv2d(width * models, channels * models, 1, groups=models)

    def prepare(self, x: Tensor) -> dict:
        """What ``forward`` can reuse for an input passed again and again (a zero-shot fit's image):
        give it as ``network(x, **network.prepare(x))``."""
        return {"x_patches": zsn2n_channels_last.patches(x)} if self._channels_last(x) else {}

    def _channels_last(self, x: Tensor) -> bool:
        return self.fast_cpu and zsn2n_channels_last.applies(x)

    def forward(self, x: Tensor, x_patches: Tensor | None = None) -> Tensor:
        if self._channels_last(x):
            parameters = [p for layer in (self.conv1, self.conv2, self.conv3) for p in (layer.weight, layer.bias)]
            return zsn2n_channels_last.zsn2n_channels_last(x, *parameters, x_patches=x_patches, bf16=self.bf16)
        x = F.leaky_relu(self.conv1(x), 0.2)
        x = F.leaky_relu(self.conv2(x), 0.2)
        return self.conv3(x)
