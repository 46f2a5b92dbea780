"""The network of Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023): it predicts the noise.

conv3x3(C -> 48), LeakyReLU 0.2, conv3x3(48 -> 48), LeakyReLU 0.2, conv1x1(48 -> C), as in the paper's
code. Two 3x3 layers make it tiny on purpose: fitted to one image, a small receptive field and few
parameters keep it from learning the image itself. ``models > 1`` packs that many independent networks
into one module with grouped convolutions: input [1, models*C, H, W] holds one image per group, and
group k's weights only ever see image k (how ``zero_shot.zsn2n`` fits several images at once on a GPU).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class ZSN2NNet(nn.Module):
    def __init__(self, channels: int = 1, width: int = 48, models: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels * models, width * models, 3, padding=1, groups=models)
        self.conv2 = nn.Conv2d(width * models, width * models, 3, padding=1, groups=models)
        self.conv3 = nn.Conv2d(width * models, channels * models, 1, groups=models)

    def forward(self, x: Tensor) -> Tensor:
        x = F.leaky_relu(self.conv1(x), 0.2)
        x = F.leaky_relu(self.conv2(x), 0.2)
        return self.conv3(x)
