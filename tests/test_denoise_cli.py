"""denoise.py: folders and files in, same bit depth and mode out, a per-image table."""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from denoise import main
from tests.conftest import smooth_image
from zero_shot.noise2self import fit_noise2self


@pytest.fixture
def noisy_pair(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    clean = smooth_image(rng, 48, 48)
    noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    (tmp_path / "in").mkdir()
    (tmp_path / "ref").mkdir()
    iio.imwrite(tmp_path / "in" / "a.png", noisy)
    iio.imwrite(tmp_path / "ref" / "a.png", clean)
    noisy16 = (noisy.astype(np.uint16) * 257)[..., None].repeat(3, axis=-1)
    iio.imwrite(tmp_path / "in" / "b.tif", noisy16)
    return tmp_path / "in", tmp_path / "ref"


def test_n2s_denoises_a_folder_keeping_bit_depth_and_mode(noisy_pair, tmp_path: Path, capsys):
    inputs, references = noisy_pair
    rows = main(["--method", "n2s", str(inputs), "--output", str(tmp_path / "out"), "--clean", str(references),
                 "--iterations", "100"])  # fmt: skip
    a = iio.imread(tmp_path / "out" / "a.png")
    b = iio.imread(tmp_path / "out" / "b.tif")
    assert a.dtype == np.uint8 and a.shape == (48, 48)
    assert b.dtype == np.uint16 and b.shape == (48, 48, 3)
    table = capsys.readouterr().out
    assert "a.png" in table and "b.tif" in table and "denoised dB" in table
    by_name = {row["image"]: row for row in rows}
    assert by_name["a.png"]["psnr"] > by_name["a.png"]["noisy_psnr"]
    assert "psnr" not in by_name["b.tif"]  # no reference given for b


def test_missing_input_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="does not exist: check the path"):
        main(["--method", "n2s", str(tmp_path / "nope.png"), "--output", str(tmp_path / "out")])


def test_fit_keeps_the_model_with_the_lowest_held_out_loss():
    torch.manual_seed(0)
    noisy = torch.rand(1, 32, 32)
    result = fit_noise2self(noisy, iterations=40, progress=False)
    assert result.denoised.shape == noisy.shape
    validations = [v for _, _, v in result.history]
    assert result.best_validation_loss == min(validations)
    assert result.best_iteration == result.history[validations.index(min(validations))][0]


def test_zsn2n_fits_same_sized_images_together_each_as_it_would_be_alone(tmp_path: Path):
    from core.image_io import read_image
    from zero_shot.zsn2n import fit

    rng = np.random.default_rng(3)
    (tmp_path / "in").mkdir()
    shapes = {"a": (20, 24, 3), "b": (20, 24, 3), "c": (17, 15, 3)}  # a and b share a group, c is alone
    for name, shape in shapes.items():
        iio.imwrite(tmp_path / "in" / f"{name}.png", rng.integers(0, 256, shape, dtype=np.uint8))
    main(["--method", "zsn2n", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--iterations", "6"])
    for name in shapes:
        noisy = torch.from_numpy(read_image(tmp_path / "in" / f"{name}.png", 3).transpose(2, 0, 1))
        alone = fit(noisy, iterations=6, seed=0, progress=False).numpy().transpose(1, 2, 0)
        written = iio.imread(tmp_path / "out" / f"{name}.png")
        assert np.abs(written.astype(int) - np.round(alone * 255).astype(int)).max() <= 1


def test_table_reports_each_images_noise_level_and_inr_stops_at_a_given_one(
    noisy_pair, tmp_path: Path, capsys, monkeypatch
):
    import zero_shot.inr

    inputs, _ = noisy_pair
    fitted = zero_shot.inr.fit_inr
    stops = []

    def recording_fit(noisy, sigma, **options):
        result = fitted(noisy, sigma, **options)
        stops.append((sigma, result.stop_iteration))
        return result

    monkeypatch.setattr(zero_shot.inr, "fit_inr", recording_fit)
    rows = main(["--method", "n2s", str(inputs / "a.png"), "--output", str(tmp_path / "n2s"), "--iterations", "2"])
    assert rows[0]["sigma_source"] == "clipped"  # the smooth image spans 0-255: noise is cut off at both ends
    assert 15 < rows[0]["sigma"] < 30  # noise std 25 before clipping to 8 bits
    assert "clipped" in capsys.readouterr().out

    rows = main(["--method", "inr", str(inputs / "a.png"), "--output", str(tmp_path / "inr"), "--sigma", "200",
                 "--iterations", "50"])  # fmt: skip
    assert rows[0]["sigma"] == 200 and rows[0]["sigma_source"] == "given"
    assert stops == [(200 / 255, 10)]  # a fit error far below 200^2 at the first check: stopped there


def test_sigma_with_a_method_that_does_not_use_it_is_a_clear_error(tmp_path: Path, capsys):
    with pytest.raises(SystemExit):
        main(["--method", "n2s", str(tmp_path), "--output", str(tmp_path / "out"), "--sigma", "25"])
    assert "only used by --method inr" in capsys.readouterr().err


def test_a_checkpoint_denoises_with_its_inference_options_and_refuses_tta_on_a_self_ensemble(
    image_folder: Path, tmp_path: Path
):
    """PD at inference and the self-ensemble are the checkpoint's inference: denoise.py --ckpt gives what
    ``train.py predict`` gives (``denoise_stage``), not the bare network pass."""
    from cli import main as train
    from lightning_modules.loading import load_method
    from tests.conftest import TINY_UNET, folder_args

    train(["fit", *folder_args(image_folder, tmp_path / "run", "--model", "lightning_modules.Noise2Void", *TINY_UNET,
                               "--model.init_args.pd_stride_inference", "2", "--model.init_args.self_ensemble", "true",
                               "--trainer.max_epochs", "1")])  # fmt: skip
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    (tmp_path / "in").mkdir()
    iio.imwrite(tmp_path / "in" / "a.tif", smooth_image(np.random.default_rng(3), 32, 40).astype(np.float32) / 255)
    rows = main(["--ckpt", str(checkpoint), "--tile", "0", str(tmp_path / "in"), "--output", str(tmp_path / "out")])
    assert "error" not in rows[0]
    written = torch.from_numpy(iio.imread(tmp_path / "out" / "a.tif"))[None, None]
    model = load_method(checkpoint).eval()
    noisy = torch.from_numpy(iio.imread(tmp_path / "in" / "a.tif"))[None, None]
    with torch.inference_mode():
        expected = model.denoise_stage(noisy, stage="predict").clamp(0, 1)
        bare = model.denoise(noisy).clamp(0, 1)
    assert (expected - bare).abs().max() > 1e-3  # the options change the output, so the test can tell them apart
    torch.testing.assert_close(written, expected, atol=1e-5, rtol=0)
    with pytest.raises(SystemExit, match="already averages over the 8 flips"):
        main(["--ckpt", str(checkpoint), "--tta", str(tmp_path / "in"), "--output", str(tmp_path / "out2")])
