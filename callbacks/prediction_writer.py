"""Write the images of ``train.py predict`` to disk as 8-bit PNGs named after their inputs."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytorch_lightning as pl
from pytorch_lightning.callbacks import BasePredictionWriter


class DenoisedImageWriter(BasePredictionWriter):
    """Saves every denoised image to ``output_dir`` (default: ``<default_root_dir>/predictions``)."""

    def __init__(self, output_dir: str | None = None) -> None:
        super().__init__(write_interval="batch")
        self.output_dir = output_dir

    def write_on_batch_end(self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx):
        folder = Path(self.output_dir or Path(trainer.default_root_dir) / "predictions")
        folder.mkdir(parents=True, exist_ok=True)
        names = batch.get("name") or [f"{batch_idx}_{i}" for i in range(len(prediction))]
        for name, image in zip(names, prediction, strict=True):
            array = (image.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
            iio.imwrite(folder / f"{name}.png", array.squeeze(-1) if array.shape[-1] == 1 else array)

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            print(
                f"Denoised images written to {Path(self.output_dir or Path(trainer.default_root_dir) / 'predictions')}"
            )
