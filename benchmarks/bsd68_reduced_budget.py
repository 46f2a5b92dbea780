"""Train400 -> BSD68 at sigma=25 on a reduced CPU budget, for the methods that share the R2R recipe
(DnCNN-17, 40x40 patches, Adam 1e-3 dropping tenfold at 60% of training), tested with each
inference the method offers. Records go to benchmarks/results/<experiment>.json as they come.

    python benchmarks/bsd68_reduced_budget.py --experiment r2r_bsd68 --steps 1000 --batch-size 32
    python benchmarks/bsd68_reduced_budget.py --experiment n2s_bsd68 --steps 1000 --batch-size 32

The full recipes are `configs/experiments/{r2r,n2s}_bsd68.yaml` (1,600 steps x 50 epochs, batch 128).
"""

from __future__ import annotations

import argparse
import sys
import time

import pytorch_lightning as pl
import torch
from torch.utils.data import Subset

from benchmarks.common import append_records, commit, device_name, shared_data
from cli import main
from datamodules import BSD
from lightning_modules.loading import load_method
from noise import Gaussian

# (inference overrides, label of the K column) per experiment; K = 0 means no Monte-Carlo averaging
INFERENCES = {
    "r2r_bsd68": [
        ({"inference": "single"}, 0),
        ({"inference": "mc", "mc_samples": 1}, 1),
        ({"inference": "mc", "mc_samples": 50}, 50),
    ],
    "n2s_bsd68": [({"inference": "single"}, 0), ({"inference": "j_invariant"}, 0)],
    "n2v_bsd68": [({}, 0)],
}


NETWORKS = {"r2r_bsd68": "DnCNN-17 (64 ch)", "n2s_bsd68": "DnCNN-17 (64 ch)", "n2v_bsd68": "UNet depth 2, 96 ch, BN"}
PATCH = {"r2r_bsd68": 40, "n2s_bsd68": 40, "n2v_bsd68": 64}


def schedule_overrides(experiment: str, drop: int) -> list[str]:
    """MultiStepLR recipes drop at 60% of the shortened run; N2V keeps its ReduceLROnPlateau."""
    if experiment == "n2v_bsd68":
        return []
    return ["--model.init_args.lr_scheduler.init_args.milestones", f"[{drop}]"]


def train(args, data_root) -> tuple[str, float, int]:
    steps_per_epoch = 400 * args.patches_per_image // args.batch_size
    epochs = max(1, round(args.steps / steps_per_epoch))
    drop = max(1, round(epochs * 0.6))  # the R2R recipe drops the lr at 30 of 50 epochs
    started = time.perf_counter()
    cli = main(
        [
            "fit", "-c", f"configs/experiments/{args.experiment}.yaml",
            "--data.init_args.root", str(data_root),
            "--data.init_args.batch_size", str(args.batch_size),
            "--data.init_args.patches_per_image", str(args.patches_per_image),
            "--data.init_args.num_workers", "1",
            "--trainer.max_epochs", str(epochs),
            *schedule_overrides(args.experiment, drop),
            "--trainer.default_root_dir", f"runs/bench_{args.experiment}",
            "--trainer.logger", "false",
        ]
    )  # fmt: skip
    return cli.trainer.checkpoint_callback.last_model_path, time.perf_counter() - started, cli.trainer.global_step


def test(checkpoint: str, data_root, overrides: dict, images: int | None = None) -> tuple[dict, float]:
    model = load_method(checkpoint, **overrides)
    data = BSD(str(data_root), test_set="BSD68", noise=Gaussian(sigma=25))
    if images is not None:  # the first `images` of BSD68 (same noise as in the full set)
        data.setup("test")
        data.datasets["test"] = Subset(data.datasets["test"], range(images))
    trainer = pl.Trainer(
        accelerator="cpu", logger=False, enable_checkpointing=False, default_root_dir="runs/bench_test"
    )
    started = time.perf_counter()
    metrics = trainer.test(model, datamodule=data, verbose=False)[0]
    return metrics, time.perf_counter() - started


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", choices=sorted(INFERENCES), default="r2r_bsd68")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--patches-per-image", type=int, default=8)
    parser.add_argument("--checkpoint", help="skip training and test this checkpoint")
    parser.add_argument("--test-images", type=int, help="test on the first N BSD68 images only")
    parser.add_argument("--train-seconds", type=float, help="with --checkpoint: the training time its run printed")
    parser.add_argument("--mc", type=int, nargs="*", help="R2R: only these K (0 = single pass)")
    parser.add_argument("--inference", nargs="*", help="only these inferences (e.g. single j_invariant)")
    parser.add_argument(
        "--plain-inference", action="store_true", help="test with the trained network as is (no fast_inference copy)"
    )
    args = parser.parse_args()
    data_root = shared_data()
    if args.checkpoint:
        checkpoint, train_seconds = args.checkpoint, args.train_seconds
        steps = torch.load(checkpoint, map_location="cpu", weights_only=False)["global_step"]
    else:
        checkpoint, train_seconds, steps = train(args, data_root)
        print(f"trained {steps} steps in {train_seconds:.0f} s -> {checkpoint}")
    for overrides, k in INFERENCES[args.experiment]:
        if args.mc is not None and k not in args.mc:
            continue
        if args.inference is not None and overrides.get("inference", "single") not in args.inference:
            continue
        overrides = {**overrides, "fast_inference": not args.plain_inference}
        metrics, seconds = test(checkpoint, data_root, overrides, args.test_images)
        record = {
            "method": args.experiment.split("_")[0],
            "dataset": "bsd68",
            "noise": "gaussian25",
            "psnr": round(metrics["test/psnr"], 3),
            "ssim": round(metrics["test/ssim"], 4),
            "noisy_psnr": round(metrics["test/noisy_psnr"], 3),
            "inference": overrides.get("inference", "single"),
            "mc_samples": k,
            "fast_inference": overrides["fast_inference"],
            "seconds": round(train_seconds, 1) if train_seconds else None,
            "test_seconds": round(seconds, 1),
            "test_images": args.test_images or 68,
            "steps": steps,
            "batch_size": args.batch_size,
            "network": NETWORKS[args.experiment],
            "train_data": f"Train400 {PATCH[args.experiment]}x{PATCH[args.experiment]} patches",
            "device": device_name(),
            "commit": commit(),
            "command": "python " + " ".join(sys.argv),
        }
        print(record)
        append_records(args.experiment, [record])


if __name__ == "__main__":
    main_benchmark()
