"""Training options for GPUs, run on the CPU: the deferred NaN check, channels-last memory, the
compiled network, bf16 warnings, and configs/trainer/gpu.yaml through train.py."""

import warnings
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from cli import main
from datamodules import ImageFolder
from lightning_modules import Noise2Noise
from lightning_modules.base import DenoisingModule
from lightning_modules.nonfinite import NonFiniteGuard
from networks import UNet
from tests.conftest import TINY_UNET, folder_args

REPO = Path(__file__).resolve().parents[1]


def test_guard_reads_the_device_only_every_n_steps_and_names_the_first_bad_step():
    guard = NonFiniteGuard(every=10)
    for step in range(9):
        guard.watch(torch.tensor(float("nan") if step in (3, 5) else 1.0), step)
        guard.check(epoch=0)  # no host read yet: nothing raised
    guard.watch(torch.tensor(1.0), 9)
    expected = r"nan at step 3 .*every 10 steps.*checkpoints saved so far are intact"
    with pytest.raises(FloatingPointError, match=expected):
        guard.check(epoch=0)


def test_guard_on_request_reads_at_once():
    guard = NonFiniteGuard(every=100)
    guard.watch(torch.tensor(1.0), 0)
    guard.check(epoch=0, now=True)
    guard.watch(torch.tensor(float("inf")), 1)
    with pytest.raises(FloatingPointError, match=r"inf at step 1 .*stopped before this update"):
        guard.check(epoch=0, now=True)


class NaNAtStep(Noise2Noise):
    def __init__(self, *args, bad_step: int = 5, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bad_step = bad_step

    def training_loss(self, batch, generator):
        loss = super().training_loss(batch, generator)
        return loss * float("nan") if self.global_step == self.bad_step else loss


def _accelerator_like(monkeypatch) -> list[str]:
    """Make the module treat the CPU as a device whose host reads cost a sync; record where the
    module itself reads tensors on the host."""
    monkeypatch.setattr(DenoisingModule, "host_reads_are_free", staticmethod(lambda value: False))
    reads: list[str] = []
    original = torch.Tensor.item

    def item(tensor):
        import traceback

        caller = traceback.extract_stack(limit=2)[0].filename
        if "lightning_modules" in caller:
            reads.append(caller)
        return original(tensor)

    monkeypatch.setattr(torch.Tensor, "item", item)
    return reads


def test_deferred_check_reads_once_per_n_steps(image_folder: Path, monkeypatch):
    reads = _accelerator_like(monkeypatch)
    data = ImageFolder(str(image_folder), val_count=2, batch_size=2, patch_size=16, patches_per_image=10)
    model = Noise2Noise(UNet(depth=1, width=4), nan_check_every_n_steps=10)
    trainer = pl.Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=True, accelerator="cpu",
        limit_val_batches=0,
    )  # fmt: skip
    trainer.fit(model, data)
    assert trainer.global_step == 20
    assert len(reads) == 2 + 1  # steps 10 and 20, then the end of the epoch
    assert model._shown_loss.device.type == "cpu"  # the progress bar shows a host copy


def test_a_nan_found_late_never_reaches_a_checkpoint(image_folder: Path, tmp_path: Path, monkeypatch):
    _accelerator_like(monkeypatch)
    data = ImageFolder(str(image_folder), val_count=2, batch_size=2, patch_size=16, patches_per_image=1)
    model = NaNAtStep(UNet(depth=1, width=4), bad_step=3, nan_check_every_n_steps=50)
    checkpoints = pl.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True, every_n_epochs=1)
    trainer = pl.Trainer(
        max_epochs=4, logger=False, callbacks=[checkpoints], enable_progress_bar=False, accelerator="cpu",
        num_sanity_val_steps=0,
    )  # fmt: skip
    with pytest.raises(FloatingPointError, match="at step 3"):
        trainer.fit(model, data)
    saved = torch.load(tmp_path / "last.ckpt", map_location="cpu", weights_only=False)
    assert saved["global_step"] == 2  # epoch 0 (2 steps); epoch 1 held the NaN and was not saved
    assert all(torch.isfinite(value).all() for value in saved["state_dict"].values())


def test_bf16_training_warns_on_a_cpu_that_emulates_it(image_folder: Path, tmp_path: Path, monkeypatch):
    for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, check, lambda: False, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        options = ["--trainer.fast_dev_run", "1", "--trainer.precision", "bf16-mixed", *TINY_UNET]
        main(["fit", *folder_args(image_folder, tmp_path, *options, "--model", "lightning_modules.Noise2Noise")])
    assert any("no bfloat16 units" in str(w.message) for w in caught)


def _gpu_yaml_args(image_folder: Path, root: Path, compile_network: bool) -> list[str]:
    return [
        "fit", "-c", str(REPO / "configs/experiments/n2n_samples.yaml"), "-c", str(REPO / "configs/trainer/gpu.yaml"),
        *folder_args(image_folder, root), "--model.network.depth", "1", "--model.network.width", "4",
        "--trainer.max_steps", "3", "--trainer.precision", "32",
        "--model.init_args.compile_network", str(compile_network).lower(),
    ]  # fmt: skip


def test_gpu_config_runs_through_train_py_on_the_cpu(image_folder: Path, tmp_path: Path):
    """configs/trainer/gpu.yaml with the accelerator and precision set back for this CPU."""
    cli = main(_gpu_yaml_args(image_folder, tmp_path, compile_network=False))
    assert cli.trainer.global_step == 3 and cli.datamodule.batches_on_device
    weight = cli.model.network.inc[0].weight if hasattr(cli.model.network, "inc") else next(cli.model.parameters())
    assert weight.dim() != 4 or weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.slow
def test_compiled_network_trains_like_the_plain_one(image_folder: Path, tmp_path: Path):
    plain = main(_gpu_yaml_args(image_folder, tmp_path / "plain", compile_network=False))
    compiled = main(_gpu_yaml_args(image_folder, tmp_path / "compiled", compile_network=True))
    assert compiled.model._compiled_network is not None
    for a, b in zip(plain.model.network.parameters(), compiled.model.network.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_the_progress_bar_redraws_on_a_clock_and_at_the_end(monkeypatch):
    from callbacks import progress_bar

    clock = [100.0]
    monkeypatch.setattr(progress_bar.time, "monotonic", lambda: clock[0])
    bar = progress_bar.ThrottledProgressBar(interval=0.5)
    drawn = []
    for batch in range(1, 11):  # 0.125 s per batch
        drawn.append(bar._should_update(batch, 10))
        clock[0] += 0.125
    assert [b for b, d in zip(range(1, 11), drawn, strict=True) if d] == [1, 5, 9, 10]  # every 0.5 s, and the last
    off = progress_bar.ThrottledProgressBar(refresh_rate=0)
    assert not off._should_update(10, 10)
    with pytest.raises(ValueError, match="interval"):
        progress_bar.ThrottledProgressBar(interval=-1)


def test_train_py_uses_the_throttled_bar_unless_the_config_chose_one(image_folder: Path, tmp_path: Path):
    from pytorch_lightning.callbacks import TQDMProgressBar

    from callbacks.progress_bar import ThrottledProgressBar

    args = folder_args(image_folder, tmp_path / "default", "--model", "lightning_modules.Noise2Noise", *TINY_UNET,
                       "--trainer.max_steps", "2", "--trainer.enable_progress_bar", "true")  # fmt: skip
    assert type(main(["fit", *args]).trainer.progress_bar_callback) is ThrottledProgressBar
    args = folder_args(image_folder, tmp_path / "chosen", "--model", "lightning_modules.Noise2Noise", *TINY_UNET,
                       "--trainer.max_steps", "2", "--trainer.enable_progress_bar", "true",
                       "--trainer.callbacks+=TQDMProgressBar",
                       "--trainer.callbacks.refresh_rate", "3")  # fmt: skip
    chosen = main(["fit", *args]).trainer.progress_bar_callback
    assert type(chosen) is TQDMProgressBar and chosen.refresh_rate == 3
