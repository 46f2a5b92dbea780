"""The blind-spot U-Net of Laine, Karras, Lehtinen, Aila, "High-Quality Self-Supervised Deep Image
Denoising" (NeurIPS 2019), as in NVlabs/selfsupervised-denoising.

Receptive field restricted to one half-plane: every convolution pads the top by k // 2 and crops as
much off the bottom, so an output row sees only rows at or above it; max-pooling is preceded by a
one-row shift down; a final one-row shift makes the field *strictly* above the pixel. The input is
rotated by 0, 90, 180 and 270 degrees (stacked on the batch axis), the four half-plane branches are
counter-rotated and concatenated (4 x 96 = 384 channels), and 1x1 convolutions (384 -> 384 -> 96 ->
out) mix them: together the four half-planes cover every pixel but the centre, so output pixel p
never depends on input pixel p. ``blindspot=False`` keeps everything but the shifts: the non-blind
baseline with the same capacity.

Encoder: ``depth`` (5) poolings at ``width`` (48) channels; decoder: nearest upsampling, skip
concatenation, two convolutions at ``decoder_width`` (96); the last decoder stage concatenates the
(rotated) input. LeakyReLU 0.1 everywhere but the last layer. Inputs are zero-padded to a multiple of
2^depth (reflect padding could copy a pixel into its own receptive field) and cropped back.

Initialisation as the official code: every weight drawn from N(0, gain^2 / fan_in) (He et al. 2015)
with gain sqrt(2) for the layers followed by a LeakyReLU and gain 1 for the output layer, every bias
zero. PyTorch's default (uniform, ~2.4x narrower) leaves the deep decoder starting near zero and, at
short training, lets its activations grow with the input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def shift_down(x: Tensor, rows: int = 1) -> Tensor:
    """Move the content ``rows`` rows down: pad the top, crop the bottom."""
    return F.pad(x, [0, 0, rows, 0])[..., : x.shape[-2], :]


class ShiftedConv2d(nn.Conv2d):
    """A 'same' convolution whose output at row r sees input rows <= r only (when ``blindspot``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, blindspot: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.shift = kernel_size // 2 if blindspot else 0

    def forward(self, x: Tensor) -> Tensor:
        if self.shift:  # pad the top, convolve 'same', crop the bottom: rows <= r reach row r
            shifted = self._conv_forward(F.pad(x, [0, 0, self.shift, 0]), self.weight, self.bias)
            return shifted[..., : x.shape[-2], :]
        return self._conv_forward(x, self.weight, self.bias)


class BlindSpotUNet(nn.Module):
    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        width: int = 48,
        decoder_width: int = 96,
        depth: int = 5,
        blindspot: bool = True,
    ) -> None:
        super().__init__()
        self.depth = depth
        self.multiple = 2**depth
        self.blindspot = blindspot

        def conv(c_in: int, c_out: int, k: int = 3) -> ShiftedConv2d:
            return ShiftedConv2d(c_in, c_out, k, blindspot)

        self.encoder_in = nn.ModuleList([conv(in_channels, width), conv(width, width)])  # enc_conv0, enc_conv1
        self.encoders = nn.ModuleList([conv(width, width) for _ in range(depth - 1)])  # enc_conv2..5
        self.bottleneck = conv(width, width)  # enc_conv6
        self.decoders = nn.ModuleList()
        for level in range(depth):  # dec_conv5 ... dec_conv1, deepest first
            skip = in_channels if level == depth - 1 else width
            first_in = (width if level == 0 else decoder_width) + skip
            self.decoders.append(nn.ModuleList([conv(first_in, decoder_width), conv(decoder_width, decoder_width)]))
        self.mix = nn.ModuleList(
            [nn.Conv2d(4 * decoder_width, 4 * decoder_width, 1), nn.Conv2d(4 * decoder_width, decoder_width, 1)]
        )
        self.head = nn.Conv2d(decoder_width, out_channels, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-normal weights (gain sqrt(2); 1 for the head) and zero biases, as the official code."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                gain = 1.0 if module is self.head else 2.0**0.5
                fan_in = module.weight[0].numel()
                nn.init.normal_(module.weight, 0.0, gain / fan_in**0.5)
                nn.init.zeros_(module.bias)

    def _pool(self, x: Tensor) -> Tensor:
        return F.max_pool2d(shift_down(x) if self.blindspot else x, 2)

    def _half_plane(self, x: Tensor) -> Tensor:
        skips = [x]
        n = x
        for layer in self.encoder_in:
            n = F.leaky_relu(layer(n), 0.1)
        n = self._pool(n)
        skips.append(n)
        for layer in self.encoders:
            n = self._pool(F.leaky_relu(layer(n), 0.1))
            skips.append(n)
        n = F.leaky_relu(self.bottleneck(n), 0.1)
        skips.pop()  # the deepest pooled map is the bottleneck's input, not a skip
        for convolutions in self.decoders:  # (first, second); indexed, as TorchScript needs (export.py)
            n = torch.cat([F.interpolate(n, scale_factor=2.0, mode="nearest"), skips.pop()], dim=1)
            n = F.leaky_relu(convolutions[1](F.leaky_relu(convolutions[0](n), 0.1)), 0.1)
        return shift_down(n) if self.blindspot else n

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        side = max(height, width)
        side += (-side) % self.multiple  # square, so the 90-degree rotations stack on the batch axis
        x = F.pad(x, [0, side - width, 0, side - height])
        rotated = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(4)], dim=0)
        # [rotation, batch, ...]: unflatten, not split(batch), keeps an exported graph's batch size free
        branches = self._half_plane(rotated).unflatten(0, (4, -1))
        n = torch.cat([torch.rot90(branches[k], -k, dims=(2, 3)) for k in range(4)], dim=1)
        for layer in self.mix:
            n = F.leaky_relu(layer(n), 0.1)
        return self.head(n)[..., :height, :width]
