"""U-Net (Ronneberger, Fischer, Brox, MICCAI 2015) as used for denoising (Noise2Noise, Noise2Void).

Each level: two 3x3 conv + LeakyReLU; 2x2 max-pooling down; nearest (or transposed-conv) up; skip
connections by concatenation; channel width doubles per level. Any input size works: the input is
reflect-padded to a multiple of ``2 ** depth`` and the output cropped back, so callers never have to
think about divisibility.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _double_conv(in_channels: int, out_channels: int, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c_in in (in_channels, out_channels):
        layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.LeakyReLU(0.1, inplace=True))
    return nn.Sequential(*layers)


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Reflect-pad bottom/right so H and W are multiples of ``multiple``; returns the original size."""
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        # reflect needs the pad to be smaller than the side; replicate covers tiny images
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return x, (h, w)


class UNet(nn.Module):
    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int | None = None,
        depth: int = 4,
        width: int = 32,
        batch_norm: bool = False,
        residual: bool = False,
        upsampling: str = "nearest",
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"UNet depth must be >= 1, got {depth}")
        if upsampling not in ("nearest", "transpose"):
            raise ValueError(f"upsampling must be 'nearest' or 'transpose', got {upsampling!r}")
        out_channels = in_channels if out_channels is None else out_channels
        if residual and out_channels != in_channels:
            raise ValueError("residual UNet adds its input to the output: out_channels must equal in_channels")
        self.depth = depth
        self.residual = residual
        widths = [width * 2**level for level in range(depth + 1)]

        self.encoders = nn.ModuleList()
        c_in = in_channels
        for level in range(depth):
            self.encoders.append(_double_conv(c_in, widths[level], batch_norm))
            c_in = widths[level]
        self.bottleneck = _double_conv(widths[depth - 1], widths[depth], batch_norm)

        self.upsamplers = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in reversed(range(depth)):
            if upsampling == "transpose":
                up: nn.Module = nn.ConvTranspose2d(widths[level + 1], widths[level], 2, stride=2)
            else:
                up = nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(widths[level + 1], widths[level], 1)
                )
            self.upsamplers.append(up)
            self.decoders.append(_double_conv(2 * widths[level], widths[level], batch_norm))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        padded, (h, w) = pad_to_multiple(x, 2**self.depth)
        skips = []
        out = padded
        for encoder in self.encoders:
            out = encoder(out)
            skips.append(out)
            out = F.max_pool2d(out, 2)
        out = self.bottleneck(out)
        for up, decoder, skip in zip(self.upsamplers, self.decoders, reversed(skips), strict=True):
            out = decoder(torch.cat([up(out), skip], dim=1))
        out = self.head(out)[..., :h, :w]
        return x + out if self.residual else out
