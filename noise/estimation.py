"""Noise-level estimation from a single noisy image.

``estimate_heteroscedastic`` fits the signal-dependent model ``Var[y | x] = beta1 * x + beta2``
(Poisson-Gaussian, and the usual first approximation of raw and sRGB camera noise; Foi et al. 2008):
per 8x8 block it takes the mean as the signal level and measures the noise variance with the
Laplacian-like high-pass ``[[1,-2,1],[-2,4,-2],[1,-2,1]]`` (Immerkaer 1996), whose response to white
noise of variance v has variance 36 v and which cancels locally linear signal. Textured blocks
inflate the variance, so in each signal-level bin the lower quartile of the block variances is
kept (corrected to the median of a chi-square) and a line is fitted through the bins. Patches too
small for that (fewer than 4 blocks per bin) get a signal-independent level from the median of the
squared high-pass response.

Both estimators assume white noise. Camera pipelines spread each pixel's noise over its neighbours
(demosaicking, denoising, sharpening), which moves the noise's power to low frequencies: the smallest
eigenvalues of the patch covariance and the Laplacian high-pass then see only a small part of it, and
both read several times below the true level (the Nam et al. real-noise pairs, compared with the true
residual in ``benchmarks/results/real_noise.json``). Splitting the image into pixel-shuffle sub-images
first recovers part of it; ``noise.correlation.estimate_correlated_sigma``, built on differences of
pixels far enough apart for the noise to be independent, reads such noise whole.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_HIGH_PASS = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]]) / 6.0  # unit noise gain


def block_statistics(image: Tensor, block: int = 8) -> tuple[Tensor, Tensor]:
    """(mean, noise variance) of every ``block`` x ``block`` tile of each channel of [C, H, W]."""
    channels = image.shape[0]
    kernel = _HIGH_PASS.to(image).expand(channels, 1, 3, 3)
    residual = F.conv2d(image[None], kernel, groups=channels)[0]  # valid part: [C, H-2, W-2]
    signal = image[:, 1:-1, 1:-1]
    means = F.avg_pool2d(signal[None], block)[0].flatten()
    variances = F.avg_pool2d(residual[None] ** 2, block)[0].flatten()
    return means, variances


def estimate_heteroscedastic(image: Tensor, bins: int = 16, quantile: float = 0.25) -> tuple[float, float]:
    """Estimate ``(beta1, beta2)`` of ``Var[y] = beta1 * x + beta2`` from one noisy image [C, H, W] in [0, 1]."""
    means, variances = block_statistics(image.float())
    if len(means) < 4 * bins:  # too few blocks for a line: fall back to a signal-independent level
        residual_variance = block_statistics(image.float(), block=1)[1]
        return 0.0, float(residual_variance.median() / _chi_square_quantile_ratio(0.5, dof=1))
    edges = torch.quantile(means, torch.linspace(0, 1, bins + 1, dtype=means.dtype))
    centres, levels = [], []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (means >= low) & (means <= high)
        if inside.sum() < 4:
            continue
        centres.append(means[inside].median())
        levels.append(torch.quantile(variances[inside], quantile))
    if len(centres) < 2:  # a flat image: one signal level only
        return 0.0, float(torch.stack(levels).median() / _chi_square_quantile_ratio(quantile))
    x, v = torch.stack(centres), torch.stack(levels)
    # the lower quartile of a mean of 64 squared Gaussians sits below its mean; undo that bias
    v = v / _chi_square_quantile_ratio(quantile)
    design = torch.stack([x, torch.ones_like(x)], dim=1)
    beta1, beta2 = torch.linalg.lstsq(design, v[:, None]).solution.flatten().tolist()
    if beta1 < 0:  # signal-independent noise: the slope is estimation noise
        beta1, beta2 = 0.0, float(v.median())
    return max(beta1, 0.0), max(beta2, 0.0)


def _chi_square_quantile_ratio(quantile: float, dof: int = 64, draws: int = 20000) -> float:
    """q-quantile / mean of a chi-square(dof) / dof variable (by a fixed Monte-Carlo draw)."""
    generator = torch.Generator().manual_seed(0)
    samples = (torch.randn(draws, dof, generator=generator) ** 2).mean(dim=1)
    return float(torch.quantile(samples, quantile))


def image_patches(image: Tensor, size: int = 8, stride: int = 3) -> Tensor:
    """All ``size`` x ``size`` patches (every channel) of [C, H, W] at ``stride``: [N, C * size * size]."""
    patches = F.unfold(image[None].double(), size, stride=stride)[0]  # [C*size*size, N]
    return patches.T


def _eigenvalue_noise_variance(patches: Tensor) -> Tensor:
    """Chen et al.'s rule on patch vectors [N, d]: drop the largest covariance eigenvalues one at a time
    until the mean of those left equals their median (as many above as below it); return that mean."""
    centred = patches - patches.mean(dim=0, keepdim=True)
    covariance = centred.T @ centred / len(centred)
    eigenvalues = torch.linalg.eigvalsh(covariance).clamp(min=0)  # ascending
    for keep in range(len(eigenvalues), 0, -1):
        kept = eigenvalues[:keep]
        tau = kept.mean()
        if int((kept > tau).sum()) == int((kept < tau).sum()):
            return tau
    return eigenvalues[0]


def _central_differences(image: Tensor) -> tuple[Tensor, Tensor]:
    """Horizontal and vertical central differences [-1/2, 0, 1/2] of [..., H, W], valid part only."""
    return (image[..., :, 2:] - image[..., :, :-2]) / 2, (image[..., 2:, :] - image[..., :-2, :]) / 2


def patch_texture_strength(image: Tensor, size: int = 8, stride: int = 3) -> Tensor:
    """Per patch (same order as ``image_patches``): the sum over channels and pixels of the squared
    central differences [-1/2, 0, 1/2] that lie inside the patch, horizontal plus vertical (Liu et al.)."""
    channels, height, width = image.shape
    horizontal, vertical = (d.pow(2).sum(dim=1, keepdim=True) for d in _central_differences(image[None].double()))
    rows, cols = (height - size) // stride + 1, (width - size) // stride + 1
    strength_h = F.avg_pool2d(horizontal, (size, size - 2), stride=stride, divisor_override=1)[0, 0, :rows, :cols]
    strength_v = F.avg_pool2d(vertical, (size - 2, size), stride=stride, divisor_override=1)[0, 0, :rows, :cols]
    return (strength_h + strength_v).flatten()


def _texture_threshold_factor(size: int, channels: int, confidence: float) -> float:
    """tau0 with P(strength < sigma^2 * tau0) = confidence for a flat patch of white noise (Liu et al. 2013):
    the strength is a quadratic form of the noise, approximated by a Gamma(r/2, 2 tr(D^T D)/r) distribution,
    D the difference operator on one patch, r its rank."""
    from scipy.stats import gamma  # scipy is a dependency; imported here to keep `import noise` light

    basis = torch.eye(size * size, dtype=torch.float64).reshape(-1, 1, size, size)
    operator = torch.cat([d.flatten(1) for d in _central_differences(basis)], dim=1)
    gram = operator @ operator.T
    rank = int(torch.linalg.matrix_rank(gram)) * channels
    trace = float(gram.trace()) * channels
    return float(gamma.ppf(confidence, rank / 2, scale=2 * trace / rank))


# the fewest patches per patch dimension the weak-texture selection may hold, the same 8 as in
# ``_patch_geometry``: a low estimate lowers the next threshold, which selects fewer patches, and with
# few patches the spread of the sample eigenvalues biases the rule low again. When the threshold passes
# fewer, the selection is this many weakest-textured patches instead. Chosen on photographs the
# benchmark does not score (BSDS500 test images), where it had the smallest worst-case error of the
# rules tried (stopping at fewer patches, or at 8).
MIN_PATCHES_PER_DIMENSION = 8


def _weakest_patches(strength: Tensor, count: int) -> Tensor:
    """Mask of the ``count`` patches with the least texture strength (all of them if there are fewer)."""
    mask = torch.zeros(len(strength), dtype=torch.bool)
    mask[torch.argsort(strength, stable=True)[:count]] = True
    return mask


def _patch_geometry(shape: torch.Size, patch: int, stride: int) -> tuple[int, int]:
    """(patch, stride) as asked when they give at least 8 patches per dimension (with fewer, the spread of
    the sample eigenvalues biases the estimate low: -12% with 4.5 per dimension, a 24x24 image in 8x8
    patches at stride 1); for small images, stride 1 and then smaller patches (down to 3x3) until they do."""
    channels, height, width = shape

    def enough(size: int, step: int) -> bool:
        count = ((height - size) // step + 1) * ((width - size) // step + 1) if min(height, width) >= size else 0
        return count >= MIN_PATCHES_PER_DIMENSION * channels * size * size

    if enough(patch, stride):
        return patch, stride
    for size in range(patch, 2, -1):
        if enough(size, 1):
            return size, 1
    raise ValueError(f"an image of {height}x{width} is too small to estimate its noise level (need about 10x10 pixels)")


def estimate_sigma(
    image: Tensor,
    patch: int = 8,
    stride: int = 3,
    weak_texture: bool = True,
    confidence: float = 0.99,
    max_iterations: int = 10,
) -> float:
    """Gaussian noise level of one image (Chen, Zhu, Heng, ICCV 2015), on weak-textured patches.

    Chen et al.: the eigenvalues of the covariance of the image's patches split into a few large ones
    (the image's structure lives in a low-dimensional subspace) and the rest, which for white Gaussian
    noise all equal sigma^2. The largest eigenvalues are dropped one at a time until the mean of those
    left equals their median; sigma is the square root of that mean. ``weak_texture=False`` is exactly
    that, on all patches.

    On textured photographs fine texture spreads over the small eigenvalues too and reads as noise, so on
    all patches a low sigma reads far too high (``benchmarks/results/noise_estimation.json``). With
    ``weak_texture`` (the default) the rule runs on weak-textured patches only, selected as Liu, Tanaka,
    Okutomi (IEEE TIP 2013) do: keep patches whose gradient energy is below sigma^2 * tau0 (``confidence``
    of flat noise-only patches pass), re-estimate sigma on them, and repeat until the selection is
    stable (or ``max_iterations``). The selection never holds fewer than 8 patches per patch dimension
    (``MIN_PATCHES_PER_DIMENSION``): when fewer pass, the weakest-textured 8 per dimension stand in.
    Works on [C, H, W] in any intensity scale; the answer is in that scale.
    """
    patch, stride = _patch_geometry(image.shape, patch, stride)
    patches = image_patches(image, patch, stride)
    variance = _eigenvalue_noise_variance(patches)
    if not weak_texture:
        return float(variance.sqrt())
    strength = patch_texture_strength(image, patch, stride)
    threshold = _texture_threshold_factor(patch, image.shape[0], confidence)
    fewest = MIN_PATCHES_PER_DIMENSION * patches.shape[1]
    selected = torch.ones(len(patches), dtype=torch.bool)
    for _ in range(max_iterations):
        keep = strength < variance * threshold
        if int(keep.sum()) < min(fewest, len(patches)):
            keep = _weakest_patches(strength, fewest)  # too few pass for an unbiased eigenvalue rule
        if torch.equal(keep, selected):
            break  # converged
        selected = keep
        variance = _eigenvalue_noise_variance(patches[selected])
    return float(variance.sqrt())
