"""Synthetic pairs with spatially correlated noise on the Nam et al. clean references: white Gaussian
noise blurred by a Gaussian kernel of standard deviation ``blur`` pixels (so its correlation at lag d
is exp(-d^2 / (4 blur^2)): 0.78, 0.37, 0.11 at lags 1-3 for blur 1), rescaled to standard deviation
``sigma`` on the 8-bit scale, independent per colour channel, added to each clean image. Written in
the Nam layout (``noisy/<scene>_noise.png`` as 16-bit PNG, clipped to [0, 1]; ``clean/<scene>_gt.png``
copied) so ``benchmarks/real_noise.py --pairs`` runs every row on it:

    python -m benchmarks.correlated_noise_pairs --sigma 15 --blur 1 --out data/nam_correlated_s15
    python benchmarks/real_noise.py --pairs data/nam_correlated_s15 --out real_noise_correlated ...

What it is for: the PD rows of the real-noise table lose to the rows without PD on Nam's weak noise;
these sets keep a camera-like correlation and set the noise's strength, so whether PD gains what AP-BSN
reports can be measured against strength alone (README, Real camera noise).
"""

from __future__ import annotations

import argparse
import math
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.common import shared_data
from core.image_io import read_image, write_raw


def gaussian_kernel(blur: float) -> torch.Tensor:
    """A normalised 2-D Gaussian kernel [1, 1, k, k] of standard deviation ``blur``, k = 2 ceil(3 blur) + 1."""
    half = math.ceil(3 * blur)
    offsets = torch.arange(-half, half + 1, dtype=torch.float64)
    line = torch.exp(-(offsets**2) / (2 * blur**2))
    kernel = line[:, None] * line[None, :]
    return (kernel / kernel.sum())[None, None]


def correlated_gaussian_noise(
    shape: tuple[int, ...], sigma: float, blur: float, generator: torch.Generator
) -> torch.Tensor:
    """Noise of ``shape`` [C, H, W] with standard deviation ``sigma`` and the correlation of white noise
    blurred by ``gaussian_kernel(blur)``, each channel independent (float64)."""
    kernel = gaussian_kernel(blur)
    half = kernel.shape[-1] // 2
    channels, height, width = shape
    white = torch.randn(channels, 1, height + 2 * half, width + 2 * half, generator=generator, dtype=torch.float64)
    blurred = F.conv2d(white, kernel)[:, 0]  # valid convolution: no border where the noise is weaker
    return blurred * (sigma / float(kernel.square().sum().sqrt()))  # the blurred std is ||kernel||_2


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sigma", type=float, default=15.0, help="noise std on the 8-bit scale")
    parser.add_argument("--blur", type=float, default=1.0, help="std in pixels of the Gaussian blur of white noise")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", type=Path, help="a Nam-layout folder (default: the shared Nam_real_noise)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    source = args.source or shared_data() / "Nam_real_noise"
    cleans = sorted((source / "clean").glob("*_gt.png"))
    if not cleans:
        raise SystemExit(f"no clean references (*_gt.png) in {source / 'clean'}")
    generator = torch.Generator().manual_seed(args.seed)
    for folder in ("noisy", "clean"):
        (args.out / folder).mkdir(parents=True, exist_ok=True)
    for path in cleans:
        scene = path.name.split("_")[0]
        clean = torch.from_numpy(read_image(path, channels=3)).permute(2, 0, 1).double()
        noisy = clean + correlated_gaussian_noise(tuple(clean.shape), args.sigma / 255, args.blur, generator)
        samples = np.round(noisy.clamp(0, 1).permute(1, 2, 0).numpy() * 65535).astype(np.uint16)
        write_raw(args.out / "noisy" / f"{scene}_noise.png", samples)
        shutil.copyfile(path, args.out / "clean" / f"{scene}_gt.png")
    print(f"{len(cleans)} pairs, noise std {args.sigma} (8-bit scale), blur {args.blur} px -> {args.out}")
    return args.out


if __name__ == "__main__":
    main()
