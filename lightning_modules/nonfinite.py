"""Stopping on a non-finite training loss without stalling the device every step.

``if not torch.isfinite(loss)`` copies a value to the host, which on a GPU waits for every queued
kernel: once per step it keeps the host from running ahead of the device. ``NonFiniteGuard`` records
the first non-finite step on the loss's device (no copy) and reads it on the host only when asked
with ``now=True`` or every ``every`` watched steps.
"""

from __future__ import annotations

import torch
from torch import Tensor

ADVICE = (
    "Resume with a lower learning rate and a fresh optimizer: --ckpt_path last --model.init_args.fresh_optimizer "
    "true --model.init_args.optimizer.init_args.lr <lower> (restoring the old optimizer would bring back the "
    "learning rate that diverged); or set trainer.gradient_clip_val, or check the data for NaN/Inf values."
)


class NonFiniteGuard:
    def __init__(self, every: int = 50) -> None:
        self.every = every
        self._first_step: Tensor | None = None  # first non-finite step, -1 while none
        self._first_value: Tensor | None = None
        self._since_check = 0
        self._last_step = -1

    def watch(self, loss: Tensor, step: int) -> None:
        """Record ``step`` if ``loss`` is not finite and no earlier step was (device operations only)."""
        loss = loss.detach().float()
        bad = ~torch.isfinite(loss)
        if self._first_step is None or self._first_step.device != loss.device:
            self._first_step = torch.full((), -1, dtype=torch.long, device=loss.device)
            self._first_value = torch.zeros((), device=loss.device)
        new = bad & (self._first_step < 0)
        self._first_step = torch.where(new, step, self._first_step)
        self._first_value = torch.where(new, loss, self._first_value)
        self._since_check += 1
        self._last_step = step

    def check(self, epoch: int, now: bool = False) -> None:
        """Raise ``FloatingPointError`` if a watched loss was not finite; reads the device only when
        ``now`` or after ``every`` watched steps."""
        if self._first_step is None or (not now and self._since_check < self.every):
            return
        self._since_check = 0
        step = int(self._first_step.item())
        if step < 0:
            return
        value = float(self._first_value.item())
        if step == self._last_step:
            where = "training stopped before this update, so the checkpoints saved so far are intact."
        else:
            where = (
                f"on this device the check runs every {self.every} steps, so training stopped a few updates later; "
                "no checkpoint is written after a non-finite loss, so the checkpoints saved so far are intact."
            )
        raise FloatingPointError(f"The training loss became {value} at step {step} (epoch {epoch}); {where} {ADVICE}")
