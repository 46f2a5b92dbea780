"""DnCNN (Zhang, Zuo, Chen, Meng, Zhang, IEEE TIP 2017).

A plain stack: conv+ReLU, (depth - 2) x conv+BN+ReLU, conv. With ``residual=True`` the stack predicts
the noise and the network returns ``x - stack(x)`` (the paper's residual learning); with
``residual=False`` it returns the stack's output directly (as Noise2Self's 8-layer variant does;
that reference code also has ``bias=False`` in every convolution).

``init="kaiming"`` initialises as the DnCNN paper (He et al. 2015 initialisation, Sec. III-C) in the form
of the DnCNN PyTorch code that the official R2R code applies (``weights_init_kaiming``): every convolution
He-normal with fan-in; batch-norm scales drawn from N(0, 2 / (9 * width)) clipped to [-0.025, 0.025]
and shifts 0, so the residual branch starts near zero and the network near the identity. Without batch
norm, PyTorch's default initialisation shrinks the signal through 17 layers; He initialisation keeps
its scale (DeepInverse's DnCNN uses it too). ``init="default"`` keeps PyTorch's.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from core.choices import check_choice

Init = Literal["default", "kaiming"]


class DnCNN(nn.Module):
    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int | None = None,
        depth: int = 17,
        width: int = 64,
        residual: bool = True,
        batch_norm: bool = True,
        bias: bool = True,
        init: Init = "default",
    ) -> None:
        super().__init__()
        check_choice("init", init, Init)
        if depth < 2:
            raise ValueError(f"DnCNN needs depth >= 2 (first and last convolution), got {depth}")
        out_channels = in_channels if out_channels is None else out_channels
        if residual and out_channels != in_channels:
            raise ValueError("residual DnCNN subtracts its output from the input: out_channels must equal in_channels")
        self.residual = residual
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1, bias=bias), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            # the bias is redundant in front of batch norm, as in the original model
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=bias and not batch_norm)]
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(width, out_channels, 3, padding=1, bias=bias))
        self.layers = nn.Sequential(*layers)
        if init == "kaiming":
            self._kaiming_init(width)

    @torch.no_grad()
    def _kaiming_init(self, width: int) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in")
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.normal_(0.0, math.sqrt(2.0 / (9.0 * width))).clamp_(-0.025, 0.025)
                module.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        out = self.layers(x)
        return x - out if self.residual else out
