"""Is the noise in these images spatially correlated? Estimated from the noisy images alone.

Blind-spot methods (Noise2Void, Noise2Self, Laine et al.) assume that the noise at a pixel says nothing
about the noise at its neighbours: the hidden pixel's value must be unpredictable from its
surroundings except through the signal. Camera pipelines break this (demosaicking, denoising,
sharpening and compression spread each pixel's noise over its neighbours), and a blind-spot network
then learns to predict the noise from the neighbours and reproduces it. Pixel-shuffle downsampling
(AP-BSN) and line masks (structN2V) are the remedies.

The estimate: for a lag d along rows or columns, the difference y(p + d) - y(p) of two pixels has, in
a flat region, variance 2 sigma^2 (1 - rho(d)) + (d g)^2, with rho(d) the noise correlation at that
lag and g the local signal slope. On the weakest-textured blocks (chosen by the texture of a 4x4
average-pooled image, which averages much of the noise away, in the blocks around each, so that the
choice does not favour blocks whose own noise came out weak) the median block variance V(d) is taken
for d = 1 .. 6; beyond ``FAR`` pixels the noise is taken as uncorrelated, so V(d) = a + b d^2 there,
fitted on d = FAR .. 6, gives a = 2 sigma^2 and the signal's share b d^2; then
rho(d) = 1 - (V(d) - b d^2) / a for the near lags.

    python -m noise.correlation noisy.png [more.png ...] [--plot correlation.png]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

LAGS = (1, 2, 3, 4, 5, 6)
FAR = 4  # from this lag on the noise is assumed uncorrelated (camera pipelines spread noise over 1-2 pixels)
BLOCK = 16
WEAKEST = 0.25  # the fraction of blocks, by texture, the estimate uses
# rho(1) above this in either direction: plain blind-spot training would see the noise through its neighbours
CORRELATED = 0.1
# noise std (8-bit scale) below which PD cost Noise2Void more than it gained: between the strengths of
# the synthetic correlated sets where PD lost and where it gained, by linear interpolation of the gains
# (benchmarks/results/real_noise_correlated.json; README, Real camera noise)
WEAK_FOR_PD = 6.0


@dataclass
class NoiseCorrelation:
    """rho(d) for d = 1, 2, 3 along rows (``horizontal``: pixels side by side) and columns (``vertical``)."""

    horizontal: list[float]
    vertical: list[float]
    blocks: int
    sigma: float  # the noise standard deviation, sqrt(a / 2), in the images' intensity scale

    @property
    def correlated(self) -> bool:
        return max(self.horizontal[0], self.vertical[0]) > CORRELATED

    def advice(self) -> str:
        h, v = self.horizontal[0], self.vertical[0]
        if not self.correlated:
            return (f"noise looks white (rho(1) = {h:.2f} along rows, {v:.2f} along columns, threshold "
                    f"{CORRELATED}): plain blind-spot training (Noise2Void, Noise2Self, Laine) is safe.")  # fmt: skip
        reach = 1 + sum(max(a, b) > CORRELATED for a, b in zip(self.horizontal[1:], self.vertical[1:], strict=True))
        if min(h, v) <= CORRELATED:
            axis = "rows" if h > v else "columns"
            line = f"a structN2V line mask along {axis} (length {2 * reach + 1}), or "
        else:
            line = ""
        advice = (f"noise is spatially correlated (rho(1) = {h:.2f} along rows, {v:.2f} along columns): a plain "
                  f"blind-spot network would learn to reproduce it. Use {line}pixel-shuffle downsampling with a "
                  f"stride above {reach} (pd_stride, AP-BSN), or a method without a blind spot.")  # fmt: skip
        if self.sigma * 255 < WEAK_FOR_PD:
            advice += (f" But the noise is weak (std {self.sigma * 255:.1f} on the 8-bit scale): below about "
                       f"{WEAK_FOR_PD:g}, PD cost Noise2Void more than it gained in this project's measurements "
                       "(README, Real camera noise), as the stride also takes away the neighbours the image is "
                       "read from. Train with and without PD and compare.")  # fmt: skip
        return advice


def _lag_difference_variances(image: Tensor, lag: int, dim: int) -> Tensor:
    """Mean squared lag-``lag`` difference along ``dim`` (2: along rows, 1: along columns) per
    BLOCK x BLOCK block of each channel of [C, H, W], [N]."""
    size = image.shape[dim] - lag
    difference = image.narrow(dim, lag, size) - image.narrow(dim, 0, size)
    height, width = image.shape[1] - max(LAGS), image.shape[2] - max(LAGS)  # the same blocks for every lag
    return F.avg_pool2d(difference[:, None, :height, :width] ** 2, BLOCK).flatten()


def neighbours_mean(grid: Tensor) -> Tensor:
    """The mean of the up to 8 neighbours of each cell of [N, 1, h, w] grids."""
    ones = torch.ones_like(grid)
    total = F.avg_pool2d(F.pad(grid, (1, 1, 1, 1)), 3, stride=1) * 9 - grid
    count = F.avg_pool2d(F.pad(ones, (1, 1, 1, 1)), 3, stride=1) * 9 - ones
    return total / count


def flat_block_texture(planes: Tensor) -> Tensor:
    """Texture per BLOCK x BLOCK block of [N, 1, H, W] planes, read from the blocks around it [N, 1, h, w]: the
    variance of the 4x4-pooled plane inside each, where the noise is averaged down and the signal's structure
    stays. The signal is smooth across neighbouring blocks and their noise is not the block's own, so the
    weakest-textured blocks are not the ones whose noise came out weak."""
    pooled = F.avg_pool2d(planes, 4)
    mean = F.avg_pool2d(pooled, BLOCK // 4)
    return neighbours_mean(F.avg_pool2d(pooled**2, BLOCK // 4) - mean**2)


def _block_texture(image: Tensor) -> Tensor:
    """``flat_block_texture`` of each channel of [C, H, W] on the blocks of ``_lag_difference_variances``."""
    height, width = image.shape[1] - max(LAGS), image.shape[2] - max(LAGS)
    return flat_block_texture(image[:, None, :height, :width]).flatten()


def estimate_correlation(images: list[Tensor]) -> NoiseCorrelation:
    """rho(1..3) along rows and columns from noisy images [C, H, W] in any intensity scale (pooled over
    all images and channels)."""
    textures, variances = [], {(lag, dim): [] for lag in LAGS for dim in (1, 2)}
    for image in images:
        image = image.double()
        if min(image.shape[1:]) < BLOCK + max(LAGS):
            raise ValueError(f"an image of {tuple(image.shape[1:])} is too small: at least {BLOCK + max(LAGS)} a side")
        textures.append(_block_texture(image))
        for lag, dim in variances:
            variances[(lag, dim)].append(_lag_difference_variances(image, lag, dim))
    texture = torch.cat(textures)
    weakest = texture <= torch.quantile(texture, WEAKEST)
    result, baselines = {}, []
    for dim in (1, 2):
        v = torch.stack([torch.cat(variances[(lag, dim)])[weakest].median() for lag in LAGS])
        lags = torch.tensor(LAGS, dtype=v.dtype)
        far = lags >= FAR
        design = torch.stack([torch.ones_like(lags[far]), lags[far] ** 2], dim=1)
        a, b = torch.linalg.lstsq(design, v[far, None]).solution.flatten()
        b = b.clamp(min=0)
        a = (v[far] - b * lags[far] ** 2).mean()
        rho = 1 - (v - b * lags**2) / a
        result[dim] = [round(float(r), 3) for r in rho[:3]]
        baselines.append(float(a))
    sigma = (sum(baselines) / len(baselines) / 2) ** 0.5
    return NoiseCorrelation(horizontal=result[2], vertical=result[1], blocks=int(weakest.sum()), sigma=sigma)


def estimate_correlated_sigma(image: Tensor) -> float:
    """The noise standard deviation of one image [C, H, W] whose noise may be spatially correlated: the
    lag-difference baseline a = 2 sigma^2 of ``estimate_correlation``. Estimators built for white noise
    (``noise.estimation.estimate_sigma`` reads the smallest eigenvalues of the patch covariance, the
    Laplacian high-pass of ``estimate_heteroscedastic``) see only the noise's high frequencies, which a
    camera pipeline has smoothed away, and read several times too low on such noise; differences of
    pixels ``FAR`` or more apart see the whole variance. Correlation reaching beyond ``FAR`` still
    reads as missing variance, and with signal-dependent noise the reading is the level of the flattest
    blocks, which in photographs are often dark or bright where the noise is weaker than on average
    (``noise.covariance`` bins the blocks by intensity and reads farther lags, for a set of images)."""
    return estimate_correlation([image]).sigma


def plot(correlation: NoiseCorrelation, path: Path) -> None:
    """A small bar chart as a PNG: rho at lags 1, 2, 3, along rows (blue) and along columns (orange) side by
    side, on a white ground from -0.2 (bottom) to 1 (top), the zero line black, the threshold grey."""
    import imageio.v3 as iio
    import numpy as np

    height, bar, gap = 240, 16, 24
    width = gap + 3 * (2 * bar + gap)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)

    def row(value: float) -> int:  # rho -> pixel row (1 at the top, -0.2 at the bottom)
        return int(round((1 - value) / 1.2 * (height - 1)))

    canvas[row(CORRELATED), :] = (160, 160, 160)
    for k, (h, v) in enumerate(zip(correlation.horizontal, correlation.vertical, strict=True)):
        left = gap + k * (2 * bar + gap)
        for offset, value, colour in ((0, h, (31, 119, 180)), (bar, v, (255, 127, 14))):
            top, bottom = sorted((row(max(-0.2, min(1.0, value))), row(0.0)))
            canvas[top : bottom + 1, left + offset : left + offset + bar - 2] = colour
    canvas[row(0.0), :] = 0
    iio.imwrite(path, canvas)


def main(argv: list[str] | None = None) -> NoiseCorrelation:
    from core.image_io import read_image

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", help="noisy images (PNG, TIFF, ...), of one camera or pipeline")
    parser.add_argument("--plot", help="write a bar chart of rho at lags 1-3 (rows blue, columns orange), PNG")
    args = parser.parse_args(argv)
    images = [torch.from_numpy(read_image(Path(p), channels=3)).permute(2, 0, 1) for p in args.images]
    correlation = estimate_correlation(images)
    print(f"noise correlation over {len(images)} image(s), {correlation.blocks} weakest-textured blocks")
    print(f"  lag          {'  '.join(f'{d:>5}' for d in (1, 2, 3))}")
    print(f"  along rows   {'  '.join(f'{r:5.2f}' for r in correlation.horizontal)}")
    print(f"  along columns{'  '.join(f'{r:5.2f}' for r in correlation.vertical)}")
    print(f"  noise std     {correlation.sigma:.4g} (in the images' scale, [0, 1])")
    print(correlation.advice())
    if args.plot:
        plot(correlation, Path(args.plot))
        print(f"plot: {args.plot}")
    return correlation


if __name__ == "__main__":
    main()
