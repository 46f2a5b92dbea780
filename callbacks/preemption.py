"""Stopping safely when the process is told to stop (SIGTERM from a scheduler, a pre-empted node).

Lightning turns SIGTERM into a ``SIGTERMException`` at the end of the current training batch (all DDP
ranks together) and exits with status 0, which a scheduler reads as success. ``PreemptionCheckpoint``
writes ``last.ckpt`` at that point, mid-epoch: the loops' progress is in it, and the DataModule skips
the batches the epoch already trained on when it resumes (every draw is a function of the epoch and
the position), so ``--ckpt_path last`` ends with the weights of an uninterrupted run. ``train.py``
then exits with status 143 (128 + SIGTERM). ``AtomicCheckpointIO`` writes every checkpoint to a
temporary file in the same folder and renames it into place, so a kill while saving never leaves a
truncated ``last.ckpt``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO
from pytorch_lightning.trainer.states import TrainerFn
from pytorch_lightning.utilities.exceptions import SIGTERMException

SIGTERM_EXIT_STATUS = 143  # 128 + SIGTERM, what a shell reports for a process ended by SIGTERM


class PreemptionCheckpoint(pl.Callback):
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, SIGTERMException) or trainer.state.fn != TrainerFn.FITTING:
            return
        checkpoint = trainer.checkpoint_callback
        folder = Path(getattr(checkpoint, "dirpath", None) or Path(trainer.default_root_dir) / "checkpoints")
        path = folder / "last.ckpt"
        trainer.save_checkpoint(path)
        if trainer.is_global_zero:
            print(
                f"Stopped by SIGTERM at step {trainer.global_step} (epoch {trainer.current_epoch}, mid-epoch); "
                f"the run is saved in {path}: resume it with --ckpt_path last."
            )


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` to a temporary file beside the target, then an atomic rename over it."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                torch.save(checkpoint, stream)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
