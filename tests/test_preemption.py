"""A SIGTERM mid-epoch: a resumable checkpoint, a non-zero exit, and a resume that ends with the
weights of an uninterrupted run; checkpoints are written atomically."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from callbacks.preemption import SIGTERM_EXIT_STATUS, AtomicCheckpointIO
from cli import DenoisingCLI, main
from tests.conftest import TINY_UNET, folder_args


class TerminateAt(pl.Callback):
    """Sends this process SIGTERM during training step ``step``, as a scheduler would."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def _args(folder: Path, root: Path, *extra: str) -> list[str]:
    # 6 images - 2 for validation = 4, x 3 patches / batch 4 = 3 steps per epoch
    return ["fit", *folder_args(folder, root, "--model", "lightning_modules.R2R", *TINY_UNET,
                                "--data.patches_per_image", "3", "--trainer.max_epochs", "3", *extra)]  # fmt: skip


def _weights(root: Path) -> dict:
    return torch.load(root / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]


@pytest.mark.parametrize("data", [(), ("--data.batches_on_device", "true")], ids=["per-sample", "on-device"])
def test_sigterm_mid_epoch_exits_non_zero_and_resumes_to_the_same_weights(
    image_folder: Path, tmp_path: Path, monkeypatch, data: tuple[str, ...]
):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    main(_args(image_folder, straight, *data))

    original = DenoisingCLI.instantiate_trainer

    def with_terminator(self, **kwargs):
        trainer = original(self, **kwargs)
        trainer.callbacks.append(TerminateAt(step=4))  # the second of epoch 1's three steps
        return trainer

    monkeypatch.setattr(DenoisingCLI, "instantiate_trainer", with_terminator)
    with pytest.raises(SystemExit) as stop:
        main(_args(image_folder, stopped, *data))
    assert stop.value.code == SIGTERM_EXIT_STATUS
    saved = torch.load(stopped / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert saved["global_step"] == 5 and saved["epoch"] == 1  # mid-epoch: step 4 finished, then stopped

    monkeypatch.setattr(DenoisingCLI, "instantiate_trainer", original)
    resumed = main([*_args(image_folder, stopped, *data), "--ckpt_path", "last"])
    assert resumed.trainer.global_step == 9
    assert isinstance(resumed.trainer.strategy.checkpoint_io, AtomicCheckpointIO)  # train.py's checkpoints
    expected, actual = _weights(straight), _weights(stopped)
    for name in expected:
        assert torch.equal(expected[name], actual[name]), name


def test_a_checkpoint_write_that_fails_leaves_the_previous_file_whole(tmp_path: Path, monkeypatch):
    target = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"step": 1}, target)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # stands for a kill while the new checkpoint is being written

    monkeypatch.setattr(torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left behind
