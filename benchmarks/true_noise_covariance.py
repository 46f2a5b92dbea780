"""The covariance of the true residuals (noisy - clean) of noisy/clean pairs, printed as R2R's ``noise:
correlated`` options: the oracle against which ``python -m noise.covariance`` (which reads the noisy images
alone) is compared. Training R2R with these options uses the clean references, so a row trained with them is
an upper reference, not a self-supervised result.

    python -m benchmarks.true_noise_covariance data/Nam_real_noise    # noisy/NN_noise.png, clean/NN_gt.png

The autocorrelation R(dy, dx) = 1 - E[(r(p + d) - r(p))^2] / (2 Var r), per image and channel, averaged; the
channel covariance is that of the residuals' channels over all images' pixels together, on the 8-bit scale.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.real_noise import load_pairs
from noise.covariance import RADIUS


def true_covariance(pairs: list[tuple[str, torch.Tensor, torch.Tensor]], radius: int = RADIUS) -> dict:
    size = 2 * radius + 1
    autocorrelation = torch.zeros(size, size, dtype=torch.float64)
    channels = torch.cov(torch.cat([(noisy - clean).double().flatten(1) for _, noisy, clean in pairs], dim=1))
    for _, noisy, clean in pairs:
        residual = (noisy - clean).double()
        height, width = residual.shape[1] - radius, residual.shape[2] - 2 * radius
        base = residual[:, :height, radius : radius + width]
        for dy in range(0, radius + 1):
            for dx in range(-radius, radius + 1):
                shifted = residual[:, dy : dy + height, radius + dx : radius + dx + width]
                rho = 1 - (shifted - base).pow(2).mean((1, 2)) / (2 * residual.var((1, 2)))
                autocorrelation[radius + dy, radius + dx] += rho.mean()
    autocorrelation /= len(pairs)
    autocorrelation[:radius] = autocorrelation[radius + 1 :].flip(0, 1)  # R(-d) = R(d)
    autocorrelation[radius, :radius] = autocorrelation[radius, radius + 1 :].flip(0)
    return {
        "autocorrelation": [[round(float(v), 3) for v in row] for row in autocorrelation],
        "channel_covariance": [[round(float(v), 2) for v in row] for row in channels * 255**2],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pairs", type=Path, help="a folder with noisy/NN_noise.png and clean/NN_gt.png")
    parser.add_argument("--images", type=int, default=25, help="the first N scenes")
    args = parser.parse_args(argv)
    options = true_covariance(load_pairs(args.pairs, args.images))
    for key, value in options.items():
        print(f"{key}: {value}".replace(" ", ""))
    return options


if __name__ == "__main__":
    main()
