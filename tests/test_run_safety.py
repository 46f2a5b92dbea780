"""Runs a user can trust: evaluation never silently uses an untrained network or overwrites results,
a checkpoint of another method is refused, every run names what it runs, and data/network mismatches
are one clear sentence."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from cli import main
from datamodules.datasets import TrainPatchDataset
from datamodules.device_batches import stack_images
from tests.conftest import TINY_UNET, folder_args


def _run(subcommand: str, folder: Path, root: Path, *extra: str, method: str = "lightning_modules.Noise2Noise"):
    return main([subcommand, *folder_args(folder, root, "--model", method, *TINY_UNET, *extra)])


def test_test_without_a_checkpoint_uses_the_runs_best_says_so_and_keeps_earlier_results(
    image_folder: Path, tmp_path: Path, capsys
):
    _run("fit", image_folder, tmp_path, "--trainer.max_epochs", "1")
    best = next((tmp_path / "checkpoints").glob("best-*.ckpt"))
    implicit = _run("test", image_folder, tmp_path)
    assert f"uses the run's best checkpoint {best}" in capsys.readouterr().err
    explicit = _run("test", image_folder, tmp_path, "--ckpt_path", str(best))
    assert implicit.trainer.callback_metrics["test/psnr"] == explicit.trainer.callback_metrics["test/psnr"]
    assert (tmp_path / "test_results.csv").is_file() and (tmp_path / "test_results-1.csv").is_file()


def test_evaluation_without_any_checkpoint_is_refused(image_folder: Path, tmp_path: Path):
    for subcommand in ("test", "validate", "predict"):
        with pytest.raises(SystemExit, match=f"train.py {subcommand} needs trained weights.*--ckpt_path"):
            _run(subcommand, image_folder, tmp_path)


def test_a_checkpoint_of_another_method_is_refused(image_folder: Path, tmp_path: Path):
    _run("fit", image_folder, tmp_path, "--trainer.max_epochs", "1", method="lightning_modules.Noise2Self")
    last = tmp_path / "checkpoints" / "last.ckpt"
    expected = "trained with lightning_modules.Noise2Self, but the configuration asks for lightning_modules.Noise2Noise"
    for subcommand, path in (("test", str(last)), ("fit", str(last)), ("fit", "last")):
        with pytest.raises(SystemExit, match=expected):
            _run(subcommand, image_folder, tmp_path, "--ckpt_path", path)


def test_every_run_names_method_network_data_and_checkpoint(image_folder: Path, tmp_path: Path, capsys):
    _run("fit", image_folder, tmp_path, "--trainer.fast_dev_run", "1")
    assert (
        "fit: method lightning_modules.Noise2Noise, network networks.UNet, data datamodules.ImageFolder, "
        "checkpoint none (new run)" in capsys.readouterr().err
    )


def test_a_channel_mismatch_is_one_clear_sentence(image_folder: Path, tmp_path: Path):
    with pytest.raises(ValueError, match=r"The data has 3 channel\(s\) but the network takes 1: set .*in_channels: 3"):
        _run("fit", image_folder, tmp_path, "--trainer.fast_dev_run", "1", "--data.channels", "3")


def test_images_smaller_than_the_patch_warn_with_the_fix():
    image = np.zeros((40, 48, 1), dtype=np.float32)
    expected = r"smaller than the 64x64 training patch.*patch_size to at most 40"
    with pytest.warns(UserWarning, match=expected):
        TrainPatchDataset([image], patch_size=64, patches_per_image=1, noise=None, seed=0)[(0, 0)]
    with pytest.warns(UserWarning, match=expected):
        stack_images([image, np.zeros((80, 80, 1), dtype=np.float32)], 64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stack_images([np.zeros((80, 80, 1), dtype=np.float32)], 64)  # large enough: no warning


def test_fit_without_a_config_says_how_to_give_one(capsys):
    with pytest.raises(SystemExit):
        main(["fit"])
    assert "configs/experiments/n2n_samples.yaml" in capsys.readouterr().err


def test_a_new_fit_into_a_folder_holding_a_run_is_refused(image_folder: Path, tmp_path: Path):
    _run("fit", image_folder, tmp_path, "--trainer.max_epochs", "1")
    with pytest.raises(SystemExit, match=r"already holds a run \(.*last.ckpt.*\)\. Resume it with --ckpt_path last"):
        _run("fit", image_folder, tmp_path, "--trainer.max_epochs", "2")


def _lr(checkpoint: Path) -> float:
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    return state["optimizer_states"][0]["param_groups"][0]["lr"]


def test_after_a_nan_the_run_resumes_with_a_lower_learning_rate_and_trains_on(image_folder: Path, tmp_path: Path):
    import torch

    last = tmp_path / "checkpoints" / "last.ckpt"
    _run("fit", image_folder, tmp_path, "--trainer.max_epochs", "1")
    diverging = ["--ckpt_path", "last", "--trainer.max_epochs", "3", "--model.init_args.fresh_optimizer", "true"]
    with pytest.raises(FloatingPointError, match="fresh_optimizer true --model.init_args.optimizer.init_args.lr"):
        _run("fit", image_folder, tmp_path, *diverging, "--model.init_args.optimizer.init_args.lr", "1e12")
    assert torch.load(last, map_location="cpu", weights_only=False)["epoch"] == 0  # the NaN never reached it
    cli = _run("fit", image_folder, tmp_path, *diverging, "--model.init_args.optimizer.init_args.lr", "0.0005")
    assert cli.trainer.current_epoch == 3 and _lr(last) == 0.0005
    state = torch.load(last, map_location="cpu", weights_only=False)["state_dict"]
    assert all(torch.isfinite(value).all() for value in state.values())
    configs = sorted(p.name for p in (tmp_path / "checkpoints").glob("config*.yaml"))
    assert configs == ["config-1.yaml", "config-2.yaml", "config.yaml"]  # each earlier setup kept beside
    assert "lr: 0.0005" in (tmp_path / "checkpoints" / "config.yaml").read_text()


def test_without_fresh_optimizer_a_resume_restores_the_old_learning_rate(image_folder: Path, tmp_path: Path):
    _run("fit", image_folder, tmp_path, "--trainer.max_epochs", "1")
    _run("fit", image_folder, tmp_path, "--ckpt_path", "last", "--trainer.max_epochs", "2",
         "--model.init_args.optimizer.init_args.lr", "0.0005")  # fmt: skip
    assert _lr(tmp_path / "checkpoints" / "last.ckpt") == 0.001  # Lightning restores the optimizer as saved
