"""The covariance of stationary, spatially and across-channel correlated noise, estimated from noisy
images alone, and Gaussian noise drawn with it.

R2R (Pang et al., CVPR 2021, Eq. 7) recorrupts y = x + n, n ~ N(0, Sigma), into y + D^T z and
y - D^{-1} z with z ~ N(0, Sigma): the two noises are independent for any covariance Sigma, white or
not, as long as z has the noise's own covariance. Camera noise after demosaicking is correlated over a
few pixels and across the colour channels, so white z (``core.recorruption.recorrupt``) leaves the
input's and the target's noises correlated and the loss rewards copying the noise. This module gives
the Sigma such noise needs, under a separable model: Sigma = C (x) R, a channel covariance C (C x C)
times one spatial autocorrelation R(dy, dx) over a (2L+1) x (2L+1) window (zero beyond it).

Estimate (the lag-difference method of ``noise.correlation``, extended to 2-D offsets and to channel
pairs): on the weakest-textured blocks of each intensity bin, the median block mean of
(y(p + d) - y(p))^2 is V(d) = 2 s^2 (1 - R(d)) + (g . d)^2, g the signal's local slope. At the far lags
``FAR_LAGS`` along rows and columns and ``DIAGONAL_LAGS`` on the diagonals the noise is taken as
uncorrelated: V = a + b d^2 there gives a = 2 s^2 and the signal's quadratic form, and then
R(d) = 1 - (V(d) - (g . d)^2) / a. The far lags start at 8 because camera noise is still correlated at
4-6 pixels (the Nam pairs' true residuals, README, Real camera noise): a baseline taken there would read
part of the noise as signal. The variance of a channel, and of the sum of two channels, give
C (Var(n1 + n2) = C11 + C22 + 2 C12).

    python -m noise.covariance noisy/*.png    # prints the R2R config lines (autocorrelation, channel_covariance)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from noise.correlation import BLOCK, WEAKEST, flat_block_texture

RADIUS = 3  # L: the autocorrelation window is (2L + 1) x (2L + 1)
BINS = 8  # intensity bins, each with its own weakest-textured blocks
FAR_LAGS = (8, 10, 12)  # lags along rows and columns at which the noise is taken as uncorrelated
DIAGONAL_LAGS = (6, 8)  # (d, d) and (d, -d): 8.5 and 11.3 pixels apart, as far as the far lags
REACH = max(FAR_LAGS)


@dataclass
class NoiseCovariance:
    """``autocorrelation`` [2L+1, 2L+1] (1 at the centre, symmetric through it) and ``channel_covariance``
    [C, C] in the images' intensity scale squared."""

    autocorrelation: Tensor
    channel_covariance: Tensor

    @property
    def sigma(self) -> float:
        """The noise std averaged over the channels (root of the mean channel variance)."""
        return float(self.channel_covariance.diagonal().mean().sqrt())


def _offset_difference(image: Tensor, dy: int, dx: int) -> Tensor:
    """Squared differences y(p + (dy, dx)) - y(p) of [H, W] on the common grid of every offset used
    (the pixels p with all offsets inside the image)."""
    height, width = image.shape[0] - REACH, image.shape[1] - 2 * REACH
    shifted = image[dy : dy + height, REACH + dx : REACH + dx + width]
    return (shifted - image[:height, REACH : REACH + width]) ** 2


def _block_means(square: Tensor) -> Tensor:
    return F.avg_pool2d(square[None, None], BLOCK).flatten()


@dataclass
class _Selection:
    """The blocks an estimate reads, over the concatenated blocks of its planes: ``bins`` holds each
    block's intensity bin, or -1 for a block left out (not among its bin's weakest-textured)."""

    bins: Tensor

    def repeat(self, channels: int, images: int) -> _Selection:
        """The same blocks in each of ``channels`` planes per image (planes ordered image by image)."""
        return _Selection(torch.cat([b.repeat(channels) for b in self.bins.reshape(images, -1)]))


def _select_blocks(images: list[Tensor]) -> _Selection:
    """The ``WEAKEST`` fraction of blocks by texture (``noise.correlation.flat_block_texture`` of the channel
    mean) within each of ``BINS`` intensity bins (quantiles of the block mean, so each bin holds as many
    pixels), blocks with a clipped pixel (0 or 1) left out. Reading a block's own texture instead of its
    neighbours' biased flat-image estimates low. Binning matters for signal-dependent noise: the
    flattest blocks of photographs are mostly bright sky or dark shadow, where camera noise is weaker than
    on average."""
    reach, means, textures, clipped = REACH, [], [], []
    for image in images:
        crop = image[:, : image.shape[1] - reach, reach : image.shape[2] - reach]
        plane = crop.mean(0)[None, None]
        means.append(F.avg_pool2d(plane, BLOCK).flatten())
        textures.append(flat_block_texture(plane).flatten())
        at_limit = ((crop <= 0) | (crop >= 1)).any(0).double()[None, None]
        clipped.append(F.max_pool2d(at_limit, BLOCK).flatten() > 0)
    mean, texture, clipped = torch.cat(means), torch.cat(textures), torch.cat(clipped)
    edges = torch.quantile(mean[~clipped], torch.linspace(0, 1, BINS + 1, dtype=mean.dtype)[1:-1])
    bins = torch.bucketize(mean, edges)
    chosen = torch.full_like(bins, -1)
    for k in range(BINS):
        members = (bins == k) & ~clipped
        if members.sum() == 0:
            continue
        weakest = members & (texture <= torch.quantile(texture[members], WEAKEST))
        chosen[weakest] = k
    return _Selection(chosen)


def _median_variances(planes: list[Tensor], offsets: list[tuple[int, int]], selection: _Selection) -> Tensor:
    """V(d) for each offset: per intensity bin, the median over its chosen blocks of the block-mean squared
    difference; then the mean over the bins."""
    values = []
    for dy, dx in offsets:
        blocks = torch.cat([_block_means(_offset_difference(p, dy, dx)) for p in planes])
        medians = [blocks[selection.bins == k].median() for k in range(BINS) if (selection.bins == k).any()]
        values.append(torch.stack(medians).mean())
    return torch.stack(values)


@dataclass
class _Baseline:
    """V(d) = a + (g . d)^2 on the far lags: ``a`` = 2 s^2 and the signal's quadratic form g g^T, as
    ``rows`` (g_x^2), ``columns`` (g_y^2) and ``cross`` (g_x g_y), each a median over the chosen blocks."""

    a: float
    rows: float
    columns: float
    cross: float

    def signal(self, dy: int, dx: int) -> float:
        return self.rows * dx**2 + self.columns * dy**2 + 2 * self.cross * dx * dy


def _baseline(planes: list[Tensor], weakest: _Selection) -> _Baseline:
    """V = a + b d^2 fitted on the far lags along rows (dx) and along columns (dy), a shared; the cross term
    from the far diagonals: V(d, d) - V(d, -d) = 4 g_x g_y d^2 (edges at an angle tilt V towards one
    diagonal)."""
    lags = torch.tensor(FAR_LAGS, dtype=torch.float64)
    design = torch.stack([torch.ones_like(lags), lags**2], dim=1)
    slopes, levels = [], []
    for axis in ("x", "y"):
        v = _median_variances(planes, [(0, d) if axis == "x" else (d, 0) for d in FAR_LAGS], weakest)
        b = float(torch.linalg.lstsq(design, v[:, None]).solution[1])
        slopes.append(b)
        levels.append(float((v - b * lags**2).mean()))
    diagonal = torch.tensor(DIAGONAL_LAGS, dtype=torch.float64)
    rising = _median_variances(planes, [(d, d) for d in DIAGONAL_LAGS], weakest)
    falling = _median_variances(planes, [(d, -d) for d in DIAGONAL_LAGS], weakest)
    cross = float(((rising - falling) / (4 * diagonal**2)).mean())
    return _Baseline(sum(levels) / 2, slopes[0], slopes[1], cross)


def estimate_noise_covariance(images: list[Tensor], radius: int = RADIUS) -> NoiseCovariance:
    """The noise covariance of noisy images [C, H, W] (same C, any intensity scale) under the separable
    model of this module; the images should come from one camera and pipeline, and hold flat regions at
    every intensity between them: on a single textured image the far lags see mostly signal and the level
    reads high."""
    if radius >= min(FAR_LAGS):
        raise ValueError(f"radius {radius}: the window must stay inside the lags taken as uncorrelated {FAR_LAGS}")
    images = [image.double() for image in images]
    channels = images[0].shape[0]
    for image in images:
        if image.shape[0] != channels:
            raise ValueError(f"images with {channels} and {image.shape[0]} channels: give images of one kind")
        if min(image.shape[1:]) < BLOCK + 2 * REACH:
            raise ValueError(f"an image of {tuple(image.shape[1:])} is too small: at least {BLOCK + 2 * REACH} a side")
    weakest = _select_blocks(images)

    def variance(weights: list[float]) -> float:
        planes = [sum(w * image[c] for c, w in enumerate(weights)) for image in images]
        return _baseline(planes, weakest).a

    covariance = torch.zeros(channels, channels, dtype=torch.float64)
    for c in range(channels):
        covariance[c, c] = variance([float(k == c) for k in range(channels)]) / 2
    for c1 in range(channels):
        for c2 in range(c1 + 1, channels):
            both = variance([float(k in (c1, c2)) for k in range(channels)]) / 2
            covariance[c1, c2] = covariance[c2, c1] = (both - covariance[c1, c1] - covariance[c2, c2]) / 2

    # the spatial correlation, pooled over the channels (each plane scaled to the same noise level)
    planes = [image[c] / covariance[c, c].clamp(min=1e-20).sqrt() for image in images for c in range(channels)]
    block_mask = weakest.repeat(channels, len(images))
    baseline = _baseline(planes, block_mask)
    half = [(dy, dx) for dy in range(0, radius + 1) for dx in range(-radius, radius + 1) if (dy, dx) > (0, 0)]
    v = _median_variances(planes, half, block_mask)
    size = 2 * radius + 1
    autocorrelation = torch.zeros(size, size, dtype=torch.float64)
    autocorrelation[radius, radius] = 1.0
    for (dy, dx), value in zip(half, v, strict=True):
        rho = 1 - (float(value) - baseline.signal(dy, dx)) / baseline.a
        autocorrelation[radius + dy, radius + dx] = autocorrelation[radius - dy, radius - dx] = rho
    return NoiseCovariance(autocorrelation.float(), covariance.float())


def _spectral_filter(autocorrelation: Tensor, height: int, width: int) -> Tensor:
    """sqrt of the power spectrum of ``autocorrelation`` laid circularly on a height x width grid (R(0) at
    [0, 0], R(dy, dx) at [dy mod height, dx mod width]), scaled so that filtered white noise has unit
    variance (negative spectrum values, from an estimated R that is not quite positive definite, are set
    to 0)."""
    radius = autocorrelation.shape[0] // 2
    grid = torch.zeros(height, width, dtype=torch.float64)
    grid[: 2 * radius + 1, : 2 * radius + 1] = autocorrelation.double()
    power = torch.fft.fft2(grid.roll((-radius, -radius), dims=(0, 1))).real.clamp(min=0)
    return (power / power.mean()).sqrt()


def correlated_sampler(
    shape: torch.Size | tuple[int, ...], covariance: NoiseCovariance, generator: torch.Generator, like: Tensor
) -> Callable[[], Tensor]:
    """Draws of Gaussian noise [B, C, H, W] with covariance C (x) R (``covariance``), on ``like``'s device and
    dtype: white noise filtered by the square root of R's power spectrum on a grid L pixels larger on each
    side (so the circular wrap never pairs pixels of the crop closer than L), then mixed across channels by
    the Cholesky factor of C. The filter and the factor are made once, for every draw."""
    batch, channels, height, width = shape
    radius = covariance.autocorrelation.shape[0] // 2
    padded = (height + 2 * radius, width + 2 * radius)
    spectrum = _spectral_filter(covariance.autocorrelation, *padded).to(like.device, torch.float32)
    mixing = torch.linalg.cholesky(covariance.channel_covariance.double()).to(like.device, torch.float32)

    def draw() -> Tensor:
        white = torch.randn((batch, channels, *padded), generator=generator, device=like.device, dtype=torch.float32)
        spatial = torch.fft.ifft2(torch.fft.fft2(white) * spectrum).real
        cropped = spatial[..., radius : radius + height, radius : radius + width]
        return torch.einsum("cd,bdhw->bchw", mixing, cropped).to(like.dtype)

    return draw


def correlated_gaussian(
    shape: torch.Size | tuple[int, ...], covariance: NoiseCovariance, generator: torch.Generator, like: Tensor
) -> Tensor:
    """One draw of ``correlated_sampler``."""
    return correlated_sampler(shape, covariance, generator, like)()


def config_lines(covariance: NoiseCovariance) -> str:
    """The R2R options (``noise: correlated``) that draw noise with this covariance, as YAML lines under
    ``model.init_args``: the channel covariance on the 8-bit scale."""
    spatial = ", ".join("[" + ", ".join(f"{v:.3f}" for v in row) + "]" for row in covariance.autocorrelation.tolist())
    channels = ", ".join(
        "[" + ", ".join(f"{v:.3f}" for v in row) + "]" for row in (covariance.channel_covariance * 255**2).tolist()
    )
    return f"noise: correlated\nautocorrelation: [{spatial}]\nchannel_covariance: [{channels}]"


def main(argv: list[str] | None = None) -> NoiseCovariance:
    from core.image_io import read_image

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", help="noisy images (PNG, TIFF, ...) of one camera and pipeline")
    parser.add_argument("--channels", type=int, default=3, choices=(1, 3), help="read the images as gray or RGB")
    args = parser.parse_args(argv)
    images = [torch.from_numpy(read_image(Path(p), channels=args.channels)).permute(2, 0, 1) for p in args.images]
    covariance = estimate_noise_covariance(images)
    std = (covariance.channel_covariance.diagonal() * 255**2).sqrt()
    print(f"noise covariance of {len(images)} image(s): std per channel (8-bit scale) "
          f"{', '.join(f'{v:.2f}' for v in std.tolist())}; R2R options (model.init_args):")  # fmt: skip
    print(config_lines(covariance))
    return covariance


if __name__ == "__main__":
    main()
