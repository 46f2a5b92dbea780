"""DnCNN (Zhang, Zuo, Chen, Meng, Zhang, IEEE TIP 2017).

A plain stack: conv+ReLU, (depth - 2) x conv+BN+ReLU, conv. With ``residual=True`` the stack predicts
the noise and the network returns ``x - stack(x)`` (the paper's residual learning); with
``residual=False`` it returns the stack's output directly (as Noise2Self's 8-layer variant does;
that reference code also has ``bias=False`` in every convolution).
"""

from __future__ import annotations

from torch import Tensor, nn


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
    ) -> None:
        super().__init__()
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

    def forward(self, x: Tensor) -> Tensor:
        out = self.layers(x)
        return x - out if self.residual else out
