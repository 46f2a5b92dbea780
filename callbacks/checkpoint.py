"""Checkpoints whose ``last.ckpt`` is really the last epoch.

Lightning 2.6's ``ModelCheckpoint`` with a monitor and ``save_last=True`` only rewrites ``last.ckpt``
when the epoch also produced a new top-k checkpoint: after an epoch that did not improve the
monitored metric, ``last.ckpt`` still holds the best epoch, so ``--ckpt_path last`` would silently
resume from an earlier epoch and a benchmark reading ``last.ckpt`` would test older weights. This
subclass writes ``last.ckpt`` after every epoch's checkpointing, improved or not.
"""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.trainer.states import TrainerFn


class LastEpochCheckpoint(ModelCheckpoint):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._last_written_step = -1

    def _write_last(self, trainer: pl.Trainer) -> None:
        if (
            not self.save_last
            or trainer.fast_dev_run
            or trainer.state.fn != TrainerFn.FITTING
            or trainer.sanity_checking
            or trainer.global_step == 0
            or self._last_written_step == trainer.global_step
        ):
            return
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        self._last_written_step = trainer.global_step

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._write_last(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._write_last(trainer)
