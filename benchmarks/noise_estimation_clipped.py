"""The noise estimator on clipped 8-bit noise: BSD68 with Gaussian noise at sigma 5-50, clipped to
[0, 255] and rounded as a saved 8-bit image is, against the nominal sigma and against the true
residual std (noisy - clean after clipping), and how many pixels clipping touched.

    python -m benchmarks.noise_estimation_clipped
"""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.common import append_records, commit, shared_data
from core.image_io import list_images, read_image
from noise.estimation import estimate_sigma


def main() -> None:
    images = [read_image(path, 1) for path in list_images(shared_data() / "BSD68")]
    record = {"benchmark": "noise_estimation_clipped", "dataset": "BSD68", "commit": commit(), "sigmas": {},
              "command": "python -m benchmarks.noise_estimation_clipped"}  # fmt: skip
    for sigma in (5, 15, 25, 50):
        rng = np.random.default_rng(sigma)
        estimates, residuals, clipped = [], [], []
        for image in images:
            noisy = np.round(np.clip(image * 255 + rng.normal(0, sigma, image.shape), 0, 255)) / 255
            estimates.append(255 * estimate_sigma(torch.from_numpy(noisy.transpose(2, 0, 1)).float()))
            residuals.append(255 * float(np.std(noisy - image)))
            clipped.append(float(np.mean((noisy == 0) | (noisy == 1))))
        estimates, residuals = np.array(estimates), np.array(residuals)
        record["sigmas"][str(sigma)] = {
            "mean_estimate": round(float(estimates.mean()), 2), "mean_residual_std": round(float(residuals.mean()), 2),
            "mean_estimate_over_sigma": round(float((estimates / sigma).mean()), 3),
            "mean_estimate_over_residual": round(float((estimates / residuals).mean()), 3),
            "mean_clipped_fraction": round(float(np.mean(clipped)), 4),
        }  # fmt: skip
        print(sigma, record["sigmas"][str(sigma)], flush=True)
    append_records("noise_estimation_clipped", [record])


if __name__ == "__main__":
    main()
