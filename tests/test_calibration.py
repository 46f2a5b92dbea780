"""J-invariant calibration of classical denoisers."""

import imageio.v3 as iio
import numpy as np

from classical.calibrate import main, parse_param
from classical.calibration import calibrate, donut_median
from tests.conftest import smooth_image


def test_donut_median_ignores_the_centre_pixel():
    image = np.random.default_rng(0).random((9, 9))
    changed = image.copy()
    changed[4, 4] = 100.0
    assert donut_median(image)[4, 4] == donut_median(changed)[4, 4]


def test_calibration_chooses_the_smallest_self_supervised_loss_and_tracks_the_true_error():
    rng = np.random.default_rng(1)
    clean = smooth_image(rng, 64, 64) / 255.0
    noisy = clean + rng.normal(0, 0.1, clean.shape)
    result = calibrate(noisy, "tv", {"weight": [0.005, 0.05, 0.1, 0.2, 2.0]}, clean=clean)
    losses = [c.self_supervised_loss for c in result.candidates]
    assert result.chosen.self_supervised_loss == min(losses)
    assert result.chosen.parameters["weight"] not in (0.005, 2.0)  # neither extreme of the grid
    assert result.best_on_grid.psnr - result.chosen.psnr < 0.5
    assert "chosen" in result.report()


def test_command_parses_grids_and_writes_output(tmp_path):
    assert parse_param("h=0.05,0.1") == ("h", [0.05, 0.1])
    assert parse_param("fast_mode=True") == ("fast_mode", [True])
    rng = np.random.default_rng(2)
    clean = smooth_image(rng, 48, 48)
    noisy = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
    iio.imwrite(tmp_path / "noisy.png", noisy)
    iio.imwrite(tmp_path / "clean.png", clean)
    result = main([str(tmp_path / "noisy.png"), "--denoiser", "donut_median", "--param", "radius=1,2,3",
                   "--clean", str(tmp_path / "clean.png"), "--output", str(tmp_path / "out.png")])  # fmt: skip
    assert result.chosen.parameters["radius"] in (1, 2, 3)
    assert iio.imread(tmp_path / "out.png").shape == (48, 48)
