"""Seconds per network pass at test time, plain network vs ``fast_inference``'s evaluation copy (batch norm
folded, channels-last), side by side on the same input: DnCNN-17 (R2R / Noise2Self BSD68 recipes) on a
481x321 gray image, the size of a BSD68 test image.

    python benchmarks/inference_speed.py

Records go to benchmarks/results/inference_speed.json.
"""

from __future__ import annotations

import sys
import time

import torch

from benchmarks.common import append_records, commit, device_name
from networks import DnCNN
from networks.evaluation_copy import evaluation_copy


def seconds_per_pass(network, image, repeats: int) -> float:
    with torch.inference_mode():
        network(image)  # warm-up: oneDNN picks and caches its kernels
        started = time.perf_counter()
        for _ in range(repeats):
            network(image)
    return (time.perf_counter() - started) / repeats


def main(repeats: int = 5) -> None:
    torch.manual_seed(0)
    network = DnCNN(in_channels=1, depth=17, width=64).eval()
    image = torch.rand(1, 1, 321, 481)
    fast = evaluation_copy(network)
    with torch.inference_mode():
        difference = float((fast(image) - network(image)).abs().max())
    records = []
    for _ in range(2):  # alternate, so that a slow moment of the machine hits both
        for name, model in (("plain", network), ("fast_inference", fast)):
            records.append({"variant": name, "seconds": seconds_per_pass(model, image, repeats)})
    summary = []
    for name in ("plain", "fast_inference"):
        best = min(r["seconds"] for r in records if r["variant"] == name)
        summary.append({
            "method": "inference", "variant": name, "network": "DnCNN-17 (64 ch, BN)", "dataset": "481x321 gray",
            "noise": None, "psnr": None, "ssim": None, "seconds": round(best, 3), "steps": repeats,
            "max_abs_output_difference": difference, "device": device_name(), "commit": commit(),
            "command": "python " + " ".join(sys.argv),
        })  # fmt: skip
        print(f"{name}: {best:.3f} s per pass (best of 2 x {repeats})")
    append_records("inference_speed", summary)


if __name__ == "__main__":
    main()
