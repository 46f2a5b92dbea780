"""Faster CPU convolutions for small networks fitted to one image (the zero-shot methods).

``conv3x3`` is a 3x3 convolution, stride 1, zero padding 1. On a CPU with float32 tensors and NNPACK
(bundled with PyTorch's CPU builds) it runs through NNPACK's Winograd transform, which needs about a
quarter of the multiplications of a direct convolution (``nnp_convolution_algorithm_auto`` picks
F(6x6, 3x3) for 3x3 kernels); oneDNN has no Winograd kernels for AVX2 CPUs. Its gradients:
  * input: the convolution of the output gradient with the kernels flipped in space and with input and
    output channels swapped (the transposed convolution of a stride-1, padding-1 3x3 convolution is
    itself one), so also Winograd;
  * weights and bias: PyTorch's own ``convolution_backward``.
Everywhere else (a GPU, another dtype, NNPACK unavailable) it is ``F.conv2d``. The results equal the
direct convolution up to float32 rounding (Winograd's relative error is about 1e-5 here, see tests).

``conv1x1`` is a 1x1 convolution as a matrix product (``einsum``): PyTorch's CPU path for a 1x1
kernel at batch 1 is its slow reference convolution (48 -> 3 channels on 132x256, forward and backward:
9.2 ms against 3.3 ms).

On this project's 2-core CPU, one thread, 48 -> 48 channels on 132x256: forward 29.7 ms direct against
11.1 ms here, input gradient 28.2 ms against 11.1 ms (``benchmarks/zsn2n_cbsd68.py`` measures the fit).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor


@functools.cache
def nnpack_available() -> bool:
    # also initialises NNPACK: calling its convolution before this fails
    return torch._nnpack_available()


# below this many input channels the Winograd transforms cost more than they save (3 -> 48 channels on
# a 2-core CPU: one zero-shot iteration 100 ms with a direct first layer, 111-117 ms with Winograd)
WINOGRAD_MIN_INPUT_CHANNELS = 16


def winograd_applies(x: Tensor, weight: Tensor) -> bool:
    return (
        x.device.type == "cpu"
        and x.shape[1] >= WINOGRAD_MIN_INPUT_CHANNELS
        and x.dtype == weight.dtype == torch.float32
        and x.dim() == 4
        and weight.shape[2:] == (3, 3)
        and weight.shape[1] == x.shape[1]  # no groups
        and nnpack_available()
    )


def _nnpack(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    return torch._nnpack_spatial_convolution(x.contiguous(), weight.contiguous(), bias.contiguous(), [1, 1])


class _WinogradConv3x3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        ctx.save_for_backward(x, weight)
        return _nnpack(x, weight, bias)

    @staticmethod
    def backward(ctx, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        grad_output = grad_output.contiguous()
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            transposed = weight.flip(2, 3).transpose(0, 1)
            grad_x = _nnpack(grad_output, transposed, weight.new_zeros(weight.shape[1]))
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            _, grad_weight, grad_bias = torch.ops.aten.convolution_backward(
                grad_output, x, weight, [weight.shape[0]], [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                [False, ctx.needs_input_grad[1], ctx.needs_input_grad[2]],
            )  # fmt: skip
        return grad_x, grad_weight, grad_bias


def conv3x3(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``F.conv2d(x, weight, bias, padding=1)`` for [N, C, H, W] input and [K, C, 3, 3] weight."""
    if winograd_applies(x, weight):
        return _WinogradConv3x3.apply(x, weight, bias)
    return F.conv2d(x, weight, bias, padding=1)


def conv1x1(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``F.conv2d(x, weight, bias)`` for a [K, C, 1, 1] weight (no groups)."""
    return torch.einsum("kc,nchw->nkhw", weight.flatten(1), x) + bias.view(1, -1, 1, 1)
