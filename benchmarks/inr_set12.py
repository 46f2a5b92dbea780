"""Does INR early stopping land near the best PSNR of its own fitting trajectory? Set12, Gaussian noise.

    python benchmarks/inr_set12.py                  # all 12 images, sigma 25, estimated noise level
    python benchmarks/inr_set12.py --images 2 --sigma 15 50
    python benchmarks/inr_set12.py --first 10 --images 3   # images 10-12 (same noise as a full run)

For every image ``zero_shot.inr.fit_inr`` runs with its defaults (noise level estimated from the noisy
image, unless ``--given-sigma``) and the clean image alongside, so the PSNR of the fit is recorded
every 10 iterations. After the stop the fit goes on, only to find the trajectory's best: until its
PSNR has fallen ``--drop`` dB (default 0.5) below the best seen so far, or ``--max-iterations``.
Records (per image: stop and best iteration and PSNR, their gap; per set: the largest and mean gap) go
to benchmarks/results/inr_set12.json.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from benchmarks.common import append_records, commit, device_name, shared_data
from core.metrics import per_image_psnr
from datamodules import BSD
from zero_shot.inr import fit_inr


def passed_the_peak(drop_db: float):
    def keep_going(trajectory: list) -> bool:
        psnrs = [psnr for _, _, psnr in trajectory]
        return psnrs[-1] > max(psnrs) - drop_db

    return keep_going


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--first", type=int, default=1, help="start at this image (1-12), e.g. to resume")
    parser.add_argument("--sigma", type=float, nargs="+", default=[25.0])
    parser.add_argument("--max-iterations", type=int, default=3000)
    parser.add_argument("--drop", type=float, default=0.5)
    parser.add_argument("--given-sigma", action="store_true", help="give fit_inr the true sigma")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true", help="show a progress bar for each fit")
    args = parser.parse_args()
    images, _ = BSD(str(shared_data()), test_set="Set12").load_split("test")
    command = "python " + " ".join(sys.argv)
    records = []
    for sigma in args.sigma:
        generator = torch.Generator().manual_seed(args.seed)
        for index in range(args.first - 1):  # the same noise as a run from image 01
            torch.randn(images[index].transpose(2, 0, 1).shape, generator=generator)
        rows = []
        for index in range(args.first - 1, min(args.first - 1 + args.images, len(images))):
            image = images[index]
            clean = torch.from_numpy(image).permute(2, 0, 1).float()
            noisy = clean + sigma / 255 * torch.randn(clean.shape, generator=generator)
            result = fit_inr(
                noisy,
                sigma=sigma / 255 if args.given_sigma else None,
                max_iterations=args.max_iterations,
                clean=clean,
                seed=args.seed,
                progress=args.progress,
                after_stop=passed_the_peak(args.drop),
            )
            psnr_at = {iteration: psnr for iteration, _, psnr in result.trajectory}
            mse_at = {iteration: mse for iteration, mse, _ in result.trajectory}
            best_iteration = max(psnr_at, key=psnr_at.get)
            row = {
                "image": f"{index + 1:02d}",
                "size": list(clean.shape[1:]),
                "sigma_estimate": round(result.sigma * 255, 2),
                "stop_rule_fired": mse_at[result.stop_iteration] <= result.sigma**2,
                "stop_iteration": result.stop_iteration,
                "stop_psnr": round(psnr_at[result.stop_iteration], 3),
                "best_iteration": best_iteration,
                "best_psnr": round(psnr_at[best_iteration], 3),
                "gap_db": round(psnr_at[best_iteration] - psnr_at[result.stop_iteration], 3),
                "noisy_psnr": round(per_image_psnr(noisy[None], clean[None]).item(), 3),
                "followed_to": result.trajectory[-1][0],
                "seconds": round(result.seconds, 1),
            }
            rows.append(row)
            print(row, flush=True)
            # each image is recorded as it finishes: a long run cut short keeps what it measured
            append_records("inr_set12", [{"method": "inr_early_stopping_image", "noise": f"gaussian{sigma:g}",
                                          **row, "commit": commit(), "command": command}])  # fmt: skip
        gaps = np.array([row["gap_db"] for row in rows])
        summary = {
            "method": "inr_early_stopping",
            "dataset": f"set12_images{args.first:02d}-{args.first - 1 + len(rows):02d}",
            "noise": f"gaussian{sigma:g}",
            "sigma_given": args.given_sigma,
            "psnr": round(float(np.mean([row["stop_psnr"] for row in rows])), 3),
            "best_psnr": round(float(np.mean([row["best_psnr"] for row in rows])), 3),
            "noisy_psnr": round(float(np.mean([row["noisy_psnr"] for row in rows])), 3),
            "largest_gap_db": round(float(gaps.max()), 3),
            "mean_gap_db": round(float(gaps.mean()), 3),
            "within_1db": int((gaps <= 1.0).sum()),
            "per_image": rows,
            "seconds": round(sum(row["seconds"] for row in rows), 1),
            "device": device_name(),
            "commit": commit(),
            "command": command,
        }
        print({k: v for k, v in summary.items() if k != "per_image"}, flush=True)
        records.append(summary)
    append_records("inr_set12", records)


if __name__ == "__main__":
    main()
