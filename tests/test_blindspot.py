"""Laine et al. 2019: the blind spot (autograd), the posterior mean, the likelihood, the module."""

import math
from pathlib import Path

import pytest
import torch
from jsonargparse import ArgumentParser

from config_stack import stacked_content
from core.bayesian import gaussian_nll, isotropic, posterior_mean, prior_channels, split_prior
from lightning_modules import BlindSpot
from lightning_modules.schedules import ramped_cosine_factor
from networks import BlindSpotUNet, NoiseLevelNet

REPO = Path(__file__).resolve().parents[1]
BLINDSPOT_CONFIGS = sorted(p for p in (REPO / "configs" / "experiments").rglob("laine_*.yaml"))


def _gradient(net, image, pixel, channel=0):
    image = image.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(image)[(0, channel, *pixel)], image)
    return grad[0]  # [C, H, W]


def _assert_blind_spot(net, channels: int, size: int = 32):
    image = torch.rand(1, channels, size, size, generator=torch.Generator().manual_seed(0))
    for r, c in [(5, 6), (0, 0), (size - 1, size - 1), (size // 2, 3)]:
        for out_channel in range(channels):
            grad = _gradient(net, image, (r, c), out_channel)
            assert torch.all(grad[:, r, c] == 0), f"output ({out_channel}, {r}, {c}) sees its own input pixel"
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                if 0 <= r + dr < size and 0 <= c + dc < size:
                    assert grad[:, r + dr, c + dc].abs().sum() > 0, f"({r},{c}) blind to neighbour {(dr, dc)}"


def test_gray_output_ignores_its_own_pixel_and_sees_all_four_neighbours():
    _assert_blind_spot(BlindSpotUNet(1, 2, width=8, decoder_width=8).eval(), channels=1)


def test_rgb_output_ignores_every_channel_of_its_own_pixel():
    _assert_blind_spot(BlindSpotUNet(3, 9, width=8, decoder_width=8).eval(), channels=3)


def test_non_blind_baseline_does_see_its_pixel():
    net = BlindSpotUNet(1, 2, width=8, decoder_width=8, blindspot=False).eval()
    grad = _gradient(net, torch.rand(1, 1, 32, 32), (5, 6))
    assert grad[0, 5, 6] != 0


def test_any_input_size_comes_back_unchanged():
    net = BlindSpotUNet(3, 9, width=8, decoder_width=8, depth=3)
    assert net(torch.rand(2, 3, 21, 37)).shape == (2, 9, 21, 37)


def test_blindspot_unet_starts_from_the_official_he_initialisation():
    torch.manual_seed(0)
    net = BlindSpotUNet(1, 2)
    for layer in [*net.encoder_in, *net.encoders, net.bottleneck, *net.mix]:
        fan_in = layer.weight[0].numel()
        assert layer.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.1)
        assert torch.all(layer.bias == 0)
    head_fan_in = net.head.weight[0].numel()
    assert net.head.weight.std().item() == pytest.approx(math.sqrt(1 / head_fan_in), rel=0.2)
    # normal, not PyTorch's uniform default: a uniform draw never exceeds sqrt(3) of its std
    big = net.mix[0].weight
    assert big.abs().max().item() > 2.5 * big.std().item()


@pytest.mark.parametrize("config", BLINDSPOT_CONFIGS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_shipped_blind_spot_config_builds_a_blind_network(config: Path):
    """The network exactly as a shipped config builds it (narrowed for speed) has the blind spot."""
    network = stacked_content(config)["model"]["init_args"]["network"]
    parser = ArgumentParser()
    parser.add_argument("--network", type=torch.nn.Module)
    init = {**network["init_args"], "width": 8, "decoder_width": 8}
    net = parser.instantiate_classes(parser.parse_object({"network": {**network, "init_args": init}})).network
    assert net.blindspot
    channels = network["init_args"]["in_channels"]
    _assert_blind_spot(net.eval(), channels=channels)
    # an independent check without autograd: changing the pixel leaves its own output unchanged
    image = torch.rand(1, channels, 32, 32, generator=torch.Generator().manual_seed(3))
    changed = image.clone()
    changed[0, :, 10, 20] += 10.0
    with torch.no_grad():
        before, after = net(image), net(changed)
    assert torch.equal(before[0, :, 10, 20], after[0, :, 10, 20])
    assert not torch.equal(before[0, :, 11, 20], after[0, :, 11, 20])


def test_posterior_mean_matches_brute_force_integration():
    mu, var_x, var_n, y = 0.3, 0.04, 0.01, 0.55
    x = torch.linspace(-2, 3, 200001, dtype=torch.float64)
    weights = torch.exp(-((x - mu) ** 2) / (2 * var_x) - ((y - x) ** 2) / (2 * var_n))
    brute = float((x * weights).sum() / weights.sum())
    closed = posterior_mean(
        torch.tensor([[[[y]]]], dtype=torch.float64),
        torch.tensor([[[[mu]]]], dtype=torch.float64),
        torch.tensor(var_x, dtype=torch.float64).reshape(1, 1, 1, 1, 1),
        isotropic(torch.tensor(var_n, dtype=torch.float64), 1),
        eps=0.0,
    ).item()
    assert closed == pytest.approx(brute, abs=1e-7)
    assert closed == pytest.approx((y * var_x + mu * var_n) / (var_x + var_n), abs=1e-12)


def test_rgb_nll_equals_multivariate_normal_log_prob():
    g = torch.Generator().manual_seed(0)
    output = torch.randn(2, 9, 4, 5, generator=g, dtype=torch.float64)
    mean, prior_cov = split_prior(output, 3, "full")
    noise_cov = isotropic(torch.tensor([0.01, 0.04], dtype=torch.float64), 3)
    y = torch.rand(2, 3, 4, 5, generator=g, dtype=torch.float64)
    ours = gaussian_nll(y, mean, prior_cov + noise_cov, eps=0.0)
    dist = torch.distributions.MultivariateNormal(mean.permute(0, 2, 3, 1), covariance_matrix=prior_cov + noise_cov)
    torch.testing.assert_close(ours, -dist.log_prob(y.permute(0, 2, 3, 1)))
    # the full prior really is a full covariance: off-diagonal terms are non-zero
    assert prior_cov[0, 0, 0, 0, 1].abs() > 0
    assert prior_channels(3, "full") == 9 and prior_channels(3, "diagonal") == 6 and prior_channels(1) == 2


def test_posterior_mean_rgb_equals_the_precision_weighted_form():
    g = torch.Generator().manual_seed(1)
    mean, prior_cov = split_prior(torch.randn(1, 9, 2, 2, generator=g, dtype=torch.float64), 3)
    noise_cov = isotropic(torch.tensor(0.02, dtype=torch.float64), 3).expand(1, 2, 2, 3, 3)
    y = torch.rand(1, 3, 2, 2, generator=g, dtype=torch.float64)
    ours = posterior_mean(y, mean, prior_cov, noise_cov, eps=0.0)
    precision = torch.linalg.inv(prior_cov) + torch.linalg.inv(noise_cov)
    rhs = (
        torch.linalg.inv(prior_cov) @ mean.permute(0, 2, 3, 1)[..., None]
        + torch.linalg.inv(noise_cov) @ y.permute(0, 2, 3, 1)[..., None]
    )
    expected = torch.linalg.solve(precision, rhs).squeeze(-1).permute(0, 3, 1, 2)
    torch.testing.assert_close(ours, expected)


@pytest.mark.parametrize("noise_level", ["global", "per_image"])
def test_a_learned_noise_level_is_updated_by_the_optimizer(noise_level):
    # the method's own parameters (one global sigma, or a sigma network) train with the network's
    extra = {"sigma_network": NoiseLevelNet(1, width=4)} if noise_level == "per_image" else {}
    model = BlindSpot(
        BlindSpotUNet(1, 2, width=8, decoder_width=8, depth=2), noise_level=noise_level, sigma=20, **extra
    )
    learned = [model.log_noise_param] if noise_level == "global" else list(model.sigma_network.parameters())
    optimizer = model.configure_optimizers()
    optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert {id(p) for p in [*model.network.parameters(), *learned]} == optimized
    before = [p.detach().clone() for p in learned]
    noisy = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    for _ in range(3):
        optimizer.zero_grad()
        model.training_loss({"noisy": noisy}).backward()
        optimizer.step()
    assert all(not torch.equal(old, new) for old, new in zip(before, learned, strict=True))


def test_module_noise_options_and_channel_check():
    net = BlindSpotUNet(1, 2, width=8, decoder_width=8, depth=2)
    noisy = torch.rand(2, 1, 16, 16)
    batch = {"noisy": noisy, "sigma": torch.tensor([0.1, 0.2])}
    known = BlindSpot(net)
    assert torch.isfinite(known.training_loss(batch))
    learned = BlindSpot(net, noise_level="global", sigma=20)
    assert learned.log_noise_param.requires_grad
    learned.training_loss({"noisy": noisy}).backward()
    assert learned.log_noise_param.grad is not None
    per_image = BlindSpot(net, noise_level="per_image", sigma_network=NoiseLevelNet(1, width=4))
    assert torch.isfinite(per_image.training_loss({"noisy": noisy}))
    poisson = BlindSpot(net, noise="poisson", lam=30)
    assert poisson.denoise(noisy).shape == noisy.shape
    with pytest.raises(ValueError, match="needs 9"):
        BlindSpot(BlindSpotUNet(3, 2, width=8, decoder_width=8, depth=2)).training_loss(
            {"noisy": torch.rand(1, 3, 8, 8)}
        )
    with pytest.raises(KeyError, match="needs the noise parameter 'sigma'"):
        known.training_loss({"noisy": noisy})


def test_ramped_cosine_schedule():
    total = 1000
    assert ramped_cosine_factor(0, total) == 0.0
    assert ramped_cosine_factor(50, total) == pytest.approx(0.5)
    assert ramped_cosine_factor(100, total) == pytest.approx(1.0)
    assert ramped_cosine_factor(500, total) == 1.0
    assert ramped_cosine_factor(850, total) == pytest.approx(0.25)  # ((1 + cos(pi/2)) / 2)^2
    assert ramped_cosine_factor(1000, total) == pytest.approx(0.0, abs=1e-12)
    assert math.isclose(ramped_cosine_factor(700, total), 1.0)
