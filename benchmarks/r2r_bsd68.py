"""R2R on the real Train400 -> BSD68 at sigma=25, reduced CPU budget; test PSNR for a single clean
pass, K = 1 and K = 50 recorrupted passes (the official test uses K = 50).

    python benchmarks/r2r_bsd68.py --steps 1000 --batch-size 32

The full recipe (1,600 steps x 50 epochs at batch 128) is `configs/experiments/r2r_bsd68.yaml`.
Records go to benchmarks/results/r2r_bsd68.json as they are measured.
"""

from __future__ import annotations

import argparse
import time

import pytorch_lightning as pl

from benchmarks.common import append_records, commit, device_name, shared_data
from cli import main
from datamodules import ImageFolder
from lightning_modules import R2R
from noise import Gaussian


def train(args, data_root) -> tuple[str, float, int]:
    steps_per_epoch = 400 * args.patches_per_image // args.batch_size
    epochs = max(1, round(args.steps / steps_per_epoch))
    drop = max(1, round(epochs * 0.6))  # the recipe drops the lr at 30 of 50 epochs
    started = time.perf_counter()
    cli = main(
        [
            "fit", "-c", "configs/experiments/r2r_bsd68.yaml",
            "--data.init_args.train_dir", str(data_root / "Train400"),
            "--data.init_args.val_dir", str(data_root / "Set12"),
            "--data.init_args.test_dir", str(data_root / "BSD68"),
            "--data.init_args.batch_size", str(args.batch_size),
            "--data.init_args.patches_per_image", str(args.patches_per_image),
            "--data.init_args.num_workers", "1",
            "--trainer.max_epochs", str(epochs),
            "--model.init_args.lr_scheduler.init_args.milestones", f"[{drop}]",
            "--trainer.default_root_dir", args.root,
            "--trainer.logger", "false",
        ]
    )  # fmt: skip
    return cli.trainer.checkpoint_callback.last_model_path, time.perf_counter() - started, cli.trainer.global_step


def test(checkpoint: str, data_root, inference: str, mc_samples: int) -> tuple[dict, float]:
    model = R2R.load_from_checkpoint(checkpoint, map_location="cpu", inference=inference, mc_samples=mc_samples)
    data = ImageFolder(
        str(data_root / "Train400"), test_dir=str(data_root / "BSD68"), noise=Gaussian(sigma=25), channels=1
    )
    trainer = pl.Trainer(
        accelerator="cpu", logger=False, enable_checkpointing=False, default_root_dir="runs/bench_r2r_test"
    )
    started = time.perf_counter()
    metrics = trainer.test(model, datamodule=data, verbose=False)[0]
    return metrics, time.perf_counter() - started


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--patches-per-image", type=int, default=8)
    parser.add_argument("--root", default="runs/bench_r2r_bsd68")
    parser.add_argument("--checkpoint", help="skip training and test this checkpoint")
    parser.add_argument("--mc", type=int, nargs="+", default=[0, 1, 50], help="K values; 0 = single clean pass")
    args = parser.parse_args()
    data_root = shared_data()
    if args.checkpoint:
        checkpoint, train_seconds, steps = args.checkpoint, None, None
    else:
        checkpoint, train_seconds, steps = train(args, data_root)
        print(f"trained {steps} steps in {train_seconds:.0f} s -> {checkpoint}")
    for k in args.mc:
        inference = "single" if k == 0 else "mc"
        metrics, seconds = test(checkpoint, data_root, inference, max(k, 1))
        record = {
            "method": "r2r",
            "dataset": "bsd68",
            "noise": "gaussian25",
            "psnr": round(metrics["test/psnr"], 3),
            "ssim": round(metrics["test/ssim"], 4),
            "noisy_psnr": round(metrics["test/noisy_psnr"], 3),
            "inference": inference,
            "mc_samples": k,
            "seconds": round(train_seconds, 1) if train_seconds else None,
            "test_seconds": round(seconds, 1),
            "steps": steps,
            "batch_size": args.batch_size,
            "network": "DnCNN-17 (64 ch)",
            "train_data": "Train400 40x40 patches",
            "device": device_name(),
            "commit": commit(),
            "command": "python benchmarks/r2r_bsd68.py "
            + f"--steps {args.steps} --batch-size {args.batch_size} --patches-per-image {args.patches_per_image}",
        }
        print(record)
        append_records("r2r_bsd68", [record])


if __name__ == "__main__":
    main_benchmark()
