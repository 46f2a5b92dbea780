"""Tiled inference equals one pass over the whole image; the receptive field is measured right; the
8-fold test-time augmentation keeps a blind spot blind."""

from __future__ import annotations

import warnings
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from torch import nn

from cli import main as train
from core.metrics import per_image_psnr
from denoise import main as denoise
from networks import DnCNN, UNet
from networks.tiling import (
    denoise_tiled,
    dihedral,
    receptive_radius,
    undo_dihedral,
    warn_if_patches_inside_receptive_field,
    with_flips_and_rotations,
)
from tests.conftest import TINY_UNET, folder_args, smooth_image


@pytest.mark.parametrize("depth", [3, 6])
def test_receptive_radius_of_stacked_3x3_convolutions_is_their_count(depth: int):
    # seeded: a width-4 DnCNN drawn from some global RNG states has every ReLU dead at the centre pixel
    torch.manual_seed(0)
    assert receptive_radius(DnCNN(1, depth=depth, width=4).eval(), 1) == depth


@pytest.mark.parametrize(
    "network", [DnCNN(1, depth=5, width=8), UNet(1, depth=3, width=8), UNet(3, depth=2, width=8, batch_norm=True)],
    ids=["dncnn", "unet3", "unet2-bn-rgb"],
)  # fmt: skip
def test_tiles_give_the_whole_image_result_without_seams(network: nn.Module):
    torch.manual_seed(0)
    network = network.eval()
    channels = network.head.out_channels if hasattr(network, "head") else 1
    image = torch.rand(1, channels, 301, 259)  # odd sizes, several tiles each way
    margin = receptive_radius(network, channels)
    with torch.no_grad():
        whole, tiled = network(image), denoise_tiled(network, image, tile=2 * margin + 112, margin=margin)
    assert (whole - tiled).abs().max() < 1e-5  # no seam anywhere
    clean = image.clamp(0, 1)
    assert abs(float(per_image_psnr(whole.clamp(0, 1), clean) - per_image_psnr(tiled.clamp(0, 1), clean))) < 0.05


def test_the_eight_transforms_are_distinct_and_undone():
    image = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert len({tuple(dihedral(image, code).flatten().tolist()) for code in range(8)}) == 8
    assert all(torch.equal(undo_dihedral(dihedral(image, code), code), image) for code in range(8))


def test_test_time_augmentation_keeps_a_blind_spot_blind():
    torch.manual_seed(1)
    blind = nn.Conv2d(1, 1, 5, padding=2, bias=False)
    with torch.no_grad():
        blind.weight[0, 0, 2, 2] = 0  # the output at a pixel never sees that pixel
    averaged = with_flips_and_rotations(blind)
    image = torch.rand(1, 1, 9, 9, requires_grad=True)
    averaged(image)[0, 0, 4, 4].backward()
    assert image.grad[0, 0, 4, 4] == 0 and image.grad.abs().sum() > 0
    assert not torch.allclose(averaged(image), blind(image))  # the 8 passes do differ


def test_denoise_py_tiles_a_checkpoint_like_the_whole_image(image_folder: Path, tmp_path: Path):
    train(["fit", *folder_args(image_folder, tmp_path / "run", "--model", "lightning_modules.Noise2Noise", *TINY_UNET,
                               "--trainer.max_epochs", "1")])  # fmt: skip
    checkpoint = str(tmp_path / "run" / "checkpoints" / "last.ckpt")
    (tmp_path / "in").mkdir()
    iio.imwrite(tmp_path / "in" / "big.png", smooth_image(np.random.default_rng(0), 230, 250))
    outputs = {}
    for name, options in (("whole", ["--tile", "0"]), ("tiled", ["--tile", "96"]), ("tta", ["--tta"])):
        denoise(["--ckpt", checkpoint, str(tmp_path / "in"), "--output", str(tmp_path / name), *options])
        outputs[name] = iio.imread(tmp_path / name / "big.png").astype(int)
    assert np.abs(outputs["whole"] - outputs["tiled"]).max() <= 1  # 8-bit rounding at most
    assert outputs["tta"].shape == outputs["whole"].shape and not np.array_equal(outputs["tta"], outputs["whole"])


def test_train_py_predict_tiles_like_whole_images(tmp_path: Path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(6):  # larger than a 96-pixel tile: predict cuts each into several tiles
        iio.imwrite(folder / f"img{i}.png", smooth_image(np.random.default_rng(i), 130, 150))
    args = folder_args(folder, tmp_path, "--model", "lightning_modules.Noise2Noise", *TINY_UNET)
    train(["fit", *args, "--trainer.max_epochs", "1"])
    checkpoint = str(tmp_path / "checkpoints" / "last.ckpt")
    writer = ["--trainer.callbacks+", "callbacks.DenoisedImageWriter"]
    whole = train(["predict", *args, "--ckpt_path", checkpoint])
    tiled = train(["predict", *args, "--ckpt_path", checkpoint, "--model.init_args.predict_tile", "96", *writer,
                   "--trainer.callbacks.output_dir", str(tmp_path / "tiled")])  # fmt: skip
    assert tiled.model._predict_margin is not None and whole.model._predict_margin is None
    for name in ("img4.png", "img5.png"):
        a = iio.imread(tmp_path / "predictions" / name).astype(int)
        b = iio.imread(tmp_path / "tiled" / name).astype(int)
        assert np.abs(a - b).max() <= 1


def test_patches_narrower_than_the_receptive_field_are_warned_about_without_touching_the_network():
    network = UNet(1, depth=2, width=4, batch_norm=True).train()  # receptive field 45x45
    statistics = [b.clone() for b in network.buffers()]
    with pytest.warns(UserWarning, match=r"16x16 \(here\), narrower than the network's receptive field \(45x45"):
        warn_if_patches_inside_receptive_field(network, torch.rand(2, 1, 16, 16), " (here)")
    assert network.training and all(torch.equal(a, b) for a, b in zip(statistics, network.buffers(), strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_patches_inside_receptive_field(network, torch.rand(2, 1, 48, 48))


def test_the_first_training_step_warns_about_pd_sub_images_inside_the_receptive_field():
    from lightning_modules import Noise2Self

    model = Noise2Self(UNet(1, depth=2, width=4), mask_width=2, pd_stride=4)
    with pytest.warns(UserWarning, match=r"20x20 \(the pixel-shuffle sub-images at pd_stride 4\)"):
        model.training_step({"noisy": torch.rand(2, 1, 80, 80)}, 0)
