"""Read checkpoints safely, and load any method's checkpoint without knowing its class in advance.

Checkpoints are read with ``torch.load(weights_only=True)``: tensors, numbers, strings and containers
only. A pickle can name any Python callable to run while it is read (a crafted ``.ckpt`` can delete
files or start programs), and checkpoints written by this project never need one, so a file that does
is refused before anything in it runs."""

from __future__ import annotations

import importlib
from pathlib import Path

import torch

from lightning_modules.base import DenoisingModule


class UnsafeCheckpointError(RuntimeError):
    """The file would run code while it is read."""


def read_checkpoint(path: str | Path) -> dict:
    """The contents of a Lightning checkpoint, read without running code from it; one clear sentence
    for a missing, unreadable, foreign or code-carrying file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Checkpoint '{path}' does not exist. Give the path of a .ckpt file (for example "
            "runs/<experiment>/checkpoints/last.ckpt), or --ckpt_path last to resume the latest run."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        if "Unsupported global" in str(error):
            refused = str(error).split("Unsupported global:")[-1].split(" was not")[0].strip()
            raise UnsafeCheckpointError(
                f"Refused to load '{path}': reading it would run Python code from the file ({refused}), which a "
                "checkpoint of this project never needs. Nothing from it was run. Use a checkpoint you trained, "
                "or one from a source you trust re-saved as weights only."
            ) from None
        raise RuntimeError(
            f"Could not read checkpoint '{path}' ({type(error).__name__}: {error}). The file is truncated or not "
            "a checkpoint: use another one (last.ckpt or the best-*.ckpt beside it) or train again."
        ) from error
    if not isinstance(state, dict) or "state_dict" not in state:
        raise RuntimeError(f"'{path}' is not a Lightning checkpoint (it has no 'state_dict'). Give a .ckpt file.")
    return state


def load_method(checkpoint: str | Path, map_location: str = "cpu", **overrides) -> DenoisingModule:
    """The method saved in ``checkpoint`` (class read from its hyperparameters), with ``overrides`` of its
    arguments (e.g. ``inference="mc", mc_samples=50``). ``DenoisingModule.load_from_checkpoint`` alone would
    build the base class: Lightning drops the saved class path for a class without ``**kwargs``."""
    hparams = read_checkpoint(checkpoint).get("hyper_parameters", {})
    class_path = hparams.get("_class_path")
    if class_path is None:
        raise ValueError(f"'{checkpoint}' does not record its method's class; load it with that class instead")
    module_name, class_name = class_path.rsplit(".", 1)
    method = getattr(importlib.import_module(module_name), class_name)
    if not issubclass(method, DenoisingModule):
        raise ValueError(f"'{checkpoint}' holds {class_path}, not a denoising method of this project")
    return method.load_from_checkpoint(checkpoint, map_location=map_location, weights_only=True, **overrides)
