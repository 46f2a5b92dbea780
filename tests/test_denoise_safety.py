"""denoise.py loses nothing: exact 8/16-bit and float IO, inputs never overwritten, earlier results only
with --overwrite, distinct output names, unreadable files skipped and reported, gray checkpoints on RGB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from cli import main as train
from core.image_io import read_raw, write_raw
from denoise import main, output_names
from tests.conftest import TINY_UNET, folder_args, smooth_image

REPO = Path(__file__).resolve().parents[1]
FAST = ["--method", "n2s", "--iterations", "2"]


@pytest.mark.parametrize(
    "name, dtype, channels",
    [("rgb16.png", np.uint16, 3), ("gray16.png", np.uint16, 1), ("rgb8.png", np.uint8, 3), ("rgba8.png", np.uint8, 4),
     ("rgb16.tif", np.uint16, 3), ("gray8.tif", np.uint8, 1), ("float.tif", np.float32, 3)],
)  # fmt: skip
def test_images_round_trip_bit_exactly(tmp_path: Path, name: str, dtype, channels: int):
    rng = np.random.default_rng(1)
    shape = (7, 9, channels) if channels > 1 else (7, 9)
    if np.issubdtype(dtype, np.integer):
        image = rng.integers(0, np.iinfo(dtype).max + 1, shape).astype(dtype)
    else:
        image = rng.random(shape).astype(dtype)
    write_raw(tmp_path / name, image)
    again = read_raw(tmp_path / name)
    assert again.dtype == image.dtype and again.shape == image.shape and np.array_equal(again, image)


def test_a_16_bit_rgb_png_is_denoised_at_16_bits(tmp_path: Path):
    rng = np.random.default_rng(2)
    clean = smooth_image(rng, 32, 32, channels=3).astype(np.uint16) * 257
    noisy = np.clip(clean + rng.normal(0, 3000, clean.shape), 0, 65535).astype(np.uint16)
    (tmp_path / "in").mkdir()
    write_raw(tmp_path / "in" / "x.png", noisy)
    main([*FAST, str(tmp_path / "in"), "--output", str(tmp_path / "out")])
    result = read_raw(tmp_path / "out" / "x.png")
    assert result.dtype == np.uint16 and result.shape == (32, 32, 3)
    assert len(np.unique(result)) > 256  # not 8-bit values scaled up


def test_output_into_the_input_folder_is_refused_and_inputs_stay(tmp_path: Path):
    image = smooth_image(np.random.default_rng(3), 24, 24)
    iio.imwrite(tmp_path / "a.png", image)
    with pytest.raises(SystemExit, match="would replace the input .*a.png"):
        main([*FAST, str(tmp_path), "--output", str(tmp_path), "--overwrite"])
    assert np.array_equal(iio.imread(tmp_path / "a.png"), image)


def test_earlier_results_are_kept_unless_overwrite(tmp_path: Path):
    (tmp_path / "in").mkdir()
    iio.imwrite(tmp_path / "in" / "a.png", smooth_image(np.random.default_rng(4), 24, 24))
    main([*FAST, str(tmp_path / "in"), "--output", str(tmp_path / "out")])
    before = (tmp_path / "out" / "a.png").read_bytes()
    with pytest.raises(SystemExit, match="already holds 1 of the files .*a.png.*--overwrite"):
        main([*FAST, "--seed", "1", str(tmp_path / "in"), "--output", str(tmp_path / "out")])
    assert (tmp_path / "out" / "a.png").read_bytes() == before
    main([*FAST, "--seed", "1", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--overwrite"])


def test_inputs_that_share_a_name_get_distinct_outputs(tmp_path: Path):
    inputs = [tmp_path / "a" / "x.png", tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.png", tmp_path / "a" / "y.tif"]
    names = output_names(inputs)
    assert len(set(names.values())) == 4 and names[inputs[3]] == "y.tif"
    for path in inputs:
        path.parent.mkdir(exist_ok=True)
        iio.imwrite(path, smooth_image(np.random.default_rng(5), 24, 24))
    rows = main([*FAST, str(inputs[0]), str(inputs[1]), str(inputs[2]), "--output", str(tmp_path / "out")])
    assert len(rows) == 3 and len(list((tmp_path / "out").iterdir())) == 3


def test_a_corrupt_file_is_skipped_reported_and_the_exit_status_is_one(tmp_path: Path):
    (tmp_path / "in").mkdir()
    for name in ("a.png", "c.png"):
        iio.imwrite(tmp_path / "in" / name, smooth_image(np.random.default_rng(6), 24, 24))
    (tmp_path / "in" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    result = subprocess.run(
        [sys.executable, "denoise.py", *FAST, str(tmp_path / "in"), "--output", str(tmp_path / "out")],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]
    assert "1 of 3 images failed and were not written" in result.stdout and "b.png" in result.stdout


def test_a_gray_checkpoint_denoises_an_rgb_image_channel_by_channel(image_folder: Path, tmp_path: Path):
    train(["fit", *folder_args(image_folder, tmp_path / "run", "--model", "lightning_modules.Noise2Noise", *TINY_UNET,
                               "--trainer.max_epochs", "1")])  # fmt: skip
    (tmp_path / "in").mkdir()
    iio.imwrite(tmp_path / "in" / "rgb.png", smooth_image(np.random.default_rng(7), 24, 24, channels=3))
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    rows = main(["--ckpt", str(checkpoint), str(tmp_path / "in"), "--output", str(tmp_path / "out")])
    assert "error" not in rows[0] and iio.imread(tmp_path / "out" / "rgb.png").shape == (24, 24, 3)
