"""R2R on spatially and across-channel correlated noise (``noise: correlated``): noise drawn with the
requested covariance C (x) R, input and target noises independent when the recorruption has the noise's own
covariance (Pang et al., Eq. 7) and correlated when it is white, and clear errors for a bad covariance."""

import pytest
import torch

from core.recorruption import recorrupt_with
from lightning_modules import R2R
from networks import DnCNN
from noise.covariance import NoiseCovariance, correlated_gaussian

# rows: dy = -1, 0, 1; columns: dx = -1, 0, 1 (stronger along rows, as after horizontal filtering)
SPATIAL = [[0.1, 0.3, 0.05], [0.5, 1.0, 0.5], [0.05, 0.3, 0.1]]
CHANNELS = [[16.0, 4.0, 6.0], [4.0, 8.0, 3.0], [6.0, 3.0, 15.0]]  # 8-bit scale


def _covariance() -> NoiseCovariance:
    return NoiseCovariance(torch.tensor(SPATIAL), torch.tensor(CHANNELS) / 255**2)


def _lag_covariance(a: torch.Tensor, b: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """[C, C] covariance of a(p) and b(p + (dy, dx)) over a batch [B, C, H, W] of zero-mean fields."""
    height, width = a.shape[-2] - abs(dy), a.shape[-1] - abs(dx)
    first = a[..., max(0, -dy) : max(0, -dy) + height, max(0, -dx) : max(0, -dx) + width]
    second = b[..., max(0, dy) : max(0, dy) + height, max(0, dx) : max(0, dx) + width]
    return torch.einsum("bchw,bdhw->cd", first.double(), second.double()) / (len(a) * height * width)


def _draw(seed: int, shape=(96, 3, 40, 48)) -> torch.Tensor:
    return correlated_gaussian(shape, _covariance(), torch.Generator().manual_seed(seed), torch.zeros(1))


def test_correlated_noise_has_the_requested_channel_covariance_and_autocorrelation():
    noise = _draw(0) * 255
    channels = torch.tensor(CHANNELS, dtype=torch.float64)
    torch.testing.assert_close(_lag_covariance(noise, noise, 0, 0), channels, atol=0.4, rtol=0.03)
    for dy in (-2, -1, 0, 1, 2):
        for dx in (-2, -1, 0, 1, 2):
            inside = abs(dy) <= 1 and abs(dx) <= 1
            expected = channels * (SPATIAL[dy + 1][dx + 1] if inside else 0.0)
            torch.testing.assert_close(_lag_covariance(noise, noise, dy, dx), expected, atol=0.4, rtol=0.05)


def test_correlated_noise_is_reproducible_and_unclipped_at_the_crop_border():
    torch.testing.assert_close(_draw(3), _draw(3))
    assert not torch.equal(_draw(3), _draw(4))
    noise = _draw(5, shape=(400, 3, 6, 6)) * 255
    border, centre = noise[..., 0, :].pow(2).mean(), noise[..., 2:4, 2:4].pow(2).mean()
    assert abs(float(border / centre) - 1) < 0.1  # the circular synthesis leaves no weaker border rows


def _module(noise="correlated", **options) -> R2R:
    return R2R(DnCNN(in_channels=3, depth=3, width=8), noise=noise, **options)


def test_recorruption_with_the_noise_covariance_makes_input_and_target_noise_independent():
    """Cross-covariance of the input noise n + alpha z and the target noise n - z / alpha, at lags 0 and 1:
    zero when z has the noise's covariance, and clearly not when z is white of the same channel variances."""
    noise = _draw(10)
    clean = torch.zeros_like(noise)
    correlated = _module(autocorrelation=SPATIAL, channel_covariance=CHANNELS, alpha=0.5)
    white = _module(autocorrelation=[[1.0]], channel_covariance=CHANNELS, alpha=0.5)
    for module, independent in ((correlated, True), (white, False)):
        draw = module.noise_sampler(noise, None, torch.Generator().manual_seed(11))()
        model_input, target = recorrupt_with(clean + noise, draw, module.alpha)
        for dy, dx in ((0, 0), (0, 1), (1, 0)):
            cross = _lag_covariance(model_input * 255, target * 255, dy, dx)
            if independent:
                assert cross.abs().max() < 0.6, (dy, dx, cross)
            elif (dy, dx) != (0, 0):  # the noise's own lag covariance R(d) C, which white z does not cancel
                expected = SPATIAL[dy + 1][dx + 1] * torch.tensor(CHANNELS, dtype=torch.float64)
                torch.testing.assert_close(cross, expected, atol=0.6, rtol=0)


def test_monte_carlo_inference_draws_correlated_recorruptions():
    module = _module(autocorrelation=SPATIAL, channel_covariance=CHANNELS, mc_samples=3).eval()
    noisy = torch.rand(2, 3, 20, 24)
    with torch.no_grad():
        first = module.denoise(noisy, torch.Generator().manual_seed(0))
        again = module.denoise(noisy, torch.Generator().manual_seed(0))
    torch.testing.assert_close(first, again)
    assert first.shape == noisy.shape


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "python -m noise.covariance"),
        ({"autocorrelation": [[0.5, 1.0], [1.0, 0.5]], "channel_covariance": CHANNELS},
         "odd side with 1 at the centre"),
        ({"autocorrelation": [[0.1, 0.3, 0.2], [0.5, 1.0, 0.5], [0.1, 0.3, 0.1]], "channel_covariance": CHANNELS},
         "symmetric through its centre"),
        ({"autocorrelation": SPATIAL, "channel_covariance": [[1.0, 2.0], [2.0, 1.0]]}, "positive definite"),
    ],
)  # fmt: skip
def test_a_bad_covariance_is_a_clear_error(options, message):
    with pytest.raises(ValueError, match=message):
        _module(**options)


def test_covariance_options_need_noise_correlated_and_matching_channels():
    with pytest.raises(ValueError, match="for noise: correlated"):
        _module(noise="gaussian", sigma=25, autocorrelation=SPATIAL)
    module = _module(autocorrelation=SPATIAL, channel_covariance=CHANNELS)
    with pytest.raises(ValueError, match="3-channel images and these have 1"):
        module.noise_sampler(torch.rand(1, 1, 8, 8), None, torch.Generator())
