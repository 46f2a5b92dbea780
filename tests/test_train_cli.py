"""The real entry point: every shipped config, resume equivalence, checkpoints, W&B, config errors."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import pytest
import torch
import wandb
import yaml

from cli import main
from config_stack import stacked_content
from denoise import main as denoise_main
from lightning_modules import Noise2Noise
from lightning_modules.loading import load_method
from tests.conftest import TINY_UNET, folder_args
from tests.fixtures_data import write_standard_root
from tests.wandb_records import read_run

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted((REPO / "configs" / "experiments").rglob("*.yaml"))


@pytest.fixture(scope="module")
def standard_root(tmp_path_factory) -> Path:
    return write_standard_root(tmp_path_factory.mktemp("standard"))


def _redirect_data(config: Path, folder: Path, standard: Path) -> list[str]:
    """Point a config's data at the test's own tiny copies of the standard layouts."""
    data = stacked_content(config)["data"]
    kind = data["class_path"].rsplit(".", 1)[-1]
    if kind == "ImageFolder":
        keys = [key for key in ("train_dir", "val_dir", "test_dir") if data["init_args"].get(key)]
        return [arg for key in keys for arg in (f"--data.init_args.{key}", str(folder))] + [
            "--data.init_args.val_count",
            "2",
        ]
    if kind == "BSD":
        return ["--data.init_args.root", str(standard)]
    if kind == "MNIST":
        mnist = ["--data.init_args.root", str(standard / "MNIST"), "--data.init_args.verify", "false"]
        return [*mnist, "--data.init_args.val_count", "5"]
    if kind == "PairedFolder":  # the folder's images as their own references: names match, sizes too
        return ["--data.init_args.noisy_dir", str(folder), "--data.init_args.clean_dir", str(folder),
                "--data.init_args.patch_size", "20"]  # fmt: skip
    if kind == "SIDD":
        return ["--data.init_args.root", str(standard / "SIDD"), "--data.init_args.patch_size", "16"]
    return []


@pytest.mark.parametrize(
    "config", EXPERIMENTS, ids=lambda p: p.relative_to(REPO / "configs" / "experiments").as_posix()
)
def test_every_experiment_config_runs_through_train_py(
    config: Path, tmp_path: Path, image_folder: Path, standard_root: Path
):
    cli = main(
        [
            "fit", "-c", str(config),
            "--trainer.fast_dev_run", "1",
            "--trainer.default_root_dir", str(tmp_path),
            "--trainer.enable_progress_bar", "false",
            "--data.init_args.num_workers", "0",
            "--data.init_args.batch_size", "4",
            *_redirect_data(config, image_folder, standard_root),
        ]
    )  # fmt: skip
    assert cli.trainer.state.finished
    assert isinstance(cli.model.network, torch.nn.Module)


def test_data_and_method_configs_stack(tmp_path: Path):
    configs = REPO / "configs"
    cli = main(
        [
            "fit", "-c", str(configs / "data" / "samples.yaml"), "-c", str(configs / "method" / "supervised.yaml"),
            "--trainer.fast_dev_run", "1", "--trainer.default_root_dir", str(tmp_path),
            "--trainer.enable_progress_bar", "false", "--data.init_args.num_workers", "0",
        ]
    )  # fmt: skip
    assert type(cli.model).__name__ == "Supervised" and type(cli.datamodule).__name__ == "SampleImages"


def test_unknown_config_key_names_the_key_and_the_fix(tmp_path: Path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  init_args:\n    learning_rat: 0.1\n")
    with pytest.raises(SystemExit):
        main(["fit", "-c", str(REPO / "configs/experiments/n2n_samples.yaml"), "-c", str(bad)])
    error = capsys.readouterr().err
    assert "learning_rat" in error and "not accepted" in error
    assert "How to fix" in error and "--print_config" in error


def _fit(folder: Path, root: Path, *extra: str, method: str = "lightning_modules.Noise2Noise"):
    args = folder_args(folder, root, "--model", method, *TINY_UNET, *extra)
    return main(["fit", *args])


def _weights_and_optimizer(checkpoint: Path) -> tuple[dict, dict]:
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    return state["state_dict"], state["optimizer_states"][0]


@pytest.mark.parametrize(
    "method, data",
    [
        ("lightning_modules.Noise2Noise", ()),
        ("lightning_modules.R2R", ()),
        ("lightning_modules.R2R", ("--data.batches_on_device", "true")),
    ],
    ids=["n2n", "r2r", "r2r-batches-on-device"],
)
def test_resume_is_exact(image_folder: Path, tmp_path: Path, method: str, data: tuple[str, ...]):
    """Train 2 epochs straight vs 1 epoch, stop, resume to 2 (with a data-loader worker this time):
    identical weights and optimizer state, so noise, crops, flips, shuffling and the method's own
    draws (R2R's recorruption) resumed too."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    _fit(image_folder, straight, "--trainer.max_epochs", "2", *data, method=method)
    _fit(image_folder, resumed, "--trainer.max_epochs", "1", *data, method=method)
    after_one, _ = _weights_and_optimizer(resumed / "checkpoints" / "last.ckpt")
    _fit(
        image_folder,
        resumed,
        "--trainer.max_epochs",
        "2",
        "--ckpt_path",
        "last",
        "--data.num_workers",
        "1",
        *data,
        method=method,
    )

    weights_a, optimizer_a = _weights_and_optimizer(straight / "checkpoints" / "last.ckpt")
    weights_b, optimizer_b = _weights_and_optimizer(resumed / "checkpoints" / "last.ckpt")
    assert weights_a.keys() == weights_b.keys()
    for name in weights_a:
        assert torch.equal(weights_a[name], weights_b[name]), name
    assert any(not torch.equal(after_one[n], weights_b[n]) for n in weights_b)  # epoch 2 did train
    for index, slot in optimizer_a["state"].items():
        assert torch.equal(slot["exp_avg"], optimizer_b["state"][index]["exp_avg"])


def test_checkpoint_reloads_and_denoises(image_folder: Path, tmp_path: Path):
    cli = _fit(image_folder, tmp_path, "--trainer.max_epochs", "1")
    checkpoints = tmp_path / "checkpoints"
    best = Path(cli.trainer.checkpoint_callback.best_model_path)
    assert best.parent == checkpoints and (checkpoints / "last.ckpt").is_file()
    saved = yaml.safe_load((checkpoints / "config.yaml").read_text())
    assert saved["model"]["class_path"] == "lightning_modules.Noise2Noise"
    assert saved["data"]["init_args"]["train_dir"] == str(image_folder)

    model = Noise2Noise.load_from_checkpoint(best, map_location="cpu").eval()  # network rebuilt from hparams
    generic = load_method(best).eval()  # the class comes from the checkpoint
    assert type(generic) is Noise2Noise
    noisy = torch.rand(1, 1, 23, 31)
    with torch.no_grad():
        assert torch.allclose(model(noisy), cli.model.eval()(noisy), atol=1e-6)

    test_cli = main(["test", *folder_args(image_folder, tmp_path / "test", "--model", "lightning_modules.Noise2Noise",
                                          *TINY_UNET, "--ckpt_path", str(best))])  # fmt: skip
    assert test_cli.trainer.callback_metrics["test/psnr"] > 0
    assert (tmp_path / "test" / "test_results.csv").is_file()

    rows = denoise_main([str(image_folder / "img0.png"), "--ckpt", str(best), "--output", str(tmp_path / "denoised")])
    assert rows[0]["image"] == "img0.png" and (tmp_path / "denoised" / "img0.png").is_file()


def test_offline_wandb_run_holds_metrics_panels_and_config(image_folder: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    args = folder_args(image_folder, tmp_path, "--model", "lightning_modules.Supervised", *TINY_UNET, wandb=True)
    main(["fit", *args, "--trainer.max_epochs", "2", "--trainer.log_every_n_steps", "1"])
    wandb.finish()  # what the end of a `train.py` process does: flush the run file
    (run_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    history, config = read_run(run_dir)
    logged = {key for row in history for key in row}
    assert {"train/loss_step", "val/psnr", "val/ssim", "val/noisy_psnr", "val/loss"} <= logged
    assert {"val/panel_0/_type", "val/panel_1/_type"} <= logged  # two val images: two panels
    val_psnr = [row["val/psnr"] for row in history if "val/psnr" in row]
    assert len(val_psnr) == 2 and all(10 < value < 60 for value in val_psnr)
    assert config["config"]["model"]["class_path"] == "lightning_modules.Supervised"
    assert config["config"]["trainer"]["max_epochs"] == 2


@pytest.mark.parametrize("content", [None, b"not a checkpoint at all", b"PK\x03\x04 truncated zip"])
def test_missing_or_corrupt_checkpoint_gives_a_clear_error(image_folder: Path, tmp_path: Path, content):
    checkpoint = tmp_path / "model.ckpt"
    if content is not None:
        checkpoint.write_bytes(content)
    args = folder_args(image_folder, tmp_path / "run", "--model", "lightning_modules.Noise2Noise", *TINY_UNET)
    expected = "does not exist" if content is None else "Could not read checkpoint"
    with pytest.raises((FileNotFoundError, RuntimeError), match=expected):
        main(["test", *args, "--ckpt_path", str(checkpoint)])
    assert not (tmp_path / "run").exists()  # nothing written


def test_predict_writes_denoised_pngs(image_folder: Path, tmp_path: Path):
    args = folder_args(image_folder, tmp_path, "--model", "lightning_modules.Noise2Noise", *TINY_UNET)
    main(["fit", *args, "--trainer.max_epochs", "1"])
    main(["predict", *args, "--ckpt_path", str(tmp_path / "checkpoints" / "last.ckpt")])
    written = sorted(p.name for p in (tmp_path / "predictions").iterdir())
    assert written == ["img4.png", "img5.png"]
    assert iio.imread(tmp_path / "predictions" / "img4.png").shape == (40, 48)


def test_model_options_on_the_command_line_win_over_the_checkpoint(image_folder: Path, tmp_path: Path):
    args = folder_args(image_folder, tmp_path, "--model", "lightning_modules.R2R", *TINY_UNET)
    main(["fit", *args, "--trainer.max_epochs", "1"])
    checkpoint = str(tmp_path / "checkpoints" / "last.ckpt")
    cli = main(["test", *args, "--ckpt_path", checkpoint, "--model.init_args.mc_samples", "3", "--model.inference=mc"])
    assert cli.model.mc_samples == 3 and cli.model.inference == "mc"
    assert cli.model.network.depth == 2  # the rest still comes from the checkpoint


def test_last_checkpoint_is_the_last_epoch_even_when_it_did_not_improve(image_folder: Path, tmp_path: Path):
    """The noisy input's PSNR is the same every epoch, so monitoring it makes epoch 2 no improvement:
    Lightning's own ModelCheckpoint would leave last.ckpt at epoch 1, and a resume would repeat epoch 2."""
    cli = _fit(image_folder, tmp_path, "--trainer.max_epochs", "2", "--checkpoint.monitor", "val/noisy_psnr")
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert state["epoch"] == 1 and state["global_step"] == cli.trainer.global_step
    best = torch.load(cli.trainer.checkpoint_callback.best_model_path, map_location="cpu", weights_only=False)
    assert best["global_step"] < state["global_step"], "the monitored metric should not have improved"


class _Payload:
    """Unpickling this creates a file: what a crafted checkpoint could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_checkpoint_that_would_run_code_is_refused_before_it_runs(image_folder: Path, tmp_path: Path):
    from lightning_modules.loading import UnsafeCheckpointError

    crafted, marker = tmp_path / "crafted.ckpt", tmp_path / "pwned"
    torch.save({"state_dict": {}, "hyper_parameters": {"payload": _Payload(marker)}}, crafted)
    args = folder_args(image_folder, tmp_path / "run", "--model", "lightning_modules.Noise2Noise", *TINY_UNET)
    refused = "Refused to load .*run Python code.*GLOBAL.*Nothing from it was run"
    with pytest.raises(UnsafeCheckpointError, match=refused):
        main(["test", *args, "--ckpt_path", str(crafted)])
    with pytest.raises(UnsafeCheckpointError, match="Refused to load"):
        denoise_main([str(image_folder / "img0.png"), "--ckpt", str(crafted), "--output", str(tmp_path / "out")])
    assert not marker.exists()
    torch.load(crafted, weights_only=False)  # the payload is real: an unsafe load runs it
    assert marker.exists()
