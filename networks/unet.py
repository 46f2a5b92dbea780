"""U-Net (Ronneberger, Fischer, Brox, MICCAI 2015) as used for denoising (Noise2Noise, Noise2Void).

N2V2 (Hoeck et al. 2022) options: ``pooling="blur"`` (max-blur-pool: 2x2 max with stride 1, then a
[1,2,1] x [1,2,1] blur with stride 2; Zhang, ICML 2019) and ``top_skip=False`` (no skip connection at
full resolution), which together remove Noise2Void's checkerboard artefacts.

Each level: two 3x3 conv + LeakyReLU (or ReLU); 2x2 max-pooling down; nearest (bilinear, as CAREamics'
U-Net, or a transposed convolution) up;
skip connections by concatenation; channel width doubles per level. Any input size works: the input is
reflect-padded to a multiple of ``2 ** depth`` and the output cropped back, so callers never have to
think about divisibility.

Two layouts of the bottleneck and decoder:

* ``symmetric``: every decoder level keeps its encoder level's width; the upsampling is followed by a
  1x1 convolution (or is a transposed convolution) that halves the channels before the concatenation.
* ``csbdeep``: the U-Net of Noise2Void's official code (CSBDeep's ``unet_block``, also CAREamics'
  ``UNet``): the second convolution of the bottleneck and of every decoder level outputs the width of
  the level above (``width * 2 ** max(0, level - 1)``), so plain nearest upsampling feeds the
  concatenation directly, with fewer parameters and multiply-adds than ``symmetric`` at the same
  depth and width.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.choices import check_choice

Layout = Literal["symmetric", "csbdeep"]
Activation = Literal["leaky_relu", "relu"]
Upsampling = Literal["nearest", "bilinear", "transpose"]


def _double_conv(
    in_channels: int, out_channels: int, batch_norm: bool, activation: Activation, mid_channels: int | None = None
) -> nn.Sequential:
    """Two 3x3 convolutions (``in -> mid -> out``), each followed by batch norm (optional) and the
    activation."""
    mid_channels = out_channels if mid_channels is None else mid_channels
    layers: list[nn.Module] = []
    for c_in, c_out in ((in_channels, mid_channels), (mid_channels, out_channels)):
        layers.append(nn.Conv2d(c_in, c_out, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.LeakyReLU(0.1, inplace=True) if activation == "leaky_relu" else nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class MaxBlurPool(nn.Module):
    """Anti-aliased downsampling by two: dense 2x2 max-pooling, then a binomial blur with stride 2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        blur = torch.tensor([1.0, 2.0, 1.0])
        kernel = (blur[:, None] * blur[None, :]) / 16.0
        self.register_buffer("kernel", kernel.expand(channels, 1, 3, 3).clone(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(x, 2, stride=1)  # [H-1, W-1]
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.kernel, stride=2, groups=x.shape[1])


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Reflect-pad bottom/right so H and W are multiples of ``multiple``; returns the original size.
    Padding by zero rows is a no-op, so there is no branch on it and an exported graph (export.py)
    keeps every size dynamic."""
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    # reflect needs the pad to be smaller than the side; replicate covers tiny images
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return F.pad(x, [0, pad_w, 0, pad_h], mode=mode), (h, w)


class UNet(nn.Module):
    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int | None = None,
        depth: int = 4,
        width: int = 32,
        batch_norm: bool = False,
        residual: bool = False,
        upsampling: Upsampling = "nearest",
        pooling: Literal["max", "blur"] = "max",
        top_skip: bool = True,
        layout: Layout = "symmetric",
        activation: Activation = "leaky_relu",
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"UNet depth must be >= 1, got {depth}")
        check_choice("pooling", pooling, Literal["max", "blur"])
        check_choice("upsampling", upsampling, Upsampling)
        check_choice("layout", layout, Layout)
        check_choice("activation", activation, Activation)
        if layout == "csbdeep" and upsampling == "transpose":
            raise ValueError("the csbdeep layout upsamples without weights: set upsampling: nearest (or bilinear)")
        out_channels = in_channels if out_channels is None else out_channels
        if residual and out_channels != in_channels:
            raise ValueError("residual UNet adds its input to the output: out_channels must equal in_channels")
        self.depth = depth
        self.multiple = 2**depth
        self.residual = residual
        self.top_skip = top_skip
        widths = [width * 2**level for level in range(depth + 1)]

        self.encoders = nn.ModuleList()
        self.pools = nn.ModuleList()
        c_in = in_channels
        for level in range(depth):
            self.encoders.append(_double_conv(c_in, widths[level], batch_norm, activation))
            self.pools.append(MaxBlurPool(widths[level]) if pooling == "blur" else nn.MaxPool2d(2))
            c_in = widths[level]
        # csbdeep: the bottleneck and each decoder level end at the width of the level above
        out_width = (lambda level: widths[max(0, level - 1)]) if layout == "csbdeep" else (lambda level: widths[level])
        c_in = out_width(depth)
        self.bottleneck = _double_conv(widths[depth - 1], c_in, batch_norm, activation, mid_channels=widths[depth])

        self.upsamplers = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in reversed(range(depth)):
            if layout == "csbdeep":
                up: nn.Module = nn.Upsample(scale_factor=2, mode=upsampling)
            elif upsampling == "transpose":
                up = nn.ConvTranspose2d(c_in, widths[level], 2, stride=2)
                c_in = widths[level]
            else:
                up = nn.Sequential(nn.Upsample(scale_factor=2, mode=upsampling), nn.Conv2d(c_in, widths[level], 1))
                c_in = widths[level]
            self.upsamplers.append(up)
            skip_channels = widths[level] if (level > 0 or top_skip) else 0
            decoder = _double_conv(
                c_in + skip_channels, out_width(level), batch_norm, activation, mid_channels=widths[level]
            )
            self.decoders.append(decoder)
            c_in = out_width(level)
        self.head = nn.Conv2d(c_in, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        # TorchScript-compatible (export.py): plain zips of ModuleLists, skips popped from a list
        padded, (h, w) = pad_to_multiple(x, self.multiple)
        skips: list[Tensor] = []
        out = padded
        for encoder, pool in zip(self.encoders, self.pools):  # noqa: B905 (TorchScript has no strict=)
            out = encoder(out)
            skips.append(out)
            out = pool(out)
        out = self.bottleneck(out)
        for up, decoder in zip(self.upsamplers, self.decoders):  # noqa: B905
            out = up(out)
            skip = skips.pop()  # deepest first; the last one is the full-resolution level's
            if len(skips) > 0 or self.top_skip:
                out = torch.cat([out, skip], dim=1)
            out = decoder(out)
        out = self.head(out)[..., :h, :w]
        return x + out if self.residual else out
