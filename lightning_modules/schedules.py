"""Learning-rate schedules from the papers, as plain ``torch.optim`` schedulers (step them per step)."""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def ramped_cosine_factor(step: int, total_steps: int, ramp_up: float = 0.1, ramp_down: float = 0.3) -> float:
    """Laine et al. 2019 (NVlabs code, ``compute_ramped_lrate``): a half-cosine ramp from 0 to 1 over the
    first ``ramp_up`` of training and a squared half-cosine ramp to 0 over the last ``ramp_down``."""
    factor = 1.0
    if ramp_up > 0 and step <= total_steps * ramp_up:
        factor *= 0.5 - 0.5 * math.cos(math.pi * step / (total_steps * ramp_up))
    start = total_steps * (1 - ramp_down)
    if ramp_down > 0 and step >= start:
        factor *= (0.5 + 0.5 * math.cos(math.pi * (step - start) / (total_steps * ramp_down))) ** 2
    return factor


class RampedCosineLR(LambdaLR):
    """``ramped_cosine_factor`` as a scheduler; use with ``scheduler_interval: step``."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, total_steps: int, ramp_up: float = 0.1, ramp_down: float = 0.3
    ):
        if total_steps < 1:
            raise ValueError(f"total_steps must be positive, got {total_steps}")
        super().__init__(optimizer, lambda step: ramped_cosine_factor(step, total_steps, ramp_up, ramp_down))
