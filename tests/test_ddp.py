"""Real multi-process DDP: two CPU processes with gloo, launched by Lightning through train.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import TINY_UNET, folder_args

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("batches_on_device", [False, True], ids=["per-sample", "batches-on-device"])
def test_two_process_ddp_shards_the_data_and_saves_checkpoints(
    image_folder: Path, tmp_path: Path, batches_on_device: bool
):
    args = folder_args(image_folder, tmp_path, "--model", "lightning_modules.Noise2Noise", *TINY_UNET,
                       "--data.batches_on_device", str(batches_on_device).lower())  # fmt: skip
    # the later --trainer.devices 2 overrides folder_args' 1
    command = [sys.executable, "train.py", "fit", *args, "--trainer.devices", "2", "--trainer.strategy", "ddp",
               "--trainer.max_epochs", "2"]  # fmt: skip
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    # 4 training images x 2 patches = 8 patches, batch 4: one step per rank per epoch (two on one process)
    assert checkpoint["global_step"] == 2
    assert (tmp_path / "checkpoints" / "config.yaml").is_file()
