"""The papers' BSD68 recipes on one GPU within a time budget, through train.py with
configs/trainer/gpu.yaml, tested on all 68 BSD68 images in float32.

- ``r2r``: configs/experiments/r2r_bsd68.yaml (Pang et al. 2021: DnCNN-17, 40x40, batch 128, Adam
  1e-3 -> 1e-4 after 60% of the steps, test with K=50 recorrupted passes); published ~29.1 dB.
- ``n2v``: configs/experiments/n2v_bsd68.yaml (the N2V BSD68 notebook: U-Net depth 2 / 96 channels,
  64x64, batch 128, Adam 4e-4, ReduceLROnPlateau on val/loss every 400 steps); published 27.71 dB.

The full recipes are 80,000 steps each. ``--seconds`` caps the training time: after 100 steps the
measured step time fixes how many steps fit (at most the full recipe), and R2R's learning-rate drop
moves to 60% of them, as in the recipe (30 of 50 epochs).

    python -m benchmarks.gpu.recipes --recipe r2r --seconds 100 --output gpu_recipes.json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytorch_lightning as pl
import torch

from benchmarks.common import commit, device_name
from benchmarks.gpu.smoke import fit

RECIPES = {
    "r2r": {"config": "r2r_bsd68", "full_steps": 80_000, "milestone": 0.6, "published": 29.1,
            "reference": "Pang et al. CVPR 2021, BSD68 sigma=25 (~29.1 dB)",
            "extra": ["--model.init_args.scheduler_interval", "step",
                      "--model.init_args.lr_scheduler.init_args.milestones", "[48000]"]},
    "n2v": {"config": "n2v_bsd68", "full_steps": 80_000, "milestone": None, "published": 27.71,
            "reference": "Krull et al. CVPR 2019, BSD68 sigma=25 (27.71 dB); CAREamics 26.3-26.4",
            "extra": []},
}  # fmt: skip


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class StepBudget(pl.Callback):
    """Fixes the number of training steps from the step time measured over steps ``measure``, so
    that training ends about ``seconds`` after it started; moves a MultiStepLR milestone to
    ``milestone`` of them."""

    def __init__(self, seconds: float, full_steps: int, milestone: float | None, measure=(50, 100)) -> None:
        self.seconds, self.full_steps, self.milestone, self.measure = seconds, full_steps, milestone, measure
        self.start = self.mark = 0.0
        self.step_seconds = float("nan")

    def on_train_start(self, trainer, pl_module) -> None:
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step == self.measure[0]:
            synchronize()
            self.mark = time.perf_counter()
        elif step == self.measure[1]:
            synchronize()
            now = time.perf_counter()
            self.step_seconds = (now - self.mark) / (self.measure[1] - self.measure[0])
            remaining = self.seconds - (now - self.start)
            steps = min(self.full_steps, step + max(0, int(0.95 * remaining / self.step_seconds)))
            trainer.fit_loop.epoch_loop.max_steps = steps
            if self.milestone is not None:
                for config in trainer.lr_scheduler_configs:
                    config.scheduler.milestones = Counter({int(self.milestone * steps): 1})
            print(f"step budget: {self.step_seconds * 1e3:.2f} ms/step -> {steps} steps", flush=True)


def run(name: str, seconds: float, root_data: str, measure=(50, 100), test_images: int | None = None,
        mc_samples: int | None = None) -> dict:  # fmt: skip
    recipe = RECIPES[name]
    budget = StepBudget(seconds, recipe["full_steps"], recipe["milestone"], measure)
    with tempfile.TemporaryDirectory() as root:
        extra = [*recipe["extra"], "--trainer.max_steps", str(recipe["full_steps"])]
        if not torch.cuda.is_available():  # the end-to-end check on a CPU
            extra += ["--trainer.accelerator", "cpu", "--trainer.precision", "32",
                      "--model.init_args.compile_network", "false"]  # fmt: skip
        start = time.perf_counter()
        try:
            cli = fit(recipe["config"], Path(root), root_data, extra, [budget])
        except Exception as error:  # a failed compilation should not cost the whole recipe
            print(f"training with torch.compile failed ({type(error).__name__}: {error}); again without", flush=True)
            budget.seconds -= time.perf_counter() - start
            extra += ["--model.init_args.compile_network", "false"]
            cli = fit(recipe["config"], Path(root) / "uncompiled", root_data, extra, [budget])
        synchronize()
        train_seconds = time.perf_counter() - start
        tester = pl.Trainer(
            accelerator="gpu" if torch.cuda.is_available() else "cpu", devices=1, precision="32-true", logger=False,
            default_root_dir=root, enable_progress_bar=False, limit_test_batches=test_images,
        )  # fmt: skip
        if mc_samples is not None and hasattr(cli.model, "mc_samples"):
            cli.model.mc_samples = mc_samples
        start = time.perf_counter()
        tester.test(cli.model, datamodule=cli.datamodule)
        test_seconds = time.perf_counter() - start
        with (Path(root) / "test_results.csv").open() as handle:
            rows = list(csv.DictReader(handle))
    mean = {key: sum(float(r[key]) for r in rows) / len(rows) for key in ("psnr", "ssim", "noisy_psnr")}
    model = cli.model
    return {
        "method": name, "dataset": "BSD68", "noise": "gaussian25", "config": f"{recipe['config']}.yaml + gpu.yaml",
        "steps": cli.trainer.global_step, "full_recipe_steps": recipe["full_steps"],
        "batch": cli.datamodule.batch_size, "patch": cli.datamodule.patch_size,
        "step_ms": round(budget.step_seconds * 1e3, 3), "seconds": round(train_seconds, 1),
        "test_seconds": round(test_seconds, 1), "test_images": len(rows),
        "psnr": round(mean["psnr"], 3), "ssim": round(mean["ssim"], 4), "noisy_psnr": round(mean["noisy_psnr"], 3),
        "published_psnr": recipe["published"], "published": recipe["reference"],
        "inference": f"mc, K={model.mc_samples}" if name == "r2r" else "single pass",
        "training_noise": "fresh every epoch (the per-epoch redraw of data.noise)",
        "precision": f"train {cli.trainer.precision}, test float32"
        + (" (TF32 convolutions)" if torch.cuda.is_available() else ""),
        "compiled": cli.model._compiled_network is not None,
        "device": device_name(), "commit": commit(), "torch": torch.__version__,
        "command": "python -m benchmarks.gpu.recipes " + " ".join(sys.argv[1:]),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", choices=sorted(RECIPES), required=True)
    parser.add_argument("--seconds", type=float, default=100.0, help="training time budget")
    parser.add_argument("--root", default="data")
    parser.add_argument("--output", type=Path, default=Path("gpu_recipes.json"))
    parser.add_argument("--measure", default="50,100", help="the steps between which the step time is measured")
    parser.add_argument("--test-images", type=int, default=None, help="test on the first N images (default: all)")
    parser.add_argument("--mc-samples", type=int, default=None, help="override R2R's K (default: the config's 50)")
    args = parser.parse_args()
    measure = tuple(int(v) for v in args.measure.split(","))
    record = run(args.recipe, args.seconds, args.root, measure, args.test_images, args.mc_samples)
    print(json.dumps(record), flush=True)
    existing = json.loads(args.output.read_text()) if args.output.exists() else []
    args.output.write_text(json.dumps([*existing, record], indent=2) + "\n")


if __name__ == "__main__":
    main()
