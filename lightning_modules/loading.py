"""Load any method's checkpoint without knowing its class in advance."""

from __future__ import annotations

import importlib
from pathlib import Path

import torch

from lightning_modules.base import DenoisingModule


def load_method(checkpoint: str | Path, map_location: str = "cpu", **overrides) -> DenoisingModule:
    """The method saved in ``checkpoint`` (class read from its hyperparameters), with ``overrides`` of its
    arguments (e.g. ``inference="mc", mc_samples=50``). ``DenoisingModule.load_from_checkpoint`` alone would
    build the base class: Lightning drops the saved class path for a class without ``**kwargs``."""
    hparams = torch.load(checkpoint, map_location="cpu", weights_only=False).get("hyper_parameters", {})
    class_path = hparams.get("_class_path")
    if class_path is None:
        raise ValueError(f"'{checkpoint}' does not record its method's class; load it with that class instead")
    module_name, class_name = class_path.rsplit(".", 1)
    method = getattr(importlib.import_module(module_name), class_name)
    if not issubclass(method, DenoisingModule):
        raise ValueError(f"'{checkpoint}' holds {class_path}, not a denoising method of this project")
    return method.load_from_checkpoint(checkpoint, map_location=map_location, **overrides)
