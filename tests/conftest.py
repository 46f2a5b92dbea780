"""Shared fixtures: tiny image folders written by the tests, W&B kept offline and quiet."""

from __future__ import annotations

import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def smooth_image(rng: np.random.Generator, height: int, width: int, channels: int = 1) -> np.ndarray:
    """A smooth random uint8 image (sums of low-frequency sinusoids), so denoising has structure to find."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    planes = []
    for _ in range(channels):
        plane = np.zeros((height, width))
        for _ in range(4):
            fy, fx, phase = rng.uniform(0.5, 4, size=2).tolist() + [rng.uniform(0, 2 * np.pi)]
            plane += np.sin(2 * np.pi * (fy * yy + fx * xx) + phase)
        planes.append((plane - plane.min()) / (np.ptp(plane) + 1e-9))
    image = np.stack(planes, axis=-1)
    return (image * 255).round().astype(np.uint8).squeeze()


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Six 40x48 gray PNGs in ``tmp_path/images``."""
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        iio.imwrite(folder / f"img{i}.png", smooth_image(rng, 40, 48))
    return folder


def folder_args(folder: Path, root: Path, *extra: str, wandb: bool = False) -> list[str]:
    """Command-line arguments for a tiny, fast run of a method on ``folder`` (W&B off unless asked)."""
    logger = [] if wandb else ["--trainer.logger", "false"]
    return [
        "--data", "datamodules.ImageFolder",
        "--data.train_dir", str(folder),
        "--data.val_count", "2",
        "--data.patch_size", "32",
        "--data.patches_per_image", "2",
        "--data.batch_size", "4",
        "--data.num_workers", "0",
        "--trainer.default_root_dir", str(root),
        *logger,
        "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false",
        "--trainer.accelerator", "cpu",
        "--trainer.devices", "1",
        *extra,
    ]  # fmt: skip


TINY_UNET = ["--model.network", "networks.UNet", "--model.network.depth", "2", "--model.network.width", "8"]
