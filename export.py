"""Export a trained checkpoint's network for use outside this project.

    python export.py runs/n2v_bsd68/checkpoints/last.ckpt --output exported/n2v_bsd68/

writes, into ``--output``:
  network.torchscript.pt   torch.jit.load(...) in Python or C++ (libtorch); any image and batch size
  network.onnx             ONNX Runtime, TensorRT, OpenVINO; batch, height and width dynamic
  network.safetensors      the weights alone (no code runs when read) and the network's config;
                           networks.export.load_safetensors rebuilds the network
  export.json              what the output is, the input contract, and each file's measured agreement
                           with the checkpoint

Inputs are float32 [B, C, H, W] in [0, 1], as in training. Each file is checked after writing: run on
an image of a size it was not exported with, its output must match the checkpoint's network within
float tolerance, or the command fails. Where a method's inference is more than one pass (R2R's
recorruptions, Noise2Self's J-invariant passes, the Laine posterior), ``export.json`` says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

FORMATS = ("torchscript", "onnx", "safetensors")
FILES = {"torchscript": "network.torchscript.pt", "onnx": "network.onnx", "safetensors": "network.safetensors"}
TOLERANCE = 1e-4  # max |difference| on [0, 1] images: float32 rounding; 1/39 of an 8-bit level


def network_config(hparams: dict) -> dict | None:
    """The network's ``{"class_path", "init_args"}`` as the training config gave it (None when the
    module was built in Python rather than from a config)."""
    config = hparams.get("network")
    if not isinstance(config, dict) and hasattr(config, "as_dict"):
        config = config.as_dict()
    if not isinstance(config, dict) or "class_path" not in config:
        return None
    return json.loads(json.dumps(config, default=str))


def export(checkpoint: str, output: Path, formats: tuple[str, ...] = FORMATS, overwrite: bool = False) -> dict:
    """Write the checkpoint's network in ``formats`` into ``output``, check each against the checkpoint,
    and return the record written as ``export.json``."""
    from lightning_modules.loading import load_method, read_checkpoint
    from networks import export as formats_
    from networks.channels import input_channels

    targets = [output / FILES[name] for name in formats] + [output / "export.json"]
    existing = [path.name for path in targets if path.exists()]
    if existing and not overwrite:
        raise SystemExit(f"--output {output} already holds {', '.join(existing)}: choose another folder or pass "
                         "--overwrite to replace them")  # fmt: skip
    output.mkdir(parents=True, exist_ok=True)
    method = load_method(checkpoint).eval()
    module, meaning = method.exported_network()
    module.eval()
    channels = input_channels(method.network) or 1
    probe = formats_.example_input(module, channels, extra=3)  # a size none of the exports saw
    record = {
        "checkpoint": str(checkpoint),
        "method": type(method).__name__,
        "network": network_config(read_checkpoint(checkpoint).get("hyper_parameters", {})),
        "input": f"float32 [B, {channels}, H, W] in [0, 1]; H and W at least {formats_.size_multiple(module)}",
        "output": meaning,
        "files": {},
    }
    for name in formats:
        path = output / FILES[name]
        compared = write_and_run(name, path, method, module, channels, record["network"], probe)
        if compared is None:
            record["files"][name] = {"file": path.name, "checked": "not rebuilt: no network config in the checkpoint"}
            continue
        got, expected = compared
        difference = float((got - expected).abs().max())
        if not difference <= TOLERANCE:
            raise RuntimeError(f"the exported {name} network differs from the checkpoint's by {difference:.2e} "
                               f"(tolerance {TOLERANCE:.0e}); {path} is not to be trusted")  # fmt: skip
        record["files"][name] = {"file": path.name, "max_abs_difference": difference,
                                 "checked_on": list(probe.shape)}  # fmt: skip
    (output / "export.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def write_and_run(name: str, path: Path, method, module, channels: int, config: dict | None, probe):
    """Write one format, then (its output on ``probe``, the checkpoint's on ``probe``); None where the
    file cannot be rebuilt to check it."""
    from networks import export as formats_

    if name == "torchscript":
        formats_.export_torchscript(module, path)
        run, reference = torch.jit.load(str(path)), module
    elif name == "onnx":
        formats_.export_onnx(module, path, channels)
        run, reference = (lambda noisy: formats_.onnx_output(path, noisy)), module
    else:
        formats_.save_safetensors(method.network, path, config)  # the weights: the network's, not a wrapper's
        if config is None:
            return None
        run, reference = formats_.load_safetensors(path), method.network
    with torch.inference_mode():
        return run(probe), reference(probe)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="a trained checkpoint (.ckpt) of any method")
    parser.add_argument("--output", required=True, help="folder for the exported files")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--overwrite", action="store_true", help="replace files an earlier export wrote")
    args = parser.parse_args(argv)
    record = export(args.checkpoint, Path(args.output), tuple(args.formats), args.overwrite)
    for name, entry in record["files"].items():
        detail = entry.get("checked", f"matches the checkpoint within {entry.get('max_abs_difference', 0):.1e}")
        print(f"{name:<12} {Path(args.output) / entry['file']}  ({detail})")
    print(f"output: {record['output']}")
    return record


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        sys.exit(f"export.py: {error}")
