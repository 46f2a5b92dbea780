"""Weights & Biases image panel: noisy | denoised | clean for a few fixed validation images."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger
from torch import Tensor


def side_by_side(*images: Tensor) -> Tensor:
    """Concatenate [C, H, W] images left to right, clamped to [0, 1], as an [H, W, C] array for W&B."""
    return torch.cat([image.clamp(0, 1) for image in images], dim=-1).permute(1, 2, 0).cpu().float()


class WandbImagePanel(pl.Callback):
    """Logs ``val/panel_<i>``: for the first ``num_images`` validation images, noisy | denoised | clean
    (clean only when the data has it). The images are the same every epoch, as is their noise, so the
    panels show training progress. Does nothing without a ``WandbLogger``."""

    def __init__(self, num_images: int = 4) -> None:
        self.num_images = num_images
        self._panels: list[Tensor] = []
        self._captions: list[str] = []

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._panels, self._captions = [], []
        logs = any(isinstance(logger, WandbLogger) for logger in trainer.loggers)
        # the module denoises the validation batches without a clean image only where a panel shows them
        pl_module.validation_images_shown = self.num_images if logs and trainer.is_global_zero else 0

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or not isinstance(outputs, dict):
            return
        for i in range(len(batch["noisy"])):
            if len(self._panels) >= self.num_images:
                return
            parts = [batch["noisy"][i], outputs["denoised"][i]]
            if "clean" in batch:
                parts.append(batch["clean"][i])
            self._panels.append(side_by_side(*parts).numpy())
            name = batch["name"][i] if "name" in batch else str(len(self._panels))
            self._captions.append(f"{name}: noisy | denoised" + (" | clean" if "clean" in batch else ""))

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._panels:
            return
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                # one key per image: W&B lays out a multi-image key badly when sizes differ
                for index, (panel, caption) in enumerate(zip(self._panels, self._captions, strict=True)):
                    logger.log_image(
                        key=f"val/panel_{index}", images=[panel], caption=[caption], step=trainer.global_step
                    )
        self._panels, self._captions = [], []
