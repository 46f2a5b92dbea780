"""The CPU convolutions of the zero-shot networks equal PyTorch's own, forward and backward."""

import pytest
import torch
import torch.nn.functional as F

from networks.cpu_convolution import conv1x1, conv3x3, nnpack_available, winograd_applies
from networks.zsn2n import ZSN2NNet


def _outputs_and_gradients(convolution, x, weight, bias):
    leaves = [t.detach().clone().requires_grad_() for t in (x, weight, bias)]
    out = convolution(*leaves)
    upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    return out, torch.autograd.grad(out, leaves, upstream), out.grad_fn


@pytest.mark.skipif(not nnpack_available(), reason="this CPU has no NNPACK")
@pytest.mark.parametrize("shape", [(1, 48, 33, 27), (2, 16, 8, 9), (1, 24, 5, 64)])
def test_winograd_conv3x3_equals_the_direct_convolution_and_its_gradients(shape):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=generator)
    weight = 0.1 * torch.randn(40, shape[1], 3, 3, generator=generator)
    bias = torch.randn(40, generator=generator)
    assert winograd_applies(x, weight)
    out, gradients, grad_fn = _outputs_and_gradients(conv3x3, x, weight, bias)
    expected, expected_gradients, _ = _outputs_and_gradients(lambda *a: F.conv2d(*a, padding=1), x, weight, bias)
    assert "Winograd" in type(grad_fn).__name__  # the NNPACK path ran, not the fallback
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    for gradient, reference in zip(gradients, expected_gradients, strict=True):
        torch.testing.assert_close(gradient, reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "x, weight",
    [(torch.randn(1, 3, 9, 9), torch.randn(8, 3, 3, 3)),  # few input channels: direct
     (torch.randn(1, 32, 9, 9).double(), torch.randn(8, 32, 3, 3).double())],  # float64: direct
)  # fmt: skip
def test_conv3x3_falls_back_to_the_direct_convolution(x, weight):
    assert not winograd_applies(x, weight)
    bias = torch.zeros(8, dtype=x.dtype)
    torch.testing.assert_close(conv3x3(x, weight, bias), F.conv2d(x, weight, bias, padding=1))


def test_conv1x1_equals_the_direct_convolution_and_its_gradients():
    generator = torch.Generator().manual_seed(2)
    x, weight, bias = (torch.randn(s, generator=generator) for s in [(2, 48, 7, 5), (3, 48, 1, 1), (3,)])
    out, gradients, _ = _outputs_and_gradients(conv1x1, x, weight, bias)
    expected, expected_gradients, _ = _outputs_and_gradients(F.conv2d, x, weight, bias)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    for gradient, reference in zip(gradients, expected_gradients, strict=True):
        torch.testing.assert_close(gradient, reference, rtol=1e-5, atol=1e-5)


def test_fast_cpu_zsn2n_network_equals_the_plain_one():
    torch.manual_seed(0)
    plain = ZSN2NNet(3)
    fast = ZSN2NNet(3, fast_cpu=True)
    fast.load_state_dict(plain.state_dict())
    x = torch.rand(1, 3, 30, 22)
    torch.testing.assert_close(fast(x), plain(x), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="one model"):
        ZSN2NNet(3, models=2, fast_cpu=True)
