"""Real-noise tools: the noise-correlation check, paired folders matched by name, 8-bit scores."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.metrics import quantize_8bit
from datamodules import PairedFolder
from datamodules.paired_folder import match_pairs, scene_name
from noise.correlation import estimate_correlated_sigma, estimate_correlation
from noise.correlation import main as correlation_main
from noise.estimation import estimate_sigma
from tests.conftest import smooth_image


def _images(count: int, size: int = 128) -> list[torch.Tensor]:
    rng = np.random.default_rng(0)
    return [torch.from_numpy(smooth_image(rng, size, size) / 255.0).float()[None] for _ in range(count)]


def test_white_noise_is_found_uncorrelated():
    generator = torch.Generator().manual_seed(0)
    noisy = [image + 0.05 * torch.randn(image.shape, generator=generator) for image in _images(4, size=256)]
    correlation = estimate_correlation(noisy)
    # the estimate's own scatter on 4 images of 256x256 is about +-0.04 (seeds 0-3)
    assert abs(correlation.horizontal[0]) < 0.07 and abs(correlation.vertical[0]) < 0.07
    assert not correlation.correlated and "safe" in correlation.advice()


def test_the_flat_blocks_are_chosen_by_texture_whatever_their_brightness():
    """White noise on images half flat (bright, 0.8) and half textured (mid-grey, a blurred random pattern):
    the estimate must read the flat half. Blocks chosen by brightness instead of texture read the texture's
    own correlation as the noise's (rho(1) about 0.67, std four times the truth)."""
    generator = torch.Generator().manual_seed(4)
    noisy = []
    for _ in range(4):
        texture = F.avg_pool2d(torch.randn(1, 1, 256, 128, generator=generator), 5, stride=1, padding=2)[0]
        image = torch.cat([torch.full((1, 256, 128), 0.8), 0.5 + 0.15 * texture / texture.std()], dim=2)
        noisy.append(image + 0.03 * torch.randn(image.shape, generator=generator))
    correlation = estimate_correlation(noisy)
    assert abs(correlation.horizontal[0]) < 0.07 and abs(correlation.vertical[0]) < 0.07
    assert correlation.sigma == pytest.approx(0.03, rel=0.1)


def test_noise_filtered_along_rows_is_found_correlated_along_rows_only():
    """White noise through the kernel [1, 1] / sqrt(2) along rows: rho(1) = 0.5 along rows, 0 along columns
    and at lag 2."""
    generator = torch.Generator().manual_seed(1)
    noisy = []
    for image in _images(4):
        white = torch.randn(1, 1, image.shape[1], image.shape[2] + 1, generator=generator)
        filtered = F.conv2d(white, torch.tensor([[[[1.0, 1.0]]]]) / 2**0.5)[0]
        noisy.append(image + 0.05 * filtered)
    correlation = estimate_correlation(noisy)
    assert correlation.horizontal[0] == pytest.approx(0.5, abs=0.07)
    assert abs(correlation.vertical[0]) < 0.07 and abs(correlation.horizontal[1]) < 0.07
    assert correlation.correlated and "structN2V line mask along rows" in correlation.advice()
    assert "weak" not in correlation.advice()  # std 0.05 = 12.8 on the 8-bit scale


def test_weak_correlated_noise_gets_the_caveat_that_pd_may_cost_more_than_it_gains():
    from noise.correlation import WEAK_FOR_PD, NoiseCorrelation

    def reading(sigma_8bit: float) -> NoiseCorrelation:
        return NoiseCorrelation([0.7, 0.3, 0.1], [0.7, 0.3, 0.1], blocks=10, sigma=sigma_8bit / 255)

    assert "noise is weak (std 3.6" in reading(3.6).advice() and "with and without PD" in reading(3.6).advice()
    assert "weak" not in reading(WEAK_FOR_PD + 0.5).advice()
    assert "weak" not in NoiseCorrelation([0.0] * 3, [0.0] * 3, blocks=10, sigma=1 / 255).advice()  # white


def test_the_command_reads_images_and_writes_a_plot(tmp_path: Path, capsys):
    generator = torch.Generator().manual_seed(2)
    for k, image in enumerate(_images(2)):
        noisy = (image + 0.05 * torch.randn(image.shape, generator=generator)).clamp(0, 1)
        iio.imwrite(tmp_path / f"{k}.png", (noisy[0].numpy() * 255).round().astype(np.uint8))
    files = [str(tmp_path / "0.png"), str(tmp_path / "1.png")]
    correlation = correlation_main([*files, "--plot", str(tmp_path / "c.png")])
    assert not correlation.correlated
    assert "along rows" in capsys.readouterr().out
    assert iio.imread(tmp_path / "c.png").shape[-1] == 3


def test_pairs_are_matched_by_scene_name_and_a_lone_capture_is_named(tmp_path: Path):
    (tmp_path / "noisy").mkdir()
    (tmp_path / "clean").mkdir()
    image = np.zeros((24, 24, 3), dtype=np.uint8)
    for name in ("01_noise", "02_noise"):
        iio.imwrite(tmp_path / "noisy" / f"{name}.png", image)
    for name in ("01_gt", "02_gt"):
        iio.imwrite(tmp_path / "clean" / f"{name}.png", image + 1)
    assert scene_name(Path("07_noise.png")) == scene_name(Path("07_gt.png")) == "07"
    assert [scene for scene, _, _ in match_pairs(tmp_path / "noisy", tmp_path / "clean")] == ["01", "02"]
    data = PairedFolder(str(tmp_path / "noisy"), str(tmp_path / "clean"), channels=3, patch_size=16, num_workers=0)
    data.setup("fit")
    assert "clean" not in next(iter(data.train_dataloader()))  # self-supervised: training never sees it
    assert "clean" not in next(iter(data.val_dataloader()))  # nor checkpoint selection
    data.setup("test")
    assert "clean" in next(iter(data.test_dataloader()))
    iio.imwrite(tmp_path / "noisy" / "03_noise.png", image)
    with pytest.raises(ValueError, match=r"\['03'\]"):
        match_pairs(tmp_path / "noisy", tmp_path / "clean")
    with pytest.raises(ValueError, match="noise: null"):
        from noise import Gaussian

        PairedFolder(str(tmp_path / "noisy"), str(tmp_path / "clean"), noise=Gaussian(25))


def test_quantize_8bit_rounds_to_the_256_levels():
    values = torch.tensor([-0.1, 0.0, 0.4 / 255, 0.6 / 255, 1.2])
    torch.testing.assert_close(quantize_8bit(values), torch.tensor([0.0, 0.0, 0.0, 1 / 255, 1.0]))


def test_correlated_noise_level_is_read_whole_where_the_white_noise_estimator_reads_low():
    """Noise blurred by a 3x3 box (unit gain) keeps std 0.05 but moves its power to low frequencies."""
    generator = torch.Generator().manual_seed(3)
    image = _images(1, size=256)[0]
    white = torch.randn(1, 1, 258, 258, generator=generator)
    blurred = F.conv2d(white, torch.ones(1, 1, 3, 3) / 3.0)[0]  # std 1, rho(1) = 2/3, rho(2) = 1/3
    noisy = image + 0.05 * blurred
    assert estimate_correlated_sigma(noisy) == pytest.approx(0.05, rel=0.15)
    assert estimate_sigma(noisy) < 0.5 * 0.05  # the eigenvalue method sees only the high frequencies
    white_noisy = image + 0.05 * torch.randn(image.shape, generator=generator)
    assert estimate_correlated_sigma(white_noisy) == pytest.approx(0.05, rel=0.1)


def test_the_benchmarks_stretch_each_step_schedule_to_their_steps():
    """``--steps N`` must stretch a step-length schedule to N steps (else the lr would not reach its end),
    and leave epoch schedules and milestones alone."""
    from benchmarks.common import schedule_length_arguments

    prefix = "--model.init_args.lr_scheduler.init_args."
    assert schedule_length_arguments("laine_nam", 200) == [prefix + "total_steps", "200"]
    assert schedule_length_arguments("n2s_nam", 1500) == [prefix + "T_max", "1500"]
    assert schedule_length_arguments("n2v_nam", 7) == [prefix + "T_max", "7"]
    assert schedule_length_arguments("laine_bsd68", 200) == [prefix + "total_steps", "200"]
    assert schedule_length_arguments("n2s_bsd68", 200) == []  # MultiStepLR milestones, per epoch
    assert schedule_length_arguments("r2r_nam", 200) == []


def _nam_pairs_or_skip() -> Path:
    """The Nam pairs' folder the benchmarks read, or a skip where this clone has no data."""
    from benchmarks.common import shared_data

    try:
        nam = shared_data() / "Nam_real_noise"
    except FileNotFoundError:
        pytest.skip("no data folder")
    if not nam.is_dir():
        pytest.skip("the Nam pairs are not present")
    return nam


@pytest.mark.real_data
def test_the_trend_scores_every_checkpoint_with_its_own_weights(tmp_path: Path):
    """Each kept checkpoint is tested with its weights: a second test in one run folder writes a new
    results file, and reading the first one again gave every checkpoint the first one's scores."""
    from benchmarks.real_noise_trend import main as trend_main

    _nam_pairs_or_skip()
    record = trend_main(["--row", "n2s_pd", "--steps", "20", "--every", "10", "--images", "2", "--patch", "40",
                         "--out", str(tmp_path / "trend.json")])  # fmt: skip
    steps = [checkpoint["step"] for checkpoint in record["checkpoints"]]
    assert steps == [10, 20] and record["images"] == 2 and record["lr_schedule"] == "CosineAnnealingLR"
    first, second = (checkpoint["psnr"] for checkpoint in record["checkpoints"])
    assert first != second


@pytest.mark.real_data
def test_inference_variants_score_the_same_weights_with_the_inference_changed(tmp_path: Path):
    """The run's own inference scores what the run's test scored; another PD stride at inference scores
    the same weights differently."""
    from benchmarks.real_noise import checkpoint_scores, data_overrides, fit_row
    from benchmarks.real_noise_inference import main as inference_main

    nam = _nam_pairs_or_skip()
    run = tmp_path / "real_noise_n2s_pd"
    data = data_overrides(nam, 2)
    cli, _, _ = fit_row("n2s_pd", data, 10, 40, ["--trainer.limit_val_batches", "0", "--checkpoint.monitor", "null"],
                        run)  # fmt: skip
    scored, _ = checkpoint_scores(cli, run, None)
    records = inference_main([str(run), "--images", "2", "--variants", "pd2", "pd5", "--out", str(tmp_path / "i.json")])
    by_variant = {record["variant"]: record for record in records}
    assert by_variant["pd2"]["per_image"] == {scene: [round(p, 3), round(s, 4)] for scene, p, s in scored}
    assert by_variant["pd5"]["psnr"] != by_variant["pd2"]["psnr"]
    assert by_variant["pd2"]["pd_stride"] == 5 and by_variant["pd2"]["trained_steps"] == 10
