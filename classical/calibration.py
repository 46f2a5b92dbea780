"""J-invariant calibration of classical denoisers (Batson & Royer, ICML 2019, Sec. 3).

A denoiser's parameter is chosen by the self-supervised loss ||g(y) - y||^2 of its J-invariant
version g (each pixel predicted from a masked copy of the image, grid stride 4): for noise
independent across pixels its minimiser is the minimiser of the true error ||g(y) - x||^2. The
masking and loss are scikit-image's ``calibrate_denoiser``; this module adds the "donut" median
(a median over the neighbourhood without the centre, J-invariant by construction), the PSNR of every
candidate when a clean reference is known, and a report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio
from skimage.restoration import calibrate_denoiser, denoise_nl_means, denoise_tv_chambolle, denoise_wavelet


def donut_median(image: np.ndarray, radius: int = 1) -> np.ndarray:
    """Median over the (2 radius + 1)^2 square without its centre pixel (per channel)."""
    footprint = np.ones((2 * radius + 1, 2 * radius + 1), dtype=bool)
    footprint[radius, radius] = False
    if image.ndim == 3:
        return np.stack([ndimage.median_filter(image[..., c], footprint=footprint) for c in range(image.shape[-1])], -1)
    return ndimage.median_filter(image, footprint=footprint, mode="reflect")


DENOISERS: dict[str, Callable[..., np.ndarray]] = {
    "nl_means": denoise_nl_means,
    "tv": denoise_tv_chambolle,
    "wavelet": denoise_wavelet,
    "donut_median": donut_median,
}


@dataclass
class Candidate:
    parameters: dict
    self_supervised_loss: float
    psnr: float | None  # of the J-invariant output against the clean image, when given


@dataclass
class Calibration:
    denoiser: str
    chosen: Candidate
    candidates: list[Candidate]
    denoised: np.ndarray  # the chosen J-invariant denoiser applied to the noisy image

    @property
    def best_on_grid(self) -> Candidate | None:
        scored = [c for c in self.candidates if c.psnr is not None]
        return max(scored, key=lambda c: c.psnr) if scored else None

    def report(self) -> str:
        lines = [f"{'parameters':<50} {'J-inv. loss':>12} {'PSNR dB':>8}"]
        for c in self.candidates:
            mark = "  <- chosen" if c is self.chosen else ""
            psnr = f"{c.psnr:8.2f}" if c.psnr is not None else f"{'':>8}"
            lines.append(f"{str(c.parameters):<50} {c.self_supervised_loss:12.6f} {psnr}{mark}")
        best = self.best_on_grid
        if best is not None:
            lines.append(f"chosen {self.chosen.psnr:.2f} dB, best on the grid {best.psnr:.2f} dB ({best.parameters})")
        return "\n".join(lines)


def calibrate(
    noisy: np.ndarray,
    denoiser: str,
    grid: dict[str, list],
    clean: np.ndarray | None = None,
    stride: int = 4,
    approximate_loss: bool = False,
) -> Calibration:
    """Pick the parameters in ``grid`` that minimise the J-invariant self-supervised loss.

    ``noisy`` is [H, W] or [H, W, C] float in [0, 1]; for colour images pass ``channel_axis=-1`` in the
    grid where the denoiser takes it. With ``clean`` every candidate's J-invariant output is scored
    too (for reporting; the choice never looks at it).
    """
    if denoiser not in DENOISERS:
        raise ValueError(f"unknown denoiser {denoiser!r}; choose one of {sorted(DENOISERS)}")
    function = DENOISERS[denoiser]
    best_function, (tested, losses) = calibrate_denoiser(
        noisy, function, grid, stride=stride, approximate_loss=approximate_loss, extra_output=True
    )
    candidates = []
    for parameters, loss in zip(tested, losses, strict=True):
        psnr = None
        if clean is not None:
            single = calibrate_denoiser(noisy, function, {k: [v] for k, v in parameters.items()}, stride=stride)
            psnr = float(peak_signal_noise_ratio(clean, np.clip(single(noisy), 0, 1), data_range=1.0))
        candidates.append(Candidate(dict(parameters), float(loss), psnr))
    chosen = candidates[int(np.argmin(losses))]
    return Calibration(denoiser, chosen, candidates, np.clip(best_function(noisy), 0, 1))
