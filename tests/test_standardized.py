"""networks.Standardized: the affine map around a network, its statistics (measured on the first training
step of a method, kept by checkpoints), and that it keeps a blind spot blind."""

import pytest
import torch
from torch import nn

from lightning_modules import Noise2Void
from networks import BlindSpotUNet, Standardized, UNet
from networks.standardized import measure_unset


class Doubler(nn.Module):
    def forward(self, x):
        return 2 * x


def test_given_statistics_wrap_the_network_in_the_affine_map():
    net = Standardized(Doubler(), channels=2, mean=[0.5, 0.25], std=0.1)
    x = torch.rand(3, 2, 8, 8)
    mean = torch.tensor([0.5, 0.25]).reshape(1, 2, 1, 1)
    assert torch.allclose(net(x), 2 * (x - mean) / 0.1 * 0.1 + mean)
    assert Standardized(UNet(3, 3, depth=1, width=4)).mean.shape == (1, 3, 1, 1)  # channels from the network


def test_unset_statistics_are_measured_once_and_kept_by_the_state_dict():
    torch.manual_seed(0)
    net = nn.Sequential(Standardized(nn.Identity(), channels=1))
    first = 0.3 + 0.2 * torch.randn(4, 1, 16, 16)
    measure_unset(net, first)
    measure_unset(net, torch.rand(4, 1, 16, 16) + 5)  # measured already: nothing changes
    assert net[0].mean.item() == pytest.approx(first.mean().item(), abs=1e-6)
    assert net[0].std.item() == pytest.approx(first.std().item(), rel=1e-5)
    assert torch.allclose(net(first), first, atol=1e-6)
    restored = nn.Sequential(Standardized(nn.Identity(), channels=1))
    restored.load_state_dict(net.state_dict())
    assert bool(restored[0].measured) and torch.equal(restored[0].std, net[0].std)
    given = nn.Sequential(Standardized(nn.Identity(), mean=0.1, std=0.2))
    measure_unset(given, first)
    assert given[0].mean.item() == pytest.approx(0.1)


def test_a_method_measures_on_its_first_training_step():
    model = Noise2Void(Standardized(UNet(1, 1, depth=1, width=4)))
    noisy = 0.7 + 0.05 * torch.randn(2, 1, 16, 16)
    model.training_step({"noisy": noisy}, 0)
    assert model.network.mean.item() == pytest.approx(noisy.mean().item(), abs=1e-5)


def test_bad_statistics_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="both mean and std"):
        Standardized(nn.Identity(), mean=0.5)
    with pytest.raises(ValueError, match="one per channel"):
        Standardized(nn.Identity(), channels=3, mean=[0.1, 0.2], std=[1, 1, 1])
    with pytest.raises(ValueError, match="std must be positive"):
        Standardized(nn.Identity(), mean=0.1, std=0.0)


def test_a_standardized_blind_spot_network_still_never_sees_its_own_pixel():
    net = Standardized(BlindSpotUNet(1, 1, width=8, decoder_width=8, depth=3), mean=0.4, std=0.2).eval()
    image = torch.rand(1, 1, 16, 16, requires_grad=True)
    (grad,) = torch.autograd.grad(net(image)[0, 0, 7, 9], image)
    assert grad[0, 0, 7, 9] == 0 and grad[0, 0, 6, 9] != 0 and grad[0, 0, 7, 8] != 0


def test_a_standardized_network_exports_to_torchscript_and_onnx(tmp_path):
    from networks.export import export_onnx, export_torchscript, onnx_output

    net = Standardized(UNet(1, 1, depth=2, width=8), mean=0.4, std=0.2).eval()
    export_torchscript(net, tmp_path / "net.pt")
    export_onnx(net, tmp_path / "net.onnx", 1)
    x = torch.rand(1, 1, 37, 45)
    assert torch.allclose(torch.jit.load(str(tmp_path / "net.pt"))(x), net(x), atol=1e-5)
    assert torch.allclose(onnx_output(tmp_path / "net.onnx", x), net(x), atol=1e-4)
