"""Save the fully resolved config beside the checkpoints and send it to every logger (W&B)."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.cli import SaveConfigCallback


class SaveConfigBesideCheckpoints(SaveConfigCallback):
    """At the start of ``fit``: writes ``config.yaml`` into the checkpoint folder, so every checkpoint
    sits next to the exact configuration that made it, and logs the config as hyperparameters."""

    def save_config(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        text = self.parser.dump(self.config, skip_none=False)
        checkpoint = trainer.checkpoint_callback
        folder = (
            Path(checkpoint.dirpath)
            if checkpoint is not None and checkpoint.dirpath
            else Path(trainer.default_root_dir)
        )
        folder.mkdir(parents=True, exist_ok=True)
        (folder / self.config_filename).write_text(text)
        config = self.config.as_dict()
        config.pop("config", None)  # the list of -c file paths; their content is already merged in
        for logger in trainer.loggers:
            logger.log_hyperparams({"config": config})
