"""Accuracy of ``noise.estimation.estimate_sigma`` on real photographs with synthetic Gaussian noise.

    python benchmarks/noise_estimation.py            # BSD68 and Set12, sigma in {5, 15, 25, 50}

For every image and sigma: the estimate on the 8-bit scale, with weak-textured patch selection (the
default) and without it (Chen et al. 2015 on all patches). Records (mean and largest relative error per
set, sigma and variant) go to benchmarks/results/noise_estimation.json.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from benchmarks.common import append_records, commit, device_name, shared_data
from datamodules import BSD
from noise.estimation import estimate_sigma

SIGMAS = (5, 15, 25, 50)


def clean_images(root, name: str) -> list[torch.Tensor]:
    images, _ = BSD(str(root), test_set=name).load_split("test")
    return [torch.from_numpy(image).permute(2, 0, 1).double() for image in images]


def main() -> None:
    root = shared_data()
    records = []
    for name in ("BSD68", "Set12"):
        images = clean_images(root, name)
        for sigma in SIGMAS:
            generator = torch.Generator().manual_seed(sigma)
            noisy = [x + sigma / 255 * torch.randn(x.shape, generator=generator, dtype=torch.float64) for x in images]
            for weak_texture in (True, False):
                started = time.perf_counter()
                estimates = np.array([estimate_sigma(y, weak_texture=weak_texture) * 255 for y in noisy])
                seconds = time.perf_counter() - started
                errors = np.abs(estimates - sigma) / sigma
                record = {
                    "method": "estimate_sigma" + ("" if weak_texture else " (all patches)"),
                    "dataset": name.lower(),
                    "noise": f"gaussian{sigma}",
                    "weak_texture": weak_texture,
                    "images": len(images),
                    "mean_estimate": round(float(estimates.mean()), 3),
                    "mean_relative_error": round(float(errors.mean()), 4),
                    "median_relative_error": round(float(np.median(errors)), 4),
                    "max_relative_error": round(float(errors.max()), 4),
                    "within_10_percent": round(float((errors <= 0.1).mean()), 4),
                    "psnr": None,
                    "ssim": None,
                    "seconds": round(seconds, 2),
                    "steps": None,
                    "device": device_name(),
                    "commit": commit(),
                    "command": "python " + " ".join(sys.argv),
                }
                print({k: record[k] for k in ("dataset", "noise", "weak_texture", "mean_relative_error",
                                              "max_relative_error", "within_10_percent")}, flush=True)  # fmt: skip
                records.append(record)
    append_records("noise_estimation", records)


if __name__ == "__main__":
    main()
