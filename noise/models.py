"""Gaussian, Poisson and Poisson-Gaussian noise on [0, 1] images.

Each ``sample`` returns the noisy image and the parameters that made it, in [0, 1] units, so methods
that need them (R2R's recorruption, Laine's known-sigma likelihood) read them from the batch:
``sigma`` is the Gaussian standard deviation, ``lam`` the Poisson photon count at intensity 1.
Noise is not clipped unless ``clip=True``: clipping changes the noise distribution that the
self-supervised losses assume.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import Tensor

from noise.parameters import CONFIG_SCALE

SIGMA_SCALE = CONFIG_SCALE["sigma"]  # configs give sigma on the 8-bit scale

_HELPER: tuple[int, ThreadPoolExecutor] | None = None


def _helper_thread() -> ThreadPoolExecutor:
    """This process's one helper thread for a second noise draw (made again in a forked child, which
    inherits the executor but not its thread)."""
    global _HELPER
    if _HELPER is None or _HELPER[0] != os.getpid():
        _HELPER = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="noise-draw"))
    return _HELPER[1]


def _draw_uniform(value: float | tuple[float, float], generator: torch.Generator) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    low, high = value
    return low + (high - low) * torch.rand((), generator=generator).item()


def _draw_uniform_batch(value: float | tuple[float, float], count: int, generator: torch.Generator) -> Tensor:
    """``count`` draws of ``_draw_uniform`` at once, on the generator's device."""
    if isinstance(value, (int, float)):
        return torch.full((count,), float(value), device=generator.device)
    low, high = value
    return low + (high - low) * torch.rand(count, generator=generator, device=generator.device)


def _check_range(name: str, value: float | tuple[float, float], minimum: float) -> None:
    values = [value] if isinstance(value, (int, float)) else list(value)
    if len(values) not in (1, 2) or any(v < minimum for v in values) or values != sorted(values):
        raise ValueError(
            f"{name} must be a number >= {minimum} or a range [low, high] with {minimum} <= low <= high, got {value!r}"
        )


def _standard_normal(like: Tensor, generator: torch.Generator) -> Tensor:
    return torch.randn(like.shape, generator=generator, dtype=like.dtype, device=like.device)


class NoiseModel(ABC):
    def __init__(self, clip: bool = False) -> None:
        self.clip = clip

    def sample(
        self, clean: Tensor, generator: torch.Generator, params: dict[str, float] | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Return ``(noisy, params)`` for one image ``clean`` [C, H, W] in [0, 1].

        ``params`` (as returned by an earlier call) fixes the noise level instead of drawing it: a
        second observation for Noise2Noise must share the first one's level.
        """
        if params is None:
            params = self.draw_parameters(generator)
        params = {k: float(v) for k, v in params.items()}
        noisy = self._clipped(self.apply(clean, params, generator))
        return noisy, {k: torch.tensor(v, dtype=torch.float32) for k, v in params.items()}

    def sample_batch(self, clean: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """Two independent noisy draws of every image of ``clean`` [B, C, H, W], both at one noise level
        per image (drawn here), made on ``clean``'s device: ``(noisy, noisy2, params)`` with each
        parameter a [B] tensor, as a DataLoader would stack ``sample``'s scalars."""
        params = self.draw_batch_parameters(len(clean), generator)
        if clean.device.type != "cpu":
            # both draws in one pass over the batch seen twice (a broadcast view): one random-number call
            twice = {key: value.to(clean.dtype).view(1, -1, 1, 1, 1) for key, value in params.items()}
            noisy, noisy2 = self._clipped(self.apply(clean.expand(2, *clean.shape), twice, generator)).unbind(0)
        else:
            noisy, noisy2 = self._two_cpu_draws(clean, params, generator)
        return noisy, noisy2, {key: value.float() for key, value in params.items()}

    def _two_cpu_draws(
        self, clean: Tensor, params: dict[str, Tensor], generator: torch.Generator
    ) -> tuple[Tensor, Tensor]:
        # on a CPU torch fills random numbers serially and they are most of a batch's cost: the two draws
        # come from two generators seeded by this one, the second on a helper thread when torch may use
        # more than one (the values do not depend on whether it does)
        per_image = {key: value.to(clean.dtype).view(-1, 1, 1, 1) for key, value in params.items()}
        seeds = torch.randint(2**62, (2,), generator=generator).tolist()
        first, second = (torch.Generator().manual_seed(seed) for seed in seeds)

        def draw(draw_generator: torch.Generator) -> Tensor:
            return self._clipped(self.apply(clean, per_image, draw_generator))

        if torch.get_num_threads() > 1:
            pending = _helper_thread().submit(draw, second)
            return draw(first), pending.result()
        return draw(first), draw(second)

    def _clipped(self, noisy: Tensor) -> Tensor:
        """``noisy`` (a fresh tensor) clipped to [0, 1] in place where ``clip`` is set."""
        return noisy.clamp_(0.0, 1.0) if self.clip else noisy

    @abstractmethod
    def draw_parameters(self, generator: torch.Generator) -> dict[str, float]:
        """The noise level of one image in [0, 1] units (a uniform draw where a range is configured)."""

    @abstractmethod
    def draw_batch_parameters(self, count: int, generator: torch.Generator) -> dict[str, Tensor]:
        """``count`` noise levels at once, each a [count] tensor on the generator's device."""

    @abstractmethod
    def apply(self, clean: Tensor, params: dict[str, float | Tensor], generator: torch.Generator) -> Tensor:
        """Corrupt ``clean`` at the level ``params`` (numbers, or tensors that broadcast against ``clean``)."""


class Gaussian(NoiseModel):
    """Additive white Gaussian noise, ``y = x + sigma * n``; ``sigma`` fixed or uniform in [low, high] per image."""

    def __init__(self, sigma: float | tuple[float, float] = 25.0, clip: bool = False) -> None:
        super().__init__(clip)
        _check_range("sigma", sigma, 0.0)
        self.sigma = sigma

    def draw_parameters(self, generator: torch.Generator) -> dict[str, float]:
        return {"sigma": _draw_uniform(self.sigma, generator) / SIGMA_SCALE}

    def draw_batch_parameters(self, count: int, generator: torch.Generator) -> dict[str, Tensor]:
        return {"sigma": _draw_uniform_batch(self.sigma, count, generator) / SIGMA_SCALE}

    def apply(self, clean: Tensor, params: dict[str, float | Tensor], generator: torch.Generator) -> Tensor:
        return _standard_normal(clean, generator).mul_(params["sigma"]).add_(clean)

    def __repr__(self) -> str:
        return f"Gaussian(sigma={self.sigma})"


class Poisson(NoiseModel):
    """Shot noise, ``y = Poisson(lam * x) / lam``: variance ``x / lam``; ``lam`` fixed or a range."""

    def __init__(self, lam: float | tuple[float, float] = 30.0, clip: bool = False) -> None:
        super().__init__(clip)
        _check_range("lam", lam, 1e-6)
        self.lam = lam

    def draw_parameters(self, generator: torch.Generator) -> dict[str, float]:
        return {"lam": _draw_uniform(self.lam, generator)}

    def draw_batch_parameters(self, count: int, generator: torch.Generator) -> dict[str, Tensor]:
        return {"lam": _draw_uniform_batch(self.lam, count, generator)}

    def apply(self, clean: Tensor, params: dict[str, float | Tensor], generator: torch.Generator) -> Tensor:
        lam = params["lam"]
        return torch.poisson(clean.clamp(min=0.0) * lam, generator=generator).div_(lam)

    def __repr__(self) -> str:
        return f"Poisson(lam={self.lam})"


class PoissonGaussian(Poisson):
    """Shot plus read noise, ``y = Poisson(lam * x) / lam + sigma * n``: variance ``x / lam + sigma^2``."""

    def __init__(
        self,
        lam: float | tuple[float, float] = 30.0,
        sigma: float | tuple[float, float] = 10.0,
        clip: bool = False,
    ) -> None:
        super().__init__(lam, clip)
        _check_range("sigma", sigma, 0.0)
        self.sigma = sigma

    def draw_parameters(self, generator: torch.Generator) -> dict[str, float]:
        return {**super().draw_parameters(generator), "sigma": _draw_uniform(self.sigma, generator) / SIGMA_SCALE}

    def draw_batch_parameters(self, count: int, generator: torch.Generator) -> dict[str, Tensor]:
        sigma = _draw_uniform_batch(self.sigma, count, generator) / SIGMA_SCALE
        return {**super().draw_batch_parameters(count, generator), "sigma": sigma}

    def apply(self, clean: Tensor, params: dict[str, float | Tensor], generator: torch.Generator) -> Tensor:
        shot = super().apply(clean, params, generator)
        return shot.add_(_standard_normal(clean, generator).mul_(params["sigma"]))

    def __repr__(self) -> str:
        return f"PoissonGaussian(lam={self.lam}, sigma={self.sigma})"
