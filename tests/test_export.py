"""export.py: TorchScript, ONNX and safetensors files that give the checkpoint's output, checked here
independently of the command's own check, on an image size and batch size the export never saw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cli import main as train
from export import main as export
from lightning_modules.loading import load_method
from networks.export import load_safetensors, onnx_output
from tests.conftest import TINY_UNET, folder_args

BLINDSPOT = ["--model.network", "networks.BlindSpotUNet", "--model.network.depth", "2", "--model.network.width", "8",
             "--model.network.decoder_width", "8", "--model.sigma", "25"]  # fmt: skip
CASES = {
    "n2v_unet_blur": [
        "--model",
        "lightning_modules.Noise2Void",
        *TINY_UNET,
        "--model.network.pooling",
        "blur",
        "--model.network.upsampling",
        "transpose",
    ],  # fmt: skip
    "r2r_dncnn": [
        "--model",
        "lightning_modules.R2R",
        "--model.sigma",
        "25",
        "--model.network",
        "networks.DnCNN",
        "--model.network.depth",
        "4",
        "--model.network.width",
        "8",
    ],  # fmt: skip
    "laine_blindspot": ["--model", "lightning_modules.BlindSpot", *BLINDSPOT],
    "zsn2n": ["--model", "lightning_modules.ZeroShotN2N", "--model.network", "networks.zsn2n.ZSN2NNet"],
}


def trained(name: str, image_folder: Path, root: Path) -> Path:
    train(["fit", *folder_args(image_folder, root, *CASES[name], "--trainer.max_steps", "2")])
    return root / "checkpoints" / "last.ckpt"


@pytest.mark.parametrize("name", list(CASES))
def test_each_format_matches_the_checkpoint_on_a_new_size(name: str, image_folder: Path, tmp_path: Path):
    checkpoint = trained(name, image_folder, tmp_path / "run")
    record = export([str(checkpoint), "--output", str(tmp_path / "out")])
    method = load_method(checkpoint).eval()
    module, _ = method.exported_network()
    noisy = torch.rand(3, 1, 29, 41, generator=torch.Generator().manual_seed(5))  # odd sides, batch 3
    with torch.inference_mode():
        expected, expected_network = module.eval()(noisy), method.network(noisy)
        scripted = torch.jit.load(str(tmp_path / "out" / "network.torchscript.pt"))(noisy)
        rebuilt = load_safetensors(tmp_path / "out" / "network.safetensors")(noisy)
    from_onnx = onnx_output(tmp_path / "out" / "network.onnx", noisy)
    assert scripted.shape == from_onnx.shape == expected.shape
    assert torch.allclose(scripted, expected, atol=1e-5)
    assert torch.allclose(from_onnx, expected, atol=1e-4)
    assert torch.equal(rebuilt, expected_network)  # same weights, same float operations
    written = json.loads((tmp_path / "out" / "export.json").read_text())
    assert written == json.loads(json.dumps(record)) and written["method"] == type(method).__name__
    assert set(written["files"]) == {"torchscript", "onnx", "safetensors"}


def test_zsn2n_safetensors_network_rebuilds_the_methods_output(image_folder, tmp_path: Path):
    checkpoint = trained("zsn2n", image_folder, tmp_path / "run")
    export([str(checkpoint), "--output", str(tmp_path / "out"), "--formats", "safetensors"])
    method = load_method(checkpoint).eval()
    noisy = torch.rand(1, 1, 24, 24)
    with torch.inference_mode():
        rebuilt = load_safetensors(tmp_path / "out" / "network.safetensors")
        assert torch.equal(noisy - rebuilt(noisy), method.denoise(noisy))  # the method's y - f(y)


def test_an_earlier_export_is_kept_unless_overwrite(image_folder: Path, tmp_path: Path):
    checkpoint = trained("r2r_dncnn", image_folder, tmp_path / "run")
    export([str(checkpoint), "--output", str(tmp_path / "out"), "--formats", "safetensors"])
    before = (tmp_path / "out" / "network.safetensors").read_bytes()
    with pytest.raises(SystemExit, match="already holds network.safetensors"):
        export([str(checkpoint), "--output", str(tmp_path / "out"), "--formats", "safetensors"])
    assert (tmp_path / "out" / "network.safetensors").read_bytes() == before
    export([str(checkpoint), "--output", str(tmp_path / "out"), "--formats", "safetensors", "--overwrite"])


def test_a_safetensors_file_naming_a_class_outside_networks_is_refused(tmp_path: Path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(tmp_path / "x.safetensors"),
              metadata={"network": json.dumps({"class_path": "os.system", "init_args": {}})})  # fmt: skip
    with pytest.raises(ValueError, match="not in this project's 'networks' package"):
        load_safetensors(tmp_path / "x.safetensors")
