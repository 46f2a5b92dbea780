"""The per-image table of a test run: ``test_results.csv`` in the run's folder (PSNR/SSIM of each
denoised image and of its noisy input), and one line with the means. Every ``DenoisingModule``
registers it (``configure_callbacks``), so a test writes the table with or without the CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.utilities import rank_zero_only

from core.files import unused_path

SCORES = ("psnr", "ssim", "noisy_psnr", "noisy_ssim")


class TestResultsWriter(Callback):
    """Collects the per-image scores a module's ``test_step`` returns ({score: [B] tensor}) and writes
    them, gathered from every DDP rank, to ``<default_root_dir>/<filename>`` (a new ``-1``, ``-2`` ...
    name when one exists)."""

    __test__ = False  # a class named Test* that pytest must not collect

    def __init__(self, filename: str = "test_results.csv") -> None:
        self.filename = filename
        self.rows: list[dict[str, float | str]] = []

    def on_test_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.rows = []

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        if not outputs:
            return
        names = batch.get("name", [f"{batch_idx}_{i}" for i in range(len(batch["noisy"]))])
        for i, name in enumerate(names):
            self.rows.append({"image": name, **{key: float(value[i]) for key, value in outputs.items()}})

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        rows = self.rows
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            gathered: list[list[dict]] = [[] for _ in range(torch.distributed.get_world_size())]
            torch.distributed.all_gather_object(gathered, rows)
            rows = [row for part in gathered for row in part]
        self._write(Path(trainer.default_root_dir), rows)

    @rank_zero_only
    def _write(self, root: Path, rows: list[dict[str, float | str]]) -> None:
        if not rows:
            return
        path = unused_path(root / self.filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        unique = {row["image"]: row for row in rows}  # DDP pads the last batch with repeats
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(unique.values())
        if "psnr" in rows[0]:
            mean = {key: sum(float(r[key]) for r in unique.values()) / len(unique) for key in SCORES}
            print(
                f"\nTest on {len(unique)} images: PSNR {mean['psnr']:.2f} dB, SSIM {mean['ssim']:.4f} "
                f"(noisy input: PSNR {mean['noisy_psnr']:.2f} dB, SSIM {mean['noisy_ssim']:.4f}). "
                f"Per-image results: {path}"
            )
