"""Noise-level estimation (Chen, Zhu, Heng 2015) on synthetic and on real BSD68 images."""

import pytest
import torch
import torch.nn.functional as F

from datamodules import BSD
from noise.estimation import estimate_sigma
from tests.conftest import SHARED_DATA, smooth_image


@pytest.mark.parametrize("sigma", [5, 15, 25, 50])
def test_estimate_recovers_sigma_on_a_smooth_image(sigma):
    import numpy as np

    clean = torch.from_numpy(smooth_image(np.random.default_rng(0), 256, 256) / 255.0)[None].float()
    noisy = clean + sigma / 255 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(sigma))
    assert estimate_sigma(noisy) * 255 == pytest.approx(sigma, rel=0.1)


def test_estimate_is_in_the_image_scale_and_handles_colour():
    noisy = 0.5 + 0.2 * torch.randn(3, 256, 256, generator=torch.Generator().manual_seed(1))
    assert estimate_sigma(noisy) == pytest.approx(0.2, rel=0.1)
    assert estimate_sigma(noisy * 255) == pytest.approx(0.2 * 255, rel=0.1)


def _half_textured(sigma: float, seed: int = 0) -> torch.Tensor:
    """Left half a fine random texture (a fixed, slightly blurred random field: broad spectrum, so it
    spreads over many patch eigenvalues), right half a smooth ramp, plus noise (8-bit sigma)."""
    generator = torch.Generator().manual_seed(seed)
    field = torch.randn(1, 1, 128, 256, generator=generator, dtype=torch.float64)
    blur = torch.tensor([0.1, 0.8, 0.1], dtype=torch.float64)
    texture = 0.5 + 0.1 * F.conv2d(field, (blur[:, None] * blur[None, :])[None, None], padding=1)[0, 0]
    yy, xx = torch.meshgrid(torch.arange(128.0), torch.arange(256.0), indexing="ij")
    smooth = 0.3 + 0.4 * xx / 255
    clean = torch.where(xx < 128, texture, smooth.double())[None]
    return clean + sigma / 255 * torch.randn(clean.shape, generator=generator, dtype=torch.float64)


def test_weak_texture_selection_ignores_fine_texture():
    """Fine texture spreads over the small eigenvalues and reads as noise when every patch is used;
    selecting weak-textured patches (Liu et al. 2013) before Chen's rule recovers the noise level."""
    noisy = _half_textured(sigma=5)
    all_patches = estimate_sigma(noisy, weak_texture=False) * 255
    weak = estimate_sigma(noisy) * 255
    assert all_patches > 6.0, "the texture should inflate the plain estimate, or this test shows nothing"
    assert weak == pytest.approx(5, rel=0.1)


def test_small_images_use_smaller_denser_patches_and_tiny_ones_are_refused():
    noisy = 0.5 + 0.1 * torch.randn(1, 24, 24, generator=torch.Generator().manual_seed(0))
    assert estimate_sigma(noisy) == pytest.approx(0.1, rel=0.15)
    with pytest.raises(ValueError, match="too small"):
        estimate_sigma(torch.rand(1, 5, 5))


def _bsd68_relative_errors(sigma: int, every: int = 1) -> list[float]:
    """|estimate - sigma| / sigma on every ``every``-th BSD68 image, the noise drawn in image order from
    seed ``sigma`` (as benchmarks/noise_estimation.py does for all 68)."""
    if not (SHARED_DATA / "BSD68").is_dir():
        pytest.skip("real data not present")
    images, _ = BSD(str(SHARED_DATA), test_set="BSD68").load_split("test")
    generator = torch.Generator().manual_seed(sigma)
    errors = []
    for index in range(0, len(images), every):
        clean = torch.from_numpy(images[index]).permute(2, 0, 1).double()
        noisy = clean + sigma / 255 * torch.randn(clean.shape, generator=generator, dtype=torch.float64)
        errors.append(abs(estimate_sigma(noisy) * 255 - sigma) / sigma)
    return errors


@pytest.mark.real_data
@pytest.mark.parametrize("sigma", [5, 15, 25, 50])
def test_mean_error_within_ten_percent_on_bsd68(sigma):
    """The issue's bar on real photographs (17 of the 68 BSD68 images here; all 68 and Set12 in
    benchmarks/noise_estimation.py)."""
    errors = _bsd68_relative_errors(sigma, every=4)
    assert len(errors) == 17
    assert sum(errors) / len(errors) < 0.10, f"mean relative error {sum(errors) / len(errors):.3f}"


@pytest.mark.real_data
@pytest.mark.parametrize("sigma", [5, 15, 25, 50])
def test_most_bsd68_images_within_ten_percent(sigma):
    """Per image, on all 68 BSD68 images (the noise drawn as in benchmarks/noise_estimation.py): at
    least 90% within 10% of sigma. Stopping the weak-texture selection at 2 patches per dimension
    instead of the weakest-8 floor left 86.8% at sigma 5."""
    within = [error <= 0.10 for error in _bsd68_relative_errors(sigma)]
    assert sum(within) / len(within) >= 0.9, f"{sum(within)} of {len(within)} images within 10%"
