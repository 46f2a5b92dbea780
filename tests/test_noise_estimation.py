"""Noise-level estimation (Chen, Zhu, Heng 2015) on synthetic and on real BSD68 images."""

import pytest
import torch

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


@pytest.mark.real_data
@pytest.mark.parametrize("sigma", [25, 50])
def test_mean_error_within_ten_percent_on_bsd68_at_moderate_noise(sigma):
    """On textured BSD68 photographs the method is accurate from sigma=25 up. Below, the images' own
    fine texture reads as noise: the clean images alone estimate 3-12 (8-bit scale), so sigma=5 and
    15 come out high; that limit of the method is recorded in the issue note, not hidden here."""
    if not (SHARED_DATA / "BSD68").is_dir():
        pytest.skip("real data not present")
    images, _ = BSD(str(SHARED_DATA), test_set="BSD68").load_split("test")
    generator = torch.Generator().manual_seed(sigma)
    errors = []
    for index in range(0, 68, 4):  # 17 of the 68 images
        clean = torch.from_numpy(images[index]).permute(2, 0, 1).double()
        noisy = clean + sigma / 255 * torch.randn(clean.shape, generator=generator, dtype=torch.float64)
        errors.append(abs(estimate_sigma(noisy) * 255 - sigma) / sigma)
    assert sum(errors) / len(errors) < 0.10, f"mean relative error {sum(errors) / len(errors):.3f}"
