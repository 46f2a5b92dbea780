"""R2R's statistical properties: independence of input and target noise, unbiasedness of the loss,
per-pixel variance of signal-dependent recorruption."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.recorruption import recorrupt, signal_dependent_std
from lightning_modules import R2R
from networks import DnCNN, UNet
from noise.estimation import estimate_heteroscedastic

SIGMA, ALPHA = 0.1, 0.5


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _noise_pair(target_sign=-1.0, target_scale=None, n=200_000, seed=0):
    """Input and target noise of R2R (or a deliberately wrong target) for a clean image of zeros."""
    g = _gen(seed)
    clean = torch.zeros(1, 1, 1, n)
    noisy = clean + SIGMA * torch.randn(clean.shape, generator=g)
    model_input, target = recorrupt(noisy, SIGMA, ALPHA, g)
    if target_scale is not None or target_sign != -1.0:  # rebuild the target wrongly from the same z
        z = (model_input - noisy) / (ALPHA * SIGMA)
        target = noisy + target_sign * SIGMA * z * (target_scale if target_scale is not None else 1 / ALPHA)
    return (model_input - clean).flatten(), (target - clean).flatten()


def _correlation(a, b):
    return float(np.corrcoef(a.numpy(), b.numpy())[0, 1])


def test_input_and_target_noise_are_uncorrelated():
    bound = 4 / np.sqrt(200_000)  # four standard errors of a sample correlation
    assert abs(_correlation(*_noise_pair())) < bound


@pytest.mark.parametrize("wrong", [{"target_sign": +1.0}, {"target_scale": ALPHA}, {"target_scale": 1.0}])
def test_wrong_sign_or_scale_makes_them_correlated(wrong):
    assert abs(_correlation(*_noise_pair(**wrong))) > 0.1


def test_noise_levels_of_input_and_target():
    n_in, n_target = _noise_pair()
    assert n_in.var().item() == pytest.approx(SIGMA**2 * (1 + ALPHA**2), rel=0.02)
    assert n_target.var().item() == pytest.approx(SIGMA**2 * (1 + 1 / ALPHA**2), rel=0.02)


def test_r2r_loss_equals_supervised_loss_on_the_input_plus_a_constant():
    """E||f(y_hat) - y_tilde||^2 = E||f(y_hat) - x||^2 + sigma^2 (1 + 1/alpha^2) for a fixed f."""
    g = _gen(1)
    clean = F.avg_pool2d(torch.rand(1, 1, 64, 64, generator=g), 3, 1, 1)
    smooth = torch.full((1, 1, 5, 5), 1 / 25)
    f = lambda y: F.conv2d(y, smooth, padding=2)  # noqa: E731  a fixed, non-trivial denoiser
    r2r, supervised = [], []
    for _ in range(400):
        noisy = clean + SIGMA * torch.randn(clean.shape, generator=g)
        model_input, target = recorrupt(noisy, SIGMA, ALPHA, g)
        r2r.append(F.mse_loss(f(model_input), target).item())
        supervised.append(F.mse_loss(f(model_input), clean).item())
    constant = SIGMA**2 * (1 + 1 / ALPHA**2)
    assert np.mean(r2r) == pytest.approx(np.mean(supervised) + constant, rel=0.01)
    assert np.mean(supervised) > 0.05 * constant  # the check is not dominated by the constant alone


def test_heteroscedastic_recorruption_has_the_requested_variance_per_pixel():
    g = _gen(2)
    noisy = torch.linspace(0.05, 0.95, 10).reshape(1, 1, 1, 10).expand(20_000, 1, 1, 10).contiguous()
    beta1, beta2 = 0.02, 0.001
    std = signal_dependent_std(noisy, beta1, beta2)
    model_input, target = recorrupt(noisy, std, ALPHA, g)
    expected = beta1 * noisy[0].flatten() + beta2
    measured_input = (model_input - noisy).var(dim=0).flatten()
    measured_target = (target - noisy).var(dim=0).flatten()
    torch.testing.assert_close(measured_input, ALPHA**2 * expected, rtol=0.04, atol=0)
    torch.testing.assert_close(measured_target, expected / ALPHA**2, rtol=0.04, atol=0)


def test_heteroscedastic_estimate_recovers_poisson_gaussian_parameters():
    g = _gen(3)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 256), torch.linspace(0, 1, 256), indexing="ij")
    clean = (0.1 + 0.8 * (0.5 + 0.5 * torch.sin(3 * xx) * torch.cos(2 * yy)))[None]
    lam, sigma = 40.0, 0.03
    noisy = torch.poisson(clean * lam, generator=g) / lam + sigma * torch.randn(clean.shape, generator=g)
    beta1, beta2 = estimate_heteroscedastic(noisy)
    assert beta1 == pytest.approx(1 / lam, rel=0.2)
    assert beta2 == pytest.approx(sigma**2, rel=0.35)


def test_module_noise_level_comes_from_config_or_batch():
    noisy = torch.rand(2, 1, 8, 8)
    batch = {"noisy": noisy, "sigma": torch.tensor([0.1, 0.2])}
    from_batch = R2R(UNet(depth=1, width=4)).noise_std(noisy, batch)
    assert from_batch.flatten().tolist() == pytest.approx([0.1, 0.2])
    assert R2R(UNet(depth=1, width=4), sigma=25).noise_std(noisy, batch).flatten().tolist() == pytest.approx(
        [25 / 255] * 2
    )
    poisson = R2R(UNet(depth=1, width=4), noise="poisson", lam=30).noise_std(noisy)
    torch.testing.assert_close(poisson, (noisy / 30).sqrt())
    with pytest.raises(KeyError, match="needs the noise parameter 'sigma'"):
        R2R(UNet(depth=1, width=4)).noise_std(noisy, {"noisy": noisy})


def test_monte_carlo_inference_averages_recorrupted_passes():
    net = DnCNN(depth=3, width=4, batch_norm=False)
    model = R2R(net, sigma=25, mc_samples=7).eval()
    noisy = torch.rand(1, 1, 12, 12)
    with torch.no_grad():
        mc = model.denoise(noisy, _gen(5))
        g = _gen(5)
        manual = sum(net(recorrupt(noisy, 25 / 255, 0.5, g)[0]) for _ in range(7)) / 7
        torch.testing.assert_close(mc, manual)
        single = R2R(net, sigma=25, inference="single").denoise(noisy)
    torch.testing.assert_close(single, net(noisy))
