"""Supervised baseline: train the network on (noisy, clean) pairs, the upper bound for the
self-supervised methods with the same network and data (as in Lehtinen et al. 2018, Table 1)."""

from __future__ import annotations

from lightning_modules.noise2noise import Noise2Noise


class Supervised(Noise2Noise):
    """Noise2Noise's loss with the clean image as the target: ``|| f(y) - x ||``.

    Args:
        loss: ``l2`` (estimates the posterior mean) or ``l1`` (the median).
        **kwargs: the ``DenoisingModule`` arguments (optimizer, scheduler, ...).
    """

    target_key = "clean"
    required_keys = ("clean",)
