"""Save the fully resolved config beside the checkpoints and send it to every logger (W&B).

``config.yaml`` always describes the latest training that wrote checkpoints there; when a resumed run
changes an option (a new learning rate, say), the earlier config is kept as ``config-1.yaml``, ... ."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.cli import SaveConfigCallback

from core.files import unused_path


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
        path = folder / self.config_filename
        if path.exists() and path.read_text() != text:
            # a resumed run with other options: the earlier config stays, as config-1.yaml, config-2.yaml, ...
            path.rename(unused_path(path))
        path.write_text(text)
        config = self.config.as_dict()
        config.pop("config", None)  # the list of -c file paths; their content is already merged in
        for logger in trainer.loggers:
            logger.log_hyperparams({"config": config})
