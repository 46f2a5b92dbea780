"""Noise parameters in the units configs use and the units the maths uses.

Configs give Gaussian strengths on the 8-bit scale (``sigma: 25`` means 25/255 on [0, 1] images, as the
papers quote them) and Poisson photon counts at intensity 1 (``lam: 30``: variance x / 30). Batches of
synthetic noise carry the same parameters already on [0, 1] (``noise.models``)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

# what a configured value is divided by to be on [0, 1] images
CONFIG_SCALE = {"sigma": 255.0, "lam": 1.0}


def per_image_parameter(key: str, configured: float | None, batch: Mapping | None, like: Tensor, owner: str) -> Tensor:
    """The noise parameter ``key`` for each image of ``like`` [B, ...], as a [B] tensor on [0, 1] images:
    the configured value (in config units) when there is one, else the batch's own ``key``. ``owner``
    names who needs it in the error."""
    if configured is not None:
        return torch.full((len(like),), configured / CONFIG_SCALE[key], dtype=like.dtype, device=like.device)
    if batch is not None and key in batch:
        return batch[key].to(like).reshape(-1)
    raise KeyError(
        f"{owner} needs the noise parameter {key!r}: set model.init_args.{key} in the config, or "
        "use data whose batches carry it (synthetic noise does)."
    )
