"""Single-image Noise2Self on scikit-image's `camera` (clipped Gaussian noise, variance 0.01), the
reference notebook's recipe (8-layer DnCNN, width-4 interpolating grid masker, Adam lr 0.01, 500
iterations, model chosen by the held-out phase's loss), and J-invariant calibration of NL-means on
the same noisy image. Reference on this machine (DESIGN): 26.30 dB single pass, 25.99 dB
J-invariant, noisy 20.46 dB, 1,358 s of training.

    python benchmarks/camera_n2s.py            # both parts
    python benchmarks/camera_n2s.py --skip-n2s # calibration only
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.util import img_as_float, random_noise

from benchmarks.common import append_records, commit, device_name
from classical.calibration import calibrate
from core.masking import j_invariant_reconstruction
from zero_shot.noise2self import fit_noise2self

NL_MEANS_GRID = {
    "h": [0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16],
    "patch_size": [5],
    "patch_distance": [6],
    "fast_mode": [True],
}


def scores(clean: np.ndarray, image: np.ndarray) -> tuple[float, float]:
    image = np.clip(image, 0, 1)
    return float(peak_signal_noise_ratio(clean, image, data_range=1.0)), float(
        structural_similarity(clean, image, data_range=1.0)
    )


def record(method: str, psnr: float, ssim: float, seconds: float, steps, **extra) -> dict:
    return {"method": method, "dataset": "camera", "noise": "gaussian_var0.01_clipped", "psnr": round(psnr, 3),
            "ssim": round(ssim, 4), "seconds": round(seconds, 1), "steps": steps, "device": device_name(),
            "commit": commit(), **extra}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-n2s", action="store_true")
    parser.add_argument("--skip-calibration", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    clean = img_as_float(data.camera())
    noisy = random_noise(clean, mode="gaussian", var=0.01, rng=args.seed)  # clipped to [0, 1], as in the notebook
    noisy_psnr, noisy_ssim = scores(clean, noisy)
    print(f"noisy: {noisy_psnr:.2f} dB")
    if not args.skip_n2s:
        result = fit_noise2self(torch.from_numpy(noisy).float()[None], seed=args.seed)
        psnr, ssim = scores(clean, result.denoised[0].numpy())
        with torch.no_grad():
            j_inv = j_invariant_reconstruction(result.network, torch.from_numpy(noisy).float()[None, None], 4)
        j_psnr, j_ssim = scores(clean, j_inv[0, 0].numpy())
        print(f"noise2self: single {psnr:.2f} dB, J-invariant {j_psnr:.2f} dB, {result.seconds:.0f} s")
        command = "python benchmarks/camera_n2s.py --skip-calibration"
        append_records("camera_n2s", [
            record("n2s", psnr, ssim, result.seconds, 500, inference="single", noisy_psnr=round(noisy_psnr, 3),
                   best_iteration=result.best_iteration, reference_psnr=26.30, reference_seconds=1358, command=command),
            record("n2s", j_psnr, j_ssim, result.seconds, 500, inference="j_invariant", noisy_psnr=round(noisy_psnr, 3),
                   reference_psnr=25.99, command=command),
        ])  # fmt: skip
    if not args.skip_calibration:
        started = time.perf_counter()
        result = calibrate(noisy, "nl_means", NL_MEANS_GRID, clean=clean)
        seconds = time.perf_counter() - started
        print(result.report())
        best = result.best_on_grid
        append_records("camera_n2s", [
            record("nl_means_calibrated", result.chosen.psnr, scores(clean, result.denoised)[1], seconds, None,
                   chosen=result.chosen.parameters, best_on_grid=best.parameters, best_on_grid_psnr=round(best.psnr, 3),
                   gap_db=round(best.psnr - result.chosen.psnr, 3), noisy_psnr=round(noisy_psnr, 3),
                   grid=NL_MEANS_GRID, command="python benchmarks/camera_n2s.py --skip-n2s"),
        ])  # fmt: skip


if __name__ == "__main__":
    main()
