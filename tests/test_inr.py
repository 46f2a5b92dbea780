"""INR zero-shot denoising: coordinates, SIREN initialisation, early stopping at the noise variance."""

import numpy as np
import pytest
import torch

from denoise import main as denoise_main
from networks.inr import FourierMLP, Siren
from tests.conftest import smooth_image
from zero_shot.inr import coordinate_grid, fit_inr, loss_and_gradients


def test_coordinate_grid_spans_the_square_row_major():
    grid = coordinate_grid(3, 4)
    assert grid.shape == (12, 2)
    assert grid[0].tolist() == [-1.0, -1.0] and grid[-1].tolist() == [1.0, 1.0]
    assert grid[1].tolist() == pytest.approx([-1.0, -1 / 3])  # x varies fastest


def test_siren_first_layer_initialisation_and_shapes():
    net = Siren(out_channels=3, width=32)
    first = net.body[0].linear.weight
    assert first.abs().max() <= 1 / 2 and net(coordinate_grid(5, 6)).shape == (30, 3)
    assert FourierMLP(out_channels=1, width=16, features=8)(coordinate_grid(4, 4)).shape == (16, 1)


@pytest.mark.parametrize("chunk", [7, 16, 1000])
def test_chunked_loss_and_gradients_equal_the_full_batch_ones(chunk):
    torch.manual_seed(0)
    model = Siren(out_channels=3, width=16)
    coordinates, target = coordinate_grid(5, 8), torch.rand(40, 3, generator=torch.Generator().manual_seed(1))
    full_loss = torch.mean((model(coordinates) - target) ** 2)
    expected = torch.autograd.grad(full_loss, list(model.parameters()))
    output, loss = loss_and_gradients(model, coordinates, target, chunk)
    torch.testing.assert_close(loss, full_loss.detach())
    torch.testing.assert_close(output, model(coordinates).detach())
    for parameter, gradient in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)


def smooth_and_noisy(size: int, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    clean = torch.from_numpy(smooth_image(np.random.default_rng(0), size, size) / 255.0).float()[None]
    return clean, clean + sigma * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))


def test_fit_stops_when_the_fit_error_reaches_the_noise_variance():
    sigma = 0.1
    clean, noisy = smooth_and_noisy(32, sigma)
    options = {"width": 64, "omega": 5.0}
    result = fit_inr(
        noisy, sigma=sigma, max_iterations=800, lr=1e-3, clean=clean, progress=False, network_options=options
    )
    errors = {iteration: mse for iteration, mse, _ in result.trajectory}
    assert result.stop_iteration < 800
    assert errors[result.stop_iteration] <= sigma**2  # stopped at the first check at or below sigma^2
    earlier = [mse for iteration, mse in errors.items() if iteration < result.stop_iteration]
    assert all(mse > sigma**2 for mse in earlier)
    stop_psnr = dict((i, p) for i, _, p in result.trajectory)[result.stop_iteration]
    noisy_psnr = 10 * np.log10(1 / torch.mean((noisy.clamp(0, 1) - clean) ** 2).item())
    assert stop_psnr > noisy_psnr  # the stopped fit is better than the noisy image


def test_denoise_cli_runs_inr_with_estimated_sigma(tmp_path):
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "x.png", (np.random.default_rng(1).random((16, 16)) * 255).astype(np.uint8))
    rows = denoise_main(["--method", "inr", str(tmp_path / "x.png"), "--output", str(tmp_path / "out"),
                         "--iterations", "20"])  # fmt: skip
    assert (tmp_path / "out" / "x.png").is_file() and rows[0]["seconds"] >= 0


def test_after_stop_follows_the_trajectory_but_returns_the_stopped_image():
    sigma = 0.1
    clean, noisy = smooth_and_noisy(24, sigma)
    options = {"width": 32, "omega": 5.0}
    common = dict(sigma=sigma, max_iterations=600, clean=clean, progress=False, network_options=options)
    stopped = fit_inr(noisy, **common)
    assert stopped.stop_iteration < 600
    stopped_checks, extra_checks = len(stopped.trajectory), 3
    followed = fit_inr(noisy, after_stop=lambda trajectory: len(trajectory) < stopped_checks + extra_checks, **common)
    assert followed.stop_iteration == stopped.stop_iteration
    assert len(followed.trajectory) == stopped_checks + extra_checks  # fitted on past the stop ...
    torch.testing.assert_close(followed.denoised, stopped.denoised)  # ... but returned the stopped fit
