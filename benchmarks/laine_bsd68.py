"""Laine et al. blind-spot network on the real Train400 -> BSD68 at sigma=25 (known), reduced CPU
budget: posterior-mean vs prior-mean PSNR from the same network pass, on every BSD68 image.

    python benchmarks/laine_bsd68.py --steps 400 --patch-size 64

The full recipe is configs/experiments/laine_bsd68.yaml (500k steps of 4 crops of 128x128).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from benchmarks.common import append_records, commit, device_name, shared_data
from cli import main
from core.metrics import per_image_psnr, per_image_ssim
from datamodules import BSD
from lightning_modules import BlindSpot
from noise import Gaussian


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--checkpoint", help="skip training and test this checkpoint")
    parser.add_argument("--patch-size", type=int, default=64)
    parser.add_argument("--test-images", type=int, default=68)
    parser.add_argument("--test-crop", type=int, help="test on centre crops of this size (as trained) too")
    args = parser.parse_args()
    data_root = shared_data()
    if args.checkpoint:
        checkpoint, train_seconds = args.checkpoint, None
    else:
        started = time.perf_counter()
        cli = main(
            [
                "fit", "-c", "configs/experiments/laine_bsd68.yaml",
                "--data.init_args.root", str(data_root),
                "--data.init_args.patch_size", str(args.patch_size),
                "--data.init_args.num_workers", "1",
                "--trainer.max_steps", str(args.steps),
                "--model.init_args.lr_scheduler.init_args.total_steps", str(args.steps),
                "--trainer.default_root_dir", "runs/bench_laine_bsd68",
                "--trainer.logger", "false",
                "--trainer.limit_val_batches", "2",
            ]
        )  # fmt: skip
        train_seconds = time.perf_counter() - started
        checkpoint = cli.trainer.checkpoint_callback.last_model_path
    model = BlindSpot.load_from_checkpoint(checkpoint, map_location="cpu").eval()
    steps = torch.load(checkpoint, map_location="cpu", weights_only=False)["global_step"]
    data = BSD(str(data_root), test_set="BSD68", noise=Gaussian(sigma=25))
    data.setup("test")
    scores = {"posterior": [], "prior": [], "noisy": []}
    started = time.perf_counter()
    with torch.no_grad():
        for index in range(args.test_images):
            sample = data.datasets["test"][index]
            noisy, clean = sample["noisy"][None], sample["clean"][None]
            if args.test_crop:
                top = (noisy.shape[-2] - args.test_crop) // 2
                left = (noisy.shape[-1] - args.test_crop) // 2
                window = (..., slice(top, top + args.test_crop), slice(left, left + args.test_crop))
                noisy, clean = noisy[window], clean[window]
            posterior, prior = model.denoise_both(noisy, {"sigma": sample["sigma"][None]})
            for name, image in (("posterior", posterior), ("prior", prior), ("noisy", noisy)):
                scores[name].append((per_image_psnr(image, clean).item(), per_image_ssim(image, clean).item()))
    test_seconds = time.perf_counter() - started
    mean = {k: [sum(v[i] for v in values) / len(values) for i in (0, 1)] for k, values in scores.items()}
    print({k: round(v[0], 3) for k, v in mean.items()})
    records = [
        {
            "method": "laine", "dataset": "bsd68", "noise": "gaussian25", "inference": name,
            "psnr": round(mean[name][0], 3), "ssim": round(mean[name][1], 4), "noisy_psnr": round(mean["noisy"][0], 3),
            "seconds": round(train_seconds, 1) if train_seconds else None, "test_seconds": round(test_seconds, 1),
            "steps": steps,
            "batch_size": 4, "patch_size": args.patch_size, "test_images": args.test_images,
            "test_crop": args.test_crop,
            "network": "BlindSpotUNet (48/96 ch, 5 poolings)", "device": device_name(), "commit": commit(),
            "command": "python " + " ".join(sys.argv),
        }
        for name in ("posterior", "prior")
    ]  # fmt: skip
    append_records("laine_bsd68", records)


if __name__ == "__main__":
    main_benchmark()
