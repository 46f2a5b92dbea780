"""The Zero-Shot Noise2Noise network's forward and backward pass on a CPU, in channels-last memory.

The same three layers as ``networks.zsn2n.ZSN2NNet`` (conv3x3 C -> 48, LeakyReLU 0.2, conv3x3 48 -> 48,
LeakyReLU 0.2, conv1x1 48 -> C), written as one autograd function so that every tensor stays in one
memory layout, [pixels, channels] (NHWC), from the input to the output gradient:

* the 3x3 convolutions run through oneDNN's channels-last kernels, which use AVX-512 where the CPU has
  it (PyTorch's MKL matrix products do not on AMD CPUs, and its NCHW convolution at batch 1 is slower);
* the 1x1 convolution is a matrix product of the [pixels, 48] activations with the [48, C] weight, and
  the first layer's weight gradient one of its output gradient with the input's 3x3 patches (C * 9
  columns); matrix products go through oneDNN too (``torch.ops.mkldnn._linear_pointwise``), PyTorch's
  ``mm`` where that operator is missing;
* each LeakyReLU is applied in place on its convolution's output and differentiated, in place, from
  that output (the slope is positive, so the output has the sign of the input), so no pre-activation
  is kept.

The outputs and gradients equal the plain layers' up to float32 rounding (tests compare them).

With ``bf16=True`` (mixed precision) the 48 -> 48 convolution, which takes most of the time, runs in
bfloat16: its input, weight and output gradient are rounded to bfloat16, oneDNN accumulates in float32
and rounds its outputs (the activation, the input and weight gradients) to bfloat16 once; the bias, the
other two layers, the loss and the parameters stay float32. CPUs with AVX512_BF16 or AMX compute it
natively (elsewhere oneDNN emulates bfloat16, slowly); the results differ from float32 by bfloat16
rounding (tests compare with the plain layers rounded the same way).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

CHANNELS_LAST = torch.channels_last
NEGATIVE_SLOPE = 0.2
# oneDNN's matrix product, an internal operator of PyTorch's CPU builds (PyTorch's ``mm`` if it is missing)
ONEDNN_MATMUL = hasattr(torch.ops.mkldnn, "_linear_pointwise")


def applies(x: Tensor) -> bool:
    """Whether this path runs for input ``x`` (a 4-d float32 tensor on a CPU with oneDNN)."""
    return x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4 and torch.backends.mkldnn.is_available()


def _leaky_relu_gradient(gradient: Tensor, output: Tensor) -> Tensor:
    """d LeakyReLU from the layer's output, in place: ``gradient`` where the output is positive,
    ``NEGATIVE_SLOPE * gradient`` elsewhere (PyTorch's rule, also at 0)."""
    return torch.ops.aten.leaky_relu_backward.grad_input(gradient, output, NEGATIVE_SLOPE, True, grad_input=gradient)


def _matmul(a: Tensor, b_transposed: Tensor, bias: Tensor | None = None) -> Tensor:
    """``a @ b_transposed.T (+ bias)``; ``b_transposed`` may be a strided view (oneDNN reads it as is)."""
    if ONEDNN_MATMUL:
        return torch.ops.mkldnn._linear_pointwise(a, b_transposed, bias, "none", [], "")
    product = a @ b_transposed.t()
    return product if bias is None else product + bias


def _as_matrix(x: Tensor) -> Tensor:
    """A channels-last [N, C, H, W] tensor as the [N*H*W, C] matrix it is in memory (a view)."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def _as_image(matrix: Tensor, like: Tensor) -> Tensor:
    """The inverse of ``_as_matrix`` for a tensor shaped like ``like`` with ``matrix.shape[1]`` channels."""
    n, _, h, w = like.shape
    return matrix.view(n, h, w, matrix.shape[1]).permute(0, 3, 1, 2)


def _convolution_backward(gradient: Tensor, x: Tensor, weight: Tensor, mask: list[bool]):
    """PyTorch's gradients (input, weight, bias) of a 3x3, padding-1 convolution, those ``mask`` asks for."""
    return torch.ops.aten.convolution_backward(
        gradient, x, weight, [weight.shape[0]], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask
    )


def patches(x: Tensor) -> Tensor:
    """The zero-padded 3x3 patches of x [N, C, H, W]: [N, C * 9, H * W], in the first layer's weight
    order (c, dy, dx). A fit that passes the same input at every iteration can compute them once."""
    return F.unfold(x, 3, padding=1)


def _first_layer_gradients(gradient: Tensor, patches: Tensor, shape: torch.Size) -> tuple[Tensor, Tensor]:
    """The weight and bias gradients of the first 3x3 convolution: its output gradient [N, K, H, W]
    (channels-last) times the input's patches (with C = 1 or 3 input channels this is cheaper than
    PyTorch's convolution weight gradient)."""
    grad_weight = sum(
        _matmul(patches[image], _as_matrix(gradient[image : image + 1]).t()) for image in range(patches.shape[0])
    )  # [C * 9, K]
    return grad_weight.t().contiguous().view(shape), _as_matrix(gradient).sum(0)


class _ZSN2NChannelsLast(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, x_patches, bf16, weight1, bias1, weight2, bias2, weight3, bias3):
        x = x.contiguous()
        weight1 = weight1.contiguous(memory_format=CHANNELS_LAST)
        weight2 = _middle_weight(weight2, bf16)
        x_channels_last = x.contiguous(memory_format=CHANNELS_LAST)
        hidden1 = F.leaky_relu_(F.conv2d(x_channels_last, weight1, bias1, padding=1), NEGATIVE_SLOPE)
        hidden1 = hidden1.to(weight2.dtype)  # bfloat16 for the middle convolution with ``bf16``
        hidden2 = F.conv2d(hidden1, weight2, None if bf16 else bias2, padding=1)
        hidden2 = F.leaky_relu_(hidden2.float().add_(bias2.view(-1, 1, 1)) if bf16 else hidden2, NEGATIVE_SLOPE)
        out = _matmul(_as_matrix(hidden2), weight3.flatten(1), bias3)
        ctx.bf16 = bf16
        ctx.save_for_backward(x, x_patches, weight1, hidden1, weight2, hidden2, weight3)
        return _as_image(out, hidden2).contiguous()

    @staticmethod
    def backward(ctx, gradient):
        x, x_patches, weight1, hidden1, weight2, hidden2, weight3 = ctx.saved_tensors
        x_patches = patches(x) if x_patches is None else x_patches
        gradient = _as_matrix(gradient.contiguous(memory_format=CHANNELS_LAST))  # [pixels, C]
        hidden2_matrix = _as_matrix(hidden2)
        grad_weight3 = _matmul(gradient.t().contiguous(), hidden2_matrix.t()).view(weight3.shape)
        grad_bias3 = gradient.sum(0)
        grad_hidden2 = _leaky_relu_gradient(_matmul(gradient, weight3.flatten(1).t()), hidden2_matrix)
        grad_bias2 = grad_hidden2.sum(0)
        grad_hidden2 = _as_image(grad_hidden2, hidden2).to(weight2.dtype)
        grad_hidden1, grad_weight2, _ = _convolution_backward(grad_hidden2, hidden1, weight2, [True, True, False])
        grad_hidden1 = grad_hidden1.to(torch.float32, memory_format=CHANNELS_LAST)
        grad_hidden1 = _leaky_relu_gradient(grad_hidden1, hidden1.to(torch.float32) if ctx.bf16 else hidden1)
        grad_weight1, grad_bias1 = _first_layer_gradients(grad_hidden1, x_patches, weight1.shape)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = _convolution_backward(grad_hidden1, x, weight1, [True, False, False])[0].contiguous()
        grad_weight2 = grad_weight2.to(torch.float32, memory_format=torch.contiguous_format)
        return grad_x, None, None, grad_weight1, grad_bias1, grad_weight2, grad_bias2, grad_weight3, grad_bias3


def _middle_weight(weight2: Tensor, bf16: bool) -> Tensor:
    """The 48 -> 48 convolution's weight in channels-last memory, in bfloat16 with ``bf16``."""
    return weight2.to(torch.bfloat16 if bf16 else weight2.dtype, memory_format=CHANNELS_LAST)


def zsn2n_channels_last(x: Tensor, weight1, bias1, weight2, bias2, weight3, bias3,
                        x_patches: Tensor | None = None, bf16: bool = False) -> Tensor:  # fmt: skip
    """The network's output f(x), [N, C, H, W] (contiguous), from its six parameters. ``x_patches``, if
    given, must be ``patches(x)``. With ``bf16`` the 48 -> 48 convolution (forward, input and weight
    gradients) runs in bfloat16 with float32 accumulation; everything else stays float32."""
    return _ZSN2NChannelsLast.apply(x, x_patches, bf16, weight1, bias1, weight2, bias2, weight3, bias3)


class ChannelsLastZSN2N(nn.Module):
    """A ``ZSN2NNet``'s layers (the same parameters, shared) run as the channels-last function on a
    CPU; any other input (a GPU tensor, float64) goes through the plain layers."""

    # an output pixel sees the input within this many pixels (two 3x3 convolutions, one 1x1)
    receptive_radius = 2

    def __init__(self, network: nn.Module, bf16: bool = False) -> None:
        super().__init__()
        if network.conv1.groups != 1:
            raise ValueError("the channels-last ZS-N2N pass is for one model: its convolutions have no groups.")
        self.network, self.bf16 = network, bf16

    def prepare(self, x: Tensor) -> dict:
        """What ``forward`` can reuse for an input passed again and again (a zero-shot fit's image):
        give it as ``network(x, **network.prepare(x))``."""
        return {"x_patches": patches(x)} if applies(x) else {}

    def forward(self, x: Tensor, x_patches: Tensor | None = None) -> Tensor:
        if not applies(x):
            return self.network(x)
        layers = (self.network.conv1, self.network.conv2, self.network.conv3)
        parameters = [p for layer in layers for p in (layer.weight, layer.bias)]
        return zsn2n_channels_last(x, *parameters, x_patches=x_patches, bf16=self.bf16)
