"""Write a network in the formats other tools load, and read the weights-only one back.

- TorchScript (``torch.jit.script``): loads in C++ (libtorch) or Python without this project's code;
  scripted, not traced, so every input size and batch size works (a trace would freeze the padding
  computed for the example's size).
- ONNX (``torch.onnx.export(dynamo=True)``): batch, height and width are dynamic; for ONNX Runtime,
  TensorRT, OpenVINO. Sides must be at least the network's ``multiple`` (a U-Net's 2^depth): the
  replicate padding that the networks use for smaller images is not in the graph.
- safetensors: the weights alone (no pickle, so reading runs no code) with the network's config as
  metadata; ``load_safetensors`` rebuilds the network, from classes of the ``networks`` package only.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

NETWORK_PACKAGE = "networks"


def size_multiple(network: nn.Module) -> int:
    """The number both sides of an input are padded to a multiple of inside the network (1: none)."""
    return int(getattr(network, "multiple", 1))


def example_input(network: nn.Module, channels: int, extra: int = 0) -> Tensor:
    """A batch of 2 with unequal sides of at least 4 multiples: sizes that torch.export will not
    mistake for constants (a batch of 1 or equal sides would be specialised)."""
    multiple = size_multiple(network)
    height = max(64, 4 * multiple) + extra
    width = height + multiple + 2 * extra
    return torch.rand(2, channels, height, width, generator=torch.Generator().manual_seed(extra))


def export_torchscript(network: nn.Module, path: Path) -> None:
    """Script ``network`` and save it; a network whose code TorchScript cannot compile (ZSN2NNet, whose
    forward holds the fast CPU path) is one sentence naming it and the compiler's first complaint."""
    with warnings.catch_warnings():  # torch.jit is deprecated in favour of torch.export, and still what C++ loads
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        try:
            scripted = torch.jit.script(network.eval())
        except Exception as error:  # TorchScript's compiler raises several unrelated types
            name = type(getattr(network, "network", network)).__name__  # the wrapped network, if wrapped
            reason = str(error).strip().splitlines()[0]
            raise ValueError(f"{name} cannot be scripted to TorchScript ({reason}); export it with --formats "
                             "safetensors instead") from error  # fmt: skip
        torch.jit.save(scripted, str(path))


def export_onnx(network: nn.Module, path: Path, channels: int) -> None:
    multiple = size_multiple(network)
    batch, height, width = (
        torch.export.Dim("batch"),
        torch.export.Dim("height", min=multiple),
        torch.export.Dim("width", min=multiple),
    )
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                network.eval(),
                (example_input(network, channels),),
                str(path),
                dynamo=True,
                input_names=["noisy"],
                output_names=["output"],
                dynamic_shapes=({0: batch, 2: height, 3: width},),
                verbose=False,
            )
    finally:
        quiet.setLevel(level)


def save_safetensors(network: nn.Module, path: Path, config: dict | None) -> None:
    """The network's weights, and its ``{"class_path", "init_args"}`` config where known."""
    from safetensors.torch import save_file

    state = {name: tensor.detach().contiguous() for name, tensor in network.state_dict().items()}
    metadata = {"network": json.dumps(config)} if config else {}
    save_file(state, str(path), metadata=metadata)


def load_safetensors(path: str | Path) -> nn.Module:
    """The network saved by ``save_safetensors``, rebuilt from its config (a class of the ``networks``
    package: no other code is imported) and loaded with its weights, in evaluation mode."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as file:
        metadata = file.metadata() or {}
    if "network" not in metadata:
        raise ValueError(f"{path} holds weights without the network's config: build the network and "
                         "load_state_dict(safetensors.torch.load_file(path)) yourself")  # fmt: skip
    config = json.loads(metadata["network"])
    module_name, _, class_name = config["class_path"].rpartition(".")
    if module_name.split(".")[0] != NETWORK_PACKAGE:
        raise ValueError(f"{path} names the network class {config['class_path']!r}, which is not in this "
                         f"project's '{NETWORK_PACKAGE}' package; refusing to import it")  # fmt: skip
    network = getattr(importlib.import_module(module_name), class_name)(**config.get("init_args", {}))
    network.load_state_dict(load_file(str(path)))
    return network.eval()


def onnx_output(path: Path, noisy: Tensor) -> Tensor:
    """The ONNX file's output on ``noisy``, run by ONNX Runtime on the CPU."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"noisy": noisy.numpy()})[0])
