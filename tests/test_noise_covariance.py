"""The noise-covariance estimate (noise.covariance) read from noisy images alone, against noise of known
covariance: white, and drawn by the sampler R2R's ``noise: correlated`` uses."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
import yaml

from lightning_modules.r2r import R2R
from networks import DnCNN
from noise.covariance import NoiseCovariance, correlated_gaussian, estimate_noise_covariance
from noise.covariance import main as covariance_main
from tests.conftest import smooth_image

# a channel covariance on [0, 1] images: stds 0.04, 0.03, 0.045 with correlations 0.4-0.5
CHANNELS = torch.tensor([[16.0, 5.0, 8.0], [5.0, 9.0, 6.0], [8.0, 6.0, 20.25]]) * 1e-4


def _images(count: int, size: int = 192) -> list[torch.Tensor]:
    """Gently varying RGB images (a corner of a smooth image four times larger, as flat as photographs'
    flattest parts), kept inside (0.2, 0.8) so that no noisy pixel clips."""
    rng = np.random.default_rng(0)
    planes = [smooth_image(rng, 4 * size, 4 * size, channels=3)[:size, :size] for _ in range(count)]
    return [0.2 + 0.6 * torch.from_numpy(p / 255.0).float().permute(2, 0, 1) for p in planes]


def _noisy(covariance: NoiseCovariance, seed: int, count: int = 4) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = _images(count)
    return [image + correlated_gaussian((1, *image.shape), covariance, generator, image)[0] for image in images]


def _assert_channel_covariance(estimate: torch.Tensor) -> None:
    """Variances within 10 %; covariances, read as a difference of variances (Var(n1 + n2) - Var(n1) -
    Var(n2)), within 25 % (their scatter over seeds 0-3 on these images: 0.70-1.21 of the truth on 4 images,
    0.83-1.01 on 8)."""
    torch.testing.assert_close(estimate.diagonal(), CHANNELS.diagonal(), atol=0, rtol=0.1)
    torch.testing.assert_close(estimate, CHANNELS, atol=0, rtol=0.25)


def test_white_noise_reads_as_uncorrelated_in_space_with_its_channel_covariance():
    white = torch.zeros(7, 7)
    white[3, 3] = 1.0
    estimate = estimate_noise_covariance(_noisy(NoiseCovariance(white, CHANNELS), seed=0, count=8))
    off_centre = estimate.autocorrelation.clone()
    off_centre[3, 3] = 0
    assert estimate.autocorrelation[3, 3] == 1
    assert off_centre.abs().max() < 0.05
    _assert_channel_covariance(estimate.channel_covariance)


def test_noise_drawn_with_a_known_covariance_reads_back_as_that_covariance():
    """Noise blurred by a 3x3 box: R = 2/3 at lag 1 along an axis, 1/3 at lag 2, 4/9 on the diagonal, 0 from
    lag 3; the estimate should find that shape and the channel covariance the draw was mixed with."""
    box = torch.tensor([1.0, 2.0, 3.0, 2.0, 1.0]) / 3
    true = torch.zeros(7, 7)
    true[1:6, 1:6] = box[:, None] * box[None, :]
    estimate = estimate_noise_covariance(_noisy(NoiseCovariance(true, CHANNELS), seed=1, count=8))
    torch.testing.assert_close(estimate.autocorrelation, true, atol=0.05, rtol=0)
    _assert_channel_covariance(estimate.channel_covariance)
    assert estimate.sigma == pytest.approx(float(CHANNELS.diagonal().mean().sqrt()), rel=0.1)


def test_too_small_images_and_a_window_reaching_the_far_lags_are_refused():
    with pytest.raises(ValueError, match="too small"):
        estimate_noise_covariance([torch.rand(3, 24, 24)])
    with pytest.raises(ValueError, match="different|channels"):
        estimate_noise_covariance([torch.rand(3, 64, 64), torch.rand(1, 64, 64)])
    with pytest.raises(ValueError, match="radius"):
        estimate_noise_covariance([torch.rand(3, 64, 64)], radius=8)


def test_the_command_prints_options_that_r2r_accepts(tmp_path: Path, capsys):
    box = torch.tensor([1.0, 2.0, 3.0, 2.0, 1.0]) / 3
    true = torch.zeros(7, 7)
    true[1:6, 1:6] = box[:, None] * box[None, :]
    files = []
    for k, noisy in enumerate(_noisy(NoiseCovariance(true, CHANNELS), seed=2, count=2)):
        files.append(str(tmp_path / f"{k}.png"))
        iio.imwrite(files[-1], (noisy.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8))
    covariance_main(files)
    printed = capsys.readouterr().out
    options = yaml.safe_load(printed[printed.index("noise: correlated") :])
    assert options["noise"] == "correlated" and len(options["autocorrelation"]) == 7
    model = R2R(network=DnCNN(in_channels=3, depth=3, width=8), **options)
    # the 8-bit scale of the printed lines is undone by R2R: the model draws with the estimated covariance
    torch.testing.assert_close(model.covariance.channel_covariance, CHANNELS, atol=0, rtol=0.25)


def test_the_oracle_reads_the_covariance_the_residuals_were_drawn_with():
    from benchmarks.true_noise_covariance import true_covariance

    box = torch.tensor([1.0, 2.0, 3.0, 2.0, 1.0]) / 3
    true = torch.zeros(7, 7)
    true[1:6, 1:6] = box[:, None] * box[None, :]
    clean = _images(2)
    noisy = _noisy(NoiseCovariance(true, CHANNELS), seed=3, count=2)
    options = true_covariance([(str(k), n, c) for k, (n, c) in enumerate(zip(noisy, clean, strict=True))])
    torch.testing.assert_close(torch.tensor(options["autocorrelation"]), true, atol=0.03, rtol=0)
    torch.testing.assert_close(torch.tensor(options["channel_covariance"]) / 255**2, CHANNELS, atol=0, rtol=0.05)
