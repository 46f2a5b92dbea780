import pytest
import torch

from noise import Gaussian, Poisson, PoissonGaussian


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gaussian_has_the_requested_standard_deviation_and_reports_it():
    clean = torch.full((1, 256, 256), 0.5)
    noisy, params = Gaussian(sigma=25).sample(clean, _gen())
    assert params["sigma"].item() == pytest.approx(25 / 255)
    assert (noisy - clean).std().item() == pytest.approx(25 / 255, rel=0.02)
    assert (noisy - clean).mean().abs().item() < 1e-3
    dark, _ = Gaussian(sigma=25).sample(torch.full((1, 64, 64), 0.01), _gen())
    assert dark.min() < 0  # not clipped by default


def test_noise_is_reproducible_from_the_generator_and_differs_across_seeds():
    clean = torch.rand(3, 16, 16)
    a, _ = Gaussian(sigma=10).sample(clean, _gen(1))
    b, _ = Gaussian(sigma=10).sample(clean, _gen(1))
    c, _ = Gaussian(sigma=10).sample(clean, _gen(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_sigma_range_draws_per_image_and_fixed_params_are_reused():
    model = Gaussian(sigma=(5, 50))
    clean = torch.zeros(1, 64, 64)
    sigmas = [model.sample(clean, _gen(s))[1]["sigma"].item() * 255 for s in range(50)]
    assert 5 <= min(sigmas) < 15 and 40 < max(sigmas) <= 50
    _, params = model.sample(clean, _gen(0))
    noisy2, params2 = model.sample(clean, _gen(9), params=params)
    assert params2["sigma"] == params["sigma"]
    assert noisy2.std().item() == pytest.approx(params["sigma"].item(), rel=0.05)


def test_poisson_mean_and_variance():
    clean = torch.full((1, 300, 300), 0.4)
    noisy, params = Poisson(lam=30).sample(clean, _gen())
    assert params["lam"].item() == 30
    assert noisy.mean().item() == pytest.approx(0.4, rel=0.01)
    assert noisy.var().item() == pytest.approx(0.4 / 30, rel=0.03)


def test_poisson_gaussian_variance_adds_shot_and_read_noise():
    clean = torch.full((1, 300, 300), 0.6)
    noisy, params = PoissonGaussian(lam=20, sigma=15).sample(clean, _gen())
    assert set(params) == {"lam", "sigma"}
    assert noisy.var().item() == pytest.approx(0.6 / 20 + (15 / 255) ** 2, rel=0.03)


def test_clip_option_and_bad_parameters():
    noisy, _ = Gaussian(sigma=50, clip=True).sample(torch.rand(1, 32, 32), _gen())
    assert noisy.min() >= 0 and noisy.max() <= 1
    with pytest.raises(ValueError, match="sigma"):
        Gaussian(sigma=-1)
    with pytest.raises(ValueError, match="lam"):
        Poisson(lam=(30, 10))
