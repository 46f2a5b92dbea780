"""The ZS-N2N fast CPU path: its channels-last pass equals the plain layers, forward and backward."""

import pytest
import torch

from networks.zsn2n import ZSN2NNet
from zero_shot.fast_cpu import channels_last as zsn2n_channels_last
from zero_shot.fast_cpu.channels_last import ChannelsLastZSN2N
from zero_shot.zsn2n import fit


def _output_and_gradients(network, x, upstream, **known):
    x = x.detach().clone().requires_grad_()
    out = network(x, **known)
    leaves = [x, *network.parameters()]
    return out, torch.autograd.grad(out, leaves, upstream), out.grad_fn


@pytest.mark.parametrize("onednn_matmul", [True, False])
@pytest.mark.parametrize("shape", [(1, 3, 30, 22), (2, 1, 9, 16), (1, 3, 5, 64)])
def test_channels_last_pass_equals_the_plain_layers(shape, onednn_matmul, monkeypatch):
    monkeypatch.setattr(zsn2n_channels_last, "ONEDNN_MATMUL", onednn_matmul and zsn2n_channels_last.ONEDNN_MATMUL)
    torch.manual_seed(0)
    plain = ZSN2NNet(shape[1])
    fast = ChannelsLastZSN2N(ZSN2NNet(shape[1]))
    fast.network.load_state_dict(plain.state_dict())
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(shape, generator=generator)
    upstream = torch.randn(shape, generator=generator)
    out, gradients, grad_fn = _output_and_gradients(fast, x, upstream)
    expected, expected_gradients, _ = _output_and_gradients(plain, x, upstream)
    assert "ChannelsLast" in type(grad_fn).__name__  # the fast path ran, not the plain layers
    assert out.is_contiguous() and out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    # input, then conv1/conv2/conv3 weight and bias
    for gradient, reference in zip(gradients, expected_gradients, strict=True):
        assert gradient.shape == reference.shape and gradient.is_contiguous()
        torch.testing.assert_close(gradient, reference, rtol=1e-4, atol=1e-5)
    # the first layer's patches prepared once (as a zero-shot fit does) give the same output and gradients
    prepared = _output_and_gradients(fast, x, upstream, **fast.prepare(x))
    torch.testing.assert_close(prepared[0], out, rtol=0, atol=0)
    for gradient, reference in zip(prepared[1], gradients, strict=True):
        torch.testing.assert_close(gradient, reference, rtol=0, atol=0)


def test_leaky_relu_gradient_from_the_output_follows_pytorch_also_at_zero():
    x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    output = torch.nn.functional.leaky_relu(x, 0.2)
    expected = torch.autograd.grad(output, x, torch.ones(3))[0]  # [0.2, 0.2, 1]: PyTorch's rule at 0
    gradient = zsn2n_channels_last._leaky_relu_gradient(torch.ones(3), output.detach())
    torch.testing.assert_close(gradient, expected)


def test_other_dtypes_and_packed_models_use_the_plain_layers():
    assert not zsn2n_channels_last.applies(torch.zeros(1, 3, 4, 4, dtype=torch.float64))
    network = ChannelsLastZSN2N(ZSN2NNet(3)).double()
    out = network(torch.rand(1, 3, 6, 6, dtype=torch.float64))
    assert out.dtype == torch.float64 and "ChannelsLast" not in type(out.grad_fn).__name__
    with pytest.raises(ValueError, match="one model"):
        ChannelsLastZSN2N(ZSN2NNet(3, models=2))


class _RoundToBFloat16(torch.autograd.Function):
    """Rounds to bfloat16 (kept as float32) forward, and the gradient so backward."""

    @staticmethod
    def forward(ctx, x):
        return x.bfloat16().float()

    @staticmethod
    def backward(ctx, gradient):
        return gradient.bfloat16().float()


class _BFloat16Emulation(torch.nn.Module):
    """The plain layers with the middle convolution's inputs, output and gradients rounded to bfloat16,
    as the bf16 path computes them (float32 accumulation, the bias added in float32)."""

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, x):
        return _bf16_emulation(self.network, x)


def _bf16_emulation(network, x):
    round_ = _RoundToBFloat16.apply
    conv1, conv2, conv3 = network.conv1, network.conv2, network.conv3
    hidden1 = torch.nn.functional.leaky_relu(conv1(x), 0.2)
    middle = torch.nn.functional.conv2d(round_(hidden1), round_(conv2.weight), padding=1)
    hidden2 = torch.nn.functional.leaky_relu(round_(middle) + conv2.bias.view(-1, 1, 1), 0.2)
    return conv3(hidden2)


def test_bf16_pass_equals_the_plain_layers_with_the_middle_convolution_rounded_to_bfloat16():
    torch.manual_seed(0)
    fast = ChannelsLastZSN2N(ZSN2NNet(3), bf16=True)
    full = ChannelsLastZSN2N(ZSN2NNet(3))
    full.load_state_dict(fast.state_dict())
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 24, 20, generator=generator)
    upstream = torch.randn(1, 3, 24, 20, generator=generator)
    out, gradients, grad_fn = _output_and_gradients(fast, x, upstream)
    emulated, emulated_gradients, _ = _output_and_gradients(_BFloat16Emulation(fast.network), x, upstream)
    assert "ChannelsLast" in type(grad_fn).__name__
    assert all(g.dtype == torch.float32 for g in gradients) and out.dtype == torch.float32
    torch.testing.assert_close(out, emulated, rtol=1e-3, atol=1e-4)
    for gradient, reference in zip(gradients, emulated_gradients, strict=True):
        assert gradient.shape == reference.shape and gradient.is_contiguous()
        scale = reference.abs().max().item()
        torch.testing.assert_close(gradient, reference, rtol=1e-2, atol=1e-2 * scale)
    # and it is not float32 in disguise: float32 gives a different output, close to it
    float32_out = full(x)
    assert not torch.equal(out, float32_out)
    torch.testing.assert_close(out, float32_out, rtol=2e-2, atol=2e-2 * float32_out.abs().max().item())


def test_bf16_needs_the_fast_path():
    with pytest.raises(ValueError, match="fast path"):
        fit(torch.rand(3, 8, 8), iterations=1, precision="bf16-mixed", cpu_path="plain", progress=False)
